"""Operator emitters of the AOT runtime, one module per operator family.

An emitter checks what it supports (raising UnsupportedOperatorError naming the node) and emits one
kernel call with its constants. Adding an operator = one module here + its kernel in
templates/runtime/aot/kernels/.
"""

from __future__ import annotations

from tinyflash.generate.runtime.aot.ops.base import EmitContext, Emitted, OpSupport
from tinyflash.generate.runtime.aot.ops.fully_connected import FULLY_CONNECTED

SUPPORTED: dict[str, OpSupport] = {
    "FULLY_CONNECTED": FULLY_CONNECTED,
}

__all__ = ["EmitContext", "Emitted", "OpSupport", "SUPPORTED"]
