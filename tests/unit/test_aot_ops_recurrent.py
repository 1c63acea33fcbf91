"""SVDF and UNIDIRECTIONAL_SEQUENCE_LSTM of the AOT runtime against TFLM's reference kernels (#13).

Each one-layer graph (tests/support/op_graphs_recurrent.py) runs on 100 random inputs in both kernel sets
(the SMLAD path through tf_fast.h's C models of the instructions, and portable C), over several
invocations in a row with the state carried (then reset), and over single invocations. Variants TFLM
refuses or that the runtime does not implement must be refused at build time, naming the operator."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tinyflash.errors import UnsupportedOperatorError
from tinyflash.generate.runtime.aot.codegen import check_graph
from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

from ..support.budget import first_by_default
from ..support.op_graphs_recurrent import LSTM_CASES, SVDF_CASES, lstm_graph, svdf_graph
from ..support.op_harness import check_against_tflm, generated_c
from ..support.synthetic_layers import assert_not_all_clamped

SVDF_IDS = [c.name for c in SVDF_CASES]
LSTM_IDS = [c.name for c in LSTM_CASES]


@pytest.mark.parametrize("steps", first_by_default([5, 1], 1))
@pytest.mark.parametrize("case", SVDF_CASES, ids=SVDF_IDS)
def test_svdf_equals_tflm(case, steps: int, tmp_path: Path) -> None:
    outputs = check_against_tflm(svdf_graph(case), tmp_path, steps=steps, name=f"svdf-{case.name}")
    assert_not_all_clamped(outputs)
    assert "tf_rnn_matvec_s8_simd" in generated_c(tmp_path, "auto")
    assert "tf_rnn_matvec_s8_simd" not in generated_c(tmp_path, "portable")


def _with_tensor(graph: Graph, index: int, **changes: object) -> Graph:
    tensors = list(graph.tensors)
    tensors[index] = replace(tensors[index], **changes)    # type: ignore[arg-type]
    return replace(graph, tensors=tuple(tensors))


def _with_op(graph: Graph, **changes: object) -> Graph:
    return replace(graph, operators=(replace(graph.operators[0], **changes),))   # type: ignore[arg-type]


def _svdf_refusals() -> dict[str, Graph]:
    g = svdf_graph(SVDF_CASES[0])
    int8_time = _with_tensor(g, 2, dtype="int8", data=bytes(g.tensors[2].elements))
    return {
        "int8 time weights": int8_time,
        "without bias": _with_op(g, inputs=(0, 1, 2, -1, 4)),
        "TANH": _with_op(g, options={**g.operators[0].options, "activation": "TANH"}),
        "variable": _with_tensor(g, 4, is_variable=False),
        "bias scale": _with_tensor(g, 3, quantization=Quantization((1.0,), (0,))),
        "per-tensor": _with_tensor(g, 1, quantization=Quantization((0.01, 0.02), (0, 0))),
        "scale 0.0": _with_tensor(g, 4, quantization=Quantization((0.0,), (0,))),
    }


@pytest.mark.parametrize("what", list(_svdf_refusals()))
def test_svdf_refused_variants_name_the_operator(what: str) -> None:
    with pytest.raises(UnsupportedOperatorError) as err:
        check_graph(_svdf_refusals()[what])
    assert err.value.operator == "SVDF"
    assert what in str(err.value)


@pytest.mark.parametrize("steps", first_by_default([3, 1], 1))
@pytest.mark.parametrize("case", LSTM_CASES, ids=LSTM_IDS)
def test_lstm_equals_tflm(case, steps: int, tmp_path: Path) -> None:
    outputs = check_against_tflm(lstm_graph(case), tmp_path, steps=steps, name=f"lstm-{case.name}")
    assert_not_all_clamped(outputs)
    assert "tf_rnn_matvec_s8_simd" in generated_c(tmp_path, "auto")
    assert "tf_rnn_matvec_s8_simd" not in generated_c(tmp_path, "portable")


def _with_operand(graph: Graph, position: int, tensor: Tensor | None) -> Graph:
    """The LSTM with operand ``position`` replaced by a new tensor (None: absent)."""
    tensors, inputs = list(graph.tensors), list(graph.operators[0].inputs)
    if tensor is None:
        inputs[position] = -1
    else:
        tensors.append(replace(tensor, index=len(tensors)))
        inputs[position] = len(tensors) - 1
    return replace(graph, tensors=tuple(tensors), operators=(replace(graph.operators[0], inputs=tuple(inputs)),))


def _lstm_refusals() -> dict[str, Graph]:
    g = lstm_graph(LSTM_CASES[0])
    units = g.tensors[g.operators[0].inputs[18]].shape[-1]
    vector = Tensor(0, "diagonal", (units,), "int16", Quantization((0.01,), (0,)), bytes(2 * units))
    cifg = g
    for position in (1, 5, 12):
        cifg = _with_operand(cifg, position, None)
    w = g.tensors[g.operators[0].inputs[2]]
    per_channel = replace(w, quantization=Quantization((0.01,) * w.shape[0], (0,) * w.shape[0]))
    inp = g.tensors[g.operators[0].inputs[0]]
    return {
        "peephole": _with_operand(g, 9, vector),
        "projection": _with_operand(g, 16, replace(w, name="projection")),
        "layer normalisation": _with_operand(g, 20, vector),
        "CIFG": cifg,
        "int16 activations": _with_tensor(g, inp.index, dtype="int16"),
        "per-tensor": _with_operand(g, 2, per_channel),
        "cell activation RELU": _with_op(g, options={**g.operators[0].options, "activation": "RELU"}),
        "variable": _with_tensor(g, g.operators[0].inputs[19], is_variable=False),
        "scale inf": _with_tensor(g, g.operators[0].inputs[19], quantization=Quantization((float("inf"),), (0,))),
    }


@pytest.mark.parametrize("what", list(_lstm_refusals()))
def test_lstm_refused_variants_name_the_operator(what: str) -> None:
    with pytest.raises(UnsupportedOperatorError) as err:
        check_graph(_lstm_refusals()[what])
    assert err.value.operator == "UNIDIRECTIONAL_SEQUENCE_LSTM"
    assert what in str(err.value)
