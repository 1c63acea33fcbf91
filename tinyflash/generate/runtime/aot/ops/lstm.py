"""UNIDIRECTIONAL_SEQUENCE_LSTM, the int8 kernel TFLM runs (unidirectional_sequence_lstm.cc with
lstm_eval.h EvalLstm<int8_t, int8_t, int16_t, int32_t>): int8 input, weights and hidden state, int16
cell state, per-tensor scales. TFLM's kernel is the standard LSTM only: it refuses CIFG, peephole,
projection and layer normalisation, and so does this emitter."""

from __future__ import annotations

import numpy as np

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.recurrent_quant import (GATE_OUTPUT_SCALE, TensorRule, cell_scale_power,
                                                                check_operand, folded_bias, gate_multiplier,
                                                                mul_multiplier, quantized_cell_clip)
from tinyflash.generate.runtime.aot.quant import sigmoid_table_q16

KERNELS = frozenset({"tf_lstm.c", "tf_lstm.h", "tf_matvec.c", "tf_matvec.h"})
SIMD_KERNELS = frozenset({"tf_fast.h", "tf_recurrent_simd.h"})
INPUTS = 24
# operand positions (lstm_shared.h) per gate in the kernel's order (tf_lstm.h TF_LSTM_*):
# (input weights, recurrent weights, bias)
GATES = ((2, 6, 13), (1, 5, 12), (3, 7, 14), (4, 8, 15))    # forget, input, cell, output
HIDDEN, CELL = 18, 19
VARIANTS = {"CIFG (no input gate)": (1, 5, 12), "peephole": (9, 10, 11), "projection": (16, 17),
            "layer normalisation": (20, 21, 22, 23)}
# TFLM computes the cell gate with sigmoid or tanh only, and a flatbuffer can only say TANH
CELL_ACTIVATIONS = ("TANH",)


def _rules() -> tuple[TensorRule, ...]:
    weights = [TensorRule(i, f"weights {i}", ("int8",), True, 2) for gate in GATES for i in gate[:2]]
    biases = [TensorRule(gate[2], f"bias {gate[2]}", ("int32",), True, 1) for gate in GATES]
    return (TensorRule(0, "input", ("int8",), False, 3), *weights, *biases)


def _check(ctx: EmitContext) -> None:
    if len(ctx.op.inputs) != INPUTS:
        raise ctx.unsupported(f"{len(ctx.op.inputs)} inputs; TFLM's LSTM takes {INPUTS}")
    inp = ctx.tensor(0)
    if inp is not None and inp.dtype in ("float32", "int16"):
        raise ctx.unsupported(f"{inp.dtype} activations are not supported (the int8 kernel only)")
    for variant, positions in VARIANTS.items():
        present = [p for p in positions if ctx.tensor(p) is not None]
        if variant.startswith("CIFG") and len(present) == len(positions):
            continue
        if variant.startswith("CIFG") or present:
            raise ctx.unsupported(f"the {variant} LSTM is not supported (TFLM's integer kernel runs the "
                                  "standard LSTM only)")
    inp = check_operand(ctx, TensorRule(0, "input", ("int8",), False, 3))
    for rule in _rules()[1:]:
        check_operand(ctx, rule)
    hidden = check_operand(ctx, TensorRule(HIDDEN, "hidden state", ("int8",), False, 2))
    cell = check_operand(ctx, TensorRule(CELL, "cell state", ("int16",), False, 2))
    for t in (hidden, cell):
        if not t.is_variable:
            raise ctx.unsupported(f"the state '{t.name}' must be a variable tensor")
    options = ctx.op.options
    time_major = bool(options.get("time_major", False))
    batches = inp.shape[1] if time_major else inp.shape[0]
    input_size = inp.shape[2]
    units = hidden.shape[-1]
    for gate in GATES:
        w_in, w_rec, bias = (ctx.tensor(p) for p in gate)
        assert w_in and w_rec and bias
        if w_in.shape != (units, input_size) or w_rec.shape != (units, units) or bias.shape != (units,):
            raise ctx.unsupported(f"gate weights {w_in.shape}, {w_rec.shape} and bias {bias.shape} do not fit "
                                  f"{units} units of input size {input_size}")
    out = ctx.output()
    if hidden.elements != batches * units or cell.elements != batches * units:
        raise ctx.unsupported(f"states {hidden.shape}, {cell.shape} do not hold {batches} x {units}")
    if out.dtype != "int8" or out.shape != (inp.shape[0], inp.shape[1], units):
        raise ctx.unsupported(f"the output '{out.name}' must be int8 of shape {(inp.shape[0], inp.shape[1], units)}")
    if options.get("activation", "TANH") not in CELL_ACTIVATIONS:
        raise ctx.unsupported(f"cell activation {options.get('activation')} is not supported (TANH only, as TFLM)")
    if options.get("diagonal_recurrent_tensors", False):
        raise ctx.unsupported("diagonal recurrent weights are not supported (TFLM's kernel has full matrices)")
    if float(options.get("cell_clip", 0.0)) < 0:
        raise ctx.unsupported(f"a negative cell clip ({options.get('cell_clip')}) is not supported")
    assert cell.quantization is not None
    shift = 12 + cell_scale_power(cell.quantization.scale)
    if not -31 < shift <= 15:
        raise ctx.unsupported(f"cell state scale {cell.quantization.scale} is out of the integer tanh's range")


def _emit(ctx: EmitContext) -> Emitted:
    inp, hidden, cell, out = ctx.tensor(0), ctx.tensor(HIDDEN), ctx.tensor(CELL), ctx.output()
    assert inp and hidden and cell and inp.quantization and hidden.quantization and cell.quantization
    options = ctx.op.options
    time_major = bool(options.get("time_major", False))
    time_steps, batches = (inp.shape[0], inp.shape[1]) if time_major else (inp.shape[1], inp.shape[0])
    input_size, units = inp.shape[2], hidden.shape[-1]
    in_zp, hidden_zp = inp.quantization.zero_point, hidden.quantization.zero_point
    in_rq, rec_rq, w_in, w_rec, b_in, b_rec = [], [], [], [], [], []
    for pos_in, pos_rec, pos_bias in GATES:
        t_in, t_rec, t_bias = ctx.tensor(pos_in), ctx.tensor(pos_rec), ctx.tensor(pos_bias)
        assert t_in and t_rec and t_bias and t_in.quantization and t_rec.quantization
        in_rq.append(gate_multiplier(inp.quantization.scale, t_in.quantization.scale))
        rec_rq.append(gate_multiplier(hidden.quantization.scale, t_rec.quantization.scale))
        w_in.append(t_in.array())
        w_rec.append(t_rec.array())
        b_in.append(folded_bias(t_in.array(), in_zp, t_bias.array()))
        b_rec.append(folded_bias(t_rec.array(), hidden_zp))
    cell_scale = cell.quantization.scale
    tanh_shift = 12 + cell_scale_power(cell_scale)       # lstm_eval.cc Tanh: (15 + power) - 3
    tanh_mult, tanh_shift = (3 << tanh_shift, 0) if tanh_shift >= 0 else (3, -tanh_shift)
    forget = mul_multiplier(GATE_OUTPUT_SCALE, cell_scale, cell_scale)
    update = mul_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, cell_scale)
    to_hidden = mul_multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, hidden.quantization.scale)
    ctx.shared_table("tf_sigmoid_q16", sigmoid_table_q16())     # tf_lstm.c's gate activations
    clip = float(options.get("cell_clip", 0.0))
    fields: dict[str, int | list[int]] = {
        "batches": batches, "time_steps": time_steps, "input_size": input_size, "units": units,
        "time_major": int(time_major),
        "in_mult": [m for m, _ in in_rq], "in_shift": [s for _, s in in_rq],
        "rec_mult": [m for m, _ in rec_rq], "rec_shift": [s for _, s in rec_rq],
        "forget_mult": forget[0], "forget_shift": forget[1], "input_mult": update[0], "input_shift": update[1],
        "hidden_mult": to_hidden[0], "hidden_shift": to_hidden[1], "hidden_zp": hidden_zp,
        "cell_clip": quantized_cell_clip(clip, cell_scale) if clip > 0 else 0,
        "cell_tanh_mult": tanh_mult, "cell_tanh_shift": tanh_shift}
    params = _params(ctx, fields)
    names = [ctx.constant("w_in", np.concatenate(w_in)), ctx.constant("b_in", np.concatenate(b_in)),
             ctx.constant("w_rec", np.concatenate(w_rec)), ctx.constant("b_rec", np.concatenate(b_rec))]
    kernels, matvec = KERNELS, "tf_matvec_s8_portable"
    if ctx.dsp_kernels:
        kernels, matvec = KERNELS | SIMD_KERNELS, "tf_rnn_matvec_s8_simd"
    code = (f"tf_lstm_s8(&{params}, {ctx.pointer(inp.index)}, {', '.join(names)}, {ctx.pointer(hidden.index)}, "
            f"(int16_t *){ctx.pointer(cell.index)}, (int32_t *)tf_scratch, {ctx.pointer(out.index)}, {matvec});")
    macs = batches * time_steps * 4 * units * (input_size + units)
    return Emitted(code, kernels, macs=macs, scratch_bytes=40 * units)


def _params(ctx: EmitContext, fields: dict[str, int | list[int]]) -> str:
    """tf_lstm_params_t's constant (ctx.params without the per-gate arrays); its name."""
    def init(value: int | list[int]) -> str:
        return "{" + ", ".join(str(int(v)) for v in value) + "}" if isinstance(value, list) else str(int(value))

    name = f"tf_n{ctx.op.index}_params"
    inits = ", ".join(f".{key} = {init(value)}" for key, value in fields.items())
    ctx.constants.append(f"static const tf_lstm_params_t {name} = {{{inits}}};")
    return name


UNIDIRECTIONAL_SEQUENCE_LSTM = OpSupport(emit=_emit, check=_check)
