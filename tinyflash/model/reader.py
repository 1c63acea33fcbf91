"""Reading a .tflite flatbuffer (through the ``tflite`` package) into :class:`Graph`.

A file that is not a TFLite model fails here with a :class:`CorruptModelError` naming the file,
before any code is generated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyflash.errors import CorruptModelError
from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

_TYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8"}

_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
_PADDING = {0: "SAME", 1: "VALID"}


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
        return {"activation": _ACTIVATIONS.get(o.FusedActivationFunction(), "?")}
    if opcode == "SOFTMAX":
        return {"beta": load(tflite.SoftmaxOptions).Beta()}
    if opcode == "RESHAPE":
        o = load(tflite.ReshapeOptions)
        return {"new_shape": tuple(int(v) for v in o.NewShapeAsNumpy())} if o.NewShapeLength() else {}
    return {}


def read_graph(path: Path) -> Graph:
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise CorruptModelError(f"cannot read model {path}: {exc.strerror}") from None
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise CorruptModelError(f"{path} is not a TFLite model (no 'TFL3' flatbuffer identifier)",
                                hint="pass a .tflite file produced by the TFLite converter")
    import tflite

    try:
        model = tflite.Model.GetRootAsModel(buf, 0)
        if model.SubgraphsLength() != 1:
            raise CorruptModelError(f"{path}: {model.SubgraphsLength()} subgraphs; tinyflash supports one")
        sub = model.Subgraphs(0)
        opcodes = []
        versions = []
        for k in range(model.OperatorCodesLength()):
            oc = model.OperatorCodes(k)
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())  # schema v3a keeps codes < 127 in the old field
            opcodes.append(tflite.opcode2name(code))
            versions.append(oc.Version())
        tensors = []
        for i in range(sub.TensorsLength()):
            t = sub.Tensors(i)
            dtype = _TYPES.get(t.Type())
            if dtype is None:
                dtype = f"type{t.Type()}"
            q = t.Quantization()
            quant = None
            if q is not None and q.ScaleLength():
                quant = Quantization(tuple(float(s) for s in q.ScaleAsNumpy()),
                                     tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength()
                                     else (0,) * q.ScaleLength(), int(q.QuantizedDimension()))
            buffer = model.Buffers(t.Buffer())
            data = None
            if buffer is not None and buffer.DataLength():
                data = buffer.DataAsNumpy().tobytes()
            elif buffer is not None and buffer.Offset() > 1:   # large models keep buffers past the flatbuffer
                data = buf[buffer.Offset():buffer.Offset() + buffer.Size()]
            shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
            tensors.append(Tensor(i, t.Name().decode("utf-8", "replace"), shape, dtype, quant, data))
        operators = []
        for i in range(sub.OperatorsLength()):
            op = sub.Operators(i)
            name = opcodes[op.OpcodeIndex()]
            operators.append(Operator(i, name, versions[op.OpcodeIndex()],
                                      tuple(int(x) for x in op.InputsAsNumpy()),
                                      tuple(int(x) for x in op.OutputsAsNumpy()),
                                      _options(tflite, name, op)))
        return Graph(tuple(tensors), tuple(operators), tuple(int(x) for x in sub.InputsAsNumpy()),
                     tuple(int(x) for x in sub.OutputsAsNumpy()), tuple(opcodes))
    except CorruptModelError:
        raise
    except Exception as exc:  # the flatbuffer accessors raise anything on garbage offsets
        raise CorruptModelError(f"{path} is a damaged TFLite model: {type(exc).__name__}: {exc}",
                                hint="re-export or re-download the model") from None
