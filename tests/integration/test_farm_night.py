"""The farm end to end on emulated boards: real builds, QEMU, the serial protocol, history across nights.

Models come from TINYFLASH_FARM_TEST_MODELS (default "ad", to keep the default suite short); the
acceptance matrix itself -- examples/farm.yaml x examples/nightly.yaml, every emulated board x kws, vww,
ic, ad -- runs two nights in the slow suite (-m slow).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import EMULATED_BOARDS, qemu_processes_mentioning

pytestmark = pytest.mark.qemu
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FARM_MODELS = os.environ.get("TINYFLASH_FARM_TEST_MODELS", "ad").split(",")


def farm(*args: str, cwd: Path, cache: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-m", "tinyflash", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def inventory(path: Path, extra: str = "", count: int = 2) -> Path:
    units = "".join(f"  - {{id: {b}, board: {b}, count: {count}}}\n" for b in EMULATED_BOARDS)
    path.write_text("schema_version: 1\nunits:\n" + units + extra)
    return path


def matrix(path: Path, extra: str = "", boards: list[str] = EMULATED_BOARDS) -> Path:
    path.write_text(f"schema_version: 1\nname: nightly\nboards: [{', '.join(boards)}]\n"
                    f"models: [{', '.join(FARM_MODELS)}]\nruntimes: [aot]\n"
                    "run: {verify_count: 1, retries: 1}\n" + extra)
    return path


@pytest.fixture(scope="module")
def farm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("farm")


def test_three_nights_clean_clean_then_exactly_the_slow_board_regresses(
        farm_dir: Path, model_dir: Path, qemu: None, scons_cache: Path) -> None:
    inv = inventory(farm_dir / "farm.yaml")
    # mps2-an500 runs profiled, so its regression in night 3 names layers
    nightly = matrix(farm_dir / "nightly.yaml", "board_build: {mps2-an500: {profile: true}}\n")
    common = ["farm", "run", "--inventory", str(inv), "--out", str(farm_dir / "out"), "--model-dir", str(model_dir),
              "--json", "-q"]
    runs = []
    for name, mat in (("n1", nightly), ("n2", nightly),
                      ("n3", matrix(farm_dir / "slow.yaml",
                                    "board_build: {mps2-an500: {optimization: -O0, profile: true}}\n"))):
        proc = farm(*common, "--matrix", str(mat), "--night-id", name, cwd=farm_dir, cache=scons_cache)
        assert "Traceback" not in proc.stderr, proc.stderr
        runs.append((proc.returncode, json.loads(proc.stdout)))
    (rc1, n1), (rc2, n2), (rc3, n3) = runs
    expected_jobs = len(EMULATED_BOARDS) * len(FARM_MODELS)
    assert rc1 == 0 and n1["summary"]["passed"] == expected_jobs == n1["summary"]["total"]
    assert n1["analysis"]["verdict"].startswith("CLEAN")
    night1 = json.loads(Path(n1["files"]["json"]).read_text())
    for job in night1["jobs"]:
        assert job["outcome"] == "passed" and job["result"]["verification"]["passed"] is True
        assert job["result"]["performance"]["instructions"] > 0
        assert Path(job["attempts"][0]["serial_log"]).is_file()
        layers = (job["result"].get("profile") or {}).get("layers")
        assert bool(layers) is (job["board"] == "mps2-an500") is job["build_options"]["profile"]
        if layers:
            assert sum(row["instructions"] for row in layers) <= job["result"]["performance"]["instructions"]
    prov = night1["provenance"]
    assert prov["tinyflash_version"] and prov["toolchain"].startswith("arm-none-eabi-gcc") and prov["host"]
    assert prov["runtimes"] == ["aot"] and len(night1["jobs"][0]["result"]["model_sha256"]) == 64
    assert {f["provenance"]["tinyflash_git_sha"] is not None for f in night1["firmware"]} <= {True, False}
    files = {k: Path(v) for k, v in n1["files"].items()}
    assert all(p.is_file() for p in files.values())
    assert "<svg" in files["html"].read_text() and "<script" not in files["html"].read_text()
    assert files["markdown"].read_text().startswith("# tinyflash farm: CLEAN")
    assert 'tests="%d"' % expected_jobs in files["junit"].read_text()

    assert rc2 == 0 and n2["analysis"]["clean"] and n2["analysis"]["previous_night"] == "n1"
    assert not n2["analysis"]["regressions"] and not n2["analysis"]["improvements"]

    assert rc3 == 1
    slow_jobs = sorted(f"mps2-an500/{m}/aot" for m in FARM_MODELS)
    assert n3["analysis"]["regressed_jobs"] == slow_jobs
    assert {f["job"] for f in n3["analysis"]["regressions"]} == set(slow_jobs)
    assert any(f["metric"] == "instructions" and "-O2 -> -O0" in f["text"] and "most changed layers: node " in f["text"]
               for f in n3["analysis"]["regressions"])
    assert n3["summary"]["passed"] == expected_jobs       # slower, still correct
    md = Path(n3["files"]["markdown"]).read_text().splitlines()
    assert md[0].startswith("# tinyflash farm: REGRESSED") and "mps2-an500" in md[2]

    # re-rendered from the history alone, into another directory
    proc = farm("report", "--history", str(farm_dir / "out" / "history.sqlite"), "--out", str(farm_dir / "rep"),
                cwd=farm_dir, cache=scons_cache)
    assert proc.returncode == 1 and proc.stdout.startswith("REGRESSED: 1 job(s) regressed (mps2-an500/")
    page = (farm_dir / "rep" / "report.html").read_text()
    assert "Trend over the last 3 nights" in page and page.count("<svg") >= 1 + expected_jobs
    assert not qemu_processes_mentioning(str(farm_dir))


@pytest.mark.slow
def test_the_example_nightly_matrix_passes_every_job_two_nights_running(
        tmp_path: Path, model_dir: Path, qemu: None, scons_cache: Path) -> None:
    common = ["farm", "run", "--inventory", str(EXAMPLES / "farm.yaml"), "--matrix", str(EXAMPLES / "nightly.yaml"),
              "--out", str(tmp_path / "out"), "--model-dir", str(model_dir), "--json", "-q"]
    nights = []
    for name in ("n1", "n2"):
        proc = farm(*common, "--night-id", name, cwd=tmp_path, cache=scons_cache, timeout=1200)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        nights.append(json.loads(proc.stdout))
    expected = {f"{b}/{m}/aot" for b in EMULATED_BOARDS for m in ("kws", "vww", "ic", "ad")}
    for summary in nights:
        data = json.loads(Path(summary["files"]["json"]).read_text())
        assert {j["id"] for j in data["jobs"]} == expected
        for job in data["jobs"]:
            assert job["outcome"] == "passed", (job["id"], job["message"])
            assert job["result"]["verification"]["passed"] is True
    assert nights[1]["analysis"]["clean"] and nights[1]["analysis"]["previous_night"] == "n1"
    assert not nights[1]["analysis"]["regressions"] and not nights[1]["analysis"]["improvements"]
    assert not qemu_processes_mentioning(str(tmp_path))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hang_vanished_port_and_failed_flash_are_their_own_outcomes(
        tmp_path: Path, model_dir: Path, qemu: None, scons_cache: Path) -> None:
    from tinyflash.farm.inventory import load_inventory
    from tinyflash.farm.matrix import load_matrix
    from tinyflash.farm.runner import Event, NightRunner, NightSettings, firmware_id

    boards = [*EMULATED_BOARDS, "stm32h7"]
    inv = inventory(tmp_path / "farm.yaml", count=1, extra=(
        "  - {id: h7-unplugged, board: stm32h7, probe: 0000FA11ED000000}\n"   # no such probe: flashing fails
    )).read_text().replace("{id: netduinoplus2, board: netduinoplus2, count: 1}",
                           f"{{id: netduinoplus2, board: netduinoplus2, serial: 'socket://127.0.0.1:{_closed_port()}'}}")
    (tmp_path / "farm.yaml").write_text(inv)
    mat = matrix(tmp_path / "m.yaml", boards=boards, extra=(
        "include:\n"
        "  - {board: mps2-an386, model: ad, variant: hang, build: {defines: [TF_FAULT_HANG_IN_INFER]}}\n"
        "  - {board: mps2-an500, model: ad, variant: vanish, build: {defines: [TF_FARM_TEST_VANISH]}}\n"
        "run: {verify_count: 1, retries: 1, timeouts: {boot: 10, command: 5, infer: 3}}\n"))
    inventory_, matrix_ = load_inventory(tmp_path / "farm.yaml"), load_matrix(mat)
    vanish = next(j for j in matrix_.jobs if j.variant == "vanish")
    out = tmp_path / "out"
    elf = out / "firmware" / firmware_id(vanish) / "build" / "firmware.elf"
    killed: list[int] = []

    def chaos(event: Event) -> None:
        # the port vanishes mid-run: kill this job's QEMU as soon as verification starts (every attempt)
        if event.kind == "job-progress" and event.job_id == vanish.id and event.text.startswith("verifying"):
            # a SIGKILLed QEMU stays in /proc until reaped: a later progress event may see it again
            for pid in set(qemu_processes_mentioning(str(elf))) - set(killed):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    started = time.monotonic()
    result = NightRunner(inventory_, matrix_, NightSettings(out_root=out, model_dirs=(model_dir,),
                                                            cache_dir=scons_cache), on_event=chaos).run()
    elapsed = time.monotonic() - started
    jobs = {j["id"]: j for j in result.data["jobs"]}
    hang = jobs["mps2-an386/ad/aot@hang"]
    assert (hang["outcome"], hang["stage"], len(hang["attempts"])) == ("timeout", "verify", 2)
    assert any("m-infer-start" in line for line in hang["last_lines"])
    gone = jobs[vanish.id]
    assert len(killed) == 2 and gone["outcome"] in ("error", "timeout") and gone["stage"] == "verify"
    assert len(gone["attempts"]) == 2 and gone["last_lines"]
    noport = jobs[f"netduinoplus2/{FARM_MODELS[0]}/aot"]
    assert (noport["outcome"], noport["stage"]) == ("error", "run") and "cannot open serial port" in noport["message"]
    h7 = jobs[f"stm32h7/{FARM_MODELS[0]}/aot"]
    assert (h7["outcome"], h7["stage"]) == ("error", "flash") and "0000FA11ED000000" in h7["message"]
    assert h7["result"]["size"]["flash_bytes"] > 0          # built, so sizes are known
    # the rest completed
    for board in ("mps2-an386", "mps2-an500", "mps3-an547"):
        for model in FARM_MODELS:
            assert jobs[f"{board}/{model}/aot"]["outcome"] == "passed", jobs[f"{board}/{model}/aot"]["message"]
    assert result.data["status"] == "finished" and elapsed < 120
    assert not qemu_processes_mentioning(str(tmp_path))


def test_ctrl_c_stops_cleanly_and_keeps_what_finished(tmp_path: Path, model_dir: Path, qemu: None,
                                                      scons_cache: Path) -> None:
    inv = tmp_path / "farm.yaml"
    inv.write_text("schema_version: 1\nunits:\n  - {id: q, board: mps2-an386}\n")
    mat = matrix(tmp_path / "m.yaml", boards=["mps2-an386"], extra=(
        "include: [{board: mps2-an386, model: ad, variant: hang, build: {defines: [TF_FAULT_HANG_IN_INFER]}}]\n"
        "run: {verify_count: 1, retries: 1, timeouts: {infer: 60}}\n"))   # a wait far longer than the test allows
    out = tmp_path / "out"
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache))
    proc = subprocess.Popen([sys.executable, "-m", "tinyflash", "farm", "run", "--inventory", str(inv),
                             "--matrix", str(mat), "--out", str(out), "--model-dir", str(model_dir),
                             "--night-id", "n1"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    night = out / "nights" / "n1" / "night.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:       # wait for the first job to finish, then press Ctrl-C
        if night.is_file() and any(j["outcome"] == "passed" for j in json.loads(night.read_text())["jobs"]):
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("no job finished")
    hang_log = out / "nights" / "n1" / "jobs" / "mps2-an386_ad_aot_hang" / "serial-1.log"
    while time.monotonic() < deadline:       # the hanging job is in flight: it waits for its inference
        if hang_log.is_file() and "m-infer-start" in hang_log.read_text(errors="replace"):
            break
        time.sleep(0.2)
    interrupted_at = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=90)
    stopped_in = time.monotonic() - interrupted_at
    assert proc.returncode == 130, stderr
    assert stopped_in < 10, f"Ctrl-C took {stopped_in:.1f} s: it waited for the 60 s inference deadline"
    assert "Traceback" not in stderr
    data = json.loads(night.read_text())
    assert data["status"] == "interrupted"
    jobs = {j["id"]: j for j in data["jobs"]}
    assert jobs["mps2-an386/ad/aot"]["outcome"] == "passed"
    hang = jobs["mps2-an386/ad/aot@hang"]
    assert hang["outcome"] == "skipped" and len(hang["attempts"]) == 1   # stopped, and no retry after Ctrl-C
    assert "stopped while waiting" in hang["message"]
    assert (out / "nights" / "n1" / "report.md").is_file()
    assert not qemu_processes_mentioning(str(tmp_path))
