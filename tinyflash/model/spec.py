"""Which model a user means: an MLPerf Tiny benchmark name (``ad``, ``kws01``...) or a .tflite path.

Benchmark models are looked up in ``--model-dir`` directories and ``TINYFLASH_MODEL_DIR``; their
SHA-256 is checked against the MLPerf Tiny reference files so results say whether they came from the
reference model.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tinyflash.errors import ModelNotFoundError

MODEL_DIR_ENV = "TINYFLASH_MODEL_DIR"


@dataclass(frozen=True)
class Benchmark:
    benchmark_id: str       # what the device reports in m-model-[...]
    filename: str           # file name in mlcommons/tiny
    sha256: str
    description: str


# mlcommons/tiny at 1afd2c9820f795965a6134facd0b4dfae41ef23f (see shared mlperf_tiny/README.md).
BENCHMARKS: dict[str, Benchmark] = {
    "ad": Benchmark("ad01", "ad01_int8.tflite",
                    "87cf24194ef93d1d9b11a591d805526b98008e351655d29883c825c9c106ba24",
                    "anomaly detection, FC autoencoder (ToyADMOS)"),
    "kws": Benchmark("kws01", "kws_ref_model.tflite",
                     "aeea436800704fce17b17292e4412630ad856e9d777c044c64ef748a880bd0ae",
                     "keyword spotting, DS-CNN (Speech Commands)"),
    "vww": Benchmark("vww01", "vww_96_int8.tflite",
                     "597a384c8c2c8a1276f04702f25013b7838f2f814f1ca7c174d295b73e3d6b7b",
                     "visual wake words, MobileNetV1 0.25 96x96"),
    "ic": Benchmark("ic01", "pretrainedResnet_quant.tflite",
                    "3c002613d1b2475eb51dd78dfb85a546c8ae658dee71cf6ade43b022fe205415",
                    "image classification, ResNet-8 (CIFAR-10)"),
    "sww": Benchmark("sww01", "str_ww_ref_model.tflite",
                     "3af8550895ba7d5c584277102b5075c52dcfa63ba9d2b2240f37c4e6abd5dd2b",
                     "streaming wake word"),
}
_ALIASES = {b.benchmark_id: key for key, b in BENCHMARKS.items()}


@dataclass(frozen=True)
class ModelSpec:
    name: str                 # short name used in paths and reports: "ad", or the file stem
    path: Path
    benchmark_id: str         # "ad01", "kws01", ...; "custom" for a user model
    sha256: str
    reference: bool           # the file is byte-identical to the MLPerf Tiny reference model

    @property
    def kind(self) -> str:
        """How inputs are uploaded and results printed (the spec's §5.3)."""
        return self.benchmark_id if self.benchmark_id in ("ad01", "kws01", "vww01", "ic01") else "generic"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_search_path(model_dirs: Sequence[Path | str] = (), environ: dict[str, str] | None = None) -> list[Path]:
    environ = dict(os.environ) if environ is None else environ
    dirs = [Path(d) for d in model_dirs]
    dirs += [Path(p) for p in environ.get(MODEL_DIR_ENV, "").split(os.pathsep) if p]
    return dirs


def resolve_model(name_or_path: str, model_dirs: Sequence[Path | str] = (),
                  environ: dict[str, str] | None = None) -> ModelSpec:
    candidate = Path(name_or_path)
    if candidate.suffix == ".tflite":
        if not candidate.is_file():
            raise ModelNotFoundError(f"model file {candidate} does not exist")
        digest = sha256_of(candidate)
        for key, bench in BENCHMARKS.items():
            if digest == bench.sha256:
                return ModelSpec(key, candidate, bench.benchmark_id, digest, True)
        return ModelSpec(candidate.stem, candidate, "custom", digest, False)

    key = _ALIASES.get(name_or_path.lower(), name_or_path.lower())
    if key not in BENCHMARKS:
        known = ", ".join(sorted(BENCHMARKS))
        raise ModelNotFoundError(f"unknown model '{name_or_path}'",
                                 hint=f"use one of {known} (or kws01, vww01...), or a path to a .tflite file")
    bench = BENCHMARKS[key]
    dirs = model_search_path(model_dirs, environ)
    for directory in dirs:
        path = directory / bench.filename
        if path.is_file():
            digest = sha256_of(path)
            return ModelSpec(key, path, bench.benchmark_id, digest, digest == bench.sha256)
    searched = ", ".join(str(d) for d in dirs) or "no directory"
    raise ModelNotFoundError(
        f"{bench.filename} (model '{key}') not found in {searched}",
        hint=f"pass --model-dir DIR or set {MODEL_DIR_ENV} to a directory holding the MLPerf Tiny models "
             "(benchmark/training/*/trained_models in mlcommons/tiny)")
