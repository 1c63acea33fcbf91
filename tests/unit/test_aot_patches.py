"""Row-band stages (patches.py, #14.3): the first layers of an image model run a few rows at a time.
The schedule only reads rows its buffers hold, the output starts at the input's address only when no
later read needs the bytes it writes, the generated C equals TFLM bit for bit, and vww's peak RAM on
the DSP cores is at most 40 KB."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pytest

from tinyflash.board import BoardCatalog
from tinyflash.generate.runtime.aot import codegen, patches
from tinyflash.generate.runtime.aot.codegen import AotRuntime, plan_graph
from tinyflash.generate.runtime.aot.host_harness import HostModel, build_host_model
from tinyflash.model import read_graph
from tinyflash.model.graph import Graph
from tinyflash.resources import templates_dir

from ..support.model_builder import ModelBuilder, q
from ..support.op_harness import check_against_tflm, generated_c, random_input


def _simulate(layers: Sequence[patches.Rows], steps: Sequence[patches.Step], capacity: Sequence[int]) -> None:
    """Run a schedule on row labels: every window a call reads is in its buffer, at the place the
    step says, and the last layer writes each output row once."""
    held: list[dict[int, int]] = [{} for _ in capacity]       # buffer -> slot -> row
    written: list[int] = []
    for step in steps:
        for move in step.moves:
            row_bytes = layers[move.buffer].out_row
            src, n = move.source // row_bytes, move.size // row_bytes
            held[move.buffer] = {slot - src: held[move.buffer][slot] for slot in range(src, src + n)}
        for call in step.calls:
            lay = layers[call.layer]
            a, b, pad = lay.window(call.first, call.end)
            assert (a, b, pad) == (call.in_first, call.in_end, call.pad)
            if call.layer > 0:
                j, top = call.layer - 1, step.buffer_first[call.layer - 1]
                for row in range(a, b):
                    assert held[j].get(row - top) == row, f"layer {call.layer} reads row {row} not held"
            if call.layer == len(layers) - 1:
                written += range(call.first, call.end)
            else:
                top = step.buffer_first[call.layer]
                for row in range(call.first, call.end):
                    assert 0 <= row - top < capacity[call.layer]
                    held[call.layer][row - top] = row
    assert written == list(range(layers[-1].out_h))


def _rows(in_h: int, specs: Sequence[tuple[int, int, str]],
          row_bytes: Optional[Sequence[int]] = None) -> list[patches.Rows]:
    """(kernel, stride, padding) per layer -> their Rows; row_bytes: of the input and each output."""
    row_bytes = row_bytes or [12 * 2 ** i for i in range(len(specs) + 1)]
    found, h = [], in_h
    for node, (k, s, padding) in enumerate(specs):
        out_h = -(-h // s) if padding == "SAME" else (h - k) // s + 1
        pad = max((out_h - 1) * s + k - h, 0) // 2 if padding == "SAME" else 0
        found.append(patches.Rows(node, h, out_h, s, k, pad, row_bytes[node], row_bytes[node + 1], False))
        h = out_h
    return found


@pytest.mark.parametrize("specs", [
    [(3, 2, "SAME"), (3, 1, "SAME"), (1, 1, "SAME"), (3, 2, "SAME")],       # vww's first four
    [(5, 1, "VALID"), (3, 2, "SAME"), (3, 1, "SAME")],
    [(1, 2, "SAME"), (3, 2, "VALID"), (5, 1, "SAME")],                      # rows nobody reads
], ids=["vww", "valid-odd", "skipped-rows"])
def test_schedule_reads_only_held_rows(specs: list[tuple[int, int, str]]) -> None:
    for in_h in (23, 24, 31):
        layers = _rows(in_h, specs)
        for band in (1, 2, 3, 5):
            steps, capacity = patches.schedule(layers, band)
            _simulate(layers, steps, capacity)


def test_overlap_proof() -> None:
    """vww's stage consumes 4 input rows of 288 B per output row of 384 B: the output may start at the
    input. A stage whose output rows outgrow its input rows would overwrite rows still to be read."""
    vww = _rows(96, [(3, 2, "SAME"), (3, 1, "SAME"), (1, 1, "SAME"), (3, 2, "SAME")], [288, 384, 384, 768, 384])
    growing = [patches.Rows(0, 16, 16, 1, 3, 1, 16, 64, False), patches.Rows(1, 16, 16, 1, 3, 1, 64, 128, False)]
    for layers, legal in ((vww, True), (growing, False)):
        steps, capacity = patches.schedule(layers, 2)
        stage = patches.Stage(tuple(layers), 2, steps, capacity, 0, 1, ())
        assert patches.overlap_ok(stage) is legal


def _stage_graph(seed: int, in_shape: tuple[int, int, int], layers: Sequence[tuple[str, int, int, int, str]]) -> Graph:
    """(kind, out_c, kernel, stride, padding) per layer from an int8 input."""
    b = ModelBuilder(seed)
    x = b.model_input("image", (1, *in_shape), quant=q(0.02, -3))
    for i, (kind, out_c, kernel, stride, padding) in enumerate(layers):
        x = b.conv(x, out_c, kernel, stride, padding, activation="RELU", depthwise=kind == "dw", name=f"l{i}")
    return b.graph(x)


def _forcing(band: int) -> Callable[..., Optional[patches.Stage]]:
    """patches.choose replaced: the longest stage of ``band`` rows (the real policy wants bigger models)."""
    def choose(stages: Sequence[patches.Stage], arena: Callable, macs: int) -> Optional[patches.Stage]:
        return max((s for s in stages if s.band == band), key=lambda s: len(s.layers))
    return choose


CASES = {
    "vww-like": ((40, 40, 3), [("conv", 8, 3, 2, "SAME"), ("dw", 8, 3, 1, "SAME"), ("conv", 16, 1, 1, "SAME"),
                              ("dw", 16, 3, 2, "SAME")]),
    "odd-valid": ((23, 17, 4), [("conv", 8, 5, 1, "VALID"), ("dw", 8, 3, 2, "SAME"), ("conv", 12, 3, 1, "SAME")]),
}


@pytest.mark.parametrize("band", [1, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_banded_stage_equals_tflm(case: str, band: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = _stage_graph(14, *CASES[case])
    monkeypatch.setattr(patches, "choose", _forcing(band))
    for dsp in (True, False):
        stages = plan_graph(graph, dsp_kernels=dsp).stages
        assert len(stages) == 1 and stages[0].band == band and len(stages[0].layers) == len(CASES[case][1])
    check_against_tflm(graph, tmp_path, inputs=100, seed=band, name=case)
    for kernels in ("auto", "portable"):
        assert "tf_stage0_run();" in generated_c(tmp_path, kernels)


def test_illegal_overlap_keeps_output_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage whose output outgrows its input: planned, but its output beside the input, not on it."""
    graph = _stage_graph(3, (12, 12, 4), [("conv", 16, 3, 1, "SAME"), ("conv", 32, 3, 1, "SAME")])
    monkeypatch.setattr(patches, "choose", _forcing(2))
    plan = plan_graph(graph, dsp_kernels=True)
    (stage,) = plan.stages
    assert not patches.overlap_ok(stage)
    inp, out = plan.memory.placements[stage.input], plan.memory.placements[stage.output]
    assert inp.offset + inp.size <= out.offset or out.offset + out.size <= inp.offset


@pytest.mark.parametrize("board", ["mps2-an500", "mps2-an386"])
def test_vww_peak_within_40k(board: str, model_dir: Path, tmp_path: Path) -> None:
    """Issue #14.3: vww's arena plus kernel scratch at most 40 KB on the M7 and the M4 (55,808 B before),
    its first four layers in one stage whose output starts at the model input's address."""
    graph = read_graph(model_dir / "vww_96_int8.tflite")
    target = BoardCatalog().load(board)
    out = AotRuntime().generate(graph, target, tmp_path, options={"kernels": "auto"})
    assert out.activation_bytes + out.scratch_bytes <= 40_960
    plan = codegen.settled_plan(graph, target)
    (stage,) = plan.stages
    assert stage.nodes == (0, 1, 2, 3) and patches.overlap_ok(stage)
    assert plan.memory.offset(stage.output) == plan.memory.offset(stage.input)
    unbanded = plan_graph(graph, dsp_kernels=True, stages=()).memory.arena_bytes
    assert out.activation_bytes < unbanded


def test_no_stage_on_helium(model_dir: Path) -> None:
    """The M55 keeps its whole-layer plan: every added instruction shows there, and it has the RAM."""
    vww = read_graph(model_dir / "vww_96_int8.tflite")
    assert plan_graph(vww, mve_kernels=True).stages == ()


def test_profile_times_each_stage_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench --profile shows every layer of a stage (#14): one profile slot per stage layer with that
    layer's MACs, timed around each of its bands and the moves of the rows it reads. Compiled for the
    host with TF_PROFILE and a counter that ticks once per read, each slot counts its timed sections,
    and the profiled build's output is the plain build's."""
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc: apt-get install gcc")
    graph = _stage_graph(14, *CASES["vww-like"])
    monkeypatch.setattr(patches, "choose", _forcing(3))
    target = BoardCatalog().load("mps2-an500")
    out = AotRuntime().generate(graph, target, tmp_path / "gen", options={"kernels": "auto"})
    (stage,) = codegen.settled_plan(graph, target).stages
    n = len(stage.layers)
    ops = {op.index: op for op in graph.operators}

    def whole_macs(node: int) -> int:
        op = ops[node]
        out_t, w = graph.tensors[op.outputs[0]], graph.tensors[op.inputs[1]]
        return out_t.elements * w.shape[1] * w.shape[2] * (w.shape[3] if op.opcode == "CONV_2D" else 1)

    assert [(lay.node, lay.op, lay.macs, lay.stage) for lay in out.layers[:n]] == \
        [(node, ops[node].opcode, whole_macs(node), 0) for node in stage.nodes]
    assert all(lay.stage is None for lay in out.layers[n:]) and sum(lay.macs for lay in out.layers) == out.macs
    model_c = (tmp_path / "gen" / "model.c").read_text()
    assert "TF_LAYER(0, tf_stage0_run();)" not in model_c and "    tf_stage0_run();" in model_c

    counter = tmp_path / "ticks.c"
    counter.write_text("#include <stdint.h>\nstatic uint64_t tf_ticks;\n"
                       "uint64_t tf_cycles_now(void) { return ++tf_ticks; }\n")
    (tmp_path / "plain").mkdir()
    plain = build_host_model(list(out.sources), [tmp_path / "gen"], tmp_path / "plain")
    library = tmp_path / "profiled.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-fwrapv", "-DTF_PORTABLE_KERNELS=1", "-DTF_PROFILE=1",
                    f"-I{tmp_path / 'gen'}", f"-I{templates_dir() / 'benchmark'}",
                    *[str(s) for s in out.sources if s.suffix == ".c"], str(counter), "-o", str(library)],
                   check=True, capture_output=True, text=True)
    profiled = HostModel(library)
    x = random_input(graph, np.random.default_rng(2))
    assert np.array_equal(profiled.invoke(x), plain.invoke(x))
    lib = ctypes.CDLL(str(library))
    slots = ctypes.POINTER(ctypes.c_uint64)()
    count = lib.tf_runtime_profile(ctypes.byref(slots))
    assert count == len(out.layers)
    sections = [sum(c.layer == i for s in stage.steps for c in s.calls) +
                sum(m.buffer == i - 1 for s in stage.steps for m in s.moves) for i in range(n)]
    assert min(sections) > 1 and any(step.moves for step in stage.steps)
    assert [slots[i] for i in range(count)] == sections + [1] * (count - n)
