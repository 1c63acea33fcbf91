"""Verification inputs: deterministic generated ones, and the sample files shipped with the models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from tinyflash.model.benchmarks import ModelIO, Sample

__all__ = ["SAMPLE_DIR_ENV", "Sample", "file_samples", "generated_inputs", "sample_dirs"]

SAMPLE_DIR_ENV = "TINYFLASH_SAMPLE_DIR"


def generated_inputs(io: ModelIO, count: int, seed: int = 0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        samples.append(Sample(f"generated-{seed}-{i}", io.benchmark.generated_upload(io, rng)))
    return samples


def sample_dirs(model_path: Path, extra: Sequence[Path] = (), environ: Optional[dict[str, str]] = None) -> list[Path]:
    environ = dict(os.environ) if environ is None else environ
    dirs = [Path(d) for d in extra]
    dirs += [Path(p) for p in environ.get(SAMPLE_DIR_ENV, "").split(os.pathsep) if p]
    dirs.append(model_path.resolve().parent.parent / "samples")   # the mlcommons layout: models/ + samples/
    return [d for d in dirs if d.is_dir()]


def file_samples(io: ModelIO, dirs: Sequence[Path], windows: int = 2) -> list[Sample]:
    """The benchmark's sample files (<benchmark>*.bin; ad01: windows of a log-mel file)."""
    return io.benchmark.file_samples(io, dirs, windows)
