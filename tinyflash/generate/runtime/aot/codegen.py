"""The AOT code generator: checks the graph, plans memory, emits model.c and copies kernels."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar, Mapping

from tinyflash.board.schema import Board, Mve
from tinyflash.errors import GenerateError, TinyflashError, UnsupportedOperatorError
from tinyflash.generate.render import render_to
from tinyflash.generate.runtime.aot import patches
from tinyflash.generate.runtime.aot.fusion import fuse_residual_adds
from tinyflash.generate.runtime.aot.ops import SUPPORTED, EmitContext
from tinyflash.generate.runtime.aot.ops import depthwise as depthwise_rows
from tinyflash.generate.runtime.aot.ops.base import Emitted, RowWindow
from tinyflash.generate.runtime.aot.planner import MemoryPlan, plan_memory
from tinyflash.generate.runtime.base import Layer, RuntimeOutput, select_kernel_set
from tinyflash.model.benchmarks import INPUT_TYPES, OUTPUT_TYPES
from tinyflash.model.macs import graph_macs
from tinyflash.model.graph import Graph, Operator
from tinyflash.resources import templates_dir

KERNEL_DIR = ("runtime", "aot", "kernels")
# the types a model's edges may have (what the benchmark uploads and prints): a float32 input feeds a
# QUANTIZE, a float32 output comes from a DEQUANTIZE, int32 from ARG_MAX; the operators' own checks
# say what reaches them (#13)
EDGE_INPUT_TYPES, EDGE_OUTPUT_TYPES = INPUT_TYPES, OUTPUT_TYPES
MODEL_TEMPLATE = "runtime/aot/model.c.j2"


@dataclass(frozen=True)
class AotPlan:
    graph: Graph                    # after fusion (fusion.py): what is emitted
    memory: MemoryPlan
    order: tuple[int, ...]          # nodes that emit code, in graph order
    overwrites: Mapping[int, int]   # node -> the input position whose buffer its output takes
    scratch_offsets: Mapping[int, int] = field(default_factory=dict)   # node -> its kernel scratch in the arena
    # the first layers run in row bands (patches.py): each stage is emitted at its first node
    stages: tuple[patches.Stage, ...] = ()

    def operator(self, node: int) -> Operator:
        return next(op for op in self.graph.operators if op.index == node)


def graph_problems(graph: Graph, *, dsp_kernels: bool = False,
                   mve_kernels: bool = False) -> tuple[TinyflashError, ...]:
    """Everything that makes a model unusable, found before any file is written: every operator the
    runtime lacks or whose checks fail, not only the first (what ``--runtime auto`` reports, #13.2).
    The flags are the kernel paths generation will take on the board (a check may depend on them)."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return (GenerateError(f"the model has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
                              "the AOT runtime supports one of each"),)
    problems: list[TinyflashError] = []
    for role, tensor, types in (("input", graph.input, EDGE_INPUT_TYPES), ("output", graph.output, EDGE_OUTPUT_TYPES)):
        if tensor.dtype not in types:
            problems.append(UnsupportedOperatorError(
                "model " + role, tensor.name, f"{role} tensor is {tensor.dtype}; the AOT runtime's model "
                f"{role}s are {', '.join(types)}",
                hint="quantise the model to int8 (full-integer post-training quantisation)"))
    for op in graph.operators:
        support = SUPPORTED.get(op.opcode)
        if support is None:
            problems.append(UnsupportedOperatorError(
                op.opcode, op.index, f"supported operators: {', '.join(sorted(SUPPORTED))}",
                hint="try another runtime with --runtime, or file an issue with the model attached"))
            continue
        try:
            support.check(EmitContext(graph, op, pointer=lambda i: "", dsp_kernels=dsp_kernels,
                                      mve_kernels=mve_kernels))
        except TinyflashError as exc:
            problems.append(exc)
    return tuple(problems)


def simd_paths(board: Board, kernel_set: str) -> dict[str, bool]:
    """The EmitContext flags for ``board``: the SIMD kernels its core has, unless --kernels portable."""
    return {"dsp_kernels": board.has_dsp and kernel_set != "portable",
            "mve_kernels": board.mve is not Mve.NONE and kernel_set != "portable"}


def check_graph(graph: Graph, *, dsp_kernels: bool = False, mve_kernels: bool = False) -> None:
    """Raise the first of :func:`graph_problems`."""
    problems = graph_problems(graph, dsp_kernels=dsp_kernels, mve_kernels=mve_kernels)
    if problems:
        raise problems[0]


def plan_graph(graph: Graph, *, dsp_kernels: bool = False, mve_kernels: bool = False,
               scratch: Mapping[int, int] | None = None,
               stages: tuple[patches.Stage, ...] | None = None) -> AotPlan:
    """``scratch``: node -> bytes of kernel scratch to place in the arena, alive during that node only
    (a stage's: during the stage). ``stages``: the row-band stages to plan (patches.py); None: the one
    that lowers the arena most within its instruction budget, if any."""
    check_graph(graph, dsp_kernels=dsp_kernels, mve_kernels=mve_kernels)

    def context(op: Operator) -> EmitContext:
        return EmitContext(graph, op, pointer=lambda i: "", dsp_kernels=dsp_kernels, mve_kernels=mve_kernels)

    def can_fuse(layer: Operator, add: Operator) -> bool:
        fuses = SUPPORTED[layer.opcode].fuses_add
        return fuses is not None and fuses(context(layer), add)

    graph = fuse_residual_adds(graph, can_fuse)
    if stages is None:
        stages = _choose_stages(graph, context, mve_kernels)
    return _plan(graph, context, stages, scratch)


def _choose_stages(graph: Graph, context: Callable[[Operator], EmitContext],
                   mve_kernels: bool) -> tuple[patches.Stage, ...]:
    """The row-band stage (patches.py) whose plan has the smallest arena within the instruction budget.
    Not with the Helium kernels: their strips are sized for whole maps and the M55 has the memory to
    spare, where every added instruction shows."""
    if mve_kernels:
        return ()
    layers = patches.chain(graph, lambda op: _band_ready(context(op)))
    if len(layers) < 2:
        return ()
    found = patches.candidates(graph, layers,
                               lambda op: op.opcode == "DEPTHWISE_CONV_2D" and
                               depthwise_rows.layer(context(op)) is not None)
    chosen = patches.choose(found, lambda st: _plan(graph, context, (st,) if st else (), None).memory.arena_bytes,
                            graph_macs(graph))
    return (chosen,) if chosen is not None else ()


def _band_ready(ctx: EmitContext) -> bool:
    """A layer the aot runtime runs (patches.chain checks the rest: int8, one batch, 4-D)."""
    try:
        SUPPORTED[ctx.op.opcode].check(ctx)
    except TinyflashError:
        return False
    return True


def _plan(graph: Graph, context: Callable[[Operator], EmitContext], stages: tuple[patches.Stage, ...],
          scratch: Mapping[int, int] | None) -> AotPlan:
    n_ops = max((op.index for op in graph.operators), default=-1) + 1     # node indices are the time
    banded = {t for stage in stages for t in stage.intermediates}       # in band buffers, not the arena
    inside = {node for stage in stages for node in stage.nodes[1:]}     # emitted with their stage's first
    span = {stage.nodes[0]: stage.nodes[-1] for stage in stages}
    sizes: dict[int, int] = {}
    life: dict[int, tuple[int, int]] = {}

    def touch(tensor: int, at: int) -> None:
        t = graph.tensors[tensor]
        if t.is_constant or tensor in banded:
            return
        sizes[tensor] = t.size_bytes
        if t.is_variable:        # state lives from one invocation to the next: alive all the time
            life[tensor] = (-1, n_ops)
            return
        first, last = life.get(tensor, (at, at))
        life[tensor] = (min(first, at), max(last, at))

    for tensor in graph.inputs:
        touch(tensor, -1)
    for op in graph.operators:
        for tensor in op.inputs:
            if tensor >= 0:
                touch(tensor, op.index)
        for tensor in op.outputs:
            touch(tensor, op.index)
    for tensor in graph.outputs:
        touch(tensor, n_ops)
    shared: dict[int, int] = {}
    for stage in stages:
        first, last = stage.nodes[0], stage.nodes[-1]
        touch(stage.input, last)          # read until the stage's last step
        sizes[_stage_key(first, n_ops)] = stage.buffer_bytes
        life[_stage_key(first, n_ops)] = (first, last)
        if patches.overlap_ok(stage):
            shared[stage.output] = stage.input
    aliases = {op.outputs[0]: op.inputs[0] for op in graph.operators
               if SUPPORTED[op.opcode].in_place and not graph.tensors[op.inputs[0]].is_constant}
    order = tuple(op.index for op in graph.operators if op.outputs[0] not in aliases and op.index not in inside)
    overwrites = _overwrites(graph, life, aliases, context, skip=inside | set(span))
    for op in graph.operators:
        if op.index in overwrites:
            aliases[op.outputs[0]] = op.inputs[overwrites[op.index]]
    pseudo = {_scratch_key(node): size for node, size in (scratch or {}).items() if size > 0}
    scratch_life = {_scratch_key(n): (n, span.get(n, n)) for n in scratch or {}}
    memory = plan_memory({**sizes, **pseudo}, {**life, **scratch_life}, aliases, shared)
    offsets = {node: memory.offset(_scratch_key(node)) for node in scratch or {} if _scratch_key(node) in pseudo}
    return AotPlan(graph, memory, order, overwrites, offsets, stages)


def _scratch_key(node: int) -> int:
    """A pseudo tensor for a node's kernel scratch: negative, so no tensor index collides with it."""
    return -2 - node


def _stage_key(node: int, n_ops: int) -> int:
    """A pseudo tensor for the band buffers of the stage starting at ``node``: below the scratch keys."""
    return -2 - n_ops - node


def stage_buffer_offset(plan: AotPlan, stage: patches.Stage) -> int:
    n_ops = max((op.index for op in plan.graph.operators), default=-1) + 1
    return plan.memory.offset(_stage_key(stage.nodes[0], n_ops))


def _overwrites(graph: Graph, life: Mapping[int, tuple[int, int]], aliases: Mapping[int, int],
                context: Callable[[Operator], EmitContext], skip: set[int]) -> dict[int, int]:
    """Which operators write their output over an input: one that dies there (counting every tensor
    sharing its buffer), is as large as the output, is not the model's output or state, and is no
    other input of the operator."""
    roots: dict[int, int] = {}          # tensor -> the tensor whose buffer it uses
    last: dict[int, int] = {}           # buffer root -> its last use

    def root(t: int) -> int:
        while t in aliases or t in roots:
            t = aliases.get(t, roots.get(t, t))
        return t

    for t, (_, end) in life.items():
        r = root(t)
        last[r] = max(last.get(r, end), end)
    chosen: dict[int, int] = {}
    for op in graph.operators:
        want = SUPPORTED[op.opcode].overwrites
        if want is None or op.outputs[0] in aliases or op.index in skip:
            continue
        out = graph.tensors[op.outputs[0]]
        for position in want(context(op)):
            t = op.inputs[position] if position < len(op.inputs) else -1
            if t < 0 or t not in life:
                continue
            tensor = graph.tensors[t]
            r = root(t)
            if tensor.is_variable or t in graph.outputs or tensor.size_bytes < out.size_bytes or \
                    last[r] != op.index or op.inputs.count(t) > 1 or \
                    any(root(other) == r for i, other in enumerate(op.inputs) if other >= 0 and i != position):
                continue
            chosen[op.index] = position
            roots[op.outputs[0]] = t
            last[r] = max(last[r], life[op.outputs[0]][1])
            break
    return chosen


class AotRuntime:
    name: ClassVar[str] = "aot"
    # auto: the SIMD kernels the core has (DSP, Helium); portable: plain C everywhere
    kernel_sets: ClassVar[tuple[str, ...]] = ("auto", "portable")
    kernel_aliases: ClassVar[Mapping[str, str]] = {}

    def unsupported(self, graph: Graph, board: Board, options: Mapping[str, str]) -> tuple[TinyflashError, ...]:
        return graph_problems(graph, **simd_paths(board, select_kernel_set(self, options.get("kernels"))))

    def locate(self, options: Mapping[str, str]) -> str:
        return ""          # its kernels ship with tinyflash: nothing to find, nothing to say

    def generate(self, graph: Graph, board: Board, dest: Path, *, options: dict[str, str]) -> RuntimeOutput:
        kernel_set = select_kernel_set(self, options.get("kernels"))
        simd = simd_paths(board, kernel_set)
        plan, emitted = _settle(graph, board, simd)
        dest.mkdir(parents=True, exist_ok=True)
        graph = plan.graph
        constants, calls, kernels, layers, notes = (emitted.constants, emitted.calls, emitted.kernels,
                                                    emitted.layers, emitted.notes)
        macs = sum(layer.macs for layer in layers)
        scratch = 0 if plan.scratch_offsets else max(emitted.scratch.values(), default=0)

        kernel_src = templates_dir().joinpath(*KERNEL_DIR)
        sources = []
        shutil.copy2(kernel_src / "tf_kernels.h", dest / "tf_kernels.h")
        for kernel in sorted(kernels):
            shutil.copy2(kernel_src / kernel, dest / kernel)
            if kernel.endswith(".c"):
                sources.append(dest / kernel)
        arena = max(plan.memory.arena_bytes, 16)
        model_c = render_to(MODEL_TEMPLATE, dest / "model.c",
                            headers=[k for k in sorted(kernels) if k.endswith(".h")], scratch=scratch,
                            constants=constants, calls=calls, arena=arena,
                            input_offset=plan.memory.offset(graph.inputs[0]), input_bytes=graph.input.size_bytes,
                            output_offset=plan.memory.offset(graph.outputs[0]),
                            output_bytes=graph.output.size_bytes, layer_count=max(len(layers), 1),
                            state=[(plan.memory.offset(t.index), t.size_bytes) for t in graph.tensors
                                   if t.is_variable and t.index in plan.memory.placements])
        sources.append(model_c)
        defines = ("TF_PORTABLE_KERNELS=1",) if kernel_set == "portable" else ()
        return RuntimeOutput(self.name, tuple(sources), (dest,), defines, arena, graph.weight_bytes(), macs,
                             scratch_bytes=scratch, notes=tuple(notes), layers=tuple(layers))


SCRATCH_IN_ARENA_GAIN = 0.02


def settled_plan(graph: Graph, board: Board, kernel_set: str = "auto") -> AotPlan:
    """The plan AotRuntime.generate uses (kernel scratch in the arena or not)."""
    return _settle(graph, board, simd_paths(board, kernel_set))[0]


def _settle(graph: Graph, board: Board, simd: Mapping[str, bool]) -> tuple[AotPlan, "_Emitted"]:
    dsp, mve = simd["dsp_kernels"], simd["mve_kernels"]
    plan = plan_graph(graph, dsp_kernels=dsp, mve_kernels=mve)
    emitted = _emit_all(plan, board, simd)
    stages = plan.stages
    # kernel scratch (im2col columns, strips) is alive during one layer: in the arena it takes room
    # other tensors leave free there (#14.2). Kept when that saves at least SCRATCH_IN_ARENA_GAIN of the
    # total: a scratch buffer that is an arena address costs a few instructions where GCC can no longer
    # tell it from the tensors (ic on the M55: 2.7 % more for 0.9 % less memory)
    needs = {node: size for node, size in emitted.scratch.items() if size > 0}
    if needs:
        inside = plan_graph(graph, dsp_kernels=dsp, mve_kernels=mve, scratch=needs, stages=stages)
        apart = plan.memory.arena_bytes + max(needs.values())
        if inside.memory.arena_bytes <= apart * (1 - SCRATCH_IN_ARENA_GAIN):
            emitted = _emit_all(inside, board, simd)
            emitted.notes.append(f"kernel scratch in the activation arena ({max(needs.values())} B at most, "
                                 "in the room its layers leave)")
            return inside, emitted
    return plan, emitted


@dataclass
class _Emitted:
    constants: list[str]
    calls: list[dict[str, object]]
    kernels: set[str]
    layers: list[Layer]
    notes: list[str]
    scratch: dict[int, int]          # node -> kernel scratch bytes


_SCRATCH = re.compile(r"\btf_scratch\b")


def _emit_all(plan: AotPlan, board: Board, simd: Mapping[str, bool]) -> _Emitted:
    """Every node's code and constants for ``plan``; a node whose scratch the plan placed in the arena
    gets its address there instead of the shared tf_scratch buffer."""
    out = _Emitted([], [], set(), [], [], {})
    graph = plan.graph

    def pointer(tensor: int) -> str:
        return f"(tf_arena + {plan.memory.offset(tensor)})"

    stages = {stage.nodes[0]: stage for stage in plan.stages}
    for index in plan.order:
        op = plan.operator(index)
        first = len(out.constants)
        if index in stages:
            _emit_stage(plan, stages[index], board, simd, out)
            continue
        ctx = EmitContext(graph, op, pointer, out.constants, dsp_kernels=simd["dsp_kernels"],
                          mve_kernels=simd["mve_kernels"], overwrites_input=plan.overwrites.get(index),
                          flash_bytes=board.memory.flash.size, notes=out.notes)
        emitted = SUPPORTED[op.opcode].emit(ctx)
        code = emitted.code
        if index in plan.scratch_offsets:
            where = f"(tf_arena + {plan.scratch_offsets[index]})"
            code = _SCRATCH.sub(where, code)
            out.constants[first:] = [_SCRATCH.sub(where, c) for c in out.constants[first:]]
        out_tensor = graph.tensors[op.outputs[0]]
        # the tensor name is model text: the template puts it through c_comment (#11.3)
        out.calls.append({"node": op.index, "opcode": op.opcode, "tensor": out_tensor.name, "code": code,
                          "slot": len(out.layers)})
        out.layers.append(Layer(op.index, op.opcode, tuple(out_tensor.shape), emitted.macs))
        out.kernels |= emitted.kernels
        out.scratch[index] = emitted.scratch_bytes
    return out


def _emit_stage(plan: AotPlan, stage: patches.Stage, board: Board, simd: Mapping[str, bool], out: _Emitted) -> None:
    """A row-band stage (patches.py): its layers' band kernels and the stage function, called untimed;
    each of its layers is a layer of the profile, timed band by band inside the function."""
    graph = plan.graph

    def emit_layer(op: Operator, pointer: Callable[[int], str], constants: list[str], rows: RowWindow) -> Emitted:
        ctx = EmitContext(graph, op, pointer, constants, dsp_kernels=simd["dsp_kernels"],
                          mve_kernels=simd["mve_kernels"], flash_bytes=board.memory.flash.size, notes=[],
                          rows=rows)
        return SUPPORTED[op.opcode].emit(ctx)

    buffers = stage_buffer_offset(plan, stage)
    code = patches.emit(stage, graph, emit_layer, plan.memory.offset(stage.input), plan.memory.offset(stage.output),
                        buffers, slot=len(out.layers))
    first = stage.nodes[0]
    texts = [*code.constants, code.function]
    call = code.call
    if first in plan.scratch_offsets:
        where = f"(tf_arena + {plan.scratch_offsets[first]})"
        texts = [_SCRATCH.sub(where, c) for c in texts]
    out.constants.extend(texts)
    output = graph.tensors[stage.output]
    out.calls.append({"node": first, "opcode": "ROW_BANDS", "tensor": output.name, "code": call, "slot": None})
    for node, macs in zip(stage.nodes, code.macs):
        op = plan.operator(node)
        out.layers.append(Layer(node, op.opcode, tuple(graph.tensors[op.outputs[0]].shape), macs, stage=first))
    out.kernels |= code.kernels
    out.scratch[first] = code.scratch_bytes
    out.notes.append(f"nodes {', '.join(str(n) for n in stage.nodes)} run in row bands of {stage.band} output "
                     f"rows ({len(stage.steps)} steps, {stage.buffer_bytes} B of band buffers"
                     f"{', the output over the consumed input' if patches.overlap_ok(stage) else ''})")
