"""``--runtime auto`` (#13.2): aot when it covers every operator, else TFLM when its sources are present
(saying why), else one error listing every operator each runtime lacks, with its node; explicit kernel
sets steer the choice. Graphs come from tests/support (synthetic layers, the .tflite writer); the TFLM
sources are a side-by-side tree holding the marker file of each project (nothing is compiled here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog
from tinyflash.deps.sources import MARKERS, REQUIRED_ROLES, TFLM_DIR_ENV
from tinyflash.errors import GenerateError, NoRuntimeError, UnsupportedOperatorError
from tinyflash.farm.errors import FarmConfigError
from tinyflash.farm.matrix import load_matrix
from tinyflash.generate.project import BuildOptions, generate_project
from tinyflash.generate.runtime import get_runtime, kernel_sets, runtime_choices, runtime_names, select_kernels
from tinyflash.generate.runtime.aot import ops as aot_ops
from tinyflash.generate.runtime.aot.codegen import check_graph, graph_problems
from tinyflash.generate.runtime.choice import choose_runtime
from tinyflash.model.graph import Graph, Operator, Quantization, Tensor

from ..support.synthetic_layers import case_graph
from ..support.tflite_writer import write_tflite

AN500 = BoardCatalog(environ={}).load("mps2-an500")       # Cortex-M7: the DSP kernels
AN547 = BoardCatalog(environ={}).load("mps3-an547")       # Cortex-M55: the Helium kernels
_Q = Quantization((0.05,), (0,))
_SOFTMAX_Q = Quantization((1 / 256,), (-128,))      # what softmax outputs must use (TFLM and aot check it)


def fc_then(*tail: str) -> Graph:
    """A FULLY_CONNECTED layer (tests/support/synthetic_layers.py) followed by ``tail`` one-input operators."""
    fc = case_graph("fc-b1-20x7", "NONE")
    tensors = list(fc.tensors)
    operators = list(fc.operators)
    last = fc.outputs[0]
    for opcode in tail:
        quant = _SOFTMAX_Q if opcode == "SOFTMAX" else _Q
        out = Tensor(len(tensors), f"{opcode.lower()}_out", tensors[last].shape, "int8", quant)
        tensors.append(out)
        operators.append(Operator(len(operators), opcode, 1, (last,), (out.index,)))
        last = out.index
    return Graph(tuple(tensors), tuple(operators), fc.inputs, (last,))


@pytest.fixture
def tflm_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$TINYFLASH_TFLM_DIR naming a side-by-side tree with every required project's marker file."""
    root = tmp_path / "tflm-src"
    names = {"tflm": "tflite-micro"}
    for role in REQUIRED_ROLES:
        marker = root / names.get(role, role) / MARKERS[role]
        marker.parent.mkdir(parents=True)
        marker.write_text("//\n")
    monkeypatch.setenv(TFLM_DIR_ENV, str(root))
    return root


@pytest.fixture
def no_tflm_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    empty = tmp_path / "no-tflm"
    empty.mkdir()
    monkeypatch.setenv(TFLM_DIR_ENV, str(empty))
    return empty


def test_the_registry_knows_auto_as_a_choice_not_a_runtime() -> None:
    assert runtime_choices() == ("auto", *runtime_names())
    assert kernel_sets("auto") == ("auto", "portable", "reference", "cmsis-nn")
    assert select_kernels("auto", None) == "auto"
    assert select_kernels("auto", "cmsis-nn") == "cmsis-nn"
    with pytest.raises(GenerateError, match="--kernels helium is not available with --runtime auto"):
        select_kernels("auto", "helium")
    with pytest.raises(GenerateError, match="a choice among runtimes"):
        get_runtime("auto")


def test_aot_is_chosen_when_it_covers_every_operator(no_tflm_sources: Path) -> None:
    choice = choose_runtime(case_graph("dw-c8-3x3-s1", "RELU"), AN500)
    assert choice.name == "aot" and choice.requested == "auto"
    assert choice.reason == "aot runs every operator of the model (DEPTHWISE_CONV_2D)"


def test_aot_lists_every_unsupported_operator_not_only_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(aot_ops.SUPPORTED, "FULLY_CONNECTED")
    problems = graph_problems(fc_then("ELU", "SOFTMAX", "ELU"))
    assert [(p.operator, p.node) for p in problems if isinstance(p, UnsupportedOperatorError)] == \
        [("FULLY_CONNECTED", 0), ("ELU", 1), ("ELU", 3)]
    with pytest.raises(UnsupportedOperatorError, match=r"FULLY_CONNECTED \(node 0\)"):
        check_graph(fc_then("ELU"))       # forced aot still stops at the first, as before


def test_falls_back_to_tflm_when_aot_lacks_an_operator_and_says_why(tflm_sources: Path) -> None:
    choice = choose_runtime(fc_then("ELU", "SOFTMAX", "ELU"), AN500)
    assert choice.name == "tflm"
    assert choice.reason == f"aot lacks ELU (nodes 1, 3); TFLM sources found at {tflm_sources}"


def test_with_an_operator_removed_from_the_aot_table_auto_falls_back(tflm_sources: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    graph = case_graph("c8-1x1", "RELU")
    assert choose_runtime(graph, AN500).name == "aot"
    monkeypatch.delitem(aot_ops.SUPPORTED, "CONV_2D")
    choice = choose_runtime(graph, AN500)
    assert choice.name == "tflm" and choice.reason.startswith("aot lacks CONV_2D (node 0); TFLM sources found")


def test_without_tflm_sources_one_error_lists_every_unsupported_operator(no_tflm_sources: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(aot_ops.SUPPORTED, "SOFTMAX")
    with pytest.raises(NoRuntimeError) as info:
        choose_runtime(fc_then("ELU", "SOFTMAX"), AN500, what="tiny")
    error = info.value
    assert error.message.startswith("no runtime can run tiny (--runtime auto):")
    # nodes with the same detail share a line
    assert ("aot", "ELU (node 1), SOFTMAX (node 2): supported operators: "
                   + ", ".join(sorted(aot_ops.SUPPORTED))) in error.problems
    assert any(r == "tflm" and str(no_tflm_sources) in p and "not a usable TFLM checkout" in p
               for r, p in error.problems)
    assert "tinyflash deps" in (error.hint or "") and TFLM_DIR_ENV in (error.hint or "")
    assert "ELU (node 1)" in str(error) and "SOFTMAX (node 2)" in str(error)


def test_an_operator_no_runtime_has_is_named_for_each_runtime(tflm_sources: Path) -> None:
    with pytest.raises(NoRuntimeError) as info:
        choose_runtime(fc_then("CUSTOM"), AN500)
    assert [r for r, p in info.value.problems if p.startswith("CUSTOM (node 1)")] == ["aot", "tflm"]
    assert "file an issue" in (info.value.hint or "")     # fetching TFLM would not help


def test_checks_that_fail_on_a_supported_operator_count_too(tflm_sources: Path) -> None:
    """A uint8 FULLY_CONNECTED output: aot has the operator but refuses the type; the choice says so."""
    fc = case_graph("fc-b1-20x7", "NONE")
    tensors = list(fc.tensors)
    tensors[3] = Tensor(3, "output", tensors[3].shape, "uint8", tensors[3].quantization)
    graph = Graph(tuple(tensors), fc.operators, fc.inputs, fc.outputs)
    problems = graph_problems(graph)
    assert len(problems) == 2     # the model's output tensor and the operator's output
    with pytest.raises(NoRuntimeError) as info:
        choose_runtime(graph, AN500)     # TFLM refuses uint8 model outputs too (the benchmark cannot print them)
    assert ("aot", "model output 'output': output tensor is uint8; the AOT runtime's model outputs are int8, "
                   "int16, int32, float32") in info.value.problems
    assert ("aot", "FULLY_CONNECTED (node 0): output 'output' is uint8; only int8 is supported") in info.value.problems
    assert ("tflm", "model output 'output': output tensor is uint8; the benchmark's model outputs are int8, int16, "
                    "int32, float32") in info.value.problems


@pytest.mark.parametrize("kernels, runtime", [("cmsis-nn", "tflm"), ("reference", "tflm"), ("portable", "aot"),
                                              ("auto", "aot"), (None, "aot")])
def test_a_kernel_set_only_one_runtime_has_steers_the_choice(tflm_sources: Path, kernels: str | None,
                                                             runtime: str) -> None:
    choice = choose_runtime(case_graph("c8-1x1", "NONE"), AN500, kernels=kernels)
    assert choice.name == runtime
    if runtime == "tflm":
        assert choice.reason.startswith(f"--kernels {kernels} is not a kernel set of aot; TFLM sources found")


def test_a_kernel_set_that_rules_out_the_only_able_runtime_is_refused(tflm_sources: Path) -> None:
    with pytest.raises(NoRuntimeError) as info:
        choose_runtime(fc_then("ELU"), AN500, kernels="portable")
    assert ("tflm", "does not offer --kernels portable") in info.value.problems
    assert "--kernels portable limits --runtime auto to aot" in (info.value.hint or "")
    with pytest.raises(NoRuntimeError, match="tflm: TFLM runtime: TFLM directory /nonexistent does not exist"):
        choose_runtime(case_graph("c8-1x1", "NONE"), AN500, kernels="cmsis-nn",
                       options={"tflm_dir": "/nonexistent"})


def test_the_checks_run_on_the_kernel_paths_of_the_board(tflm_sources: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that refuses a case only on the Helium path (as an operator added for #13.1 may) keeps aot
    on the M7 and on the M55 with --kernels portable, and sends the M55's default build to TFLM."""
    fc = aot_ops.SUPPORTED["FULLY_CONNECTED"]

    def check(ctx: aot_ops.EmitContext) -> None:
        if ctx.mve_kernels:
            raise ctx.unsupported("not on the Helium path")
        fc.check(ctx)

    monkeypatch.setitem(aot_ops.SUPPORTED, "FULLY_CONNECTED", aot_ops.OpSupport(fc.emit, check))
    graph = case_graph("fc-b1-8x4", "NONE")
    assert choose_runtime(graph, AN500).name == "aot"
    assert choose_runtime(graph, AN547, kernels="portable").name == "aot"
    choice = choose_runtime(graph, AN547)
    assert choice.name == "tflm" and choice.reason.startswith("aot lacks FULLY_CONNECTED (node 0); TFLM sources")


def test_a_forced_runtime_is_taken_as_given(no_tflm_sources: Path) -> None:
    graph = fc_then("ELU")
    assert choose_runtime(graph, AN500, "tflm").name == "tflm"          # its own errors come when generating
    choice = choose_runtime(graph, AN500, "aot")
    assert (choice.name, choice.reason, choice.requested) == ("aot", "--runtime aot given", "aot")
    with pytest.raises(GenerateError, match="--kernels cmsis-nn is not available with --runtime aot"):
        choose_runtime(graph, AN500, "aot", kernels="cmsis-nn")


def test_the_generated_project_records_the_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """generate_project resolves auto itself; project.json and the record name the runtime, and why."""
    from tinyflash.model import read_graph, resolve_model

    model = write_tflite(case_graph("fc-b3-64x9", "RELU"), tmp_path / "fc.tflite")
    spec = resolve_model(str(model), [])
    graph = read_graph(model)
    board = BoardCatalog(environ={}).load("mps2-an500")
    project = generate_project(board, spec, graph, tmp_path / "out", options=BuildOptions())
    assert project.runtime == "aot" and project.runtime_reason.startswith("aot runs every operator")
    assert json.loads(project.project_file.read_text())["runtime"] == "aot"
    monkeypatch.setenv(TFLM_DIR_ENV, str(tmp_path / "missing"))
    monkeypatch.delitem(aot_ops.SUPPORTED, "FULLY_CONNECTED")
    with pytest.raises(NoRuntimeError, match=r"FULLY_CONNECTED \(node 0\)"):
        generate_project(board, spec, graph, tmp_path / "out2")
    assert not (tmp_path / "out2" / "project.json").exists()


def test_the_farm_matrix_takes_auto_and_tflm_kernel_sets(tmp_path: Path) -> None:
    # a matrix without runtimes: keeps aot, so nightly job ids (and their history) do not change
    path = tmp_path / "m.yaml"
    path.write_text("schema_version: 1\nboards: [mps2-an500]\nmodels: [ad]\n")
    assert [j.id for j in load_matrix(path).jobs] == ["mps2-an500/ad/aot"]
    path.write_text("schema_version: 1\nboards: [mps2-an500]\nmodels: [ad]\nruntimes: [auto]\n"
                    "build: {kernels: cmsis-nn}\n")
    matrix = load_matrix(path)
    assert [(j.id, j.options.kernels) for j in matrix.jobs] == [("mps2-an500/ad/auto", "cmsis-nn")]
    path.write_text("schema_version: 1\nboards: [mps2-an500]\nmodels: [ad]\nruntimes: [auto, tflm]\n"
                    "build: {kernels: reference}\n")
    assert [j.runtime for j in load_matrix(path).jobs] == ["auto", "tflm"]
    path.write_text("schema_version: 1\nboards: [mps2-an500]\nmodels: [ad]\nruntimes: [auto]\n"
                    "build: {kernels: helium}\n")
    with pytest.raises(FarmConfigError, match="build.kernels: kernel set .helium. is not available with runtime auto"):
        load_matrix(path)


def test_default_output_folders_are_named_after_the_chosen_runtime(tflm_sources: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """So a folder built before auto existed (ad-aot, ad-tflm) is reused."""
    from tinyflash import pipeline
    from tinyflash.model import resolve_model

    model = write_tflite(case_graph("fc-b1-8x4", "NONE"), tmp_path / "fc8.tflite")
    spec = resolve_model(str(model), [])
    board = BoardCatalog(environ={}).load("mps2-an500")
    for kernels, folder in (("auto", "fc8-aot"), ("portable", "fc8-aot-portable"), ("cmsis-nn", "fc8-tflm-cmsis-nn")):
        options = BuildOptions(kernels=kernels)
        choice = pipeline.choose_runtime(board, spec, "auto", options)
        assert pipeline.default_out_dir(board, spec, choice.name, options.kernels).name == folder
    monkeypatch.delitem(aot_ops.SUPPORTED, "FULLY_CONNECTED")
    choice = pipeline.choose_runtime(board, spec, "auto", BuildOptions())
    assert pipeline.default_out_dir(board, spec, choice.name).name == "fc8-tflm"
