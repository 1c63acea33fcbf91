"""Per-layer profile (``tinyflash bench --profile``): where an inference's cycles go.

A firmware built with TF_PROFILE reads the cycle counter around every layer of the runtime's invoke (a
layer of a row-band stage: around each of its bands) and sums the differences over the timed loop;
'tf-profile' reports the sums in the order of the project's layers. The two counter reads cost a few
dozen cycles per timed section, so a profiled build's total is a little above an unprofiled one's; the
layers' shares are what the profile is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from tinyflash.board.schema import Board
from tinyflash.errors import BuildError, ProtocolError
from tinyflash.run.performance import cycles_to_instructions
from tinyflash.run.session import DeviceSession

if TYPE_CHECKING:     # run/ does not import generate/ (#15.1): the layers arrive in the firmware's project
    from tinyflash.generate.runtime.base import Layer


@dataclass(frozen=True)
class LayerTime:
    layer: Layer
    cycles: float                      # per inference
    instructions: Optional[int]        # per inference, icount-emulated boards only


@dataclass(frozen=True)
class Profile:
    layers: tuple[LayerTime, ...]
    iterations: int                    # inferences the sums cover
    total_cycles: float                # whole inference, per inference (tf-cycles)
    total_instructions: Optional[int]

    @property
    def layer_cycles(self) -> float:
        return sum(t.cycles for t in self.layers)

    def to_json(self) -> dict[str, Any]:
        total = self.total_cycles or 1.0
        return {
            "iterations": self.iterations,
            "cycles": round(self.total_cycles, 1),
            "instructions": self.total_instructions,
            "outside_layers_cycles": round(self.total_cycles - self.layer_cycles, 1),
            "layers": [{**t.layer.to_json(), "cycles": round(t.cycles, 1), "instructions": t.instructions,
                        "share": round(t.cycles / total, 4),
                        "per_mac": round((t.instructions if t.instructions is not None else t.cycles)
                                         / t.layer.macs, 3) if t.layer.macs else None}
                       for t in self.layers],
        }


def collect(session: DeviceSession, board: Board, layers: tuple[Layer, ...]) -> Profile:
    """After a timed loop: the per-layer sums, divided by that loop's iteration count."""
    raw = session.tf_profile()
    cycles, iterations = session.tf_cycles()
    if len(raw) != len(layers):
        raise BuildError(f"the firmware profiles {len(raw)} layers but its project lists {len(layers)}",
                         hint="rebuild: the firmware and its project.json come from different builds")
    if iterations < 1:
        raise ProtocolError("tf-profile answered before any timed loop ran", hint="run 'infer N' first")
    shift = board.icount_shift
    times = tuple(LayerTime(layer, c / iterations, cycles_to_instructions(c / iterations, board.clock_hz, shift))
                  for layer, c in zip(layers, raw))
    per_inference = cycles / iterations
    return Profile(times, iterations, per_inference, cycles_to_instructions(per_inference, board.clock_hz, shift))


def profile_lines(data: dict[str, Any]) -> list[str]:
    """The human table of a profile's JSON form (to_json)."""
    emulated = data["instructions"] is not None
    unit = "instr" if emulated else "cycles"
    # a column for the row-band stages only when the build has one (older results have no "stage")
    stages = sorted({row["stage"] for row in data["layers"] if row.get("stage") is not None})
    lines = [f"{'node':>4}  {'op':<18} {'output':<16} {'MACs':>10} {unit:>12} {'share':>6} {unit + '/MAC':>11}"
             + ("  run" if stages else "")]
    for row in data["layers"]:
        count = row["instructions"] if emulated else row["cycles"]
        shape = "x".join(str(d) for d in row["output"])
        per_mac = f"{row['per_mac']:.2f}" if row["per_mac"] is not None else "-"
        run = "" if not stages else "  whole" if row.get("stage") is None else f"  bands@{row['stage']}"
        lines.append(f"{row['node']:>4}  {row['op']:<18} {shape:<16} {row['macs']:>10,} {count:>12,.0f} "
                     f"{100 * row['share']:>5.1f}% {per_mac:>11}{run}")
    total = data["instructions"] if emulated else data["cycles"]
    # in the table's own unit: the cycle figure beside an instruction column read as instructions
    outside = total - sum(r["instructions"] if emulated else r["cycles"] for r in data["layers"])
    lines.append(f"{'':>4}  {'total':<18} {'':<16} {sum(r['macs'] for r in data['layers']):>10,} {total:>12,.0f} "
                 f"(outside layers: {outside:,.0f} {unit})")
    for first in stages:
        nodes = ", ".join(str(r["node"]) for r in data["layers"] if r.get("stage") == first)
        lines.append(f"bands@{first}: nodes {nodes} ran interleaved in row bands (one stage): each row sums "
                     "its layer's bands and the moves of the rows it reads")
    return lines
