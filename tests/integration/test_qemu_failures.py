"""#11.6: QEMU dying at boot, or firmware that faults, is a device error that says why, not an internal
error. Real QEMU and real firmware, for board files written to a temporary directory: each is a shipped
board with one line changed, the way a user porting a board gets it wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import REPO, qemu_processes_mentioning

pytestmark = pytest.mark.qemu


def _board(tmp_path: Path, old: str, new: str, shipped: str = "mps2-an386") -> Path:
    text = (REPO / "boards" / f"{shipped}.yaml").read_text()
    assert old in text
    directory = tmp_path / "boards"
    directory.mkdir(exist_ok=True)
    (directory / f"{shipped}.yaml").write_text(text.replace(old, new))
    return directory


def _tinyflash(*args: str, cwd: Path, cache: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinyflash", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=dict(os.environ, TINYFLASH_CACHE_DIR=str(cache)))


def _bench(board_dir: Path, model_dir: Path, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return _tinyflash("bench", "--board", "mps2-an386", "--board-dir", str(board_dir), "--model", "ad",
                      "--model-dir", str(model_dir), cwd=cwd, cache=cache)


def _is_a_device_error(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert "socket disconnected" not in proc.stderr and "ConnectionResetError" not in proc.stderr
    assert "hint:" in proc.stderr


@pytest.mark.parametrize("old, new, quoted, hint", [
    # the UART at an address with nothing behind it: the fault handler faults on its own message
    ("base: 0x40004000", "base: 0x5A000000", "Invalid write at addr 0x5A0000", "uart.base"),
    # RAM where the machine has none: the first push of the stack locks the core up
    ("ram: {origin: 0x20000000", "ram: {origin: 0x30000000", "Invalid write at addr 0x3000", "memory.ram"),
])
def test_a_lockup_at_boot_quotes_qemu(old: str, new: str, quoted: str, hint: str, model_dir: Path, qemu: None,
                                      tmp_path: Path, scons_cache: Path) -> None:
    proc = _bench(_board(tmp_path, old, new), model_dir, tmp_path, scons_cache)
    _is_a_device_error(proc)
    assert "QEMU exited: the CPU locked up" in proc.stderr
    assert quoted in proc.stderr and "qemu: fatal: Lockup" in proc.stderr   # QEMU's own words
    assert "R00=" not in proc.stderr                                          # not its register dump
    assert hint in proc.stderr
    assert not qemu_processes_mentioning(str(tmp_path))


def test_a_machine_option_qemu_rejects_quotes_qemu(model_dir: Path, qemu: None, tmp_path: Path,
                                                   scons_cache: Path) -> None:
    board_dir = _board(tmp_path, "machine: mps2-an386", "machine: mps2-an386,bogus=on")
    proc = _bench(board_dir, model_dir, tmp_path, scons_cache)
    _is_a_device_error(proc)
    assert "QEMU exited: exit status 1" in proc.stderr
    assert "Property 'mps2-an386-machine.bogus' not found" in proc.stderr


def test_emulate_refuses_a_file_that_is_not_an_elf(qemu: None, tmp_path: Path, scons_cache: Path) -> None:
    (tmp_path / "notanelf").write_text("hello\n")
    proc = _tinyflash("emulate", "--board", "mps2-an386", "--firmware", "notanelf", cwd=tmp_path,
                      cache=scons_cache, timeout=60)
    _is_a_device_error(proc)
    assert "notanelf is not an ELF file" in proc.stderr


def test_a_fault_stops_the_wait_and_is_decoded(model_dir: Path, qemu: None, tmp_path: Path,
                                               scons_cache: Path) -> None:
    # built for a Cortex-M4 (DSP instructions in the kernels), run on the an385's Cortex-M3: the core
    # takes an undefined-instruction UsageFault, escalated to HardFault, and the handler reports it
    board_dir = _board(tmp_path, "machine: mps2-an386", "machine: mps2-an385")
    text = (board_dir / "mps2-an386.yaml").read_text().replace("fpu: sp", "fpu: none")
    (board_dir / "mps2-an386.yaml").write_text(text)
    started = time.monotonic()
    proc = _bench(board_dir, model_dir, tmp_path, scons_cache)
    waited = time.monotonic() - started
    _is_a_device_error(proc)
    assert "the firmware faulted: HardFault: undefined instruction (CFSR=0x00010000)" in proc.stderr
    assert "instruction this core lacks; check core/dsp in the board file" in proc.stderr
    assert "--timeout" not in proc.stderr and "within" not in proc.stderr   # it did not wait out a timeout
    assert waited < 60
    assert not qemu_processes_mentioning(str(tmp_path))


def test_a_half_sent_command_does_not_reach_the_next_client(model_dir: Path, qemu: None, tmp_path: Path,
                                                            scons_cache: Path) -> None:
    # #11.9: "na" from a client that went away was prepended to the next client's "name%"
    import signal
    import socket

    proc = subprocess.Popen([sys.executable, "-m", "tinyflash", "emulate", "--board", "mps2-an386", "--model", "ad",
                             "--model-dir", str(model_dir), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env=dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache)))

    def ask(port: int, command: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(command)
            answer = b""
            while not answer.endswith(b"m-ready\r\n"):
                chunk = client.recv(4096)
                assert chunk, f"no answer to {command!r}, got {answer!r}"
                answer += chunk
            return answer

    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        assert "UART on socket://127.0.0.1:" in line, proc.stderr.read() if proc.poll() is not None else line
        port = int(line.split("UART on socket://127.0.0.1:")[1].split(" ")[0])
        for partial in (b"na", b"db load 1", b"x" * 200):      # short, a command's prefix, too long
            with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
                client.sendall(partial)
            assert ask(port, b"name%") == b"m-name-dut-[tinyflash mps2-an386]\r\nm-ready\r\n"
        # the official runner's way: whole commands, one connection after another, answers unchanged
        assert ask(port, b"profile%").startswith(b"m-profile-[")
        assert ask(port, b"db load 8%") == b"m-[Expecting 8 bytes]\r\nm-ready\r\n"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode in (0, 130)
    assert not qemu_processes_mentioning(str(tmp_path))
