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

    def step_live_bound(self) -> int:
        """The most memory alive during any one operator (a lower bound for every plan)."""
        return _step_live_bound({t: p.size for t, p in self.placements.items()},
                                {t: (p.first, p.last) for t, p in self.placements.items()})

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
                aliases: Mapping[int, int] | None = None, shared: Mapping[int, int] | None = None) -> MemoryPlan:
    """``sizes``/``lifetimes`` per activation tensor; ``aliases`` maps a tensor onto another whose
    buffer it shares (an in-place RESHAPE), extending that tensor's lifetime. ``shared`` pairs two
    tensors whose lifetimes meet but which may start at the same address (a row-band stage's output
    over its input, proven by patches.overlap_ok): each keeps its own size and lifetime, and the one
    placed second takes the other's offset when nothing else alive with it is in the way."""
    aliases = dict(aliases or {})
    partners = {**{a: b for a, b in (shared or {}).items()}, **{b: a for a, b in (shared or {}).items()}}
    life = dict(lifetimes)
    for alias, target in aliases.items():
        root = target
        while root in aliases:
            root = aliases[root]
        a0, a1 = life.pop(alias)
        t0, t1 = life[root]
        life[root] = (min(a0, t0), max(a1, t1))
    candidates = [_greedy_by_size(sizes, life, partners)]
    bound = _step_live_bound(sizes, life, partners)
    for limit in (bound, bound + bound // 4):
        pingpong = _ping_pong(sizes, life, limit, partners)
        if pingpong is not None:
            candidates.append(pingpong)
    placed = min(candidates, key=_extent)
    placements = {p.tensor: p for p in placed}
    for alias, target in aliases.items():
        root = target
        while root in aliases:
            root = aliases[root]
        p = placements[root]
        placements[alias] = Placement(alias, p.offset, sizes[alias], p.first, p.last)
    return MemoryPlan(placements, _extent(placed))


def _extent(placed: list[Placement]) -> int:
    return max((p.offset + _align(p.size) for p in placed), default=0)


def _conflicts(placed: list[Placement], first: int, last: int) -> list[Placement]:
    return sorted((p for p in placed if p.first <= last and first <= p.last), key=lambda p: p.offset)


def _with_partner(placed: list[Placement], tensor: int, size: int, first: int, last: int,
                  partners: Mapping[int, int]) -> int | None:
    """The offset of ``tensor``'s shared partner when it is placed and no other tensor alive with
    ``tensor`` overlaps it there."""
    partner = next((p for p in placed if p.tensor == partners.get(tensor)), None)
    if partner is None:
        return None
    for p in _conflicts(placed, first, last):
        if p is not partner and p.offset < partner.offset + size and partner.offset < p.offset + _align(p.size):
            return None
    return partner.offset


def _lowest(conflicts: list[Placement], size: int) -> int:
    offset = 0
    for p in conflicts:
        if offset + size <= p.offset:
            break
        offset = max(offset, p.offset + _align(p.size))
    return offset


def _highest(conflicts: list[Placement], size: int, limit: int) -> int | None:
    top = limit
    for p in sorted(conflicts, key=lambda p: -(p.offset + _align(p.size))):
        end = p.offset + _align(p.size)
        if end + size <= top:
            break
        top = min(top, p.offset)
    return top - size if top - size >= 0 else None


def _greedy_by_size(sizes: Mapping[int, int], life: Mapping[int, tuple[int, int]],
                    partners: Mapping[int, int]) -> list[Placement]:
    placed: list[Placement] = []
    for tensor in sorted(life, key=lambda t: (-sizes[t], life[t][0], t)):
        first, last = life[tensor]
        size = _align(sizes[tensor])
        offset = _with_partner(placed, tensor, size, first, last, partners)
        if offset is None:
            offset = _lowest(_conflicts(placed, first, last), size)
        placed.append(Placement(tensor, offset, sizes[tensor], first, last))
    return placed


def _ping_pong(sizes: Mapping[int, int], life: Mapping[int, tuple[int, int]], limit: int,
               partners: Mapping[int, int]) -> list[Placement] | None:
    """In production order, alternate the ends of an arena of ``limit`` bytes: a chain's output goes
    to the other end from its input, which is optimal for chains (the greedy order fragments them)."""
    placed: list[Placement] = []
    low_side = True
    for tensor in sorted(life, key=lambda t: (life[t][0], t)):
        first, last = life[tensor]
        size = _align(sizes[tensor])
        conflicts = _conflicts(placed, first, last)
        high = _highest(conflicts, size, limit)
        low = _lowest(conflicts, size)
        shared = _with_partner(placed, tensor, size, first, last, partners)
        if shared is not None:
            offset = shared
        elif low_side or high is None:
            offset = low
        else:
            offset = high
        low_side = not low_side
        placed.append(Placement(tensor, offset, sizes[tensor], first, last))
    return placed


def _step_live_bound(sizes: Mapping[int, int], life: Mapping[int, tuple[int, int]],
                     partners: Mapping[int, int] | None = None) -> int:
    """The most memory alive at any one operator: no plan can be smaller (a shared pair alive together
    counts as its larger tensor)."""
    steps = {s for first, last in life.values() for s in (first, last)}

    def alive(t: int, s: int) -> bool:
        return t in life and life[t][0] <= s <= life[t][1]

    def at(s: int) -> int:
        total = sum(_align(sizes[t]) for t, (f, l) in life.items() if f <= s <= l)
        pairs = {tuple(sorted(p)) for p in (partners or {}).items()}
        return total - sum(min(_align(sizes[a]), _align(sizes[b])) for a, b in pairs if alive(a, s) and alive(b, s))

    return max((at(s) for s in steps), default=0)
