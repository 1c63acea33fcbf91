"""End to end on emulated boards: real firmware, real cross compiler, QEMU, the real serial protocol."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from ..conftest import EMULATED_BOARDS, REPO, qemu_processes_mentioning

pytestmark = pytest.mark.qemu


def tinyflash(*args: str, cwd: Path, env_extra: dict[str, str] | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "tinyflash", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


@pytest.mark.parametrize("board", EMULATED_BOARDS)
def test_bench_ad_verifies_and_repeats(board: str, model_dir: Path, qemu: None, workdir: Path,
                                       scons_cache: Path) -> None:
    env = {"TINYFLASH_CACHE_DIR": str(scons_cache)}
    runs, logs = [], []
    # the second run sends its inputs as the protocol's hex, as the official runner does: the same count
    for upload in ("auto", "uart"):
        proc = tinyflash("bench", "--board", board, "--model", "ad", "--model-dir", str(model_dir), "--json",
                         "--upload", upload, cwd=workdir, env_extra=env)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
        logs.append(Path(workdir, runs[-1]["serial_log"]).read_text())   # each bench starts the log anew
    first, second = runs
    assert first["board"] == board and first["model"] == "ad" and first["runtime"] == "aot"
    assert first["emulated"] is True
    assert first["verification"]["passed"] is True
    assert first["verification"]["max_abs_diff"] <= 1
    # generated inputs and windows of the shipped ad01 sample file were both checked
    labels = [s["input"] for s in first["verification"]["samples"]]
    assert any(label.startswith("generated") for label in labels)
    assert any(label.startswith("ad01_normal_id_01") for label in labels)
    assert first["size"]["flash_bytes"] > first["size"]["weight_bytes"] > 270_000
    assert 0 < first["size"]["ram_bytes"] < first["size"]["ram_region_bytes"]
    perf = first["performance"]
    assert perf["instructions"] > 264_192 / 16       # at least one instruction per 16 MACs (Helium's VMLADAV)
    assert perf["latency_us"] > 0 and perf["throughput_ips"] > 0
    assert "emulated" in perf["timing"]
    assert second["performance"]["instructions"] == perf["instructions"]
    assert (first["verification"]["input_upload"], second["verification"]["input_upload"]) == ("memory port", "uart")
    assert second["verification"]["passed"] is True
    # the output says how many inferences were timed (#14); five windows for results.txt's median line
    assert len(perf["windows"]) == 5
    assert perf["timed_inferences"] == sum(w["iterations"] for w in perf["windows"]) >= 5
    assert Path(workdir, first["results_file"]).is_file()
    log = logs[0]
    assert "> name%" in log and "< m-name-dut-[tinyflash " in log
    # the inputs go into the firmware's buffer through QEMU's gdbstub, checked by CRC, not as hex over
    # the UART; the performance input is the last one verified, so it is not written a second time (#14)
    samples = first["verification"]["samples"]
    assert log.count("> tf-db-set ") == log.count("< m-tf-db-crc32-") == len(samples)
    assert "> db load " not in log
    assert "> tf-db-set " not in logs[1] and logs[1].count("> db load ") == len(second["verification"]["samples"])
    assert not qemu_processes_mentioning(str(workdir))


def test_an_input_written_through_the_gdbstub_is_the_one_uploaded_as_hex(model_dir: Path, qemu: None,
                                                                          tmp_path: Path, scons_cache: Path) -> None:
    """#14: the memory path and the protocol's db upload (what the official runner sends) fill the same
    buffer: one firmware, one input, both ways, byte-identical outputs; tf-db-set refuses what db load does."""
    from tinyflash.board import BoardCatalog
    from tinyflash.errors import DeviceReportedError
    from tinyflash.model import resolve_model
    from tinyflash.pipeline import build, started_board
    from tinyflash.run.inputs import generated_inputs

    board = BoardCatalog().load("mps2-an386")
    firmware = build(board, resolve_model("ad", [model_dir]), out_dir=tmp_path / "fw", cache_dir=scons_cache)
    data = generated_inputs(firmware.project.io, 1, seed=5)[0].upload
    with started_board(board, firmware.elf, log_path=tmp_path / "serial.log") as session:
        assert session.memory is not None
        session.load(data)
        session.infer(1, 0)
        through_memory = session.tf_output()
        session.load(bytes(len(data)))            # something else in between
        memory, session.memory = session.memory, None
        session.load(data)                        # db load + hex
        session.infer(1, 0)
        assert session.tf_output() == through_memory
        with pytest.raises(DeviceReportedError, match="exceeds maximum"):
            session.command(f"tf-db-set {len(data) + 1}")
        with pytest.raises(DeviceReportedError, match="requires the # of bytes"):
            session.command("tf-db-set 0")
        session.memory = memory
        session.load(data)                        # the refusals cleared the buffer: written again
    log = (tmp_path / "serial.log").read_text()
    assert log.count("> tf-db-set ") == 5 and log.count("> db load ") == 1


@pytest.mark.parametrize("board", ["mps2-an500", "mps2-an386"])
def test_profile_splits_the_inference_by_layer(board: str, model_dir: Path, qemu: None, workdir: Path,
                                               scons_cache: Path) -> None:
    env = {"TINYFLASH_CACHE_DIR": str(scons_cache)}
    proc = tinyflash("bench", "--board", board, "--model", "kws", "--model-dir", str(model_dir), "--profile",
                     "--json", cwd=workdir, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["build"]["profile"] is True and data["build"]["elf"].endswith(
        f"{board}/kws-aot-profile/build/firmware.elf")
    assert data["verification"]["passed"] is True
    profile = data["profile"]
    layers = profile["layers"]
    project = json.loads(Path(workdir, data["build"]["elf"]).parents[1].joinpath("project.json").read_text())
    assert [(r["node"], r["op"]) for r in layers] == [(r["node"], r["op"]) for r in project["layers"]]
    # kws01: CONV_2D, then 4 x (DEPTHWISE_CONV_2D, CONV_2D), AVERAGE_POOL_2D, RESHAPE (in place), FC, SOFTMAX
    assert [r["op"] for r in layers][:3] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D"]
    assert sum(r["macs"] for r in layers) == data["macs"] == 2_656_768
    assert all(r["instructions"] > 0 for r in layers)
    # SMLAD does two MACs: no layer can take fewer than half an instruction per MAC
    assert all(2 * r["instructions"] > r["macs"] for r in layers if r["macs"])
    # the layers account for the inference: only the call sequence itself is outside them
    outside = profile["instructions"] - sum(r["instructions"] for r in layers)
    assert 0 <= outside < 2_000, outside
    assert profile["instructions"] == data["performance"]["instructions"]
    assert abs(sum(r["share"] for r in layers) - 1.0) < 0.01
    # the same device, unprofiled: the counter reads cost little (a few dozen instructions a layer)
    plain = tinyflash("bench", "--board", board, "--model", "kws", "--model-dir", str(model_dir), "--json",
                      cwd=workdir, env_extra=env)
    assert plain.returncode == 0, plain.stderr
    plain_instr = json.loads(plain.stdout)["performance"]["instructions"]
    assert plain_instr < profile["instructions"] < plain_instr + 100 * len(layers)
    assert "profile" not in json.loads(plain.stdout)


@pytest.mark.slow
def test_profile_shows_each_layer_of_a_row_band_stage(model_dir: Path, qemu: None, workdir: Path,
                                                      scons_cache: Path) -> None:
    """vww's first four layers run interleaved in row bands (patches.py): the profile still has a row for
    each, with its own MACs, marked with the stage, and the rows account for the inference (#14)."""
    env = {"TINYFLASH_CACHE_DIR": str(scons_cache)}
    out = workdir / "vww-bands-profile"
    proc = tinyflash("bench", "--board", "mps2-an500", "--model", "vww", "--model-dir", str(model_dir), "--profile",
                     "--out", str(out), cwd=workdir, env_extra=env)
    assert proc.returncode == 0, proc.stderr
    assert "bands@0: nodes 0, 1, 2, 3 ran interleaved in row bands" in proc.stdout
    data = json.loads((out / "results.json").read_text())
    assert data["verification"]["passed"] is True
    layers = data["profile"]["layers"]
    # vww: conv 3x3 s2 (96x96x3 -> 48x48x8), depthwise, pointwise (-> 16), depthwise s2 (-> 24x24x16)
    assert [(r["node"], r["op"], r["macs"], r.get("stage")) for r in layers[:5]] == [
        (0, "CONV_2D", 48 * 48 * 8 * 27, 0), (1, "DEPTHWISE_CONV_2D", 48 * 48 * 8 * 9, 0),
        (2, "CONV_2D", 48 * 48 * 16 * 8, 0), (3, "DEPTHWISE_CONV_2D", 24 * 24 * 16 * 9, 0),
        (4, "CONV_2D", 24 * 24 * 32 * 16, None)]
    assert sum(r["macs"] for r in layers) == data["macs"]
    assert all(2 * r["instructions"] > r["macs"] for r in layers if r["macs"])
    # the stage's calls and moves are ~70 timed sections where it was one: still a few dozen instructions each
    outside = data["profile"]["instructions"] - sum(r["instructions"] for r in layers)
    assert 0 <= outside < 5_000, outside


def test_hung_device_times_out_and_leaves_no_qemu(model_dir: Path, qemu: None, tmp_path: Path,
                                                  scons_cache: Path) -> None:
    started = time.monotonic()
    proc = tinyflash("bench", "--board", "mps2-an386", "--model", "ad", "--model-dir", str(model_dir),
                     "-D", "TF_FAULT_HANG_IN_INFER", "--timeout", "2", cwd=tmp_path,
                     env_extra={"TINYFLASH_CACHE_DIR": str(scons_cache)})
    elapsed = time.monotonic() - started
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "within 2.0 s" in proc.stderr
    assert "m-infer-start-1" in proc.stderr and "m-lap-us-" in proc.stderr   # the last lines received
    assert "serial log:" in proc.stderr
    assert elapsed < 60
    assert not qemu_processes_mentioning(str(tmp_path))


def test_emulate_serves_any_serial_client(model_dir: Path, qemu: None, tmp_path: Path,
                                          scons_cache: Path) -> None:
    env = dict(os.environ, TINYFLASH_CACHE_DIR=str(scons_cache))
    proc = subprocess.Popen([sys.executable, "-m", "tinyflash", "emulate", "--board", "netduinoplus2",
                             "--model", "ad", "--model-dir", str(model_dir), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        line = proc.stdout.readline()
        assert "UART on socket://127.0.0.1:" in line, proc.stderr.read() if proc.poll() is not None else line
        url = line.split("UART on ")[1].split(" ")[0]
        for _ in range(2):   # the official runner opens the port more than once
            port = serial.serial_for_url(url, timeout=2)
            port.write(b"name%")
            answer = b""
            while not answer.endswith(b"m-ready\r\n"):
                chunk = port.read(1)
                assert chunk, f"no answer, got {answer!r}"
                answer += chunk
            # nothing unsolicited: the boot banner went out before we connected
            assert answer == b"m-name-dut-[tinyflash netduinoplus2]\r\nm-ready\r\n"
            port.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode in (0, 130)
    assert not qemu_processes_mentioning(str(tmp_path))
