"""A one-layer (or few-layer) graph built for an emulated board and run there on random inputs, each output
compared byte for byte with TFLM's reference kernels: what the kernel device tests share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyflash.board import BoardCatalog
from tinyflash.model import resolve_model
from tinyflash.model.graph import Graph
from tinyflash.pipeline import build, started_board
from tinyflash.run.golden import Golden

from .tflite_writer import write_tflite


@dataclass(frozen=True)
class DeviceRun:
    model_c: str                  # the generated model.c: which kernels the layer took
    outputs: list[np.ndarray]     # the golden outputs, one per input (all equal to the device's)


def run_on_device(graph: Graph, name: str, board_name: str, rng: np.random.Generator, inputs: int,
                  tmp_path: Path, cache_dir: Path) -> DeviceRun:
    """What `tinyflash build --model that.tflite` does, then ``inputs`` random int8 inputs through the
    protocol; asserts that every device output equals the golden."""
    board = BoardCatalog().load(board_name)
    model = write_tflite(graph, tmp_path / f"{name}.tflite")
    golden = Golden(model)
    firmware = build(board, resolve_model(str(model)), out_dir=tmp_path / "fw", cache_dir=cache_dir)
    model_c = (firmware.project.directory / "src" / "runtime" / "model.c").read_text()
    outputs = []
    with started_board(board, firmware.elf, log_path=tmp_path / "serial.log") as session:
        for k in range(inputs):
            x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
            session.load(x.tobytes())
            session.infer(1, 0)
            device = np.frombuffer(session.tf_output(graph.output.elements), dtype=np.int8)
            expected = golden.run(x)
            assert np.array_equal(device, expected), \
                f"{board_name}, input {k}: {int((device != expected).sum())} of {device.size} bytes differ"
            outputs.append(expected)
    return DeviceRun(model_c, outputs)
