"""Memory planning, fixed-point parameters, model resolution and reading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyflash.errors import CorruptModelError, ModelNotFoundError, UnsupportedOperatorError
from tinyflash.generate.runtime.aot.codegen import check_graph, plan_graph
from tinyflash.generate.runtime.aot.planner import plan_memory
from tinyflash.generate.runtime.aot.quant import activation_range, quantize_multiplier, round_half_away
from tinyflash.model import read_graph, resolve_model
from tinyflash.model.graph import Graph, Operator, Quantization, Tensor
from tinyflash.report.atomic import write_json_atomic
from tinyflash.run.performance import nice_count, timed_loop_timeout

from ..conftest import DATA


def test_round_half_away_differs_from_python_round() -> None:
    assert round_half_away(2.5) == 3 and round(2.5) == 2
    assert round_half_away(-2.5) == -3


def test_quantize_multiplier_matches_tflite() -> None:
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    m, s = quantize_multiplier(0.0001234)
    assert abs(m * 2.0 ** (s - 31) - 0.0001234) < 1e-12
    assert quantize_multiplier(0.0) == (0, 0)


def test_activation_ranges() -> None:
    assert activation_range("NONE", 0.1, 0) == (-128, 127)
    assert activation_range("RELU", 0.05, -128) == (-128, 127)
    assert activation_range("RELU6", 0.05, -128) == (-128, -8)


def test_planner_never_overlaps_live_tensors() -> None:
    sizes = {0: 640, 1: 128, 2: 128, 3: 8, 4: 640}
    lifetimes = {0: (-1, 5), 1: (0, 1), 2: (1, 2), 3: (2, 3), 4: (3, 5)}
    plan = plan_memory(sizes, lifetimes)
    items = list(plan.placements.values())
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if a.first <= b.last and b.first <= a.last:
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
    assert plan.arena_bytes <= plan.peak_live_pair_bound() + 16


def test_ad_plan_is_within_the_two_largest_live_tensors(model_dir: Path) -> None:
    plan = plan_graph(read_graph(model_dir / "ad01_int8.tflite")).memory
    assert plan.arena_bytes <= plan.peak_live_pair_bound()
    assert plan.arena_bytes == 640 + 128   # the input or output beside one hidden layer


def test_resolve_benchmark_names(model_dir: Path) -> None:
    for name, bench in (("ad", "ad01"), ("kws01", "kws01"), ("VWW", "vww01"), ("ic", "ic01")):
        spec = resolve_model(name, [model_dir], environ={})
        assert spec.benchmark_id == bench and spec.reference
    by_path = resolve_model(str(model_dir / "ad01_int8.tflite"), environ={})
    assert by_path.name == "ad" and by_path.reference


def test_resolve_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="TINYFLASH_MODEL_DIR"):
        resolve_model("ad", [tmp_path], environ={})
    with pytest.raises(ModelNotFoundError, match="unknown model 'resnet'"):
        resolve_model("resnet", environ={})


def test_corrupt_and_truncated_models(model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CorruptModelError, match="not a TFLite model"):
        read_graph(DATA / "corrupt.tflite")
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes((model_dir / "kws_ref_model.tflite").read_bytes()[:4096])
    with pytest.raises(CorruptModelError, match="damaged"):
        read_graph(truncated)


def test_unsupported_operator_is_named() -> None:
    q = Quantization((0.1,), (0,))
    tensors = (Tensor(0, "in", (1, 8), "int8", q), Tensor(1, "out", (1, 8), "int8", q))
    graph = Graph(tensors, (Operator(0, "RFFT2D", 1, (0,), (1,)),), (0,), (1,))
    with pytest.raises(UnsupportedOperatorError, match="RFFT2D \\(node 0\\)"):
        check_graph(graph)


def test_float_model_is_refused() -> None:
    """float32 edges are accepted (QUANTIZE/DEQUANTIZE at a model's edges, #13), float layers are not."""
    weights = np.zeros((4, 8), np.float32)
    tensors = (Tensor(0, "in", (1, 8), "float32", None),
               Tensor(1, "w", (4, 8), "float32", None, weights.tobytes()),
               Tensor(2, "out", (1, 4), "float32", None))
    graph = Graph(tensors, (Operator(0, "FULLY_CONNECTED", 1, (0, 1, -1), (2,), {"activation": "NONE"}),),
                  (0,), (2,))
    with pytest.raises(UnsupportedOperatorError, match="FULLY_CONNECTED \\(node 0\\).*float32"):
        check_graph(graph)
    bool_out = Graph((tensors[0], Tensor(1, "out", (1, 8), "bool", None)), (), (0,), (1,))
    with pytest.raises(UnsupportedOperatorError, match="output tensor is bool"):
        check_graph(bool_out)


def test_nice_count() -> None:
    assert [nice_count(v) for v in (0.3, 1, 7, 19.9, 250, 999)] == [1, 1, 5, 10, 200, 500]


def test_timed_loop_budget_follows_the_slower_clock() -> None:
    # an emulated ad inference: 47 us of virtual time, 4 ms on the host (QEMU emulating MVE, CI load);
    # a budget from virtual time (0.28 s + base) would time out a healthy 2000-inference loop
    assert timed_loop_timeout(2001, 47e-6, 4e-3, 3.0) == pytest.approx(2001 * 4e-3 * 3 + 3.0)
    # real silicon: the device clock is the slower one once the round trip is small against it
    assert timed_loop_timeout(100, 0.12, 0.1, 60.0) == pytest.approx(100 * 0.12 * 3 + 60.0)


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": object()})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
