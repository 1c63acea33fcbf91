"""Where the product's data lives: boards/, templates/ and SConstruct.

In a source checkout they sit at the repository root (the product's fixed shape); an installed wheel
carries them in ``tinyflash/_data`` (see pyproject.toml). Both are looked up here and nowhere else.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def data_root() -> Path:
    packaged = _PACKAGE_DIR / "_data"
    if (packaged / "SConstruct").is_file():
        return packaged
    checkout = _PACKAGE_DIR.parent
    if (checkout / "SConstruct").is_file():
        return checkout
    raise FileNotFoundError("tinyflash data (boards/, templates/, SConstruct) not found next to the package")


def boards_dir() -> Path:
    return data_root() / "boards"


def templates_dir() -> Path:
    return data_root() / "templates"


def sconstruct_path() -> Path:
    return data_root() / "SConstruct"
