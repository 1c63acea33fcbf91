"""Stop signals end to end (#11.4): SIGTERM, SIGHUP and Ctrl-C stop QEMU, remove its temporary folder, and
exit 128 + the signal. Before the fix SIGTERM killed tinyflash outright and left qemu-system-arm running under
PID 1 with its folder in $TMPDIR."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import qemu_processes_mentioning

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def firmware_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One --out for every test: the ad firmware is built once, later runs are a SCons no-op."""
    return tmp_path_factory.mktemp("signals") / "ad-an500"


def start(args: list[str], tmp: Path, model_dir: Path, scons_cache: Path) -> "subprocess.Popen[str]":
    # QEMU's run folder goes to $TMPDIR: a private one shows whether it was removed
    env = dict(os.environ, TMPDIR=str(tmp), TINYFLASH_CACHE_DIR=str(scons_cache))
    # a background job's children inherit SIGINT ignored: give the command the default a terminal gives
    return subprocess.Popen([sys.executable, "-m", "tinyflash", *args, "--model-dir", str(model_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp.parent, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_qemu(proc: "subprocess.Popen[str]", mention: str, tmp: Path, timeout: float = 400) -> None:
    """Until the command's QEMU runs (the first call also builds the firmware)."""
    deadline = time.monotonic() + timeout
    while not qemu_processes_mentioning(mention):
        if proc.poll() is not None:
            pytest.fail(f"tinyflash exited ({proc.returncode}) before starting QEMU:\n{proc.communicate()[1]}")
        assert time.monotonic() < deadline, "QEMU did not start"
        time.sleep(0.1)
    time.sleep(0.5)   # past QEMU's start: tinyflash is waiting on the device
    assert any(p.name.startswith("tinyflash-qemu-") for p in tmp.iterdir())   # the folder the fix must remove


def stop_and_check(proc: "subprocess.Popen[str]", signum: int, mention: str, tmp: Path) -> str:
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # 128 + signal from tinyflash itself; a process killed by the signal would report -signum here
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert not qemu_processes_mentioning(mention)
    assert list(tmp.iterdir()) == []
    return stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stopped_bench_leaves_no_qemu_and_no_folder(signum: int, firmware_dir: Path, tmp_path: Path,
                                                      model_dir: Path, qemu: None, scons_cache: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = start(["bench", "-b", "mps2-an500", "-m", "ad", "--verify-count", "300", "--out", str(firmware_dir)],
                 tmp, model_dir, scons_cache)
    wait_for_qemu(proc, str(firmware_dir), tmp)
    stderr = stop_and_check(proc, signum, str(firmware_dir), tmp)
    assert f"interrupted ({signal.Signals(signum).name})" in stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_emulate_stops_on_a_signal_with_its_exit_code(signum: int, firmware_dir: Path, tmp_path: Path,
                                                      model_dir: Path, qemu: None, scons_cache: Path) -> None:
    if not (firmware_dir / "build" / "firmware.elf").is_file():
        build = subprocess.run([sys.executable, "-m", "tinyflash", "build", "-b", "mps2-an500", "-m", "ad",
                                "--model-dir", str(model_dir), "--out", str(firmware_dir)],
                               capture_output=True, text=True, timeout=600,
                               env=dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache)))
        assert build.returncode == 0, build.stderr
    elf = firmware_dir / "build" / "firmware.elf"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = start(["emulate", "-b", "mps2-an500", "--firmware", str(elf)], tmp, model_dir, scons_cache)
    assert proc.stdout is not None
    line = proc.stdout.readline()          # the firmware booted: the wait for QEMU's exit is what gets stopped
    assert "(Ctrl-C to stop)" in line, proc.communicate()[1]
    wait_for_qemu(proc, str(elf), tmp)
    stop_and_check(proc, signum, str(elf), tmp)   # 130 for Ctrl-C, as the README says (it was 0)
