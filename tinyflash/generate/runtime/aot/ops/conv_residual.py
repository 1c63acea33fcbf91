"""A residual ADD folded into the CONV_2D that feeds it (#14.2; the planner's fusion.py does the graph
rewrite): the fused operator has the skip tensor as its last input, the ADD's output as its output, and
``options["residual"]``. Each output element is the convolution's int8 value, requantised and clamped
to the convolution's own output quantisation and activation exactly as before, then TFLite's ADD of
that value and the skip element (reference_integer_ops::Add, as ops/add.py): the two requantisations
stay apart, which is what makes the result exact.

Portable path: tf_conv_res.h (tf_conv.c), the ADD's own parameters. DSP path (tf_fast_conv.h
tf_conv_residual): each ADD input's rescaling, (value + offset) << 20 times its multiplier, depends
only on the int8 value, so it is tabulated here (256 int32 per input, exact by construction), and
the sum goes through tf_rq, whose fast form is proven from the tables' extremes. Helium
(tf_mve_conv.h tf_mve_res_t): the ADD's own parameters, tf_mve_add.h's arithmetic over each pixel
pair's convolution values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext
from tinyflash.generate.runtime.aot.quant import activation_range, add_params, multiply_by_quantized_multiplier, \
    requant_rows
from tinyflash.model.graph import Operator, Quantization, Tensor

HEADER = "tf_conv_res.h"
LEFT_SHIFT = 20            # TFLM add_common.cc for int8
_VALUES = np.arange(-128, 128)


@dataclass(frozen=True)
class Residual:
    """What the folded ADD computes, in its own input order."""
    skip: Tensor                 # the ADD's other input
    layer: Quantization          # the convolution's own (now internal) output
    position: int                # which ADD input the convolution fed
    fields: dict[str, int]       # quant.add_params, input 1 and 2 as the ADD had them
    offsets: tuple[int, int]     # -zero point of ADD input 1 and 2
    out_zp: int
    act_min: int
    act_max: int


def _make(graph_tensors: tuple[Tensor, ...], layer_output: int, skip: Tensor, position: int, activation: str,
          out: Tensor) -> Residual:
    layer_q = graph_tensors[layer_output].quantization
    assert layer_q is not None and skip.quantization is not None and out.quantization is not None
    in1, in2 = (layer_q, skip.quantization) if position == 0 else (skip.quantization, layer_q)
    fields = add_params(in1.scale, in2.scale, out.quantization.scale, LEFT_SHIFT)
    act_min, act_max = activation_range(activation, out.quantization.scale, out.quantization.zero_point)
    return Residual(skip, layer_q, position, fields, (-in1.zero_point, -in2.zero_point),
                    out.quantization.zero_point, act_min, act_max)


def residual_of(ctx: EmitContext) -> Residual | None:
    """The folded ADD of a fused CONV_2D, or None."""
    folded = ctx.op.options.get("residual")
    if folded is None:
        return None
    skip = ctx.tensor(len(ctx.op.inputs) - 1)
    assert skip is not None
    return _make(ctx.graph.tensors, folded["layer_output"], skip, folded["position"], folded["activation"],
                 ctx.output())


def tables(res: Residual) -> tuple[np.ndarray, np.ndarray]:
    """int32 [256] per input, index value + 128: the ADD's rescaled convolution value and skip value."""
    f = res.fields

    def rescaled(which: int) -> np.ndarray:
        mult, shift, offset = f[f"in{which}_mult"], f[f"in{which}_shift"], res.offsets[which - 1]
        return np.array([multiply_by_quantized_multiplier((int(v) + offset) << LEFT_SHIFT, mult, shift)
                         for v in _VALUES], dtype=np.int32)

    mine, other = (1, 2) if res.position == 0 else (2, 1)
    return rescaled(mine), rescaled(other)


def fast_rows(res: Residual) -> tuple[np.ndarray, int] | None:
    """tf_rq's row and mode for the ADD's output rescaling of any table sum, or None when not proven.
    requant_rows bounds |acc| by |bias| + 128 sum|w|: a zero bias and a weight sum of
    ceil(max |sum| / 128) stand for the largest sum of the two tables."""
    conv_tab, skip_tab = tables(res)
    bound = int(np.abs(conv_tab.astype(np.int64)).max()) + int(np.abs(skip_tab.astype(np.int64)).max())
    return requant_rows(np.array([res.fields["out_mult"]], np.int32), np.array([res.fields["out_shift"]], np.int32),
                        np.zeros(1, np.int64), np.array([-(-bound // 128) + 1], np.int64), res.out_zp, res.act_min)


def dsp_params(ctx: EmitContext, res: Residual) -> str:
    """tf_fast_conv.h's tf_conv_res_t for the layer; its C name. fuses_add checked the rows exist."""
    conv_tab, skip_tab = tables(res)
    rq = fast_rows(res)
    assert rq is not None
    (row,), mode = rq
    conv_name, skip_name = ctx.constant("res_conv", conv_tab), ctx.constant("res_skip", skip_tab)
    name = f"tf_n{ctx.op.index}_res"
    ctx.constants.append(
        f"static const tf_conv_res_t {name} = {{.conv_tab = {conv_name}, .skip_tab = {skip_name}, "
        f".rq = {{{', '.join(str(int(v)) for v in row)}}}, .mode = {mode}, .act_min = {res.act_min}, "
        f".act_max = {res.act_max}}};")
    return name


def _add_inits(res: Residual) -> str:
    """The folded ADD's tf_add_params_t initialisers (its size unused)."""
    f = res.fields
    values = {"size": 0, "in1_offset": res.offsets[0], "in1_mult": f["in1_mult"], "in1_shift": f["in1_shift"],
              "in2_offset": res.offsets[1], "in2_mult": f["in2_mult"], "in2_shift": f["in2_shift"],
              "left_shift": f["left_shift"], "out_mult": f["out_mult"], "out_shift": f["out_shift"],
              "output_offset": res.out_zp, "act_min": res.act_min, "act_max": res.act_max}
    return ", ".join(f".{k} = {int(v)}" for k, v in values.items())


def portable_params(ctx: EmitContext, res: Residual) -> str:
    """tf_conv_res.h's tf_conv_res_params_t for the layer; its C name."""
    name = f"tf_n{ctx.op.index}_res"
    ctx.constants.append(f"static const tf_conv_res_params_t {name} = {{.add = {{{_add_inits(res)}}}, "
                         f".position = {res.position}}};")
    return name


def mve_add(ctx: EmitContext, res: Residual) -> str:
    """tf_mve_conv.h's tf_mve_res_t.add for the layer: its own function over tf_mve_add.h's
    tf_mve_add_span with the folded ADD's tf_add_params_t; the function's C name."""
    name = f"tf_n{ctx.op.index}_res"
    ctx.constants.append(f"static const tf_add_params_t {name} = {{{_add_inits(res)}}};")
    ctx.constants.append(f"static TF_MVE_LAYER_ATTRS void {name}_add(const int8_t *in1, const int8_t *in2, "
                         f"int8_t *out, int32_t n)\n{{\n    tf_mve_add_span(&{name}, in1, in2, out, n);\n}}")
    return f"{name}_add"


def fuses_add(ctx: EmitContext, add: Operator) -> bool:
    """OpSupport.fuses_add of CONV_2D: an int8 convolution and a same-shape int8 ADD, on every path,
    on the DSP path only when the ADD's rescaling has tf_rq's proven fast form (else the ADD stays a
    layer of its own; Helium's ADD, tf_mve_add4, is exact for any)."""
    inp, out = ctx.tensor(0), ctx.output()
    if inp is None or inp.dtype != "int8" or out.dtype != "int8" or len(add.inputs) != 2:
        return False
    tensors = ctx.graph.tensors
    a, b, add_out = tensors[add.inputs[0]], tensors[add.inputs[1]], tensors[add.outputs[0]]
    if any(t.dtype != "int8" or t.quantization is None or t.quantization.per_channel for t in (a, b, add_out)) \
            or a.shape != b.shape or add_out.shape != a.shape:
        return False
    position = 0 if add.inputs[0] == ctx.op.outputs[0] else 1
    skip = b if position == 0 else a
    try:
        res = _make(tensors, ctx.op.outputs[0], skip, position, add.options.get("activation", "NONE"), add_out)
    except ValueError:          # scales ADD does not support: it stays a layer and says why
        return False
    return ctx.mve_kernels or not ctx.dsp_kernels or fast_rows(res) is not None


def overwrites(ctx: EmitContext) -> tuple[int, ...]:
    """OpSupport.overwrites of CONV_2D: a fused one may write over its skip tensor (its last input):
    every kernel reads a skip element right before writing the output element over it."""
    return (len(ctx.op.inputs) - 1,) if "residual" in ctx.op.options else ()
