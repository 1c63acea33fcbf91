"""Finding and loading board YAML files, turning every problem into a located error.

Errors read ``boards/foo.yaml:12: uart.base: expected an integer address (hint ...)``: the file, the
line, the dotted key and what to do. Boards are looked up in ``--board-dir`` directories, then in
``TINYFLASH_BOARD_PATH``, then in the boards shipped with tinyflash; the first match wins, so a user can
port a new MCU (or override a shipped board) without touching the package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml
from pydantic import BaseModel, ValidationError

from tinyflash.board.schema import Board
from tinyflash.errors import BoardFileError, BoardNotFoundError
from tinyflash.resources import boards_dir

BOARD_PATH_ENV = "TINYFLASH_BOARD_PATH"
_UNION_TAGS = {"qemu", "pyocd"}


def _line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
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


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The schema class that owns the mapping at ``loc`` (for listing allowed keys)."""
    import typing

    model: Any = Board
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        annotation = fields[part].annotation
        candidates = [annotation, *typing.get_args(annotation)]
        nested = None
        for candidate in candidates:
            for inner in [candidate, *typing.get_args(candidate)]:
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    nested = inner
        if nested is None:
            return None
        model = nested
    return model


def _clean_loc(loc: Sequence[str | int], data: Any) -> list[str | int]:
    """Drop pydantic's union tags (``flash.qemu.machine`` -> ``flash.machine``)."""
    out: list[str | int] = []
    cursor = data
    for part in loc:
        if isinstance(cursor, dict) and part not in cursor and part in _UNION_TAGS:
            continue
        out.append(part)
        if isinstance(cursor, dict):
            cursor = cursor.get(part)
        elif isinstance(cursor, list) and isinstance(part, int) and part < len(cursor):
            cursor = cursor[part]
        else:
            cursor = None
    return out


def _describe(error: dict[str, Any], loc: list[str | int]) -> tuple[str, str | None]:
    kind = error["type"]
    key = str(loc[-1]) if loc else ""
    if kind == "missing":
        return "required key is missing", None
    if kind == "extra_forbidden":
        owner = _model_at(loc[:-1])
        allowed = ", ".join(owner.model_fields) if owner else None
        return "unknown key", (f"allowed keys here: {allowed}" if allowed else None)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if key in ("base", "origin", "addr", "set", "clear", "wait_set"):
            return f"expected an integer address, got {error.get('input')!r}", "write it as 0x40004000"
        return f"expected an integer, got {error.get('input')!r}", None
    if kind == "union_tag_invalid":
        return "method must be 'qemu' or 'pyocd'", "qemu: an emulated board; pyocd: a real board with a debug probe"
    if kind == "union_tag_not_found":
        return "needs a 'method' key ('qemu' or 'pyocd')", None
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return message, None


def validate_board_data(data: Any, path: Path, root: yaml.Node | None = None) -> Board:
    if not isinstance(data, dict):
        raise BoardFileError(path, "", "expected a mapping of keys (name:, core:, memory:, ...) at the top level",
                             line=1)
    try:
        board = Board.model_validate(data)
    except ValidationError as exc:
        error: dict[str, Any] = dict(exc.errors()[0])
        loc = _clean_loc(error["loc"], data)
        problem, hint = _describe(error, loc)
        # model validators name the key in their message: "stack_size: ... "
        head, sep, rest = problem.partition(": ")
        if sep and head.replace("_", "").replace(".", "").isalnum() and " " not in head:
            loc = loc + list(head.split("."))
            problem = rest
        key = ".".join(str(p) for p in loc)
        more = len(exc.errors()) - 1
        if more:
            hint = (hint + "; " if hint else "") + f"{more} more problem(s) after this one"
        raise BoardFileError(path, key, problem, line=_line_of(root, loc), hint=hint) from None
    if board.name != path.stem:
        raise BoardFileError(path, "name", f"'{board.name}' differs from the file name '{path.stem}'",
                             line=_line_of(root, ["name"]), hint=f"rename the file to {board.name}.yaml")
    return board


def load_board_file(path: Path | str) -> Board:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BoardNotFoundError(f"cannot read board file {path}: {exc.strerror}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise BoardFileError(path, "", f"not valid YAML: {problem}",
                             line=mark.line + 1 if mark else None) from None
    return validate_board_data(data, path, root)


@dataclass
class BoardCatalog:
    """Board files found on the search path, loaded on demand."""

    extra_dirs: Sequence[Path] = ()
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def search_path(self) -> list[Path]:
        dirs = [Path(d) for d in self.extra_dirs]
        env = self.environ.get(BOARD_PATH_ENV, "")
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
        dirs.append(boards_dir())
        return dirs

    def files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for directory in self.search_path():
            if not directory.is_dir():
                continue
            for file in sorted(directory.glob("*.yaml")):
                found.setdefault(file.stem, file)
        return found

    def names(self) -> list[str]:
        return sorted(self.files())

    def load(self, name_or_path: str) -> Board:
        candidate = Path(name_or_path)
        if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
            return load_board_file(candidate)
        files = self.files()
        if name_or_path not in files:
            close = [n for n in files if name_or_path.lower() in n.lower()]
            hint = f"did you mean {', '.join(close)}?" if close else "run 'tinyflash boards' to list them"
            raise BoardNotFoundError(
                f"no board named '{name_or_path}' in {', '.join(str(d) for d in self.search_path())}",
                hint=hint + f"; add your own with --board-dir DIR or {BOARD_PATH_ENV}")
        return load_board_file(files[name_or_path])

    def load_all(self) -> Iterable[Board]:
        for path in self.files().values():
            yield load_board_file(path)
