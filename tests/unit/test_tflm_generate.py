"""TFLM runtime generation without TFLM sources: op resolver, arena sizing, library source list, the
generated glue, and the SCons target graph (dry runs over a fake tflite-micro tree)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyflash.deps.manifest import load_manifest
from tinyflash.deps.sources import MARKERS, TFLM_DIR_ENV, locate_in
from tinyflash.errors import GenerateError, UnsupportedOperatorError
from tinyflash.generate.runtime.tflm.arena import GRANULE, ArenaSize, measure_arena, smallest_arena
from tinyflash.generate.runtime.tflm.codegen import model_array_c, tflm_kernels
from tinyflash.generate.runtime.tflm.library import library_spec
from tinyflash.generate.runtime.tflm.ops import ADD_METHODS, resolver_methods
from tinyflash.model.graph import Graph, Operator, Tensor

from ..conftest import REPO

KERNELS = ["add.cc", "conv.cc", "conv_common.cc", "fully_connected.cc", "softmax.cc"]


def graph_of(opcodes: list[str], listed: tuple[str, ...] = ()) -> Graph:
    tensors = (Tensor(0, "in", (1, 4), "int8", None), Tensor(1, "out", (1, 4), "int8", None))
    operators = tuple(Operator(i, code, 1, (0,), (1,)) for i, code in enumerate(opcodes))
    return Graph(tensors, operators, (0,), (1,), listed or tuple(dict.fromkeys(opcodes)))


@pytest.fixture
def fake_tflm(tmp_path: Path) -> Path:
    """A side-by-side checkout with the files a source list is made from (no real code)."""
    root = tmp_path / "tflm-src"
    tflm = root / "tflite-micro"
    files = ["tensorflow/lite/core/c/common.cc", "tensorflow/lite/array.cc",
             "tensorflow/lite/experimental/microfrontend/lib/fft.cc", "tensorflow/compiler/mlir/lite/schema/x.cc",
             "tensorflow/lite/micro/micro_interpreter.cc", "tensorflow/lite/micro/debug_log.cc",
             "tensorflow/lite/micro/micro_interpreter_test.cc", "tensorflow/lite/micro/kernels/unlisted.cc",
             "tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc",
             "tensorflow/lite/micro/kernels/cmsis_nn/conv.cc", "tensorflow/lite/micro/kernels/cmsis_nn/softmax.cc",
             *[f"tensorflow/lite/micro/kernels/{k}" for k in KERNELS]]
    for f in files:
        (tflm / f).parent.mkdir(parents=True, exist_ok=True)
        (tflm / f).write_text("// fake\n")
    block = " \\\n".join(f"$(TENSORFLOW_ROOT)tensorflow/lite/micro/kernels/{k}" for k in KERNELS)
    inc = tflm / "tensorflow/lite/micro/tools/make/sources.inc"
    inc.parent.mkdir(parents=True)
    inc.write_text(f"OTHER := x\n\nMICROLITE_CC_KERNEL_SRCS := \\\n{block}\n\nMORE := y\n")
    for role, name in (("tflm", "tflite-micro"), ("flatbuffers", "flatbuffers"), ("gemmlowp", "gemmlowp"),
                       ("ruy", "ruy"), ("cmsis", "CMSIS_6"), ("cmsis-nn", "CMSIS-NN")):
        marker = root / name / MARKERS[role]
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("//\n")
    for f in ("Source/ConvolutionFunctions/arm_convolve_s8.c", "Source/SoftmaxFunctions/arm_softmax_s8.c",
              "Source/BasicMathFunctions/arm_add_f16.c", "Source/NNSupportFunctions/arm_nntables_flt.c"):
        (root / "CMSIS-NN" / f).parent.mkdir(parents=True, exist_ok=True)
        (root / "CMSIS-NN" / f).write_text("/* fake */\n")
    return root


# --- op resolver --------------------------------------------------------------------------------
def test_resolver_registers_only_operators_the_graph_runs() -> None:
    graph = graph_of(["CONV_2D", "CONV_2D", "SOFTMAX"],
                     listed=("CONV_2D", "SOFTMAX", "QUANTIZE", "DEQUANTIZE"))
    assert resolver_methods(graph) == ("AddConv2D", "AddSoftmax")
    assert ADD_METHODS["DEPTHWISE_CONV_2D"] == "AddDepthwiseConv2D"
    assert ADD_METHODS["UNIDIRECTIONAL_SEQUENCE_LSTM"] == "AddUnidirectionalSequenceLSTM"


def test_resolver_refuses_custom_and_unknown_operators() -> None:
    with pytest.raises(UnsupportedOperatorError, match="operator CUSTOM .* tflm runtime: custom operators"):
        resolver_methods(graph_of(["CONV_2D", "CUSTOM"]))
    with pytest.raises(UnsupportedOperatorError, match="NOT_AN_OP"):
        resolver_methods(graph_of(["NOT_AN_OP"]))


# --- arena --------------------------------------------------------------------------------------
@pytest.mark.parametrize("need", [1, 4_000, 103_681, 200_000])
def test_bisection_finds_the_smallest_arena(need: int) -> None:
    calls = []

    def fits(n: int) -> bool:
        calls.append(n)
        return n >= need

    found = smallest_arena(fits)
    assert need <= found < need + GRANULE + 1
    assert len(calls) < 40


def test_margin_and_limit() -> None:
    small = ArenaSize.from_measurement(2_000)
    assert small.margin_bytes >= 1024 and small.reserved_bytes % 16 == 0
    big = ArenaSize.from_measurement(100_000)
    assert big.reserved_bytes >= 112_500 and big.reserved_bytes - big.measured_bytes == big.margin_bytes
    with pytest.raises(GenerateError, match="does not allocate"):
        smallest_arena(lambda n: False, limit=1 << 20)


def test_arena_measured_with_the_host_interpreter(model_dir: Path) -> None:
    pytest.importorskip("tflite_micro")
    arena = measure_arena(model_dir / "kws_ref_model.tflite")
    # tflm_build.md: 24,272 B on a 64-bit host with the tflite-micro package
    assert 20_000 < arena.measured_bytes < 30_000
    assert arena.reserved_bytes > arena.measured_bytes


def test_a_model_that_aborts_the_host_interpreter_is_an_error(model_dir: Path, tmp_path: Path) -> None:
    """Fuzz case 549 (seed 11): an AVERAGE_POOL_2D whose options lost a vtable entry makes TFLM's host
    interpreter abort() its process. Sized in a child process, that is a GenerateError naming the model."""
    pytest.importorskip("tflite_micro")
    from tests.support.fuzz import models as fuzz

    path, data, description = fuzz.mutate_case(fuzz.reference_models(model_dir), 11, 549)
    assert path.name == "pretrainedResnet_quant.tflite" and "options (vtable entry)" in description
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(data)
    with pytest.raises(GenerateError, match=r"crashed \(SIGABRT\) allocating broken.tflite"):
        measure_arena(broken)


# --- library source list ------------------------------------------------------------------------
def test_reference_source_list_follows_the_makefile(fake_tflm: Path) -> None:
    sources = locate_in(fake_tflm, load_manifest(REPO / "west.yml"))
    spec = library_spec(sources, "reference")
    names = {p.relative_to(sources.tflm).as_posix() for p in spec.sources}
    assert "tensorflow/lite/micro/kernels/conv.cc" in names
    assert "tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc" in names
    assert "tensorflow/compiler/mlir/lite/schema/x.cc" in names
    for excluded in ("tensorflow/lite/array.cc", "tensorflow/lite/micro/debug_log.cc",
                     "tensorflow/lite/micro/micro_interpreter_test.cc", "tensorflow/lite/micro/kernels/unlisted.cc",
                     "tensorflow/lite/experimental/microfrontend/lib/fft.cc"):
        assert excluded not in names
    assert "TF_LITE_STATIC_MEMORY" in spec.defines and "CMSIS_NN" not in spec.defines
    assert sources.flatbuffers / "include" in spec.include_dirs


def test_cmsis_nn_kernels_replace_reference_ones(fake_tflm: Path) -> None:
    sources = locate_in(fake_tflm, load_manifest(REPO / "west.yml"))
    spec = library_spec(sources, "cmsis-nn")
    rel = {p.relative_to(fake_tflm).as_posix() for p in spec.sources}
    assert "tflite-micro/tensorflow/lite/micro/kernels/cmsis_nn/conv.cc" in rel
    assert "tflite-micro/tensorflow/lite/micro/kernels/conv.cc" not in rel
    assert "tflite-micro/tensorflow/lite/micro/kernels/conv_common.cc" in rel     # no cmsis_nn version
    assert "CMSIS-NN/Source/ConvolutionFunctions/arm_convolve_s8.c" in rel
    assert not any(r.endswith(("_f16.c", "arm_nntables_flt.c")) for r in rel)
    assert {"CMSIS_NN", "ARM_NN_ENABLE_F16=0"} <= set(spec.defines)
    assert sources.cmsis / "CMSIS/Core/Include" in spec.include_dirs


def test_cmsis_nn_without_cmsis_sources_is_refused(fake_tflm: Path) -> None:
    shutil.rmtree(fake_tflm / "CMSIS-NN")
    sources = locate_in(fake_tflm, load_manifest(REPO / "west.yml"))
    with pytest.raises(GenerateError, match="needs CMSIS_6 and CMSIS-NN"):
        library_spec(sources, "cmsis-nn")
    assert tflm_kernels("auto") == "reference" and tflm_kernels("cmsis-nn") == "cmsis-nn"
    with pytest.raises(GenerateError, match="not available with --runtime tflm"):
        tflm_kernels("helium")


# --- generated glue -----------------------------------------------------------------------------
def test_model_array_is_aligned_const() -> None:
    text = model_array_c(bytes(range(20)))
    assert "const uint8_t tf_model_data[20] __attribute__((aligned(16)))" in text
    assert "0x13," in text and "tf_model_data_bytes = 20" in text


def test_generate_writes_glue_and_the_library_description(fake_tflm: Path, model_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyflash.board import BoardCatalog
    from tinyflash.generate.project import BuildOptions, generate_project
    from tinyflash.model import read_graph, resolve_model

    monkeypatch.setenv(TFLM_DIR_ENV, str(fake_tflm))
    board = BoardCatalog().load("mps2-an500")
    spec = resolve_model("vww", [model_dir])
    graph = read_graph(spec.path)
    project = generate_project(board, spec, graph, tmp_path / "p", runtime="tflm",
                               options=BuildOptions(kernels="cmsis-nn"))
    glue = (tmp_path / "p/src/runtime/tflm_runtime.cc").read_text()
    assert "MicroMutableOpResolver<6>" in glue
    assert "AddQuantize" not in glue and "AddDepthwiseConv2D()" in glue   # vww lists QUANTIZE, never runs it
    assert f"kArenaBytes = {project.activation_bytes};" in glue
    assert 100_000 < project.activation_bytes < 130_000
    assert "tflm-cmsis-nn" in glue
    config = json.loads(project.project_file.read_text())
    assert config["runtime"] == "tflm" and config["tflm"]["kernels"] == "cmsis-nn"
    assert set(config["tflm"]["roots"]) == {"tflite-micro", "CMSIS-NN"}
    assert all(Path(s).is_absolute() for s in config["tflm"]["sources"])
    assert "src/runtime/tflm_support.cc" in config["sources"]
    assert project.weight_bytes == spec.path.stat().st_size


# --- SCons target graph (dry runs: nothing is compiled) --------------------------------------------
def scons(*args: str, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "SCons", "-Q", "-n", "-C", str(cwd), "-f",
                           str(REPO / "SConstruct"), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_library_mode_builds_one_archive_from_absolute_sources(fake_tflm: Path, tmp_path: Path) -> None:
    sources = locate_in(fake_tflm, load_manifest(REPO / "west.yml"))
    from tinyflash.generate.runtime.tflm.codegen import library_config

    config = library_config(library_spec(sources, "cmsis-nn"), sources)
    config.update(toolchain_prefix="arm-none-eabi-", cpu_flags=["-mcpu=cortex-m4", "-mthumb"], optimization="-O2")
    libdir = tmp_path / "lib"
    libdir.mkdir()
    (libdir / "library.json").write_text(json.dumps(config))
    out = scons("LIBRARY=library.json", cwd=libdir)
    compiles = [line for line in out.splitlines() if " -c " in line]
    assert len(compiles) == len(config["sources"])
    assert any("-o obj/tflite-micro/tensorflow/lite/micro/kernels/cmsis_nn/conv.o" in c for c in compiles)
    assert any("-o obj/CMSIS-NN/Source/ConvolutionFunctions/arm_convolve_s8.o" in c for c in compiles)
    assert all("-DCMSIS_NN" in c and "-mcpu=cortex-m4" in c for c in compiles)
    assert f"archiving libtflm.a ({len(config['sources'])} objects)" in out


def _build_model_object(project_dir: Path, cache: Path) -> tuple[str, list[str]]:
    """A real SCons run that builds only the model array's object: reading the SConstruct builds (or
    finds up to date) the shared library first, and the fake sources compile (the glue would not)."""
    proc = subprocess.run([sys.executable, "-m", "SCons", "-Q", "-j2", "-C", str(project_dir), "-f",
                           str(REPO / "SConstruct"), "PROJECT=project.json", f"CACHE={cache}",
                           "build/obj/src/runtime/tflm_model_data.o"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    announced = re.search(r"^tinyflash: TFLM library (\S+) ", proc.stdout, re.M)
    assert announced, proc.stdout
    return announced.group(1), proc.stdout.splitlines()


def test_library_is_built_once_and_shared_by_boards_and_models_with_the_same_core(
        fake_tflm: Path, model_dir: Path, tmp_path: Path, toolchain: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyflash.board import BoardCatalog
    from tinyflash.generate.project import BuildOptions, generate_project
    from tinyflash.generate.runtime.tflm.arena import ArenaSize
    from tinyflash.model import read_graph, resolve_model

    monkeypatch.setenv(TFLM_DIR_ENV, str(fake_tflm))
    # the arena does not enter the library key; skip the host measurement
    monkeypatch.setattr("tinyflash.generate.runtime.tflm.codegen.measure_arena",
                        lambda path: ArenaSize.from_measurement(30_000))
    catalog = BoardCatalog()
    cache = tmp_path / "cache"
    builds = {}
    for board, model, kernels in (("mps2-an500", "ad", "reference"), ("nucleo-f767zi", "kws", "reference"),
                                  ("mps2-an386", "ad", "reference"), ("mps2-an500", "ad", "cmsis-nn")):
        spec = resolve_model(model, [model_dir])
        dest = tmp_path / f"{board}-{model}-{kernels}"
        generate_project(catalog.load(board), spec, read_graph(spec.path), dest, runtime="tflm",
                         options=BuildOptions(kernels=kernels))
        library, lines = _build_model_object(dest, cache)
        # library objects go to obj/ under the library's directory, the project's to build/obj/
        tflm_compiles = [line for line in lines if " -c " in line and " -o obj/" in line]
        builds[(board, model, kernels)] = (library, tflm_compiles, Path(library).stat().st_mtime_ns)
    first, first_compiles, first_stamp = builds[("mps2-an500", "ad", "reference")]
    assert first.startswith(str(cache / "tflm") + os.sep) and Path(first).is_file()
    library_sources = json.loads((Path(first).parent / "library.json").read_text())["sources"]
    assert len(first_compiles) == len(library_sources) > 0
    # another board with the same core flags (Cortex-M7, double-precision FPU) and another model:
    # the same archive, not one object compiled again, the archive untouched
    second, second_compiles, second_stamp = builds[("nucleo-f767zi", "kws", "reference")]
    assert second == first and second_compiles == [] and second_stamp == first_stamp
    # another core, or other kernels: another key, compiled for it
    for other in (("mps2-an386", "ad", "reference"), ("mps2-an500", "ad", "cmsis-nn")):
        library, compiles, _ = builds[other]
        assert library != first and compiles
        assert all(("-mcpu=cortex-m4" in c) == (other[0] == "mps2-an386") for c in compiles)
