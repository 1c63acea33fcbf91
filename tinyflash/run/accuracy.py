"""Accuracy mode, scored exactly as the official MLPerf Tiny runner scores it (spec §3.5-3.6, §6).

Dataset layout: ``<dataset>/<benchmark>/y_labels.csv`` (no header: file, classes, class[, bytes_to_send,
stride]) with the ``.bin`` files beside it. One ``infer 1 0`` per file, or per window for ad01.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from tinyflash.errors import TinyflashError
from tinyflash.model.benchmarks import Benchmark
from tinyflash.run.session import DeviceSession


class DatasetError(TinyflashError):
    pass


@dataclass(frozen=True)
class LabelRow:
    file: str
    classes: int
    label: int
    bytes_to_send: Optional[int] = None
    stride: Optional[int] = None


def read_labels(dataset: Path, benchmark: Benchmark) -> tuple[Path, list[LabelRow]]:
    folder = dataset / benchmark.dataset_folder
    truth = folder / "y_labels.csv"
    if not truth.is_file():
        raise DatasetError(f"{truth} not found",
                           hint=f"the dataset layout is DIR/{benchmark.dataset_folder}/y_labels.csv with the .bin "
                                "files beside it")
    rows = []
    with open(truth, newline="") as fh:
        for n, rec in enumerate(csv.reader(fh), 1):
            if not rec:
                continue
            try:
                rows.append(LabelRow(rec[0].strip(), int(rec[1]), int(rec[2]),
                                     int(rec[3]) if len(rec) > 3 and rec[3].strip() else None,
                                     int(rec[4]) if len(rec) > 4 and rec[4].strip() else None))
            except (IndexError, ValueError):
                raise DatasetError(f"{truth}:{n}: expected 'file,classes,class[,bytes,stride]', got {rec!r}") from None
    for row in rows:
        if not (folder / row.file).is_file():
            raise DatasetError(f"{truth}: {row.file} is listed but missing in {folder}")
    return folder, rows


def windows(data: bytes, row: LabelRow) -> list[bytes]:
    if row.bytes_to_send:
        stride = row.stride or row.bytes_to_send
        return [data[s:s + row.bytes_to_send] for s in range(0, len(data) - row.bytes_to_send + 1, stride)]
    return [data]


def auc_binary(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the rank statistic with average ranks for ties (equals sklearn's roc_auc_score)."""
    labels = labels.astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@dataclass(frozen=True)
class AccuracyScore:
    top1: float            # percent; for 1-column outputs the runner's (precision+recall)/2 figure
    auc: float
    files: int
    per_file: tuple[tuple[str, int, tuple[float, ...]], ...] = field(default=())   # (file, label, prediction)


def score(rows: Sequence[LabelRow], predictions: dict[str, list[list[float]]]) -> AccuracyScore:
    labels = np.array([r.label for r in rows])
    per_file = []
    preds = []
    for row in rows:
        vectors = []
        for v in predictions[row.file]:
            arr = np.asarray(v, dtype=np.float64)
            if arr.size > 1:
                total = arr.sum()
                arr = arr / total if total else arr    # the runner normalises each vector
            vectors.append(arr)
        mean = np.mean(vectors, axis=0)
        preds.append(mean)
        per_file.append((row.file, row.label, tuple(float(x) for x in mean)))
    matrix = np.vstack(preds)
    if matrix.shape[1] == 1:
        scores = matrix[:, 0]
        best = 0.0
        for threshold in np.linspace(scores.min(), scores.max(), 100):
            predicted = scores >= threshold
            tp = np.sum(predicted & (labels == 1))
            precision = tp / max(predicted.sum(), 1)
            recall = tp / max((labels == 1).sum(), 1)
            best = max(best, 100.0 * (precision + recall) / 2.0)
        return AccuracyScore(best, auc_binary(labels == 1, scores), len(rows), tuple(per_file))
    top1 = 100.0 * float(np.mean(np.argmax(matrix, axis=1) == labels))
    if matrix.shape[1] == 2:
        auc = auc_binary(labels == 1, matrix[:, 1])
    else:
        # sklearn (the runner) refuses ovr AUC unless every class is in the truth file; the official
        # datasets have them all. For smaller sets, classes without positives are left out.
        aucs = [auc_binary(labels == k, matrix[:, k]) for k in range(matrix.shape[1])]
        defined = [a for a in aucs if a == a]
        auc = float(np.mean(defined)) if defined else float("nan")
    return AccuracyScore(top1, auc, len(rows), tuple(per_file))


def run_accuracy(session: DeviceSession, dataset: Path, benchmark: Benchmark, *,
                 infer_timeout: Optional[float] = None,
                 progress: Optional[Callable[[str], None]] = None) -> tuple[AccuracyScore, list[dict]]:
    """Every file (every window for ad01) through 'infer 1 0'; returns the score and the runner-style
    per-inference records for results.json."""
    folder, rows = read_labels(dataset, benchmark)
    predictions: dict[str, list[list[float]]] = {}
    records = []
    for n, row in enumerate(rows, 1):
        if progress:
            progress(f"{n}/{len(rows)} {row.file}")
        data = (folder / row.file).read_bytes()
        parts = windows(data, row)
        for part in parts:
            session.load(part)
            response = session.infer(1, 0, timeout=infer_timeout)
            predictions.setdefault(row.file, []).append(list(response.results))
            records.append({"file": row.file, "classes": row.classes, "class": row.label,
                            "bytes_to_send": row.bytes_to_send, "stride": row.stride, "total_length": len(parts),
                            "mode": "accuracy",
                            "infer": {"start_time": response.start_us, "end_time": response.end_us,
                                      "elapsed_time": response.elapsed_us, "results": list(response.results),
                                      "total_inferences": 1, "iterations": 1, "warmups": 0}})
    return score(rows, predictions), records
