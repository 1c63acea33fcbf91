"""Host golden outputs: TFLM's own reference kernels on the host (the ``tflite-micro`` package), fed
exactly what the device feeds its model after th_load_tensor's conversion (spec §5.3), which each
benchmark computes (:mod:`tinyflash.model.benchmarks`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyflash.errors import ToolNotFoundError
from tinyflash.model.benchmarks import ModelIO


def device_input(io: ModelIO, upload: bytes) -> np.ndarray:
    """The int8 model input the firmware computes from the uploaded bytes."""
    return io.benchmark.device_input(io, upload)


def expected_results(io: ModelIO, upload: bytes, output: np.ndarray) -> list[float]:
    """What th_results prints for this output (before %.3f formatting)."""
    return io.benchmark.expected_results(io, upload, output)


GOLDEN_ARENA_EXTRA = 16 << 20


@dataclass
class Golden:
    model: Path | bytes            # the file, or the bytes already read from it (#15.3)

    def __post_init__(self) -> None:
        try:
            from tflite_micro import runtime
        except ImportError as exc:  # pragma: no cover - a dependency of tinyflash
            raise ToolNotFoundError(f"tflite-micro is not importable ({exc})",
                                    hint="pip install tflite-micro") from None
        data = self.model if isinstance(self.model, bytes) else Path(self.model).read_bytes()
        # the package sizes the arena at 10x the file: too small for a small model with large activations
        # or int64 scratch (a 16x8 TRANSPOSE_CONV); host memory is cheap
        self._interpreter = runtime.Interpreter.from_bytes(data, arena_size=len(data) * 10 + GOLDEN_ARENA_EXTRA)
        details = self._interpreter.get_input_details(0)
        self._shape = tuple(details["shape"])
        self.input_dtype = np.dtype(details["dtype"])
        self.output_dtype = np.dtype(self._interpreter.get_output_details(0)["dtype"])

    def run(self, model_input: np.ndarray, *, keep_state: bool = False) -> np.ndarray:
        """The model's output (flat, of the output tensor's type) for ``model_input``. Variable tensors
        (an SVDF's or LSTM's state) start from zero, as the device resets them when an input is loaded,
        unless ``keep_state`` continues a sequence."""
        if not keep_state:
            self._interpreter.reset()
        self._interpreter.set_input(model_input.reshape(self._shape).astype(self.input_dtype), 0)
        self._interpreter.invoke()
        return np.asarray(self._interpreter.get_output(0)).astype(self.output_dtype).reshape(-1)
