"""Driving the official MLPerf Tiny runner (``benchmark/runner/main.py`` in mlcommons/tiny), unmodified.

tinyflash writes what the runner reads from the command line (a device list naming the DUT by USB
VID:PID, and for performance mode a test script with this board's iteration counts), starts it in a
fresh working folder (it writes ``sessions/<timestamp>/{log.txt,results.txt,results.json}`` under the
current directory, spec §3.7) and collects those three files. A failure inside the runner (DUT not
found, a device that stops answering, a dataset file missing) becomes a :class:`RunnerError` quoting
the runner's last lines.
"""

from __future__ import annotations

import copy
import enum
import logging
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from tinyflash.errors import TinyflashError
from tinyflash.deps.mlperf_tiny import MlperfTinySources

log = logging.getLogger(__name__)

# pid.codes' open-source vendor id with its test product id: no real device claims it, and the
# runner needs some VID:PID to match the emulated board's pty (spec §3.2)
EMULATED_USB_ID = (0x1209, 0x0001)
RESULT_FILES = ("log.txt", "results.txt", "results.json")
LAUNCHER = Path(__file__).with_name("runner_launch.py")


class RunMode(enum.Enum):
    PERFORMANCE = "p"
    ACCURACY = "a"

    @property
    def folder(self) -> str:
        """The result folder name the submission checker expects."""
        return self.name.lower()

    @property
    def stock_script(self) -> str:
        return f"tests_{self.folder}.yaml"


class RunnerError(TinyflashError):
    """The official runner failed; the message quotes its last lines."""

    def __init__(self, message: str, *, last_lines: Sequence[str] = (), log_path: Optional[Path] = None,
                 hint: Optional[str] = None) -> None:
        tail = "".join(f"\n    | {line}" for line in last_lines)
        where = f"\n  runner log: {log_path}" if log_path else ""
        super().__init__(message + (f"\n  the runner's last lines:{tail}" if last_lines else "") + where, hint=hint)
        self.last_lines = tuple(last_lines)
        self.log_path = log_path


@dataclass(frozen=True)
class DutPort:
    """How the runner finds the DUT: its USB VID:PID, and for emulated boards the pty standing in for it."""

    vid: int
    pid: int
    baud: int
    emulated_device: Optional[str] = None     # pty path (emulated boards only)


@dataclass(frozen=True)
class RunnerOutput:
    mode: RunMode
    session_dir: Path
    console_log: Path

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(self.session_dir / name for name in RESULT_FILES)

    @property
    def results_text(self) -> str:
        return (self.session_dir / "results.txt").read_text(errors="replace")


def device_list(name: str, port: DutPort) -> list[dict[str, Any]]:
    """The runner's ``devices_*.yaml`` content (spec §3.3): one DUT, found by VID:PID."""
    return [{"name": name, "type": "dut", "baud": {"performance": port.baud, "accuracy": port.baud,
                                                     "energy": port.baud},
             "usb": {port.vid: port.pid}}]


def performance_script(stock: dict[str, Any], model_id: str, iterations: int) -> dict[str, Any]:
    """The stock performance script for one model with this board's iteration count.

    The rules want every timed loop to last 10-30 s; the stock counts are tuned for an 80 MHz L4R5ZI
    (spec §3.4, pitfall 4). The loop is made exactly 5 windows (the stock ic02 entry has no count, so it
    would always end in 'ERROR 1', pitfall 5); warm-ups stay the stock's."""
    if model_id not in stock:
        raise RunnerError(f"the runner's {RunMode.PERFORMANCE.stock_script} has no test for {model_id}",
                          hint="update the mlcommons/tiny checkout")
    entry = copy.deepcopy(stock[model_id])

    def retune(steps: list[Any]) -> list[Any]:
        out: list[Any] = []
        for step in steps:
            if isinstance(step, dict):
                (key, inner), = step.items()
                if str(key).split(" ")[0] == "loop":
                    key = "loop 5"
                out.append({key: retune(inner)})
            elif isinstance(step, str) and step.split(" ")[0] == "infer":
                parts = step.split()
                warmups = parts[2] if len(parts) > 2 else "0"
                out.append(f"infer {iterations} {warmups}")
            else:
                out.append(step)
        return out

    entry["script"] = retune(entry.get("script", []))
    return {model_id: entry}


def read_yaml(path: Path) -> Any:
    import yaml

    with open(path) as fh:
        return yaml.safe_load(fh)


def write_yaml(path: Path, data: Any) -> Path:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def dataset_folder_name(checkout: MlperfTinySources, model_id: str, mode: RunMode) -> str:
    """The dataset subfolder the runner reads for a model (``ic02`` uses ``ic01``): its tests yaml says."""
    stock = read_yaml(checkout.runner_dir / mode.stock_script)
    return str(stock.get(model_id, {}).get("model", model_id))


# ---- running it --------------------------------------------------------------------------------------
_DIAGNOSES = (
    (re.compile(r"No interface or DUT detected"), "the runner found no DUT",
     "real boards: the device list needs the board's USB VID:PID (see 'python -m serial.tools.list_ports -v'); "
     "check the board is connected and its port not held by another program"),
    (re.compile(r"No response to command"), "the device stopped answering the runner",
     "the firmware hung or was too slow for the runner's 5 s (30 s for infer) per-line limit; "
     "see the runner log and the UART transcript"),
    (re.compile(r"FileNotFoundError|No such file or directory"), "a file the runner reads is missing",
     "check --datasets: DIR/<model>/y_labels.csv and every file it lists"),
    (re.compile(r"KeyError: 'results'|Failed to get name"), "the runner could not identify the device",
     "the firmware must not print anything unsolicited once the host is connected (spec §7.2)"),
)


def _last_lines(path: Path, count: int = 12) -> list[str]:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in lines if line.strip()][-count:]


def diagnose(lines: Sequence[str]) -> tuple[str, Optional[str]]:
    text = "\n".join(lines)
    for pattern, what, hint in _DIAGNOSES:
        if pattern.search(text):
            return what, hint
    return "the official runner failed", None


def check_results(output: RunnerOutput) -> None:
    """The runner reports some failures only inside results.txt (it still exits 0)."""
    text = output.results_text
    problems = [line.strip() for line in text.splitlines() if "ERROR" in line]
    wanted = "Median throughput is" if output.mode is RunMode.PERFORMANCE else "AUC ="
    if problems or wanted not in text:
        what = problems[0] if problems else f"results.txt has no '{wanted}' line"
        hint = None
        if "ERROR 2" in what:
            hint = "the five timed windows took under 10 s of host time: raise the iteration count"
        raise RunnerError(f"the official runner's {output.mode.folder} run is not valid: {what}",
                          last_lines=_last_lines(output.session_dir / "results.txt"),
                          log_path=output.session_dir / "log.txt", hint=hint)


_LOADING = re.compile(r"Loading file (\S+) segment (\d+)")


class _LoadWatcher:
    """Reads the runner's console as it grows and reports each 'Loading file F segment N' line."""

    def __init__(self, console: Path, progress: Optional[Callable[[str], None]]) -> None:
        self.console, self.progress = console, progress
        self.offset = 0
        self.loads = 0

    def poll(self) -> None:
        if self.progress is None:
            return
        try:
            with open(self.console, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return
        complete = chunk[:chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        last = None
        for m in _LOADING.finditer(complete.decode(errors="replace")):
            self.loads += 1
            last = m
        if last is not None:
            self.progress(f"input {self.loads}: {last.group(1)} window {last.group(2)}")


def run_official_runner(checkout: MlperfTinySources, work_dir: Path, *, mode: RunMode, dataset_dir: Path,
                        devices: Path, test_script: Path, port: DutPort, timeout_s: float,
                        alive: Optional[Callable[[], Optional[str]]] = None,
                        progress: Optional[Callable[[str], None]] = None,
                        python: str = sys.executable) -> RunnerOutput:
    """Run ``main.py -d devices -t script -s datasets -m mode`` in ``work_dir`` (created empty).

    ``alive`` is polled while the runner works: it returns a reason when the device side died (QEMU
    exited), and the runner is stopped instead of waiting for its own timeouts. ``progress`` hears of
    every input the runner loads (a full ad01 accuracy run loads ~48,600 windows)."""
    work_dir.mkdir(parents=True, exist_ok=False)
    console = work_dir / "runner-console.txt"
    cmd = [python, str(LAUNCHER), "--runner-dir", str(checkout.runner_dir.resolve())]
    if port.emulated_device:
        cmd += ["--emulated-port", port.emulated_device, "--vid", hex(port.vid), "--pid", hex(port.pid)]
    cmd += ["--", "-d", str(devices.resolve()), "-t", str(test_script.resolve()),
            "-s", str(dataset_dir.resolve()), "-m", mode.value]
    log.info("running the official runner in %s: %s", work_dir, " ".join(cmd))
    env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    with open(console, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=work_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        stopped: Optional[str] = None
        watcher = _LoadWatcher(console, progress)
        try:
            while proc.poll() is None:
                watcher.poll()
                if time.monotonic() > deadline:
                    stopped = f"the runner did not finish within {timeout_s:.0f} s"
                elif alive is not None:
                    stopped = alive()
                if stopped:
                    break
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
    sessions = sorted((work_dir / "sessions").glob("*/")) if (work_dir / "sessions").is_dir() else []
    session = sessions[-1] if sessions else None
    tail_source = session / "log.txt" if session and (session / "log.txt").is_file() else console
    lines = _last_lines(tail_source)
    if stopped or proc.returncode != 0:
        what, hint = diagnose(lines)
        if stopped:
            what = f"{stopped}; {what}" if what != "the official runner failed" else stopped
        raise RunnerError(f"{what} ({mode.folder} mode, exit status {proc.returncode})", last_lines=lines,
                          log_path=tail_source, hint=hint)
    if session is None or any(not (session / name).is_file() for name in RESULT_FILES):
        raise RunnerError(f"the runner exited without writing {', '.join(RESULT_FILES)} ({mode.folder} mode)",
                          last_lines=lines, log_path=tail_source)
    output = RunnerOutput(mode, session, console)
    check_results(output)
    return output
