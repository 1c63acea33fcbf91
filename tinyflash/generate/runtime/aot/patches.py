"""Row-band (patch-based) execution of an image model's first layers (#14.3, as MCUNetV2 does).

The first layers of an image model hold its largest tensors (vww: a 96x96x3 input, then 48x48x8 and
48x48x16 maps). A *stage* is the chain of spatial layers that starts at the model input; it runs in
steps, each step making the next few output rows of its last layer: every layer computes the rows the
next one needs (a small band), into a buffer that holds only the rows still to be read. Only the
stage's input, its output and the small band buffers are alive, and the output may even start at the
input's address, as the input is consumed top-down faster than the output is written (overlap_ok).

The kernels are the layers' own, called on row windows (ops.base.RowWindow: a pointer at the
window's first row, the rows above it as padding, those past it too); they pad by bounds, so a band
computes exactly what the whole layer computes. A buffer's rows still needed move to its top at the
start of a step, so every window is contiguous and steady steps are alike: they run as one loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from tinyflash.generate.runtime.aot.fusion import consumers
from tinyflash.generate.runtime.aot.ops.base import Emitted, RowWindow
from tinyflash.generate.runtime.aot.quant import compute_padding
from tinyflash.model.graph import Graph, Operator
from tinyflash.model.macs import operator_macs

SPATIAL = ("CONV_2D", "DEPTHWISE_CONV_2D")
HEADER = "tf_patches.h"
MAX_BAND = 8                # output rows per step tried for the stage's last layer
MAX_LAYERS = 6              # deeper stages hold more rows of every layer than they save (vww: 5 is best)
ALIGN = 4                   # band buffers start word-aligned (the kernels load words)
# Estimated instructions a stage adds (instructions_added), and what the plan may spend for its
# memory: at most this share of the model's MACs (vww on the M7: 1.09 instructions per MAC with a
# budget of 1.10, #14). Per call: a layer function's call and its loops' set-up; per byte moved: a
# word copy is LDR, STR and a third of the loop; per input row a depthwise layer converts again
# (tf_fast_dw_rows_s8 converts each row of its window into int16 pairs, ~1.5 instructions a byte).
# An upper bound: it does not credit the ring moves the whole-map depthwise kernel makes and a band's
# does not (vww on the M7, bands of 2 rows: +37,401 estimated, -26,004 measured; of 1 row: +77,988
# estimated, +5,560 measured for 3,472 B less memory; this share takes 2).
INSTRUCTION_SHARE = 0.006
CALL_COST = 40
MOVE_COST_PER_BYTE = 0.6
RECONVERT_COST_PER_BYTE = 1.5


@dataclass(frozen=True)
class Rows:
    """One layer's geometry along the rows: what a band of its output reads."""
    node: int
    in_h: int
    out_h: int
    stride: int
    extent: int              # rows one output row reads: (k_h - 1) * dilation + 1
    pad: int                 # padding rows above the input
    in_row: int              # bytes of one input row
    out_row: int             # bytes of one output row
    reconverts: bool         # the kernel converts its input rows per call (depthwise rows kernel)

    def window(self, first: int, end: int) -> tuple[int, int, int]:
        """Input rows [a, b) that output rows [first, end) read, and the padding rows above a."""
        top = first * self.stride - self.pad
        bottom = (end - 1) * self.stride - self.pad + self.extent
        a, b = max(top, 0), min(bottom, self.in_h)
        return a, b, a - top


@dataclass(frozen=True)
class Move:
    """Rows a buffer keeps for the next step, moved to its top: ``size`` bytes from ``source``."""
    buffer: int
    source: int
    size: int


@dataclass(frozen=True)
class Call:
    """Layer ``layer`` of the stage writes its output rows [first, end) from the input rows
    [in_first, in_end): in the stage's input (layer 0) or the previous layer's buffer."""
    layer: int
    first: int
    end: int
    in_first: int
    in_end: int
    pad: int

    @property
    def window(self) -> RowWindow:
        return RowWindow(self.in_end - self.in_first, self.end - self.first, self.pad)


@dataclass(frozen=True)
class Step:
    moves: tuple[Move, ...]
    calls: tuple[Call, ...]
    buffer_first: tuple[int, ...]     # per buffer: the row at its top during the step's calls


@dataclass(frozen=True)
class Stage:
    layers: tuple[Rows, ...]
    band: int                         # output rows of the last layer per step
    steps: tuple[Step, ...]
    capacity: tuple[int, ...]         # rows of each buffer (the output of every layer but the last)
    input: int                        # tensor indices
    output: int
    intermediates: tuple[int, ...]    # the tensors the buffers replace

    @property
    def nodes(self) -> tuple[int, ...]:
        return tuple(lay.node for lay in self.layers)

    def _buffer_sizes(self) -> list[int]:
        return [-(-rows * lay.out_row // ALIGN) * ALIGN for rows, lay in zip(self.capacity, self.layers)]

    def buffer_offsets(self) -> tuple[int, ...]:
        sizes = self._buffer_sizes()
        return tuple(sum(sizes[:i]) for i in range(len(sizes)))

    @property
    def buffer_bytes(self) -> int:
        return sum(self._buffer_sizes())

    def instructions_added(self) -> int:
        """Roughly what the stage costs beyond the whole layers (see INSTRUCTION_SHARE)."""
        calls = [c for s in self.steps for c in s.calls]
        moved = sum(m.size for s in self.steps for m in s.moves)
        reread_bytes = sum((c.in_end - c.in_first) * self.layers[c.layer].in_row for c in calls
                           if self.layers[c.layer].reconverts) - \
            sum(lay.in_h * lay.in_row for lay in self.layers if lay.reconverts)
        return int(CALL_COST * len(calls) + MOVE_COST_PER_BYTE * moved + RECONVERT_COST_PER_BYTE * reread_bytes)


def chain(graph: Graph, usable: Callable[[Operator], bool]) -> list[Operator]:
    """The spatial layers from the model input on, each the only reader of the previous one's output
    (and that output no model output), as far as ``usable`` accepts them."""
    users = consumers(graph)
    found: list[Operator] = []
    tensor = graph.inputs[0]
    while tensor not in graph.outputs and len(users.get(tensor, [])) == 1:
        op = users[tensor][0]
        if op.opcode not in SPATIAL or not op.inputs or op.inputs[0] != tensor or len(op.outputs) != 1 \
                or not usable(op) or not _row_shaped(graph, op):
            break
        found.append(op)
        tensor = op.outputs[0]
    return found


def _row_shaped(graph: Graph, op: Operator) -> bool:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    return (len(inp.shape) == 4 and len(out.shape) == 4 and inp.shape[0] == 1 and out.shape[0] == 1
            and inp.dtype == "int8" and out.dtype == "int8" and "residual" not in op.options
            and op.options.get("padding") in ("SAME", "VALID"))


def rows_of(graph: Graph, op: Operator, reconverts: bool) -> Rows:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    weights = graph.tensors[op.inputs[1]]
    o = op.options
    dil = o.get("dilation_h", 1)
    k = weights.shape[1]
    pad = compute_padding(o["stride_h"], dil, inp.shape[1], k, out.shape[1])
    return Rows(op.index, inp.shape[1], out.shape[1], o["stride_h"], (k - 1) * dil + 1, pad,
                inp.shape[2] * inp.shape[3], out.shape[2] * out.shape[3], reconverts)


def schedule(layers: Sequence[Rows], band: int) -> tuple[tuple[Step, ...], tuple[int, ...]]:
    """The steps that make the last layer's rows ``band`` at a time, and each buffer's rows. Each
    layer computes the rows the next one reads that it has not computed yet (rows nobody reads are
    skipped); a buffer's rows still needed move to its top first."""
    n = len(layers)
    done = [0] * n
    top = [0] * (n - 1)           # the row each buffer holds at its top
    capacity = [0] * (n - 1)
    steps = []
    for first in range(0, layers[-1].out_h, band):
        end = min(first + band, layers[-1].out_h)
        calls: list[Call] = []
        new_top = list(top)
        wanted_first, wanted_end = first, end
        for i in reversed(range(n)):
            start = max(done[i], wanted_first)
            if wanted_end <= start:
                break
            a, b, pad = layers[i].window(start, wanted_end)
            calls.append(Call(i, start, wanted_end, a, b, pad))
            if i > 0:
                new_top[i - 1] = a
            wanted_first, wanted_end = a, b
        moves = []
        for j in range(n - 1):
            kept = done[j] - new_top[j]
            if new_top[j] != top[j] and kept > 0:
                moves.append(Move(j, (new_top[j] - top[j]) * layers[j].out_row, kept * layers[j].out_row))
        for call in calls:
            done[call.layer] = call.end
            if call.layer < n - 1:
                capacity[call.layer] = max(capacity[call.layer], call.end - new_top[call.layer])
        top = new_top
        steps.append(Step(tuple(moves), tuple(reversed(calls)), tuple(new_top)))
    return tuple(steps), tuple(capacity)


def overlap_ok(stage: Stage) -> bool:
    """Whether the stage's output may start at its input's address: each step's writes of the last
    layer only cover input rows no later call reads (nor the same step's, when the last layer reads
    the input itself)."""
    first, last = stage.layers[0], stage.layers[-1]
    steps = stage.steps
    for t, step in enumerate(steps):
        later = [c.in_first for s in steps[t + 1:] for c in s.calls if c.layer == 0]
        if len(stage.layers) == 1:
            later += [c.in_first for c in step.calls]
        if not later:
            continue
        live_from = min(later) * first.in_row
        for call in step.calls:
            if call.layer == len(stage.layers) - 1 and call.end * last.out_row > live_from:
                return False
    return True


def candidates(graph: Graph, layers: Sequence[Operator], reconverts: Callable[[Operator], bool]) -> list[Stage]:
    """Every stage of two or more of ``layers`` (from the first on), with bands of 1..MAX_BAND rows."""
    rows = [rows_of(graph, op, reconverts(op)) for op in layers]
    found = []
    for length in range(2, min(len(rows), MAX_LAYERS) + 1):
        part = rows[:length]
        for band in range(1, min(MAX_BAND, part[-1].out_h) + 1):
            steps, capacity = schedule(part, band)
            if len(steps) < 2:
                continue
            found.append(Stage(tuple(part), band, steps, capacity, layers[0].inputs[0],
                               layers[length - 1].outputs[0], tuple(op.outputs[0] for op in layers[:length - 1])))
    return found


# ---- emission ----------------------------------------------------------------------------------------

EmitLayer = Callable[[Operator, Callable[[int], str], list[str], RowWindow], Emitted]


@dataclass(frozen=True)
class StageCode:
    function: str               # the stage's C function (with the band layers' constants before it)
    constants: tuple[str, ...]
    call: str
    kernels: frozenset[str]
    macs: tuple[int, ...]       # per layer of the stage: the MACs of all its bands
    scratch_bytes: int


def emit(stage: Stage, graph: Graph, emit_layer: EmitLayer, in_offset: int, out_offset: int,
         buffer_offset: int, slot: int) -> StageCode:
    """The stage as one C function over the arena (offsets: where the plan put the stage's input,
    output and band buffers): each distinct band of a layer emitted once by its own emitter, steady
    steps as one loop. ``slot``: the profile slot (TF_LAYER) of the stage's first layer; layer i of
    the stage times its bands in slot + i, with the moves of the rows it reads (its input buffer's),
    so a profile shows every layer, and a build without TF_PROFILE has the same code as without slots."""
    ops = {op.index: op for op in graph.operators}
    constants: list[str] = []
    variants: dict[tuple[int, RowWindow], str] = {}
    kernels: set[str] = {HEADER}
    macs = [0] * len(stage.layers)
    scratch = 0
    seen: dict[str, str] = {}              # a constant's text with its own name blanked -> its name
    buffers = stage.buffer_offsets()

    def variant(call: Call) -> str:
        """The C statement for ``call``'s layer and window, on the pointers tf_bi / tf_bo."""
        nonlocal scratch
        key = (call.layer, call.window)
        if key not in variants:
            op = ops[stage.layers[call.layer].node]
            inp, out = op.inputs[0], op.outputs[0]
            own: list[str] = []
            done = emit_layer(op, lambda t: "tf_bi" if t == inp else "tf_bo" if t == out else "", own, call.window)
            tag = f"tf_n{op.index}b{len(variants)}_"
            rename = re.compile(rf"\btf_n{op.index}_")
            names: dict[str, str] = {}
            for text in (rename.sub(tag, c) for c in own):
                defined = re.search(rf"\b{tag}\w+", text)
                for old, new in names.items():
                    text = re.sub(rf"\b{old}\b", new, text)
                if defined is None:
                    constants.append(text)
                    continue
                blank = text.replace(defined.group(0), "@")
                if blank in seen:              # the same weights as another band's: one copy in flash
                    names[defined.group(0)] = seen[blank]
                    continue
                seen[blank] = defined.group(0)
                constants.append(text)
            code = rename.sub(tag, done.code)
            for old, new in names.items():
                code = re.sub(rf"\b{old}\b", new, code)
            variants[key] = f"TF_LAYER({slot + call.layer}, {code})"
            kernels.update(done.kernels)
            scratch = max(scratch, done.scratch_bytes)
        return variants[key]

    def address(call: Call, side: str) -> int:
        lay = stage.layers[call.layer]
        step_top = current_top[0]
        if side == "in":
            if call.layer == 0:
                return in_offset + call.in_first * lay.in_row
            j = call.layer - 1
            return buffer_offset + buffers[j] + (call.in_first - step_top[j]) * lay.in_row
        if call.layer == len(stage.layers) - 1:
            return out_offset + call.first * lay.out_row
        return buffer_offset + buffers[call.layer] + (call.first - step_top[call.layer]) * lay.out_row

    current_top: list[tuple[int, ...]] = [()]
    # each step as actions: ('move', dst, src, size, slot) or ('call', statement, in, out) with arena
    # offsets; a buffer's moves are timed with the layer that reads it
    actions: list[list[tuple]] = []
    for step in stage.steps:
        current_top[0] = step.buffer_first
        acts: list[tuple] = []
        for move in step.moves:
            base = buffer_offset + buffers[move.buffer]
            acts.append(("move", base, base + move.source, move.size, slot + move.buffer + 1))
        for call in step.calls:
            acts.append(("call", variant(call), address(call, "in"), address(call, "out")))
            macs[call.layer] += _band_macs(graph, ops[stage.layers[call.layer].node], call)
        actions.append(acts)
    body = _runs(actions)
    name = f"tf_stage{stage.nodes[0]}_run"
    function = (f"/* nodes {', '.join(str(n) for n in stage.nodes)} in {len(stage.steps)} steps of "
                f"{stage.band} output rows (patches.py) */\nstatic TF_STAGE_ATTRS void {name}(void)\n{{\n"
                "    int8_t *tf_bi, *tf_bo;\n" + body + "}")
    return StageCode(function, tuple(constants), f"{name}();", frozenset(kernels), tuple(macs), scratch)


def _band_macs(graph: Graph, op: Operator, call: Call) -> int:
    """The layer's MACs (model.macs, as the profile divides by) for the band's share of its rows."""
    return operator_macs(graph, op) // graph.tensors[op.outputs[0]].shape[1] * (call.end - call.first)


def _shape(acts: list[tuple]) -> tuple:
    return tuple((a[0], a[1]) if a[0] == "call" else (a[0], a[3], a[4]) for a in acts)


def _numbers(acts: list[tuple]) -> list[int]:
    return [n for a in acts for n in (a[2:] if a[0] == "call" else a[1:3])]


def _runs(actions: list[list[tuple]]) -> str:
    """Consecutive steps alike but for offsets that grow by the same amount each step: one loop."""
    lines: list[str] = []
    t = 0
    while t < len(actions):
        end = t + 1
        delta: Optional[list[int]] = None
        if t + 1 < len(actions) and _shape(actions[t]) == _shape(actions[t + 1]):
            delta = [b - a for a, b in zip(_numbers(actions[t]), _numbers(actions[t + 1]))]
            end = t + 2
            while end < len(actions) and _shape(actions[end]) == _shape(actions[t]) and \
                    [b - a for a, b in zip(_numbers(actions[end - 1]), _numbers(actions[end]))] == delta:
                end += 1
        if end - t == 1:
            lines += _step_lines(actions[t], None, "    ")
        else:
            lines.append(f"    for (int32_t tf_s = 0; tf_s < {end - t}; ++tf_s) {{")
            lines += _step_lines(actions[t], delta, "        ")
            lines.append("    }")
        t = end
    return "".join(line + "\n" for line in lines)


def _step_lines(acts: list[tuple], delta: Optional[list[int]], indent: str) -> list[str]:
    steps = iter(delta or [])

    def at(offset: int) -> str:
        d = next(steps) if delta is not None else 0
        return f"(tf_arena + {offset})" if d == 0 else f"(tf_arena + {offset} + tf_s * {d})"

    lines = []
    for act in acts:
        if act[0] == "move":
            dst, src = at(act[1]), at(act[2])
            lines.append(f"{indent}TF_LAYER({act[4]}, tf_band_move({dst}, {src}, {act[3]});)")
        else:
            bi, bo = at(act[2]), at(act[3])
            lines.append(f"{indent}tf_bi = {bi}, tf_bo = {bo};")
            lines.append(f"{indent}{act[1]}")
    return lines


def choose(stages: Sequence[Stage], arena: Callable[[Optional[Stage]], int], macs: int) -> Optional[Stage]:
    """The stage whose plan has the smallest arena among those whose estimated added instructions stay
    within INSTRUCTION_SHARE of the model's MACs (fewer added instructions on a tie); None when none
    beats the plan without a stage."""
    best: Optional[Stage] = None
    best_key = (arena(None), 0)
    for stage in stages:
        cost = stage.instructions_added()
        if cost > INSTRUCTION_SHARE * macs:
            continue
        key = (arena(stage), cost)
        if key < best_key:
            best, best_key = stage, key
    return best
