"""Sizing the TFLM tensor arena from a measurement, not a guess.

TFLM's own interpreter on the host (the ``tflite_micro`` package, the same code as the golden) is asked
to allocate the model in arenas of decreasing size: ``Interpreter.from_file(path, arena_size=N)`` fails
when N is too small, so a bisection finds the smallest arena that allocates. The host is 64-bit, so its
structs are larger than the target's, while CMSIS-NN kernels may ask for scratch buffers the reference
kernels do not; a margin covers both (shared docs tflm_build.md, "Arena and golden outputs": host 3,984 /
55,984 / 24,272 / 103,680 B against 2,580 / 54,996 / 22,820 / 100,708 B used on a Cortex-M7 with CMSIS-NN).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from tinyflash.errors import GenerateError

ALIGN = 16
GRANULE = 16                  # bisection stops when the bracket is this narrow
START_BYTES = 64 * 1024
LIMIT_BYTES = 64 * 1024 * 1024
Fits = Callable[[int], bool]  # "does the model allocate in an arena of N bytes?"


@dataclass(frozen=True)
class ArenaSize:
    measured_bytes: int       # smallest arena the host interpreter allocated the model in
    margin_bytes: int
    reserved_bytes: int       # what the firmware reserves: measured + margin, aligned

    @staticmethod
    def from_measurement(measured: int) -> "ArenaSize":
        margin = max(1024, measured // 8)
        reserved = -(-(measured + margin) // ALIGN) * ALIGN
        return ArenaSize(measured, reserved - measured, reserved)


def smallest_arena(fits: Fits, *, start: int = START_BYTES, limit: int = LIMIT_BYTES) -> int:
    """Smallest N (to GRANULE bytes) with ``fits(N)``, assuming fits is monotonic in N."""
    high = start
    while not fits(high):
        if high >= limit:
            raise GenerateError(f"the model does not allocate even in a {limit} byte arena",
                                hint="is the model valid for TFLM? try it with tflite_micro.runtime.Interpreter")
        high *= 2
    low = 0                    # known not to fit (nothing allocates in 0 bytes)
    while high - low > GRANULE:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle
    return high


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """TFLM prints its allocation failures on the C stderr; a bisection makes a dozen of them."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def host_interpreter_fits(model_path: Path) -> Fits:
    try:
        from tflite_micro import runtime
    except ImportError as exc:
        raise GenerateError("the tflite-micro Python package is needed to size the TFLM arena",
                            hint="pip install tflite-micro") from exc

    def fits(arena_bytes: int) -> bool:
        try:
            with _stderr_silenced():
                runtime.Interpreter.from_file(str(model_path), arena_size=arena_bytes)
        except Exception:      # the package raises a bare RuntimeError on a failed AllocateTensors
            return False
        return True

    return fits


CHILD_TIMEOUT_S = 120.0


def measure_arena(model_path: Path, *, fits: Fits | None = None) -> ArenaSize:
    """The arena ``fits`` finds; by default TFLM's host interpreter in a child process: on a model it
    does not expect, the interpreter may abort() the whole process (a fuzzed AVERAGE_POOL_2D's options
    did), which must end as an error naming the model, not end tinyflash."""
    if fits is not None:
        return ArenaSize.from_measurement(smallest_arena(fits))
    return ArenaSize.from_measurement(_measure_in_child(model_path))


def _measure_in_child(model_path: Path) -> int:
    hint = "is the model valid for TFLM? try it with tflite_micro.runtime.Interpreter"
    try:
        proc = subprocess.run([sys.executable, "-m", __name__, str(model_path)], capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise GenerateError(f"TFLM's host interpreter did not finish sizing the arena of {model_path.name} within "
                            f"{CHILD_TIMEOUT_S:.0f} s", hint=hint) from None
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name if -proc.returncode in signal.valid_signals() else "a signal"
        raise GenerateError(f"TFLM's host interpreter crashed ({name}) allocating {model_path.name}: TFLM "
                            f"cannot run this model", hint=hint)
    try:
        answer = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        answer = {"error": f"no answer from the arena measurement (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-300:]}", "hint": hint}
    if "error" in answer:
        raise GenerateError(answer["error"], hint=answer.get("hint") or hint)
    return int(answer["bytes"])


def _child_main(path: str) -> int:
    """``python -m tinyflash.generate.runtime.tflm.arena MODEL``: one JSON line, the bytes or the error."""
    try:
        print(json.dumps({"bytes": smallest_arena(host_interpreter_fits(Path(path)))}))
    except GenerateError as exc:
        print(json.dumps({"error": exc.message, "hint": exc.hint}))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main(sys.argv[1]))
