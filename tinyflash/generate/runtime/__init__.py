"""Inference runtimes behind one interface (C side: templates/benchmark/tf_runtime.h)."""

from tinyflash.generate.runtime.base import Runtime, RuntimeOutput, select_kernel_set
from tinyflash.generate.runtime.registry import (get_runtime, kernel_sets, runtime_choices, runtime_names,
                                                 select_kernels)

__all__ = ["Runtime", "RuntimeOutput", "get_runtime", "kernel_sets", "runtime_choices", "runtime_names",
           "select_kernel_set", "select_kernels"]
