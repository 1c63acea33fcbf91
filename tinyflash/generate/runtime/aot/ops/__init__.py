"""Operator emitters of the AOT runtime, one module per operator family.

An emitter checks what it supports (raising UnsupportedOperatorError naming the node) and emits one
kernel call with its constants. Each module owns all of its operator's paths: portable C, the DSP
(SMLAD) kernels of tf_fast_<operator>.h (over tf_fast.h) and the Helium kernels of tf_mve_<operator>.h,
whose shared lane order and requantisation records are in mve_requant.py. Adding an operator = one module here + its kernel
in templates/runtime/aot/kernels/.
"""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.add import ADD
from tinyflash.generate.runtime.aot.ops.conv import CONV_2D, DEPTHWISE_CONV_2D
from tinyflash.generate.runtime.aot.ops.fully_connected import FULLY_CONNECTED
from tinyflash.generate.runtime.aot.ops.pooling import AVERAGE_POOL_2D, MAX_POOL_2D
from tinyflash.generate.runtime.aot.ops.reshape import RESHAPE
from tinyflash.generate.runtime.aot.ops.softmax import SOFTMAX
# -- quantisation and activations
from tinyflash.generate.runtime.aot.ops.activations import HARD_SWISH, LEAKY_RELU, LOGISTIC, RELU, RELU6, TANH
from tinyflash.generate.runtime.aot.ops.dequantize import DEQUANTIZE
from tinyflash.generate.runtime.aot.ops.prelu import PRELU
from tinyflash.generate.runtime.aot.ops.quantize import QUANTIZE
# -- data movement
from tinyflash.generate.runtime.aot.ops.concatenation import CONCATENATION
from tinyflash.generate.runtime.aot.ops.pad import PAD, PADV2
from tinyflash.generate.runtime.aot.ops.resize import RESIZE_NEAREST_NEIGHBOR
from tinyflash.generate.runtime.aot.ops.squeeze import EXPAND_DIMS, SQUEEZE
from tinyflash.generate.runtime.aot.ops.strided_slice import STRIDED_SLICE
from tinyflash.generate.runtime.aot.ops.transpose import TRANSPOSE
# -- arithmetic and reductions
from tinyflash.generate.runtime.aot.ops.arg_max import ARG_MAX
from tinyflash.generate.runtime.aot.ops.mean import MEAN
from tinyflash.generate.runtime.aot.ops.mul import MUL
from tinyflash.generate.runtime.aot.ops.squared_difference import SQUARED_DIFFERENCE
from tinyflash.generate.runtime.aot.ops.sub import SUB
# -- convolution family
from tinyflash.generate.runtime.aot.ops.batch_matmul import BATCH_MATMUL
from tinyflash.generate.runtime.aot.ops.transpose_conv import TRANSPOSE_CONV
# -- recurrent
from tinyflash.generate.runtime.aot.ops.lstm import UNIDIRECTIONAL_SEQUENCE_LSTM
from tinyflash.generate.runtime.aot.ops.svdf import SVDF

SUPPORTED: dict[str, OpSupport] = {
    "ADD": ADD,
    "AVERAGE_POOL_2D": AVERAGE_POOL_2D,
    "CONV_2D": CONV_2D,
    "DEPTHWISE_CONV_2D": DEPTHWISE_CONV_2D,
    "FULLY_CONNECTED": FULLY_CONNECTED,
    "MAX_POOL_2D": MAX_POOL_2D,
    "RESHAPE": RESHAPE,
    "SOFTMAX": SOFTMAX,
    # -- quantisation and activations
    "HARD_SWISH": HARD_SWISH,
    "LEAKY_RELU": LEAKY_RELU,
    "LOGISTIC": LOGISTIC,
    "RELU": RELU,
    "RELU6": RELU6,
    "TANH": TANH,
    "DEQUANTIZE": DEQUANTIZE,
    "PRELU": PRELU,
    "QUANTIZE": QUANTIZE,
    # -- data movement
    "CONCATENATION": CONCATENATION,
    "EXPAND_DIMS": EXPAND_DIMS,
    "PAD": PAD,
    "PADV2": PADV2,
    "RESIZE_NEAREST_NEIGHBOR": RESIZE_NEAREST_NEIGHBOR,
    "SQUEEZE": SQUEEZE,
    "STRIDED_SLICE": STRIDED_SLICE,
    "TRANSPOSE": TRANSPOSE,
    # -- arithmetic and reductions
    "ARG_MAX": ARG_MAX,
    "MEAN": MEAN,
    "MUL": MUL,
    "SQUARED_DIFFERENCE": SQUARED_DIFFERENCE,
    "SUB": SUB,
    # -- convolution family
    "BATCH_MATMUL": BATCH_MATMUL,
    "TRANSPOSE_CONV": TRANSPOSE_CONV,
    # -- recurrent
    "SVDF": SVDF,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": UNIDIRECTIONAL_SEQUENCE_LSTM,
}

__all__ = ["EmitContext", "Emitted", "OpSupport", "SUPPORTED"]
