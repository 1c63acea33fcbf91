"""FULLY_CONNECTED int8 on the DSP path against TFLM's reference kernels: the kernel over weights widened
to int16 at generation time (tf_fast_fc.h's tf_fast_fc_w16_s8, taken where the board's flash has room)
on the shapes ad never has (depths not a multiple of 4 or 8, units not a multiple of 4, batches > 1,
all-zero rows, input and output offsets, each fused activation), and the int8-weight kernel
(tf_fast_fc_s8) a board with little flash gets instead. The real instructions run on emulated cores in
tests/integration/test_kernel_shapes_device.py (its FC cases take the widened kernel)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.board.schema import Board
from tinyflash.generate.runtime.aot.codegen import AotRuntime
from tinyflash.generate.runtime.aot.host_harness import build_host_model
from tinyflash.generate.runtime.aot.ops.base import EmitContext
from tinyflash.generate.runtime.aot.ops.fully_connected import (FLASH_RESERVE, widened_extra_bytes, widened_fits,
                                                                widened_weights)
from tinyflash.model.graph import Graph
from tinyflash.run.golden import Golden

from ..support.fc_cases import CASES, fc_graph
from ..support.synthetic_layers import assert_not_all_clamped
from ..support.tflite_writer import write_tflite

INPUTS = 12

def with_flash(board: Board, size: int) -> Board:
    flash = board.memory.flash.model_copy(update={"size": size})
    return board.model_copy(update={"memory": board.memory.model_copy(update={"flash": flash})})


def check(graph: Graph, board: Board, tmp_path: Path, name: str) -> str:
    """The generated C of the 'auto' kernels equals TFLM on INPUTS random inputs; returns its model.c."""
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    golden = Golden(write_tflite(graph, tmp_path / f"{name}.tflite"))
    dest = tmp_path / "auto"
    out = AotRuntime().generate(graph, board, dest, options={"kernels": "auto"})
    model = build_host_model(list(out.sources), [dest], dest)
    rng = np.random.default_rng(1)
    outputs = []
    for k in range(INPUTS):
        x = rng.integers(-128, 128, size=graph.input.shape, dtype=np.int8)
        expected = golden.run(x)
        got = model.invoke(x)
        assert np.array_equal(got, expected), f"{name}, input {k}: {int((got != expected).sum())} bytes differ"
        outputs.append(expected)
    if graph.output.elements >= 8:
        assert_not_all_clamped(outputs)
    return (dest / "model.c").read_text()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_widened_kernel_equals_tflm(case: tuple, tmp_path: Path) -> None:
    model_c = check(fc_graph(*case), BoardCatalog().load("mps2-an500"), tmp_path, case[0])
    assert "tf_fast_fc_w16_s8(" in model_c, "the case did not take the widened kernel; it tests nothing"
    shared = not case[5]
    assert (".rq_shared = 1" in model_c) == shared


@pytest.mark.parametrize("case", [c for c in CASES if c[2] % 4 == 0], ids=[c[0] for c in CASES if c[2] % 4 == 0])
def test_small_flash_keeps_int8_weights(case: tuple, tmp_path: Path) -> None:
    """A board whose flash has no room for int16 weights takes the int8-weight SMLAD kernel."""
    board = with_flash(BoardCatalog().load("mps2-an500"), 64 * 1024)
    model_c = check(fc_graph(*case), board, tmp_path, case[0])
    assert "tf_fast_fc_s8(" in model_c and "tf_fast_fc_w16_s8(" not in model_c


def test_widened_weights_layout() -> None:
    """Words as the kernel reads them: per block of 4 rows and 4 depths, the pairs (k, k+2) of rows 0..3,
    then (k+1, k+3); zero padding beyond the rows and the depth."""
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, size=(6, 7), dtype=np.int8)
    words = widened_weights(w)
    assert words.dtype == np.uint32 and words.size == 8 * 8 // 2   # rows 6 -> 8, depth 7 -> 8, two per word
    lo = (words & 0xFFFF).astype(np.uint16).view(np.int16).astype(np.int64)
    hi = (words >> 16).astype(np.uint16).view(np.int16).astype(np.int64)
    padded = np.zeros((8, 8), dtype=np.int64)
    padded[:6, :7] = w
    i = 0
    for block in range(2):
        for k in range(0, 8, 4):
            for half in range(2):
                for r in range(4):
                    assert (lo[i], hi[i]) == (padded[4 * block + r, k + half], padded[4 * block + r, k + half + 2])
                    i += 1


def test_widening_is_decided_from_the_flash_size() -> None:
    """Greedy in graph order: a layer is widened while the model's weights, the growth of every widened
    layer so far and FLASH_RESERVE fit the board's flash; unknown flash (0) widens nothing."""
    graph = fc_graph("policy", 1, 64, 32, "NONE", ())
    ctx = EmitContext(graph, graph.operators[0], pointer=lambda i: "")
    assert not widened_fits(ctx)
    need = graph.weight_bytes() + widened_extra_bytes(32, 64) + FLASH_RESERVE
    assert widened_extra_bytes(32, 64) == 2 * 32 * 64 - 32 * 64
    ctx.flash_bytes = need
    assert widened_fits(ctx)
    ctx.flash_bytes = need - 1
    assert not widened_fits(ctx)
