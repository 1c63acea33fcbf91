"""PRELU (TFLM prelu.cc): int8 input and output with an int8 alpha, or int16 with an int8 alpha, as TFLM
allows; alpha a constant or an activation, input and alpha broadcast to the output's shape (up to 4-D)
as BroadcastPrelu4DSlow does. A per-element multiply, not a dot product: no SIMD path."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.quantize import RANGES, per_tensor
from tinyflash.generate.runtime.aot.quant import quantize_multiplier
from tinyflash.model.graph import Tensor

MAX_DIMS = 4


def _extended(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (1,) * (MAX_DIMS - len(shape)) + tuple(shape)


def _strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    """Element strides of ``shape`` read as ``out_shape``: 0 on the axes it is broadcast along."""
    strides, step = [0] * MAX_DIMS, 1
    for axis in reversed(range(MAX_DIMS)):
        strides[axis] = 0 if shape[axis] == 1 and out_shape[axis] != 1 else step
        step *= shape[axis]
    return strides


def _tensors(ctx: EmitContext) -> tuple[Tensor, Tensor, Tensor]:
    inp, alpha, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    if inp is None or alpha is None:
        raise ctx.unsupported("PRELU needs an input and an alpha")
    return inp, alpha, out


def _check(ctx: EmitContext) -> None:
    inp, alpha, out = _tensors(ctx)
    if inp.is_constant:
        raise ctx.unsupported("the input must be an activation tensor")
    if inp.dtype != out.dtype or inp.dtype not in ("int8", "int16") or alpha.dtype != "int8":
        raise ctx.unsupported(f"input {inp.dtype}, alpha {alpha.dtype}, output {out.dtype} is not supported; "
                              "supported: int8 or int16 input and output with an int8 alpha")
    per_tensor(ctx, inp, alpha, out)
    if max(len(inp.shape), len(alpha.shape), len(out.shape)) > MAX_DIMS:
        raise ctx.unsupported(f"shapes beyond {MAX_DIMS}-D are not supported")
    shapes = [_extended(t.shape) for t in (inp, alpha, out)]
    for axis in range(MAX_DIMS):
        sizes = {s[axis] for s in shapes[:2]}
        if shapes[2][axis] != max(sizes) or not sizes <= {1, shapes[2][axis]}:
            raise ctx.unsupported(f"input {inp.shape} and alpha {alpha.shape} do not broadcast to {out.shape}")
    for multiplier, shift in _multipliers(inp, alpha, out):
        if shift > 30:
            raise ctx.unsupported("the scale ratio is too large")


def _multipliers(inp: Tensor, alpha: Tensor, out: Tensor) -> tuple[tuple[int, int], tuple[int, int]]:
    """CalculatePreluParams: both in double from the float32 scales."""
    assert inp.quantization and alpha.quantization and out.quantization
    s_in, s_alpha, s_out = (float(np.float32(t.quantization.scale)) for t in (inp, alpha, out))  # type: ignore[union-attr]
    return quantize_multiplier(s_in / s_out), quantize_multiplier(s_in * s_alpha / s_out)


def _emit(ctx: EmitContext) -> Emitted:
    inp, alpha, out = _tensors(ctx)
    assert inp.quantization and alpha.quantization and out.quantization
    out_shape = _extended(out.shape)
    (m1, s1), (m2, s2) = _multipliers(inp, alpha, out)
    lo, hi = RANGES[out.dtype]

    def array(values: list[int]) -> str:
        return "{" + ", ".join(str(v) for v in values) + "}"

    name = f"tf_n{ctx.op.index}_params"
    ctx.constants.append(
        f"static const tf_prelu_params_t {name} = {{.dims = {array(list(out_shape))}, "
        f".in_strides = {array(_strides(_extended(inp.shape), out_shape))}, "
        f".alpha_strides = {array(_strides(_extended(alpha.shape), out_shape))}, "
        f".input_offset = {-inp.quantization.zero_point}, .alpha_offset = {-alpha.quantization.zero_point}, "
        f".output_offset = {out.quantization.zero_point}, .multiplier_1 = {m1}, .shift_1 = {s1}, "
        f".multiplier_2 = {m2}, .shift_2 = {s2}, .act_min = {lo}, .act_max = {hi}}};")
    alpha_ptr = (ctx.constant("alpha", alpha.array().astype(np.int8)) if alpha.is_constant
                 else ctx.pointer(alpha.index))
    if out.dtype == "int8":
        code = f"tf_prelu_s8(&{name}, {ctx.pointer(inp.index)}, {alpha_ptr}, {ctx.pointer(out.index)});"
    else:
        code = (f"tf_prelu_s16(&{name}, (const int16_t *){ctx.pointer(inp.index)}, {alpha_ptr}, "
                f"(int16_t *){ctx.pointer(out.index)});")
    return Emitted(code, frozenset({"tf_prelu.c", "tf_prelu.h"}))


PRELU = OpSupport(emit=_emit, check=_check)
