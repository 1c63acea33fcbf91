"""A typed, read-only view of a TFLite model: what code generators and goldens need, nothing else."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

DTYPE_SIZES = {"int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4, "int64": 8, "uint64": 8,
               "float16": 2, "float32": 4, "float64": 8, "complex64": 8, "complex128": 16, "bool": 1}


@dataclass(frozen=True)
class Quantization:
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1

    @property
    def scale(self) -> float:
        return self.scales[0]

    @property
    def zero_point(self) -> int:
        return self.zero_points[0]


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quantization: Optional[Quantization]
    data: Optional[bytes] = field(default=None, repr=False)   # constant buffer, None for activations
    # state kept from one invocation to the next (SVDF's activation state, an LSTM's cell): zero at
    # start, never shared with another tensor
    is_variable: bool = False

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def elements(self) -> int:
        return math.prod(self.shape)   # exact: np.prod wraps around on a damaged model's huge shapes

    @property
    def size_bytes(self) -> int:
        return self.elements * DTYPE_SIZES[self.dtype]

    def array(self) -> np.ndarray:
        assert self.data is not None, f"tensor {self.name} has no constant data"
        return np.frombuffer(self.data, dtype=np.dtype(self.dtype)).reshape(self.shape)


@dataclass(frozen=True)
class Operator:
    index: int
    opcode: str                   # builtin name, e.g. "FULLY_CONNECTED"
    version: int
    inputs: tuple[int, ...]       # tensor indices; -1 = optional input absent
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Graph:
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    opcodes_listed: tuple[str, ...] = ()   # the opcode table, which may list unused operators

    @property
    def input(self) -> Tensor:
        return self.tensors[self.inputs[0]]

    @property
    def output(self) -> Tensor:
        return self.tensors[self.outputs[0]]

    def used_opcodes(self) -> tuple[str, ...]:
        return tuple(sorted({op.opcode for op in self.operators}))

    def weight_bytes(self) -> int:
        return sum(t.size_bytes for t in self.tensors if t.is_constant)
