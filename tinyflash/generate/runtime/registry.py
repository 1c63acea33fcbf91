"""The runtimes tinyflash knows, by name. The runtimes are imported when asked for (numpy, jinja2)."""

from __future__ import annotations

from tinyflash.errors import GenerateError
from typing import Optional

from tinyflash.generate.runtime.base import Runtime, select_kernel_set

_NAMES = ("aot", "tflm")


def runtime_names() -> tuple[str, ...]:
    return _NAMES


def _runtime_class(name: str) -> type[Runtime]:
    if name == "aot":
        from tinyflash.generate.runtime.aot.codegen import AotRuntime

        return AotRuntime
    if name == "tflm":
        from tinyflash.generate.runtime.tflm.codegen import TflmRuntime

        return TflmRuntime
    raise GenerateError(f"unknown runtime '{name}'", hint=f"choose one of: {', '.join(_NAMES)}")


def get_runtime(name: str) -> Runtime:
    return _runtime_class(name)()


def kernel_sets(runtime: str) -> tuple[str, ...]:
    """The kernel sets ``runtime`` offers for --kernels, its default first."""
    return _runtime_class(runtime).kernel_sets


def select_kernels(runtime: str, value: Optional[str]) -> str:
    """The kernel set a --kernels value (None: the default) selects for ``runtime``; a GenerateError
    naming the choices if it offers none by that name (the check the CLI, farm and generators share)."""
    return select_kernel_set(_runtime_class(runtime)(), value)
