"""The runtimes tinyflash knows, by name. The runtimes are imported when asked for (numpy, jinja2).

``auto`` is not a runtime but a choice among them (:mod:`tinyflash.generate.runtime.choice`): its kernel
sets are every runtime's, and the order of :func:`runtime_names` is the order ``auto`` prefers them in."""

from __future__ import annotations

from tinyflash.errors import GenerateError
from typing import Optional

from tinyflash.generate.runtime.base import Runtime, select_kernel_set

AUTO = "auto"
_NAMES = ("aot", "tflm")      # auto's preference: tinyflash's own first, TFLM when it cannot


def runtime_names() -> tuple[str, ...]:
    """The runtimes themselves, in the order ``auto`` tries them."""
    return _NAMES


def runtime_choices() -> tuple[str, ...]:
    """What --runtime and a farm matrix's ``runtimes`` accept: auto (the default), then each runtime."""
    return (AUTO, *_NAMES)


def _runtime_class(name: str) -> type[Runtime]:
    if name == "aot":
        from tinyflash.generate.runtime.aot.codegen import AotRuntime

        return AotRuntime
    if name == "tflm":
        from tinyflash.generate.runtime.tflm.codegen import TflmRuntime

        return TflmRuntime
    if name == AUTO:
        raise GenerateError("--runtime auto is a choice among runtimes, not one to generate with",
                            hint="resolve it first (tinyflash.generate.runtime.choice.choose_runtime)")
    raise GenerateError(f"unknown runtime '{name}'", hint=f"choose one of: {', '.join(runtime_choices())}")


def get_runtime(name: str) -> Runtime:
    return _runtime_class(name)()


def kernel_sets(runtime: str) -> tuple[str, ...]:
    """The kernel sets ``runtime`` offers for --kernels, its default first; for auto, every runtime's."""
    if runtime == AUTO:
        found: list[str] = []
        for name in _NAMES:
            found += [k for k in _runtime_class(name).kernel_sets if k not in found]
        return tuple(found)
    return _runtime_class(runtime).kernel_sets


def runtimes_offering(kernels: Optional[str]) -> tuple[str, ...]:
    """The runtimes auto may choose with a --kernels value: all of them for none or 'auto'; otherwise the
    ones that offer it as their own kernel set (portable: aot; reference, cmsis-nn: tflm). An alias does not
    count: TFLM takes 'portable' as its reference kernels, but a user asking for portable asked for aot."""
    if kernels is None or kernels == AUTO:
        return _NAMES
    return tuple(name for name in _NAMES if kernels in _runtime_class(name).kernel_sets)


def select_kernels(runtime: str, value: Optional[str]) -> str:
    """The kernel set a --kernels value (None: the default) selects for ``runtime``; a GenerateError
    naming the choices if it offers none by that name (the check the CLI, farm and generators share).
    With auto the value is kept as given: the runtime chosen later selects from it."""
    if runtime == AUTO:
        if value is None or value == AUTO:
            return AUTO
        if not runtimes_offering(value):
            raise GenerateError(f"--kernels {value} is not available with --runtime {AUTO}",
                                hint=f"choose one of: {', '.join(kernel_sets(AUTO))} (default {AUTO})")
        return value
    return select_kernel_set(_runtime_class(runtime)(), value)
