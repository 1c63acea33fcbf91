"""An output directory serves one run at a time (#11.2); result files follow the umask and a new run
leaves no older result looking current (#11.9)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tinyflash import pipeline
from tinyflash.board.loader import BoardCatalog
from tinyflash.build.scons import Firmware
from tinyflash.build.size import SizeReport
from tinyflash.generate.project import generate_project
from tinyflash.model import read_graph, resolve_model
from tinyflash.report.atomic import write_json_atomic, write_text_atomic
from tinyflash.report.out_dir import LOCK_NAME, OutDirBusyError, exclusive_out_dir

from ..conftest import REPO

HOLDER = """
import sys
from tinyflash.report.out_dir import exclusive_out_dir
with exclusive_out_dir(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_second_process_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "out")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutDirBusyError) as info:
            with exclusive_out_dir(tmp_path / "out"):
                pass
        assert info.value.pid == holder.pid and f"process {holder.pid}" in str(info.value)
        assert "--out" in str(info.value)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    with exclusive_out_dir(tmp_path / "out"):        # free again once the holder ended
        assert (tmp_path / "out" / LOCK_NAME).read_text().strip() == str(os.getpid())


def test_lock_is_reentrant_in_a_thread_and_exclusive_across_threads(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with exclusive_out_dir(tmp_path):
                pass
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            errors.append(exc)

    with exclusive_out_dir(tmp_path):
        with exclusive_out_dir(tmp_path / "."):
            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
        assert len(errors) == 1 and isinstance(errors[0], OutDirBusyError)
    with exclusive_out_dir(tmp_path):                # released after the outer exit
        pass


def test_atomic_writes_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "a.json", {"a": 1})
        os.umask(0o077)
        write_text_atomic(tmp_path / "b.txt", "b")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.txt"]


@pytest.fixture()
def firmware(model_dir: Path, tmp_path: Path) -> Firmware:
    """A generated project with a stand-in ELF: enough for what pipeline.run does before programming."""
    spec = resolve_model("ad", [model_dir], environ={})
    project = generate_project(BoardCatalog().load("mps2-an386"), spec, read_graph(spec.path), tmp_path / "out")
    elf = tmp_path / "out" / "firmware.elf"
    elf.write_bytes(b"\x7fELF built")
    import hashlib

    return Firmware(project, elf, elf, elf, elf, SizeReport(0, 0, 1, 1, ()), "gcc", 0.0, 0,
                    hashlib.sha256(elf.read_bytes()).hexdigest())


def test_run_refuses_an_elf_changed_since_the_build_and_drops_old_results(firmware: Firmware) -> None:
    out = firmware.project.directory
    (out / "results.json").write_text('{"old": true}')
    (out / "results" / "performance").mkdir(parents=True)
    (out / "results" / "performance" / "results.txt").write_text("old")
    firmware.elf.write_bytes(b"\x7fELF rebuilt by another run")
    with pytest.raises(pipeline.FirmwareChangedError, match="changed since it was built"):
        pipeline.run(firmware, verify_count=1)
    assert not (out / "results.json").exists() and not (out / "results" / "performance").exists()
    unknown = dataclasses.replace(firmware, elf_sha256="")
    with pytest.raises(pipeline.FirmwareChangedError):
        pipeline.check_firmware_unchanged(unknown)


def test_run_fails_fast_while_another_process_holds_the_directory(firmware: Firmware) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = firmware.project.directory
    (out / "results.json").write_text('{"other": true}')
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutDirBusyError, match=f"process {holder.pid}"):
            pipeline.run(firmware, verify_count=1)
        assert (out / "results.json").exists()        # the holder's files are left alone
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)


def test_an_output_directory_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    from tinyflash.errors import TinyflashError

    (tmp_path / "file").write_text("x")
    with pytest.raises(TinyflashError, match="cannot use .* as output directory"):
        with exclusive_out_dir(tmp_path / "file" / "out"):
            pass
