"""RESHAPE: in place (the output aliases the input's buffer, no code). If the planner cannot alias
it, the emitted code is a byte copy. SQUEEZE and EXPAND_DIMS (squeeze.py) are the same in place copy
with their own shape rules: check_alias and emit_copy are theirs too."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.model.graph import Tensor


def check_alias(ctx: EmitContext) -> Tensor:
    """Input 0 when the output can be it under another shape: an activation tensor (the planner
    aliases only those) of the output's type and byte size."""
    inp, out = ctx.tensor(0), ctx.output()
    if inp is None:
        raise ctx.unsupported("missing input")
    if inp.is_constant:
        raise ctx.unsupported(f"{ctx.op.opcode} of a constant tensor is not supported; fold it when converting "
                              "the model")
    if inp.dtype != out.dtype or inp.size_bytes != out.size_bytes:
        raise ctx.unsupported(f"input {inp.shape} {inp.dtype} and output {out.shape} {out.dtype} "
                              "differ in type or size")
    return inp


def _check(ctx: EmitContext) -> None:
    inp, out = check_alias(ctx), ctx.output()
    qi, qo = inp.quantization, out.quantization
    if (qi is None) != (qo is None) or (qi is not None and qo is not None and
                                        (qi.scales, qi.zero_points) != (qo.scales, qo.zero_points)):
        raise ctx.unsupported("input and output quantisation differ")


def emit_copy(ctx: EmitContext) -> Emitted:
    """The byte copy run only where the planner could not alias the output."""
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    code = f"tf_copy_s8({ctx.pointer(out.index)}, {ctx.pointer(inp.index)}, {inp.size_bytes});"
    return Emitted(code, frozenset({"tf_reshape.c"}), macs=0)


RESHAPE = OpSupport(emit=emit_copy, check=_check, in_place=True)
