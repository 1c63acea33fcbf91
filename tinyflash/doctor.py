"""What a machine has and lacks for tinyflash, each missing piece with the command that installs it."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

if TYPE_CHECKING:
    from tinyflash.deps.manifest import Manifest


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""
    required: bool = True


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.splitlines()[0].strip() if out else ""


def run_checks(model_dirs: Sequence[Path] = (), *, mlperf_tiny_dir: Optional[Path] = None) -> list[Check]:
    checks = []
    apt = "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"
    gcc = shutil.which("arm-none-eabi-gcc")
    checks.append(Check("arm-none-eabi-gcc", bool(gcc), _version([gcc, "--version"]) if gcc else "not found",
                        hint=apt))
    if gcc:
        specs = _version([gcc, "-print-file-name=nano.specs"])
        found = bool(specs) and Path(specs).is_file()
        checks.append(Check("newlib-nano", found, specs if found else "nano.specs not found",
                            hint="apt-get install libnewlib-arm-none-eabi"))
    qemu = shutil.which("qemu-system-arm")
    checks.append(Check("qemu-system-arm", bool(qemu), _version([qemu, "--version"]) if qemu else "not found",
                        hint="apt-get install qemu-system-arm (needed for emulated boards)"))
    host_cc = shutil.which("gcc") or shutil.which("cc")
    checks.append(Check("host C compiler", bool(host_cc), host_cc or "not found",
                        hint="apt-get install gcc (for the host harness in tests)", required=False))
    for module, package in (("jinja2", "jinja2"), ("yaml", "pyyaml"), ("pydantic", "pydantic"),
                            ("SCons", "scons"), ("serial", "pyserial"), ("tflite", "tflite"),
                            ("tflite_micro", "tflite-micro"), ("numpy", "numpy"), ("elftools", "pyelftools"),
                            ("pyocd", "pyocd"), ("west", "west"), ("rich", "rich")):
        try:
            mod = importlib.import_module(module)
            checks.append(Check(f"python: {package}", True, str(getattr(mod, "__version__", "importable"))))
        except Exception as exc:
            checks.append(Check(f"python: {package}", False, f"not importable ({type(exc).__name__})",
                                hint=f"pip install {package}", required=package not in ("pyocd", "west")))
    checks.append(models_check(model_dirs))
    checks.append(tflm_check())
    checks.append(mlperf_tiny_check(mlperf_tiny_dir))
    return checks


def models_check(model_dirs: Sequence[Path] = (), *, environ: Optional[Mapping[str, str]] = None) -> Check:
    from tinyflash.deps.mlperf_tiny import mlperf_tiny_model_dirs
    from tinyflash.model.spec import BENCHMARKS, model_search_path

    dirs = model_search_path(model_dirs, None if environ is None else dict(environ))
    # the mlcommons/tiny workspace's trained_models folders (a no-op once model_search_path adds them)
    dirs += [d for d in mlperf_tiny_model_dirs(environ) if d not in dirs]
    models = [b.filename for b in BENCHMARKS.values() if any((d / b.filename).is_file() for d in dirs)]
    return Check("MLPerf Tiny models", bool(models),
                 f"{len(models)}/{len(BENCHMARKS)} in {', '.join(map(str, dirs)) or 'no directory'}",
                 hint="run 'tinyflash deps --mlperf-tiny' (the reference models come with mlcommons/tiny), "
                      "or pass --model-dir DIR or set TINYFLASH_MODEL_DIR", required=False)


def mlperf_tiny_check(explicit: Optional[Path] = None, *, environ: Optional[Mapping[str, str]] = None,
                      manifest: "Manifest | None" = None) -> Check:
    """mlcommons/tiny: the official runner and submission checker (`tinyflash submit` only, so never
    required): where it was found and at which revision."""
    name = "mlcommons/tiny"
    try:
        from tinyflash.deps.errors import DepsError
        from tinyflash.deps.mlperf_tiny import find_mlperf_tiny
    except ImportError as exc:
        return Check(name, False, f"cannot check ({exc})", hint="pip install west", required=False)
    try:
        tiny = find_mlperf_tiny(explicit, environ=environ, manifest=manifest)
    except DepsError as exc:
        return Check(name, False, exc.message, hint=exc.hint or "", required=False)
    where = f"{tiny.root} ({tiny.layout})"
    if tiny.at_pin is False:
        return Check(name, False, f"{where} at {tiny.revision}, not the pinned {tiny.pinned}",
                     hint="run 'tinyflash deps --mlperf-tiny' to check out the pin, or check out "
                          f"{tiny.pinned} in {tiny.root}", required=False)
    revision = f"at {tiny.revision} (pinned)" if tiny.at_pin else \
        "revision unknown (not a git checkout)" if tiny.revision is None else f"at {tiny.revision}"
    return Check(name, True, f"{where} {revision}", required=False)


def tflm_check(tflm_dir: Path | None = None, *, manifest: "Manifest | None" = None) -> Check:
    """The TFLM runtime's sources (for --runtime tflm and as --runtime auto's fallback; optional)."""
    try:
        from tinyflash.deps.errors import DepsError
        from tinyflash.deps.manifest import load_manifest
        from tinyflash.deps.sources import SETUP_HINT, find_tflm_sources
        from tinyflash.deps.workspace import Workspace

        manifest = manifest or load_manifest()
        sources = find_tflm_sources(tflm_dir, manifest=manifest)
    except ImportError as exc:
        return Check("TFLM sources", False, f"cannot check ({exc})", hint="pip install west", required=False)
    except DepsError as exc:
        return Check("TFLM sources", False, exc.message, hint=exc.hint or "", required=False)
    detail = f"{sources.root} ({sources.layout}; CMSIS-NN {'present' if sources.has_cmsis_nn else 'missing'})"
    if sources.layout == "workspace":
        tflm_roles = {p.role for p in manifest.default_projects}
        off = [s.project.name for s in Workspace(sources.root, manifest).status()
               if s.project.role in tflm_roles and s.cloned and not s.at_pin]
        if off:
            return Check("TFLM sources", False, f"{detail}; not at the pinned revision: {', '.join(off)}",
                         hint="run 'tinyflash deps' to check out the pins", required=False)
    hint = "" if sources.has_cmsis_nn else f"--kernels cmsis-nn needs CMSIS_6 and CMSIS-NN: {SETUP_HINT}"
    return Check("TFLM sources", True, detail, hint=hint, required=False)
