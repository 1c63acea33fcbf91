"""Reading a farm YAML file (inventory or matrix) into a pydantic model, every problem located.

Errors read ``farm.yaml:12: units.0.board: no board named 'foo' (hint ...)``, as board files do
(:mod:`tinyflash.board.loader`): the schema version is checked first, then the classes (extra='forbid').
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tinyflash.board.loader import _line_of
from tinyflash.farm.errors import FarmConfigError

M = TypeVar("M", bound=BaseModel)
SCHEMA_VERSION = 1


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise FarmConfigError(path, "", f"cannot read the file: {exc.strerror}") from None
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise FarmConfigError(path, "", f"not valid YAML: {problem}", line=mark.line + 1 if mark else None) from None


def located(path: Path, root: yaml.Node | None, loc: Sequence[str | int], problem: str,
            hint: str | None = None) -> FarmConfigError:
    key = ".".join(str(p) for p in loc)
    return FarmConfigError(path, key, problem, line=_line_of(root, list(loc)), hint=hint)


def _allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str] | None:
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return None
        nested = None
        annotation = fields[part].annotation
        stack = [annotation]
        while stack:
            candidate = stack.pop()
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                nested = candidate
            stack.extend(typing.get_args(candidate))
        if nested is None:
            return None
        current = nested
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else None


def validate(model: type[M], data: Any, path: Path, root: yaml.Node | None, *, what: str) -> M:
    if not isinstance(data, dict):
        raise FarmConfigError(path, "", f"expected a mapping at the top level ({what})", line=1)
    version = data.get("schema_version", None)
    if version is None:
        raise located(path, root, [], "schema_version is missing", hint=f"start the file with 'schema_version: {SCHEMA_VERSION}'")
    if version != SCHEMA_VERSION:
        raise located(path, root, ["schema_version"], f"unsupported schema_version {version!r}",
                      hint=f"this tinyflash reads schema_version {SCHEMA_VERSION}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc: list[str | int] = [p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
        kind = error["type"]
        hint = None
        if kind == "missing":
            problem = "required key is missing"
        elif kind == "extra_forbidden":
            problem = "unknown key"
            allowed = _allowed_keys(model, loc[:-1])
            hint = f"allowed keys here: {', '.join(allowed)}" if allowed else None
        else:
            problem = str(error["msg"])
            if problem.startswith("Value error, "):
                problem = problem[len("Value error, "):]
            # validators name a nested key in their message: "count: ..."
            head, sep, rest = problem.partition(": ")
            if sep and " " not in head and head.replace("_", "").replace(".", "").isalnum():
                loc = loc + list(head.split("."))
                problem = rest
        more = len(exc.errors()) - 1
        if more:
            hint = (hint + "; " if hint else "") + f"{more} more problem(s) after this one"
        raise located(path, root, loc, problem, hint) from None
