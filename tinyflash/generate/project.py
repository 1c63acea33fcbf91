"""Generate the benchmark application for (board, model, runtime) into a directory.

The output is a plain source tree plus ``project.json``, which the SConstruct reads: templates split
by concern (startup, linker script, UART and timer drivers by peripheral family, the benchmark
protocol, per-model I/O, runtime glue) rendered with the board's facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from tinyflash.board.clock import ahb_bits, apb_bits
from tinyflash.board.schema import Board, TimerFamily, UartFamily
from tinyflash.errors import GenerateError, RegionOverflowError
from tinyflash.generate.escape import check_define
from tinyflash.generate.render import render_to, write_if_changed
from tinyflash.generate.runtime import get_runtime
from tinyflash.generate.runtime.base import Layer
from tinyflash.generate.runtime.choice import RuntimeChoice, choose_runtime
from tinyflash.model.benchmarks import ModelIO
from tinyflash.model.graph import Graph
from tinyflash.model.spec import ModelSpec
from tinyflash.resources import templates_dir



# Templates are found from the family's value (#15.4): a new peripheral family is one template file.
def uart_template(family: UartFamily) -> str:
    return f"drivers/uart/{family.value}.c.j2"


def timer_template(family: TimerFamily) -> str:
    return f"drivers/timer/{family.value}.c.j2"


def clock_template(family: str | None) -> str:
    """board.clock.family's template; boards without a clock: section keep reset clocks (none.c.j2)."""
    return f"clock/{family or 'none'}.c.j2"


def boot2_template(family: str) -> str:
    return f"boot/{family}.S.j2"


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
class BuildOptions:
    optimization: str = "-O2"
    defines: tuple[str, ...] = ()          # extra -D for every file (e.g. fault injection in tests)
    kernels: str = "auto"                  # aot: "auto" (SIMD where the core has it) or "portable";
                                           # tflm: "auto"/"reference" or "cmsis-nn"
    profile: bool = False                  # time every layer (TF_PROFILE): tinyflash bench --profile
    tflm_dir: str | None = None            # tflm: TFLM checkout (default: $TINYFLASH_TFLM_DIR, then the
                                           # workspace 'tinyflash deps' makes)

    def __post_init__(self) -> None:
        # defines reach the compiler's command line: refuse anything but NAME[=token] here, where the
        # CLI and the farm both construct the options (#11.1)
        for define in self.defines:
            check_define(define)


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
    notes: tuple[str, ...] = ()   # what the runtime chose (e.g. TFLM's op resolver), for results.json
    runtime_reason: str = ""      # why this runtime builds the model (--runtime auto's choice, #13.2)

    @property
    def project_file(self) -> Path:
        return self.directory / "project.json"


def _check_fits(board: Board, spec: ModelSpec, io: ModelIO, arena: int, weights: int, scratch: int = 0) -> None:
    ram_need = arena + scratch + io.upload_bytes + io.benchmark.extra_ram_bytes(io) + board.stack_size + \
        FIXED_RAM_BYTES
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


def runtime_options(spec: ModelSpec, options: BuildOptions) -> dict[str, str]:
    """What a runtime's generate (and locate) receives from the build options."""
    found = {"kernels": options.kernels, "model_path": str(spec.path)}
    if options.tflm_dir:
        found["tflm_dir"] = options.tflm_dir
    return found


def resolve_runtime(board: Board, spec: ModelSpec, graph: Graph, runtime: str | RuntimeChoice,
                    options: BuildOptions = BuildOptions()) -> RuntimeChoice:
    """The runtime a --runtime value (auto, or a name) builds ``graph`` with on ``board``, and why."""
    if isinstance(runtime, RuntimeChoice):
        return runtime
    return choose_runtime(graph, board, runtime, kernels=options.kernels, options=runtime_options(spec, options),
                          what=spec.name)


def generate_project(board: Board, spec: ModelSpec, graph: Graph, dest: Path, *,
                     runtime: str | RuntimeChoice = "auto", options: BuildOptions = BuildOptions(),
                     board_file: str | None = None) -> GeneratedProject:
    dest = Path(dest)
    choice = resolve_runtime(board, spec, graph, runtime, options)
    src = dest / "src"
    src.mkdir(parents=True, exist_ok=True)
    io = spec.benchmark.io(graph)
    rt = get_runtime(choice.name)
    runtime_out = rt.generate(graph, board, src / "runtime", options=runtime_options(spec, options))
    _check_fits(board, spec, io, runtime_out.activation_bytes, runtime_out.weight_bytes, runtime_out.scratch_bytes)

    for template in (uart_template(board.uart.family), timer_template(board.timer.family)):
        if not (templates_dir() / template).is_file():
            raise GenerateError(f"no driver template {template} for {board.name}",
                                hint="a new peripheral family needs its template under templates/drivers/")
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
    files = [
        render_to(clock_template(board.clock.family if board.clock else None), src / "clock.c", **context),
        render_to("board/board.h.j2", src / "board.h", **context),
        render_to("board/board_init.c.j2", src / "board_init.c", **context),
        render_to("startup/cortex_m_startup.c.j2", src / "startup.c", irq_handlers=sorted(irqs),
                  vector_count=vector_count, **context),
        render_to(uart_template(board.uart.family), src / "uart.c", **context),
        render_to(timer_template(board.timer.family), src / "timer.c", **context),
        render_to("benchmark/model_config.h.j2", src / "model_config.h", **context),
        render_to(io.benchmark.device_template, src / "model_io.c", **context),
    ]
    if board.boot2:
        files.append(render_to(boot2_template(board.boot2.family), src / "boot2.S", **context))
    linker = render_to("linker/cortex_m.ld.j2", dest / "linker.ld", **context)
    for template, name in STATIC_FILES.items():
        files.append(write_if_changed(src / name, (templates_dir() / template).read_bytes()))
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
    write_if_changed(dest / "project.json", json.dumps(config, indent=2) + "\n")
    return GeneratedProject(board, spec, runtime_out.name, dest, io, tuple(sources),
                            runtime_out.activation_bytes, runtime_out.weight_bytes, runtime_out.macs, options,
                            runtime_out.scratch_bytes, runtime_out.layers, tuple(runtime_out.notes),
                            choice.reason)
