"""How tinyflash submit talks to the official runner and checker (#12.3, #12.5), without the
mlcommons/tiny checkout: the files it writes for the runner, the launcher that lists an emulated
board's pty as a USB serial port, the UART bridge, and how failures and verdicts are read."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from tests.support.fake_device import FakeDevice
from tinyflash.submit.checker import parse_output
from tinyflash.deps import MLPERF_TINY_DIR_ENV as MLPERF_TINY_ENV, DepsError
from tinyflash.deps.sources import TFLM_DIR_ENV
from tinyflash.submit.flow import median_throughput
from tinyflash.submit.runner import (LAUNCHER, DutPort, RunMode, RunnerError, RunnerOutput, check_results,
                                     device_list, diagnose, performance_script)
from tinyflash.submit.uart_bridge import UartBridge

# the shape of the stock benchmark/runner/tests_performance.yaml (spec §3.4), including ic02's missing count
STOCK = {
    "ad01": {"name": "anomoly_detection", "model": "ad01", "truth_file": "y_labels.csv",
             "script": [{"loop 5": ["download", "infer 1500 10"]}]},
    "ic02": {"name": "image_classification", "model": "ic01", "truth_file": "y_labels.csv",
             "script": [{"loop": ["download", "infer 20 5"]}]},
}


def test_performance_script_gets_the_boards_count_and_five_windows() -> None:
    assert performance_script(STOCK, "ad01", 2292) == {"ad01": {
        "name": "anomoly_detection", "model": "ad01", "truth_file": "y_labels.csv",
        "script": [{"loop 5": ["download", "infer 2292 10"]}]}}
    # the stock ic02 loop has no count, which always ends in "ERROR 1" (spec pitfall 5)
    assert performance_script(STOCK, "ic02", 40)["ic02"]["script"] == [{"loop 5": ["download", "infer 40 5"]}]
    assert STOCK["ic02"]["script"] == [{"loop": ["download", "infer 20 5"]}]      # not modified in place


def test_performance_script_for_a_model_the_runner_lacks() -> None:
    with pytest.raises(RunnerError, match="has no test for kws01"):
        performance_script(STOCK, "kws01", 10)


def test_device_list_names_the_dut_by_vid_pid() -> None:
    assert device_list("tinyflash-x", DutPort(0x0483, 0x374B, 921600)) == [
        {"name": "tinyflash-x", "type": "dut", "usb": {0x0483: 0x374B},
         "baud": {"performance": 921600, "accuracy": 921600, "energy": 921600}}]


@pytest.mark.parametrize("line, what", [
    ("RuntimeError: No interface or DUT detected. One must be present to run test", "found no DUT"),
    ("RuntimeError: No response to command db load 2560", "stopped answering"),
    ("FileNotFoundError: [Errno 2] No such file or directory: 'x/ad01/a.bin'", "file the runner reads is missing"),
])
def test_runner_failures_are_diagnosed(line: str, what: str) -> None:
    found, hint = diagnose(["Traceback (most recent call last):", line])
    assert what in found and hint


def _output(tmp_path: Path, mode: RunMode, text: str) -> RunnerOutput:
    (tmp_path / "results.txt").write_text(text)
    (tmp_path / "log.txt").write_text("log\n")
    return RunnerOutput(mode, tmp_path, tmp_path / "console.txt")


def test_error_lines_in_results_txt_are_failures(tmp_path: Path) -> None:
    # the runner still exits 0 for these (benchmark/runner/main.py summarize_result)
    out = _output(tmp_path, RunMode.PERFORMANCE,
                  "1207.023629 ulp-mlperf: ERROR 2 - loop exited before 10 seconds elapsed.\n")
    with pytest.raises(RunnerError, match="ERROR 2") as info:
        check_results(out)
    assert "raise the iteration count" in str(info.value) and "ERROR 2" in "".join(info.value.last_lines)
    with pytest.raises(RunnerError, match="no 'AUC =' line"):
        check_results(_output(tmp_path, RunMode.ACCURACY, "1207.0236 ulp-mlperf: Top 1% = 100.0\n"))
    check_results(_output(tmp_path, RunMode.ACCURACY, "x ulp-mlperf: Top 1% = 100.0\nx ulp-mlperf: AUC = 1.000\n"))


def test_median_throughput_is_read_as_the_checker_reads_it() -> None:
    text = ("Performance results for window 1\n    Throughput: 2428.35 inf./sec.\n"
            "1207.023629 ulp-mlperf: Median throughput is   2428.355 inf./sec.\n")
    assert median_throughput(text) == 2428.355
    assert median_throughput("Throughput: 1.0 inf./sec.\n") is None


def test_checker_verdict_is_its_summary_line_and_errors() -> None:
    ok = parse_output("INFO:main:Results=1, NoResults=0\nINFO:main:SUMMARY: submission looks OK\n",
                      'Organization,Model,Result\n"acme","ad","2428.355"\n')
    assert ok.ok and ok.summary == "submission looks OK" and ok.table[0]["Result"] == "2428.355"
    assert ok.table_lines()[1].split()[0] == "ad"
    bad = parse_output("ERROR:main:closed/acme/results/s/ad/accuracy has no results.txt.\n"
                       "ERROR:main:SUMMARY: submission has errors\n", "")
    assert not bad.ok and bad.summary == "submission has errors" and len(bad.errors) == 2
    crashed = parse_output("Traceback (most recent call last):\nKeyError: 'x'\n", "")
    assert not crashed.ok and "no SUMMARY line" in crashed.summary


def test_launcher_lists_the_pty_as_a_usb_port_and_runs_main_unchanged(tmp_path: Path) -> None:
    # a stand-in for benchmark/runner/main.py: it sees what the runner's DeviceManager.scan() would
    runner = tmp_path / "runner"
    runner.mkdir()
    (runner / "helper.py").write_text("VALUE = 'imported from the runner folder'\n")
    (runner / "main.py").write_text(
        "import sys\nfrom serial.tools import list_ports\nimport helper\n"
        "if __name__ == '__main__':\n"
        "    ports = [p for p in list_ports.comports(True) if p.vid]\n"
        "    print([(p.device, hex(p.vid), hex(p.pid)) for p in ports], sys.argv[1:], helper.VALUE)\n")
    proc = subprocess.run([sys.executable, str(LAUNCHER), "--runner-dir", str(runner), "--emulated-port",
                           "/dev/pts/77", "--vid", "0x1209", "--pid", "0x1", "--", "-m", "p"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "('/dev/pts/77', '0x1209', '0x1')" in proc.stdout
    assert "['-m', 'p'] imported from the runner folder" in proc.stdout


def _runner_style_command(port: serial.Serial, text: str) -> bytes:
    # as benchmark/runner/serial_device.py writes: the command, then '%' in a second write
    port.write(text.encode())
    port.write(b"%")
    answer = b""
    deadline = time.monotonic() + 5
    while not answer.endswith(b"m-ready\r\n") and time.monotonic() < deadline:
        answer += port.read(max(1, port.in_waiting))
    return answer


def test_bridge_carries_commands_fast_across_reopens() -> None:
    device = FakeDevice({"name": b"m-name-dut-[tinyflash]\r\nm-ready\r\n", "db *": b"m-ready\r\n"})
    try:
        with UartBridge("127.0.0.1", device.port) as bridge:
            # the runner opens the port to identify the DUT, closes it, and opens it again (spec §3.5)
            for _ in range(2):
                with serial.Serial(bridge.device_path, 115200, timeout=0.05) as port:
                    assert _runner_style_command(port, "name") == b"m-name-dut-[tinyflash]\r\nm-ready\r\n"
            with serial.Serial(bridge.device_path, 115200, timeout=0.05) as port:
                started = time.perf_counter()
                for _ in range(50):
                    assert _runner_style_command(port, "db " + "ab" * 31) == b"m-ready\r\n"
                per_command = (time.perf_counter() - started) / 50
        # a socket:// URL costs ~44 ms here (Nagle + delayed ACK); the pty must not pace the runner
        assert per_command < 0.02, f"{per_command * 1000:.1f} ms per command"
        assert device.received[:3] == ["name", "name", "db " + "ab" * 31]
    finally:
        device.close()


def test_bridge_reports_an_emulator_that_went_away() -> None:
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    try:
        with UartBridge("127.0.0.1", server.getsockname()[1]) as bridge:
            conn, _ = server.accept()
            conn.close()                    # QEMU exited: its end of the UART socket closes
            deadline = time.monotonic() + 5
            while bridge.error is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "closed the connection" in str(bridge.error)
    finally:
        server.close()


def test_bridge_to_nothing_is_a_clear_error() -> None:
    from tinyflash.errors import DeviceError

    import socket

    with socket.socket() as bound:          # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        with pytest.raises(DeviceError, match="cannot connect to the emulated UART"):
            UartBridge("127.0.0.1", bound.getsockname()[1], connect_timeout=1).open()


# ---- the command line (registered by the lead in cli/main.py; built here from add_parsers) --------------
def _parse(*argv: str):
    import argparse

    from tinyflash.cli import submit as submit_cli

    parser = argparse.ArgumentParser(prog="tinyflash")
    submit_cli.add_parsers(parser.add_subparsers())
    return parser.parse_args(["submit", *argv])


def _fake_checkout(root: Path) -> Path:
    (root / "benchmark" / "runner").mkdir(parents=True)
    (root / "benchmark" / "runner" / "main.py").write_text("")
    (root / "tools" / "submission").mkdir(parents=True)
    (root / "tools" / "submission" / "submission_checker.py").write_text("")
    return root


def test_cli_reads_usb_ids_and_defaults() -> None:
    from tinyflash.cli import submit as submit_cli

    args = _parse("--board", "nucleo-l4r5zi", "--submitter", "acme", "--datasets", "d", "--out", "o",
                  "--usb-id", "0483:374B")
    assert args.usb_id == (0x0483, 0x374B) and args.division == "closed"
    assert args.benchmarks is None and (args.runtime, args.kernels) == ("aot", "auto")
    # the default: every benchmark the official checker knows, ic2 (v1.4) included, from the benchmark classes
    assert submit_cli.default_benchmarks() == "ad,ic,ic2,kws,vww"
    assert f"default: {submit_cli.default_benchmarks()}," in submit_cli.BENCHMARKS_HELP
    with pytest.raises(SystemExit):
        _parse("--board", "b", "--submitter", "a", "--datasets", "d", "--out", "o", "--usb-id", "0483")


def test_cli_refuses_what_cannot_be_submitted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              model_dir: Path) -> None:
    from tinyflash.cli.arguments import UsageError

    monkeypatch.setenv(MLPERF_TINY_ENV, str(_fake_checkout(tmp_path / "tiny")))
    base = ["--board", "mps2-an500", "--submitter", "acme", "--datasets", str(tmp_path), "--out",
            str(tmp_path / "out"), "--model-dir", str(model_dir)]
    args = _parse(*base, "--benchmarks", "ad,sww")
    with pytest.raises(UsageError, match="sww is not a benchmark tinyflash can submit"):
        args.handler(args)
    args = _parse(*base, "--benchmarks", "ad,ad01")
    with pytest.raises(UsageError, match="names a benchmark twice"):
        args.handler(args)


def test_cli_without_the_checkout_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MLPERF_TINY_ENV, raising=False)
    args = _parse("--board", "mps2-an500", "--submitter", "acme", "--datasets", "d", "--out", "o")
    monkeypatch.setenv(TFLM_DIR_ENV, "/nonexistent-tinyflash-workspace")   # the default workspace
    with pytest.raises(DepsError, match="no mlcommons/tiny checkout"):
        args.handler(args)


def test_progress_follows_the_runners_loads(tmp_path: Path) -> None:
    from tinyflash.submit.runner import _LoadWatcher

    console = tmp_path / "console.txt"
    heard: list[str] = []
    watcher = _LoadWatcher(console, heard.append)
    watcher.poll()                                            # not written yet
    console.write_text("1207.0 ulp-mlperf: Loading file a.bin segment 0\n1207.0 ulp-mlperf: Load compl")
    watcher.poll()
    with open(console, "a") as fh:
        fh.write("ete.\n1207.0 ulp-mlperf: Loading file a.bin segment 1\n1207.0 ulp-mlperf: Loading fi")
    watcher.poll()
    assert heard == ["input 1: a.bin window 0", "input 2: a.bin window 1"]


def test_datasets_command_writes_the_runners_layout(tmp_path: Path, model_dir: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from tinyflash.cli import submit as submit_cli

    parser = argparse.ArgumentParser(prog="tinyflash")
    submit_cli.add_parsers(parser.add_subparsers())
    args = parser.parse_args(["datasets", "--out", str(tmp_path / "ds"), "--benchmarks", "ad",
                              "--model-dir", str(model_dir), "--files", "5", "--windows", "2"])
    assert args.handler(args) == 0
    assert len((tmp_path / "ds" / "ad01" / "y_labels.csv").read_text().splitlines()) == 5
    assert "ad: 5 files in" in capsys.readouterr().out
    args = parser.parse_args(["datasets", "--out", str(tmp_path / "x"), "--benchmarks", "sww",
                              "--model-dir", str(model_dir)])
    from tinyflash.cli.arguments import UsageError
    with pytest.raises(UsageError, match="use ad, ic, ic2, kws, vww"):
        args.handler(args)


def test_probes_show_each_ports_usb_id(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # the VID:PID is what a board YAML's uart.usb (or --usb-id) needs for the runner to find the DUT
    import argparse
    from types import SimpleNamespace

    from serial.tools import list_ports

    from tinyflash.cli import flash as flash_cli
    from tinyflash.flash import discovery
    from tinyflash.flash.discovery import ProbeInfo

    monkeypatch.setattr(list_ports, "comports", lambda: [SimpleNamespace(device="/dev/ttyACM0", vid=0x0483,
                                                                         pid=0x374B),
                                                         SimpleNamespace(device="/dev/ttyS0", vid=None, pid=None)])
    fields = {f: "" for f in ProbeInfo.__dataclass_fields__}
    probe = ProbeInfo(**{**fields, "unique_id": "066DFF", "vendor": "STMicroelectronics", "product": "STM32 STLink",
                         "ports": ("/dev/ttyACM0", "/dev/ttyS0")})
    monkeypatch.setattr(discovery, "list_probes", lambda: [probe])
    assert flash_cli.cmd_probes(argparse.Namespace(json=False)) == 0
    assert "ports: /dev/ttyACM0 (USB 0483:374B), /dev/ttyS0" in capsys.readouterr().out
