"""What a benchmark is, in one place (#15.1): one class per MLPerf Tiny benchmark, one for user models.

A benchmark owns its identity (id, aliases, reference file and SHA-256), how the host uploads an input
and how the device converts it (spec §5.3), the RAM that conversion needs, the verification tolerance,
the host-side twin of the device conversion (golden input, expected ``m-results``), its sample files,
its accuracy dataset folder and the template fragment that holds the device side. Nothing else tests
benchmark ids as strings: a new benchmark is one class here plus, if its device code differs, one
fragment under ``templates/benchmark/io/``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Optional, Sequence

import numpy as np

from tinyflash.model.graph import DTYPE_SIZES, Graph

# What the benchmark firmware can upload into a model input and print of a model output (th_load_tensor,
# th_results of templates/benchmark/model_io.c.j2): every runtime accepts models with these edges.
INPUT_TYPES = ("int8", "int16", "float32")
OUTPUT_TYPES = ("int8", "int16", "int32", "float32")


@dataclass(frozen=True)
class Sample:
    """One verification input: what the host uploads with ``db load``."""

    label: str
    upload: bytes


@dataclass(frozen=True)
class ModelIO:
    """How the host uploads an input and how the device converts it, for one model (spec §5.3)."""

    benchmark: "Benchmark"
    upload_bytes: int
    input_elements: int
    output_elements: int
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    input_dtype: str = "int8"
    output_dtype: str = "int8"
    # a float32 input's generated values: what the QUANTIZE that consumes it can represent
    input_range: tuple[float, float] = (-1.0, 1.0)

    @classmethod
    def of(cls, benchmark: "Benchmark", graph: Graph) -> "ModelIO":
        inp, out = graph.input, graph.output
        iq, oq = inp.quantization, out.quantization
        return cls(benchmark, benchmark.upload_bytes(graph), inp.elements, out.elements, iq.scale if iq else 1.0,
                   iq.zero_point if iq else 0, oq.scale if oq else 1.0, oq.zero_point if oq else 0,
                   inp.dtype, out.dtype, float_input_range(graph))

    @property
    def output_bytes(self) -> int:
        return self.output_elements * DTYPE_SIZES[self.output_dtype]


def float_input_range(graph: Graph) -> tuple[float, float]:
    """The values a float32 model input sensibly takes: the range its QUANTIZE can represent, else [-1, 1]."""
    for op in graph.operators:
        if op.opcode == "QUANTIZE" and op.inputs and op.inputs[0] == graph.inputs[0]:
            out = graph.tensors[op.outputs[0]]
            if out.quantization is not None and out.dtype in ("int8", "int16"):
                top = 127 if out.dtype == "int8" else 32767
                q = out.quantization
                return (-top - 1 - q.zero_point) * q.scale, (top - q.zero_point) * q.scale
    return -1.0, 1.0


class DatasetKind(enum.Enum):
    """How a benchmark's accuracy dataset is laid out and scored by the official runner (spec §3.6, §6)."""

    CLASSES = "classes"          # one input per file, labelled with its class, scored Top-1 (and AUC)
    ANOMALY = "anomaly"          # files cut into windows, labelled normal (0) or anomalous (1), scored AUC


class Benchmark:
    """What a model is benchmarked as. The defaults are a user model's: the raw bytes of the int8 input
    tensor in, dequantised outputs out, exact agreement with the golden, no sample files."""

    key: ClassVar[str] = ""               # the short name: --model ad, results' "model", paths
    benchmark_id: ClassVar[str] = "custom"   # what the device reports in m-model-[...]
    aliases: ClassVar[tuple[str, ...]] = ()
    filename: ClassVar[str] = ""          # file name in mlcommons/tiny
    sha256: ClassVar[str] = ""
    description: ClassVar[str] = "user model"
    device_template: ClassVar[str] = "benchmark/io/generic.c.j2"   # extends benchmark/model_io.c.j2
    tolerance: ClassVar[int] = 0          # quantised steps the device may differ from the golden
    reads_sample_files: ClassVar[bool] = False     # verification adds files named <data_id>*.bin
    # the official runner and submission checker know it: `tinyflash submit` takes it (#12)
    submittable: ClassVar[bool] = False
    dataset_kind: ClassVar[Optional[DatasetKind]] = None   # None: no accuracy dataset is generated for it

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    @property
    def names(self) -> tuple[str, ...]:
        """Every name ``--model`` accepts for this benchmark."""
        return (self.key, self.benchmark_id, *self.aliases)

    @property
    def data_id(self) -> str:
        """The id naming this benchmark's data: sample files ``<data_id>*.bin`` and the accuracy dataset
        folder. A variant that runs with another benchmark's data (ic02 with ic01's) overrides it."""
        return self.benchmark_id

    @property
    def dataset_folder(self) -> str:
        """The folder of this benchmark's accuracy dataset: ``DATASET/<folder>/y_labels.csv``."""
        return self.data_id

    @property
    def submission_name(self) -> str:
        """The model folder of a submission tree, as the submission checker names it (``ic2``)."""
        return self.key

    @property
    def dataset_window(self) -> Optional[tuple[int, int]]:
        """``(bytes_to_send, stride)`` of this benchmark's ``y_labels.csv`` rows when a file is cut into
        windows, else None (one file, one input)."""
        return None

    def io(self, graph: Graph) -> ModelIO:
        return ModelIO.of(self, graph)

    def upload_bytes(self, graph: Graph) -> int:
        return graph.input.size_bytes

    def extra_ram_bytes(self, io: ModelIO) -> int:
        """RAM the device conversion needs besides the upload buffer."""
        return 0

    # -- the host twin of th_load_tensor and th_results ------------------------------------------------
    def device_input(self, io: ModelIO, upload: bytes) -> np.ndarray:
        """The model input the firmware computes from the uploaded bytes (of the input tensor's type)."""
        return np.frombuffer(upload, dtype=np.dtype(io.input_dtype).newbyteorder("<")).astype(io.input_dtype)

    def expected_results(self, io: ModelIO, upload: bytes, output: np.ndarray) -> list[float]:
        """What th_results prints for this output (before %.3f formatting): quantised outputs
        dequantised in float32, float32 outputs as they are, int32 (ARG_MAX) as numbers."""
        shown = output[:64]
        if io.output_dtype in ("int8", "int16"):
            values = (shown.astype(np.int32) - io.output_zero_point).astype(np.float32) * np.float32(io.output_scale)
            return [float(v) for v in values]
        return [float(v) for v in shown.astype(np.float32)]

    # -- verification inputs ---------------------------------------------------------------------------
    def generated_upload(self, io: ModelIO, rng: np.random.Generator) -> bytes:
        if io.input_dtype == "float32":       # random bytes would be NaNs and 1e38s
            lo, hi = io.input_range
            return rng.uniform(lo, hi, io.input_elements).astype("<f4").tobytes()
        return rng.integers(0, 256, io.upload_bytes, dtype=np.uint8).tobytes()

    def file_samples(self, io: ModelIO, dirs: Sequence[Path], windows: int = 2) -> list[Sample]:
        """Sample files named ``<data_id>*.bin`` of exactly one upload."""
        if not self.reads_sample_files:
            return []
        samples: list[Sample] = []
        for directory in dirs:
            for path in sorted(directory.glob(f"{self.data_id}*.bin")):
                samples += self.samples_of_file(io, path.name, path.read_bytes(), windows)
        return samples

    def samples_of_file(self, io: ModelIO, name: str, data: bytes, windows: int) -> list[Sample]:
        return [Sample(name, data)] if len(data) == io.upload_bytes else []


class UserModel(Benchmark):
    """Any .tflite that is not an MLPerf Tiny reference model."""


class MlperfBenchmark(Benchmark):
    """A benchmark of MLPerf Tiny: its reference file, and sample files named after its id."""

    reads_sample_files = True
    submittable = True
    dataset_kind = DatasetKind.CLASSES


# mlcommons/tiny at 1afd2c9820f795965a6134facd0b4dfae41ef23f (see shared mlperf_tiny/README.md).
class AnomalyDetection(MlperfBenchmark):
    key = "ad"
    benchmark_id = "ad01"
    filename = "ad01_int8.tflite"
    sha256 = "87cf24194ef93d1d9b11a591d805526b98008e351655d29883c825c9c106ba24"
    description = "anomaly detection, FC autoencoder (ToyADMOS)"
    device_template = "benchmark/io/ad01.c.j2"
    # TFLite's reference kernels themselves differ by 1 step across builds (spec §5.2)
    tolerance = 1
    window_bytes: ClassVar[int] = 2560     # 5 frames x 128 float32 (spec §5.3)
    stride_bytes: ClassVar[int] = 512
    dataset_kind = DatasetKind.ANOMALY

    @property
    def dataset_window(self) -> Optional[tuple[int, int]]:
        return self.window_bytes, self.stride_bytes

    def upload_bytes(self, graph: Graph) -> int:
        return graph.input.elements * 4      # the host sends float32 log-mel values

    def extra_ram_bytes(self, io: ModelIO) -> int:
        return io.input_elements * 4         # input_values[]: th_results needs the float input again

    def device_input(self, io: ModelIO, upload: bytes) -> np.ndarray:
        x = np.frombuffer(upload, dtype="<f4").astype(np.float32)
        q = x / np.float32(io.input_scale)                       # float32 division, as the device
        q = np.nan_to_num(q, nan=0.0)
        q = np.clip(q, np.float32(-512), np.float32(512)).astype(np.float64)
        rounded = np.where(q >= 0, np.floor(q + 0.5), np.ceil(q - 0.5))   # roundf: halves away from zero
        return np.clip(rounded + io.input_zero_point, -128, 127).astype(np.int8)

    def expected_results(self, io: ModelIO, upload: bytes, output: np.ndarray) -> list[float]:
        out = output.astype(np.int32)
        x = np.frombuffer(upload, dtype="<f4")
        total = np.float32(0.0)
        scale = np.float32(io.output_scale)
        for q, xv in zip(out, x):           # sequential float32 sum, as the device computes it
            d = np.float32(np.float32(q - io.output_zero_point) * scale) - xv
            total = np.float32(total + d * d)
        return [float(total / np.float32(io.output_elements))]

    def generated_upload(self, io: ModelIO, rng: np.random.Generator) -> bytes:
        # log-mel values over the range the input quantisation can represent
        lo = (-128 - io.input_zero_point) * io.input_scale
        hi = (127 - io.input_zero_point) * io.input_scale
        return rng.uniform(lo, hi, io.input_elements).astype("<f4").tobytes()

    def samples_of_file(self, io: ModelIO, name: str, data: bytes, windows: int) -> list[Sample]:
        # a 102,400-byte log-mel file: the first windows and the last one
        starts = list(range(0, len(data) - self.window_bytes + 1, self.stride_bytes))
        picked = starts[:windows] + starts[-1:]
        return [Sample(f"{name}@{s}", data[s:s + self.window_bytes]) for s in picked]


class KeywordSpotting(MlperfBenchmark):
    key = "kws"
    benchmark_id = "kws01"
    filename = "kws_ref_model.tflite"
    sha256 = "aeea436800704fce17b17292e4412630ad856e9d777c044c64ef748a880bd0ae"
    description = "keyword spotting, DS-CNN (Speech Commands)"
    device_template = "benchmark/io/kws01.c.j2"


class RgbImageBenchmark(MlperfBenchmark):
    """uint8 RGB pixels uploaded; the device subtracts 128 to get the int8 model input."""

    device_template = "benchmark/io/rgb_image.c.j2"

    def device_input(self, io: ModelIO, upload: bytes) -> np.ndarray:
        return (np.frombuffer(upload, dtype=np.uint8) ^ 0x80).view(np.int8)


class VisualWakeWords(RgbImageBenchmark):
    key = "vww"
    benchmark_id = "vww01"
    filename = "vww_96_int8.tflite"
    sha256 = "597a384c8c2c8a1276f04702f25013b7838f2f814f1ca7c174d295b73e3d6b7b"
    description = "visual wake words, MobileNetV1 0.25 96x96"


class ImageClassification(RgbImageBenchmark):
    key = "ic"
    benchmark_id = "ic01"
    filename = "pretrainedResnet_quant.tflite"
    sha256 = "3c002613d1b2475eb51dd78dfb85a546c8ae658dee71cf6ade43b022fe205415"
    description = "image classification, ResNet-8 (CIFAR-10)"


class LargeImageClassification(ImageClassification):
    """ic02, the larger ResNet of MLPerf Tiny v1.4 ("ic2" in its submission checker). Input upload and
    result printing are ic01's, and the runner's tests_*.yaml run it with the ic01 script and dataset
    (``ic02: model: ic01``), so its data are ic01's; only the device's m-model-[...] differs."""

    key = "ic2"
    benchmark_id = "ic02"
    filename = "pretrainedResnet_large_int8.tflite"
    sha256 = "dc27dcd823f5665533352f7da516b0c9bc6f089914b8283782e55961b3423fcf"
    description = "image classification, larger ResNet (CIFAR-10), MLPerf Tiny v1.4"

    @property
    def data_id(self) -> str:
        return ImageClassification.benchmark_id


class StreamingWakeWord(Benchmark):
    """Device side and inputs as a user model's: no sample files are read for it (as before #15.1)."""

    key = "sww"
    benchmark_id = "sww01"
    filename = "str_ww_ref_model.tflite"
    sha256 = "3af8550895ba7d5c584277102b5075c52dcfa63ba9d2b2240f37c4e6abd5dd2b"
    description = "streaming wake word"


USER_MODEL = UserModel()
ALL_BENCHMARKS: tuple[Benchmark, ...] = (AnomalyDetection(), KeywordSpotting(), VisualWakeWords(),
                                         ImageClassification(), LargeImageClassification(), StreamingWakeWord())
# by short name ("ad"), the table doctor and the farm's matrix read
BENCHMARKS: dict[str, Benchmark] = {b.key: b for b in ALL_BENCHMARKS}
# what `tinyflash submit` takes, in the checker's order of model folders (ad, ic, ic2, kws, vww)
SUBMITTABLE: tuple[Benchmark, ...] = tuple(sorted((b for b in ALL_BENCHMARKS if b.submittable),
                                                  key=lambda b: b.submission_name))


def find_benchmark(name: str) -> Optional[Benchmark]:
    """The benchmark a name means (``ad``, ``AD01``...), or None."""
    lowered = name.lower()
    for bench in ALL_BENCHMARKS:
        if lowered in bench.names:
            return bench
    return None


def benchmark_of_file(sha256: str) -> Optional[Benchmark]:
    """The benchmark whose reference file has this SHA-256, or None."""
    for bench in ALL_BENCHMARKS:
        if bench.sha256 == sha256:
            return bench
    return None
