"""Datasets in the official runner's layout (spec §6), checked before a run and generated for tests.

Layout: ``DIR/<folder>/y_labels.csv`` (no header; ``file,classes,class`` and, for a benchmark whose
files are cut into windows (ad01), also ``bytes_to_send,stride``) with every listed file beside it. The
folder is the benchmark's ``dataset_folder`` (``ic02`` reads ``ic01``, as the runner's tests_*.yaml say).

The generator draws inputs at random (fixed seed) and labels them with the host golden
(:mod:`tinyflash.run.golden`, TFLM's reference kernels), so a bit-exact firmware scores Top-1 100 %
and AUC 1.0 by construction. Two properties of the runner's scoring shape it (spec §3.6):

- AUC is ``roc_auc_score(..., multi_class='ovr')``, which refuses a truth file that lacks a class; so
  every class gets files, found by a seeded random search where plain random inputs all land in one.
- Scores are the printed ``%.3f`` values, each vector normalised to sum 1. A file is kept only when
  its label's normalised score exceeds 1/2 by a margin: then, for every class, all its files score
  above all others' and the one-vs-rest AUC is exactly 1. For ad01 the normal files' mean scores all
  lie below the anomalous ones', with a margin wider than the rounding.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from tinyflash.errors import TinyflashError
from tinyflash.model.benchmarks import SUBMITTABLE, Benchmark, DatasetKind, ModelIO
from tinyflash.model.spec import ModelSpec
from tinyflash.run.accuracy import DatasetError, LabelRow, read_labels, windows

TRUTH_FILE = "y_labels.csv"
PRINTED_DECIMALS = 3          # th_results prints "%.3f"
CONFIDENCE_MARGIN = 0.02      # normalised label score must exceed 0.5 by this much
SEARCH_RESTARTS = 2           # fresh random starts after the first search for a class gets stuck
AD_SCORE_GAP = 0.01           # normal and anomalous mean scores stay this far apart (> the rounding)


@dataclass(frozen=True)
class CheckedDataset:
    benchmark: Benchmark
    folder: Path
    rows: tuple[LabelRow, ...]


def _folders(benchmarks: Sequence[Benchmark]) -> str:
    """'ad01, ic01 (also for ic02), ...': each dataset folder once, with the benchmarks sharing it."""
    users: dict[str, list[str]] = {}
    for bench in benchmarks:
        users.setdefault(bench.dataset_folder, []).append(bench.benchmark_id)
    return ", ".join(folder + (f" (also for {', '.join(ids[1:] if ids[0] == folder else ids)})"
                               if ids != [folder] else "") for folder, ids in sorted(users.items()))


def check_datasets(root: Path, benchmarks: Sequence[Benchmark]) -> dict[Benchmark, CheckedDataset]:
    """Every benchmark's folder, truth file and listed files, or one error naming all that is missing."""
    problems: list[str] = []
    found: dict[Benchmark, CheckedDataset] = {}
    if not Path(root).is_dir():
        raise DatasetError(f"--datasets {root}: no such directory",
                           hint="give a directory laid out as the runner reads it: "
                                + ", ".join(f"{b.dataset_folder}/{TRUTH_FILE}" for b in benchmarks)
                                + " ('tinyflash submit --generate-datasets DIR' writes a rehearsal set)")
    for bench in benchmarks:
        name = bench.benchmark_id
        try:
            folder, rows = read_labels(Path(root), bench)
        except DatasetError as exc:
            problems.append(f"{name}: {exc.message}")
            continue
        if not rows:
            problems.append(f"{name}: {folder / TRUTH_FILE} lists no file")
            continue
        window = bench.dataset_window
        if window is not None:
            bad = [r.file for r in rows if not r.bytes_to_send or not r.stride]
            if bad:
                problems.append(f"{name}: {folder / TRUTH_FILE}: rows without bytes_to_send,stride "
                                f"(e.g. {bad[0]}); {name} rows read file,2,class,{window[0]},{window[1]}")
                continue
            counts = {len(windows((folder / r.file).read_bytes(), r)) for r in rows}
            if len(counts) != 1:
                # the runner sizes its loop from the first file's window count (spec §3.4)
                problems.append(f"{name}: files have different window counts {sorted(counts)}; "
                                "the runner needs them all the same size")
                continue
        found[bench] = CheckedDataset(bench, folder, tuple(rows))
    if problems:
        everything = [b for b in SUBMITTABLE if b.dataset_kind is not None]
        raise DatasetError("the datasets are incomplete:\n    " + "\n    ".join(problems),
                           hint=f"DIR/<folder>/{TRUTH_FILE} with every listed file beside it "
                                f"({_folders(everything)}); the official sets are described in "
                                "mlcommons/tiny benchmark/evaluation/datasets")
    return found


# ---- generation ------------------------------------------------------------------------------------
class GenerationError(TinyflashError):
    pass


def _printed(values: Iterable[float]) -> np.ndarray:
    return np.round(np.asarray(list(values), dtype=np.float64), PRINTED_DECIMALS)


def _normalised(values: np.ndarray) -> Optional[np.ndarray]:
    total = values.sum()
    return values / total if total > 0 else None


def _write_truth(folder: Path, rows: Sequence[tuple]) -> None:
    with open(folder / TRUTH_FILE, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for row in rows:
            writer.writerow(row)


class _Model:
    """The golden as the generator uses it: upload bytes in, printed scores out."""

    def __init__(self, spec: ModelSpec) -> None:
        from tinyflash.model import read_graph
        from tinyflash.run.golden import Golden, device_input, expected_results

        graph = read_graph(spec.path)
        self.io = ModelIO.of(spec.benchmark, graph)
        golden = Golden(spec.path)
        self.scores: Callable[[bytes], np.ndarray] = lambda upload: _printed(
            expected_results(self.io, upload, golden.run(device_input(self.io, upload))))
        self._spec, self._graph = spec, graph
        # the innermost dimension that is more than 1 wide: RGB in images, coefficients in MFCC frames
        wide = [int(d) for d in graph.input.shape[1:] if d > 1]
        self.channels = wide[-1] if wide else 1
        self._logits: Optional[Callable[[bytes], np.ndarray]] = None

    def logits(self, upload: bytes) -> Optional[np.ndarray]:
        """The softmax's input (dequantised), when the model ends in one: unlike the int8 softmax
        output it is not flat where a class has probability 0, so a search can climb it."""
        if self._logits is None:
            from tflite_micro import runtime

            from tinyflash.run.golden import device_input

            last = self._graph.operators[-1]
            if last.opcode != "SOFTMAX":
                return None
            index = last.inputs[0]
            q = self._graph.tensors[index].quantization
            scale, zero = (q.scales[0], q.zero_points[0]) if q else (1.0, 0)
            interpreter = runtime.Interpreter.from_file(
                str(self._spec.path), intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
            shape = tuple(interpreter.get_input_details(0)["shape"])

            def logits(data: bytes) -> np.ndarray:
                interpreter.set_input(device_input(self.io, data).reshape(shape), 0)
                interpreter.invoke()
                raw = np.asarray(interpreter.GetTensor(index, 0)["tensor_data"]).reshape(-1)
                return (raw.astype(np.float64) - zero) * scale

            self._logits = logits
        return self._logits(upload)


def generate_anomaly(spec: ModelSpec, folder: Path, *, files: int, windows_per_file: int,
                     seed: int) -> list[tuple]:
    model = _Model(spec)
    io = model.io
    window = spec.benchmark.dataset_window
    assert window is not None          # DatasetKind.ANOMALY benchmarks are cut into windows
    window_bytes, stride_bytes = window
    rng = np.random.default_rng(seed)
    floats_per_window = window_bytes // 4
    length = floats_per_window + (windows_per_file - 1) * (stride_bytes // 4)
    lo = (-128 - io.input_zero_point) * io.input_scale
    hi = (127 - io.input_zero_point) * io.input_scale
    candidates = []
    for _ in range(2 * files):
        # a random level and spread per file, so mean scores spread out and the two halves separate
        centre = rng.uniform(lo, hi)
        spread = rng.uniform(0.05, 1.0) * (hi - lo) / 2
        data = np.clip(rng.normal(centre, spread, length), lo, hi).astype("<f4").tobytes()
        row = LabelRow("x", 2, 0, window_bytes, stride_bytes)
        score = float(np.mean([model.scores(w)[0] for w in windows(data, row)]))
        candidates.append((score, data))
    candidates.sort(key=lambda c: c[0])
    normal_count = files // 2
    normal = candidates[:normal_count]
    anomalous = candidates[-(files - normal_count):]
    if anomalous[0][0] - normal[-1][0] < AD_SCORE_GAP:
        raise GenerationError(f"{spec.benchmark_id}: generated scores do not separate (gap {anomalous[0][0] - normal[-1][0]:.4f})",
                              hint="try another seed")
    labelled = [(0, d) for _, d in normal] + [(1, d) for _, d in anomalous]
    return _write_shuffled(folder, labelled, rng,
                           lambda n, label: f"{'anomaly' if label else 'normal'}_id_00_{n:08d}_tinyflash.bin",
                           lambda name, label: (name, 2, label, window_bytes, stride_bytes))


def _confident_class(scores: np.ndarray) -> Optional[int]:
    probabilities = _normalised(scores)
    if probabilities is None:
        return None
    best = int(np.argmax(probabilities))
    return best if probabilities[best] > 0.5 + CONFIDENCE_MARGIN else None


def _margin(scores: np.ndarray, k: int) -> float:
    probabilities = _normalised(scores)
    return -1.0 if probabilities is None else float(probabilities[k] - 0.5)


def _objectives(model: _Model, x: np.ndarray) -> np.ndarray:
    """How likely each class is: its log-probability from the logits when the model has them, else
    its printed score's lead over one half."""
    logits = model.logits(x.tobytes())
    if logits is None:
        scores = model.scores(x.tobytes())
        return np.array([_margin(scores, k) for k in range(scores.size)])
    top = float(np.max(logits))
    return logits - top - np.log(np.sum(np.exp(logits - top)))       # log softmax


class _Agreement:
    """The models that read one dataset folder (ic01's serves ic01 and ic02, as the runner's tests_*.yaml
    say): a file is labelled only when every model is confident of the same class, and a search climbs
    the lowest of their log-probabilities, so each benchmark scores Top-1 100 % on the shared files."""

    def __init__(self, specs: Sequence[ModelSpec]) -> None:
        self.names = "/".join(s.benchmark_id for s in specs)
        self.models = [_Model(s) for s in specs]
        first = self.models[0]
        self.io, self.channels = first.io, first.channels
        for spec, model in zip(specs, self.models):
            if (model.io.upload_bytes, model.io.output_elements) != (self.io.upload_bytes, self.io.output_elements):
                raise GenerationError(f"{self.names} share the folder {specs[0].benchmark.dataset_folder} but "
                                      f"{spec.benchmark_id} reads {model.io.upload_bytes} bytes into "
                                      f"{model.io.output_elements} classes")

    def label(self, x: np.ndarray) -> Optional[int]:
        labels = {_confident_class(m.scores(x.tobytes())) for m in self.models}
        return labels.pop() if len(labels) == 1 else None

    def objectives(self, x: np.ndarray) -> np.ndarray:
        return np.min(np.stack([_objectives(m, x) for m in self.models]), axis=0)

    def objective(self, x: np.ndarray, k: int) -> float:
        return float(self.objectives(x)[k])


def _random_input(rng: np.random.Generator, size: int, channels: int = 1) -> np.ndarray:
    """One of a few shapes of random input: noise at a random level and spread, blocks of levels, or
    one level per channel (a flat colour; a stationary sound in MFCC features) or in all."""
    kind = rng.integers(0, 5)
    if kind >= 3:                     # 4: one level everywhere (silence, a blank image)
        levels = rng.integers(0, 256, channels if kind == 3 else 1)
        noise = rng.integers(-4, 5, size)
        return np.clip(np.resize(levels, size) + noise, 0, 255).astype(np.uint8)
    if kind == 0:
        return rng.integers(0, 256, size, dtype=np.uint8)
    if kind == 1:
        centre, spread = rng.uniform(0, 255), rng.uniform(2, 128)
        return np.clip(rng.normal(centre, spread, size), 0, 255).astype(np.uint8)
    blocks = int(rng.integers(2, 16))
    levels = rng.integers(0, 256, blocks)
    return np.repeat(levels, -(-size // blocks))[:size].astype(np.uint8)


def _mutate(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Mostly small steps (a few bytes nudged), sometimes a block re-drawn: small steps climb, blocks
    leave the plateaus an int8 softmax output has."""
    trial = x.copy()
    if rng.random() < 0.8:
        at = rng.integers(0, x.size, int(rng.integers(1, 9)))
        trial[at] = np.clip(trial[at].astype(np.int16) + rng.integers(-24, 25, at.size), 0, 255).astype(np.uint8)
    else:
        width = int(rng.integers(1, max(2, x.size // 16)))
        start = int(rng.integers(0, x.size - width + 1))
        trial[start:start + width] = rng.integers(0, 256, width, dtype=np.uint8)
    return trial


def _climb(model: _Agreement, rng: np.random.Generator, x: np.ndarray, k: int,
           steps: int) -> Optional[np.ndarray]:
    objective = model.objective(x, k)
    for _ in range(steps):
        trial = _mutate(rng, x)
        value = model.objective(trial, k)
        if value >= objective:
            x, objective = trial, value
            if model.label(trial) == k:
                return x
    return None


def generate_classes(specs: Sequence[ModelSpec], folder: Path, *, per_class: int, seed: int, draws: int,
                     search_steps: int, progress: Optional[Callable[[str], None]] = None) -> list[tuple]:
    model = _Agreement(specs)
    io = model.io
    classes = io.output_elements
    rng = np.random.default_rng(seed)
    found: dict[int, list[bytes]] = {k: [] for k in range(classes)}
    best: dict[int, tuple[float, np.ndarray]] = {}
    for _ in range(draws):
        x = _random_input(rng, io.upload_bytes, model.channels)
        label = model.label(x)
        if label is not None and len(found[label]) < per_class:
            found[label].append(x.tobytes())
        for k, value in enumerate(model.objectives(x)):
            if k not in best or value > best[k][0]:
                best[k] = (float(value), x)
        if all(len(v) >= per_class for v in found.values()):
            break
    for k in range(classes):
        # a seeded random search (hill climbing on class k's log-probability) from the most promising
        # input seen so far, restarted from a fresh random input when it gets stuck
        while len(found[k]) < per_class:
            if progress:
                progress(f"{model.names}: searching an input for class {k}")
            starts = [best[k][1]] + [np.frombuffer(d, dtype=np.uint8) for v in found.values() for d in v]
            x = max(starts, key=lambda candidate: model.objective(candidate, k)).copy()
            for attempt in range(SEARCH_RESTARTS + 1):
                if attempt:
                    x = _random_input(rng, io.upload_bytes, model.channels)
                hit = _climb(model, rng, x, k, search_steps)
                if hit is not None:
                    break
            else:
                raise GenerationError(f"{model.names}: no confident input found for class {k} in "
                                      f"{SEARCH_RESTARTS + 1} searches of {search_steps} steps",
                                      hint="raise search_steps or try another seed")
            found[k].append(hit.tobytes())
            best[k] = (0.0, hit)
    items = [(k, data) for k in range(classes) for data in found[k]]
    return _write_shuffled(folder, items, rng, lambda n, label: f"tinyflash_{n:05d}_{label}.bin",
                           lambda name, label: (name, classes, label))


def _write_shuffled(folder: Path, items: list[tuple[int, bytes]], rng: np.random.Generator,
                    name_of: Callable[[int, int], str], row_of: Callable[[str, int], tuple]) -> list[tuple]:
    """Write (label, data) items in a seeded random order, so labels do not follow the file order; the
    truth-file rows in that order."""
    rows = []
    for n, index in enumerate(rng.permutation(len(items))):
        label, data = items[index]
        name = name_of(n, label)
        (folder / name).write_bytes(data)
        rows.append(row_of(name, label))
    return rows


def generate_dataset(spec: ModelSpec, root: Path, *, sharing: Sequence[ModelSpec] = (), files: int = 6,
                     ad_windows: int = 4, per_class: int = 1, seed: int = 0, draws: int = 200,
                     search_steps: int = 3000, progress: Optional[Callable[[str], None]] = None) -> Path:
    """Write ``root/<dataset_folder>/`` with ``y_labels.csv`` and its files for one benchmark; returns the
    folder. ``sharing``: other benchmarks that read the same folder (ic02 reads ic01's): every file's
    label is then one that all of them give it with confidence, so the one folder scores Top-1 100 % for each.

    Anomaly detection (ad01): ``files`` files (half normal, at least 5 for performance mode) of
    ``ad_windows`` windows each (the official files have 196). Classifiers: ``per_class`` files per
    class, at least 5 in all."""
    bench = spec.benchmark
    folder = Path(root) / bench.dataset_folder
    folder.mkdir(parents=True, exist_ok=True)
    if bench.dataset_kind is DatasetKind.ANOMALY:
        if files < 5 or ad_windows < 1:
            raise GenerationError(f"{bench.benchmark_id} needs at least 5 files (performance mode uses the "
                                  "first 5) of 1+ windows")
        rows = generate_anomaly(spec, folder, files=files, windows_per_file=ad_windows, seed=seed)
    elif bench.dataset_kind is DatasetKind.CLASSES:
        others = [s for s in sharing if s.benchmark != bench]
        wrong = [s.benchmark_id for s in others if s.benchmark.dataset_folder != bench.dataset_folder]
        if wrong:
            raise GenerationError(f"{', '.join(wrong)} do not read {bench.dataset_folder}/ as {bench.benchmark_id} does")
        model_classes = _Model(spec).io.output_elements
        per_class = max(per_class, -(-5 // model_classes))     # performance mode uses the first 5 files
        rows = generate_classes([spec, *others], folder, per_class=per_class, seed=seed, draws=draws,
                                search_steps=search_steps, progress=progress)
    else:
        raise GenerationError(f"no dataset generator for {spec.name} ({spec.benchmark_id})",
                              hint="datasets are generated for " + ", ".join(b.key for b in SUBMITTABLE))
    _write_truth(folder, rows)
    return folder
