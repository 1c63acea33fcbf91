"""The board schema. The class is the schema: unknown keys are errors, defaults live here only.

A board is data (style rule 12): a new MCU of a known peripheral family is one YAML file.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Literal, Optional, Union

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictInt, model_validator

from tinyflash.board.clock import ClockTree
from tinyflash.config_file import StrictModel

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMG]?)(i?B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024}


def _parse_size(value: object) -> object:
    """Sizes may be written 131072, '128K' or '4M' (binary units, as linker scripts use)."""
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if not match:
            raise ValueError(f"expected a size such as 131072, '128K' or '4M', got {value!r}")
        return int(match.group(1)) * _UNITS[match.group(2).upper()]
    return value


Size = Annotated[StrictInt, BeforeValidator(_parse_size), Field(ge=0)]
Address = Annotated[StrictInt, Field(ge=0, le=0xFFFF_FFFF)]
Hertz = Annotated[StrictInt, Field(gt=0)]


class Core(str, enum.Enum):
    CORTEX_M0PLUS = "cortex-m0plus"
    CORTEX_M3 = "cortex-m3"
    CORTEX_M4 = "cortex-m4"
    CORTEX_M7 = "cortex-m7"
    CORTEX_M33 = "cortex-m33"
    CORTEX_M55 = "cortex-m55"


class Fpu(str, enum.Enum):
    NONE = "none"
    SINGLE = "sp"      # single precision only
    DOUBLE = "dp"      # single and double precision


class Mve(str, enum.Enum):
    NONE = "none"
    INT = "int"
    FLOAT = "float"


class UartFamily(str, enum.Enum):
    CMSDK_APB_UART = "cmsdk-apb-uart"
    STM32_USART_V1 = "stm32-usart-v1"   # F1/F2/F4: SR/DR/BRR/CR1
    STM32_USART_V2 = "stm32-usart-v2"   # F7/H7/L4/G4: ISR/RDR/TDR, BRR = fck/baud
    STM32_LPUART = "stm32-lpuart"       # v2 registers, BRR = 256*fck/baud
    NRF_UARTE = "nrf-uarte"             # nRF52 UART with EasyDMA
    PL011 = "pl011"                     # Arm PrimeCell UART (RP2040 UART0/1)


class TimerFamily(str, enum.Enum):
    CMSDK_TIMER = "cmsdk-timer"
    SSE300_SYSCOUNTER = "sse300-syscounter"
    STM32_TIM = "stm32-tim"             # 32-bit general purpose timer (TIM2/TIM5)
    NRF_TIMER = "nrf-timer"             # nRF52 TIMERn, 32-bit, power-of-two prescaler
    RP2040_TIMER = "rp2040-timer"       # 64-bit µs counter ticked by the watchdog tick generator


class FlashMethod(str, enum.Enum):
    QEMU = "qemu"
    PYOCD = "pyocd"


MAX_TIMEOUT_MULTIPLIER = 1000.0


class ResetKind(str, enum.Enum):
    HARDWARE = "hardware"
    SOFTWARE = "software"
    EMULATED = "emulated"


_FIELDS_OF = {
    # core: (allowed fpu, dsp possible, dsp mandatory, mve possible, gcc -mfpu per fpu)
    Core.CORTEX_M0PLUS: ({Fpu.NONE}, False, False, False, {}),
    Core.CORTEX_M3: ({Fpu.NONE}, False, False, False, {}),
    Core.CORTEX_M4: ({Fpu.NONE, Fpu.SINGLE}, True, True, False, {Fpu.SINGLE: "fpv4-sp-d16"}),
    Core.CORTEX_M7: ({Fpu.NONE, Fpu.SINGLE, Fpu.DOUBLE}, True, True, False,
                     {Fpu.SINGLE: "fpv5-sp-d16", Fpu.DOUBLE: "fpv5-d16"}),
    Core.CORTEX_M33: ({Fpu.NONE, Fpu.SINGLE}, True, False, False, {Fpu.SINGLE: "fpv5-sp-d16"}),
    Core.CORTEX_M55: ({Fpu.NONE, Fpu.DOUBLE}, True, True, True, {Fpu.DOUBLE: "auto"}),
}


class MemoryRegion(StrictModel):
    origin: Address
    size: Size

    @property
    def end(self) -> int:
        return self.origin + self.size


class Memory(StrictModel):
    flash: MemoryRegion = Field(description="code and constants (weights)")
    ram: MemoryRegion = Field(description="data, bss, activation arena and stack")
    tcm: Optional[MemoryRegion] = Field(default=None, description="optional tightly coupled data memory")

    @model_validator(mode="after")
    def _regions_fit(self) -> "Memory":
        for name in ("flash", "ram", "tcm"):
            region = getattr(self, name)
            if region is not None and region.end > 0x1_0000_0000:
                raise ValueError(f"{name}: region ends at {region.end:#x}, past the 4 GiB address space")
        named = [(n, getattr(self, n)) for n in ("flash", "ram", "tcm") if getattr(self, n) is not None]
        for i, (a_name, a) in enumerate(named):
            for b_name, b in named[i + 1:]:
                if a.origin < b.end and b.origin < a.end:
                    raise ValueError(f"regions {a_name} and {b_name} overlap")
        return self


UsbId16 = Annotated[StrictInt, Field(ge=0, le=0xFFFF)]


class UsbId(StrictModel):
    """The USB vendor and product id of the board's serial port (its debug probe's virtual COM port)."""

    vid: UsbId16 = Field(description="USB vendor id, e.g. 0x0483 (STMicroelectronics)")
    pid: UsbId16 = Field(description="USB product id, e.g. 0x374B (ST-LINK/V2-1)")


class Uart(StrictModel):
    family: UartFamily
    base: Address
    irq: Annotated[StrictInt, Field(ge=0, le=495)] = Field(description="NVIC interrupt number of RX")
    clock_hz: Hertz = Field(description="peripheral (kernel) clock feeding the baud generator")
    bus: Optional[str] = Field(default=None, description="output of the board's clock tree feeding the UART")
    baud: Hertz = 115200
    tx_pin: Optional[Annotated[StrictInt, Field(ge=0, le=63)]] = Field(
        default=None, description="pin number, for families that route pins in the UART (nrf-uarte)")
    rx_pin: Optional[Annotated[StrictInt, Field(ge=0, le=63)]] = None
    usb: Optional[UsbId] = Field(
        default=None, description="USB VID:PID of the serial port this UART reaches the host through: how the "
                                  "official MLPerf Tiny runner finds the DUT (its devices yaml, spec §3.3); "
                                  "real boards only")

    @model_validator(mode="after")
    def _pins(self) -> "Uart":
        if self.family is UartFamily.NRF_UARTE and (self.tx_pin is None or self.rx_pin is None):
            raise ValueError("tx_pin: nrf-uarte needs tx_pin and rx_pin (the UART routes its own pins)")
        return self


class Timer(StrictModel):
    """The free-running µs timestamp source (m-lap-us). SysTick is kept for cycle counts."""

    family: TimerFamily
    base: Address
    irq: Optional[Annotated[StrictInt, Field(ge=0, le=495)]] = None
    clock_hz: Hertz
    bus: Optional[str] = Field(default=None, description="output of the board's clock tree feeding the timer")

    @model_validator(mode="after")
    def _needs_base(self) -> "Timer":
        if self.clock_hz % 1_000_000:
            raise ValueError("clock_hz: must be a whole number of MHz (µs timestamps divide by it exactly)")
        if self.family is TimerFamily.NRF_TIMER:
            ratio = self.clock_hz // 1_000_000
            if ratio & (ratio - 1):
                raise ValueError("clock_hz: nrf-timer prescales by powers of two; the clock must be 2^n MHz")
        if self.family in (TimerFamily.CMSDK_TIMER, TimerFamily.STM32_TIM, TimerFamily.NRF_TIMER) and self.irq is None:
            raise ValueError(f"irq: required for timer family {self.family.value} (its wrap interrupt)")
        return self


class RegisterWrite(StrictModel):
    """One read-modify-write done before the drivers start: clock gates, pin muxing, power."""

    addr: Address
    set: Address = 0
    clear: Address = 0
    wait_set: Optional[Address] = Field(default=None, description="then poll until these bits read 1")
    wait_addr: Optional[Address] = Field(default=None, description="poll this register for wait_set instead "
                                                                   "(e.g. a RESET_DONE beside a RESET register)")
    note: str = ""


class Boot2(StrictModel):
    """RP2040 second-stage bootloader: the bootrom copies the first 256 bytes of flash to SRAM, checks
    their CRC32 and runs them; they set up the flash interface (SSI) for execute-in-place."""

    family: Literal["rp2040-03h"] = Field(description="standard SPI 03h reads: every QSPI flash has them")
    clock_div: Annotated[StrictInt, Field(ge=2, le=65534, multiple_of=2)] = Field(
        default=4, description="SSI BAUDR: SCK = clk_sys / clock_div (even, datasheet §4.10.13)")
    flash_max_hz: Hertz = Field(default=50_000_000,
                                description="the flash's limit for 03h reads (W25Q16JV datasheet: 50 MHz)")

    @property
    def size(self) -> int:
        return 256


class QemuFlash(StrictModel):
    method: Literal["qemu"]         # FlashMethod.QEMU (a test ties the tags to the enum)
    machine: str = Field(min_length=1)
    icount_shift: Annotated[StrictInt, Field(ge=0, le=10)] = 0


class PyocdFlash(StrictModel):
    method: Literal["pyocd"]        # FlashMethod.PYOCD
    target: str = Field(min_length=1)
    frequency: Hertz = 4_000_000
    reset: ResetKind = ResetKind.HARDWARE
    connect_mode: Literal["halt", "pre-reset", "under-reset", "attach"] = "halt"
    pack: Optional[str] = Field(default=None, description="CMSIS pack this target needs, if not builtin")


def _bounded_multiplier(value: float) -> float:
    # .inf or 1e308 made a silent UART wait forever (#11.8); 1000x turns a 60 s inference timeout
    # into 16 hours, more than any board or emulator needs
    if not value <= MAX_TIMEOUT_MULTIPLIER:
        raise ValueError(f"must be a finite number at most {MAX_TIMEOUT_MULTIPLIER:g}, got {value!r}: a silent "
                         f"board would be waited for (nearly) forever; slow boards need 2-50")
    return value


# a board's, or a farm unit's (slow hub, long cable), factor on every deadline
TimeoutMultiplier = Annotated[float, Field(gt=0), AfterValidator(_bounded_multiplier)]


class Board(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str = ""
    vendor: str = ""
    core: Core
    fpu: Fpu = Fpu.NONE
    dsp: Optional[StrictBool] = None
    mve: Mve = Mve.NONE
    clock_hz: Hertz = Field(description="core clock; SysTick counts it")
    clock: Optional[ClockTree] = Field(default=None, description="oscillator/PLL/bus set-up run at boot")
    memory: Memory
    boot2: Optional[Boot2] = None
    stack_size: Size = 8192
    uart: Uart
    timer: Timer
    init: tuple[RegisterWrite, ...] = ()
    flash: Annotated[Union[QemuFlash, PyocdFlash], Field(discriminator="method")]
    timeout_multiplier: TimeoutMultiplier = 1.0

    @model_validator(mode="after")
    def _consistent(self) -> "Board":
        fpus, dsp_possible, dsp_mandatory, mve_possible, _ = _FIELDS_OF[self.core]
        if self.fpu not in fpus:
            allowed = ", ".join(sorted(f.value for f in fpus))
            raise ValueError(f"fpu: {self.core.value} has no '{self.fpu.value}' FPU (allowed: {allowed})")
        if self.dsp and not dsp_possible:
            raise ValueError(f"dsp: {self.core.value} has no DSP extension")
        if self.dsp is False and dsp_mandatory:
            raise ValueError(f"dsp: {self.core.value} always has the DSP extension")
        if self.mve is not Mve.NONE and not mve_possible:
            raise ValueError(f"mve: {self.core.value} has no Helium (MVE)")
        if self.mve is Mve.FLOAT and self.fpu is Fpu.NONE:
            raise ValueError("mve: float MVE needs an FPU (set fpu: dp)")
        self._check_clock_tree()
        if self.boot2 is not None:
            if self.core is not Core.CORTEX_M0PLUS:
                raise ValueError("boot2: only the RP2040 (cortex-m0plus) boots through a second stage")
            sck = self.clock_hz // self.boot2.clock_div
            if sck > self.boot2.flash_max_hz:
                raise ValueError(f"boot2.clock_div: flash clock {self.clock_hz} / {self.boot2.clock_div} = {sck} Hz "
                                 f"exceeds flash_max_hz {self.boot2.flash_max_hz}")
        if self.stack_size >= self.memory.ram.size:
            raise ValueError(f"stack_size: {self.stack_size} bytes does not fit memory.ram "
                             f"({self.memory.ram.size} bytes)")
        return self

    def _check_clock_tree(self) -> None:
        """The clock tree must produce the frequencies the rest of the file states: the core clock
        (SysTick cycles, the performance calibration) and the UART and timer kernel clocks (baud
        divisors, µs prescalers)."""
        if self.clock is None:
            return
        tree = self.clock.frequencies()
        if self.clock.core_hz != self.clock_hz:
            raise ValueError(f"clock: the clock tree gives a {self.clock.core_hz} Hz core clock "
                             f"({self.clock.describe()}) but clock_hz states {self.clock_hz}")
        for name, part in (("uart", self.uart), ("timer", self.timer)):
            if part.bus is None:
                raise ValueError(f"{name}.bus: required with a clock: section (one of {', '.join(tree)})")
            if part.bus not in tree:
                raise ValueError(f"{name}.bus: '{part.bus}' is not an output of the {self.clock.family} clock tree "
                                 f"(one of {', '.join(tree)})")
            if tree[part.bus] != part.clock_hz:
                raise ValueError(f"{name}.clock_hz: {part.clock_hz} but the clock tree gives {part.bus} = "
                                 f"{tree[part.bus]}")

    # ---- derived facts (one place) --------------------------------------------------------------
    @property
    def has_dsp(self) -> bool:
        return _FIELDS_OF[self.core][2] or bool(self.dsp)

    @property
    def emulated(self) -> bool:
        return isinstance(self.flash, QemuFlash)

    @property
    def icount_shift(self) -> Optional[int]:
        """QEMU's -icount shift (2^N virtual ns per instruction), None for boards with a real clock."""
        return self.flash.icount_shift if isinstance(self.flash, QemuFlash) else None

    def gcc_cpu_flags(self) -> tuple[str, ...]:
        cpu = self.core.value
        if self.core is Core.CORTEX_M55:
            if self.mve is Mve.NONE:
                cpu += "+nomve"
            elif self.mve is Mve.INT:
                cpu += "+nomve.fp"
            if self.fpu is Fpu.NONE:
                cpu += "+nofp"
        elif self.core is Core.CORTEX_M33 and not self.dsp:
            cpu += "+nodsp"
        flags = [f"-mcpu={cpu}", "-mthumb"]
        mfpu = _FIELDS_OF[self.core][4].get(self.fpu)
        if mfpu:
            flags += [f"-mfpu={mfpu}", "-mfloat-abi=hard"]
        else:
            flags += ["-mfloat-abi=soft"]
        return tuple(flags)

    def vendor_string(self) -> str:
        # m-name-dut-[...]: non-empty, no ']' (the official runner's regex).
        return f"tinyflash {self.name}".replace("]", ")")
