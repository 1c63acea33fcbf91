"""What an operator emitter receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from tinyflash.errors import UnsupportedOperatorError
from tinyflash.model.graph import Graph, Operator, Tensor

_CTYPES = {np.dtype("int8"): "int8_t", np.dtype("int16"): "int16_t", np.dtype("int32"): "int32_t",
           np.dtype("uint8"): "uint8_t", np.dtype("uint16"): "uint16_t", np.dtype("uint32"): "uint32_t"}


@dataclass(frozen=True)
class RowWindow:
    """A band of a spatial layer's output rows (patches.py): the kernel reads an input of in_h rows
    (the first at the pointer it is given) below pad_h rows of padding, and writes out_h output rows.
    Rows past in_h read as padding, as they do below a whole input."""
    in_h: int
    out_h: int
    pad_h: int


@dataclass
class EmitContext:
    graph: Graph
    op: Operator
    pointer: Callable[[int], str]             # C expression of an activation tensor's address
    constants: list[str] = field(default_factory=list)   # C definitions collected for model.c
    dsp_kernels: bool = False      # the core has the DSP extension and SIMD kernels were not turned off
    mve_kernels: bool = False      # the core has Helium (MVE) and SIMD kernels were not turned off
    # the planner put the output in the buffer of this input (OpSupport.overwrites): the kernel must
    # read each input value before it writes over it
    overwrites_input: Optional[int] = None
    flash_bytes: int = 0           # the board's flash, for layers that trade it for speed (0: unknown)
    notes: list[str] = field(default_factory=list)       # choices worth reporting (RuntimeOutput.notes)
    # emit the layer for one band of its rows (CONV_2D, DEPTHWISE_CONV_2D; patches.py), not the whole map
    rows: Optional[RowWindow] = None

    def tensor(self, position: int) -> Optional[Tensor]:
        index = self.op.inputs[position] if position < len(self.op.inputs) else -1
        return None if index < 0 else self.graph.tensors[index]

    def output(self, position: int = 0) -> Tensor:
        return self.graph.tensors[self.op.outputs[position]]

    def unsupported(self, detail: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(self.op.opcode, self.op.index, detail)

    def constant(self, stem: str, values: np.ndarray) -> str:
        """Define a const array (kept in flash) and return its C name."""
        name = f"tf_n{self.op.index}_{stem}"
        ctype = _CTYPES[values.dtype]
        flat = values.reshape(-1).tolist()
        rows = [", ".join(str(v) for v in flat[i:i + 24]) for i in range(0, len(flat), 24)]
        body = ",\n    ".join(rows)
        self.constants.append(f"static const {ctype} {name}[{len(flat)}] __attribute__((aligned(4))) = {{\n    {body}\n}};")
        return name

    def shared_table(self, name: str, values: np.ndarray) -> str:
        """Define a const array once per model.c, visible to the kernels' .c files (which declare it
        extern): a table every node of an operator shares, derived at generation time."""
        flat = values.reshape(-1).tolist()
        rows = [", ".join(str(v) for v in flat[i:i + 16]) for i in range(0, len(flat), 16)]
        body = ",\n    ".join(rows)
        text = f"const {_CTYPES[values.dtype]} {name}[{len(flat)}] = {{\n    {body}\n}};"
        if text not in self.constants:
            self.constants.append(text)
        return name

    def layer_function(self, attrs: str, call: str, args: dict[str, int]) -> str:
        """Put a kernel call in the layer's own function, tf_n<i>_run, compiled with ``attrs`` (the SIMD
        headers' per-layer optimisation attributes). ``args`` maps the function's pointer parameters
        (the call's names for them, the output last as 'out') to their tensors. Returns the statement
        that calls it from tf_runtime_invoke."""
        name = f"tf_n{self.op.index}_run"
        params = ", ".join(f"int8_t *{arg}" if arg == "out" else f"const int8_t *{arg}" for arg in args)
        self.constants.append(f"static {attrs} void {name}({params})\n{{\n    {call}\n}}")
        return f"{name}({', '.join(self.pointer(t) for t in args.values())});"

    def params(self, ctype: str, fields: dict[str, int]) -> str:
        name = f"tf_n{self.op.index}_params"
        inits = ", ".join(f".{k} = {int(v)}" for k, v in fields.items())
        self.constants.append(f"static const {ctype} {name} = {{{inits}}};")
        return name


def rq_table(ctx: EmitContext, rows: np.ndarray) -> str:
    """A layer's requantisation rows (quant.requant_rows) as tf_fast.h's const tf_rq_t array; its name."""
    name = f"tf_n{ctx.op.index}_rq"
    body = ",\n    ".join("{" + ", ".join(str(int(v)) for v in row) + "}" for row in rows)
    ctx.constants.append(f"static const tf_rq_t {name}[{len(rows)}] = {{\n    {body}\n}};")
    return name


@dataclass(frozen=True)
class Emitted:
    code: str                     # C statement(s) run in tf_runtime_invoke
    kernels: frozenset[str]       # kernel .c/.h files (templates/runtime/aot/kernels) it needs
    macs: int = 0
    scratch_bytes: int = 0        # shared scratch buffer (tf_scratch in model.c) the code uses


@dataclass(frozen=True)
class OpSupport:
    emit: Callable[[EmitContext], Emitted]
    check: Callable[[EmitContext], None]
    in_place: bool = False        # output aliases input 0 (RESHAPE): no code, no memory
    # input positions whose buffer the kernel can write its output over, most wanted first (e.g. an
    # element-wise ADD: either input); the planner takes the first input that dies at this operator,
    # is at least as large as the output and is no other input of it, and tells emit through
    # EmitContext.overwrites_input (#14.2)
    overwrites: Optional[Callable[[EmitContext], tuple[int, ...]]] = None
    # the emitter handles options["residual"]: the ADD that followed it folded in (fusion.py); asked
    # per layer and ADD with the board's kernel paths set in the context
    fuses_add: Optional[Callable[[EmitContext, Operator], bool]] = None


def require_int8(ctx: EmitContext, *positions: int) -> None:
    for pos in positions:
        t = ctx.tensor(pos)
        if t is not None and t.dtype != "int8":
            raise ctx.unsupported(f"input {pos} ('{t.name}') is {t.dtype}; only int8 is supported")
    for out in ctx.op.outputs:
        t = ctx.graph.tensors[out]
        if t.dtype != "int8":
            raise ctx.unsupported(f"output '{t.name}' is {t.dtype}; only int8 is supported")
