"""Clock trees of real boards as data: the oscillator, the PLL dividers, the bus prescalers, the flash
wait states and the voltage scaling a board's ``clock:`` section asks for, checked against the limits of
its clock family (reference-manual figures, cited per family) and turned into named frequencies.

The board schema checks that the core frequency computed here equals the board's ``clock_hz`` and that
the UART and timer clocks equal the bus they sit on, so a PLL typo fails when the YAML is loaded, not
as a garbled serial line on the bench. Each family has one template under ``templates/clock/``.
Emulated boards have no ``clock:`` section: QEMU's STM32 RCC is not modelled and a wait for PLL-ready
would hang (shared docs qemu_cortexm.md §1.3).
"""

from __future__ import annotations

from fractions import Fraction
import typing
from typing import Annotated, Literal, Union

from pydantic import Field, StrictBool, StrictInt, model_validator

from tinyflash.config_file import StrictModel

Hertz = Annotated[StrictInt, Field(gt=0)]
MHZ = 1_000_000


def _mhz(value: Fraction | int) -> str:
    return f"{float(Fraction(value) / MHZ):g} MHz"


def _whole(name: str, value: Fraction) -> int:
    if value.denominator != 1:
        raise ValueError(f"{name}: gives {_mhz(value)}, not a whole number of Hz; choose other dividers")
    return int(value)


def _limit(key: str, what: str, value: Fraction | int, low: int | None, high: int | None, source: str) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{_mhz(low) if low is not None else '0'}..{_mhz(high) if high is not None else 'any'}"
        raise ValueError(f"{key}: {what} {_mhz(value)} outside {bounds} ({source})")


def _min_wait_states(hclk: int, step_hz: int) -> int:
    """Wait states when each one buys a fixed step of frequency (0 WS up to one step, ...)."""
    return max(0, -(-hclk // step_hz) - 1)


_AHB_DIVS = (1, 2, 4, 8, 16, 64, 128, 256, 512)
_APB_DIVS = (1, 2, 4, 8, 16)
AhbDiv = Literal[1, 2, 4, 8, 16, 64, 128, 256, 512]
ApbDiv = Literal[1, 2, 4, 8, 16]


def ahb_bits(div: int) -> int:
    """STM32 HPRE encoding: 0 for /1, 8.. for /2../512 (no /32)."""
    return 0 if div == 1 else 8 + _AHB_DIVS.index(div) - 1


def apb_bits(div: int) -> int:
    """STM32 PPRE encoding: 0 for /1, 4.. for /2../16."""
    return 0 if div == 1 else 4 + _APB_DIVS.index(div) - 1


def _timer_clock(pclk: int, div: int) -> int:
    # STM32 timers on an APB bus run at twice its clock when it is divided (F7 RM0410 §5.2, H7 RM0433
    # §8.5.7 with TIMPRE=0, L4+ RM0432 §6.2)
    return pclk if div == 1 else 2 * pclk


def _stm32_buses(sysclk: int, ahb_div: int, apb1_div: int, apb2_div: int) -> dict[str, int]:
    """SYSCLK -> AHB -> APB1/APB2 and their timer clocks, the tree F7 and L4+ share."""
    hclk = sysclk // ahb_div
    pclk1, pclk2 = hclk // apb1_div, hclk // apb2_div
    return {"sysclk": sysclk, "hclk": hclk, "pclk1": pclk1, "pclk2": pclk2,
            "timclk1": _timer_clock(pclk1, apb1_div), "timclk2": _timer_clock(pclk2, apb2_div)}


class _ClockBase(StrictModel):
    def frequencies(self) -> dict[str, int]:
        raise NotImplementedError

    @property
    def core_hz(self) -> int:
        return self.frequencies()[self.core_output]

    @property
    def core_output(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        """How the core clock comes about, for error messages and documentation."""
        raise NotImplementedError


# ---- STM32F7 (RM0410 F76x/F77x, RM0385 F74x/F75x) ------------------------------------------------
class Stm32f7Pll(StrictModel):
    m: Annotated[StrictInt, Field(ge=2, le=63)]
    n: Annotated[StrictInt, Field(ge=50, le=432)]
    p: Literal[2, 4, 6, 8]


class Stm32f7Clock(_ClockBase):
    """Main PLL from HSI (16 MHz) or HSE; SYSCLK = PLLP output; the core runs at HCLK."""

    family: Literal["stm32f7"]
    source: Literal["hsi", "hse"] = "hsi"
    source_hz: Hertz = 16 * MHZ
    hse_bypass: StrictBool = False
    pll: Stm32f7Pll
    ahb_div: AhbDiv = 1
    apb1_div: ApbDiv = 4
    apb2_div: ApbDiv = 2
    voltage_scale: Literal[1, 2, 3] = 1
    overdrive: StrictBool = False
    flash_latency: Annotated[StrictInt, Field(ge=0, le=15)]

    @property
    def core_output(self) -> str:
        return "hclk"

    def _vco(self) -> tuple[Fraction, Fraction]:
        vin = Fraction(self.source_hz, self.pll.m)
        return vin, vin * self.pll.n

    def frequencies(self) -> dict[str, int]:
        _, vco = self._vco()
        return _stm32_buses(_whole("pll", vco / self.pll.p), self.ahb_div, self.apb1_div, self.apb2_div)

    def describe(self) -> str:
        return (f"{self.source.upper()} {_mhz(self.source_hz)} / M {self.pll.m} x N {self.pll.n} / P {self.pll.p}"
                f" / AHB {self.ahb_div}")

    @model_validator(mode="after")
    def _limits(self) -> "Stm32f7Clock":
        ref = "RM0410 §5.3.2 RCC_PLLCFGR, datasheet 'Main PLL characteristics'"
        if self.source == "hsi" and self.source_hz != 16 * MHZ:
            raise ValueError("source_hz: the HSI runs at 16 MHz")
        vin, vco = self._vco()
        _limit("pll.m", "VCO input", vin, 950_000, 2_100_000, ref)
        _limit("pll.n", "VCO output", vco, 100 * MHZ, 432 * MHZ, ref)
        f = self.frequencies()
        _limit("pll.p" if self.ahb_div == 1 else "ahb_div", "HCLK", f["hclk"], None, 216 * MHZ, "RM0410 §4.1.4")
        if f["hclk"] > 180 * MHZ and not self.overdrive:
            raise ValueError(f"overdrive: HCLK {_mhz(f['hclk'])} needs over-drive (above 180 MHz, RM0410 §4.1.4)")
        if self.voltage_scale != 1 and f["hclk"] > 144 * MHZ:
            raise ValueError(f"voltage_scale: {_mhz(f['hclk'])} needs scale 1 (RM0410 §4.1.4)")
        _limit("apb1_div", "APB1", f["pclk1"], None, 54 * MHZ, "RM0410 §5.2")
        _limit("apb2_div", "APB2", f["pclk2"], None, 108 * MHZ, "RM0410 §5.2")
        # 2.7-3.6 V: one wait state per 30 MHz of HCLK (RM0410 §3.3.2 Table 7)
        need = _min_wait_states(f["hclk"], 30 * MHZ)
        if self.flash_latency < need:
            raise ValueError(f"flash_latency: {_mhz(f['hclk'])} HCLK needs at least {need} wait states "
                             "(RM0410 Table 7, 2.7-3.6 V)")
        return self


# ---- STM32H743 (RM0433) ----------------------------------------------------------------------------
class Stm32h7Pll(StrictModel):
    m: Annotated[StrictInt, Field(ge=1, le=63)]
    n: Annotated[StrictInt, Field(ge=4, le=512)]
    p: Annotated[StrictInt, Field(ge=2, le=128)]


class Stm32h7Clock(_ClockBase):
    """PLL1 from HSI (64 MHz) or HSE; the core runs at sys_ck / D1CPRE, the AXI/AHB buses at that / HPRE."""

    family: Literal["stm32h7"]
    source: Literal["hsi", "hse"] = "hsi"
    source_hz: Hertz = 64 * MHZ
    hse_bypass: StrictBool = False
    pll: Stm32h7Pll
    d1cpre: AhbDiv = 1
    hpre: AhbDiv = 2
    d1ppre: ApbDiv = 2
    d2ppre1: ApbDiv = 2
    d2ppre2: ApbDiv = 2
    d3ppre: ApbDiv = 2
    voltage_scale: Literal[1, 2, 3] = 1
    flash_latency: Annotated[StrictInt, Field(ge=0, le=7)]
    flash_wrhighfreq: Annotated[StrictInt, Field(ge=0, le=3)]

    @property
    def core_output(self) -> str:
        return "cpu"

    def _vco(self) -> tuple[Fraction, Fraction]:
        vin = Fraction(self.source_hz, self.pll.m)
        return vin, vin * self.pll.n

    @property
    def input_range(self) -> int:
        """PLL1RGE: 0 for 1-2 MHz, 1 for 2-4, 2 for 4-8, 3 for 8-16 MHz."""
        vin, _ = self._vco()
        return 0 if vin <= 2 * MHZ else 1 if vin <= 4 * MHZ else 2 if vin <= 8 * MHZ else 3

    def frequencies(self) -> dict[str, int]:
        _, vco = self._vco()
        sys_ck = _whole("pll", vco / self.pll.p)
        cpu = sys_ck // self.d1cpre
        hclk = cpu // self.hpre
        pclk1, pclk2 = hclk // self.d2ppre1, hclk // self.d2ppre2
        return {"sys_ck": sys_ck, "cpu": cpu, "hclk": hclk, "pclk1": pclk1, "pclk2": pclk2,
                "pclk3": hclk // self.d1ppre, "pclk4": hclk // self.d3ppre,
                "timclk1": _timer_clock(pclk1, self.d2ppre1), "timclk2": _timer_clock(pclk2, self.d2ppre2)}

    def describe(self) -> str:
        return (f"{self.source.upper()} {_mhz(self.source_hz)} / M {self.pll.m} x N {self.pll.n} / P {self.pll.p}"
                f" / D1CPRE {self.d1cpre}")

    @model_validator(mode="after")
    def _limits(self) -> "Stm32h7Clock":
        ref = "RM0433 §8.7.8-8.7.12, wide VCO range"
        if self.source == "hsi" and self.source_hz != 64 * MHZ:
            raise ValueError("source_hz: tinyflash runs the HSI undivided, at 64 MHz")
        if self.pll.p % 2:
            raise ValueError(f"pll.p: DIVP1 must be even, got {self.pll.p} (RM0433 §8.7.12)")
        vin, vco = self._vco()
        _limit("pll.m", "PLL1 input", vin, 2 * MHZ, 16 * MHZ, ref)
        _limit("pll.n", "VCO output", vco, 192 * MHZ, 836 * MHZ, ref)
        f = self.frequencies()
        # maximum frequencies per voltage scale, rev Y and V alike (datasheet DS12110 Table 23)
        cpu_max, bus_max = {1: (400, 200), 2: (300, 150), 3: (200, 100)}[self.voltage_scale]
        _limit("pll.p" if self.d1cpre == 1 else "d1cpre", "CPU clock", f["cpu"], None, cpu_max * MHZ,
               f"VOS{self.voltage_scale}")
        _limit("hpre", "AXI/AHB clock", f["hclk"], None, bus_max * MHZ, f"VOS{self.voltage_scale}")
        for key, name in (("d1ppre", "pclk3"), ("d2ppre1", "pclk1"), ("d2ppre2", "pclk2"), ("d3ppre", "pclk4")):
            _limit(key, name.upper(), f[name], None, bus_max * MHZ // 2, f"VOS{self.voltage_scale}")
        # RM0433 Table 17: AXI clock per wait state; VOS1 70 MHz, VOS2 55 MHz, VOS3 45 MHz a step
        step = {1: 70, 2: 55, 3: 45}[self.voltage_scale] * MHZ
        need = _min_wait_states(f["hclk"], step)
        if self.flash_latency < need:
            raise ValueError(f"flash_latency: {_mhz(f['hclk'])} AXI clock needs at least {need} wait states at "
                             f"VOS{self.voltage_scale} (RM0433 Table 17)")
        if self.flash_wrhighfreq < min(need, 2):
            raise ValueError(f"flash_wrhighfreq: must be at least {min(need, 2)} for {_mhz(f['hclk'])} "
                             "(RM0433 Table 17)")
        return self


# ---- STM32L4+ (RM0432, STM32L4Rxxx/L4Sxxx) ---------------------------------------------------------
class Stm32l4Pll(StrictModel):
    m: Annotated[StrictInt, Field(ge=1, le=16)]
    n: Annotated[StrictInt, Field(ge=8, le=127)]
    r: Literal[2, 4, 6, 8]


class Stm32l4plusClock(_ClockBase):
    """Main PLL from HSI16, MSI or HSE; SYSCLK = PLLR output; the core runs at HCLK."""

    family: Literal["stm32l4plus"]
    source: Literal["hsi16", "msi", "hse"] = "hsi16"
    source_hz: Hertz = 16 * MHZ
    pll: Stm32l4Pll
    ahb_div: AhbDiv = 1
    apb1_div: ApbDiv = 1
    apb2_div: ApbDiv = 1
    voltage_range: Literal["1-boost", "1", "2"] = "1-boost"
    flash_latency: Annotated[StrictInt, Field(ge=0, le=15)]

    @property
    def core_output(self) -> str:
        return "hclk"

    def _vco(self) -> tuple[Fraction, Fraction]:
        vin = Fraction(self.source_hz, self.pll.m)
        return vin, vin * self.pll.n

    def frequencies(self) -> dict[str, int]:
        _, vco = self._vco()
        return _stm32_buses(_whole("pll", vco / self.pll.r), self.ahb_div, self.apb1_div, self.apb2_div)

    def describe(self) -> str:
        return (f"{self.source.upper()} {_mhz(self.source_hz)} / M {self.pll.m} x N {self.pll.n} / R {self.pll.r}"
                f" / AHB {self.ahb_div}")

    @model_validator(mode="after")
    def _limits(self) -> "Stm32l4plusClock":
        ref = "RM0432 §6.4.4 RCC_PLLCFGR"
        if self.source == "hsi16" and self.source_hz != 16 * MHZ:
            raise ValueError("source_hz: the HSI16 runs at 16 MHz")
        vin, vco = self._vco()
        _limit("pll.m", "VCO input", vin, 2_660_000, 16 * MHZ, ref)
        _limit("pll.n", "VCO output", vco, 64 * MHZ, 344 * MHZ, ref)
        f = self.frequencies()
        top, step = {"1-boost": (120, 20), "1": (80, 16), "2": (26, 8)}[self.voltage_range]
        _limit("pll.r" if self.ahb_div == 1 else "ahb_div", "HCLK", f["hclk"], None, top * MHZ,
               f"voltage range {self.voltage_range} (RM0432 §5.1.8)")
        # RM0432 Table 12: wait states per HCLK step in each range
        need = _min_wait_states(f["hclk"], step * MHZ)
        if self.flash_latency < need:
            raise ValueError(f"flash_latency: {_mhz(f['hclk'])} HCLK in range {self.voltage_range} needs at least "
                             f"{need} wait states (RM0432 Table 12)")
        return self


# ---- nRF52 (nRF52840 PS v1.7 §6.4) -----------------------------------------------------------------
class Nrf52Clock(_ClockBase):
    """The CPU always runs at 64 MHz; starting the 32 MHz crystal (HFXO) makes HFCLK, and with it the
    UARTE baud rate and the TIMER ticks, crystal-accurate instead of the ±1.5 % internal HFINT."""

    family: Literal["nrf52"]
    source: Literal["hfxo", "hfint"] = "hfxo"

    @property
    def core_output(self) -> str:
        return "cpu"

    def frequencies(self) -> dict[str, int]:
        return {"cpu": 64 * MHZ, "pclk16m": 16 * MHZ, "pclk1m": MHZ}

    def describe(self) -> str:
        return f"HFCLK from {self.source.upper()}, CPU 64 MHz"


# ---- RP2040 (RP2040 datasheet §2.15-2.18) ----------------------------------------------------------
class Rp2040Pll(StrictModel):
    refdiv: Annotated[StrictInt, Field(ge=1, le=63)]
    fbdiv: Annotated[StrictInt, Field(ge=16, le=320)]
    postdiv1: Annotated[StrictInt, Field(ge=1, le=7)]
    postdiv2: Annotated[StrictInt, Field(ge=1, le=7)]


class Rp2040Clock(_ClockBase):
    """XOSC -> PLL_SYS -> clk_sys (the cores); clk_ref from XOSC; clk_peri (UARTs) from clk_sys."""

    family: Literal["rp2040"]
    source: Literal["xosc"] = "xosc"
    source_hz: Hertz = 12 * MHZ
    pll: Rp2040Pll
    xosc_startup_ms: Annotated[StrictInt, Field(ge=1, le=100)] = 1

    @property
    def core_output(self) -> str:
        return "clk_sys"

    def _vco(self) -> tuple[Fraction, Fraction]:
        ref = Fraction(self.source_hz, self.pll.refdiv)
        return ref, ref * self.pll.fbdiv

    @property
    def xosc_startup_delay(self) -> int:
        """XOSC STARTUP.DELAY counts 256 oscillator cycles (datasheet §2.16.3)."""
        return -(-self.source_hz * self.xosc_startup_ms // 1000 // 256)

    def frequencies(self) -> dict[str, int]:
        _, vco = self._vco()
        clk_sys = _whole("pll", vco / (self.pll.postdiv1 * self.pll.postdiv2))
        return {"clk_sys": clk_sys, "clk_ref": self.source_hz, "clk_peri": clk_sys}

    def describe(self) -> str:
        p = self.pll
        return (f"XOSC {_mhz(self.source_hz)} / REFDIV {p.refdiv} x FBDIV {p.fbdiv} / POSTDIV1 {p.postdiv1}"
                f" / POSTDIV2 {p.postdiv2}")

    @model_validator(mode="after")
    def _limits(self) -> "Rp2040Clock":
        ref = "RP2040 datasheet §2.18.2"
        _limit("source_hz", "XOSC", self.source_hz, MHZ, 15 * MHZ, "datasheet §2.16.1, FREQ_RANGE 1_15MHZ")
        vin, vco = self._vco()
        _limit("pll.refdiv", "reference", vin, 5 * MHZ, None, ref)
        _limit("pll.fbdiv", "VCO", vco, 750 * MHZ, 1600 * MHZ, ref)
        _limit("pll", "clk_sys", self.frequencies()["clk_sys"], None, 133 * MHZ, "datasheet §1.2, 133 MHz")
        return self


# one list of clock classes; the union, the family names and the discriminated field all come from it
AnyClock = Union[Stm32f7Clock, Stm32h7Clock, Stm32l4plusClock, Nrf52Clock, Rp2040Clock]
ClockTree = Annotated[AnyClock, Field(discriminator="family")]
CLOCK_FAMILIES: tuple[str, ...] = tuple(typing.get_args(cls.model_fields["family"].annotation)[0]
                                        for cls in typing.get_args(AnyClock))
