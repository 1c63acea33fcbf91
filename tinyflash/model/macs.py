"""Multiply-accumulates a graph performs per inference, counted from tensor shapes alone.

A runtime that generates its own kernels counts MACs as it emits them; one that runs the model through
an interpreter (TFLM) has nothing to count from but the graph. Both must agree, so that instructions
per MAC compare runtimes on the same footing (tests check this against the AOT runtime's count).
Only the operators with a weight tensor do MACs here; pooling, ADD, SOFTMAX and the like count 0.
"""

from __future__ import annotations

from tinyflash.model.graph import Graph, Operator


def operator_macs(graph: Graph, op: Operator) -> int:
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
