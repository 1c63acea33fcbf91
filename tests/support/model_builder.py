"""Building multi-layer int8 test models operator by operator, with output scales calibrated on TFLM
itself: after each operator whose output quantisation is free, the prefix graph runs in TFLM's
reference interpreter on a few random inputs and the output scale is chosen so the values spread over
the int8 range (a model whose every layer saturates or rounds to zero checks nothing).

Used by tests/support/realistic_models.py; written to files by tests/support/tflite_writer.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from tinyflash.model.graph import Graph, Operator, Quantization, Tensor
from tinyflash.run.golden import Golden

from .tflite_writer import write_tflite


def f32(*values: float) -> tuple[float, ...]:
    """Scales as a .tflite file stores them (float32)."""
    return tuple(float(np.float32(v)) for v in values)


def q(scale: float, zero_point: int = 0) -> Quantization:
    return Quantization(f32(scale), (zero_point,))


class ModelBuilder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.tensors: list[Tensor] = []
        self.operators: list[Operator] = []
        self.input: Optional[int] = None

    # -- tensors ----------------------------------------------------------------------------------
    def tensor(self, name: str, shape: Sequence[int], dtype: str = "int8", quant: Optional[Quantization] = None,
               data: Optional[bytes] = None, variable: bool = False) -> int:
        index = len(self.tensors)
        self.tensors.append(Tensor(index, name, tuple(shape), dtype, quant, data, is_variable=variable))
        return index

    def model_input(self, name: str, shape: Sequence[int], dtype: str = "int8",
                    quant: Optional[Quantization] = None) -> int:
        self.input = self.tensor(name, shape, dtype, quant)
        return self.input

    def const(self, name: str, values: np.ndarray, quant: Optional[Quantization] = None) -> int:
        return self.tensor(name, values.shape, str(values.dtype), quant, np.ascontiguousarray(values).tobytes())

    def ints(self, name: str, values: Sequence[Any]) -> int:
        return self.const(name, np.asarray(values, dtype=np.int32))

    def like(self, index: int) -> Tensor:
        return self.tensors[index]

    def softmax_beta(self, logits: int, spread: float = 4.0) -> float:
        """A beta that maps the calibrated logits' ±100 steps onto about ±``spread``: probabilities that
        are neither one-hot nor flat."""
        quant = self.tensors[logits].quantization
        assert quant is not None
        return float(np.float32(spread / (100.0 * quant.scale)))

    # -- operators ----------------------------------------------------------------------------------
    def op(self, opcode: str, inputs: Sequence[int], out_name: str, out_shape: Sequence[int],
           dtype: str = "int8", quant: Optional[Quantization] = None, *, calibrate: bool = False,
           **options: Any) -> int:
        """Add an operator with one new output tensor; ``calibrate`` picks its output scale on TFLM."""
        out = self.tensor(out_name, out_shape, dtype, quant if quant or not calibrate else q(1.0))
        self.operators.append(Operator(len(self.operators), opcode, 1, tuple(inputs), (out,), dict(options)))
        if calibrate:
            self._calibrate(out)
        return out

    def graph(self, output: int) -> Graph:
        assert self.input is not None
        return Graph(tuple(self.tensors), tuple(self.operators), (self.input,), (output,))

    def _calibrate(self, tensor: int, samples: int = 8) -> None:
        """Scale the output so the prefix graph's values, measured at scale 1 then rescaled, use about
        ±100 of the int8 range; zero point 0 (ReLU-like outputs then use half the range)."""
        scale = 1.0
        for _ in range(12):
            self._set_quant(tensor, q(scale))
            values = self._run_prefix(tensor, samples).astype(np.float64)
            spread = float(np.percentile(np.abs(values), 99.5))
            if spread >= 126:        # saturated: the spread is unknown, widen a lot
                scale *= 16.0
            elif spread >= 20:
                return
            else:
                scale *= max(spread, 0.5) / 100.0
        raise AssertionError(f"could not calibrate '{self.tensors[tensor].name}'")

    def _set_quant(self, tensor: int, quant: Quantization) -> None:
        t = self.tensors[tensor]
        self.tensors[tensor] = Tensor(t.index, t.name, t.shape, t.dtype, quant, t.data, is_variable=t.is_variable)

    def _run_prefix(self, tensor: int, samples: int) -> np.ndarray:
        graph = self.graph(tensor)
        with tempfile.TemporaryDirectory() as tmp:
            golden = Golden(write_tflite(graph, Path(tmp) / "prefix.tflite"))
            from .op_harness import random_input
            return np.concatenate([golden.run(random_input(graph, self.rng)) for _ in range(samples)])

    # -- layers with weights (the shapes and quantisation TFLM's int8 kernels expect) -------------------
    def conv(self, x: int, out_c: int, kernel: int = 1, stride: int = 1, padding: str = "SAME",
             activation: str = "NONE", depthwise: bool = False, name: str = "conv") -> int:
        t = self.tensors[x]
        n, h, w, c = t.shape
        assert t.quantization is not None
        if depthwise:
            w_shape: tuple[int, ...] = (1, kernel, kernel, out_c)
        else:
            w_shape = (out_c, kernel, kernel, c)
        weights = self.rng.integers(-127, 128, size=w_shape, dtype=np.int8)
        w_scales = f32(*self.rng.uniform(0.004, 0.02, size=out_c))
        bias = self.rng.integers(-2000, 2000, size=out_c).astype(np.int32)
        wi = self.const(f"{name}/weights", weights, Quantization(w_scales, (0,) * out_c, 3 if depthwise else 0))
        bi = self.const(f"{name}/bias", bias, Quantization(f32(*(t.quantization.scale * s for s in w_scales)),
                                                          (0,) * out_c))
        size = (lambda v: (v + stride - 1) // stride) if padding == "SAME" else \
            (lambda v: (v - kernel) // stride + 1)
        options = {"padding": padding, "stride_h": stride, "stride_w": stride, "dilation_h": 1, "dilation_w": 1,
                   "activation": activation}
        if depthwise:
            options["depth_multiplier"] = out_c // c
        return self.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", (x, wi, bi), f"{name}/out",
                       (n, size(h), size(w), out_c), calibrate=True, **options)

    def fully_connected(self, x: int, units: int, activation: str = "NONE", name: str = "fc") -> int:
        t = self.tensors[x]
        assert t.quantization is not None
        depth = t.shape[-1]
        batches = t.elements // depth
        w_scale = float(self.rng.uniform(0.004, 0.02))
        weights = self.rng.integers(-127, 128, size=(units, depth), dtype=np.int8)
        bias = self.rng.integers(-2000, 2000, size=units).astype(np.int32)
        wi = self.const(f"{name}/weights", weights, q(w_scale))
        bi = self.const(f"{name}/bias", bias, q(t.quantization.scale * w_scale))
        return self.op("FULLY_CONNECTED", (x, wi, bi), f"{name}/out", (batches, units), calibrate=True,
                       activation=activation, keep_num_dims=False, weights_format=0)

    # -- recurrent layers (quantised as tests/support/op_graphs_recurrent.py explains) -----------------
    def svdf(self, x: int, units: int, rank: int, memory: int, name: str = "svdf") -> int:
        """SVDF with int16 time weights and state; the output scale calibrated."""
        t = self.tensors[x]
        assert t.quantization is not None
        batches, depth = t.shape
        filters = units * rank
        wf_scale = float(self.rng.uniform(0.004, 0.02))
        wf = self.const(f"{name}/feature", self.rng.integers(-127, 128, size=(filters, depth), dtype=np.int8),
                        q(wf_scale))
        state_scale = float(np.float32(t.quantization.scale * wf_scale * 74.0 * 74.0 * np.sqrt(depth) / 3000.0))
        wt_scale = 1.0 / 2000.0
        wt = self.const(f"{name}/time", self.rng.integers(-2000, 2001, size=(filters, memory)).astype(np.int16),
                        q(wt_scale))
        bias_scale = float(np.float32(np.float32(state_scale) * np.float32(wt_scale)))
        acc = 3000.0 * 1150.0 * np.sqrt(rank * memory)
        bias = self.const(f"{name}/bias", self.rng.integers(-int(acc / 3), int(acc / 3),
                                                            size=units).astype(np.int32), q(bias_scale))
        state = self.tensor(f"{name}/state", (batches, memory * filters), "int16", q(state_scale), variable=True)
        return self.op("SVDF", (x, wf, wt, bias, state), f"{name}/out", (batches, units), calibrate=True,
                       rank=rank, activation="NONE", asymmetric_quantize_inputs=False)

    def lstm(self, x: int, units: int, name: str = "lstm") -> int:
        """A batch-major int8 LSTM (no CIFG, peephole, projection or layer norm: TFLM's integer kernel),
        hidden state and output at 1/128, cell state at 2^-11."""
        t = self.tensors[x]
        assert t.quantization is not None
        batches, steps, depth = t.shape
        hidden_q = q(1.0 / 128)
        inputs = [-1] * 24
        inputs[0] = x
        for gate, (pos_in, pos_rec, pos_bias) in zip(("input", "forget", "cell", "output"),
                                                     ((1, 5, 12), (2, 6, 13), (3, 7, 14), (4, 8, 15))):
            bias_scale = 1.0
            for pos, fan_in, x_scale in ((pos_in, depth, t.quantization.scale), (pos_rec, units, hidden_q.scale)):
                w_scale = 4.5 / np.sqrt(fan_in) / 127.0
                inputs[pos] = self.const(f"{name}/{gate}/{'w' if pos == pos_in else 'r'}",
                                         self.rng.integers(-127, 128, size=(units, fan_in), dtype=np.int8),
                                         q(w_scale))
                if pos == pos_in:
                    bias_scale = float(np.float32(np.float32(x_scale) * np.float32(w_scale)))
            bias = np.round(self.rng.uniform(-1.0, 1.0, size=units) / bias_scale).astype(np.int32)
            inputs[pos_bias] = self.const(f"{name}/{gate}/bias", bias, q(bias_scale))
        inputs[18] = self.tensor(f"{name}/hidden", (batches, units), "int8", hidden_q, variable=True)
        inputs[19] = self.tensor(f"{name}/cell", (batches, units), "int16", q(2.0 ** -11), variable=True)
        return self.op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, f"{name}/out", (batches, steps, units), "int8",
                       hidden_q, activation="TANH", cell_clip=0.0, proj_clip=0.0, time_major=False,
                       asymmetric_quantize_inputs=False, diagonal_recurrent_tensors=False)

    def real_spread(self, layer_out: int, spread: float) -> None:
        """Rescale a weighted layer's weights, bias and output scales together so its calibrated ±100
        steps mean ±``spread`` in real terms: the integer arithmetic (in * w / out) is unchanged, but
        a following LOGISTIC or TANH sees inputs in its curved range, not saturated."""
        out = self.tensors[layer_out]
        assert out.quantization is not None
        factor = spread / (100.0 * out.quantization.scale)
        op = next(o for o in self.operators if o.outputs == (layer_out,))
        for index in (op.inputs[1], op.inputs[2], layer_out):
            quant = self.tensors[index].quantization
            assert quant is not None
            self._set_quant(index, Quantization(f32(*(s * factor for s in quant.scales)), quant.zero_points,
                                                quant.axis))
