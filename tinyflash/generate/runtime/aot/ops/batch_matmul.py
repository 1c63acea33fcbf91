"""BATCH_MATMUL int8 and int16 (TFLM batch_matmul.cc, reference_ops::BatchMatMul): adj_x / adj_y,
broadcast batch dimensions, ranks 2..5, each operand a constant or an activation (both may be the same
tensor). No fused activation: the output clamps to its type's range."""

from __future__ import annotations

import math

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.fully_connected import FAST_MATMUL_KERNELS, INT16_MAX, INT16_MIN
from tinyflash.generate.runtime.aot.quant import INT8_MAX, INT8_MIN, fc_real_multiplier, quantize_multiplier
from tinyflash.model.graph import Tensor

KERNELS = frozenset({"tf_batch_matmul.h", "tf_batch_matmul.c", "tf_fc16.h"})
BATCH_DIMS = 3                      # ranks up to 5, as TFLM
MAX_SIMD_SCRATCH = 64 * 1024        # the packed operands of one batch; beyond this the layer stays portable


def _extended(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (1,) * (BATCH_DIMS + 2 - len(shape)) + shape


def _matrix(ctx: EmitContext) -> dict[str, int]:
    """Rows, columns, depth and the element strides of both operands (tf_bmm_params_t)."""
    lhs, rhs = ctx.tensor(0), ctx.tensor(1)
    assert lhs is not None and rhs is not None
    adj_x, adj_y = bool(ctx.op.options.get("adj_x")), bool(ctx.op.options.get("adj_y"))
    l_r, l_c = lhs.shape[-2:]
    r_r, r_c = rhs.shape[-2:]
    rows, depth = (l_c, l_r) if adj_x else (l_r, l_c)
    cols, r_depth = (r_r, r_c) if adj_y else (r_c, r_r)
    return {"rows": rows, "cols": cols, "depth": depth, "rhs_depth_dim": r_depth,
            "lhs_row": 1 if adj_x else l_c, "lhs_depth": l_c if adj_x else 1,
            "rhs_col": r_c if adj_y else 1, "rhs_depth": 1 if adj_y else r_c}


def _batch_strides(shape: tuple[int, ...], matrix: int) -> list[int]:
    """Element strides of the batch dimensions of an extended shape, 0 where it broadcasts."""
    return [0 if shape[i] == 1 else math.prod(shape[i + 1:BATCH_DIMS]) * matrix for i in range(BATCH_DIMS)]


def _check(ctx: EmitContext) -> None:
    lhs, rhs, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    if lhs is None or rhs is None or len(ctx.op.inputs) != 2:
        raise ctx.unsupported("BATCH_MATMUL takes exactly two operands")
    if lhs.dtype not in ("int8", "int16") or rhs.dtype != lhs.dtype or out.dtype != lhs.dtype:
        raise ctx.unsupported(f"operands {lhs.dtype}, {rhs.dtype} and output {out.dtype}: int8 or int16, the same "
                              "for all three (TFLM has no hybrid or int32-output form)")
    for t in (lhs, rhs):
        if not 2 <= len(t.shape) <= BATCH_DIMS + 2 or min(t.shape) < 1:
            raise ctx.unsupported(f"operand '{t.name}' {t.shape} must have rank 2 to 5")
    for t in (lhs, rhs, out):
        if t.quantization is None or t.quantization.per_channel:
            raise ctx.unsupported(f"'{t.name}' must be per-tensor quantised")
        # TFLM refuses the int16 form with other zero points (batch_matmul.cc Prepare)
        if lhs.dtype == "int16" and t.quantization.zero_point != 0:
            raise ctx.unsupported(f"int16: '{t.name}' must have zero point 0")
    m = _matrix(ctx)
    if m["depth"] != m["rhs_depth_dim"]:
        raise ctx.unsupported(f"operands {lhs.shape} and {rhs.shape} (adj_x {ctx.op.options.get('adj_x')}, "
                              f"adj_y {ctx.op.options.get('adj_y')}) do not share a depth")
    l_ext, r_ext = _extended(lhs.shape), _extended(rhs.shape)
    batches = []
    for a, b in zip(l_ext[:BATCH_DIMS], r_ext[:BATCH_DIMS]):
        if a != b and 1 not in (a, b):
            raise ctx.unsupported(f"batch dimensions of {lhs.shape} and {rhs.shape} do not broadcast")
        batches.append(max(a, b))
    rank = max(len(lhs.shape), len(rhs.shape))
    expected = tuple(batches[BATCH_DIMS + 2 - rank:]) + (m["rows"], m["cols"])
    if out.shape != expected:
        raise ctx.unsupported(f"output {out.shape} is not the product's shape {expected}")
    if lhs.dtype == "int16" and _requant(lhs, rhs, out)[1] >= 8:
        raise ctx.unsupported("an effective output scale of 2^7 or more is not supported (TFLM asserts "
                              "shift < 8 in its int64 requantisation)")


def _requant(lhs: Tensor, rhs: Tensor, out: Tensor) -> tuple[int, int]:
    # GetQuantizedConvolutionMultipler: the float32 product of the operand scales over the output's
    assert lhs.quantization and rhs.quantization and out.quantization
    return quantize_multiplier(fc_real_multiplier(lhs.quantization.scale, rhs.quantization.scale,
                                                  out.quantization.scale))


def _packed(t: Tensor, transpose: bool, offset: int, kp: int) -> np.ndarray:
    """A constant operand as tf_fast_bmm reads it: int16 [batch...][rows][kp], the offset added."""
    a = t.array().reshape(_extended(t.shape)).astype(np.int32)
    if transpose:
        a = np.swapaxes(a, -1, -2)
    if t.dtype == "int8":
        a = a + offset
    depth = int(np.shape(a)[a.ndim - 1])
    a = np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, kp - depth)])
    return np.ascontiguousarray(a.astype(np.int16))


def _emit(ctx: EmitContext) -> Emitted:
    lhs, rhs, out = ctx.tensor(0), ctx.tensor(1), ctx.output()
    assert lhs is not None and rhs is not None and lhs.quantization and rhs.quantization and out.quantization
    wide = lhs.dtype == "int16"
    m = _matrix(ctx)
    l_ext, r_ext = _extended(lhs.shape), _extended(rhs.shape)
    batches = [max(a, b) for a, b in zip(l_ext[:BATCH_DIMS], r_ext[:BATCH_DIMS])]
    multiplier, shift = _requant(lhs, rhs, out)
    lo, hi = (INT16_MIN, INT16_MAX) if wide else (INT8_MIN, INT8_MAX)
    fields = {"rows": m["rows"], "cols": m["cols"], "depth": m["depth"], "lhs_row": m["lhs_row"],
              "lhs_depth": m["lhs_depth"], "rhs_col": m["rhs_col"], "rhs_depth": m["rhs_depth"],
              "lhs_offset": -lhs.quantization.zero_point, "rhs_offset": -rhs.quantization.zero_point,
              "output_offset": out.quantization.zero_point, "multiplier": multiplier, "shift": shift,
              "act_min": lo, "act_max": hi}
    macs = math.prod(batches) * m["rows"] * m["cols"] * m["depth"]
    kp = (m["depth"] + 1) // 2 * 2
    l_strides = _batch_strides(l_ext, m["rows"] * m["depth"])
    r_strides = _batch_strides(r_ext, m["cols"] * m["depth"])
    ctype = "int16_t" if wide else "int8_t"
    scratch = ((0 if lhs.is_constant else m["rows"]) + (0 if rhs.is_constant else m["cols"])) * kp * 2
    if ctx.dsp_kernels and scratch <= MAX_SIMD_SCRATCH:
        # constant operands come packed: their batch strides count packed values
        if lhs.is_constant:
            l_strides = _batch_strides(l_ext, m["rows"] * kp)
        if rhs.is_constant:
            r_strides = _batch_strides(r_ext, m["cols"] * kp)
        init = _init(fields, batches, l_strides, r_strides)
        ctx.constants.append(
            f"static const tf_fast_bmm_t tf_n{ctx.op.index}_params = {{.m = {init}, "
            f".kp = {kp}, .lhs_packed = {int(lhs.is_constant)}, .rhs_packed = {int(rhs.is_constant)}, "
            f".wide = {int(wide)}}};")
        args: dict[str, int] = {}
        operands = []
        for t, name, transpose in ((lhs, "lhs", bool(ctx.op.options.get("adj_x"))),
                                   (rhs, "rhs", not ctx.op.options.get("adj_y"))):
            if t.is_constant:
                assert t.quantization is not None
                operands.append(ctx.constant(name, _packed(t, transpose, -t.quantization.zero_point, kp)))
            else:
                args[name] = t.index
                operands.append(name)
        args["out"] = out.index
        code = ctx.layer_function(
            "TF_LAYER_ATTRS", f"tf_fast_bmm(&tf_n{ctx.op.index}_params, {operands[0]}, {operands[1]}, "
                              f"(int16_t *)tf_scratch, out);", args)
        return Emitted(code, FAST_MATMUL_KERNELS, macs=macs, scratch_bytes=scratch)
    ctx.constants.append(f"static const tf_bmm_params_t tf_n{ctx.op.index}_params = "
                         f"{_init(fields, batches, l_strides, r_strides)};")
    pointers = [ctx.constant(name, np.ascontiguousarray(t.array())) if t.is_constant
                else f"(const {ctype} *){ctx.pointer(t.index)}" for t, name in ((lhs, "lhs"), (rhs, "rhs"))]
    code = (f"tf_batch_matmul_{'s16' if wide else 's8'}(&tf_n{ctx.op.index}_params, {pointers[0]}, {pointers[1]}, "
            f"({ctype} *){ctx.pointer(out.index)});")
    return Emitted(code, KERNELS, macs=macs)


def _init(fields: dict[str, int], batches: list[int], l_strides: list[int], r_strides: list[int]) -> str:
    def array(values: list[int]) -> str:
        return "{" + ", ".join(str(int(v)) for v in values) + "}"

    inits = [f".batches = {array(batches)}", f".lhs_batch = {array(l_strides)}", f".rhs_batch = {array(r_strides)}"]
    inits += [f".{k} = {int(v)}" for k, v in fields.items()]
    return "{" + ", ".join(inits) + "}"


BATCH_MATMUL = OpSupport(emit=_emit, check=_check)
