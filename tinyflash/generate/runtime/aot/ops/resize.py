"""RESIZE_NEAREST_NEIGHBOR (TFLM resize_nearest_neighbor.cc / reference_ops::ResizeNearestNeighbor):
int8, int16 and float32 NHWC, a constant size, align_corners and half_pixel_centers, up- and
downscaling. The source row and column of every output row and column are computed here with
TFLM's float32 arithmetic (GetNearestNeighbor) and emitted as tables; the kernel (tf_resize.c)
copies pixels, and output rows that repeat the row above with one memcpy."""

from __future__ import annotations

import math

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.movement import activation_input, constant_ints, require_types
from tinyflash.model.graph import DTYPE_SIZES

TYPES = ("int8", "int16", "float32")       # ResizeNearestNeighborEval's types
KERNELS = frozenset({"tf_resize.c", "tf_resize.h"})


def nearest(out_size: int, in_size: int, align_corners: bool, half_pixel_centers: bool) -> list[int]:
    """GetNearestNeighbor for every output index, in float32 as TFLM computes it."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    result = []
    for v in range(out_size):
        x = float((f32(v) + offset) * scale)
        # TfLiteRound rounds half away from zero; float32 + 0.5 is exact in a double
        near = int(math.copysign(math.floor(abs(x) + 0.5), x)) if align_corners else math.floor(x)
        near = min(near, in_size - 1)
        result.append(max(0, near) if half_pixel_centers else near)
    return result


def _check(ctx: EmitContext) -> None:
    require_types(ctx, TYPES, 0)
    inp, out = activation_input(ctx), ctx.output()
    if len(inp.shape) != 4:
        raise ctx.unsupported(f"input {inp.shape} is not 4-D (TFLM resizes NHWC tensors)")
    size = constant_ints(ctx, 1, "size")
    if len(size) != 2 or min(size) < 1:
        raise ctx.unsupported(f"size {size} is not two positive extents")
    expected = (inp.shape[0], size[0], size[1], inp.shape[3])
    if out.shape != expected:
        raise ctx.unsupported(f"output shape {out.shape} is not the resized input's {expected}")
    if min(inp.shape) < 1:
        raise ctx.unsupported(f"input {inp.shape} is empty")


def _emit(ctx: EmitContext) -> Emitted:
    inp, out = activation_input(ctx), ctx.output()
    batches, in_h, in_w, depth = inp.shape
    _, out_h, out_w, _ = out.shape
    corners = bool(ctx.op.options.get("align_corners", False))
    half = bool(ctx.op.options.get("half_pixel_centers", False))
    rows = ctx.constant("rows", np.array(nearest(out_h, in_h, corners, half), dtype=np.int32))
    cols = ctx.constant("cols", np.array(nearest(out_w, in_w, corners, half), dtype=np.int32))
    index = ctx.op.index
    ctx.constants.append(
        f"static const tf_resize_params_t tf_n{index}_params = {{.batches = {batches}, .in_h = {in_h}, "
        f".in_w = {in_w}, .out_h = {out_h}, .out_w = {out_w}, .pixel_bytes = {depth * DTYPE_SIZES[out.dtype]}, "
        f".rows = {rows}, .cols = {cols}}};")
    code = f"tf_resize_nearest(&tf_n{index}_params, {ctx.pointer(inp.index)}, {ctx.pointer(out.index)});"
    return Emitted(code, KERNELS, macs=0)


RESIZE_NEAREST_NEIGHBOR = OpSupport(emit=_emit, check=_check)
