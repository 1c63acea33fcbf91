"""Shared fixtures. External things (models, toolchain, QEMU) are found, never assumed: a test that
needs something absent skips and says how to provide it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.processes import qemu_processes_mentioning  # noqa: F401  (tests import it from here)

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


def _catalogue_boards(emulated: bool) -> list[str]:
    """The packaged boards of one kind, from their YAML files (the one place that says which are emulated)."""
    from tinyflash.board import BoardCatalog

    return sorted(b.name for b in BoardCatalog(environ={}).load_all() if b.emulated == emulated)


EMULATED_BOARDS = _catalogue_boards(emulated=True)
REAL_BOARDS = _catalogue_boards(emulated=False)


def _model_dir() -> Path | None:
    env = os.environ.get("TINYFLASH_MODEL_DIR")
    candidates = [Path(p) for p in env.split(os.pathsep)] if env else []
    candidates.append(REPO.parent / "shared" / "mlperf_tiny" / "models")
    for c in candidates:
        if (c / "ad01_int8.tflite").is_file():
            return c
    return None


@pytest.fixture(scope="session")
def model_dir() -> Path:
    found = _model_dir()
    if found is None:
        pytest.skip("MLPerf Tiny models not found: set TINYFLASH_MODEL_DIR to a directory holding "
                    "ad01_int8.tflite, kws_ref_model.tflite, ... (mlcommons/tiny trained_models)")
    return found


@pytest.fixture(scope="session")
def toolchain() -> None:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not found: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi")


@pytest.fixture(scope="session")
def qemu(toolchain: None) -> None:
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not found: apt-get install qemu-system-arm")


@pytest.fixture(scope="session")
def scons_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scons-cache")
