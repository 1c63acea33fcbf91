"""What the element-wise arithmetic operators (ADD, SUB, MUL, SQUARED_DIFFERENCE) share: the checks of
two quantised operands, TFLM's broadcasting turned into a loop nest at generation time, constant
operands, activation bounds per integer type, and the one kernel call of either shape case.

Broadcasting follows TFLM's reference_ops::BroadcastBinaryOpSimple (broadcast_loop.h): shapes are
right-aligned up to rank 8 (its kMaxRank), dimensions that broadcast alike are fused into one loop,
and the innermost loop walks each input with step 0 or 1. The arithmetic is per element, so the
loop order cannot change a result; fusing only keeps the C loops few and long.
"""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted
from tinyflash.generate.runtime.aot.quant import (quantize_multiplier, quantize_multiplier_smaller_than_one,
                                                  round_half_away)
from tinyflash.model.graph import Tensor

MAX_RANK = 8            # TFLM broadcast_loop.h kMaxRank
TYPE_BOUNDS = {"int8": (-128, 127), "int16": (-32768, 32767)}
C_TYPES = {"int8": ("int8_t", "s8"), "int16": ("int16_t", "s16")}
# fused activations TFLM's CalculateActivationRangeQuantized clamps by; it ignores the others
# (TANH, SIGN_BIT) for quantised outputs, which is refused rather than copied
ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
BROADCAST_KERNELS = frozenset({"tf_broadcast.h", "tf_broadcast.c"})


def activation_bounds(activation: str, dtype: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLM CalculateActivationRangeQuantized for an int8 or int16 output (float32 division, then
    TfLiteRound)."""
    qmin, qmax = TYPE_BOUNDS[dtype]

    def quantize(value: float) -> int:
        return zero_point + round_half_away(float(np.float32(value) / np.float32(scale)))

    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    raise ValueError(activation)


def rescale_params(s1: float, s2: float, so: float, left_shift: int, *, squared: bool = False) -> dict[str, int]:
    """The fields of tf_add_params_t for ADD, SUB and SQUARED_DIFFERENCE: both inputs shifted left
    and scaled to twice the larger input scale, the result scaled to the output, all in double from
    the float32 scales (add_common.cc CalculateOpDataAdd, squared_difference.cc PrepareQuantized).

    SUB too: sub_common.cc writes its ratios as float32 expressions, but the golden (the tflite-micro
    package) agrees with the double ones, not with float32 (int16 SUB differs by one in some
    elements otherwise). SQUARED_DIFFERENCE (``squared``) scales the squared difference by a
    multiplier that may exceed one."""
    f1, f2, fo = (float(np.float32(s)) for s in (s1, s2, so))
    twice = 2.0 * max(f1, f2)
    r1, r2 = f1 / twice, f2 / twice
    if squared:
        ro = twice * twice / float(np.float32(1 << (2 * left_shift)) * np.float32(fo))
    else:
        ro = twice / ((1 << left_shift) * fo)
    m1, sh1 = quantize_multiplier_smaller_than_one(r1)
    m2, sh2 = quantize_multiplier_smaller_than_one(r2)
    mo, sho = quantize_multiplier(ro) if squared else quantize_multiplier_smaller_than_one(ro)
    if sho > 30:
        raise ValueError(f"output multiplier {ro} is too large")
    return {"left_shift": left_shift, "in1_mult": m1, "in1_shift": sh1, "in2_mult": m2, "in2_shift": sh2,
            "out_mult": mo, "out_shift": sho}


def loop_nest(a: tuple[int, ...], b: tuple[int, ...], out: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(extent, a step, b step) per loop, innermost first: BroadcastBinaryOpSimple's fused loops. The
    output is written in order, so its strides are implied."""
    rank = max(len(a), len(b), len(out))
    ea, eb, eo = ((1,) * (rank - len(s)) + tuple(s) for s in (a, b, out))
    loops: list[list[int]] = []
    acc_a = acc_b = 1
    for da, db, do in zip(reversed(ea), reversed(eb), reversed(eo)):
        sa = 0 if da == 1 and do != 1 else acc_a
        sb = 0 if db == 1 and do != 1 else acc_b
        if loops and loops[-1][0] == 1:
            loops[-1] = [do, sa, sb]        # a loop of one pass: its strides never matter
        elif loops and (do == 1 or (_continues(sa, acc_a, loops[-1][1]) and _continues(sb, acc_b, loops[-1][2]))):
            loops[-1][0] *= do
        else:
            loops.append([do, sa, sb])
        acc_a *= da
        acc_b *= db
    return [(n, sa, sb) for n, sa, sb in loops] or [(1, 1, 1)]


def _continues(stride: int, accumulated: int, inner_stride: int) -> bool:
    """TFLM CanFuseLoops for one operand: a dimension continues the inner loop when both broadcast
    (stride 0) or both walk contiguously."""
    return stride == 0 if inner_stride == 0 else stride == accumulated


def check_binary(ctx: EmitContext, types: tuple[str, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """Both inputs and the output of one integer type out of ``types``, per-tensor quantised, the
    output of the broadcast shape, at most one constant input. Returns (a, b, out)."""
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    if a is None or b is None:
        raise ctx.unsupported("two inputs are required")
    if not a.dtype == b.dtype == out.dtype or a.dtype not in types:
        raise ctx.unsupported(f"types {a.dtype}, {b.dtype} -> {out.dtype} are not supported (inputs and output "
                              f"must all be one of {', '.join(types)})")
    if a.is_constant and b.is_constant:
        raise ctx.unsupported("both inputs are constant (fold the operator away before converting)")
    for t in (a, b, out):
        if t.quantization is None or t.quantization.per_channel:
            raise ctx.unsupported(f"'{t.name}' must be per-tensor quantised")
        if t.elements == 0:
            raise ctx.unsupported(f"'{t.name}' is empty ({t.shape})")
    if max(len(a.shape), len(b.shape), len(out.shape)) > MAX_RANK:
        raise ctx.unsupported(f"ranks above {MAX_RANK} are not supported (TFLM's broadcast limit)")
    try:
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise ctx.unsupported(f"shapes {a.shape} and {b.shape} do not broadcast") from None
    if shape != tuple(out.shape):
        raise ctx.unsupported(f"output shape {out.shape} is not the broadcast shape {shape}")
    activation = ctx.op.options.get("activation", "NONE")
    if activation not in ACTIVATIONS:
        raise ctx.unsupported(f"fused activation {activation} is not supported ({', '.join(ACTIVATIONS)})")
    return a, b, out


def check_symmetric_int16(ctx: EmitContext, *tensors: Tensor) -> None:
    """int16 tensors are symmetric in TFLite's 16x8 scheme; TFLM asserts (or assumes) zero points 0."""
    for t in tensors:
        if t.dtype == "int16" and t.quantization is not None and t.quantization.zero_point != 0:
            raise ctx.unsupported(f"int16 tensor '{t.name}' has zero point {t.quantization.zero_point}; "
                                  "int16 tensors must have zero point 0")


def operand(ctx: EmitContext, t: Tensor, stem: str) -> str:
    """C expression of an input: its arena pointer, or a const array in flash for a constant."""
    if t.is_constant:
        return ctx.constant(stem, t.array())
    return ctx.pointer(t.index)


def emit_binary(ctx: EmitContext, row: str, params_type: str, values: dict[str, int],
                kernels: frozenset[str]) -> Emitted:
    """One call of the operator's row function ``row``: straight over the flat tensors when both
    inputs have the output's shape, else through tf_broadcast's loop nest."""
    a, b, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert a is not None and b is not None
    params = ctx.params(params_type, values)
    pa, pb, po = operand(ctx, a, "input1"), operand(ctx, b, "input2"), ctx.pointer(out.index)
    if a.shape == b.shape:
        code = f"{row}(&{params}, {pa}, 1, {pb}, 1, {po}, {out.elements});"
        return Emitted(code, kernels | BROADCAST_KERNELS, macs=0)
    loops = loop_nest(a.shape, b.shape, out.shape)
    name = f"tf_n{ctx.op.index}_loops"
    inits = ", ".join(f"{{{n}, {sa}, {sb}}}" for n, sa, sb in loops)
    ctx.constants.append(f"static const tf_broadcast_t {name} = {{.levels = {len(loops)}, "
                         f".elem_bytes = {a.size_bytes // a.elements}, .loop = {{{inits}}}}};")
    code = f"tf_broadcast(&{name}, &{params}, {pa}, {pb}, {po}, {row});"
    return Emitted(code, kernels | BROADCAST_KERNELS, macs=0)
