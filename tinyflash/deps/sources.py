"""Finding a usable TFLM checkout: a tinyflash (west) workspace, or a checkout made another way.

Three layouts are recognised, in this order, for a directory DIR:

1. a west workspace made from tinyflash's west.yml: each project at the path the manifest gives
   (``DIR/third_party/tflite-micro``, ...);
2. a directory holding the projects side by side: ``DIR/tflite-micro``, ``DIR/flatbuffers``, ...;
3. a tflite-micro checkout whose Makefile has downloaded its third-party code:
   ``DIR/tensorflow/lite/micro/tools/make/downloads/{flatbuffers,gemmlowp,ruy,cmsis,cmsis_nn}``.

Where to look: an explicit directory (``--tflm-dir``), else ``TINYFLASH_TFLM_DIR``, else the default
workspace that ``tinyflash deps`` makes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from tinyflash.deps.errors import SourcesNotFoundError
from tinyflash.deps.manifest import TFLM_ROLES, Manifest, load_manifest

TFLM_DIR_ENV = "TINYFLASH_TFLM_DIR"
SETUP_HINT = (f"run 'tinyflash deps' (offline: 'tinyflash deps --mirror DIR' with a directory of bare "
              f"repositories), or set {TFLM_DIR_ENV} to an existing checkout")

# A file each project must have: enough to tell a real checkout from an empty directory.
MARKERS = {
    "tflm": "tensorflow/lite/micro/micro_interpreter.h",
    "flatbuffers": "include/flatbuffers/flatbuffers.h",
    "gemmlowp": "fixedpoint/fixedpoint.h",
    "ruy": "ruy/profiler/instrumentation.h",
    "cmsis": "CMSIS/Core/Include/cmsis_compiler.h",
    "cmsis-nn": "Include/arm_nnfunctions.h",
}
REQUIRED_ROLES = ("tflm", "flatbuffers", "gemmlowp", "ruy")   # cmsis and cmsis-nn: --kernels cmsis-nn only
_MAKE_DOWNLOADS = "tensorflow/lite/micro/tools/make/downloads"
_DOWNLOAD_NAMES = {"flatbuffers": "flatbuffers", "gemmlowp": "gemmlowp", "ruy": "ruy", "cmsis": "cmsis",
                   "cmsis-nn": "cmsis_nn"}


def default_workspace_dir(environ: Optional[Mapping[str, str]] = None) -> Path:
    """Where ``tinyflash deps`` makes its workspace unless told otherwise."""
    environ = os.environ if environ is None else environ
    if environ.get(TFLM_DIR_ENV):
        return Path(environ[TFLM_DIR_ENV])
    # HOME from ``environ`` too, so a caller's environment decides (tests never see the real home)
    home = environ.get("HOME") or os.path.expanduser("~")
    base = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return Path(base) / "tinyflash" / "tflm-workspace"


@dataclass(frozen=True)
class TflmSources:
    """Absolute paths of the projects a TFLM build needs (cmsis/cmsis_nn may be absent)."""

    root: Path            # the directory the sources were found from
    layout: str           # "workspace", "side-by-side" or "tflite-micro make downloads"
    tflm: Path
    flatbuffers: Path
    gemmlowp: Path
    ruy: Path
    cmsis: Optional[Path]
    cmsis_nn: Optional[Path]

    @property
    def has_cmsis_nn(self) -> bool:
        return self.cmsis is not None and self.cmsis_nn is not None

    def paths(self) -> dict[str, Optional[Path]]:
        return {"tflm": self.tflm, "flatbuffers": self.flatbuffers, "gemmlowp": self.gemmlowp, "ruy": self.ruy,
                "cmsis": self.cmsis, "cmsis-nn": self.cmsis_nn}


def _candidates(directory: Path, manifest: Manifest) -> list[tuple[str, dict[str, Path]]]:
    tflm = [p for p in manifest.projects if p.role in TFLM_ROLES]
    workspace = {p.role: directory / p.path for p in tflm}
    side = {p.role: directory / p.repo_name for p in tflm}
    downloads = {role: directory / _MAKE_DOWNLOADS / name for role, name in _DOWNLOAD_NAMES.items()}
    downloads["tflm"] = directory
    return [("workspace", workspace), ("side-by-side", side), ("tflite-micro make downloads", downloads)]


def _present(role: str, path: Path) -> bool:
    return (path / MARKERS[role]).is_file()


def inspect_directory(directory: Path, manifest: Optional[Manifest] = None) -> dict[str, dict[str, object]]:
    """What each role looks like in ``directory`` (best layout): for reports (doctor, deps --status)."""
    manifest = manifest or load_manifest()
    best: tuple[int, str, dict[str, Path]] | None = None
    for layout, paths in _candidates(directory, manifest):
        score = sum(_present(role, path) for role, path in paths.items())
        if best is None or score > best[0]:
            best = (score, layout, paths)
    assert best is not None
    _, layout, paths = best
    return {role: {"path": str(path), "present": _present(role, path), "layout": layout}
            for role, path in paths.items()}


def locate_in(directory: Path, manifest: Optional[Manifest] = None) -> TflmSources:
    directory = Path(directory).expanduser().resolve()
    manifest = manifest or load_manifest()
    if not directory.is_dir():
        raise SourcesNotFoundError(f"TFLM directory {directory} does not exist", looked_in=(str(directory),),
                                   hint=SETUP_HINT)
    for layout, paths in _candidates(directory, manifest):
        if all(_present(role, paths[role]) for role in REQUIRED_ROLES):
            optional = {role: paths[role] if _present(role, paths[role]) else None for role in ("cmsis", "cmsis-nn")}
            return TflmSources(directory, layout, paths["tflm"], paths["flatbuffers"], paths["gemmlowp"],
                               paths["ruy"], optional["cmsis"], optional["cmsis-nn"])
    report = inspect_directory(directory, manifest)
    missing = [f"{role} ({info['path']})" for role, info in report.items()
               if role in REQUIRED_ROLES and not info["present"]]
    raise SourcesNotFoundError(f"{directory} is not a usable TFLM checkout: missing {', '.join(missing)}",
                               looked_in=(str(directory),), hint=SETUP_HINT)


def find_tflm_sources(explicit: Optional[Path | str] = None, *, environ: Optional[Mapping[str, str]] = None,
                      manifest: Optional[Manifest] = None) -> TflmSources:
    """The TFLM checkout to build from: ``explicit``, else $TINYFLASH_TFLM_DIR, else the default workspace."""
    environ = os.environ if environ is None else environ
    if explicit:
        return locate_in(Path(explicit), manifest)
    if environ.get(TFLM_DIR_ENV):
        return locate_in(Path(environ[TFLM_DIR_ENV]), manifest)
    default = default_workspace_dir(environ)
    if not default.is_dir():
        raise SourcesNotFoundError(f"no TFLM sources: {TFLM_DIR_ENV} is not set and the default workspace "
                                   f"{default} does not exist", looked_in=(str(default),), hint=SETUP_HINT)
    return locate_in(default, manifest)
