"""The runtime seam: a runtime turns a model graph into C sources implementing tf_runtime.h.

This module is the interface only; :mod:`tinyflash.generate.runtime.registry` knows the runtimes
(the runtimes import this module, never the registry, so there is no import cycle)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Optional, Protocol

from tinyflash.board.schema import Board
from tinyflash.errors import GenerateError, TinyflashError
from tinyflash.model.graph import Graph


@dataclass(frozen=True)
class Layer:
    """One timed step of the runtime's invoke, in execution order (what a per-layer profile reports)."""
    node: int                            # operator index in the model
    op: str                              # e.g. CONV_2D
    output: tuple[int, ...]              # output tensor shape
    macs: int
    # the first node of the row-band stage the layer ran in (aot patches.py: its rows made a band at a
    # time, interleaved with the stage's other layers); None for a layer run whole
    stage: Optional[int] = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"node": self.node, "op": self.op, "output": list(self.output), "macs": self.macs}
        return data if self.stage is None else {**data, "stage": self.stage}


@dataclass(frozen=True)
class RuntimeOutput:
    name: str
    sources: tuple[Path, ...]            # C/C++ files written into the project
    include_dirs: tuple[Path, ...] = ()
    defines: tuple[str, ...] = ()
    activation_bytes: int = 0            # planned arena
    weight_bytes: int = 0
    macs: int = 0
    scratch_bytes: int = 0               # kernel scratch outside the arena (im2col columns)
    notes: tuple[str, ...] = field(default=())
    layers: tuple[Layer, ...] = ()       # what TF_PROFILE builds time, in tf_runtime_profile's order
    # extra top-level entries for project.json (e.g. "tflm": the shared library the SConstruct builds)
    project_extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Runtime(Protocol):
    name: ClassVar[str]
    # the kernel sets --kernels may name, the default first (#15.4: the one list the CLI and farm ask for)
    kernel_sets: ClassVar[tuple[str, ...]]
    # other accepted spellings -> the kernel set they select (e.g. TFLM's "auto" is its reference kernels)
    kernel_aliases: ClassVar[Mapping[str, str]]

    def generate(self, graph: Graph, board: Board, dest: Path, *, options: dict[str, str]) -> RuntimeOutput:
        """Check the model is supported and fits, then write sources into ``dest``."""

    def unsupported(self, graph: Graph, board: Board, options: Mapping[str, str]) -> tuple[TinyflashError, ...]:
        """Every reason ``graph`` cannot run on this runtime on ``board`` with these generate options (one per
        operator, with its node; the checks generation runs, on the kernel paths it would take); empty if it can.
        ``--runtime auto`` lists them all instead of stopping at the first (#13.2)."""

    def locate(self, options: Mapping[str, str]) -> str:
        """What this runtime is built from, said in ``runtime_reason`` (e.g. where TFLM's sources are);
        a TinyflashError with a hint when they cannot be found here."""


def select_kernel_set(runtime: Runtime, value: Optional[str]) -> str:
    """The kernel set ``value`` selects for ``runtime`` (None: its default): the one place a --kernels
    value is checked."""
    if value is None:
        return runtime.kernel_sets[0]
    if value in runtime.kernel_sets:
        return value
    if value in runtime.kernel_aliases:
        return runtime.kernel_aliases[value]
    raise GenerateError(f"--kernels {value} is not available with --runtime {runtime.name}",
                        hint=f"choose one of: {', '.join(runtime.kernel_sets)} (default {runtime.kernel_sets[0]}), "
                             "or a --runtime that offers it")
