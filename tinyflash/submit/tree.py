"""The submission tree the v1.4 checker walks (spec §8), and writing it so a failure never leaves a
partial tree looking complete.

    <out>/<division>/<submitter>/systems/<system>.json
    <out>/<division>/<submitter>/results/<system>/<model>/{performance,accuracy}/{log.txt,results.txt,results.json}
    <out>/<division>/<submitter>/code/<system>/...       what reproduces each firmware

The tree is built in ``<out>.partial`` beside ``<out>`` and renamed into place only when complete.
Result folders hold exactly the runner's three files: the checker reports any other file as a
"file list mismatch", and empty folders, symbolic links and ``__pycache__`` as errors.
"""

from __future__ import annotations

import enum
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from tinyflash.errors import TinyflashError

RESULT_FILES = ("log.txt", "results.txt", "results.json")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Division(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"


class TreeError(TinyflashError):
    pass


def check_name(what: str, value: str) -> str:
    """Submitter and system names become folder names: letters, digits, '_', '.', '-' only (the
    checker warns on spaces and leading dots, and a '/' would change the tree's shape)."""
    if not _NAME.match(value):
        raise TreeError(f"{what} '{value}' cannot be a folder name in the submission tree",
                        hint="use letters, digits, '_', '.' and '-', starting with a letter or digit")
    return value


@dataclass(frozen=True)
class SubmissionTree:
    root: Path
    division: Division
    submitter: str
    system: str

    def __post_init__(self) -> None:
        check_name("submitter", self.submitter)
        check_name("system name", self.system)

    @property
    def submitter_dir(self) -> Path:
        return self.root / self.division.value / self.submitter

    @property
    def system_json(self) -> Path:
        return self.submitter_dir / "systems" / f"{self.system}.json"

    def result_dir(self, model: str, mode_folder: str) -> Path:
        return self.submitter_dir / "results" / self.system / model / mode_folder

    def code_dir(self, model: str = "") -> Path:
        base = self.submitter_dir / "code" / self.system
        return base / model if model else base

    # -- writing -----------------------------------------------------------------------------------
    def write_system(self, description: dict[str, Any]) -> Path:
        self.system_json.parent.mkdir(parents=True, exist_ok=True)
        self.system_json.write_text(json.dumps(description, indent=2) + "\n")
        return self.system_json

    def add_results(self, model: str, mode_folder: str, files: Sequence[Path]) -> Path:
        names = sorted(Path(f).name for f in files)
        if names != sorted(RESULT_FILES):
            raise TreeError(f"{model}/{mode_folder}: expected the runner's {', '.join(RESULT_FILES)}, got {names}")
        folder = self.result_dir(model, mode_folder)
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(f, folder / Path(f).name)
        return folder

    def add_code(self, model: str, files: Iterable[tuple[Path, str]]) -> Path:
        """Copy (source, relative destination) pairs under code/<system>/<model>."""
        folder = self.code_dir(model)
        for source, relative in files:
            dest = folder / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            if Path(source).is_dir():
                shutil.copytree(source, dest, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", ".*", "*.o"))
            else:
                shutil.copyfile(source, dest)
        return folder

    def problems(self) -> list[str]:
        """What the checker would reject in the folder structure itself (empty folders, links,
        __pycache__), found before it runs."""
        found = []
        for dirpath, dirs, files in os.walk(self.root):
            path = Path(dirpath)
            if not dirs and not files:
                found.append(f"empty folder {path.relative_to(self.root)}")
            if path.name == "__pycache__":
                found.append(f"__pycache__ folder {path.relative_to(self.root)}")
            for name in files + dirs:
                if (path / name).is_symlink():
                    found.append(f"symbolic link {(path / name).relative_to(self.root)}")
        return found


def staging_path(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def prepare_staging(out: Path) -> Path:
    """A fresh ``<out>.partial``; refuses when ``out`` exists, so a finished tree is never overwritten."""
    out = Path(out)
    if out.exists():
        raise TreeError(f"--out {out} already exists",
                        hint="pick a new folder, or remove the old tree first; a submission tree is never merged")
    staging = staging_path(out)
    if staging.exists():
        shutil.rmtree(staging)     # left by an earlier failed run: never part of a finished tree
    staging.mkdir(parents=True)
    return staging


def publish(staging_tree: Path, out: Path) -> Path:
    """Rename the finished tree into place (one rename: it appears complete or not at all)."""
    os.rename(staging_tree, out)
    return out
