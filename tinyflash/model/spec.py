"""Which model a user means: an MLPerf Tiny benchmark name (``ad``, ``kws01``...) or a .tflite path.

Benchmark models are looked up in ``--model-dir`` directories, ``TINYFLASH_MODEL_DIR``, then the
``trained_models`` folders of mlcommons/tiny (``tinyflash deps --mlperf-tiny``); their
SHA-256 is checked against the MLPerf Tiny reference files so results say whether they came from the
reference model. The file is read once here: the spec carries its bytes to the golden (#15.3).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tinyflash.deps.mlperf_tiny import mlperf_tiny_model_dirs
from tinyflash.errors import ModelNotFoundError
from tinyflash.model.benchmarks import (ALL_BENCHMARKS, BENCHMARKS, USER_MODEL, Benchmark, benchmark_of_file,
                                        find_benchmark)

__all__ = ["BENCHMARKS", "MODEL_DIR_ENV", "Benchmark", "ModelSpec", "model_search_path", "resolve_model",
           "sha256_of"]

MODEL_DIR_ENV = "TINYFLASH_MODEL_DIR"
_GET_MODELS = ("run 'tinyflash deps --mlperf-tiny' (mlcommons/tiny brings the reference models; --mirror DIR "
               f"offline), or pass --model-dir DIR or set {MODEL_DIR_ENV} to a directory holding the MLPerf Tiny "
               "models (the benchmark/training/*/trained_models folders of mlcommons/tiny)")


@dataclass(frozen=True)
class ModelSpec:
    name: str                 # short name used in paths and reports: "ad", or the file stem
    path: Path
    benchmark: Benchmark      # what the model is benchmarked as (UserModel for a user model)
    sha256: str
    reference: bool           # the file is byte-identical to the MLPerf Tiny reference model
    data: bytes = field(default=b"", repr=False, compare=False)   # the file's bytes, read once

    @property
    def benchmark_id(self) -> str:
        """What the device reports in m-model-[...]; "custom" for a user model."""
        return self.benchmark.benchmark_id

    def model_bytes(self) -> bytes:
        return self.data or self.path.read_bytes()


def _benchmark_names() -> str:
    """The short names --model takes, in the benchmarks' order (ad, kws, vww, ic, ic2, sww)."""
    return ", ".join(b.key for b in ALL_BENCHMARKS)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read model {path}: {exc.strerror}") from None


def model_search_path(model_dirs: Sequence[Path | str] = (), environ: dict[str, str] | None = None) -> list[Path]:
    environ = dict(os.environ) if environ is None else environ
    dirs = [Path(d) for d in model_dirs]
    dirs += [Path(p) for p in environ.get(MODEL_DIR_ENV, "").split(os.pathsep) if p]
    # last: the reference models of the mlcommons/tiny checkout (TINYFLASH_MLPERF_TINY_DIR or the deps workspace)
    dirs += [d for d in mlperf_tiny_model_dirs(environ) if d not in dirs]
    return dirs


def resolve_model(name_or_path: str, model_dirs: Sequence[Path | str] = (),
                  environ: dict[str, str] | None = None) -> ModelSpec:
    candidate = Path(name_or_path)
    bench = find_benchmark(name_or_path)
    if candidate.is_dir() and (bench is None or candidate.suffix == ".tflite"):
        inside = sorted(p.name for p in candidate.glob("*.tflite"))
        files = f"one of its .tflite files ({', '.join(inside[:3])}{', ...' if len(inside) > 3 else ''})" \
            if inside else "a .tflite file"
        raise ModelNotFoundError(
            f"model {candidate} is a directory, not a .tflite file",
            hint=f"pass {files} as --model, or a benchmark name with the directory as --model-dir "
                 f"(--model ad --model-dir {candidate})")
    if candidate.suffix == ".tflite":
        if not candidate.is_file():
            raise ModelNotFoundError(f"model file {candidate} does not exist",
                                     hint=f"check the path, or pass a benchmark name ({_benchmark_names()})")
        data = _read(candidate)
        digest = hashlib.sha256(data).hexdigest()
        known = benchmark_of_file(digest)
        if known is not None:
            return ModelSpec(known.key, candidate, known, digest, True, data)
        return ModelSpec(candidate.stem, candidate, USER_MODEL, digest, False, data)

    if bench is None:
        raise ModelNotFoundError(f"unknown model '{name_or_path}'",
                                 hint=f"use one of {_benchmark_names()} (or their ids: "
                                      f"{', '.join(b.benchmark_id for b in ALL_BENCHMARKS)}), "
                                      "or a path to a .tflite file")
    dirs = model_search_path(model_dirs, environ)
    for directory in dirs:
        path = directory / bench.filename
        if path.is_file():
            data = _read(path)
            digest = hashlib.sha256(data).hexdigest()
            return ModelSpec(bench.key, path, bench, digest, digest == bench.sha256, data)
    if not dirs:
        raise ModelNotFoundError(f"{bench.filename} (model '{bench.key}') not found: no model directory is set",
                                 hint=_GET_MODELS)
    raise ModelNotFoundError(f"{bench.filename} (model '{bench.key}') not found in {', '.join(map(str, dirs))}",
                             hint=_GET_MODELS)
