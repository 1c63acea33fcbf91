"""The farm through a real labgrid: a coordinator and an exporter on 127.0.0.1 (free ports, a temporary
cwd, where the coordinator keeps places.yaml), an emulated unit exported as a place tagged
board=mps2-an386, and ``tinyflash farm run`` subprocesses that reserve it by tags, run jobs while holding
it, and always give it back. labgrid lives in its own venv (it replaces pyserial): these tests find it
through TINYFLASH_LABGRID_BIN, like tinyflash does, and skip without it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tinyflash.farm.labgrid_unit import BIN_ENV, find_client

from ..conftest import qemu_processes_mentioning

pytestmark = pytest.mark.qemu
PLACE = "tf-an386"
EXPORTER = "tfexp"
ENABLE = (f"labgrid not found: python3 -m venv VENV && VENV/bin/pip install labgrid, then set {BIN_ENV}=VENV/bin "
          "(not into this Python: labgrid replaces pyserial)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Rig:
    """A coordinator, an exporter publishing one group, and a place matching it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.coordinator = f"127.0.0.1:{_free_port()}"
        self.procs: list[subprocess.Popen[bytes]] = []

    def client(self, *args: str, check: bool = True, timeout: float = 30) -> str:
        proc = subprocess.run([find_client(), "-x", self.coordinator, *args], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)
        if check and proc.returncode != 0:
            raise AssertionError(f"labgrid-client {' '.join(args)}: {proc.stderr}")
        return proc.stdout

    def _start(self, tool: str, *args: str) -> None:
        log = open(self.root / f"{tool}.log", "wb")
        self.procs.append(subprocess.Popen([find_client(tool), *args], cwd=self.root, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True))

    def _until(self, what: str, ready: Any, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                break
            if ready():
                return
            time.sleep(0.3)
        logs = "".join(p.read_text(errors="replace")[-800:] for p in self.root.glob("*.log"))
        raise AssertionError(f"labgrid {what} did not come up:\n{logs}")

    def start(self) -> None:
        self._start("labgrid-coordinator", "-l", self.coordinator)
        self._until("coordinator", lambda: subprocess.run(
            [find_client(), "-x", self.coordinator, "places"], capture_output=True, timeout=30).returncode == 0)
        # what an emulated unit's place holds: the host that may run it (QEMU runs client-side, see
        # tinyflash/farm/labgrid_unit.py)
        (self.root / "exporter.yaml").write_text(
            f"{PLACE}:\n  location: tinyflash-test\n"
            "  NetworkService: {address: 127.0.0.1, username: tinyflash}\n")
        self._start("labgrid-exporter", "-c", self.coordinator, "-n", EXPORTER, "--hostname", "127.0.0.1",
                    "exporter.yaml")
        self._until("exporter", lambda: f"{EXPORTER}/{PLACE}/NetworkService" in self.client("resources"))
        self.client("-p", PLACE, "create")
        self.client("-p", PLACE, "add-match", f"{EXPORTER}/{PLACE}/*")
        self.client("-p", PLACE, "set-tags", "board=mps2-an386")

    def assert_free(self) -> None:
        """The place is not acquired and no reservation is left (an uncancelled one blocks it for 60 s)."""
        assert "acquired: None" in self.client("-p", PLACE, "show")
        assert "Reservation '" not in self.client("reservations")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, qemu: None) -> Iterator[Rig]:
    if not all(os.access(find_client(t), os.X_OK) for t in ("labgrid-client", "labgrid-coordinator",
                                                             "labgrid-exporter")):
        pytest.skip(ENABLE)
    rig = Rig(tmp_path_factory.mktemp("labgrid"))
    try:
        rig.start()
        yield rig
    finally:
        rig.stop()


def write_configs(tmp_path: Path, rig: Rig, *, acquire_timeout: float = 120, extra: str = "",
                  select: str = "tags: {board: mps2-an386}") -> tuple[Path, Path]:
    inv = tmp_path / "farm.yaml"
    inv.write_text("schema_version: 1\nunits:\n  - id: lab\n    board: mps2-an386\n"
                   f"    labgrid: {{coordinator: '{rig.coordinator}', {select}, "
                   f"acquire_timeout: {acquire_timeout}}}\n")
    mat = tmp_path / "nightly.yaml"
    mat.write_text("schema_version: 1\nname: lab\nboards: [mps2-an386]\nmodels: [ad]\nruntimes: [aot]\n"
                   "run: {verify_count: 1, retries: 0, timeouts: {boot: 10, command: 5, infer: 3}}\n" + extra)
    return inv, mat


def farm_cmd(inv: Path, mat: Path, out: Path, model_dir: Path, night: str = "n1") -> list[str]:
    return [sys.executable, "-m", "tinyflash", "farm", "run", "--inventory", str(inv), "--matrix", str(mat),
            "--out", str(out), "--model-dir", str(model_dir), "--night-id", night, "--json", "-q"]


def farm_env(cache: Path) -> dict[str, str]:
    return dict(os.environ, TINYFLASH_CACHE_DIR=str(cache))


def when(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_farm_run_holds_the_place_for_its_jobs_and_gives_it_back_after_a_failing_one(
        rig: Rig, tmp_path: Path, model_dir: Path, scons_cache: Path) -> None:
    inv, mat = write_configs(tmp_path, rig, extra=(
        "include: [{board: mps2-an386, model: ad, variant: hang, build: {defines: [TF_FAULT_HANG_IN_INFER]}}]\n"))
    proc = subprocess.run(farm_cmd(inv, mat, tmp_path / "out", model_dir), capture_output=True, text=True,
                          env=farm_env(scons_cache), cwd=tmp_path, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stderr                     # the hanging job failed the night
    night = json.loads((tmp_path / "out" / "nights" / "n1" / "night.json").read_text())
    jobs = {j["id"]: j for j in night["jobs"]}
    assert jobs["mps2-an386/ad/aot"]["outcome"] == "passed" and jobs["mps2-an386/ad/aot"]["unit"] == "lab"
    assert jobs["mps2-an386/ad/aot@hang"]["outcome"] == "timeout"
    [hold] = night["holds"]
    assert hold["place"] == PLACE and hold["unit"] == "lab" and sorted(hold["jobs"]) == sorted(jobs)
    assert when(hold["acquired"]) < when(hold["released"])
    rig.assert_free()
    assert not qemu_processes_mentioning(str(tmp_path))


@pytest.mark.parametrize("select", ["tags: {board: mps2-an386}", f"place: {PLACE}"], ids=["by-tags", "by-name"])
def test_two_farm_runs_competing_for_one_place_take_turns(
        rig: Rig, tmp_path: Path, model_dir: Path, scons_cache: Path, select: str) -> None:
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        inv, mat = write_configs(tmp_path / name, rig, select=select)
        runs.append(subprocess.Popen(farm_cmd(inv, mat, tmp_path / name / "out", model_dir), cwd=tmp_path / name,
                                     env=farm_env(scons_cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True))
    holds = []
    for name, proc in zip(("a", "b"), runs):
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "Traceback" not in stderr, stderr
        assert json.loads(stdout)["summary"]["passed"] == 1
        night = json.loads((tmp_path / name / "out" / "nights" / "n1" / "night.json").read_text())
        [hold] = night["holds"]
        assert hold["place"] == PLACE
        holds.append((when(hold["acquired"]), when(hold["released"])))
    first, second = sorted(holds)
    assert first[1] <= second[0], f"both runs held {PLACE} at once: {holds}"   # the loser waited its turn
    rig.assert_free()


def test_a_run_that_cannot_get_the_place_ends_with_an_outcome_and_leaves_no_reservation(
        rig: Rig, tmp_path: Path, model_dir: Path, scons_cache: Path) -> None:
    inv, mat = write_configs(tmp_path, rig, acquire_timeout=3)
    rig.client("-p", PLACE, "acquire")                           # somebody else holds it all night
    try:
        started = time.monotonic()
        proc = subprocess.run(farm_cmd(inv, mat, tmp_path / "out", model_dir), capture_output=True, text=True,
                              env=farm_env(scons_cache), cwd=tmp_path, timeout=120)
        elapsed = time.monotonic() - started
    finally:
        rig.client("-p", PLACE, "release")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    [job] = json.loads((tmp_path / "out" / "nights" / "n1" / "night.json").read_text())["jobs"]
    assert (job["outcome"], job["stage"]) == ("error", "flash")
    assert "no unit available" in job["message"] and "did not finish within 3 s" in job["message"]
    assert elapsed < 60
    rig.assert_free()


def test_ctrl_c_while_waiting_for_the_place_exits_at_once_and_cancels_the_reservation(
        rig: Rig, tmp_path: Path, model_dir: Path, scons_cache: Path) -> None:
    inv, mat = write_configs(tmp_path, rig)
    rig.client("-p", PLACE, "acquire")
    try:
        proc = subprocess.Popen(farm_cmd(inv, mat, tmp_path / "out", model_dir), cwd=tmp_path,
                                env=farm_env(scons_cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while "Reservation '" not in rig.client("reservations"):   # it reserved and now waits
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.5)
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        elapsed = time.monotonic() - interrupted
    finally:
        rig.client("-p", PLACE, "release")
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert elapsed < 10
    night = json.loads((tmp_path / "out" / "nights" / "n1" / "night.json").read_text())
    assert night["status"] == "interrupted" and night["jobs"][0]["outcome"] == "skipped"
    rig.assert_free()
