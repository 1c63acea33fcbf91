"""The AOT code generator: checks the graph, plans memory, emits model.c and copies kernels."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tinyflash.board.schema import Board, Mve
from tinyflash.errors import GenerateError, UnsupportedOperatorError
from tinyflash.generate.runtime.aot.ops import SUPPORTED, EmitContext
from tinyflash.generate.runtime.aot.planner import MemoryPlan, plan_memory
from tinyflash.generate.runtime.base import Layer, RuntimeOutput
from tinyflash.model.graph import Graph
from tinyflash.resources import templates_dir

KERNEL_DIR = ("runtime", "aot", "kernels")


@dataclass(frozen=True)
class AotPlan:
    memory: MemoryPlan
    order: tuple[int, ...]          # operators that emit code, in graph order


def check_graph(graph: Graph) -> None:
    """Everything that makes a model unusable, found before any file is written."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise GenerateError(f"the model has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
                            "the AOT runtime supports one of each")
    for role, tensor in (("input", graph.input), ("output", graph.output)):
        if tensor.dtype != "int8":
            raise UnsupportedOperatorError(
                "model " + role, tensor.name, f"{role} tensor is {tensor.dtype}; float models are not supported",
                hint="quantise the model to int8 (full-integer post-training quantisation)")
    for op in graph.operators:
        support = SUPPORTED.get(op.opcode)
        if support is None:
            raise UnsupportedOperatorError(
                op.opcode, op.index, f"supported operators: {', '.join(sorted(SUPPORTED))}",
                hint="try another runtime with --runtime, or file an issue with the model attached")
        support.check(EmitContext(graph, op, pointer=lambda i: ""))


def plan_graph(graph: Graph) -> AotPlan:
    check_graph(graph)
    n_ops = len(graph.operators)
    sizes: dict[int, int] = {}
    life: dict[int, tuple[int, int]] = {}

    def touch(tensor: int, at: int) -> None:
        t = graph.tensors[tensor]
        if t.is_constant:
            return
        sizes[tensor] = t.size_bytes
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
    aliases = {op.outputs[0]: op.inputs[0] for op in graph.operators
               if SUPPORTED[op.opcode].in_place and not graph.tensors[op.inputs[0]].is_constant}
    memory = plan_memory(sizes, life, aliases)
    order = tuple(op.index for op in graph.operators if op.outputs[0] not in aliases)
    return AotPlan(memory, order)


class AotRuntime:
    name = "aot"

    def generate(self, graph: Graph, board: Board, dest: Path, *, options: dict[str, str]) -> RuntimeOutput:
        if options.get("kernels", "auto") not in ("auto", "portable"):   # e.g. cmsis-nn, a TFLM kernel set
            raise GenerateError(f"--kernels {options['kernels']} is not available with --runtime aot",
                                hint="choose auto or portable, or use --runtime tflm")
        plan = plan_graph(graph)
        dest.mkdir(parents=True, exist_ok=True)
        constants: list[str] = []
        calls: list[str] = []
        layers: list[Layer] = []
        kernels: set[str] = set()
        macs = scratch = 0
        dsp_kernels = board.has_dsp and options.get("kernels") != "portable"
        mve_kernels = board.mve is not Mve.NONE and options.get("kernels") != "portable"

        def pointer(tensor: int) -> str:
            return f"(tf_arena + {plan.memory.offset(tensor)})"

        for index in plan.order:
            op = graph.operators[index]
            ctx = EmitContext(graph, op, pointer, constants, dsp_kernels=dsp_kernels, mve_kernels=mve_kernels)
            emitted = SUPPORTED[op.opcode].emit(ctx)
            out_tensor = graph.tensors[op.outputs[0]]
            calls.append(f"    /* node {op.index}: {op.opcode} -> {out_tensor.name} */\n"
                         f"    TF_LAYER({len(layers)}, {emitted.code})")
            layers.append(Layer(op.index, op.opcode, tuple(out_tensor.shape), emitted.macs))
            kernels |= emitted.kernels
            macs += emitted.macs
            scratch = max(scratch, emitted.scratch_bytes)

        kernel_src = templates_dir().joinpath(*KERNEL_DIR)
        sources = []
        shutil.copy2(kernel_src / "tf_kernels.h", dest / "tf_kernels.h")
        for kernel in sorted(kernels):
            shutil.copy2(kernel_src / kernel, dest / kernel)
            if kernel.endswith(".c"):
                sources.append(dest / kernel)
        headers = "".join(f'#include "{k}"\n' for k in sorted(kernels) if k.endswith(".h"))
        if scratch:
            # im2col columns of the fast convolutions: outside the planned arena, reported apart
            headers += f"\nstatic int8_t tf_scratch[{scratch}] __attribute__((aligned(4)));\n"
        arena = max(plan.memory.arena_bytes, 16)
        model_c = dest / "model.c"
        model_c.write_text(_MODEL_C.format(
            headers=headers, constants="\n\n".join(constants), calls="\n".join(calls), arena=arena,
            input_offset=plan.memory.offset(graph.inputs[0]), input_bytes=graph.input.size_bytes,
            output_offset=plan.memory.offset(graph.outputs[0]), output_bytes=graph.output.size_bytes,
            layer_count=max(len(layers), 1)))
        sources.append(model_c)
        defines = ("TF_PORTABLE_KERNELS=1",) if options.get("kernels") == "portable" else ()
        return RuntimeOutput(self.name, tuple(sources), (dest,), defines, arena, graph.weight_bytes(), macs,
                             scratch_bytes=scratch, layers=tuple(layers))


_MODEL_C = """/* Generated by tinyflash's AOT runtime. Do not edit. Weights are const (flash); activations share
 * one planned arena. */
#include <stddef.h>
#include <stdint.h>
#include "tf_kernels.h"
#include "tf_runtime.h"
{headers}
static int8_t tf_arena[{arena}] __attribute__((aligned(16)));

#ifdef TF_PROFILE
#include "tf_port.h"
static uint64_t tf_profile_cycles[{layer_count}];

size_t tf_runtime_profile(const uint64_t **cycles)
{{
    *cycles = tf_profile_cycles;
    return sizeof tf_profile_cycles / sizeof tf_profile_cycles[0];
}}

void tf_runtime_profile_reset(void)
{{
    for (size_t i = 0; i < sizeof tf_profile_cycles / sizeof tf_profile_cycles[0]; ++i) {{
        tf_profile_cycles[i] = 0;
    }}
}}

/* a layer's code may hold commas outside parentheses (initialisers), hence variadic */
#define TF_LAYER(i, ...) do {{ uint64_t t0_ = tf_cycles_now(); __VA_ARGS__ \\
    tf_profile_cycles[i] += tf_cycles_now() - t0_; }} while (0);
#else
#define TF_LAYER(i, ...) __VA_ARGS__
#endif

{constants}

int tf_runtime_init(void)
{{
    return 0;
}}

const char *tf_runtime_name(void)
{{
    return "aot";
}}

int8_t *tf_runtime_input(void)
{{
    return tf_arena + {input_offset};
}}

size_t tf_runtime_input_bytes(void)
{{
    return {input_bytes};
}}

const int8_t *tf_runtime_output(void)
{{
    return tf_arena + {output_offset};
}}

size_t tf_runtime_output_bytes(void)
{{
    return {output_bytes};
}}

size_t tf_runtime_arena_bytes(void)
{{
    return sizeof tf_arena;
}}

void tf_runtime_invoke(void)
{{
{calls}
}}
"""
