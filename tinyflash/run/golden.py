"""Host golden outputs: TFLM's own reference kernels on the host (the ``tflite-micro`` package), fed
exactly what the device feeds its model after th_load_tensor's conversion (spec §5.3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyflash.errors import ToolNotFoundError
from tinyflash.generate.project import ModelIO


def device_input(io: ModelIO, upload: bytes) -> np.ndarray:
    """The int8 model input the firmware computes from the uploaded bytes."""
    if io.kind == "ad01":
        x = np.frombuffer(upload, dtype="<f4").astype(np.float32)
        q = x / np.float32(io.input_scale)                       # float32 division, as the device
        q = np.nan_to_num(q, nan=0.0)
        q = np.clip(q, np.float32(-512), np.float32(512)).astype(np.float64)
        rounded = np.where(q >= 0, np.floor(q + 0.5), np.ceil(q - 0.5))   # roundf: halves away from zero
        return np.clip(rounded + io.input_zero_point, -128, 127).astype(np.int8)
    raw = np.frombuffer(upload, dtype=np.uint8)
    if io.kind in ("ic01", "vww01"):
        return (raw ^ 0x80).view(np.int8)
    return raw.view(np.int8).copy()


def expected_results(io: ModelIO, upload: bytes, output: np.ndarray) -> list[float]:
    """What th_results prints for this output (before %.3f formatting)."""
    out = output.astype(np.int32)
    if io.kind == "ad01":
        x = np.frombuffer(upload, dtype="<f4")
        total = np.float32(0.0)
        scale = np.float32(io.output_scale)
        for q, xv in zip(out, x):           # sequential float32 sum, as the device computes it
            d = np.float32(np.float32(q - io.output_zero_point) * scale) - xv
            total = np.float32(total + d * d)
        return [float(total / np.float32(io.output_elements))]
    values = (out[:64] - io.output_zero_point).astype(np.float32) * np.float32(io.output_scale)
    return [float(v) for v in values]


@dataclass
class Golden:
    model_path: Path

    def __post_init__(self) -> None:
        try:
            from tflite_micro import runtime
        except ImportError as exc:  # pragma: no cover - a dependency of tinyflash
            raise ToolNotFoundError(f"tflite-micro is not importable ({exc})",
                                    hint="pip install tflite-micro") from None
        self._interpreter = runtime.Interpreter.from_file(str(self.model_path))
        details = self._interpreter.get_input_details(0)
        self._shape = tuple(details["shape"])

    def run(self, model_input: np.ndarray) -> np.ndarray:
        self._interpreter.set_input(model_input.reshape(self._shape).astype(np.int8), 0)
        self._interpreter.invoke()
        return np.asarray(self._interpreter.get_output(0)).astype(np.int8).reshape(-1)
