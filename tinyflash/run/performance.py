"""Performance mode as the MLPerf Tiny rules define it, and its emulated counterpart.

Real boards: 5 windows, each timed loop 10-30 s (the runner's limits), median throughput and latency.
icount-emulated boards: time is instruction count, identical on every run (the cycle counter restarts
at the same instruction), so a window of a few inferences gives the figure: as many as fit in ten million
instructions (1-2-5 series, at least one), to the counter's resolution (a 25 MHz SysTick ticks every 40
instructions: +-40/N per inference). Emulating is slow (Helium on mps3-an547: ~17 M instructions a
host second), so windows of a tenth of a virtual second made a vww bench there take 15 s (#14). No
warm-ups: QEMU models no cache or predictor to warm, and the calibration inference ran the model once
already. Results say the timing is emulated.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Optional

from tinyflash.board.schema import Board
from tinyflash.run.session import DeviceSession

EMULATED_WINDOW_S = 0.01      # virtual seconds (10 M instructions at shift 0); five windows, so results.txt
#                               has the runner's median line
PROFILE_WINDOW_S = 0.1        # --profile: per-layer sums are a few hundred instructions, +-40/N matters there
HARDWARE_WINDOW_S = 12.0      # inside the rules' 10-30 s band, with margin on both sides
HARDWARE_WINDOWS = 5


@dataclass(frozen=True)
class Window:
    iterations: int
    warmups: int
    elapsed_us: int
    cycles: int               # SysTick ticks over the timed loop (core clock)

    @property
    def throughput_ips(self) -> float:
        return self.iterations / (self.elapsed_us / 1e6) if self.elapsed_us else float("inf")

    @property
    def latency_us(self) -> float:
        return self.elapsed_us / self.iterations


@dataclass(frozen=True)
class Performance:
    windows: tuple[Window, ...]
    emulated: bool
    clock_hz: int
    icount_shift: Optional[int]

    @property
    def throughput_ips(self) -> float:
        return statistics.median(w.throughput_ips for w in self.windows)

    @property
    def latency_us(self) -> float:
        return statistics.median(w.latency_us for w in self.windows)

    @property
    def cycles_per_inference(self) -> float:
        return statistics.median(w.cycles / w.iterations for w in self.windows)

    @property
    def timed_inferences(self) -> int:
        """Inferences inside the timed loops, over all windows (warm-ups not counted)."""
        return sum(w.iterations for w in self.windows)

    @property
    def instructions(self) -> Optional[int]:
        """Guest instructions per inference (icount boards)."""
        return cycles_to_instructions(self.cycles_per_inference, self.clock_hz, self.icount_shift)


def cycles_to_instructions(cycles: float, clock_hz: int, icount_shift: Optional[int]) -> Optional[int]:
    """SysTick ticks -> virtual ns -> guest instructions (QEMU -icount shift=N: 2^N ns each)."""
    if icount_shift is None:
        return None
    ns = cycles * 1e9 / clock_hz
    return int(round(ns / (1 << icount_shift)))


def nice_count(value: float) -> int:
    """Largest 1-2-5 series number <= value (at least 1): calibrated counts stay the same across runs
    whose single-inference figures differ in the last digit."""
    if value < 1:
        return 1
    exponent = 10 ** int(math.floor(math.log10(value)))
    for step in (5, 2, 1):
        if step * exponent <= value:
            return step * exponent
    return 1


def timed_loop_timeout(inferences: int, device_s: float, wall_s: float, base_s: float) -> float:
    """How long to wait for a timed loop before calling the device hung.

    device_s is one inference in the device's own time; wall_s is what one inference (with its command
    round trip) took on the host clock. They differ on icount-emulated boards: QEMU's virtual clock runs
    at 1 GHz of instructions while the host emulates far fewer per second (and fewer still for Helium or
    on a loaded CI machine), so a budget from device time alone times out a healthy loop.
    """
    return inferences * max(device_s, wall_s) * 3 + base_s


def measure(session: DeviceSession, board: Board, *, timeout_s: float = 60.0,
            progress: Optional[Callable[[str], None]] = None,
            emulated_window_s: float = EMULATED_WINDOW_S) -> Performance:
    """Run on the input already loaded on the device."""
    icount_shift = board.icount_shift
    started = time.monotonic()
    first = session.infer(1, 0, timeout=timeout_s)
    wall_per_inference = time.monotonic() - started
    cycles, _ = session.tf_cycles()
    seconds_per_inference = max(cycles / board.clock_hz, first.elapsed_us / 1e6, 1e-6)
    if icount_shift is not None:
        target, windows, warmups = emulated_window_s, HARDWARE_WINDOWS, 0
    else:
        target, windows, warmups = HARDWARE_WINDOW_S, HARDWARE_WINDOWS, None
    if icount_shift is not None:
        iterations = nice_count(target / seconds_per_inference)
    else:
        # the rules want every timed loop >= 10 s (and < 30 s for the runner): round up, not down
        iterations = max(1, math.ceil(target / seconds_per_inference))
    if warmups is None:
        warmups = max(1, min(10, iterations // 10))
    loop_timeout = timed_loop_timeout(iterations + warmups, seconds_per_inference, wall_per_inference, timeout_s)
    results = []
    for k in range(windows):
        if progress:
            progress(f"window {k + 1}/{windows}: infer {iterations} {warmups}")
        response = session.infer(iterations, warmups, timeout=loop_timeout)
        cycles, counted = session.tf_cycles()
        results.append(Window(iterations, warmups, response.elapsed_us, cycles))
    return Performance(tuple(results), board.emulated, board.clock_hz, icount_shift)
