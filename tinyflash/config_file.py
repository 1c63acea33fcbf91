"""YAML configuration files (board descriptors, farm inventories and matrices) validated by a pydantic
class, every problem turned into a located error: ``file:line: dotted.key: problem`` plus a hint.

One implementation for every kind of file, so they all read and fail the same way.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tinyflash.errors import LocatedFileError


class StrictModel(BaseModel):
    """Base of every configuration class: unknown keys are errors, loaded values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=BaseModel)
ErrorFactory = Callable[..., LocatedFileError]   # (path, key, problem, *, line=, hint=)
_ADDRESS_KEYS = {"base", "origin", "addr", "set", "clear", "wait_set"}


def read_yaml(path: Path, error: ErrorFactory) -> tuple[Any, yaml.Node | None]:
    """The parsed data and the node tree (for line numbers). ``OSError`` is the caller's to handle."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a file saved as Latin-1 or UTF-16, or a binary copied by mistake: say where, not rc 2 (#11.8)
        line = raw.count(b"\n", 0, exc.start) + 1
        raise error(path, "", f"not UTF-8 text: byte {raw[exc.start]:#04x} at offset {exc.start} cannot be decoded",
                    line=line, hint="save the file as UTF-8 (plain ASCII is fine)") from None
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(path, "", f"not valid YAML: {problem}", line=mark.line + 1 if mark else None) from None


def line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of the deepest existing parent)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    node = value_node
                    line = key_node.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The schema class that owns the mapping at ``loc`` (for listing allowed keys)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return None
        nested = None
        stack = [fields[part].annotation]
        while stack:
            candidate = stack.pop()
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                nested = candidate
            stack.extend(typing.get_args(candidate))
        if nested is None:
            return None
        current = nested
    return current


def _clean_loc(loc: Sequence[str | int], data: Any, union_tags: Sequence[str]) -> list[str | int]:
    """Drop what pydantic adds to a location but the file does not have: union tags
    (``flash.qemu.machine`` -> ``flash.machine``) and validator names (``function-after[...]``)."""
    out: list[str | int] = []
    cursor = data
    for part in loc:
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        if isinstance(cursor, dict) and part not in cursor and part in union_tags:
            continue
        out.append(part)
        if isinstance(cursor, dict):
            cursor = cursor.get(part)
        elif isinstance(cursor, list) and isinstance(part, int) and part < len(cursor):
            cursor = cursor[part]
        else:
            cursor = None
    return out


def _describe(error: dict[str, Any], loc: list[str | int], model: type[BaseModel],
              union_tags: Sequence[str], union_hint: str | None) -> tuple[str, str | None]:
    kind = error["type"]
    key = str(loc[-1]) if loc else ""
    if kind == "missing":
        return "required key is missing", None
    if kind == "extra_forbidden":
        owner = model_at(model, loc[:-1])
        allowed = ", ".join(owner.model_fields) if owner else None
        return "unknown key", (f"allowed keys here: {allowed}" if allowed else None)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if key in _ADDRESS_KEYS:
            return f"expected an integer address, got {error.get('input')!r}", "write it as 0x40004000"
        return f"expected an integer, got {error.get('input')!r}", None
    ctx = error.get("ctx") or {}
    discriminator = str(ctx.get("discriminator", "'method'")).strip("'")
    # the tags pydantic expects here, not every tag of every union in the file
    expected = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
    tags = " or ".join(f"'{t}'" for t in (expected or union_tags))
    if kind == "union_tag_invalid":
        return f"{discriminator} must be {tags}", union_hint if discriminator == "method" else None
    if kind == "union_tag_not_found":
        return f"needs a '{discriminator}' key ({tags})", None
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return message, None


def validate(model: type[M], data: Any, path: Path, root: yaml.Node | None, error: ErrorFactory, *,
             union_tags: Sequence[str] = (), union_hint: str | None = None) -> M:
    """``union_tags``: the values of the discriminator of a tagged union (board ``flash.method``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first: dict[str, Any] = dict(exc.errors()[0])
        loc = _clean_loc(first["loc"], data, union_tags)
        problem, hint = _describe(first, loc, model, union_tags, union_hint)
        # validators name a nested key in their message: "stack_size: ..."
        head, sep, rest = problem.partition(": ")
        if sep and " " not in head and head.replace("_", "").replace(".", "").isalnum():
            loc = loc + list(head.split("."))
            problem = rest
        more = len(exc.errors()) - 1
        if more:
            hint = (hint + "; " if hint else "") + f"{more} more problem(s) after this one"
        raise error(path, ".".join(str(p) for p in loc), problem, line=line_of(root, loc), hint=hint) from None
