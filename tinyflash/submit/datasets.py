"""Datasets in the official runner's layout (spec §6), checked before a run and generated for tests.

Layout: ``DIR/<folder>/y_labels.csv`` (no header; ``file,classes,class`` and for ad01 also
``bytes_to_send,stride``) with every listed file beside it. The folder is the runner's for the model
(``ic02`` reads ``ic01``, :func:`tinyflash.run.accuracy.read_labels`).

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
from tinyflash.model.spec import ModelSpec
from tinyflash.run.accuracy import DatasetError, LabelRow, read_labels, windows
from tinyflash.run.inputs import AD_STRIDE_BYTES, AD_WINDOW_BYTES

TRUTH_FILE = "y_labels.csv"
PRINTED_DECIMALS = 3          # th_results prints "%.3f"
CONFIDENCE_MARGIN = 0.02      # normalised label score must exceed 0.5 by this much
SEARCH_RESTARTS = 2           # fresh random starts after the first search for a class gets stuck
AD_SCORE_GAP = 0.01           # normal and anomalous mean scores stay this far apart (> the rounding)


def dataset_folder(benchmark_id: str) -> str:
    """The runner's dataset folder for a model: ``ic02`` runs on ``ic01`` (tests_*.yaml ``model:``)."""
    return "ic01" if benchmark_id == "ic02" else benchmark_id


@dataclass(frozen=True)
class CheckedDataset:
    benchmark_id: str
    folder: Path
    rows: tuple[LabelRow, ...]


def check_datasets(root: Path, benchmark_ids: Sequence[str]) -> dict[str, CheckedDataset]:
    """Every benchmark's folder, truth file and listed files, or one error naming all that is missing."""
    problems: list[str] = []
    found: dict[str, CheckedDataset] = {}
    if not Path(root).is_dir():
        raise DatasetError(f"--datasets {root}: no such directory",
                           hint="give a directory laid out as the runner reads it: "
                                + ", ".join(f"{dataset_folder(b)}/{TRUTH_FILE}" for b in benchmark_ids))
    for benchmark_id in benchmark_ids:
        try:
            folder, rows = read_labels(Path(root), benchmark_id)
        except DatasetError as exc:
            problems.append(f"{benchmark_id}: {exc.message}")
            continue
        if not rows:
            problems.append(f"{benchmark_id}: {folder / TRUTH_FILE} lists no file")
            continue
        if benchmark_id == "ad01":
            bad = [r.file for r in rows if not r.bytes_to_send or not r.stride]
            if bad:
                problems.append(f"ad01: {folder / TRUTH_FILE}: rows without bytes_to_send,stride "
                                f"(e.g. {bad[0]}); ad01 rows read file,2,class,2560,512")
                continue
            counts = {len(windows((folder / r.file).read_bytes(), r)) for r in rows}
            if len(counts) != 1:
                # the runner sizes its loop from the first file's window count (spec §3.4)
                problems.append(f"ad01: files have different window counts {sorted(counts)}; "
                                "the runner needs them all the same size")
                continue
        found[benchmark_id] = CheckedDataset(benchmark_id, folder, tuple(rows))
    if problems:
        raise DatasetError("the datasets are incomplete:\n    " + "\n    ".join(problems),
                           hint=f"DIR/<model>/{TRUTH_FILE} with every listed file beside it "
                                "(ad01, ic01 (also for ic02), kws01, vww01); the official sets are described in "
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
        from tinyflash.generate.project import ModelIO
        from tinyflash.model import read_graph
        from tinyflash.run.golden import Golden, device_input, expected_results

        graph = read_graph(spec.path)
        self.io = ModelIO.of(spec, graph)
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


def generate_ad(spec: ModelSpec, folder: Path, *, files: int, windows_per_file: int, seed: int) -> list[tuple]:
    model = _Model(spec)
    io = model.io
    rng = np.random.default_rng(seed)
    floats_per_window = AD_WINDOW_BYTES // 4
    length = floats_per_window + (windows_per_file - 1) * (AD_STRIDE_BYTES // 4)
    lo = (-128 - io.input_zero_point) * io.input_scale
    hi = (127 - io.input_zero_point) * io.input_scale
    candidates = []
    for _ in range(2 * files):
        # a random level and spread per file, so mean scores spread out and the two halves separate
        centre = rng.uniform(lo, hi)
        spread = rng.uniform(0.05, 1.0) * (hi - lo) / 2
        data = np.clip(rng.normal(centre, spread, length), lo, hi).astype("<f4").tobytes()
        row = LabelRow("x", 2, 0, AD_WINDOW_BYTES, AD_STRIDE_BYTES)
        score = float(np.mean([model.scores(w)[0] for w in windows(data, row)]))
        candidates.append((score, data))
    candidates.sort(key=lambda c: c[0])
    normal_count = files // 2
    normal = candidates[:normal_count]
    anomalous = candidates[-(files - normal_count):]
    if anomalous[0][0] - normal[-1][0] < AD_SCORE_GAP:
        raise GenerationError(f"ad01: generated scores do not separate (gap {anomalous[0][0] - normal[-1][0]:.4f})",
                              hint="try another seed")
    labelled = [(0, d) for _, d in normal] + [(1, d) for _, d in anomalous]
    order = rng.permutation(len(labelled))
    rows = []
    for n, index in enumerate(order):
        label, data = labelled[index]
        name = f"{'anomaly' if label else 'normal'}_id_00_{n:08d}_tinyflash.bin"
        (folder / name).write_bytes(data)
        rows.append((name, 2, label, AD_WINDOW_BYTES, AD_STRIDE_BYTES))
    return rows


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


def _objective(model: _Model, x: np.ndarray, k: int) -> float:
    return float(_objectives(model, x)[k])


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


def _climb(model: _Model, rng: np.random.Generator, x: np.ndarray, k: int, steps: int) -> Optional[np.ndarray]:
    objective = _objective(model, x, k)
    for _ in range(steps):
        trial = _mutate(rng, x)
        value = _objective(model, trial, k)
        if value >= objective:
            x, objective = trial, value
            if _confident_class(model.scores(trial.tobytes())) == k:
                return x
    return None


def generate_classes(spec: ModelSpec, folder: Path, *, per_class: int, seed: int, draws: int,
                     search_steps: int, progress: Optional[Callable[[str], None]] = None) -> list[tuple]:
    model = _Model(spec)
    io = model.io
    classes = io.output_elements
    rng = np.random.default_rng(seed)
    found: dict[int, list[bytes]] = {k: [] for k in range(classes)}
    best: dict[int, tuple[float, np.ndarray]] = {}
    for _ in range(draws):
        x = _random_input(rng, io.upload_bytes, model.channels)
        scores = model.scores(x.tobytes())
        label = _confident_class(scores)
        if label is not None and len(found[label]) < per_class:
            found[label].append(x.tobytes())
        for k, value in enumerate(_objectives(model, x)):
            if k not in best or value > best[k][0]:
                best[k] = (float(value), x)
        if all(len(v) >= per_class for v in found.values()):
            break
    for k in range(classes):
        # a seeded random search (hill climbing on class k's log-probability) from the most promising
        # input seen so far, restarted from a fresh random input when it gets stuck
        while len(found[k]) < per_class:
            if progress:
                progress(f"{spec.benchmark_id}: searching an input for class {k}")
            starts = [best[k][1]] + [np.frombuffer(d, dtype=np.uint8) for v in found.values() for d in v]
            x = max(starts, key=lambda candidate: _objective(model, candidate, k)).copy()
            for attempt in range(SEARCH_RESTARTS + 1):
                if attempt:
                    x = _random_input(rng, io.upload_bytes, model.channels)
                hit = _climb(model, rng, x, k, search_steps)
                if hit is not None:
                    break
            else:
                raise GenerationError(f"{spec.benchmark_id}: no confident input found for class {k} in "
                                      f"{SEARCH_RESTARTS + 1} searches of {search_steps} steps",
                                      hint="raise search_steps or try another seed")
            found[k].append(hit.tobytes())
            best[k] = (0.0, hit)
    items = [(k, data) for k in range(classes) for data in found[k]]
    order = rng.permutation(len(items))
    rows = []
    for n, index in enumerate(order):
        label, data = items[index]
        name = f"tinyflash_{n:05d}_{label}.bin"
        (folder / name).write_bytes(data)
        rows.append((name, classes, label))
    return rows


def generate_dataset(spec: ModelSpec, root: Path, *, files: int = 6, ad_windows: int = 4, per_class: int = 1,
                     seed: int = 0, draws: int = 200, search_steps: int = 3000,
                     progress: Optional[Callable[[str], None]] = None) -> Path:
    """Write ``root/<folder>/`` with ``y_labels.csv`` and its files for one benchmark; returns the folder.

    ad01: ``files`` files (half normal, at least 5 for performance mode) of ``ad_windows`` windows each
    (the official files have 196). Classifiers: ``per_class`` files per class, at least 5 in all."""
    folder = Path(root) / dataset_folder(spec.benchmark_id)
    folder.mkdir(parents=True, exist_ok=True)
    if spec.benchmark_id == "ad01":
        if files < 5 or ad_windows < 1:
            raise GenerationError("ad01 needs at least 5 files (performance mode uses the first 5) of 1+ windows")
        rows = generate_ad(spec, folder, files=files, windows_per_file=ad_windows, seed=seed)
    elif spec.kind in ("ic01", "kws01", "vww01"):
        model_classes = _Model(spec).io.output_elements
        per_class = max(per_class, -(-5 // model_classes))     # performance mode uses the first 5 files
        rows = generate_classes(spec, folder, per_class=per_class, seed=seed, draws=draws,
                                search_steps=search_steps, progress=progress)
    else:
        raise GenerationError(f"no dataset generator for {spec.name} ({spec.benchmark_id})",
                              hint="datasets exist for ad, ic, kws and vww")
    _write_truth(folder, rows)
    return folder
