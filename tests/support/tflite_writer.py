"""Writing a :class:`Graph` back to a .tflite flatbuffer (the ``tflite`` package's generated builders),
so synthetic one-layer graphs can be run by TFLM's reference kernels (the host golden) and by the
whole tinyflash pipeline, not only compared between our own kernels.

Covers what the synthetic graphs of tests/support build: tensors of the numeric types with per-tensor or
per-channel quantisation and the variable flag, the operators with their own options code below, those of
the reader's OPTION_TABLES, and operators without options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import flatbuffers
import numpy as np
import tflite

from tinyflash.model.graph import Graph, Operator, Tensor
from tinyflash.model.reader import OPTION_TABLES

_TYPES = {"int8": tflite.TensorType.INT8, "int16": tflite.TensorType.INT16, "int32": tflite.TensorType.INT32,
          "int64": tflite.TensorType.INT64, "uint8": tflite.TensorType.UINT8, "bool": tflite.TensorType.BOOL,
          "float32": tflite.TensorType.FLOAT32}
_ACTIVATIONS = {"NONE": tflite.ActivationFunctionType.NONE, "RELU": tflite.ActivationFunctionType.RELU,
                "RELU_N1_TO_1": tflite.ActivationFunctionType.RELU_N1_TO_1,
                "RELU6": tflite.ActivationFunctionType.RELU6, "TANH": tflite.ActivationFunctionType.TANH}
_PADDING = {"SAME": tflite.Padding.SAME, "VALID": tflite.Padding.VALID}


def _vector(builder: flatbuffers.Builder, start: Callable[[Any, int], None], values: np.ndarray,
            prepend: Callable[[Any], None]) -> int:
    start(builder, len(values))
    for v in reversed(values.tolist()):
        prepend(v)
    return builder.EndVector()


def _ints(builder: flatbuffers.Builder, start: Callable[[Any, int], None], values: tuple[int, ...]) -> int:
    return _vector(builder, start, np.asarray(values, dtype=np.int32), builder.PrependInt32)


def _options(builder: flatbuffers.Builder, op: Operator) -> tuple[int, int]:
    """(BuiltinOptions type, table offset) for the operator."""
    o = op.options
    act = _ACTIVATIONS[o.get("activation", "NONE")]
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        table = "Conv2DOptions" if op.opcode == "CONV_2D" else "DepthwiseConv2DOptions"

        def call(method: str, *args: Any) -> Any:     # the two tables' builders differ only in name
            return getattr(tflite, table + method)(builder, *args)

        call("Start")
        call("AddPadding", _PADDING[o["padding"]])
        call("AddStrideH", o["stride_h"])
        call("AddStrideW", o["stride_w"])
        call("AddDilationHFactor", o["dilation_h"])
        call("AddDilationWFactor", o["dilation_w"])
        if op.opcode == "DEPTHWISE_CONV_2D":
            call("AddDepthMultiplier", o["depth_multiplier"])
        call("AddFusedActivationFunction", act)
        return getattr(tflite.BuiltinOptions, table), call("End")
    if op.opcode == "FULLY_CONNECTED":
        tflite.FullyConnectedOptionsStart(builder)
        tflite.FullyConnectedOptionsAddFusedActivationFunction(builder, act)
        tflite.FullyConnectedOptionsAddKeepNumDims(builder, o.get("keep_num_dims", False))
        return tflite.BuiltinOptions.FullyConnectedOptions, tflite.FullyConnectedOptionsEnd(builder)
    if op.opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        tflite.Pool2DOptionsStart(builder)
        tflite.Pool2DOptionsAddPadding(builder, _PADDING[o["padding"]])
        tflite.Pool2DOptionsAddStrideH(builder, o["stride_h"])
        tflite.Pool2DOptionsAddStrideW(builder, o["stride_w"])
        tflite.Pool2DOptionsAddFilterHeight(builder, o["filter_h"])
        tflite.Pool2DOptionsAddFilterWidth(builder, o["filter_w"])
        tflite.Pool2DOptionsAddFusedActivationFunction(builder, act)
        return tflite.BuiltinOptions.Pool2DOptions, tflite.Pool2DOptionsEnd(builder)
    if op.opcode == "ADD":
        tflite.AddOptionsStart(builder)
        tflite.AddOptionsAddFusedActivationFunction(builder, act)
        tflite.AddOptionsAddPotScaleInt16(builder, o.get("pot_scale_int16", True))
        return tflite.BuiltinOptions.AddOptions, tflite.AddOptionsEnd(builder)
    if op.opcode == "SOFTMAX":
        tflite.SoftmaxOptionsStart(builder)
        tflite.SoftmaxOptionsAddBeta(builder, o.get("beta", 1.0))
        return tflite.BuiltinOptions.SoftmaxOptions, tflite.SoftmaxOptionsEnd(builder)
    if op.opcode == "RESHAPE":
        shape = _ints(builder, tflite.ReshapeOptionsStartNewShapeVector, o["new_shape"]) if o.get("new_shape") else None
        tflite.ReshapeOptionsStart(builder)
        if shape is not None:
            tflite.ReshapeOptionsAddNewShape(builder, shape)
        return tflite.BuiltinOptions.ReshapeOptions, tflite.ReshapeOptionsEnd(builder)
    if op.opcode in OPTION_TABLES:
        return _table_options(builder, op)
    return tflite.BuiltinOptions.NONE, 0


def _table_options(builder: flatbuffers.Builder, op: Operator) -> tuple[int, int]:
    """Options of the reader's OPTION_TABLES: every field from op.options (missing keys: schema default)."""
    table, fields = OPTION_TABLES[op.opcode]
    values = {}
    for key, field, kind in fields:      # vectors are built before the table starts
        if key not in op.options:
            continue
        value = op.options[key]
        if kind == "ints":
            value = _ints(builder, getattr(tflite, f"{table}Start{field}Vector"), tuple(value))
        elif kind == "act":
            value = _ACTIVATIONS[value]
        elif kind == "padding":
            value = _PADDING[value]
        elif kind == "type":
            value = _TYPES[value]
        values[field] = value
    getattr(tflite, table + "Start")(builder)
    for field, value in values.items():
        getattr(tflite, f"{table}Add{field}")(builder, value)
    return getattr(tflite.BuiltinOptions, table), getattr(tflite, table + "End")(builder)


def _tensor(builder: flatbuffers.Builder, tensor: Tensor, buffer: int) -> int:
    name = builder.CreateString(tensor.name)
    shape = _ints(builder, tflite.TensorStartShapeVector, tensor.shape)
    quant = None
    q = tensor.quantization
    if q is not None:
        scales = _vector(builder, tflite.QuantizationParametersStartScaleVector,
                         np.asarray(q.scales, dtype=np.float32), builder.PrependFloat32)
        zeros = _vector(builder, tflite.QuantizationParametersStartZeroPointVector,
                        np.asarray(q.zero_points, dtype=np.int64), builder.PrependInt64)
        tflite.QuantizationParametersStart(builder)
        tflite.QuantizationParametersAddScale(builder, scales)
        tflite.QuantizationParametersAddZeroPoint(builder, zeros)
        tflite.QuantizationParametersAddQuantizedDimension(builder, q.axis)
        quant = tflite.QuantizationParametersEnd(builder)
    tflite.TensorStart(builder)
    tflite.TensorAddShape(builder, shape)
    tflite.TensorAddType(builder, _TYPES[tensor.dtype])
    tflite.TensorAddBuffer(builder, buffer)
    tflite.TensorAddName(builder, name)
    if quant is not None:
        tflite.TensorAddQuantization(builder, quant)
    if tensor.is_variable:
        tflite.TensorAddIsVariable(builder, True)
    return tflite.TensorEnd(builder)


def write_tflite(graph: Graph, path: Path) -> Path:
    builder = flatbuffers.Builder(4096)
    # buffer 0 is the empty one by convention; every constant tensor gets its own, 16-byte aligned
    # (TFLM reads int32 biases in place)
    buffers, tensor_buffer = [], {}
    tflite.BufferStart(builder)
    buffers.append(tflite.BufferEnd(builder))
    for tensor in graph.tensors:
        if tensor.data is None:
            tensor_buffer[tensor.index] = 0
            continue
        builder.StartVector(1, len(tensor.data), 16)
        builder.head -= len(tensor.data)
        builder.Bytes[builder.head:builder.head + len(tensor.data)] = tensor.data
        data = builder.EndVector()
        tflite.BufferStart(builder)
        tflite.BufferAddData(builder, data)
        tensor_buffer[tensor.index] = len(buffers)
        buffers.append(tflite.BufferEnd(builder))

    tensors = [_tensor(builder, t, tensor_buffer[t.index]) for t in graph.tensors]
    opcodes = sorted({op.opcode for op in graph.operators})
    codes = []
    for name in opcodes:
        code = getattr(tflite.BuiltinOperator, name)
        tflite.OperatorCodeStart(builder)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(builder, min(code, 127))
        tflite.OperatorCodeAddBuiltinCode(builder, code)
        tflite.OperatorCodeAddVersion(builder, 1)
        codes.append(tflite.OperatorCodeEnd(builder))
    operators = []
    for op in graph.operators:
        inputs = _ints(builder, tflite.OperatorStartInputsVector, op.inputs)
        outputs = _ints(builder, tflite.OperatorStartOutputsVector, op.outputs)
        options_type, options = _options(builder, op)
        tflite.OperatorStart(builder)
        tflite.OperatorAddOpcodeIndex(builder, opcodes.index(op.opcode))
        tflite.OperatorAddInputs(builder, inputs)
        tflite.OperatorAddOutputs(builder, outputs)
        tflite.OperatorAddBuiltinOptionsType(builder, options_type)
        if options:
            tflite.OperatorAddBuiltinOptions(builder, options)
        operators.append(tflite.OperatorEnd(builder))

    def offsets(start: Callable[[Any, int], None], items: list[int]) -> int:
        start(builder, len(items))
        for item in reversed(items):
            builder.PrependUOffsetTRelative(item)
        return builder.EndVector()

    sub_tensors = offsets(tflite.SubGraphStartTensorsVector, tensors)
    sub_inputs = _ints(builder, tflite.SubGraphStartInputsVector, graph.inputs)
    sub_outputs = _ints(builder, tflite.SubGraphStartOutputsVector, graph.outputs)
    sub_operators = offsets(tflite.SubGraphStartOperatorsVector, operators)
    sub_name = builder.CreateString("main")
    tflite.SubGraphStart(builder)
    tflite.SubGraphAddTensors(builder, sub_tensors)
    tflite.SubGraphAddInputs(builder, sub_inputs)
    tflite.SubGraphAddOutputs(builder, sub_outputs)
    tflite.SubGraphAddOperators(builder, sub_operators)
    tflite.SubGraphAddName(builder, sub_name)
    subgraph = tflite.SubGraphEnd(builder)

    model_codes = offsets(tflite.ModelStartOperatorCodesVector, codes)
    model_subgraphs = offsets(tflite.ModelStartSubgraphsVector, [subgraph])
    model_buffers = offsets(tflite.ModelStartBuffersVector, buffers)
    description = builder.CreateString("tinyflash test graph")
    tflite.ModelStart(builder)
    tflite.ModelAddVersion(builder, 3)
    tflite.ModelAddOperatorCodes(builder, model_codes)
    tflite.ModelAddSubgraphs(builder, model_subgraphs)
    tflite.ModelAddDescription(builder, description)
    tflite.ModelAddBuffers(builder, model_buffers)
    builder.Finish(tflite.ModelEnd(builder), file_identifier=b"TFL3")
    path = Path(path)
    path.write_bytes(bytes(builder.Output()))
    return path
