"""#11.7: a malformed model fails in the reader with a CorruptModelError naming the tensor or operator,
not later with an internal error (or, for TFLM, after the firmware was replaced); and a valid model
whose tensors have no names is read, not called damaged.

The malformed models are written here: a one-layer FULLY_CONNECTED graph through tests/tflite_writer.py
with one thing wrong, or a reference model with one flatbuffer field patched (tests/support/fuzz/flatbuffer.py).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from tests.support.fuzz.flatbuffer import model_sites, name_regions, patched
from tests.support.tflite_writer import write_tflite
from tinyflash.errors import CorruptModelError, ModelError, TinyflashError, UnsupportedOperatorError
from tinyflash.model import read_graph
from tinyflash.model.graph import Graph, Operator, Quantization, Tensor


def fc_graph() -> Graph:
    """input (1, 8) -> FULLY_CONNECTED(weights (4, 8), bias (4,)) -> output (1, 4)."""
    weights = np.arange(32, dtype=np.int8).reshape(4, 8) - 16
    return Graph(
        tensors=(Tensor(0, "input", (1, 8), "int8", Quantization((0.5,), (-1,))),
                 Tensor(1, "weights", (4, 8), "int8", Quantization((0.02,), (0,)), weights.tobytes()),
                 Tensor(2, "bias", (4,), "int32", Quantization((0.01,), (0,)), np.arange(4, dtype=np.int32).tobytes()),
                 Tensor(3, "output", (1, 4), "int8", Quantization((0.25,), (3,)))),
        operators=(Operator(0, "FULLY_CONNECTED", 1, (0, 1, 2), (3,), {"activation": "NONE"}),),
        inputs=(0,), outputs=(3,))


def with_tensor(graph: Graph, index: int, **changes: object) -> Graph:
    tensors = list(graph.tensors)
    tensors[index] = dataclasses.replace(tensors[index], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(graph, tensors=tuple(tensors))


def read_written(graph: Graph, tmp_path: Path) -> Graph:
    return read_graph(write_tflite(graph, tmp_path / "model.tflite"))


def test_the_valid_one_layer_graph_reads(tmp_path: Path) -> None:
    graph = read_written(fc_graph(), tmp_path)
    assert [t.name for t in graph.tensors] == ["input", "weights", "bias", "output"]
    assert graph.tensors[1].array().shape == (4, 8)


def test_weights_shorter_than_their_shape(tmp_path: Path) -> None:
    graph = with_tensor(fc_graph(), 1, data=bytes(16))
    with pytest.raises(CorruptModelError, match=r"tensor 1 \('weights'\): its constant data is 16 bytes, "
                                                r"but shape \(4, 8\) int8 needs 32"):
        read_written(graph, tmp_path)


@pytest.mark.parametrize("scale", [0.0, math.nan, -0.25, math.inf])
def test_output_scale_zero_nan_or_negative(tmp_path: Path, scale: float) -> None:
    graph = with_tensor(fc_graph(), 3, quantization=Quantization((scale,), (3,)))
    with pytest.raises(CorruptModelError, match=r"tensor 3 \('output'\): quantisation scale .* is not a positive finite"):
        read_written(graph, tmp_path)


def test_operator_input_index_out_of_range(tmp_path: Path) -> None:
    graph = fc_graph()
    graph = dataclasses.replace(graph, operators=(dataclasses.replace(graph.operators[0], inputs=(0, 9, 2)),))
    with pytest.raises(CorruptModelError, match=r"operator 0 \(FULLY_CONNECTED\): input tensor index 9 is out of "
                                                r"range \(the model has 4 tensors\)"):
        read_written(graph, tmp_path)


@pytest.mark.parametrize("role", ["inputs", "outputs"])
def test_no_inputs_or_no_outputs(tmp_path: Path, role: str) -> None:
    graph = dataclasses.replace(fc_graph(), **{role: ()})  # type: ignore[arg-type]
    with pytest.raises(CorruptModelError, match=f"model: no {role}"):
        read_written(graph, tmp_path)


def test_negative_shape(tmp_path: Path) -> None:
    graph = with_tensor(fc_graph(), 0, shape=(1, -8))
    with pytest.raises(CorruptModelError, match=r"tensor 0 \('input'\): negative dimension in shape \(1, -8\)"):
        read_written(graph, tmp_path)


def test_zero_operators(tmp_path: Path) -> None:
    graph = dataclasses.replace(fc_graph(), operators=())
    with pytest.raises(CorruptModelError, match="no operators"):
        read_written(graph, tmp_path)


def test_errors_carry_a_hint(tmp_path: Path) -> None:
    with pytest.raises(CorruptModelError) as caught:
        read_written(with_tensor(fc_graph(), 1, data=bytes(16)), tmp_path)
    assert caught.value.hint and "re-export" in caught.value.hint


# --- patched reference models ----------------------------------------------------------------------
# kws: tensor 0 is the input (1, 49, 10, 1), 17 conv weights (64, 10, 4, 1) per-channel, 22 the first
# activation; operator 0 is CONV_2D (0, 17, 3) -> 22, operator 11 FULLY_CONNECTED (32, 16, 1) -> 33.
PATCHES = [
    ("tensors[17].buffer", 9999, r"tensor 17 \('functional_1/conv2d/Conv2D'\): buffer index 9999 is out of range"),
    ("tensors[0].type", 42, r"tensor 0 \('input_1'\): unknown tensor type 42"),
    ("tensors[0].type", 5, r"tensor 0 \('input_1'\) has type STRING"),
    ("tensors[22].shape[1]", 2**30, r"tensor 22 .* more than a 32-bit address space"),
    ("tensors[17].scale length", 63, r"tensor 17 .*: 63 quantisation scales but 64 zero points"),
    ("tensors[22].zero_point[0]", 300, r"tensor 22 .*: zero point 300 is outside the int8 range"),
    ("tensors[22].zero_point length", 2, r"tensor 22 .*: 1 quantisation scales but 2 zero points"),
    ("operators[1].opcode_index", 77, r"operator 1: opcode index 77 is out of range"),
    ("operators[0].outputs[0]", 17, r"operator 0 \(CONV_2D\): writes tensor 17 .* which holds constant data"),
    ("operators[0].outputs[0]", 0, r"operator 0 \(CONV_2D\): writes tensor 0 \('input_1'\), the model's input"),
    ("operators[0].outputs[0]", 35, r"operator 0 \(CONV_2D\): output tensor index 35 is out of range"),
    ("operators[0].outputs length", 0, r"operator 0 \(CONV_2D\): it has no outputs"),
    ("operators[1].outputs[0]", 22, r"operator 1 \(DEPTHWISE_CONV_2D\): writes tensor 22 .* which operator 0 also"),
    ("operators[0].inputs[0]", 23, r"operator 0 \(CONV_2D\): reads tensor 23 .* which the later operator 1 writes"),
    ("operators[1].inputs[0]", 23, r"operator 1 \(DEPTHWISE_CONV_2D\): reads tensor 23 .* which it also writes"),
    ("subgraph inputs[0]", 40, r"model input: tensor index 40 is out of range"),
    ("subgraph outputs[0]", 16, r"model output tensor 16 .*: it holds constant data"),
    ("subgraphs length", 2, r"2 subgraphs; tinyflash supports one"),
    ("tensors[34].name length", 2**31, r"tensor 34: its name runs past the end of the file"),
]


@pytest.mark.parametrize("label,value,message", PATCHES, ids=[f"{p[0]}={p[1]}" for p in PATCHES])
def test_patched_reference_model(model_dir: Path, tmp_path: Path, label: str, value: int, message: str) -> None:
    model = tmp_path / "patched.tflite"
    model.write_bytes(patched((model_dir / "kws_ref_model.tflite").read_bytes(), (label, value)))
    with pytest.raises(ModelError, match=message) as caught:
        read_graph(model)
    assert str(model) in str(caught.value)


@pytest.mark.parametrize("text,message", [(b"\n#x\n", "its name holds control characters"),
                                          (b"\xff\xfe", "its name is not UTF-8 text")])
def test_garbage_in_a_tensor_name(model_dir: Path, tmp_path: Path, text: bytes, message: str) -> None:
    """Names reach messages and generated C comments; bytes no converter writes mean damage."""
    data = bytearray((model_dir / "kws_ref_model.tflite").read_bytes())
    region = next(r for r in name_regions(bytes(data)) if r.label == "tensors[34].name")   # 'Identity'
    data[region.offset:region.offset + len(text)] = text
    model = tmp_path / "named.tflite"
    model.write_bytes(bytes(data))
    with pytest.raises(CorruptModelError, match=f"tensor 34: {message}"):
        read_graph(model)


def test_per_channel_scales_must_match_the_channel_axis(model_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "patched.tflite"
    model.write_bytes(patched((model_dir / "kws_ref_model.tflite").read_bytes(),
                              ("tensors[17].scale length", 63), ("tensors[17].zero_point length", 63)))
    with pytest.raises(CorruptModelError, match=r"tensor 17 .*: 63 per-channel scales on axis 0 do not match "
                                                r"shape \(64, 10, 4, 1\)"):
        read_graph(model)


def test_external_buffer_past_the_end_of_the_file(tmp_path: Path) -> None:
    """Models over 2 GB keep buffers after the flatbuffer (Buffer.offset/size); a bad offset must not
    read past the file (the old reader returned a short slice)."""
    import flatbuffers
    import tflite

    buf = bytearray(write_tflite(fc_graph(), tmp_path / "model.tflite").read_bytes())
    # a Buffer table claiming 32 bytes at 1000 bytes past the end, appended; buffers[0] aimed at it
    builder = flatbuffers.Builder(64)
    tflite.BufferStart(builder)
    tflite.BufferAddOffset(builder, len(buf) + 1000)
    tflite.BufferAddSize(builder, 32)
    builder.Finish(tflite.BufferEnd(builder))
    table = bytes(builder.Output())
    base = (len(buf) + 7) // 8 * 8
    slot = tflite.Model.GetRootAsModel(buf, 0)._tab.Vector(tflite.Model.GetRootAsModel(buf, 0)._tab.Offset(12))
    buf += bytes(base - len(buf)) + table
    buf[slot:slot + 4] = (base + int.from_bytes(table[:4], "little") - slot).to_bytes(4, "little")
    path = tmp_path / "external.tflite"
    path.write_bytes(bytes(buf))
    with pytest.raises(CorruptModelError, match=r"tensor 0 \('input'\): buffer 0 lies at bytes .* past the end"):
        read_graph(path)


# --- valid models the reader used to reject or crash on --------------------------------------------
def unnamed(model: bytes) -> bytes:
    """The model with every tensor name left out (the name field's vtable entry set to 0), as TFLM's
    keyword_scrambled_8bit.tflite is written."""
    sites, _ = model_sites(model)
    return patched(model, *((s.label, 0) for s in sites if s.label.endswith(".name (vtable entry)")))


def test_tensors_without_names_are_read(model_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "unnamed.tflite"
    model.write_bytes(unnamed((model_dir / "kws_ref_model.tflite").read_bytes()))
    graph = read_graph(model)
    assert graph.tensors[17].name == "tensor_17"
    assert len(graph.operators) == 13


def test_unnamed_model_with_an_operator_aot_lacks_fails_as_unsupported(model_dir: Path, tmp_path: Path) -> None:
    """keyword_scrambled_8bit.tflite in short: no tensor names, and SVDF operators. It must get as far
    as the aot runtime's operator check and be refused there, by name."""
    from tinyflash.generate.runtime.aot.codegen import check_graph

    svdf = 27   # BuiltinOperator.SVDF
    data = unnamed((model_dir / "kws_ref_model.tflite").read_bytes())
    model = tmp_path / "svdf.tflite"
    model.write_bytes(patched(data, ("operator_codes[0].deprecated_builtin_code", svdf)))
    graph = read_graph(model)
    assert "SVDF" in graph.used_opcodes()
    with pytest.raises(UnsupportedOperatorError, match=r"operator SVDF \(node 0\) is not supported"):
        check_graph(graph)


@pytest.mark.parametrize("name", ["ad01_int8.tflite", "kws_ref_model.tflite", "vww_96_int8.tflite",
                                  "pretrainedResnet_quant.tflite", "str_ww_ref_model.tflite",
                                  "pretrainedResnet_large_int8.tflite"])
def test_reference_models_pass_validation(model_dir: Path, name: str) -> None:
    if not (model_dir / name).is_file():
        pytest.skip(f"{name} not in {model_dir}")
    graph = read_graph(model_dir / name)
    assert graph.operators and all(t.data is None or len(t.data) == t.size_bytes for t in graph.tensors)


def test_bias_with_its_filters_channel_axis_is_valid(tmp_path: Path) -> None:
    """Converters copy the filter's quantized_dimension onto the 1-D bias (TFLM's person_detect.tflite:
    bias (8,) with axis 3); that is per-channel, not damage."""
    graph = with_tensor(fc_graph(), 2, quantization=Quantization((0.5, 0.25, 0.125, 2.0), (0,) * 4, 3))
    assert read_written(graph, tmp_path).tensors[2].quantization == Quantization((0.5, 0.25, 0.125, 2.0),
                                                                                 (0,) * 4, 3)


def test_every_truncation_of_a_small_model_fails_clearly(tmp_path: Path) -> None:
    """Cut at every length: a TinyflashError each time, never another exception."""
    data = write_tflite(fc_graph(), tmp_path / "whole.tflite").read_bytes()
    cut = tmp_path / "cut.tflite"
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        try:
            read_graph(cut)
        except TinyflashError:
            continue


def test_mac_count_of_an_operator_without_usable_weights_is_zero() -> None:
    """The TFLM runtime counts MACs from the graph alone: an absent weights input (-1) used to index
    the last tensor, and a CONV_2D weight of rank 2 raised IndexError."""
    from tinyflash.model.macs import operator_macs

    graph = fc_graph()
    assert operator_macs(graph, graph.operators[0]) == 4 * 8
    absent = dataclasses.replace(graph.operators[0], inputs=(0, -1, 2))
    assert operator_macs(graph, absent) == 0
    conv = dataclasses.replace(graph.operators[0], opcode="CONV_2D")
    assert operator_macs(graph, conv) == 0
