"""Finding mlcommons/tiny: the official MLPerf Tiny runner, submission checker and reference models.

tinyflash never copies these; it runs them from a checkout. Two layouts are recognised for a directory DIR:

1. an mlcommons/tiny checkout itself (``DIR/benchmark/runner/main.py``, ``DIR/tools/submission/...``);
2. a west workspace made from tinyflash's west.yml with the optional group enabled
   (``tinyflash deps --mlperf-tiny``): the checkout at the manifest's path (``DIR/third_party/mlcommons-tiny``).

Where to look: an explicit directory (``--mlperf-tiny-dir``), else ``TINYFLASH_MLPERF_TINY_DIR``, else the
default workspace that ``tinyflash deps`` makes. Nothing here imports the model package: the model
search path (``tinyflash.model.spec``) calls :func:`mlperf_tiny_model_dirs`, not the other way round.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional

from tinyflash.deps.errors import DepsError, SourcesNotFoundError
from tinyflash.deps.manifest import MLPERF_TINY_ROLE, Manifest, load_manifest
from tinyflash.deps.sources import default_workspace_dir

log = logging.getLogger(__name__)

MLPERF_TINY_DIR_ENV = "TINYFLASH_MLPERF_TINY_DIR"
MLPERF_TINY_GROUP = "mlperf-tiny"     # the west group of the project; also its tinyflash role
RUNNER_DIR = "benchmark/runner"
CHECKER = "tools/submission/submission_checker.py"
MODEL_DIRS_GLOB = "benchmark/training/*/trained_models"
# Files a checkout must have: what `tinyflash submit` runs (the runner's entry point and the checker).
MARKERS = (f"{RUNNER_DIR}/main.py", CHECKER)
MLPERF_TINY_HINT = (f"run 'tinyflash deps --mlperf-tiny' (offline: 'tinyflash deps --mlperf-tiny --mirror DIR' "
                    f"with a bare clone DIR/tiny.git), or set {MLPERF_TINY_DIR_ENV} (or pass --mlperf-tiny-dir) "
                    f"to an existing mlcommons/tiny checkout")
_GIT_TIMEOUT_S = 30.0
GitHead = Callable[[Path], Optional[str]]


@dataclass(frozen=True)
class MlperfTinySources:
    """An mlcommons/tiny checkout: where it is and which revision it holds."""

    root: Path                    # the checkout's top directory
    layout: str                   # "checkout" or "workspace"
    revision: Optional[str]       # its HEAD commit; None when it is not a git checkout (e.g. a git archive)
    pinned: Optional[str]         # the revision west.yml pins, when the manifest could be read

    @property
    def runner_dir(self) -> Path:
        return self.root / RUNNER_DIR

    @property
    def checker(self) -> Path:
        return self.root / CHECKER

    @property
    def at_pin(self) -> Optional[bool]:
        """True/False when both revisions are known, else None."""
        if self.revision is None or self.pinned is None:
            return None
        return self.revision == self.pinned

    def model_dirs(self) -> list[Path]:
        return _model_dirs(self.root)


def _model_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.glob(MODEL_DIRS_GLOB) if p.is_dir())


def git_head(path: Path) -> Optional[str]:
    """HEAD of the git checkout at ``path`` (None when it is not one, or git is missing)."""
    if not (path / ".git").exists():
        return None
    try:
        proc = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=_GIT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _manifest_or_none(manifest: Optional[Manifest]) -> Optional[Manifest]:
    if manifest is not None:
        return manifest
    try:
        return load_manifest()
    except (DepsError, ImportError) as exc:      # west missing or the manifest unreadable: no workspace path
        log.debug("no manifest to find mlcommons/tiny in a workspace: %s", exc)
        return None


def _is_checkout(path: Path) -> bool:
    return all((path / marker).is_file() for marker in MARKERS)


def _root_in(directory: Path, manifest: Optional[Manifest]) -> Optional[tuple[Path, str]]:
    """The checkout ``directory`` is or holds (workspace layout), with the layout's name."""
    if _is_checkout(directory):
        return directory, "checkout"
    project = manifest.find_role(MLPERF_TINY_ROLE) if manifest else None
    if project is not None and _is_checkout(directory / project.path):
        return directory / project.path, "workspace"
    return None


def _where_to_look(explicit: Optional[Path | str], environ: Mapping[str, str]) -> tuple[Path, str]:
    if explicit:
        return Path(explicit).expanduser(), "explicit"
    if environ.get(MLPERF_TINY_DIR_ENV):
        return Path(environ[MLPERF_TINY_DIR_ENV]).expanduser(), MLPERF_TINY_DIR_ENV
    return default_workspace_dir(environ), "default workspace"


def locate_mlperf_tiny(directory: Path | str, *, manifest: Optional[Manifest] = None,
                       git_head: GitHead = git_head) -> MlperfTinySources:
    """The mlcommons/tiny checkout that ``directory`` is, or holds as a tinyflash west workspace."""
    directory = Path(directory).expanduser().resolve()
    manifest = _manifest_or_none(manifest)
    project = manifest.find_role(MLPERF_TINY_ROLE) if manifest else None
    if not directory.is_dir():
        raise SourcesNotFoundError(f"mlcommons/tiny directory {directory} does not exist",
                                   looked_in=(str(directory),), hint=MLPERF_TINY_HINT)
    found = _root_in(directory, manifest)
    if found is None:
        looked = [str(directory)] + ([str(directory / project.path)] if project else [])
        missing = [m for m in MARKERS if not (directory / m).is_file()]
        raise SourcesNotFoundError(
            f"{directory} is not an mlcommons/tiny checkout" + (f" nor a workspace holding one at {project.path}"
                                                                 if project else "")
            + f": {', '.join(missing)} missing", looked_in=tuple(looked), hint=MLPERF_TINY_HINT)
    root, layout = found
    return MlperfTinySources(root, layout, git_head(root), project.revision if project else None)


def find_mlperf_tiny(explicit: Optional[Path | str] = None, *, environ: Optional[Mapping[str, str]] = None,
                     manifest: Optional[Manifest] = None, git_head: GitHead = git_head) -> MlperfTinySources:
    """The mlcommons/tiny checkout to run the official tools from: ``explicit``, else
    $TINYFLASH_MLPERF_TINY_DIR, else the default workspace. Raises SourcesNotFoundError (a DepsError)
    whose hint says how to get it."""
    environ = os.environ if environ is None else environ
    directory, how = _where_to_look(explicit, environ)
    if how == "default workspace" and not directory.is_dir():
        raise SourcesNotFoundError(
            f"no mlcommons/tiny checkout: {MLPERF_TINY_DIR_ENV} is not set and the default workspace {directory} "
            f"does not exist", looked_in=(str(directory),), hint=MLPERF_TINY_HINT)
    return locate_mlperf_tiny(directory, manifest=manifest, git_head=git_head)


def mlperf_tiny_model_dirs(environ: Optional[Mapping[str, str]] = None, *,
                           manifest: Optional[Manifest] = None) -> list[Path]:
    """The ``benchmark/training/*/trained_models`` folders of the mlcommons/tiny checkout that
    :func:`find_mlperf_tiny` would use; empty when there is none. Never raises and runs no subprocess:
    the model search path calls it on every lookup."""
    environ = os.environ if environ is None else environ
    directory, _ = _where_to_look(None, environ)
    if not directory.is_dir():
        return []
    directory = directory.resolve()
    # the models alone are enough here (a sparse checkout of benchmark/training counts)
    dirs = _model_dirs(directory)
    if not dirs:
        loaded = _manifest_or_none(manifest)
        tiny = loaded.find_role(MLPERF_TINY_ROLE) if loaded else None
        dirs = _model_dirs(directory / tiny.path) if tiny else []
    return dirs
