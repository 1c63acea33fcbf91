"""Reading a farm YAML file (inventory or matrix) into a pydantic model, every problem located.

Errors read ``farm.yaml:12: units.0.board: no board named 'foo' (hint ...)``, as board files do
(:mod:`tinyflash.board.loader`): the schema version is checked first, then the classes (extra='forbid').
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, TypeVar

import yaml
from pydantic import BaseModel

from tinyflash import config_file
from tinyflash.farm.errors import FarmConfigError

M = TypeVar("M", bound=BaseModel)
SCHEMA_VERSION = 1


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        return config_file.read_yaml(path, FarmConfigError)
    except OSError as exc:
        raise FarmConfigError(path, "", f"cannot read the file: {exc.strerror}") from None


def located(path: Path, root: yaml.Node | None, loc: Sequence[str | int], problem: str,
            hint: str | None = None) -> FarmConfigError:
    key = ".".join(str(p) for p in loc)
    return FarmConfigError(path, key, problem, line=config_file.line_of(root, list(loc)), hint=hint)


def validate(model: type[M], data: Any, path: Path, root: yaml.Node | None, *, what: str) -> M:
    if not isinstance(data, dict):
        raise FarmConfigError(path, "", f"expected a mapping at the top level ({what})", line=1)
    version = data.get("schema_version", None)
    if version is None:
        raise located(path, root, [], "schema_version is missing", hint=f"start the file with 'schema_version: {SCHEMA_VERSION}'")
    if version != SCHEMA_VERSION:
        raise located(path, root, ["schema_version"], f"unsupported schema_version {version!r}",
                      hint=f"this tinyflash reads schema_version {SCHEMA_VERSION}")
    return config_file.validate(model, data, path, root, FarmConfigError)
