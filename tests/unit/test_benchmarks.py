"""Benchmarks as classes (#15.1), templates derived from families (#15.4), user text into C (#11.3),
BuildOptions defines (#11.1) and model resolution messages (#11.8)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import numpy as np
import pytest

from tinyflash.board.clock import ClockTree
from tinyflash.board.loader import load_board_file
from tinyflash.board.schema import Boot2, TimerFamily, UartFamily
from tinyflash.errors import InvalidDefineError, ModelNotFoundError, TinyflashError
from tinyflash.generate.project import (BuildOptions, boot2_template, clock_template, generate_project,
                                        timer_template, uart_template)
from tinyflash.model import read_graph, resolve_model
from tinyflash.model.benchmarks import (ALL_BENCHMARKS, BENCHMARKS, USER_MODEL, AnomalyDetection, Benchmark,
                                        ImageClassification, LargeImageClassification, find_benchmark)
from tinyflash.resources import templates_dir

from ..conftest import REPO
from .test_tflm_generate import fake_tflm  # noqa: F401 - a fixture: a fake TFLM checkout

IDS = ("ad01", "kws01", "vww01", "ic01", "ic02", "sww01")


def _literal_values(annotation: object) -> list[str]:
    """The values of the Literal 'family' fields inside a (possibly annotated) union."""
    values: list[str] = []
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Literal:
            values += list(typing.get_args(arg))
        else:
            values += _literal_values(arg)
    return values


def test_every_peripheral_family_has_its_template() -> None:
    templates = [uart_template(f) for f in UartFamily] + [timer_template(f) for f in TimerFamily]
    clock_families = [typing.get_args(m.model_fields["family"].annotation)[0] for m in
                      typing.get_args(typing.get_args(ClockTree)[0])]
    assert {"stm32f7", "rp2040"} <= set(clock_families)
    templates += [clock_template(f) for f in clock_families] + [clock_template(None)]
    templates += [boot2_template(f) for f in _literal_values(Boot2.model_fields["family"].annotation)]
    missing = [t for t in templates if not (templates_dir() / t).is_file()]
    assert not missing, f"templates missing for {missing}"


def test_benchmark_ids_are_tested_in_one_module_only() -> None:
    pattern = re.compile(r'"(?:%s)"' % "|".join(IDS))
    offenders = []
    for root in ("tinyflash", "templates"):
        for path in (REPO / root).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".j2", ".c", ".h") and path.name != "benchmarks.py":
                if pattern.search(path.read_text(errors="replace")):
                    offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_one_class_per_benchmark_with_unique_identity() -> None:
    assert [b.benchmark_id for b in ALL_BENCHMARKS] == list(IDS)
    assert len({type(b) for b in ALL_BENCHMARKS}) == len(ALL_BENCHMARKS)
    names = [n for b in ALL_BENCHMARKS for n in b.names]
    assert len(names) == len(set(names))
    assert find_benchmark("AD01") is BENCHMARKS["ad"] and find_benchmark("resnet") is None
    for bench in ALL_BENCHMARKS:
        assert re.fullmatch(r"[0-9a-f]{64}", bench.sha256) and bench.filename.endswith(".tflite")
        assert (templates_dir() / bench.device_template).is_file()
    assert (templates_dir() / USER_MODEL.device_template).is_file()


def test_benchmark_behaviour(model_dir: Path) -> None:
    ad = resolve_model("ad", [model_dir], environ={})
    io = ad.benchmark.io(read_graph(ad.path))
    assert isinstance(ad.benchmark, AnomalyDetection)
    assert io.upload_bytes == io.input_elements * 4 and ad.benchmark.extra_ram_bytes(io) == io.input_elements * 4
    assert ad.benchmark.tolerance == 1 and ad.benchmark.dataset_folder == "ad01"
    data = np.arange(102400 // 4, dtype="<f4").tobytes()
    windows = ad.benchmark.samples_of_file(io, "x.bin", data, 2)
    assert [s.label for s in windows] == ["x.bin@0", "x.bin@512", "x.bin@99840"]
    assert all(len(s.upload) == 2560 for s in windows)

    vww = resolve_model("vww", [model_dir], environ={})
    vio = vww.benchmark.io(read_graph(vww.path))
    upload = bytes([0, 128, 255]) + bytes(vio.upload_bytes - 3)
    assert list(vww.benchmark.device_input(vio, upload)[:3]) == [-128, 0, 127]
    assert vww.benchmark.tolerance == 0 and vio.upload_bytes == vio.input_elements
    assert vww.model_bytes() == vww.path.read_bytes()


def test_ic2_is_ic02_with_ic01s_io_and_data(model_dir: Path, tmp_path: Path) -> None:
    # the runner's tests_*.yaml: "ic02: model: ic01" (mlcommons/tiny benchmark/runner, v1.4)
    ic2 = resolve_model("ic2", [model_dir], environ={})
    assert isinstance(ic2.benchmark, LargeImageClassification) and ic2.reference
    assert ic2.name == "ic2" and ic2.benchmark_id == "ic02" and ic2.path.name == "pretrainedResnet_large_int8.tflite"
    for name in ("ic02", "IC2", "IC02"):
        assert resolve_model(name, [model_dir], environ={}).benchmark is ic2.benchmark
    by_path = resolve_model(str(ic2.path), environ={})
    assert by_path.benchmark is ic2.benchmark and by_path.name == "ic2" and by_path.reference
    ic = BENCHMARKS["ic"]
    assert ic2.benchmark != ic and isinstance(ic, ImageClassification)
    assert ic2.benchmark.data_id == ic.data_id == ic.dataset_folder == ic2.benchmark.dataset_folder
    assert ic2.benchmark.device_template == ic.device_template and ic2.benchmark.tolerance == 0

    io = ic2.benchmark.io(read_graph(ic2.path))
    ic_io = ic.io(read_graph(resolve_model("ic", [model_dir], environ={}).path))
    assert (io.upload_bytes, io.input_elements, io.output_elements) == (3072, 3072, 10)
    assert (io.input_scale, io.input_zero_point, io.output_scale, io.output_zero_point) == \
        (ic_io.input_scale, ic_io.input_zero_point, ic_io.output_scale, ic_io.output_zero_point)
    upload = bytes(range(256)) * 12
    assert (ic2.benchmark.device_input(io, upload) == ic.device_input(ic_io, upload)).all()
    output = np.arange(-128, -118, dtype=np.int8)
    assert ic2.benchmark.expected_results(io, upload, output) == ic.expected_results(ic_io, upload, output)

    (tmp_path / f"{ic.data_id}_cat.bin").write_bytes(upload)      # ic01's sample files are ic2's too
    (tmp_path / "ic02_x.bin").write_bytes(upload)
    assert [s.label for s in ic2.benchmark.file_samples(io, [tmp_path])] == [f"{ic.data_id}_cat.bin"]


def test_unknown_model_lists_every_benchmark(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("ic3", environ={})
    assert all(b.key in str(info.value) and b.benchmark_id in str(info.value) for b in ALL_BENCHMARKS)
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model(str(tmp_path / "missing.tflite"), environ={})
    assert all(b.key in str(info.value) for b in ALL_BENCHMARKS)


def test_user_model_is_generic(model_dir: Path, tmp_path: Path) -> None:
    data = bytearray((model_dir / "kws_ref_model.tflite").read_bytes())
    data[-1] ^= 1                          # not the reference file any more
    path = tmp_path / "my model.tflite"
    path.write_bytes(bytes(data))
    spec = resolve_model(str(path), environ={})
    assert spec.benchmark is USER_MODEL and spec.benchmark_id == "custom" and not spec.reference
    assert spec.name == "my model"
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "custom1.bin").write_bytes(b"\0" * 16)
    assert spec.benchmark.file_samples(spec.benchmark.io(read_graph(path)), [tmp_path / "samples"]) == []


def test_board_note_cannot_inject_c(model_dir: Path, tmp_path: Path) -> None:
    text = (REPO / "boards" / "mps2-an386.yaml").read_text()
    text += 'init:\n  - {addr: 0x40000000, set: 0x1, note: "x */ int injected; /* y"}\n'
    board_file = tmp_path / "mps2-an386.yaml"
    board_file.write_text(text)
    board = load_board_file(board_file)
    spec = resolve_model("ad", [model_dir], environ={})
    generate_project(board, spec, read_graph(spec.path), tmp_path / "out",
                     board_file="boards/*/ int from_file_name; /*.yaml")
    sources = "\n".join(p.read_text() for p in (tmp_path / "out" / "src").glob("*.[ch]"))
    sources += (tmp_path / "out" / "linker.ld").read_text()
    code = re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", sources, flags=re.S))   # what the compiler sees
    init = (tmp_path / "out" / "src" / "board_init.c").read_text()
    assert "TF_REG(0x40000000u)" in code and "x * / int injected; / * y" in init
    assert "injected" not in code and "from_file_name" not in code


def test_build_options_refuse_unsafe_defines() -> None:
    with pytest.raises(InvalidDefineError, match="NAME or NAME=VALUE"):
        BuildOptions(defines=("X=`touch PWN`",))
    with pytest.raises(InvalidDefineError):
        BuildOptions(defines=("OK=1", "A;rm -rf /"))
    assert BuildOptions(defines=("TF_FAULT_HANG_IN_INFER", "N=3")).defines == ("TF_FAULT_HANG_IN_INFER", "N=3")


def test_model_directory_given_as_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model(str(tmp_path), environ={})
    assert "is a directory" in str(info.value) and "--model-dir" in str(info.value)
    folder = tmp_path / "models.tflite"
    folder.mkdir()
    with pytest.raises(ModelNotFoundError, match="is a directory"):
        resolve_model(str(folder), environ={})


def test_no_model_directory_says_how_to_get_the_models() -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("kws", environ={})
    message = str(info.value)
    assert "no directory" not in message and "no model directory" in message
    assert "--model-dir" in message and "TINYFLASH_MODEL_DIR" in message and "trained_models" in message


def test_base_benchmark_defaults_are_a_user_models() -> None:
    assert isinstance(USER_MODEL, Benchmark) and USER_MODEL.tolerance == 0 and not USER_MODEL.reads_sample_files
    assert issubclass(ModelNotFoundError, TinyflashError)


def test_runtime_notes_reach_the_project_and_results_json(fake_tflm: Path, model_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyflash.board.loader import BoardCatalog
    from tinyflash.build.scons import Firmware
    from tinyflash.build.size import SizeReport
    from tinyflash.deps.sources import TFLM_DIR_ENV
    from tinyflash.report.results import firmware_dict

    monkeypatch.setenv(TFLM_DIR_ENV, str(fake_tflm))
    spec = resolve_model("vww", [model_dir], environ={})
    project = generate_project(BoardCatalog().load("mps2-an500"), spec, read_graph(spec.path), tmp_path / "p",
                               runtime="tflm")
    assert any(note.startswith("op resolver:") for note in project.notes)
    elf = tmp_path / "firmware.elf"
    firmware = Firmware(project, elf, elf, elf, elf, SizeReport(1, 1, 2, 2, ()), "gcc", 0.0, 0, "ab" * 32)
    data = firmware_dict(spec, firmware)
    assert data["notes"] == list(project.notes) and data["build"]["elf_sha256"] == "ab" * 32


def test_run_does_not_import_generate() -> None:
    import ast

    offenders = []
    for path in sorted((REPO / "tinyflash" / "run").glob("*.py")):
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and id(node) not in typing_only and \
                    (node.module or "").startswith("tinyflash.generate"):
                offenders.append(f"{path.name}: {node.module}")
    assert offenders == []


def test_a_user_model_with_float_and_int32_edges_uploads_and_prints_its_types() -> None:
    """#13: a model may take float32 (a QUANTIZE at its input) and give float32 or int32 (DEQUANTIZE,
    ARG_MAX): the host generates values in the QUANTIZE's range, feeds the golden the same floats and
    expects the printed values as they are."""
    from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

    q = Quantization((0.02,), (-3,))
    tensors = (Tensor(0, "x", (1, 16), "float32", None), Tensor(1, "xq", (1, 16), "int8", q),
               Tensor(2, "y", (1, 16), "float32", None), Tensor(3, "i", (1,), "int32", None))
    for out, expected_bytes in ((2, 64), (3, 4)):
        graph = Graph(tensors, (Operator(0, "QUANTIZE", 1, (0,), (1,)),), (0,), (out,))
        io = USER_MODEL.io(graph)
        assert (io.input_dtype, io.upload_bytes, io.output_bytes) == ("float32", 64, expected_bytes)
        assert io.input_range == pytest.approx(((-128 + 3) * 0.02, (127 + 3) * 0.02))
        upload = USER_MODEL.generated_upload(io, np.random.default_rng(0))
        values = USER_MODEL.device_input(io, upload)
        assert values.dtype == np.float32 and np.isfinite(values).all()
        assert values.min() >= io.input_range[0] and values.max() <= io.input_range[1] and len(set(values)) == 16
    assert USER_MODEL.expected_results(io, upload, np.array([7], np.int32)) == [7.0]
    io16 = USER_MODEL.io(Graph((tensors[1], Tensor(1, "o", (2,), "int16", Quantization((0.5,), (4,)))),
                               (), (0,), (1,)))
    assert USER_MODEL.expected_results(io16, b"", np.array([-32768, 6], np.int16)) == [-16386.0, 1.0]
