"""The runtime registry and kernel sets (#15, #15.4): one place names the runtimes, each runtime
declares its kernel sets, and one function checks a --kernels value."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tinyflash.errors import GenerateError, TinyflashError
from tinyflash.generate.runtime import get_runtime, kernel_sets, runtime_names, select_kernels

from ..conftest import REPO

RUNTIME_DIR = REPO / "tinyflash" / "generate" / "runtime"


def test_every_runtime_declares_its_kernel_sets_default_first() -> None:
    assert runtime_names() == ("aot", "tflm")
    assert kernel_sets("aot") == ("auto", "portable")
    assert kernel_sets("tflm") == ("reference", "cmsis-nn")
    for name in runtime_names():
        runtime = get_runtime(name)
        assert runtime.name == name and runtime.kernel_sets == kernel_sets(name)
        assert select_kernels(name, None) == kernel_sets(name)[0]
        for kernel_set in kernel_sets(name):
            assert select_kernels(name, kernel_set) == kernel_set


@pytest.mark.parametrize("runtime, value, selected", [
    ("tflm", "auto", "reference"),        # the CLI's and the farm's default works with every runtime
    ("tflm", "portable", "reference"),
    ("aot", "auto", "auto"),
])
def test_aliases(runtime: str, value: str, selected: str) -> None:
    assert select_kernels(runtime, value) == selected


@pytest.mark.parametrize("runtime, value", [("aot", "cmsis-nn"), ("aot", "reference"), ("tflm", "helium"),
                                            ("aot", ""), ("tflm", "AUTO")])
def test_an_unknown_kernel_set_is_a_user_error_naming_the_choices(runtime: str, value: str) -> None:
    with pytest.raises(GenerateError) as info:
        select_kernels(runtime, value)
    assert isinstance(info.value, TinyflashError)
    assert f"--kernels {value} is not available with --runtime {runtime}" in info.value.message
    assert all(k in (info.value.hint or "") for k in kernel_sets(runtime))


def test_an_unknown_runtime_is_a_user_error() -> None:
    with pytest.raises(GenerateError, match="unknown runtime 'tvm'"):
        kernel_sets("tvm")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_interface_imports_neither_the_registry_nor_a_runtime() -> None:
    """base.py used to import both runtimes, which import base.py (a cycle)."""
    imported = _imports(RUNTIME_DIR / "base.py")
    assert not {m for m in imported if m.startswith("tinyflash.generate.runtime")}, imported
    for runtime in ("aot", "tflm"):
        for module in (RUNTIME_DIR / runtime).rglob("*.py"):
            assert "tinyflash.generate.runtime.registry" not in _imports(module), module
            assert "tinyflash.generate.runtime" not in _imports(module), module
