"""Finding the cross toolchain and reporting its version (recorded with every result)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tinyflash.errors import ToolNotFoundError

PREFIX = "arm-none-eabi-"
INSTALL_HINT = ("install it: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                "libstdc++-arm-none-eabi-newlib (or put an Arm GNU toolchain's bin/ on PATH)")


@dataclass(frozen=True)
class Toolchain:
    bin_dir: Path
    version: str

    def tool(self, name: str) -> str:
        return str(self.bin_dir / f"{PREFIX}{name}")


@lru_cache(maxsize=1)
def find_toolchain() -> Toolchain:
    gcc = shutil.which(f"{PREFIX}gcc")
    if gcc is None:
        raise ToolNotFoundError(f"{PREFIX}gcc not found on PATH", hint=INSTALL_HINT)
    out = subprocess.run([gcc, "--version"], capture_output=True, text=True, check=False).stdout
    version = out.splitlines()[0].strip() if out else "unknown"
    return Toolchain(Path(gcc).resolve().parent, version)
