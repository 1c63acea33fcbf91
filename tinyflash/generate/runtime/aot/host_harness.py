"""The generated AOT C compiled for the host (gcc) and called through ctypes.

The same model.c and kernels that run on the MCU (portable path) run here, so bit-exactness against
the TFLM golden is checked on many inputs in milliseconds, without QEMU.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tinyflash.errors import ToolNotFoundError
from tinyflash.resources import templates_dir


class HostModel:
    def __init__(self, library: Path) -> None:
        self._lib = ctypes.CDLL(str(library))
        self._lib.tf_runtime_input.restype = ctypes.c_void_p
        self._lib.tf_runtime_output.restype = ctypes.c_void_p
        self._lib.tf_runtime_input_bytes.restype = ctypes.c_size_t
        self._lib.tf_runtime_output_bytes.restype = ctypes.c_size_t
        self._lib.tf_runtime_init()
        self.input_bytes = int(self._lib.tf_runtime_input_bytes())
        self.output_bytes = int(self._lib.tf_runtime_output_bytes())
        self._reset = getattr(self._lib, "tf_runtime_reset_state", None)   # only models with state have it

    def invoke(self, data: np.ndarray, *, output_dtype: "np.typing.DTypeLike" = np.int8,
               keep_state: bool = False) -> np.ndarray:
        """One inference on ``data`` (its bytes are the input tensor's, whatever its type); the output
        bytes viewed as ``output_dtype``. Variable tensors restart from zero unless ``keep_state``."""
        raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        if raw.size != self.input_bytes:
            raise ValueError(f"input has {raw.size} bytes, model expects {self.input_bytes}")
        if not keep_state and self._reset is not None:
            self._reset()
        ctypes.memmove(self._lib.tf_runtime_input(), raw.ctypes.data, raw.size)
        self._lib.tf_runtime_invoke()
        out = (ctypes.c_uint8 * self.output_bytes).from_address(self._lib.tf_runtime_output())
        return np.frombuffer(bytes(out), dtype=output_dtype).copy()


def build_host_model(sources: list[Path], include_dirs: list[Path], workdir: Path | None = None) -> HostModel:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise ToolNotFoundError("no host C compiler (gcc) found for the host harness",
                                hint="install it: apt-get install gcc")
    workdir = Path(workdir or tempfile.mkdtemp(prefix="tinyflash-host-"))
    library = workdir / "libtfmodel.so"
    includes = [f"-I{d}" for d in [*include_dirs, templates_dir() / "benchmark"]]
    cmd = [compiler, "-O2", "-shared", "-fPIC", "-fwrapv", "-DTF_PORTABLE_KERNELS=1", *includes,
           *[str(s) for s in sources if s.suffix == ".c"], "-o", str(library)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return HostModel(library)
