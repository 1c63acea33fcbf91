"""``tinyflash submit`` as a library call: build each benchmark once, boot it, let the official runner
measure it in performance and accuracy mode, lay out the submission tree, run the official checker.

    check datasets -> per benchmark: build -> boot -> calibrate -> runner (p) -> runner (a) -> copy
    -> system JSON + code/ -> checker -> rename the tree into place

The same firmware (one build) runs both modes, as the rules require. Emulated boards reach the runner
through :class:`~tinyflash.submit.uart_bridge.UartBridge`; real boards through their USB serial port,
which the runner finds by VID:PID.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

from tinyflash.board.schema import Board
from tinyflash.build.scons import Firmware
from tinyflash.errors import TinyflashError
from tinyflash.events import Progress, ProgressEvent, Stage, quiet
from tinyflash.generate.project import BuildOptions
from tinyflash.model.benchmarks import Benchmark
from tinyflash.model.spec import ModelSpec
from tinyflash.run.accuracy import windows
from tinyflash.run.performance import HARDWARE_WINDOW_S
from tinyflash.run.session import DeviceSession, Timeouts
from tinyflash.submit.checker import Verdict, run_checker
from tinyflash.deps.mlperf_tiny import MlperfTinySources
from tinyflash.submit.datasets import CheckedDataset, check_datasets
from tinyflash.submit.runner import (EMULATED_USB_ID, DutPort, RunMode, RunnerOutput, dataset_folder_name,
                                     device_list,
                                     performance_script, read_yaml, run_official_runner, write_yaml)
from tinyflash.submit.system import Pin, system_description
from tinyflash.submit.tree import Division, SubmissionTree, TreeError, prepare_staging, publish

# Host seconds per timed window on an emulated board. Emulated (virtual) time runs slower than the
# host clock, so windows are sized in host time: five of 4 s keep the runner's whole loop over its
# 10 s minimum (ERROR 2) with room for a machine that speeds up after calibration, and every line
# well inside its 30 s per-line limit.
EMULATED_WINDOW_WALL_S = 4.0
_MEDIAN = re.compile(r".* Median throughput is\s+([\d\.]+) inf\./sec\..*")   # the checker's regex


class SubmitError(TinyflashError):
    pass


@dataclass(frozen=True)
class SubmitRequest:
    board: Board
    models: tuple[ModelSpec, ...]
    submitter: str
    datasets: Path
    out: Path
    division: Division = Division.CLOSED
    runtime: str = "aot"
    options: BuildOptions = BuildOptions()
    system: Optional[str] = None              # default: <board>-tinyflash-<runtime>
    usb_id: Optional[tuple[int, int]] = None  # real boards: the USB VID:PID of the board's serial port
    probe: Optional[str] = None
    port: Optional[str] = None
    timeouts: Timeouts = Timeouts()

    @property
    def system_name(self) -> str:
        return self.system or f"{self.board.name}-tinyflash-{self.runtime}"


@dataclass(frozen=True)
class BenchmarkRun:
    spec: ModelSpec
    firmware: Firmware
    iterations: int                       # performance mode 'infer N W' count used for this board
    performance: Path                     # result folders in the published tree
    accuracy: Path
    median_throughput: float


@dataclass(frozen=True)
class SubmitResult:
    tree: Path
    system_json: Path
    emulated: bool
    runs: tuple[BenchmarkRun, ...]
    verdict: Verdict
    checker_log: Path
    system: dict = field(default_factory=dict)


def median_throughput(results_text: str) -> Optional[float]:
    for line in results_text.splitlines():
        m = _MEDIAN.match(line)
        if m:
            return float(m.group(1))
    return None


def calibrate(session: DeviceSession, board: Board, upload: bytes, *, timeout_s: float) -> int:
    """The performance-mode iteration count for this board: timed windows of 10-30 s of device time on
    real boards (the rules, spec §4), of EMULATED_WINDOW_WALL_S host seconds on emulated ones."""
    session.load(upload)
    count = 1
    while True:
        started = time.monotonic()
        response = session.infer(count, 0, timeout=timeout_s)
        wall = time.monotonic() - started
        if wall >= 0.25 or response.elapsed_us >= 1_000_000 or count >= 1 << 20:
            break
        count *= 10
    device_s = max(response.elapsed_us / 1e6 / count, 1e-9)
    wall_s = wall / count
    if board.emulated:
        return max(1, math.ceil(EMULATED_WINDOW_WALL_S / wall_s))
    return max(1, math.ceil(HARDWARE_WINDOW_S / device_s))


def _first_upload(dataset: CheckedDataset) -> bytes:
    row = dataset.rows[0]
    return windows((dataset.folder / row.file).read_bytes(), row)[0]


def _inference_count(dataset: CheckedDataset) -> int:
    return sum(len(windows((dataset.folder / r.file).read_bytes(), r)) for r in dataset.rows)


@dataclass(frozen=True)
class _Device:
    """A booted board and how the runner reaches it; the banner is already read, so the runner
    sees nothing unsolicited (spec §7.2). ``alive`` says why the device side died, if it did."""

    port: DutPort
    alive: Optional[Callable[[], Optional[str]]] = None


def usb_id(request: SubmitRequest) -> tuple[int, int]:
    """The USB VID:PID by which the runner finds a real board: --usb-id, else the board YAML's
    ``uart.usb``."""
    if request.usb_id is not None:
        return request.usb_id
    usb = request.board.uart.usb
    if usb is not None:
        return usb.vid, usb.pid
    raise SubmitError(f"board {request.board.name}: the runner finds a real DUT only by the USB VID:PID of "
                      "its serial port, and the board file does not say it",
                      hint="pass --usb-id VID:PID (see 'python -m serial.tools.list_ports -v'), or add "
                           "uart.usb: {vid: 0x...., pid: 0x....} to the board YAML")


@contextlib.contextmanager
def _booted(request: SubmitRequest, firmware: Firmware, upload: bytes, work: Path,
            progress: Progress) -> Iterator[tuple[_Device, int]]:
    from tinyflash import pipeline
    from tinyflash.run.link import SerialLink

    board = request.board
    flasher = pipeline.make_flasher(board, probe=request.probe, port=request.port)
    try:
        flasher.program(firmware.elf)
        url = request.port or flasher.serial_url()
        progress(ProgressEvent(Stage.FLASH, f"booting {firmware.project.model.name} on {board.name}"))
        with SerialLink(url, baudrate=board.uart.baud, log_path=work / "calibration-serial.log") as link:
            flasher.reset()
            session = DeviceSession(link, timeouts=request.timeouts, multiplier=board.timeout_multiplier)
            session.wait_boot()
            _, model_id = session.profile()
            if model_id != firmware.project.model.benchmark_id:
                raise SubmitError(f"the firmware reports model {model_id}, expected "
                                  f"{firmware.project.model.benchmark_id}")
            progress(ProgressEvent(Stage.RUN, "calibrating the performance-mode iteration count"))
            iterations = calibrate(session, board, upload, timeout_s=request.timeouts.infer)
        if board.emulated:
            from tinyflash.submit.uart_bridge import UartBridge

            from tinyflash.flash.qemu import QemuFlasher

            assert isinstance(flasher, QemuFlasher)
            with UartBridge(flasher.options.host, flasher.port, transcript=work / "uart-transcript.log") as bridge:
                port = DutPort(*EMULATED_USB_ID, board.uart.baud, bridge.device_path)
                yield _Device(port, lambda: f"the emulated UART failed: {bridge.error}" if bridge.error else None), \
                    iterations
        else:
            vid, pid = usb_id(request)
            yield _Device(DutPort(vid, pid, board.uart.baud)), iterations
    finally:
        flasher.close()


def _runner_progress(progress: Progress, prefix: str) -> Callable[[str], None]:
    def report(text: str) -> None:
        progress(ProgressEvent(Stage.RUN, f"{prefix}: {text}"))
    return report


def _run_benchmark(request: SubmitRequest, checkout: MlperfTinySources, tree: SubmissionTree, spec: ModelSpec,
                   dataset: CheckedDataset, work: Path, progress: Progress) -> BenchmarkRun:
    from tinyflash import pipeline

    board = request.board
    progress(ProgressEvent(Stage.BUILD, f"building {spec.name} for {board.name} ({request.runtime})"))
    firmware = pipeline.build(board, spec, runtime=request.runtime, options=request.options, progress=progress)
    work.mkdir(parents=True, exist_ok=True)
    model_id = spec.benchmark_id
    stock = read_yaml(checkout.runner_dir / RunMode.PERFORMANCE.stock_script)
    runner_folder = dataset_folder_name(checkout, model_id, RunMode.ACCURACY)
    if runner_folder != spec.benchmark.dataset_folder:
        raise SubmitError(f"the runner's {RunMode.ACCURACY.stock_script} reads {model_id}'s dataset from "
                          f"{runner_folder}/, tinyflash checked {spec.benchmark.dataset_folder}/",
                          hint="the mlcommons/tiny checkout is not the pinned revision; run 'tinyflash deps "
                               "--mlperf-tiny'")
    multiplier = board.timeout_multiplier
    outputs: dict[RunMode, RunnerOutput] = {}
    with _booted(request, firmware, _first_upload(dataset), work, progress) as (device, iterations):
        devices = write_yaml(work / "devices.yaml", device_list(f"tinyflash-{board.name}", device.port))
        scripts = {RunMode.PERFORMANCE: write_yaml(work / "tests_performance.yaml",
                                                   performance_script(stock, model_id, iterations)),
                   RunMode.ACCURACY: checkout.runner_dir / RunMode.ACCURACY.stock_script}
        # generous limits: the runner has its own per-line timeouts; these only catch a hung runner
        budgets = {RunMode.PERFORMANCE: (5 * (3 * max(EMULATED_WINDOW_WALL_S, HARDWARE_WINDOW_S) + 30) + 120),
                   RunMode.ACCURACY: _inference_count(dataset) * 20.0 + 180}
        for mode in (RunMode.PERFORMANCE, RunMode.ACCURACY):
            progress(ProgressEvent(Stage.RUN, f"{spec.name}: official runner, {mode.folder} mode"
                                   + (f" (infer {iterations})" if mode is RunMode.PERFORMANCE else
                                      f" ({len(dataset.rows)} files)")))
            outputs[mode] = run_official_runner(checkout, work / f"runner-{mode.folder}", mode=mode,
                                                dataset_dir=request.datasets, devices=devices,
                                                test_script=scripts[mode], port=device.port,
                                                timeout_s=budgets[mode] * multiplier, alive=device.alive,
                                                progress=_runner_progress(progress, f"{spec.name} {mode.folder}"))
    name = spec.benchmark.submission_name      # the checker's model folder: ic2 for ic02
    perf_dir = tree.add_results(name, RunMode.PERFORMANCE.folder, outputs[RunMode.PERFORMANCE].files)
    acc_dir = tree.add_results(name, RunMode.ACCURACY.folder, outputs[RunMode.ACCURACY].files)
    _add_code(tree, spec, firmware)
    median = median_throughput(outputs[RunMode.PERFORMANCE].results_text)
    assert median is not None     # check_results() refused a results.txt without it
    return BenchmarkRun(spec, firmware, iterations, perf_dir, acc_dir, median)


def _add_code(tree: SubmissionTree, spec: ModelSpec, firmware: Firmware) -> None:
    import json

    from tinyflash import pipeline

    project = firmware.project
    name = spec.benchmark.submission_name
    build_info = tree.code_dir(name) / "build.json"
    tree.add_code(name, [(project.directory / "src", "src"), (project.directory / "linker.ld", "linker.ld"),
                              (project.project_file, "project.json")])
    build_info.write_text(json.dumps(pipeline.provenance(spec, firmware), indent=2) + "\n")


def _add_common_code(tree: SubmissionTree, board: Board, request: SubmitRequest) -> list[Pin]:
    import yaml

    from tinyflash.deps.manifest import default_manifest_path, load_manifest

    folder = tree.code_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "board.yaml").write_text(
        f"# board {board.name} as tinyflash validated it\n"
        + yaml.safe_dump(board.model_dump(mode="json", exclude_defaults=False), sort_keys=False))
    manifest_path = default_manifest_path()
    shutil.copyfile(manifest_path, folder / "west.yml")
    models = ",".join(s.benchmark.key for s in request.models)
    (folder / "README.txt").write_text(
        "What reproduces the firmware of these results:\n"
        "  board.yaml       the board descriptor\n"
        "  west.yml         the pinned third-party sources (tinyflash deps)\n"
        "  <model>/src      the generated sources; <model>/project.json the build flags;\n"
        "  <model>/build.json  tinyflash version and commit, toolchain, model SHA-256\n"
        f"Rebuild: tinyflash build --board {board.name} --model MODEL --runtime {request.runtime} "
        f"--kernels {request.options.kernels} -O{request.options.optimization.removeprefix('-O')}\n"
        f"Resubmit: tinyflash submit --board {board.name} --benchmarks {models} ...\n")
    return [Pin(p.name, p.revision) for p in load_manifest(manifest_path).projects]


def _git_revision(root: Path) -> Optional[str]:
    try:
        proc = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def submit(request: SubmitRequest, checkout: MlperfTinySources, *, progress: Progress = quiet,
           runner_revision: Optional[str] = None) -> SubmitResult:
    # what can be refused without a board is refused before anything is written
    SubmissionTree(request.out, request.division, request.submitter, request.system_name)
    datasets = check_datasets(request.datasets, [s.benchmark for s in request.models])
    staging = prepare_staging(request.out)
    try:
        return _submit(request, checkout, staging, datasets, progress, runner_revision)
    except TinyflashError as exc:
        # the unfinished tree stays under <out>.partial, never under the name of a finished one
        where = f"the unfinished tree and the runner's work folders are in {staging}"
        exc.hint = f"{exc.hint}; {where}" if exc.hint else where
        raise


def _submit(request: SubmitRequest, checkout: MlperfTinySources, staging: Path,
            datasets: dict[Benchmark, CheckedDataset], progress: Progress, runner_revision: Optional[str]) -> SubmitResult:
    from tinyflash import __version__

    board = request.board
    tree = SubmissionTree(staging / "tree", request.division, request.submitter, request.system_name)
    runs = []
    for spec in request.models:
        runs.append(_run_benchmark(request, checkout, tree, spec, datasets[spec.benchmark],
                                   staging / "work" / spec.name, progress))
    pins = _add_common_code(tree, board, request)
    description = system_description(
        board, runtimes=[r.firmware.project.runtime for r in runs],
        kernels=[r.firmware.project.options.kernels for r in runs], version=__version__, pins=pins,
        toolchain=runs[0].firmware.toolchain, optimization=request.options.optimization,
        runner_revision=runner_revision or _git_revision(checkout.root))
    system_json = tree.write_system(description)
    problems = tree.problems()
    if problems:
        raise TreeError("the submission tree has what the checker rejects: " + "; ".join(problems))
    progress(ProgressEvent(Stage.RUN, "running the official submission checker"))
    verdict = run_checker(checkout, tree.root, work_dir=staging / "work" / "checker")
    # beside the division folders, where the checker looks for folders only
    (tree.root / "checker.log").write_text(verdict.output)
    summary_csv = staging / "work" / "checker" / "summary.csv"
    if summary_csv.is_file():
        shutil.copyfile(summary_csv, tree.root / "summary.csv")
    out = publish(tree.root, request.out)
    shutil.rmtree(staging, ignore_errors=True)
    relocated = tuple(BenchmarkRun(r.spec, r.firmware, r.iterations,
                                   out / r.performance.relative_to(tree.root), out / r.accuracy.relative_to(tree.root),
                                   r.median_throughput) for r in runs)
    return SubmitResult(out, out / system_json.relative_to(tree.root), board.emulated, relocated, verdict,
                        out / "checker.log", description)
