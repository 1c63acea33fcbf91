"""What goes into the TFLM static library: sources, include directories and defines.

The list follows tflite-micro's own Makefile (tensorflow/lite/micro/tools/make/sources.inc and Makefile;
shared docs tflm_build.md): the shared TfLite sources under tensorflow/ outside lite/micro and
lite/experimental (minus array.cc in a TF_LITE_STATIC_MEMORY build), the interpreter core
(lite/micro/*.cc, arena_allocator/, memory_planner/, tflite_bridge/) without tests, and the kernel list
the Makefile names in MICROLITE_CC_KERNEL_SRCS, read from the checkout so it follows the pinned revision.
With CMSIS-NN, a kernel file with the same name in kernels/cmsis_nn/ replaces the reference one (the
Makefile's specialize_files.py rule) and CMSIS-NN's int8/int16 C sources are added.

Left out on purpose: debug_log.cc (tinyflash supplies DebugLog: nothing unsolicited may reach the UART)
and the signal library (custom SignalXxx operators; its (i)rfft files need kissfft, which west.yml does
not pin; tinyflash's op resolver registers builtin operators only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tinyflash.deps.sources import TflmSources
from tinyflash.errors import GenerateError

KERNELS = ("reference", "cmsis-nn")
SOURCES_INC = "tensorflow/lite/micro/tools/make/sources.inc"
_KERNEL_BLOCK = re.compile(r"^MICROLITE_CC_KERNEL_SRCS\s*:=\s*\\\n((?:.*\\\n)*.*\n)", re.M)
_CORE_DIRS = ("tensorflow/lite/micro", "tensorflow/lite/micro/arena_allocator",
              "tensorflow/lite/micro/memory_planner", "tensorflow/lite/micro/tflite_bridge")
_EXCLUDED = {"tensorflow/lite/array.cc",          # not part of a TF_LITE_STATIC_MEMORY build
             "tensorflow/lite/micro/debug_log.cc"}  # replaced by tinyflash's DebugLog
DEFINES = ("TF_LITE_STATIC_MEMORY", "TF_LITE_DISABLE_X86_NEON",
           # TFLM patches flatbuffers to default this to 0 (tools/make/flatbuffers.patch); west can't patch
           "FLATBUFFERS_LOCALE_INDEPENDENT=0",
           # TFLM's BUILD_TYPE=release_with_logs. Without it every TFLITE_DCHECK stays: the bounds checks in
           # Offset() run per MAC in the reference kernels, and kws/vww/ic took 4.6-7.6x the instructions
           # (measured here on mps2-an500: kws01 199.6 M instead of ~43.6 M)
           "NDEBUG")
CMSIS_NN_DEFINES = ("CMSIS_NN", "ARM_NN_ENABLE_F16=0", "ARM_NN_ENABLE_F32=0")


@dataclass(frozen=True)
class LibrarySpec:
    kernels: str
    sources: tuple[Path, ...]           # absolute
    include_dirs: tuple[Path, ...]      # absolute; also needed by the glue that includes TFLM headers
    defines: tuple[str, ...]            # must be identical for the library and the glue (struct layouts)


def kernel_sources(tflm: Path) -> list[str]:
    """MICROLITE_CC_KERNEL_SRCS as sources.inc names it (paths relative to the tflite-micro root)."""
    try:
        text = (tflm / SOURCES_INC).read_text()
    except OSError as exc:
        raise GenerateError(f"cannot read {tflm / SOURCES_INC}: {exc.strerror}",
                            hint="is this a complete tflite-micro checkout?") from exc
    match = _KERNEL_BLOCK.search(text)
    if not match:
        raise GenerateError(f"{tflm / SOURCES_INC}: no MICROLITE_CC_KERNEL_SRCS list found",
                            hint="this tflite-micro revision lays out its Makefile differently from the pinned one")
    names = [token.replace("$(TENSORFLOW_ROOT)", "") for token in match.group(1).replace("\\", " ").split()]
    return [n for n in names if n.endswith((".cc", ".c"))]


def _core_sources(tflm: Path) -> list[str]:
    found = []
    for path in (tflm / "tensorflow").rglob("*"):
        rel = path.relative_to(tflm).as_posix()
        if path.suffix not in (".cc", ".c") or rel.startswith(("tensorflow/lite/micro/",
                                                                 "tensorflow/lite/experimental/")):
            continue
        found.append(rel)
    for directory in _CORE_DIRS:
        found += [p.relative_to(tflm).as_posix() for p in (tflm / directory).glob("*.cc")]
    return [rel for rel in found if rel not in _EXCLUDED and not rel.endswith(("_test.cc", "_benchmark.cc"))]


def library_spec(sources: TflmSources, kernels: str) -> LibrarySpec:
    if kernels not in KERNELS:
        raise GenerateError(f"unknown TFLM kernels '{kernels}'", hint=f"choose one of: {', '.join(KERNELS)}")
    tflm = sources.tflm
    kernel_files = kernel_sources(tflm)
    defines = list(DEFINES)
    include_dirs = [tflm, sources.flatbuffers / "include", sources.gemmlowp, sources.ruy]
    extra: list[Path] = []
    if kernels == "cmsis-nn":
        if not sources.has_cmsis_nn:
            raise GenerateError(f"--kernels cmsis-nn needs CMSIS_6 and CMSIS-NN, not found in {sources.root}",
                                hint="run 'tinyflash deps' to fetch them, or use --kernels reference")
        assert sources.cmsis is not None and sources.cmsis_nn is not None
        special = tflm / "tensorflow/lite/micro/kernels/cmsis_nn"
        kernel_files = [f"tensorflow/lite/micro/kernels/cmsis_nn/{Path(f).name}"
                        if (special / Path(f).name).is_file() else f for f in kernel_files]
        extra = sorted(p for p in (sources.cmsis_nn / "Source").rglob("*.c")
                       if not p.name.endswith(("_f16.c", "_f32.c")) and p.name != "arm_nntables_flt.c")
        include_dirs += [sources.cmsis, sources.cmsis_nn, sources.cmsis / "CMSIS/Core/Include",
                         sources.cmsis_nn / "Include"]
        defines += CMSIS_NN_DEFINES
    missing = [f for f in kernel_files if not (tflm / f).is_file()]
    if missing:
        raise GenerateError(f"{tflm}: kernel sources named in sources.inc are missing: {', '.join(missing[:5])}",
                            hint="the checkout is incomplete; run 'tinyflash deps' again")
    files = sorted(set(_core_sources(tflm)) | set(kernel_files))
    return LibrarySpec(kernels, tuple(tflm / f for f in files) + tuple(extra), tuple(include_dirs), tuple(defines))
