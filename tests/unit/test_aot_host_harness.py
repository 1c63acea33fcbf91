"""The AOT runtime's generated C, compiled for the host, against TFLM's reference kernels (the
tflite-micro package) on 100 random inputs per model: zero differing bytes (ad: at most 1 step).

Both kernel sets are checked: 'portable' (plain C) and 'auto' for a DSP core, whose SIMD kernels
(tf_fast.h) compile on the host with C definitions of the DSP instructions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot.codegen import AotRuntime
from tinyflash.generate.runtime.aot.host_harness import build_host_model
from tinyflash.model import read_graph

MODELS = {"ad": "ad01_int8.tflite", "kws": "kws_ref_model.tflite", "vww": "vww_96_int8.tflite",
          "ic": "pretrainedResnet_quant.tflite", "sww": "str_ww_ref_model.tflite"}


@pytest.mark.parametrize("kernels", ["auto", "portable"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_host_model_is_bit_exact(model: str, kernels: str, model_dir: Path, tmp_path: Path) -> None:
    import shutil

    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    from tflite_micro import runtime

    path = model_dir / MODELS[model]
    graph = read_graph(path)
    out = AotRuntime().generate(graph, BoardCatalog().load("mps2-an500"), tmp_path,
                                  options={"kernels": kernels})
    host = build_host_model(list(out.sources), [tmp_path], tmp_path)
    interpreter = runtime.Interpreter.from_file(str(path))
    shape = tuple(interpreter.get_input_details(0)["shape"])
    rng = np.random.default_rng(2026)
    worst = mismatched = 0
    for _ in range(100):
        x = rng.integers(-128, 128, size=shape, dtype=np.int8)
        interpreter.set_input(x, 0)
        interpreter.invoke()
        golden = np.asarray(interpreter.get_output(0)).astype(np.int32).reshape(-1)
        diff = np.abs(golden - host.invoke(x).astype(np.int32))
        worst = max(worst, int(diff.max()))
        mismatched += int((diff > 0).sum())
    if model == "ad":
        assert worst <= 1
    else:
        assert mismatched == 0, f"{mismatched} bytes differ (max {worst})"
    # the plan is optimal: no larger than the most memory alive during any one operator (kernel scratch
    # placed in the arena counts at its layer), which for chain-shaped graphs is the two largest
    # simultaneously live tensors plus the largest scratch (ic's residual ADDs keep a third alive)
    from tinyflash.generate.runtime.aot.codegen import plan_graph, settled_plan, simd_paths

    board = BoardCatalog().load("mps2-an500")
    final = settled_plan(graph, board, kernels).memory
    assert out.activation_bytes == max(final.arena_bytes, 16) and out.activation_bytes <= final.step_live_bound()
    if model != "ic":
        in_arena = max((p.size for key, p in final.placements.items() if key < 0), default=0)
        tensors_only = plan_graph(graph, **simd_paths(board, kernels)).memory
        assert out.activation_bytes + out.scratch_bytes <= tensors_only.peak_live_pair_bound() + \
            max(in_arena, out.scratch_bytes)
