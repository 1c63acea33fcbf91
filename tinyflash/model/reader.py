"""Reading a .tflite flatbuffer (through the ``tflite`` package) into :class:`Graph`.

A file that is not a TFLite model, or whose flatbuffer is damaged, fails here with a
:class:`CorruptModelError` naming the file and the tensor or operator (index and name), before any
code is generated: every index, size, scale and name the reader takes from the file is checked, so
code generators only ever see a graph whose indices resolve, whose constants fill their shapes and
whose operators run in order (#11.7).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Optional

from tinyflash.errors import CorruptModelError, ModelError
from tinyflash.model.graph import DTYPE_SIZES, Graph, Operator, Quantization, Tensor

_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16",
          8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64", 15: "uint32", 16: "uint16"}
# in the schema, but with no fixed element size (strings, handles) or packed (int4): none of the
# runtimes tinyflash generates for handles them
_UNSUPPORTED_TYPES = {5: "STRING", 13: "RESOURCE", 14: "VARIANT", 17: "INT4", 18: "BFLOAT16"}
# zero points outside these ranges cannot be represented by the tensor's values
_ZERO_POINT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
                     "int32": (-2**31, 2**31 - 1)}
# Scales outside [2^-126, 2^63] are no quantisation a converter makes (typical: 1e-5..1). The upper
# bound keeps the float32 product of two scales (TFLite's multiplier arithmetic) finite.
MIN_SCALE, MAX_SCALE = 2.0 ** -126, 2.0 ** 63
# a tensor no 32-bit microcontroller could hold; also keeps shape arithmetic in C int range
MAX_TENSOR_BYTES = 2 ** 32

_NAME_SLOT = 10   # Tensor.name, field 3 of schema.fbs: vtable offset 4 + 2 * 3
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
_PADDING = {0: "SAME", 1: "VALID"}
_HINT = "the file is damaged or was written by a broken converter: re-export or re-download the model"


def _options(tflite: Any, opcode: str, op: Any) -> dict[str, Any]:
    table = op.BuiltinOptions()
    if table is None:
        return {}

    def load(cls: Any) -> Any:
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        return obj

    if opcode == "FULLY_CONNECTED":
        o = load(tflite.FullyConnectedOptions)
        return {"activation": _ACTIVATIONS.get(o.FusedActivationFunction(), "?"),
                "keep_num_dims": bool(o.KeepNumDims()), "weights_format": o.WeightsFormat()}
    if opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        o = load(tflite.Conv2DOptions if opcode == "CONV_2D" else tflite.DepthwiseConv2DOptions)
        out = {"padding": _PADDING.get(o.Padding(), "?"), "stride_h": o.StrideH(), "stride_w": o.StrideW(),
               "dilation_h": o.DilationHFactor(), "dilation_w": o.DilationWFactor(),
               "activation": _ACTIVATIONS.get(o.FusedActivationFunction(), "?")}
        if opcode == "DEPTHWISE_CONV_2D":
            out["depth_multiplier"] = o.DepthMultiplier()
        return out
    if opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        o = load(tflite.Pool2DOptions)
        return {"padding": _PADDING.get(o.Padding(), "?"), "stride_h": o.StrideH(), "stride_w": o.StrideW(),
                "filter_h": o.FilterHeight(), "filter_w": o.FilterWidth(),
                "activation": _ACTIVATIONS.get(o.FusedActivationFunction(), "?")}
    if opcode == "ADD":
        o = load(tflite.AddOptions)
        return {"activation": _ACTIVATIONS.get(o.FusedActivationFunction(), "?"),
                "pot_scale_int16": bool(o.PotScaleInt16())}
    if opcode == "SOFTMAX":
        return {"beta": load(tflite.SoftmaxOptions).Beta()}
    if opcode == "RESHAPE":
        o = load(tflite.ReshapeOptions)
        return {"new_shape": tuple(int(v) for v in o.NewShapeAsNumpy())} if o.NewShapeLength() else {}
    if opcode in OPTION_TABLES:
        table_name, fields = OPTION_TABLES[opcode]
        o = load(getattr(tflite, table_name))
        return {key: _option_value(o, field, kind) for key, field, kind in fields}
    return {}


def _option_value(o: Any, field: str, kind: str) -> Any:
    if kind == "ints":
        return tuple(int(v) for v in getattr(o, field + "AsNumpy")()) if getattr(o, field + "Length")() else ()
    value = getattr(o, field)()
    if kind == "act":
        return _ACTIVATIONS.get(value, "?")
    if kind == "padding":
        return _PADDING.get(value, "?")
    if kind == "type":
        return _TYPES.get(value, "?")
    return {"bool": bool, "int": int, "float": float}[kind](value)


# The options of the operators read through one table (the aot runtime's newer operators, #13):
# opcode -> (options table of schema.fbs, ((key in Operator.options, field, kind), ...)); kind: act
# (fused activation name), padding, type (tensor type name), bool, int, float, ints (a vector).
# tests/support/tflite_writer.py writes files from the same table. Operators absent here and above
# (QUANTIZE, PAD, TRANSPOSE, ...) have no option fields.
_ACT = ("activation", "FusedActivationFunction", "act")
OPTION_TABLES: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "CONCATENATION": ("ConcatenationOptions", (("axis", "Axis", "int"), _ACT)),
    "MEAN": ("ReducerOptions", (("keep_dims", "KeepDims", "bool"),)),
    "MUL": ("MulOptions", (_ACT,)),
    "SUB": ("SubOptions", (_ACT, ("pot_scale_int16", "PotScaleInt16", "bool"))),
    "LEAKY_RELU": ("LeakyReluOptions", (("alpha", "Alpha", "float"),)),
    "STRIDED_SLICE": ("StridedSliceOptions", (
        ("begin_mask", "BeginMask", "int"), ("end_mask", "EndMask", "int"),
        ("ellipsis_mask", "EllipsisMask", "int"), ("new_axis_mask", "NewAxisMask", "int"),
        ("shrink_axis_mask", "ShrinkAxisMask", "int"), ("offset", "Offset", "bool"))),
    "SQUEEZE": ("SqueezeOptions", (("squeeze_dims", "SqueezeDims", "ints"),)),
    "RESIZE_NEAREST_NEIGHBOR": ("ResizeNearestNeighborOptions", (
        ("align_corners", "AlignCorners", "bool"), ("half_pixel_centers", "HalfPixelCenters", "bool"))),
    "TRANSPOSE_CONV": ("TransposeConvOptions", (
        ("padding", "Padding", "padding"), ("stride_h", "StrideH", "int"), ("stride_w", "StrideW", "int"), _ACT)),
    "ARG_MAX": ("ArgMaxOptions", (("output_type", "OutputType", "type"),)),
    "BATCH_MATMUL": ("BatchMatMulOptions", (
        ("adj_x", "AdjX", "bool"), ("adj_y", "AdjY", "bool"),
        ("asymmetric_quantize_inputs", "AsymmetricQuantizeInputs", "bool"))),
    "SVDF": ("SVDFOptions", (("rank", "Rank", "int"), _ACT,
                             ("asymmetric_quantize_inputs", "AsymmetricQuantizeInputs", "bool"))),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": ("UnidirectionalSequenceLSTMOptions", (
        _ACT, ("cell_clip", "CellClip", "float"), ("proj_clip", "ProjClip", "float"),
        ("time_major", "TimeMajor", "bool"), ("asymmetric_quantize_inputs", "AsymmetricQuantizeInputs", "bool"),
        ("diagonal_recurrent_tensors", "DiagonalRecurrentTensors", "bool"))),
}


class _Reader:
    """One model file being read: the path for messages, the raw bytes, the tflite accessors."""

    def __init__(self, path: Path, buf: bytes, tflite: Any) -> None:
        self.path = path
        self.buf = buf
        self.tflite = tflite
        self.model = tflite.Model.GetRootAsModel(buf, 0)

    def error(self, what: str, problem: str) -> CorruptModelError:
        return CorruptModelError(f"{self.path}: {what}: {problem}", hint=_HINT)

    def opcodes(self) -> tuple[list[str], list[int]]:
        names, versions = [], []
        for k in range(self.model.OperatorCodesLength()):
            oc = self.model.OperatorCodes(k)
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())  # schema v3a keeps codes < 127 in the old field
            try:
                names.append(self.tflite.opcode2name(code))
            except ValueError:
                raise ModelError(f"{self.path}: operator code table entry {k}: builtin operator {code} is "
                                 "unknown to this tflite package",
                                 hint="the model may use a newer TFLite schema: upgrade the tflite package, "
                                      "or re-export the model") from None
            versions.append(oc.Version())
        return names, versions

    def tensor(self, i: int, t: Any) -> Tensor:
        name = self.tensor_name(i, t)
        what = f"tensor {i} ('{name}')"
        code = t.Type()
        if code in _UNSUPPORTED_TYPES:
            raise ModelError(f"{self.path}: {what} has type {_UNSUPPORTED_TYPES[code]}, which tinyflash does "
                             "not support", hint="use a model with int8 (or float32) tensors")
        dtype = _TYPES.get(code)
        if dtype is None:
            raise self.error(what, f"unknown tensor type {code}")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            raise self.error(what, f"negative dimension in shape {shape}")
        size = math.prod(shape) * DTYPE_SIZES[dtype]
        if size > MAX_TENSOR_BYTES:
            raise self.error(what, f"shape {shape} {dtype} would need {size} bytes, more than a 32-bit "
                                   "address space")
        data = self.constant_data(what, t.Buffer())
        if data is not None and len(data) != size:
            raise self.error(what, f"its constant data is {len(data)} bytes, but shape {shape} {dtype} "
                                   f"needs {size}")
        return Tensor(i, name, shape, dtype, self.quantization(what, t, dtype, shape), data,
                      is_variable=bool(t.IsVariable()) and data is None)

    def tensor_name(self, i: int, t: Any) -> str:
        raw = t.Name()
        if raw is None:   # TFLM's own test models (keyword_scrambled_8bit.tflite) leave names out: valid
            return f"tensor_{i}"
        if len(raw) != t._tab.VectorLen(t._tab.Offset(_NAME_SLOT)):   # the accessor cuts it at the end of the file
            raise self.error(f"tensor {i}", "its name runs past the end of the file")
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error(f"tensor {i}", f"its name is not UTF-8 text: {raw[:40]!r}") from None
        if _CONTROL.search(name):   # converters write TensorFlow op names; control bytes mean garbage
            raise self.error(f"tensor {i}", f"its name holds control characters: {name[:40]!r}")
        return name

    def constant_data(self, what: str, index: int) -> Optional[bytes]:
        count = self.model.BuffersLength()
        if not 0 <= index < count:
            raise self.error(what, f"buffer index {index} is out of range (the model has {count} buffers)")
        buffer = self.model.Buffers(index)
        if buffer is None:
            return None
        if buffer.DataLength():
            return bytes(buffer.DataAsNumpy().tobytes())
        offset, size = buffer.Offset(), buffer.Size()
        if offset > 1:   # large models keep buffers past the flatbuffer
            if offset + size > len(self.buf):
                raise self.error(what, f"buffer {index} lies at bytes {offset}..{offset + size}, past the end "
                                       f"of the {len(self.buf)}-byte file")
            return self.buf[offset:offset + size]
        return None

    def quantization(self, what: str, t: Any, dtype: str, shape: tuple[int, ...]) -> Optional[Quantization]:
        q = t.Quantization()
        if q is None or not q.ScaleLength():
            return None
        scales = tuple(float(s) for s in q.ScaleAsNumpy())
        for s in scales:
            if not (math.isfinite(s) and MIN_SCALE <= s <= MAX_SCALE):
                raise self.error(what, f"quantisation scale {s} is not a positive finite number in "
                                       f"[{MIN_SCALE:g}, {MAX_SCALE:g}]")
        zero_points = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scales)
        if len(zero_points) != len(scales):
            raise self.error(what, f"{len(scales)} quantisation scales but {len(zero_points)} zero points")
        low, high = _ZERO_POINT_RANGE.get(dtype, (-2**63, 2**63 - 1))
        for z in zero_points:
            if not low <= z <= high:
                raise self.error(what, f"zero point {z} is outside the {dtype} range [{low}, {high}]")
        axis = int(q.QuantizedDimension())
        # converters copy a filter's axis onto its 1-D bias (TFLM's person_detect.tflite: bias (8,),
        # axis 3), so a 1-D tensor with one scale per element is per-channel whatever the axis says
        fits = shape[axis] == len(scales) if 0 <= axis < len(shape) else shape == (len(scales),)
        if len(scales) > 1 and not fits:
            raise self.error(what, f"{len(scales)} per-channel scales on axis {axis} do not match shape {shape}")
        return Quantization(scales, zero_points, axis)

    def graph(self) -> Graph:
        if self.model.SubgraphsLength() != 1:
            raise CorruptModelError(f"{self.path}: {self.model.SubgraphsLength()} subgraphs; tinyflash supports one",
                                    hint="export the model with a single (main) subgraph")
        sub = self.model.Subgraphs(0)
        opcodes, versions = self.opcodes()
        tensors = tuple(self.tensor(i, sub.Tensors(i)) for i in range(sub.TensorsLength()))
        operators = []
        for i in range(sub.OperatorsLength()):
            op = sub.Operators(i)
            index = op.OpcodeIndex()
            if not 0 <= index < len(opcodes):
                raise self.error(f"operator {i}", f"opcode index {index} is out of range (the model lists "
                                                  f"{len(opcodes)} operator codes)")
            name = opcodes[index]
            operators.append(Operator(i, name, versions[index],
                                      tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else (),
                                      tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else (),
                                      _options(self.tflite, name, op)))
        inputs = tuple(int(x) for x in sub.InputsAsNumpy()) if sub.InputsLength() else ()
        outputs = tuple(int(x) for x in sub.OutputsAsNumpy()) if sub.OutputsLength() else ()
        return Graph(tensors, tuple(operators), inputs, outputs, tuple(opcodes))


def validate_graph(graph: Graph, source: Path | str) -> None:
    """The structure every code generator relies on: graph inputs and outputs exist and are activations,
    operator tensor indices resolve, each tensor has one producer, and operators are in execution order
    (a tensor is produced before it is read), so no graph has a cycle."""
    n = len(graph.tensors)

    def error(what: str, problem: str) -> CorruptModelError:
        return CorruptModelError(f"{source}: {what}: {problem}", hint=_HINT)

    def describe(index: int) -> str:
        return f"tensor {index} ('{graph.tensors[index].name}')"

    if not graph.operators:
        raise CorruptModelError(f"{source}: the model has no operators: there is nothing to run",
                                hint="check the export: the converter produced an empty graph")
    for role, indices in (("input", graph.inputs), ("output", graph.outputs)):
        if not indices:
            raise error("model", f"no {role}s (the subgraph's {role} list is empty)")
        for index in indices:
            if not 0 <= index < n:
                raise error(f"model {role}", f"tensor index {index} is out of range (the model has {n} tensors)")
            if graph.tensors[index].is_constant:
                raise error(f"model {role} {describe(index)}", "it holds constant data")
    producer: dict[int, int] = {}
    for op in graph.operators:
        what = f"operator {op.index} ({op.opcode})"
        if not op.outputs:
            raise error(what, "it has no outputs")
        for index in op.inputs:
            if not -1 <= index < n:   # -1: an optional input left out
                raise error(what, f"input tensor index {index} is out of range (the model has {n} tensors)")
        for index in op.outputs:
            if not 0 <= index < n:
                raise error(what, f"output tensor index {index} is out of range (the model has {n} tensors)")
            if index in producer:
                raise error(what, f"writes {describe(index)}, which operator {producer[index]} also writes")
            if graph.tensors[index].is_constant:
                raise error(what, f"writes {describe(index)}, which holds constant data")
            if index in graph.inputs:
                raise error(what, f"writes {describe(index)}, the model's input")
            producer[index] = op.index
    for op in graph.operators:   # execution order: no operator reads what it or a later one writes
        for index in op.inputs:
            if index >= 0 and producer.get(index, -1) >= op.index:
                raise error(f"operator {op.index} ({op.opcode})",
                            f"reads {describe(index)}, which "
                            + ("it also writes" if producer[index] == op.index
                               else f"the later operator {producer[index]} writes"))


def read_graph(path: Path, data: bytes | None = None) -> Graph:
    """The graph of the model at ``path``; ``data``, when given, is its content already read (#15.3:
    the pipeline reads a model file once)."""
    path = Path(path)
    try:
        buf = path.read_bytes() if data is None else data
    except OSError as exc:
        raise CorruptModelError(f"cannot read model {path}: {exc.strerror}") from None
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise CorruptModelError(f"{path} is not a TFLite model (no 'TFL3' flatbuffer identifier)",
                                hint="pass a .tflite file produced by the TFLite converter")
    import tflite

    try:
        graph = _Reader(path, buf, tflite).graph()
    except ModelError:
        raise
    except Exception as exc:  # the flatbuffer accessors raise anything on garbage offsets
        raise CorruptModelError(f"{path} is a damaged TFLite model: {type(exc).__name__}: {exc}",
                                hint="re-export or re-download the model") from None
    validate_graph(graph, path)
    return graph

