"""Clock trees of the real boards: each PLL gives the core clock its YAML states (recomputed here from
the reference manuals' formulas on the raw YAML, not through tinyflash's clock model), the UART and
timer clocks are the bus clocks they sit on, the generated set-up code compiles, and broken trees
fail when the file is loaded (the located errors are in test_board_schema's corpus)."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from tinyflash.board import BoardCatalog
from tinyflash.board.clock import ahb_bits, apb_bits
from tinyflash.generate.project import clock_template
from tinyflash.generate.render import render_to
from tinyflash.resources import templates_dir

from ..conftest import EMULATED_BOARDS, REAL_BOARDS, REPO

MHZ = 1_000_000
# the core clocks issue #5 asks for
TARGET_CORE_HZ = {"stm32h7": 400 * MHZ, "nucleo-l4r5zi": 120 * MHZ, "nucleo-f767zi": 216 * MHZ,
                  "disco-f746ng": 216 * MHZ, "nrf52840dk": 64 * MHZ, "rp2040": 125 * MHZ}


def _raw(name: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO / "boards" / f"{name}.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _stm32_buses(core: Fraction, ahb: int, apb1: int, apb2: int) -> dict[str, Fraction]:
    hclk = core / ahb
    p1, p2 = hclk / apb1, hclk / apb2
    return {"hclk": hclk, "pclk1": p1, "pclk2": p2,
            "timclk1": p1 * (1 if apb1 == 1 else 2), "timclk2": p2 * (1 if apb2 == 1 else 2)}


def _formula(clock: dict[str, Any]) -> tuple[Fraction, dict[str, Fraction]]:
    """(core clock, named bus clocks) straight from the reference manuals."""
    family, pll = clock["family"], clock.get("pll", {})
    if family == "stm32f7":       # RM0410 §5.3.2: f = src / M * N / P; core = HCLK
        sysclk = Fraction(clock["source_hz"]) / pll["m"] * pll["n"] / pll["p"]
        buses = _stm32_buses(sysclk, clock["ahb_div"], clock["apb1_div"], clock["apb2_div"])
        return buses["hclk"], buses
    if family == "stm32l4plus":   # RM0432 §6.4.4: f = src / M * N / R; core = HCLK
        sysclk = Fraction(clock["source_hz"]) / pll["m"] * pll["n"] / pll["r"]
        buses = _stm32_buses(sysclk, clock["ahb_div"], clock["apb1_div"], clock["apb2_div"])
        return buses["hclk"], buses
    if family == "stm32h7":       # RM0433 §8.5.5: sys_ck = src / DIVM1 * DIVN1 / DIVP1; CPU = sys_ck / D1CPRE
        cpu = Fraction(clock["source_hz"]) / pll["m"] * pll["n"] / pll["p"] / clock["d1cpre"]
        hclk = cpu / clock["hpre"]
        p1 = hclk / clock["d2ppre1"]
        return cpu, {"hclk": hclk, "pclk1": p1, "pclk2": hclk / clock["d2ppre2"],
                     "timclk1": p1 * (1 if clock["d2ppre1"] == 1 else 2)}
    if family == "nrf52":         # PS §6.4: the CPU is always 64 MHz, peripherals take 16 MHz
        return Fraction(64 * MHZ), {"pclk16m": Fraction(16 * MHZ)}
    if family == "rp2040":        # datasheet §2.18.2: XOSC / REFDIV * FBDIV / POSTDIV1 / POSTDIV2
        sys = Fraction(clock["source_hz"]) / pll["refdiv"] * pll["fbdiv"] / pll["postdiv1"] / pll["postdiv2"]
        return sys, {"clk_sys": sys, "clk_peri": sys, "clk_ref": Fraction(clock["source_hz"])}
    raise AssertionError(f"no formula for {family}")


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_pll_gives_the_stated_core_clock(name: str) -> None:
    raw = _raw(name)
    core, buses = _formula(raw["clock"])
    assert core == raw["clock_hz"] == TARGET_CORE_HZ[name]
    board = BoardCatalog(environ={}).load(name)
    assert board.clock is not None and board.clock.core_hz == board.clock_hz
    # the baud divisor and the µs prescaler are computed from these: they must be the post-PLL clocks
    assert board.uart.bus is not None and board.timer.bus is not None
    assert buses[board.uart.bus] == board.uart.clock_hz
    assert buses[board.timer.bus] == board.timer.clock_hz
    for bus, hz in buses.items():
        assert board.clock.frequencies()[bus] == hz


@pytest.mark.parametrize("name", EMULATED_BOARDS)
def test_emulated_boards_keep_their_reset_clocks(name: str) -> None:
    # QEMU does not model STM32 PLLs: a wait for PLL lock would never end there
    assert BoardCatalog(environ={}).load(name).clock is None


def test_register_field_encodings() -> None:
    # RCC HPRE/PPRE: /1 -> 0, /2 -> 0b1000 / 0b100, ..., HPRE skips /32
    assert [ahb_bits(d) for d in (1, 2, 4, 8, 16, 64, 128, 256, 512)] == [0, 8, 9, 10, 11, 12, 13, 14, 15]
    assert [apb_bits(d) for d in (1, 2, 4, 8, 16)] == [0, 4, 5, 6, 7]


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_clock_setup_compiles_without_warnings(name: str, tmp_path: Path) -> None:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not found")
    board = BoardCatalog(environ={}).load(name)
    assert board.clock is not None
    source = render_to(clock_template(board.clock.family), tmp_path / "clock.c", board=board,
                       board_file=f"boards/{name}.yaml", ahb_bits=ahb_bits, apb_bits=apb_bits)
    text = source.read_text()
    assert "void tf_clock_init(void)" in text and str(board.clock_hz) in text
    subprocess.run([gcc, *board.gcc_cpu_flags(), "-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11",
                    "-I", str(templates_dir() / "benchmark"), "-c", str(source), "-o", str(tmp_path / "clock.o")],
                   check=True)
