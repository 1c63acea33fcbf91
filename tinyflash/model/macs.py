"""Multiply-accumulates a graph performs per inference, counted from tensor shapes alone.

A runtime that generates its own kernels counts MACs as it emits them; one that runs the model through
an interpreter (TFLM) has nothing to count from but the graph. Both must agree, so that instructions
per MAC compare runtimes on the same footing (tests check this against the AOT runtime's count).
Only the operators with a weight tensor or a matrix product do MACs here; pooling, ADD, SOFTMAX and
the like count 0.
"""

from __future__ import annotations

import math

from tinyflash.model.graph import Graph, Operator


# UNIDIRECTIONAL_SEQUENCE_LSTM's weight matrices: input-to-gate (1-4), recurrent-to-gate (5-8), projection (16)
_LSTM_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 16)


def operator_macs(graph: Graph, op: Operator) -> int:
    if op.opcode in _OTHERS and op.outputs and all(0 <= i < len(graph.tensors) for i in op.inputs if i >= 0):
        return max(_OTHERS[op.opcode](graph, op), 0)
    if op.opcode not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") or len(op.inputs) < 2 \
            or op.inputs[1] < 0 or not op.outputs:     # -1: the weights input is left out
        return 0
    out = graph.tensors[op.outputs[0]]
    weights = graph.tensors[op.inputs[1]].shape
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(weights) != 4 or not weights:
        return 0                                   # not a shape this operator runs with: nothing to count
    if op.opcode == "CONV_2D":                     # filter [out_c, k_h, k_w, in_c]
        return out.elements * weights[1] * weights[2] * weights[3]
    if op.opcode == "DEPTHWISE_CONV_2D":           # filter [1, k_h, k_w, out_c]: one input channel each
        return out.elements * weights[1] * weights[2]
    return out.elements * weights[-1]              # FULLY_CONNECTED: filter [units, in_depth]


def graph_macs(graph: Graph) -> int:
    return sum(operator_macs(graph, op) for op in graph.operators)


def _input(graph: Graph, op: Operator, position: int) -> tuple[int, ...]:
    index = op.inputs[position] if position < len(op.inputs) else -1
    return graph.tensors[index].shape if index >= 0 else ()


def _transpose_conv(graph: Graph, op: Operator) -> int:
    # inputs: output shape, filter [out_c, k_h, k_w, in_c], input: every input value meets every tap
    weights, data = _input(graph, op, 1), _input(graph, op, 2)
    if len(weights) != 4 or not data:
        return 0
    return math.prod(data) * weights[0] * weights[1] * weights[2]


def _batch_matmul(graph: Graph, op: Operator) -> int:
    lhs = _input(graph, op, 0)
    if len(lhs) < 2:
        return 0
    depth = lhs[-2] if op.options.get("adj_x") else lhs[-1]
    return graph.tensors[op.outputs[0]].elements * depth


def _svdf(graph: Graph, op: Operator) -> int:
    # feature weights [filters, input] on each new input, time weights [filters, memory] over the state
    data, feature, time = _input(graph, op, 0), _input(graph, op, 1), _input(graph, op, 2)
    if len(data) != 2 or len(feature) != 2 or len(time) != 2:
        return 0
    return data[0] * (feature[0] * feature[1] + time[0] * time[1])


def _lstm(graph: Graph, op: Operator) -> int:
    data = _input(graph, op, 0)
    if len(data) != 3 or not data[-1]:
        return 0
    steps = math.prod(data) // data[-1]           # time steps x batches
    return steps * sum(math.prod(_input(graph, op, i)) for i in _LSTM_WEIGHTS if len(_input(graph, op, i)) == 2)


_OTHERS = {"TRANSPOSE_CONV": _transpose_conv, "BATCH_MATMUL": _batch_matmul, "SVDF": _svdf,
           "UNIDIRECTIONAL_SEQUENCE_LSTM": _lstm}
