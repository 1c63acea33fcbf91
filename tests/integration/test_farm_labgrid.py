"""The farm through a real labgrid: a coordinator and an exporter on 127.0.0.1 (free ports, a temporary
cwd, where the coordinator keeps places.yaml), an emulated unit exported as a place tagged
board=mps2-an386, and ``tinyflash farm run`` subprocesses that reserve it by tags, run jobs while holding
it, and always give it back. A second place stands for a real board: a pty the exporter serves through
ser2net, reached over RFC 2217 as tinyflash reaches a real board's UART (pyOCD flashing needs hardware). labgrid lives in its own venv (it replaces pyserial): these tests find it
through TINYFLASH_LABGRID_BIN, like tinyflash does, and skip without it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path
from typing import Any, Iterator

import pytest

from tinyflash.farm.labgrid_unit import BIN_ENV, find_client

from ..conftest import qemu_processes_mentioning

pytestmark = pytest.mark.qemu
PLACE = "tf-an386"
SERIAL_PLACE = "tf-h7"
EXPORTER = "tfexp"
ENABLE = (f"labgrid not found: python3 -m venv VENV && VENV/bin/pip install labgrid, then set {BIN_ENV}=VENV/bin "
          "(not into this Python: labgrid replaces pyserial)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PtyBoard:
    """A stand-in for a real board's UART: a pty whose slave the exporter publishes (ser2net opens it on
    acquire) and whose master answers the MLPerf Tiny 'name' command."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)            # no echo, no line discipline: bytes as a UART carries them
        self.path = os.ttyname(self._slave)   # a /dev/pts path: labgrid rejects symlinks outside /dev
        self.received: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.1)[0]:
                continue
            try:
                buffer += os.read(self.master, 1024)
            except OSError:                # EIO while nobody has the slave open
                continue
            while b"%" in buffer:
                command, buffer = buffer.split(b"%", 1)
                self.received.append(command.decode(errors="replace"))
                if command == b"name":
                    os.write(self.master, b"m-name-dut-[labgrid-pty]\r\nm-ready\r\n")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self.master)
        os.close(self._slave)


class Rig:
    """A coordinator, an exporter publishing one group per place, and the places matching them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.coordinator = f"127.0.0.1:{_free_port()}"
        self.procs: list[subprocess.Popen[bytes]] = []
        # a real board's serial port goes through ser2net (RFC 2217) from the exporter
        self.board = PtyBoard() if shutil.which("ser2net") else None

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
        exported = (f"{PLACE}:\n  location: tinyflash-test\n"
                    "  NetworkService: {address: 127.0.0.1, username: tinyflash}\n")
        if self.board:
            exported += (f"{SERIAL_PLACE}:\n  location: tinyflash-test\n"
                         f"  RawSerialPort: {{port: {self.board.path}, speed: 115200}}\n")
        (self.root / "exporter.yaml").write_text(exported)
        self._start("labgrid-exporter", "-c", self.coordinator, "-n", EXPORTER, "--hostname", "127.0.0.1",
                    "exporter.yaml")
        self._until("exporter", lambda: f"{EXPORTER}/{PLACE}/NetworkService" in self.client("resources"))
        for place, board in ((PLACE, "mps2-an386"),) + (((SERIAL_PLACE, "stm32h7"),) if self.board else ()):
            self.client("-p", place, "create")
            self.client("-p", place, "add-match", f"{EXPORTER}/{place}/*")
            self.client("-p", place, "set-tags", f"board={board}")

    def assert_free(self, place: str = PLACE) -> None:
        """The place is not acquired and no reservation is left (an uncancelled one blocks it for 60 s)."""
        assert "acquired: None" in self.client("-p", place, "show")
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
        if self.board:
            self.board.close()


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


@pytest.mark.filterwarnings("ignore::DeprecationWarning")    # pyserial 3.5's rfc2217 uses setDaemon()
def test_a_real_boards_place_gives_its_uart_over_rfc2217_through_ser2net(rig: Rig, tmp_path: Path) -> None:
    from tinyflash.farm.inventory import load_inventory
    from tinyflash.farm.labgrid_unit import acquired_place
    from tinyflash.run.link import SerialLink
    from tinyflash.run.session import DeviceSession

    if rig.board is None:
        pytest.skip("ser2net not found (labgrid's exporter serves serial ports with it): apt-get install ser2net")
    inv = tmp_path / "farm.yaml"
    inv.write_text("schema_version: 1\nunits:\n  - id: h7\n    board: stm32h7\n    probe: 0123ABCD\n"
                   f"    labgrid: {{coordinator: '{rig.coordinator}', tags: {{board: stm32h7}}}}\n")
    [unit] = load_inventory(inv).units
    with acquired_place(unit) as lease:
        assert lease.place == SERIAL_PLACE and lease.probe == "0123ABCD"
        assert lease.port and lease.port.startswith("rfc2217://127.0.0.1:") and "ign_set_control" in lease.port
        with SerialLink(lease.port, log_path=tmp_path / "serial.log") as link:
            assert DeviceSession(link).name() == "labgrid-pty"       # host -> ser2net -> pty -> board, and back
    assert rig.board.received == ["name"]
    rig.assert_free(SERIAL_PLACE)
