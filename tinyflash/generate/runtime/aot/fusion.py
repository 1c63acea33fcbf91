"""Graph rewrites before memory planning (#14.2): a residual ADD folded into the layer that produces one
of its inputs, so that layer adds the skip tensor as it writes each output, and (when the skip tensor
dies there) writes over it: a ResNet block then holds two tensors, not three.

The fused operator keeps its own node index and opcode and gains the skip tensor as its last input and
the ADD's output as its output; ``options["residual"]`` says what was folded (the ADD's node, the
layer's own output tensor, now only a quantisation record, and which ADD input the layer fed), so the
emitter computes exactly what the two operators computed one after the other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from tinyflash.model.graph import Graph, Operator


def consumers(graph: Graph) -> dict[int, list[Operator]]:
    found: dict[int, list[Operator]] = {}
    for op in graph.operators:
        for tensor in op.inputs:
            if tensor >= 0:
                found.setdefault(tensor, []).append(op)
    return found


def fuse_residual_adds(graph: Graph, can_fuse: Callable[[Operator, Operator], bool]) -> Graph:
    """Fold every ADD whose input is the only use of a layer's output into that layer, when
    ``can_fuse(layer, add)`` (the layer's emitter supports it on this board's kernel path)."""
    users = consumers(graph)
    producer = {t: op for op in graph.operators for t in op.outputs}
    fused: dict[int, Operator] = {}
    dropped: set[int] = set()
    for add in graph.operators:
        if add.opcode != "ADD" or len(add.inputs) != 2:
            continue
        for position in (0, 1):
            mid, skip = add.inputs[position], add.inputs[1 - position]
            layer = producer.get(mid)
            if layer is None or layer.index in fused or layer.index in dropped or mid in graph.outputs \
                    or len(users.get(mid, [])) != 1 or skip == mid or skip < 0:
                continue
            if graph.tensors[skip].is_constant or graph.tensors[mid].shape != graph.tensors[skip].shape:
                continue
            if skip in producer and producer[skip].index > layer.index:
                continue        # the skip tensor is computed after the layer: the layer cannot read it
            if not can_fuse(layer, add):
                continue
            residual = {"add": add.index, "layer_output": mid, "position": position,
                        "activation": add.options.get("activation", "NONE")}
            fused[layer.index] = replace(layer, inputs=(*layer.inputs, skip), outputs=add.outputs,
                                         options={**layer.options, "residual": residual})
            dropped.add(add.index)
            break
    if not fused:
        return graph
    operators = tuple(fused.get(op.index, op) for op in graph.operators if op.index not in dropped)
    return replace(graph, operators=operators)
