"""The PL011 UART driver (the Pico's UART0) on a PL011 QEMU does model: the Stellaris lm3s6965evb,
whose UART0 has the same registers. Startup, linker script and driver are rendered from the same
templates as for the rp2040, for a board description of the lm3s6965; a small main echoes what the
receive interrupt puts in the ring buffer. Baud divisors are not modelled by QEMU; the rest is."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tinyflash.board.schema import Board
from tinyflash.generate.render import render_to
from tinyflash.resources import templates_dir

pytestmark = pytest.mark.qemu

LM3S_PL011 = {
    "name": "lm3s6965-pl011", "core": "cortex-m3", "clock_hz": 12_000_000,
    "memory": {"flash": {"origin": 0, "size": "256K"}, "ram": {"origin": 0x20000000, "size": "64K"}},
    "stack_size": "4K",
    "uart": {"family": "pl011", "base": 0x4000C000, "irq": 5, "clock_hz": 12_000_000, "baud": 115200},
    "timer": {"family": "rp2040-timer", "base": 0x40030000, "clock_hz": 12_000_000},   # not built here
    "init": [{"addr": 0x400FE104, "set": 1, "note": "RCGC1.UART0 (a real LM3S needs it; QEMU ignores it)"}],
    "flash": {"method": "qemu", "machine": "lm3s6965evb"},
}
MAIN = r"""
#include "tf_port.h"
int main(void)
{
    tf_uart_init();
    tf_puts("pl011-ready\r\n");
    for (;;) {
        int c = tf_rx_pop();
        if (c == 'q') {
            tf_puts("|bye\r\n");
        } else if (c >= 0) {
            tf_uart_putc((char)(c + 1)); /* not a plain echo: the firmware must have seen the byte */
        }
    }
}
"""


def _read_until(proc: subprocess.Popen[bytes], marker: bytes, deadline: float) -> bytes:
    assert proc.stdout is not None
    seen = b""
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise AssertionError(f"no {marker!r} from QEMU, got {seen!r}")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            seen += os.read(proc.stdout.fileno(), 4096)
    return seen


def test_pl011_driver_transmits_and_receives_by_interrupt(tmp_path: Path, qemu: None) -> None:
    board = Board.model_validate(LM3S_PL011)
    context = {"board": board, "board_file": "lm3s6965-pl011", "vector_align": 128, "vectors": 0}
    src = tmp_path / "src"
    files = [
        render_to("startup/cortex_m_startup.c.j2", src / "startup.c", irq_handlers=[(5, "tf_uart_irq_handler")],
                  vector_count=16 + 5 + 1, **context),
        render_to("clock/none.c.j2", src / "clock.c", **context),
        render_to("board/board_init.c.j2", src / "board_init.c", **context),
        render_to("board/board.h.j2", src / "board.h", **context),
        render_to("drivers/uart/pl011.c.j2", src / "uart.c", **context),
    ]
    linker = render_to("linker/cortex_m.ld.j2", tmp_path / "linker.ld", **context)
    for template, name in (("benchmark/tf_port.c", "tf_port.c"), ("benchmark/tf_port.h", "tf_port.h"),
                           ("drivers/cyclecount/systick.c", "cyclecount.c")):
        shutil.copy(templates_dir() / template, src / name)
        files.append(src / name)
    (src / "main.c").write_text(MAIN)
    files.append(src / "main.c")
    elf = tmp_path / "fw.elf"
    subprocess.run(["arm-none-eabi-gcc", *board.gcc_cpu_flags(), "-O2", "-Wall", "-I", str(src),
                    *[str(f) for f in files if f.suffix == ".c"], "-nostartfiles", "--specs=nano.specs",
                    "-Wl,--gc-sections", "-T", str(linker), "-o", str(elf), "-lm", "-lc", "-lgcc"], check=True)

    proc = subprocess.Popen(["qemu-system-arm", "-M", "lm3s6965evb", "-kernel", str(elf), "-display", "none",
                             "-monitor", "none", "-serial", "stdio", "-no-reboot"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert b"pl011-ready" in _read_until(proc, b"pl011-ready\r\n", time.monotonic() + 20)
        assert proc.stdin is not None
        proc.stdin.write(b"HAL q")     # only after the ready line: QEMU's PL011 drops bytes sent earlier
        proc.stdin.flush()
        assert _read_until(proc, b"|bye\r\n", time.monotonic() + 20).endswith(b"IBM!|bye\r\n")
    finally:
        proc.kill()
        proc.wait(timeout=10)
