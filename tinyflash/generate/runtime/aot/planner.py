"""Activation memory planning: tensor lifetimes from the graph, offsets packed into one arena.

Greedy by size (as TFLM's GreedyMemoryPlanner): the largest tensor is placed first, each next one
at the lowest offset that overlaps no placed tensor alive at the same time. As in TFLM, the graph
input's memory is reused once it is consumed, so after a performance-mode loop over one loaded input
the results differ from a single inference (spec §5.3 caveat): goldens are compared on 'infer 1 0'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

ALIGN = 16


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass(frozen=True)
class Placement:
    tensor: int
    offset: int
    size: int
    first: int   # index of the producing operator (-1: graph input)
    last: int    # index of the last consuming operator


@dataclass(frozen=True)
class MemoryPlan:
    placements: Mapping[int, Placement]
    arena_bytes: int

    def offset(self, tensor: int) -> int:
        return self.placements[tensor].offset

    def peak_live_pair_bound(self) -> int:
        """The two largest tensors alive at the same time, aligned: a bound the plan must meet
        for chain-shaped graphs."""
        best = 0
        items = list(self.placements.values())
        for i, a in enumerate(items):
            for b in items[i + 1:]:
                if a.first <= b.last and b.first <= a.last:
                    best = max(best, _align(a.size) + _align(b.size))
        return max(best, max((_align(p.size) for p in items), default=0))


def plan_memory(sizes: Mapping[int, int], lifetimes: Mapping[int, tuple[int, int]],
                aliases: Mapping[int, int] | None = None) -> MemoryPlan:
    """``sizes``/``lifetimes`` per activation tensor; ``aliases`` maps a tensor onto another whose
    buffer it shares (an in-place RESHAPE), extending that tensor's lifetime."""
    aliases = dict(aliases or {})
    life = dict(lifetimes)
    for alias, target in aliases.items():
        root = target
        while root in aliases:
            root = aliases[root]
        a0, a1 = life.pop(alias)
        t0, t1 = life[root]
        life[root] = (min(a0, t0), max(a1, t1))
    order = sorted(life, key=lambda t: (-sizes[t], life[t][0], t))
    placed: list[Placement] = []
    for tensor in order:
        first, last = life[tensor]
        size = _align(sizes[tensor])
        conflicts = sorted((p for p in placed if p.first <= last and first <= p.last), key=lambda p: p.offset)
        offset = 0
        for p in conflicts:
            if offset + size <= p.offset:
                break
            offset = max(offset, p.offset + _align(p.size))
        placed.append(Placement(tensor, offset, sizes[tensor], first, last))
    placements = {p.tensor: p for p in placed}
    for alias, target in aliases.items():
        root = target
        while root in aliases:
            root = aliases[root]
        p = placements[root]
        placements[alias] = Placement(alias, p.offset, sizes[alias], p.first, p.last)
    arena = max((p.offset + _align(p.size) for p in placed), default=0)
    return MemoryPlan(placements, arena)
