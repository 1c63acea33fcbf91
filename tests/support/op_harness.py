"""One graph, two implementations: the AOT runtime's generated C compiled for the host against TFLM's
reference kernels (the tflite-micro package's interpreter on the graph written as a .tflite file),
on many random inputs of the model input's type. Every operator's tests (#13) go through here.

The SIMD kernels compile for the host through C models of their intrinsics (tf_fast.h); the Helium
kernels and the real instructions run on emulated cores (tests/integration).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot.codegen import AotRuntime
from tinyflash.generate.runtime.aot.host_harness import HostModel, build_host_model
from tinyflash.model.graph import Graph, Tensor
from tinyflash.run.golden import Golden

from .tflite_writer import write_tflite

InputMaker = Callable[[np.random.Generator], np.ndarray]


def random_input(graph: Graph, rng: np.random.Generator) -> np.ndarray:
    """An input over the whole range of the input's type; a float32 input over the range the QUANTIZE
    that consumes it can represent (a little beyond, to reach its clamping), else [-4, 4]."""
    t = graph.input
    if t.dtype in ("int8", "int16"):
        info = np.iinfo(t.dtype)
        return rng.integers(info.min, info.max + 1, size=t.shape, dtype=t.dtype)
    if t.dtype == "float32":
        lo, hi = float_range(graph, t)
        return rng.uniform(lo, hi, size=t.shape).astype(np.float32)
    raise ValueError(f"no random inputs for a {t.dtype} model input")


def float_range(graph: Graph, t: Tensor) -> tuple[float, float]:
    for op in graph.operators:
        if op.inputs and op.inputs[0] == t.index and op.opcode == "QUANTIZE":
            q = graph.tensors[op.outputs[0]].quantization
            dtype = graph.tensors[op.outputs[0]].dtype
            if q is not None and dtype in ("int8", "int16"):
                info = np.iinfo(dtype)
                lo, hi = (info.min - q.zero_point) * q.scale, (info.max - q.zero_point) * q.scale
                margin = (hi - lo) * 0.05
                return lo - margin, hi + margin
    return -4.0, 4.0


def host_models(graph: Graph, tmp_path: Path, *, board: str = "mps2-an500",
                kernel_sets: Sequence[str] = ("auto", "portable")) -> dict[str, HostModel]:
    """The graph's generated C per kernel set, compiled for the host; skips without a host gcc."""
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    target = BoardCatalog().load(board)
    models = {}
    for kernels in kernel_sets:
        dest = tmp_path / f"aot-{kernels}"
        out = AotRuntime().generate(graph, target, dest, options={"kernels": kernels})
        models[kernels] = build_host_model(list(out.sources), [dest], dest)
    return models


def check_against_tflm(graph: Graph, tmp_path: Path, *, inputs: int = 100, seed: int = 0,
                       board: str = "mps2-an500", kernel_sets: Sequence[str] = ("auto", "portable"),
                       make_input: Optional[InputMaker] = None, steps: int = 1,
                       name: str = "graph") -> list[np.ndarray]:
    """Assert the AOT C equals TFLM on ``inputs`` random inputs (``steps`` > 1: that many invocations
    in a row without resetting the state, for recurrent operators). Returns TFLM's outputs, for checks
    that they are not all clamped (tests/support/synthetic_layers.assert_not_all_clamped)."""
    golden = Golden(write_tflite(graph, tmp_path / f"{name}.tflite"))
    models = host_models(graph, tmp_path, board=board, kernel_sets=kernel_sets)
    rng = np.random.default_rng(seed)
    expected_all = []
    for k in range(inputs):
        for step in range(steps):
            x = make_input(rng) if make_input else random_input(graph, rng)
            expected = golden.run(x, keep_state=step > 0)
            for kernels, model in models.items():
                got = model.invoke(x, output_dtype=golden.output_dtype, keep_state=step > 0)
                if not np.array_equal(got.view(np.uint8), expected.view(np.uint8)):
                    bad = np.flatnonzero(got.view(np.uint8) != expected.view(np.uint8))
                    first = int(bad[0]) // got.itemsize
                    raise AssertionError(
                        f"{name}, kernels {kernels}, input {k}, step {step}: output differs from TFLM "
                        f"at {len(bad)} bytes; element {first}: got {got[first]!r}, TFLM {expected[first]!r}")
            expected_all.append(expected)
    return expected_all


def equal_on_random_inputs(model: HostModel, golden: Golden, graph: Graph, rng: np.random.Generator,
                           inputs: int) -> list[np.ndarray]:
    """Assert one compiled int8 model equals TFLM on ``inputs`` random inputs; TFLM's outputs."""
    outputs = []
    for k in range(inputs):
        x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
        expected = golden.run(x)
        got = model.invoke(x)
        assert np.array_equal(got, expected), \
            f"input {k}: {int((got != expected).sum())} of {got.size} bytes differ from TFLM"
        outputs.append(expected)
    return outputs


def generated_c(tmp_path: Path, kernels: str = "auto") -> str:
    """model.c of the last host_models/check_against_tflm call in ``tmp_path`` (to assert the path taken)."""
    return (tmp_path / f"aot-{kernels}" / "model.c").read_text()
