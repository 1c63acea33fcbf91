"""The dataset generator and checker of tinyflash submit (#12.4): the runner's layout, labels from the
host golden, Top-1 100 % / AUC 1.0 by construction, and errors that name what is missing."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tinyflash.run.accuracy import DatasetError, read_labels, score, windows
from tinyflash.model.benchmarks import (SUBMITTABLE, AnomalyDetection, DatasetKind,
                                        KeywordSpotting, LargeImageClassification, StreamingWakeWord,
                                        VisualWakeWords)
from tinyflash.submit.datasets import AD_SCORE_GAP, GenerationError, check_datasets, generate_dataset

RUNNER_FIELDS = ["file", "classes", "class", "bytes_to_send", "stride"]   # benchmark/runner/datasets.py


@pytest.fixture(scope="module")
def ad_dataset(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    from tinyflash.model import resolve_model

    root = tmp_path_factory.mktemp("datasets")
    generate_dataset(resolve_model("ad", [model_dir]), root, files=6, ad_windows=4, seed=3)
    return root


def _golden_predictions(model_dir: Path, name: str, folder: Path, rows) -> dict[str, list[list[float]]]:
    """What a bit-exact device prints, as the runner parses it (%.3f values)."""
    from tinyflash.model import read_graph, resolve_model
    from tinyflash.model.benchmarks import ModelIO
    from tinyflash.run.golden import Golden, device_input, expected_results

    spec = resolve_model(name, [model_dir])
    io, golden = ModelIO.of(spec.benchmark, read_graph(spec.path)), Golden(spec.path)
    predictions: dict[str, list[list[float]]] = {}
    for row in rows:
        for part in windows((folder / row.file).read_bytes(), row):
            values = expected_results(io, part, golden.run(device_input(io, part)))
            predictions.setdefault(row.file, []).append([round(v, 3) for v in values])
    return predictions


def test_ad_dataset_has_the_runners_layout(ad_dataset: Path) -> None:
    folder = ad_dataset / "ad01"
    text = (folder / "y_labels.csv").read_text()
    assert text.endswith("\n") and "\r" not in text and not text.startswith("file")    # no header, LF
    with open(folder / "y_labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh, fieldnames=RUNNER_FIELDS))    # exactly as the runner reads it
    assert len(rows) == 6
    assert {r["class"] for r in rows} == {"0", "1"}
    for r in rows:
        assert (r["classes"], r["bytes_to_send"], r["stride"]) == ("2", "2560", "512")
        assert (folder / r["file"]).stat().st_size == 2560 + 3 * 512     # 4 windows of float32
    assert len({r["file"] for r in rows}) == 6                           # the runner merges duplicates


def test_ad_dataset_scores_auc_one_on_the_golden(ad_dataset: Path, model_dir: Path) -> None:
    folder, rows = read_labels(ad_dataset, AnomalyDetection())
    predictions = _golden_predictions(model_dir, "ad", folder, rows)
    assert score(rows, predictions).auc == 1.0
    means = {r.file: float(np.mean(predictions[r.file])) for r in rows}
    normal = max(means[r.file] for r in rows if r.label == 0)
    anomalous = min(means[r.file] for r in rows if r.label == 1)
    assert anomalous - normal >= AD_SCORE_GAP


def test_generation_is_deterministic(ad_dataset: Path, model_dir: Path, tmp_path: Path) -> None:
    from tinyflash.model import resolve_model

    generate_dataset(resolve_model("ad", [model_dir]), tmp_path, files=6, ad_windows=4, seed=3)
    assert (tmp_path / "ad01" / "y_labels.csv").read_text() == (ad_dataset / "ad01" / "y_labels.csv").read_text()
    for line in (tmp_path / "ad01" / "y_labels.csv").read_text().splitlines():
        name = line.split(",")[0]
        assert (tmp_path / "ad01" / name).read_bytes() == (ad_dataset / "ad01" / name).read_bytes()


def test_vww_dataset_has_both_classes_and_top1_100(model_dir: Path, tmp_path: Path) -> None:
    from tinyflash.model import resolve_model

    # random images are all "no person": class 1 comes from the seeded search
    generate_dataset(resolve_model("vww", [model_dir]), tmp_path, seed=1)
    folder, rows = read_labels(tmp_path, VisualWakeWords())
    assert {r.label for r in rows} == {0, 1}
    assert len(rows) >= 5                                  # performance mode uses the first 5 files
    assert all(r.classes == 2 and r.bytes_to_send is None for r in rows)
    assert all((folder / r.file).stat().st_size == 96 * 96 * 3 for r in rows)
    result = score(rows, _golden_predictions(model_dir, "vww", folder, rows))
    assert (result.top1, result.auc) == (100.0, 1.0)


def test_kws_dataset_has_every_class_and_top1_100(model_dir: Path, tmp_path: Path) -> None:
    from tinyflash.model import resolve_model

    # random MFCC frames are nearly all one class; "silence" needs one level everywhere
    generate_dataset(resolve_model("kws", [model_dir]), tmp_path, seed=0)
    folder, rows = read_labels(tmp_path, KeywordSpotting())
    assert {r.label for r in rows} == set(range(12))      # sklearn's ovr AUC needs every class
    assert all(r.classes == 12 and (folder / r.file).stat().st_size == 490 for r in rows)
    result = score(rows, _golden_predictions(model_dir, "kws", folder, rows))
    assert (result.top1, result.auc) == (100.0, 1.0)


def test_ic02_reads_the_ic01_folder() -> None:
    assert LargeImageClassification().dataset_folder == "ic01"
    assert VisualWakeWords().dataset_folder == "vww01"


def test_the_benchmarks_say_how_their_datasets_are_made() -> None:
    # the five the official checker knows, in its folder names; sww's dataset is a stream, not generated here
    assert [b.submission_name for b in SUBMITTABLE] == ["ad", "ic", "ic2", "kws", "vww"]
    assert [b.benchmark_id for b in SUBMITTABLE] == ["ad01", "ic01", "ic02", "kws01", "vww01"]
    assert AnomalyDetection().dataset_kind is DatasetKind.ANOMALY
    assert AnomalyDetection().dataset_window == (2560, 512)
    assert {b.dataset_kind for b in SUBMITTABLE if b != AnomalyDetection()} == {DatasetKind.CLASSES}
    assert all(b.dataset_window is None for b in SUBMITTABLE if b != AnomalyDetection())
    assert not StreamingWakeWord().submittable and StreamingWakeWord().dataset_kind is None


def test_no_generator_for_a_benchmark_without_a_dataset_kind(model_dir: Path, tmp_path: Path) -> None:
    from tinyflash.model import resolve_model

    with pytest.raises(GenerationError, match="no dataset generator for sww"):
        generate_dataset(resolve_model("sww", [model_dir]), tmp_path)


def test_missing_datasets_are_named_together(ad_dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "ad01").mkdir()
    (tmp_path / "ad01" / "y_labels.csv").write_text("a.bin,2,0,2560,512\n")
    with pytest.raises(DatasetError) as info:
        check_datasets(tmp_path, [AnomalyDetection(), KeywordSpotting(), LargeImageClassification()])
    message = str(info.value)
    assert "a.bin is listed but missing" in message
    assert "kws01/y_labels.csv not found" in message and "ic01/y_labels.csv not found" in message
    assert "hint:" in message and "ic01 (also for ic02)" in message


def test_ad_rows_need_window_and_stride(tmp_path: Path) -> None:
    (tmp_path / "ad01").mkdir()
    (tmp_path / "ad01" / "a.bin").write_bytes(bytes(2560))
    (tmp_path / "ad01" / "y_labels.csv").write_text("a.bin,2,0\n")
    with pytest.raises(DatasetError, match="bytes_to_send,stride"):
        check_datasets(tmp_path, [AnomalyDetection()])


def test_ad_files_must_have_one_window_count(tmp_path: Path) -> None:
    # the runner sizes its accuracy loop from the first file's window count
    (tmp_path / "ad01").mkdir()
    (tmp_path / "ad01" / "a.bin").write_bytes(bytes(2560))
    (tmp_path / "ad01" / "b.bin").write_bytes(bytes(3072))
    (tmp_path / "ad01" / "y_labels.csv").write_text("a.bin,2,0,2560,512\nb.bin,2,1,2560,512\n")
    with pytest.raises(DatasetError, match=r"different window counts \[1, 2\]"):
        check_datasets(tmp_path, [AnomalyDetection()])


def test_a_datasets_dir_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such directory"):
        check_datasets(tmp_path / "nope", [AnomalyDetection()])
