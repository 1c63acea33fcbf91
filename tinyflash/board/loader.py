"""Finding and loading board YAML files, turning every problem into a located error.

Errors read ``boards/foo.yaml:12: uart.base: expected an integer address (hint ...)``: the file, the
line, the dotted key and what to do. Boards are looked up in ``--board-dir`` directories, then in
``TINYFLASH_BOARD_PATH``, then in the boards shipped with tinyflash; the first match wins, so a user can
port a new MCU (or override a shipped board) without touching the package.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml
from tinyflash.board.clock import CLOCK_FAMILIES
from tinyflash.board.schema import Board, FlashMethod, QemuFlash
from tinyflash.config_file import line_of, read_yaml, validate
from tinyflash.errors import BoardFileError, BoardNotFoundError
from tinyflash.resources import boards_dir

BOARD_PATH_ENV = "TINYFLASH_BOARD_PATH"
_FLASH_METHODS = tuple(method.value for method in FlashMethod)
_FLASH_HINT = "qemu: an emulated board; pyocd: a real board with a debug probe"


def validate_board_data(data: Any, path: Path, root: yaml.Node | None = None) -> Board:
    if not isinstance(data, dict):
        raise BoardFileError(path, "", "expected a mapping of keys (name:, core:, memory:, ...) at the top level",
                             line=1)
    board = validate(Board, data, path, root, BoardFileError, union_tags=_FLASH_METHODS + CLOCK_FAMILIES,
                     union_hint=_FLASH_HINT)
    if board.name != path.stem:
        raise BoardFileError(path, "name", f"'{board.name}' differs from the file name '{path.stem}'",
                             line=line_of(root, ["name"]), hint=f"rename the file to {board.name}.yaml")
    if isinstance(board.flash, QemuFlash):
        _check_machine(board.flash.machine, path, root)
    return board


def _check_machine(machine: str, path: Path, root: yaml.Node | None) -> None:
    from tinyflash.flash.qemu import qemu_machines   # not at import: flash imports the board schema

    known = qemu_machines()
    name = machine.split(",", 1)[0]           # -M accepts NAME,option=value
    if known is None or name in known:
        return
    close = difflib.get_close_matches(name, sorted(known), n=3)
    raise BoardFileError(path, "flash.machine", f"qemu-system-arm has no machine '{name}'",
                         line=line_of(root, ["flash", "machine"]),
                         hint=(f"did you mean {', '.join(close)}? " if close else "") +
                              "'qemu-system-arm -machine help' lists them")


def load_board_file(path: Path | str) -> Board:
    path = Path(path)
    try:
        data, root = read_yaml(path, BoardFileError)
    except OSError as exc:
        raise BoardNotFoundError(f"cannot read board file {path}: {exc.strerror}") from None
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
