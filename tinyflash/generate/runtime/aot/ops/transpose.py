"""TRANSPOSE (TFLM transpose.cc / reference_ops::Transpose): int8, int16 and float32 of one to five
axes, a constant permutation. The permuted input is a strided view copied out by tf_slice.c, whose
axes are merged where the permutation keeps them together (a transposition of the last two axes of
a 4-D tensor is a 2-D one; an unmoved innermost axis is copied a run at a time)."""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.movement import (SUFFIXES, activation_input, c_array, constant_ints,
                                                         pointer, require_types, row_major_strides,
                                                         strided_view)

TYPES = ("int8", "int16", "float32")     # TransposeEval's types: int32 is refused by TFLM too
MAX_RANK = 5                             # TransposePrepare: "only supports 1D-5D input arrays"
KERNELS = frozenset({"tf_slice.c", "tf_slice.h"})


def _check(ctx: EmitContext) -> None:
    require_types(ctx, TYPES, 0)
    inp, out = activation_input(ctx), ctx.output()
    rank = len(inp.shape)
    if not 1 <= rank <= MAX_RANK:
        raise ctx.unsupported(f"input has {rank} dimensions; TFLM's TRANSPOSE supports 1 to {MAX_RANK}")
    perm = constant_ints(ctx, 1, "permutation")
    if sorted(perm) != list(range(rank)):
        raise ctx.unsupported(f"permutation {perm} is not a permutation of the input's {rank} axes")
    expected = tuple(inp.shape[p] for p in perm)
    if out.shape != expected:
        raise ctx.unsupported(f"output shape {out.shape} is not the input's {inp.shape} permuted by "
                              f"{perm} ({expected})")


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = activation_input(ctx), ctx.output()
    perm = constant_ints(ctx, 1, "permutation")
    strides = row_major_strides(inp.shape)
    dims, steps = strided_view([inp.shape[p] for p in perm], [strides[p] for p in perm])
    suffix = SUFFIXES[out.dtype]
    ctx.constants.append(f"static const tf_slice_params_t tf_n{ctx.op.index}_params = "
                         f"{{.start = 0, .dims = {c_array(dims)}, .steps = {c_array(steps)}}};")
    code = (f"tf_slice_{suffix}(&tf_n{ctx.op.index}_params, {pointer(ctx, inp, suffix, const=True)}, "
            f"{pointer(ctx, out, suffix, const=False)});")
    return Emitted(code, KERNELS, macs=0)


TRANSPOSE = OpSupport(emit=_emit, check=_check)
