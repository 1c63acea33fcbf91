"""A fixed-seed, structure-aware fuzzer for the model reader and the AOT generator (#11).

Each case takes a reference model, changes it — mostly one to three flatbuffer fields (shapes, types,
buffer indices, operator inputs/outputs, quantisation, opcode indices, subgraph inputs/outputs,
vector lengths, vtable entries), sometimes a few weight bytes, sometimes a cut at a random length —
reads it and generates the aot project for a board without compiling. A case must end in a generated
project or a TinyflashError with a message; anything else is a *crash*, and a case past its deadline
is a *hang*. Case ``i`` of seed ``s`` is the same bytes on every machine (:func:`mutate_case`), so a
finding is reproduced from (seed, index) alone.

``fuzz_models`` is the entry point (tests and ``scripts/robustness.py``).
"""

from __future__ import annotations

import math
import multiprocessing
import random
import signal
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from tests.support.fuzz.flatbuffer import Region, Site, model_sites, name_regions

BOARD = "mps2-an500"
DEFAULT_SEED = 11
DEFAULT_CASES = 2000        # the default test run; the slow run starts after these
# outcome of a case
GENERATED, MODEL_ERROR, OTHER_ERROR, CRASH, HANG = "generated", "model-error", "other-error", "crash", "hang"


@dataclass(frozen=True)
class CaseResult:
    index: int
    model: str
    mutation: str
    outcome: str
    error: str = ""          # exception type and message (crash, hang, errors)
    trace: str = ""          # traceback of a crash


@dataclass
class FuzzReport:
    seed: int
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_error: Counter[str] = field(default_factory=Counter)     # exception type -> count
    failures: list[CaseResult] = field(default_factory=list)    # crashes and hangs

    def add(self, result: CaseResult) -> None:
        self.cases += 1
        self.outcomes[result.outcome] += 1
        if result.error:
            self.by_error[result.error.split(":", 1)[0]] += 1
        if result.outcome in (CRASH, HANG):
            self.failures.append(result)

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        lines = [f"fuzz seed {self.seed}: {self.cases} cases: {counts}"]
        for f in self.failures[:20]:
            lines.append(f"  case {f.index} ({f.model}: {f.mutation}): {f.outcome}: {f.error}")
        return "\n".join(lines)


# --- mutation -------------------------------------------------------------------------------------
# how often each kind of site is chosen (then a site of that kind, uniformly): per-channel scales
# outnumber everything else in the files, so picking sites uniformly would fuzz little else
KIND_WEIGHTS = {"index": 5, "dim": 4, "count": 4, "type": 2, "scale": 3, "zero_point": 2, "enum": 2,
                "vtable": 2, "byte": 2}
_INT_LIMITS = {"<b": (-128, 127), "<B": (0, 255), "<H": (0, 65535), "<i": (-2**31, 2**31 - 1),
               "<I": (0, 2**32 - 1), "<q": (-2**63, 2**63 - 1)}


def _int_value(rng: random.Random, site: Site, old: int) -> int:
    low, high = _INT_LIMITS[site.fmt]
    choices = [0, 1, -1, old + 1, old - 1, old + rng.randint(2, 16), old - rng.randint(2, 16), old * 2,
               -old, 127, 128, -128, 255, 256, 2**15, 2**31 - 1, -2**31, rng.randint(low, high)]
    if site.kind == "vtable":
        choices = [0, 0, 0, old + 4, old - 4, 2, rng.randint(0, 64)]
    elif site.kind == "count":
        choices += [0, 0, old + 1, old + 1, old - 1, max(old - 1, 0), old * 4, 2**31, 2**32 - 1]
    value = rng.choice(choices)
    return min(max(value, low), high)


def _float_value(rng: random.Random, old: float) -> float:
    return rng.choice([0.0, -0.0, -old, math.nan, math.inf, -math.inf, old * 2.0 ** rng.randint(-60, 60),
                       1e-45, 1e-38, 3.4e38, 1.0 / 256, 1.0, old * rng.uniform(0.5, 2.0)])


def _patch_site(rng: random.Random, buf: bytearray, sites: Sequence[Site]) -> str:
    kinds = [k for k in KIND_WEIGHTS if any(s.kind == k for s in sites)]
    kind = rng.choices(kinds, weights=[KIND_WEIGHTS[k] for k in kinds])[0]
    site = rng.choice([s for s in sites if s.kind == kind])
    old = site.read(buf)
    if site.fmt == "<f":
        new: Any = _float_value(rng, old)
    else:
        new = _int_value(rng, site, old)
    site.write(buf, new)
    return f"{site.label} {old!r} -> {new!r}"


# text that must never reach generated C as it is (it would end a comment or continue a line)
HOSTILE_TEXT = [b"*/", b"\n#error injected\n", b"??/", b"\\", b"\"", b"\x00", b"\xff\xfe"]


def mutate(rng: random.Random, original: bytes, sites: Sequence[Site], weights: Sequence[Region],
           names: Sequence[Region] = ()) -> tuple[bytes, str]:
    """One mutated model and what was changed: fields (75 %), weight bytes (10 %), a cut (10 %),
    hostile text in a tensor name (5 %)."""
    roll = rng.random()
    buf = bytearray(original)
    if roll < 0.1:
        length = rng.choice([rng.randint(0, 64), rng.randint(0, len(buf) - 1), len(buf) - rng.randint(1, 64)])
        return bytes(buf[:max(length, 0)]), f"truncated to {max(length, 0)} of {len(buf)} bytes"
    if roll < 0.2 and weights:
        region = rng.choice(weights)
        changes = []
        for _ in range(rng.randint(1, 8)):
            at = region.offset + rng.randrange(region.length)
            buf[at] = rng.randrange(256)
            changes.append(at - region.offset)
        return bytes(buf), f"{region.label}: bytes {sorted(changes)} randomised"
    if roll < 0.25 and names:
        region = rng.choice([r for r in names if r.length >= 2] or names)
        text = rng.choice(HOSTILE_TEXT)[:region.length]
        at = region.offset + rng.randrange(region.length - len(text) + 1)
        buf[at:at + len(text)] = text
        return bytes(buf), f"{region.label}: {text!r} written at {at - region.offset}"
    described = [_patch_site(rng, buf, sites) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    return bytes(buf), "; ".join(described)


class _Models:
    """The reference models' bytes and sites, read once per process."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self._cache: dict[Path, tuple[bytes, list[Site], list[Region], list[Region]]] = {}

    def get(self, path: Path) -> tuple[bytes, list[Site], list[Region], list[Region]]:
        if path not in self._cache:
            data = path.read_bytes()
            sites, weights = model_sites(data)
            self._cache[path] = (data, sites, weights, name_regions(data))
        return self._cache[path]


def mutate_case(models: Sequence[Path], seed: int, index: int, _cache: _Models | None = None) -> tuple[Path, bytes, str]:
    """Case ``index`` of ``seed``: (the model it starts from, the mutated bytes, what changed)."""
    cache = _cache or _Models(models)
    path = list(models)[index % len(models)]
    original, sites, weights, names = cache.get(path)
    data, description = mutate(random.Random(f"{seed}:{index}"), original, sites, weights, names)
    return path, data, description


# --- running cases --------------------------------------------------------------------------------
def generate_aot(model_file: Path, board: Any, dest: Path) -> None:
    """What a case runs by default: resolve and read the model, count what every runtime counts from
    the graph (MACs, weight bytes), generate the aot project (no compile); then check that no tensor
    name reached the generated sources unescaped (the escape helpers are the one path into C)."""
    from tinyflash.generate.project import generate_project
    from tinyflash.model import read_graph, resolve_model
    from tinyflash.model.macs import graph_macs

    spec = resolve_model(str(model_file), environ={})
    graph = read_graph(model_file)
    graph_macs(graph)
    graph.weight_bytes()
    generate_project(board, spec, graph, dest)
    hostile = [t.name for t in graph.tensors if any(h.decode("latin-1") in t.name for h in HOSTILE_TEXT[:4])]
    for source in (dest.rglob("*") if hostile else ()):
        if source.suffix in (".c", ".h", ".S", ".ld"):
            text = source.read_text(errors="replace")
            for name in hostile:
                if name in text:
                    raise AssertionError(f"tensor name {name!r} reached {source.name} unescaped")


Target = Callable[[Path, Any, Path], None]


class _CaseTimeout(BaseException):
    """Raised by the per-case alarm; a BaseException so no ``except Exception`` in the code under test
    can swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _CaseTimeout()


class _Worker:
    def __init__(self, models: Sequence[Path], seed: int, case_timeout: float, board: str, scratch: str,
                 target: Target) -> None:
        from tinyflash.board import BoardCatalog

        self.models = list(models)
        self.seed = seed
        self.case_timeout = case_timeout
        self.cache = _Models(self.models)
        self.target = target
        self.board = BoardCatalog(environ={}).load(board)
        self.workdir = Path(tempfile.mkdtemp(prefix="worker-", dir=scratch))

    def run(self, index: int) -> CaseResult:
        from tinyflash.errors import ModelError, TinyflashError

        path, data, description = mutate_case(self.models, self.seed, index, self.cache)
        model_file = self.workdir / f"{path.stem}-case.tflite"
        model_file.write_bytes(data)
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.case_timeout)
        try:
            self.target(model_file, self.board, self.workdir / "project")
            outcome, error, trace = GENERATED, "", ""
        except _CaseTimeout:
            outcome, error, trace = HANG, f"Timeout: over {self.case_timeout} s", traceback.format_exc()
        except TinyflashError as exc:
            outcome = MODEL_ERROR if isinstance(exc, ModelError) else OTHER_ERROR
            error, trace = f"{type(exc).__name__}: {exc}", ""
            if not str(exc).strip():     # an error the user cannot act on counts as a crash
                outcome, trace = CRASH, traceback.format_exc()
        except Exception as exc:   # noqa: BLE001 - every other exception is what the fuzzer looks for
            outcome, error, trace = CRASH, f"{type(exc).__name__}: {exc}", traceback.format_exc()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return CaseResult(index, path.name, description, outcome, error[:500], trace)


_worker: _Worker | None = None


def _init_worker(models: Sequence[Path], seed: int, case_timeout: float, board: str, scratch: str,
                 target: Target) -> None:
    global _worker
    _worker = _Worker(models, seed, case_timeout, board, scratch, target)


def _run_chunk(indices: Sequence[int]) -> list[CaseResult]:
    assert _worker is not None
    return [_worker.run(i) for i in indices]


def _chunks(start: int, stop: int, size: int) -> Iterator[list[int]]:
    for first in range(start, stop, size):
        yield list(range(first, min(first + size, stop)))


def fuzz_models(models: Sequence[Path], cases: int, *, seed: int = DEFAULT_SEED, workers: int = 2,
                case_timeout: float = 10.0, board: str = BOARD, first: int = 0,
                target: Target = generate_aot) -> FuzzReport:
    """Run cases ``first .. first + cases - 1`` of ``seed`` over ``models`` (.tflite paths) in
    ``workers`` processes (0: in this process). Every case has ``case_timeout`` seconds; a worker
    that stops answering altogether (stuck in C code the alarm cannot interrupt) is killed and its
    unanswered cases count as hangs. ``target`` is what a case runs (a module-level function, so
    worker processes can receive it): read and generate by default."""
    models = sorted(Path(m) for m in models)
    with tempfile.TemporaryDirectory(prefix="tinyflash-fuzz-") as scratch:
        return _fuzz(models, cases, seed, workers, case_timeout, board, first, scratch, target)


def _fuzz(models: list[Path], cases: int, seed: int, workers: int, case_timeout: float, board: str,
          first: int, scratch: str, target: Target) -> FuzzReport:
    report = FuzzReport(seed)
    if workers <= 0:
        _init_worker(models, seed, case_timeout, board, scratch, target)
        for index in range(first, first + cases):
            report.add(_run_chunk([index])[0])
        return report
    chunk = 25
    context = multiprocessing.get_context("fork")   # workers inherit the imported modules: fast start
    pending = {c[0]: c for c in _chunks(first, first + cases, chunk)}
    with context.Pool(workers, _init_worker, (models, seed, case_timeout, board, scratch, target)) as pool:
        results = pool.imap_unordered(_run_chunk, list(pending.values()))
        try:
            for _ in range(len(pending)):
                done = results.next(timeout=case_timeout * chunk + 30)
                pending.pop(done[0].index, None)
                for result in done:
                    report.add(result)
        except multiprocessing.TimeoutError:
            pool.terminate()
            for indices in pending.values():
                for index in indices:
                    path = models[index % len(models)]
                    report.add(CaseResult(index, path.name, "(worker stopped answering)", HANG,
                                          "Timeout: the worker process did not answer"))
    return report


def reference_models(model_dir: Path) -> list[Path]:
    """The .tflite files the fuzzer starts from: every model in the directory."""
    return sorted(Path(model_dir).glob("*.tflite"))


def reproduce(models: Sequence[Path], seed: int, index: int, dest: Path) -> Path:
    """Write case ``index`` of ``seed`` to ``dest`` (a .tflite file) to debug a finding."""
    _, data, _ = mutate_case(sorted(Path(m) for m in models), seed, index)
    Path(dest).write_bytes(data)
    return Path(dest)


__all__ = ["CaseResult", "FuzzReport", "fuzz_models", "generate_aot", "mutate_case", "reference_models",
           "reproduce"]
