"""RESHAPE: in place (the output aliases the input's buffer, no code). If the planner cannot alias
it, the emitted code is a byte copy."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport


def _check(ctx: EmitContext) -> None:
    inp, out = ctx.tensor(0), ctx.output()
    if inp is None:
        raise ctx.unsupported("missing input")
    if inp.is_constant:
        raise ctx.unsupported("reshaping a constant tensor is not supported")
    if inp.dtype != out.dtype or inp.size_bytes != out.size_bytes:
        raise ctx.unsupported(f"input {inp.shape} {inp.dtype} and output {out.shape} {out.dtype} "
                              "differ in type or size")
    qi, qo = inp.quantization, out.quantization
    if (qi is None) != (qo is None) or (qi is not None and qo is not None and
                                        (qi.scales, qi.zero_points) != (qo.scales, qo.zero_points)):
        raise ctx.unsupported("input and output quantisation differ")


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = ctx.tensor(0), ctx.output()
    assert inp is not None
    code = f"tf_copy_s8({ctx.pointer(out.index)}, {ctx.pointer(inp.index)}, {inp.size_bytes});"
    return Emitted(code, frozenset({"tf_reshape.c"}), macs=0)


RESHAPE = OpSupport(emit=_emit, check=_check, in_place=True)
