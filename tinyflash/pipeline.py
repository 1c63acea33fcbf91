"""The pipeline as library calls: board -> generate -> build -> flash -> run -> report.

The CLI is a thin layer over these functions; the farm and `tinyflash submit` call them too. An output directory
serves one run at a time: :func:`build` and :func:`run` hold :func:`exclusive_out_dir` on it, and a
caller that builds then runs holds it across both (``with exclusive_out_dir(out): build(...); run(...)``).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Sequence

from tinyflash.board.schema import Board, QemuFlash
from tinyflash.build.scons import Firmware, build_firmware
from tinyflash.errors import FlashError
from tinyflash.events import Progress, ProgressEvent, Stage, quiet
from tinyflash.flash.base import Flasher
from tinyflash.flash.qemu import QemuFlasher, QemuOptions
from tinyflash.generate.project import BuildOptions, generate_project, resolve_runtime
from tinyflash.generate.runtime.choice import RuntimeChoice
from tinyflash.model import read_graph
from tinyflash.model.spec import ModelSpec
from tinyflash.report.out_dir import OutDirBusyError, discard_results, exclusive_out_dir
from tinyflash.run.golden import Golden
from tinyflash.run.inputs import Sample, file_samples, generated_inputs, sample_dirs
from tinyflash.run.link import SerialLink
from tinyflash.run.performance import EMULATED_WINDOW_S, PROFILE_WINDOW_S, Performance, measure
from tinyflash.run.profile import Profile
from tinyflash.run.profile import collect as collect_profile
from tinyflash.run.session import DeviceSession, Timeouts
from tinyflash.run.verify import Verification, verify_on_device

if TYPE_CHECKING:
    from tinyflash.run.accuracy import AccuracyScore

__all__ = ["AccuracyResult", "FirmwareChangedError", "OutDirBusyError", "RunResult", "RuntimeChoice", "build",
           "check_firmware_unchanged", "choose_runtime", "default_out_dir", "exclusive_out_dir", "make_flasher", "provenance",
           "run", "run_accuracy", "started_board", "verification_samples"]


class FirmwareChangedError(FlashError):
    """The ELF on disk is not the one this Firmware was built as."""


def default_out_dir(board: Board, spec: ModelSpec, runtime: str, kernels: str = "auto",
                    profile: bool = False) -> Path:
    # a kernel set other than the default, or a profiled build, gets its own directory: switching
    # back and forth then relinks nothing (e.g. TFLM reference beside TFLM + CMSIS-NN)
    suffix = ("" if kernels == "auto" else f"-{kernels}") + ("-profile" if profile else "")
    return Path("tinyflash-out") / board.name / f"{spec.name}-{runtime}{suffix}"


def choose_runtime(board: Board, spec: ModelSpec, runtime: str | RuntimeChoice = "auto",
                   options: BuildOptions = BuildOptions()) -> RuntimeChoice:
    """The runtime ``runtime`` (auto or a name) builds ``spec`` with on ``board``, and why: decided once,
    before the output folder is known (its default name is the chosen runtime's, so existing folders are
    reused)."""
    if isinstance(runtime, RuntimeChoice):
        return runtime
    return resolve_runtime(board, spec, read_graph(spec.path, spec.data or None), runtime, options)


def build(board: Board, spec: ModelSpec, *, runtime: str | RuntimeChoice = "auto", out_dir: Optional[Path] = None,
          options: BuildOptions = BuildOptions(), cache_dir: Optional[Path] = None,
          progress: Progress = quiet) -> Firmware:
    progress(ProgressEvent(Stage.BUILD, f"reading {spec.path.name}"))
    graph = read_graph(spec.path, spec.data or None)     # the bytes resolve_model read
    choice = resolve_runtime(board, spec, graph, runtime, options)
    out = out_dir or default_out_dir(board, spec, choice.name, options.kernels, options.profile)
    with exclusive_out_dir(out):
        progress(ProgressEvent(Stage.BUILD, f"runtime {choice.name}: {choice.reason}"))
        progress(ProgressEvent(Stage.BUILD, f"generating {choice.name} application for {board.name}"))
        project = generate_project(board, spec, graph, out, runtime=choice, options=options)
        progress(ProgressEvent(Stage.BUILD, "compiling with SCons + arm-none-eabi-gcc"))
        return build_firmware(project, cache_dir=cache_dir)


def check_firmware_unchanged(firmware: Firmware) -> None:
    """The ELF about to be programmed is the one built (and reported): another run in the same directory
    may have rebuilt it since (#11.2)."""
    try:
        actual = hashlib.sha256(firmware.elf.read_bytes()).hexdigest()
    except OSError as exc:
        raise FirmwareChangedError(f"cannot read {firmware.elf}: {exc.strerror}",
                                   hint="build the firmware again") from None
    if not firmware.elf_sha256 or actual != firmware.elf_sha256:
        raise FirmwareChangedError(
            f"{firmware.elf} changed since it was built (SHA-256 {actual[:12]}, built as "
            f"{firmware.elf_sha256[:12] or 'unknown'})",
            hint="another run may have rebuilt it in the same directory: give each run its own --out DIR "
                 "and build again")


def make_flasher(board: Board, *, probe: Optional[str] = None, port: Optional[str] = None) -> Flasher:
    """The flasher for a board: QEMU for emulated boards, pyOCD for real ones."""
    if isinstance(board.flash, QemuFlash):
        return QemuFlasher(board, QemuOptions())
    from tinyflash.flash.pyocd_flasher import PyocdFlasher

    return PyocdFlasher(board, probe_uid=probe, port=port)


@contextlib.contextmanager
def started_board(board: Board, firmware_elf: Path, *, log_path: Optional[Path] = None,
                  timeouts: Timeouts = Timeouts(), probe: Optional[str] = None,
                  port: Optional[str] = None, cancel: Optional[threading.Event] = None,
                  upload: str = "auto") -> Iterator[DeviceSession]:
    """Program the board, open its UART, reset it, and read the boot banner.

    ``upload``: "auto" writes inputs through the board's memory port when it has one (QEMU's gdbstub),
    "uart" always sends them as the protocol's hex (what the official runner does).

    Order matters: the link is open before the reset, so the banner cannot be lost. Setting ``cancel``
    makes the current wait raise :class:`~tinyflash.errors.Cancelled`; the board is still closed."""
    flasher = make_flasher(board, probe=probe, port=port)
    try:
        flasher.program(firmware_elf)
        with SerialLink(port or flasher.serial_url(), baudrate=board.uart.baud, log_path=log_path,
                        cancel=cancel) as link:
            flasher.reset()
            session = DeviceSession(link, timeouts=timeouts, multiplier=board.timeout_multiplier,
                                    memory=flasher.memory_writer() if upload == "auto" else None)
            session.wait_boot()
            yield session
    finally:
        flasher.close()


@dataclass(frozen=True)
class RunResult:
    board: Board
    firmware: Firmware
    device_name: str
    device_model: str
    device_info: dict[str, object]
    performance: Performance
    verification: Verification
    serial_log: Optional[Path]
    samples: tuple[str, ...] = field(default=())
    profile: Optional[Profile] = None      # firmware built with BuildOptions(profile=True)
    input_upload: str = "uart"             # how the inputs reached the device: "uart" (hex) or "memory port"


def verification_samples(spec: ModelSpec, firmware: Firmware, count: int,
                         extra_sample_dirs: Sequence[Path] = ()) -> list[Sample]:
    io = firmware.project.io
    return generated_inputs(io, count) + file_samples(io, sample_dirs(spec.path, extra_sample_dirs))


def _owned_out_dir(firmware: Firmware, log_path: Optional[Path]) -> contextlib.AbstractContextManager[object]:
    # A run that logs into the firmware's directory owns it. The farm passes its own log path and may
    # run one firmware on several units at once: it writes nothing there, so it takes no lock.
    if log_path is None:
        return exclusive_out_dir(firmware.project.directory)
    return contextlib.nullcontext()


def run(firmware: Firmware, *, verify_count: int = 3,
        sample_dir: Sequence[Path] = (), timeouts: Timeouts = Timeouts(), log_path: Optional[Path] = None,
        probe: Optional[str] = None, port: Optional[str] = None, progress: Progress = quiet,
        cancel: Optional[threading.Event] = None, upload: str = "auto") -> RunResult:
    """Flash (or boot) the firmware on the board it was built for, verify it, measure it.
    ``upload``: see started_board."""
    with _owned_out_dir(firmware, log_path):
        if log_path is None:
            discard_results(firmware.project.directory, "performance")
        return _run(firmware, verify_count=verify_count, sample_dir=sample_dir, timeouts=timeouts,
                    log_path=log_path or firmware.project.directory / "serial.log", probe=probe, port=port,
                    progress=progress, cancel=cancel, upload=upload)


def _run(firmware: Firmware, *, verify_count: int, sample_dir: Sequence[Path], timeouts: Timeouts,
         log_path: Path, probe: Optional[str], port: Optional[str], progress: Progress,
         cancel: Optional[threading.Event], upload: str) -> RunResult:
    board, spec = firmware.project.board, firmware.project.model
    io = firmware.project.io
    samples = verification_samples(spec, firmware, verify_count, sample_dir)
    golden = Golden(spec.model_bytes())
    if log_path.exists():
        log_path.unlink()
    progress(ProgressEvent(Stage.FLASH, f"starting {board.name}" + (" in QEMU" if board.emulated else "")))
    check_firmware_unchanged(firmware)
    with started_board(board, firmware.elf, log_path=log_path, timeouts=timeouts, probe=probe,
                       port=port, cancel=cancel, upload=upload) as session:
        name = session.name()
        _, model = session.profile()
        info = session.tf_info()
        progress(ProgressEvent(Stage.VERIFY, f"verifying against the TFLM golden on {len(samples)} inputs"))
        # the performance input is verified last, so measure() finds it loaded (#14: a vww upload is
        # ~900 commands, a quarter of the bench when it was sent twice)
        verification = verify_on_device(session, io, golden, samples, infer_timeout=timeouts.infer,
                                        keep_loaded=samples[0],
                                        progress=lambda label: progress(ProgressEvent(Stage.VERIFY,
                                                                                      f"verifying {label}")))
        progress(ProgressEvent(Stage.RUN, "measuring performance"))
        session.load(samples[0].upload)
        performance = measure(session, board, timeout_s=timeouts.infer,
                              progress=lambda text: progress(ProgressEvent(Stage.RUN, text)),
                              emulated_window_s=PROFILE_WINDOW_S if firmware.project.options.profile
                              else EMULATED_WINDOW_S)
        layer_profile = None
        if firmware.project.options.profile:
            progress(ProgressEvent(Stage.RUN, "reading the per-layer profile"))
            layer_profile = collect_profile(session, board, firmware.project.layers)
    return RunResult(board, firmware, name, model, info, performance, verification, log_path,
                     tuple(s.label for s in samples), layer_profile, session.input_upload)


@dataclass(frozen=True)
class AccuracyResult:
    board: Board
    firmware: Firmware
    score: "AccuracyScore"
    records: tuple[dict, ...]
    serial_log: Path


def run_accuracy(firmware: Firmware, dataset: Path, *,
                 timeouts: Timeouts = Timeouts(), log_path: Optional[Path] = None, probe: Optional[str] = None,
                 port: Optional[str] = None, progress: Progress = quiet, upload: str = "auto") -> AccuracyResult:
    from tinyflash.run.accuracy import run_accuracy as score_dataset

    board, spec = firmware.project.board, firmware.project.model
    with _owned_out_dir(firmware, log_path):
        if log_path is None:
            discard_results(firmware.project.directory, "accuracy")
        log_path = log_path or firmware.project.directory / "serial-accuracy.log"
        if log_path.exists():
            log_path.unlink()
        progress(ProgressEvent(Stage.FLASH, f"starting {board.name}"))
        check_firmware_unchanged(firmware)
        with started_board(board, firmware.elf, log_path=log_path, timeouts=timeouts, probe=probe,
                           port=port, upload=upload) as session:
            session.name()
            session.profile()
            score, records = score_dataset(session, dataset, spec.benchmark, infer_timeout=timeouts.infer,
                                           progress=lambda text: progress(ProgressEvent(Stage.RUN,
                                                                                        f"accuracy {text}")))
        return AccuracyResult(board, firmware, score, tuple(records), log_path)


def provenance(spec: ModelSpec, firmware: Firmware) -> dict[str, object]:
    """What a result was produced with: enough to reproduce it or to tell two results apart."""
    import subprocess

    from tinyflash import __version__

    sha = None
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / ".git").exists():
        proc = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
        sha = proc.stdout.strip() or None
    project = firmware.project
    return {"tinyflash_version": __version__, "tinyflash_git_sha": sha, "toolchain": firmware.toolchain,
            "board": project.board.name, "runtime": project.runtime, "runtime_reason": project.runtime_reason,
            "model": spec.name,
            "model_sha256": spec.sha256, "reference_model": spec.reference, "elf_sha256": firmware.elf_sha256,
            "flags": {"cpu": list(project.board.gcc_cpu_flags()), "optimization": project.options.optimization,
                      "defines": list(project.options.defines), "kernels": project.options.kernels}}
