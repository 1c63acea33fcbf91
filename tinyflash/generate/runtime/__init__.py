"""Inference runtimes behind one interface (C side: templates/benchmark/tf_runtime.h)."""

from tinyflash.generate.runtime.base import Runtime, RuntimeOutput, get_runtime, runtime_names

__all__ = ["Runtime", "RuntimeOutput", "get_runtime", "runtime_names"]
