"""Scoring as the official runner does it: AUC equals the rank statistic sklearn computes."""

from __future__ import annotations

import numpy as np
import pytest

from tinyflash.run.accuracy import LabelRow, auc_binary, score, windows


def test_auc_binary_known_values() -> None:
    assert auc_binary(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert auc_binary(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)   # ties count half


def test_top1_and_ovr_auc() -> None:
    rows = [LabelRow(f"f{i}", 3, i % 3) for i in range(6)]
    preds = {f"f{i}": [[1.0 if k == i % 3 else 0.0 for k in range(3)]] for i in range(6)}
    preds["f5"] = [[2.0, 0.0, 0.0]]        # wrong, and not normalised: the runner normalises
    result = score(rows, preds)
    assert result.top1 == pytest.approx(100 * 5 / 6)
    # per class (ovr, ties count half): 7/8, 1, 6/8
    assert result.auc == pytest.approx((0.875 + 1.0 + 0.75) / 3)
    assert result.per_file[5][2] == pytest.approx((1.0, 0.0, 0.0))


def test_ad_windows() -> None:
    data = bytes(102_400)
    assert len(windows(data, LabelRow("x.bin", 2, 0, 2560, 512))) == 196   # spec §5.3
