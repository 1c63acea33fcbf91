"""QUANTIZE, DEQUANTIZE and the activations of the AOT runtime against TFLM's reference kernels (#13): the
generated C for every kernel set on random inputs (tests/support/op_harness.py); the int8 operators also on
every input byte, which for a table proves the whole operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest

from tinyflash.errors import UnsupportedOperatorError
from tinyflash.generate.runtime.aot.codegen import check_graph
from tests.support.budget import first_by_default
from tests.support.op_graphs_unary import QuantSpec, chain_graph, prelu_graph, unary_graph
from tests.support.op_harness import check_against_tflm, generated_c
from tests.support.synthetic_layers import assert_not_all_clamped

SHAPES = [(37,), (5, 9), (3, 4, 7), (2, 3, 5, 4)]


def every_byte(shape: tuple[int, ...]) -> Any:
    """Inputs holding all 256 int8 values (shape has 256 elements), shuffled."""
    def make(rng: np.random.Generator) -> np.ndarray:
        return rng.permutation(np.arange(-128, 128, dtype=np.int8)).reshape(shape)
    return make


def halves(shape: tuple[int, ...], scale: float, rng_range: int) -> Any:
    """float32 inputs half of which lie exactly halfway between two quantised steps: the rounding ties."""
    def make(rng: np.random.Generator) -> np.ndarray:
        x = (rng.integers(-rng_range, rng_range, size=shape) + 0.5) * np.float32(scale)
        x = x.astype(np.float32)
        noise = rng.uniform(-rng_range * scale, rng_range * scale, size=shape).astype(np.float32)
        return np.where(rng.random(shape) < 0.5, x, noise).astype(np.float32)
    return make


# -- QUANTIZE: (input type, input quant, output type, output quant)
QUANTIZE_CASES = {
    "f32-s8": ("float32", None, "int8", (0.05, 3)),
    "f32-s8-zp-low": ("float32", None, "int8", (0.0123, -100)),
    "f32-s16": ("float32", None, "int16", (0.001, 0)),
    "f32-s16-zp": ("float32", None, "int16", (0.0007, -1200)),
    "s8-s8-down": ("int8", (0.05, 3), "int8", (0.02, -7)),        # scale ratio > 1
    "s8-s8-up": ("int8", (0.02, 3), "int8", (0.07, -7)),          # scale ratio < 1
    "s8-s8-zp-only": ("int8", (0.05, 3), "int8", (0.05, -40)),
    "s8-s16": ("int8", (0.02, 3), "int16", (0.0005, 0)),
    "s8-s32": ("int8", (0.02, -9), "int32", (0.003, 17)),
    "s16-s8": ("int16", (0.0005, 0), "int8", (0.02, 5)),
    "s16-s8-big-ratio": ("int16", (0.01, 0), "int8", (0.003, -5)),
    "s16-s16": ("int16", (0.0005, 0), "int16", (0.0003, 0)),
    "s16-s32": ("int16", (0.0005, 7), "int32", (0.0001, -3)),
}


@pytest.mark.parametrize("case", first_by_default(sorted(QUANTIZE_CASES), (len(QUANTIZE_CASES) + 1) // 2))
def test_quantize_matches_tflm(case: str, tmp_path: Path) -> None:
    in_type, in_q, out_type, out_q = QUANTIZE_CASES[case]
    shape = SHAPES[sorted(QUANTIZE_CASES).index(case) % len(SHAPES)]
    graph = unary_graph("QUANTIZE", shape, in_type, in_q, out_type, out_q)
    make = halves(shape, out_q[0], 140 if out_type == "int8" else 33000) if in_type == "float32" else None
    if case == "s16-s8-big-ratio":      # a scale ratio > 1 saturates all but small inputs: draw those
        make = lambda rng: rng.integers(-100, 100, size=shape).astype(np.int16)   # noqa: E731
    outputs = check_against_tflm(graph, tmp_path, make_input=make, name=case)
    assert_not_all_clamped(outputs)
    if in_type == "int8":
        assert "tf_lut_s8" in generated_c(tmp_path)


@pytest.mark.parametrize("case", ["s8-s8-down", "s8-s8-up", "s8-s16", "s8-s32"])
def test_quantize_from_int8_on_every_byte(case: str, tmp_path: Path) -> None:
    in_type, in_q, out_type, out_q = QUANTIZE_CASES[case]
    graph = unary_graph("QUANTIZE", (16, 16), in_type, in_q, out_type, out_q)
    check_against_tflm(graph, tmp_path, inputs=2, make_input=every_byte((16, 16)), name=case)


@pytest.mark.parametrize("in_type,in_q", [("int8", (0.05, 3)), ("int8", (0.3, -128)), ("int16", (0.0005, 0)),
                                          ("int16", (0.002, -77))])
def test_dequantize_matches_tflm(in_type: str, in_q: tuple[float, int], tmp_path: Path) -> None:
    shape = (3, 4, 7) if in_type == "int8" else (2, 3, 5, 4)
    graph = unary_graph("DEQUANTIZE", shape, in_type, in_q, "float32", None)
    assert_not_all_clamped(check_against_tflm(graph, tmp_path))
    if in_type == "int8":
        (tmp_path / "all").mkdir()
        check_against_tflm(unary_graph("DEQUANTIZE", (256,), in_type, in_q, "float32", None), tmp_path / "all",
                           inputs=1, make_input=every_byte((256,)))


# -- int8 activations: (opcode, input quant, output quant, options)
ACTIVATION_CASES: dict[str, tuple[str, tuple[float, int], tuple[float, int], dict[str, Any]]] = {
    "logistic": ("LOGISTIC", (0.05, 3), (1 / 256, -128), {}),
    "logistic-wide": ("LOGISTIC", (0.12, -20), (1 / 256, -128), {}),
    "logistic-narrow": ("LOGISTIC", (0.01, 60), (1 / 256, -128), {}),
    "tanh": ("TANH", (0.05, 3), (1 / 128, 0), {}),
    "tanh-narrow": ("TANH", (0.015, -10), (1 / 128, 0), {}),
    "tanh-wide": ("TANH", (0.2, 40), (1 / 128, 0), {}),
    "hard-swish": ("HARD_SWISH", (0.05, 3), (0.04, -50), {}),
    "hard-swish-wide": ("HARD_SWISH", (0.1, -20), (0.06, -100), {}),
    "hard-swish-fine": ("HARD_SWISH", (0.012, 30), (0.011, -90), {}),
    "relu-clamp-inside": ("RELU", (0.05, 3), (0.04, -50), {}),
    "relu-clamp-at-min": ("RELU", (0.05, 3), (0.08, -128), {}),
    "relu-clamp-high": ("RELU", (0.03, -60), (0.02, 90), {}),
    "relu6-inside": ("RELU6", (0.03, -20), (0.03, -20), {}),     # 0 and 6 both inside the int8 range
    "relu6-six-outside": ("RELU6", (0.05, 3), (0.05, 3), {}),    # 6 / 0.05 + 3 > 127: no upper clamp
    "relu6-zero-outside": ("RELU6", (0.02, -140 + 12), (0.02, -128), {}),
    "leaky-small": ("LEAKY_RELU", (0.05, 3), (0.04, -10), {"alpha": 0.2}),
    "leaky-large": ("LEAKY_RELU", (0.05, 3), (0.04, -10), {"alpha": 1.7}),
    "leaky-negative": ("LEAKY_RELU", (0.05, 3), (0.04, -10), {"alpha": -0.3}),
    "leaky-negative-large": ("LEAKY_RELU", (0.02, -30), (0.05, 20), {"alpha": -1.5}),
}


@pytest.mark.parametrize("case", first_by_default(sorted(ACTIVATION_CASES), (len(ACTIVATION_CASES) + 1) // 2))
def test_int8_activation_matches_tflm(case: str, tmp_path: Path) -> None:
    opcode, in_q, out_q, options = ACTIVATION_CASES[case]
    shape = SHAPES[sorted(ACTIVATION_CASES).index(case) % len(SHAPES)]
    graph = unary_graph(opcode, shape, "int8", in_q, "int8", out_q, options)
    check_against_tflm(graph, tmp_path, name=case)
    assert "tf_lut_s8(" in generated_c(tmp_path)
    # every input byte: the table is the whole operator
    graph = unary_graph(opcode, (2, 8, 16), "int8", in_q, "int8", out_q, options)
    (tmp_path / "all").mkdir()
    outputs = check_against_tflm(graph, tmp_path / "all", inputs=1, kernel_sets=("portable",),
                                 make_input=every_byte((2, 8, 16)), name=case)
    assert len(np.unique(outputs[0])) > 20


# -- int16 activations: zero points as TFLM allows (RELU: 0)
INT16_CASES: dict[str, tuple[str, tuple[float, int], tuple[float, int], dict[str, Any]]] = {
    "relu": ("RELU", (0.0005, 0), (0.0004, 0), {}),
    "relu-down": ("RELU", (0.0003, 0), (0.0011, 0), {}),
    "relu6": ("RELU6", (0.0005, 0), (0.0005, 0), {}),
    "relu6-zp": ("RELU6", (0.0002, -1000), (0.0002, -1000), {}),
    "leaky-small": ("LEAKY_RELU", (0.0005, 0), (0.0004, 0), {"alpha": 0.2}),
    "leaky-large-zp": ("LEAKY_RELU", (0.0005, 11), (0.0007, -9), {"alpha": 2.5}),
    "leaky-negative": ("LEAKY_RELU", (0.0005, 0), (0.0004, 0), {"alpha": -0.7}),
}


@pytest.mark.parametrize("case", first_by_default(sorted(INT16_CASES), (len(INT16_CASES) + 1) // 2))
def test_int16_activation_matches_tflm(case: str, tmp_path: Path) -> None:
    opcode, in_q, out_q, options = INT16_CASES[case]
    shape = SHAPES[sorted(INT16_CASES).index(case) % len(SHAPES)]
    graph = unary_graph(opcode, shape, "int16", in_q, "int16", out_q, options)
    assert_not_all_clamped(check_against_tflm(graph, tmp_path, name=case))


# -- int16 LOGISTIC and TANH: (opcode, input scale, output scale); zero points 0 (TFLM requires them).
# The input scale picks TFLM's arithmetic (CalculateArithmeticOpDataLogistic, tanh.cc): 2^-12 (tanh also
# 2^-11) and scales within CheckedLog2's 1e-3 of them take the power-of-two multiplier 3 << shift; every
# other scale a multiplier doubled until above 32767 / 2 (or the shift reaches 31), truncated.
Q15 = 2.0 ** -15
SIGMOID16_CASES: dict[str, tuple[str, float, float]] = {
    "logistic-pot": ("LOGISTIC", 2.0 ** -12, Q15),
    "logistic-pot-tolerance": ("LOGISTIC", 2.0 ** -12 * 1.0005, Q15),     # log2 0.0007 off: still 3
    "logistic-pot-outside": ("LOGISTIC", 2.0 ** -12 * 1.001, Q15),        # 0.0014 off: general path
    "logistic-pot-other": ("LOGISTIC", 2.0 ** -11, Q15),                  # a power of two, not 2^-12
    "logistic-general": ("LOGISTIC", 0.001, Q15),
    "logistic-coarse": ("LOGISTIC", 0.02, Q15),
    "logistic-no-shift": ("LOGISTIC", 4.0, Q15),                          # multiplier above 32767
    "logistic-shift-31": ("LOGISTIC", 1e-10, Q15),                        # the doubling stops at 31
    "logistic-out-32767th": ("LOGISTIC", 0.0007, 1 / 32767),              # within CheckedLog2 of 2^-15
    "tanh-pot": ("TANH", 2.0 ** -12, Q15),
    "tanh-pot-11": ("TANH", 2.0 ** -11, Q15),                             # 3 << 1
    "tanh-pot-11-tolerance": ("TANH", 2.0 ** -11 * 0.9995, Q15),
    "tanh-pot-other": ("TANH", 2.0 ** -10, Q15),
    "tanh-general": ("TANH", 0.00037, Q15),
    "tanh-coarse": ("TANH", 0.05, Q15),
    "tanh-no-shift": ("TANH", 3.0, Q15),
    "tanh-shift-31": ("TANH", 3e-10, Q15),
}


def every_int16(shape: tuple[int, ...]) -> Any:
    """Inputs holding all 65,536 int16 values (shape has 65,536 elements), shuffled."""
    def make(rng: np.random.Generator) -> np.ndarray:
        return rng.permutation(np.arange(-32768, 32768, dtype=np.int16)).reshape(shape)
    return make


# more of a path the other cases take, for the slow run (the file's default run has a time budget)
SIGMOID16_SLOW = {"logistic-coarse", "logistic-pot-other", "tanh-coarse", "tanh-pot-other"}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in SIGMOID16_SLOW else c
                                  for c in sorted(SIGMOID16_CASES)])
def test_int16_sigmoid_matches_tflm_on_every_input(case: str, tmp_path: Path) -> None:
    opcode, in_scale, out_scale = SIGMOID16_CASES[case]
    graph = unary_graph(opcode, (4, 64, 256), "int16", (in_scale, 0), "int16", (out_scale, 0))
    outputs = check_against_tflm(graph, tmp_path, inputs=1, kernel_sets=("portable",),
                                 make_input=every_int16((4, 64, 256)), name=case)
    if "shift-31" not in case:       # there every input rounds to 0 or -1: two outputs
        assert len(np.unique(outputs[0])) > 4        # not only the saturated ends
    assert "tf_sigmoid_q16" in generated_c(tmp_path, "portable")


@pytest.mark.parametrize("case", ["logistic-general", "logistic-pot", "tanh-general", "tanh-pot-11"])
def test_int16_sigmoid_matches_tflm(case: str, tmp_path: Path) -> None:
    opcode, in_scale, out_scale = SIGMOID16_CASES[case]
    shape = SHAPES[sorted(SIGMOID16_CASES).index(case) % len(SHAPES)]
    graph = unary_graph(opcode, shape, "int16", (in_scale, 0), "int16", (out_scale, 0))
    assert_not_all_clamped(check_against_tflm(graph, tmp_path, name=case))


# -- refused on purpose, each naming the operator
def _refused(opcode: str, in_type: str, in_q: QuantSpec, out_type: str, out_q: QuantSpec,
             options: Optional[dict[str, Any]] = None) -> str:
    graph = unary_graph(opcode, (4, 4), in_type, in_q, out_type, out_q, options)
    with pytest.raises(UnsupportedOperatorError) as err:
        check_graph(graph)
    assert opcode in str(err.value)
    return str(err.value)


def test_refused_variants_name_the_operator() -> None:
    assert "float32 -> int32" in _refused("QUANTIZE", "float32", None, "int32", (0.1, 0))
    assert "int8 -> int16" in _refused("DEQUANTIZE", "int8", (0.1, 0), "int16", (0.1, 0))
    assert "zero point -128" in _refused("LOGISTIC", "int8", (0.05, 0), "int8", (1 / 256, 0))
    assert "zero point 0" in _refused("LOGISTIC", "int16", (1 / 4096, 5), "int16", (1 / 32768, 0))
    assert "zero point 0" in _refused("TANH", "int16", (1 / 4096, 0), "int16", (1 / 32768, -1))
    assert "2^-15" in _refused("LOGISTIC", "int16", (1 / 4096, 0), "int16", (1 / 16384, 0))
    assert "2^-15" in _refused("TANH", "int16", (1 / 4096, 0), "int16", (1 / 30000, 0))
    # scales where TFLM's int16 arithmetic overflows int32 (undefined behaviour in its kernel)
    assert "too large" in _refused("LOGISTIC", "int16", (6.0, 0), "int16", (1 / 32768, 0))
    assert "too small" in _refused("TANH", "int16", (1e-14, 0), "int16", (1 / 32768, 0))
    assert "power-of-two tolerance" in _refused("TANH", "int16", (2.0 ** -11 * 2.0 ** 0.001, 0), "int16",
                                                (1 / 32768, 0))
    assert "int8 -> int16" in _refused("LOGISTIC", "int8", (0.05, 0), "int16", (1 / 32768, 0))
    assert "int16" in _refused("HARD_SWISH", "int16", (0.001, 0), "int16", (0.001, 0))
    assert "multiplier below one" in _refused("HARD_SWISH", "int8", (0.5, 0), "int8", (0.001, 0))
    assert "zero point 0" in _refused("RELU", "int16", (0.001, 3), "int16", (0.001, 0))
    assert "float32" in _refused("RELU6", "float32", None, "float32", None)
    assert "float32" in _refused("LEAKY_RELU", "float32", None, "float32", None, {"alpha": 0.1})


# -- PRELU: (input shape, alpha shape, type, alpha a constant?)
PRELU_CASES = {
    "per-channel": ((1, 4, 5, 8), (8,), "int8", True),            # broadcast on the last axis
    "full-shape": ((1, 4, 5, 8), (1, 4, 5, 8), "int8", True),
    "over-w": ((1, 4, 5, 8), (1, 1, 5, 1), "int8", True),          # broadcast over H and C
    "over-hw": ((1, 4, 5, 8), (4, 1, 1), "int8", True),            # rank 3 alpha, one per row
    "2d": ((3, 7), (7,), "int8", True),
    "1d-scalar": ((37,), (1,), "int8", True),
    "activation-alpha": ((2, 3, 6), (2, 3, 6), "int8", False),
    "int16": ((1, 4, 5, 8), (8,), "int16", True),
}


@pytest.mark.parametrize("case", first_by_default(sorted(PRELU_CASES), (len(PRELU_CASES) + 1) // 2))
def test_prelu_matches_tflm(case: str, tmp_path: Path) -> None:
    shape, alpha_shape, dtype, constant = PRELU_CASES[case]
    rng = np.random.default_rng(sorted(PRELU_CASES).index(case))
    quant = ((0.05, 3), (0.01, 5), (0.04, -10)) if dtype == "int8" else ((0.0005, 0), (0.01, 5), (0.0004, 0))
    graph = prelu_graph(shape, alpha_shape, dtype, *quant, rng, alpha_constant=constant)
    assert_not_all_clamped(check_against_tflm(graph, tmp_path, name=case))


def test_prelu_refusals_name_the_operator() -> None:
    rng = np.random.default_rng(0)
    graph = prelu_graph((2, 3), (4,), "int8", (0.05, 3), (0.01, 5), (0.04, -10), rng)
    with pytest.raises(UnsupportedOperatorError, match="PRELU.*do not broadcast"):
        check_graph(graph)
    graph = prelu_graph((1, 2, 2, 2, 3), (3,), "int8", (0.05, 3), (0.01, 5), (0.04, -10), rng)
    with pytest.raises(UnsupportedOperatorError, match="PRELU.*beyond 4-D"):
        check_graph(graph)


def test_float_model_through_the_family_matches_tflm(tmp_path: Path) -> None:
    outputs = check_against_tflm(chain_graph(), tmp_path)
    assert_not_all_clamped(outputs)
