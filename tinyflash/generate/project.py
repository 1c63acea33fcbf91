"""Generate the benchmark application for (board, model, runtime) into a directory.

The output is a plain source tree plus ``project.json``, which the SConstruct reads: templates split
by concern (startup, linker script, UART and timer drivers by peripheral family, the benchmark
protocol, per-model I/O, runtime glue) rendered with the board's facts.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from tinyflash.board.clock import ahb_bits, apb_bits
from tinyflash.board.schema import Board, TimerFamily, UartFamily
from tinyflash.errors import GenerateError, RegionOverflowError
from tinyflash.generate.render import render_to
from tinyflash.generate.runtime import get_runtime
from tinyflash.generate.runtime.base import Layer
from tinyflash.model.graph import Graph
from tinyflash.model.spec import ModelSpec
from tinyflash.resources import templates_dir

UART_TEMPLATES = {
    UartFamily.CMSDK_APB_UART: "drivers/uart/cmsdk_apb_uart.c.j2",
    UartFamily.STM32_USART_V1: "drivers/uart/stm32_usart_v1.c.j2",
    UartFamily.STM32_USART_V2: "drivers/uart/stm32_usart_v2.c.j2",
    UartFamily.STM32_LPUART: "drivers/uart/stm32_usart_v2.c.j2",
    UartFamily.NRF_UARTE: "drivers/uart/nrf_uarte.c.j2",
    UartFamily.PL011: "drivers/uart/pl011.c.j2",
}
TIMER_TEMPLATES = {
    TimerFamily.CMSDK_TIMER: "drivers/timer/cmsdk_timer.c.j2",
    TimerFamily.SSE300_SYSCOUNTER: "drivers/timer/sse300_syscounter.c.j2",
    TimerFamily.STM32_TIM: "drivers/timer/stm32_tim.c.j2",
    TimerFamily.NRF_TIMER: "drivers/timer/nrf_timer.c.j2",
    TimerFamily.RP2040_TIMER: "drivers/timer/rp2040_timer.c.j2",
}
# one template per clock family (board.clock.family); boards without a clock: section keep reset clocks
CLOCK_TEMPLATES = {
    "stm32f7": "clock/stm32f7.c.j2",
    "stm32h7": "clock/stm32h7.c.j2",
    "stm32l4plus": "clock/stm32l4plus.c.j2",
    "nrf52": "clock/nrf52.c.j2",
    "rp2040": "clock/rp2040.c.j2",
}
BOOT2_TEMPLATES = {"rp2040-03h": "boot/rp2040_boot2_03h.S.j2"}
SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".S")
STATIC_FILES = {  # copied as they are
    "benchmark/tf_port.h": "tf_port.h",
    "benchmark/tf_port.c": "tf_port.c",
    "benchmark/tf_runtime.h": "tf_runtime.h",
    "benchmark/ee_protocol.h": "ee_protocol.h",
    "benchmark/ee_protocol.c": "ee_protocol.c",
    "benchmark/main.c": "main.c",
    "drivers/cyclecount/systick.c": "cyclecount.c",
}
# RAM the benchmark needs besides the runtime's arena, the upload buffer and the stack
# (ring buffer, command buffer, driver state), rounded up.
FIXED_RAM_BYTES = 2048


@dataclass(frozen=True)
class ModelIO:
    """How the host uploads an input and how the device converts it (spec §5.3)."""

    kind: str
    upload_bytes: int
    input_elements: int
    output_elements: int
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int

    @classmethod
    def of(cls, spec: ModelSpec, graph: Graph) -> "ModelIO":
        inp, out = graph.input, graph.output
        iq, oq = inp.quantization, out.quantization
        upload = inp.elements * 4 if spec.kind == "ad01" else inp.size_bytes
        return cls(spec.kind, upload, inp.elements, out.elements, iq.scale if iq else 1.0,
                   iq.zero_point if iq else 0, oq.scale if oq else 1.0, oq.zero_point if oq else 0)


@dataclass(frozen=True)
class BuildOptions:
    optimization: str = "-O2"
    defines: tuple[str, ...] = ()          # extra -D for every file (e.g. fault injection in tests)
    kernels: str = "auto"                  # aot: "auto" (SIMD where the core has it) or "portable";
                                           # tflm: "auto"/"reference" or "cmsis-nn"
    profile: bool = False                  # time every layer (TF_PROFILE): tinyflash bench --profile
    tflm_dir: str | None = None            # tflm: TFLM checkout (default: $TINYFLASH_TFLM_DIR, then the
                                           # workspace 'tinyflash deps' makes)


@dataclass(frozen=True)
class GeneratedProject:
    board: Board
    model: ModelSpec
    runtime: str
    directory: Path
    io: ModelIO
    sources: tuple[Path, ...]
    activation_bytes: int
    weight_bytes: int
    macs: int
    options: BuildOptions = field(default_factory=BuildOptions)
    scratch_bytes: int = 0        # kernel scratch (im2col columns, pad row) outside the arena
    layers: tuple[Layer, ...] = ()

    @property
    def project_file(self) -> Path:
        return self.directory / "project.json"


def _check_fits(board: Board, spec: ModelSpec, io: ModelIO, arena: int, weights: int, scratch: int = 0) -> None:
    ram_need = arena + scratch + io.upload_bytes + board.stack_size + FIXED_RAM_BYTES
    if io.kind == "ad01":
        ram_need += io.input_elements * 4
    if ram_need > board.memory.ram.size:
        raise RegionOverflowError("RAM", ram_need - board.memory.ram.size, board=board.name,
                                  what=f"model {spec.name} (activation arena {arena} B, kernel scratch "
                                       f"{scratch} B, input buffer "
                                       f"{io.upload_bytes} B, stack {board.stack_size} B)",
                                  used=ram_need, size=board.memory.ram.size)
    if weights > board.memory.flash.size:
        raise RegionOverflowError("FLASH", weights - board.memory.flash.size, board=board.name,
                                  what=f"model {spec.name} weights ({weights} B)", used=weights,
                                  size=board.memory.flash.size)


def generate_project(board: Board, spec: ModelSpec, graph: Graph, dest: Path, *, runtime: str = "aot",
                     options: BuildOptions = BuildOptions(), board_file: str | None = None) -> GeneratedProject:
    dest = Path(dest)
    src = dest / "src"
    src.mkdir(parents=True, exist_ok=True)
    io = ModelIO.of(spec, graph)
    rt = get_runtime(runtime)
    runtime_options = {"kernels": options.kernels, "model_path": str(spec.path)}
    if options.tflm_dir:
        runtime_options["tflm_dir"] = options.tflm_dir
    runtime_out = rt.generate(graph, board, src / "runtime", options=runtime_options)
    _check_fits(board, spec, io, runtime_out.activation_bytes, runtime_out.weight_bytes, runtime_out.scratch_bytes)

    if board.uart.family not in UART_TEMPLATES or board.timer.family not in TIMER_TEMPLATES:
        raise GenerateError(f"no driver template for {board.uart.family.value}/{board.timer.family.value}")
    irqs = [(board.uart.irq, "tf_uart_irq_handler")]
    if board.timer.irq is not None:
        irqs.append((board.timer.irq, "tf_timer_irq_handler"))
    vector_count = 16 + max(i for i, _ in irqs) + 1
    # VTOR needs the table aligned to its size rounded up to a power of two, 128 bytes at least
    vector_align = max(128, 1 << (vector_count * 4 - 1).bit_length())
    vectors = board.memory.flash.origin + (board.boot2.size if board.boot2 else 0)
    if vectors % vector_align:
        raise GenerateError(f"{board.name}: a {vector_count}-entry vector table needs {vector_align}-byte alignment, "
                            f"but it must sit at {vectors:#x} after boot2")
    context: Mapping[str, object] = {"board": board, "board_file": board_file or f"boards/{board.name}.yaml",
                                     "model": spec, "io": io, "vector_align": vector_align, "vectors": vectors,
                                     "ahb_bits": ahb_bits, "apb_bits": apb_bits}
    clock_template = CLOCK_TEMPLATES[board.clock.family] if board.clock else "clock/none.c.j2"
    files = [
        render_to(clock_template, src / "clock.c", **context),
        render_to("board/board.h.j2", src / "board.h", **context),
        render_to("board/board_init.c.j2", src / "board_init.c", **context),
        render_to("startup/cortex_m_startup.c.j2", src / "startup.c", irq_handlers=sorted(irqs),
                  vector_count=vector_count, **context),
        render_to(UART_TEMPLATES[board.uart.family], src / "uart.c", **context),
        render_to(TIMER_TEMPLATES[board.timer.family], src / "timer.c", **context),
        render_to("benchmark/model_config.h.j2", src / "model_config.h", **context),
        render_to("benchmark/model_io.c.j2", src / "model_io.c", **context),
    ]
    if board.boot2:
        files.append(render_to(BOOT2_TEMPLATES[board.boot2.family], src / "boot2.S", **context))
    linker = render_to("linker/cortex_m.ld.j2", dest / "linker.ld", **context)
    for template, name in STATIC_FILES.items():
        target = src / name
        source = templates_dir() / template
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copy2(source, target)
        files.append(target)
    sources = [f for f in files if f.suffix in SOURCE_SUFFIXES] + \
              [f for f in runtime_out.sources if f.suffix in SOURCE_SUFFIXES]

    config: dict[str, object] = {
        "board": board.name,
        "model": spec.name,
        "runtime": runtime_out.name,
        "toolchain_prefix": "arm-none-eabi-",
        "sources": [str(p.relative_to(dest)) for p in sources],
        "include_dirs": [str(p.relative_to(dest)) for p in [src, *runtime_out.include_dirs]],
        "cpu_flags": list(board.gcc_cpu_flags()),
        "defines": [*runtime_out.defines, *(["TF_PROFILE=1"] if options.profile else []), *options.defines],
        "optimization": options.optimization,
        "linker_script": str(linker.relative_to(dest)),
    }
    if board.boot2:
        # the bootrom checks a CRC32 over boot2's first 252 bytes, stored in its last 4: filled in after linking
        config["checksums"] = [{"section": ".boot2", "length": board.boot2.size - 4, "algorithm": "crc32-mpeg2"}]
    for key, value in runtime_out.project_extra.items():
        if key in config:
            raise GenerateError(f"runtime {runtime_out.name} redefines project.json key '{key}'")
        config[key] = value
    if runtime_out.layers:
        config["layers"] = [layer.to_json() for layer in runtime_out.layers]
    text = json.dumps(config, indent=2) + "\n"
    project_file = dest / "project.json"
    if not project_file.exists() or project_file.read_text() != text:
        project_file.write_text(text)
    return GeneratedProject(board, spec, runtime_out.name, dest, io, tuple(sources),
                            runtime_out.activation_bytes, runtime_out.weight_bytes, runtime_out.macs, options,
                            runtime_out.scratch_bytes, runtime_out.layers)
