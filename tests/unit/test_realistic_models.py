"""Models of the kinds users bring (#13), made only of operators the aot runtime has: ``--runtime auto``
takes aot for each, and the generated C (SIMD and portable kernels) equals TFLM's reference kernels on
100 random inputs. The same models run on emulated boards in tests/integration/test_realistic_models_device.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot.codegen import AotRuntime, graph_problems
from tinyflash.generate.runtime.choice import choose_runtime
from tinyflash.model.macs import graph_macs

from ..support.op_harness import check_against_tflm
from ..support.realistic_models import MODELS
from ..support.synthetic_layers import assert_not_all_clamped


@pytest.mark.parametrize("name", sorted(MODELS))
def test_auto_takes_aot_and_it_equals_tflm(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = MODELS[name]()
    assert graph_problems(graph) == ()
    monkeypatch.delenv("TINYFLASH_TFLM_DIR", raising=False)
    for board in ("mps2-an500", "mps3-an547"):
        assert choose_runtime(graph, BoardCatalog().load(board)).name == "aot"
    outputs = check_against_tflm(graph, tmp_path, inputs=100, name=name)
    if graph.output.dtype == "int32":      # class indices (ARG_MAX): several classes must win
        assert len(set(int(v) for out in outputs for v in out)) >= 4
    else:
        assert_not_all_clamped(outputs)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_emitted_macs_are_the_graphs(name: str, tmp_path: Path) -> None:
    """Instructions per MAC compare runtimes only if aot's count and the shape count (TFLM's) agree."""
    graph = MODELS[name]()
    out = AotRuntime().generate(graph, BoardCatalog().load("mps2-an500"), tmp_path, options={})
    assert out.macs == graph_macs(graph)
