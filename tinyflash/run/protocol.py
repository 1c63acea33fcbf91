"""The MLPerf Tiny protocol, host side, as pure functions over received lines (no port in sight).

Tested on recorded transcripts; the session driver feeds it what the link reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from tinyflash.errors import DeviceFaultError, DeviceReportedError, ProtocolError

READY = "m-ready"
# numbers are bounded to what a 64-bit counter prints: int() of a longer run of digits is slow, and past
# 4300 digits it raises ValueError (CPython's int_max_str_digits) instead of a ProtocolError
_LAP = re.compile(r"^m-lap-us-(\d{1,20})$")
_RESULTS = re.compile(r"^m-results-\[([^]]+)\]$")
_NAME = re.compile(r"^m-name-dut-\[([^]]+)\]$")
_PROFILE = re.compile(r"^m-(profile|model)-\[([^]]+)\]$")
_EXPECTING = re.compile(r"^m-\[Expecting (\d{1,20}) bytes\]$")
_WARMUP = re.compile(r"^m-warmup-start-(\d{1,20})$")
_INFER = re.compile(r"^m-infer-start-(\d{1,20})$")
_TF_OUTPUT = re.compile(r"^m-tf-output-(\d{1,20})-([0-9a-f]*)$")
_TF_CYCLES = re.compile(r"^m-tf-cycles-(\d{1,20})-(\d{1,20})$")
_TF_DB_CRC32 = re.compile(r"^m-tf-db-crc32-([0-9a-f]{8})$")
_TF_PROFILE = re.compile(r"^m-tf-profile-(\d{1,20})-(\d{1,20})$")
_TF_INFO_NUM = re.compile(r"^m-tf-([a-z-]+?)-(\d{1,20})$")
_TF_INFO_STR = re.compile(r"^m-tf-([a-z-]+)-\[([^]]*)\]$")
_ERROR = re.compile(r"^e-\[(.*)\]$")


def error_lines(lines: Sequence[str]) -> list[str]:
    return [line for line in lines if line.startswith("e-")]


def raise_on_error(command: str, lines: Sequence[str]) -> None:
    errors = error_lines(lines)
    if errors:
        match = _ERROR.match(errors[0])
        raise DeviceReportedError(f"the device refused '{command}': {match.group(1) if match else errors[0]}",
                                  last_lines=lines)


def parse_name(lines: Sequence[str]) -> str:
    for line in lines:
        m = _NAME.match(line)
        if m:
            return m.group(1)
    raise ProtocolError("no m-name-dut-[...] line in the answer to 'name'", last_lines=lines)


def parse_profile(lines: Sequence[str]) -> tuple[str, str]:
    found = {m.group(1): m.group(2) for m in (_PROFILE.match(line) for line in lines) if m}
    if "profile" not in found or "model" not in found:
        raise ProtocolError("the answer to 'profile' lacks m-profile-[...] or m-model-[...]", last_lines=lines)
    return found["profile"], found["model"]


def parse_expecting(lines: Sequence[str]) -> int:
    for line in lines:
        m = _EXPECTING.match(line)
        if m:
            return int(m.group(1))
    raise ProtocolError("no m-[Expecting N bytes] line in the answer to 'db load'", last_lines=lines)


def parse_results(line: str) -> Optional[list[float]]:
    m = _RESULTS.match(line)
    if not m:
        return None
    values = []
    for item in m.group(1).split(","):
        if item.strip():
            try:
                values.append(float(item))
            except ValueError:
                return None
    return values


@dataclass(frozen=True)
class InferResponse:
    iterations: int
    warmups: int
    start_us: int
    end_us: int
    results: tuple[float, ...]

    @property
    def elapsed_us(self) -> int:
        return self.end_us - self.start_us


def parse_infer(lines: Sequence[str]) -> InferResponse:
    """The §1.6 sequence: warmup-start, warmup-done, infer-start, two laps, infer-done, results."""
    raise_on_error("infer", lines)
    laps = [int(m.group(1)) for m in (_LAP.match(line) for line in lines) if m]
    warm = [int(m.group(1)) for m in (_WARMUP.match(line) for line in lines) if m]
    iters = [int(m.group(1)) for m in (_INFER.match(line) for line in lines) if m]
    results = [r for r in (parse_results(line) for line in lines) if r is not None]
    missing = []
    if not warm or "m-warmup-done" not in lines:
        missing.append("warm-up lines")
    if not iters:
        missing.append("m-infer-start-N")
    if len(laps) != 2:
        missing.append(f"exactly two m-lap-us lines (got {len(laps)})")
    if "m-infer-done" not in lines:
        missing.append("m-infer-done")
    if len(results) != 1:
        missing.append("one m-results-[...] line")
    if missing:
        raise ProtocolError("malformed answer to 'infer': missing " + ", ".join(missing), last_lines=lines)
    if laps[1] < laps[0]:
        raise ProtocolError(f"the µs timer went backwards ({laps[0]} -> {laps[1]})", last_lines=lines)
    return InferResponse(iters[0], warm[0], laps[0], laps[1], tuple(results[0]))


def parse_tf_output(lines: Sequence[str], expected_bytes: Optional[int] = None) -> bytes:
    chunks: dict[int, bytes] = {}
    for line in lines:
        m = _TF_OUTPUT.match(line)
        if m:
            if len(m.group(2)) % 2:
                # a byte cut in half: the line was garbled on the way (#11.9), not rc 2 from fromhex
                raise ProtocolError(f"tf-output: odd number of hex digits at byte {m.group(1)}", last_lines=lines,
                                    hint="the serial line dropped a character; retry, or lower the baud rate")
            chunks[int(m.group(1))] = bytes.fromhex(m.group(2))
    data = b""
    for offset in sorted(chunks):
        if offset != len(data):
            raise ProtocolError(f"tf-output: gap at byte {len(data)}", last_lines=lines)
        data += chunks[offset]
    if expected_bytes is not None and len(data) != expected_bytes:
        raise ProtocolError(f"tf-output: {len(data)} bytes, expected {expected_bytes}", last_lines=lines)
    return data


def parse_tf_cycles(lines: Sequence[str]) -> tuple[int, int]:
    for line in lines:
        m = _TF_CYCLES.match(line)
        if m:
            return int(m.group(1)), int(m.group(2))
    raise ProtocolError("no m-tf-cycles-C-N line in the answer to 'tf-cycles'", last_lines=lines)


def parse_tf_db_crc32(lines: Sequence[str]) -> int:
    for line in lines:
        m = _TF_DB_CRC32.match(line)
        if m:
            return int(m.group(1), 16)
    raise ProtocolError("no m-tf-db-crc32-XXXXXXXX line in the answer to 'tf-db-set'", last_lines=lines)


def parse_tf_profile(lines: Sequence[str]) -> list[int]:
    """Per-layer cycles of 'tf-profile', in layer order; the indices must run 0..n-1."""
    cycles: list[int] = []
    for line in lines:
        m = _TF_PROFILE.match(line)
        if m:
            if int(m.group(1)) != len(cycles):
                raise ProtocolError(f"tf-profile: layer {m.group(1)} where {len(cycles)} was expected",
                                    last_lines=lines)
            cycles.append(int(m.group(2)))
    if not cycles:
        raise ProtocolError("no m-tf-profile-I-C lines in the answer to 'tf-profile'", last_lines=lines)
    return cycles


def parse_tf_info(lines: Sequence[str]) -> dict[str, object]:
    info: dict[str, object] = {}
    for line in lines:
        m = _TF_INFO_STR.match(line)
        if m:
            info[m.group(1)] = m.group(2)
            continue
        m = _TF_INFO_NUM.match(line)
        if m:
            info[m.group(1)] = int(m.group(2))
    return info


# --- faults -------------------------------------------------------------------------------------
# The startup code's fault handler prints e-[fault: exception N CFSR=0x... HFSR=0x... BFAR=0x...] (ARMv7-M
# and v8-M mainline; v6-M has no fault status registers: e-[fault: exception N]) and stops. Bits from the
# Armv7-M Architecture Reference Manual B3.2.15 (CFSR = UFSR:BFSR:MMFSR) and B3.2.16 (HFSR).
_FAULT = re.compile(r"^e-\[fault: exception (\d{1,3})(?: CFSR=0x([0-9a-fA-F]{1,8}) HFSR=0x([0-9a-fA-F]{1,8})"
                    r" BFAR=0x([0-9a-fA-F]{1,8}))?\]$")
_EXCEPTIONS = {2: "NMI", 3: "HardFault", 4: "MemManage fault", 5: "BusFault", 6: "UsageFault",
               7: "SecureFault", 11: "SVCall", 12: "DebugMonitor", 14: "PendSV", 15: "SysTick"}
_BOARD_CORE = "check core/dsp in the board file (and that flash.machine emulates that core)"
# bit: (what happened, what to do); the first set bit in this order is the cause reported
_CFSR_BITS: tuple[tuple[int, str, str], ...] = (
    (16, "undefined instruction", f"the firmware uses an instruction this core lacks; {_BOARD_CORE}"),
    (19, "no coprocessor (FPU or MVE instruction with the unit absent or off)",
     "the firmware uses the FPU or Helium this core lacks or has not enabled; check fpu/mve in the board file"),
    (17, "invalid state (an instruction executed with the Thumb bit clear)",
     "a bad function pointer or vector table entry; rebuild, and check the ELF is the one for this board"),
    (18, "invalid PC on exception return", "the stack was corrupted; increase stack_size in the board file"),
    (20, "stack overflow (stack limit register)", "increase stack_size in the board file"),
    (12, "bus fault while stacking for an exception", "the stack ran out of RAM; increase memory.ram or "
                                                       "reduce stack_size / the model"),
    (4, "MPU fault while stacking for an exception", "the stack overflowed; increase stack_size"),
    (8, "bus fault on an instruction fetch", "code ran from an address with no memory; check memory.flash "
                                             "in the board file"),
    (9, "precise bus fault on a data access", "the firmware read or wrote an address with nothing behind it; "
                                              "check memory, uart.base and timer.base in the board file"),
    (10, "imprecise bus fault on a data write", "the firmware wrote an address with nothing behind it; check "
                                                "memory, uart.base and timer.base in the board file"),
    (0, "MPU fault on an instruction fetch", "code ran from a non-executable region"),
    (1, "MPU fault on a data access", "a null or wild pointer; check the model fits the board"),
    (24, "unaligned access", "an unaligned access with UNALIGN_TRP set; a runtime bug, please report it"),
    (25, "division by zero", "a runtime bug (DIV_0_TRP set), please report it"),
)


@dataclass(frozen=True)
class Fault:
    exception: int
    cfsr: Optional[int] = None
    hfsr: Optional[int] = None
    bfar: Optional[int] = None

    @property
    def exception_name(self) -> str:
        if self.exception >= 16:
            return f"interrupt {self.exception - 16} (no handler)"
        return _EXCEPTIONS.get(self.exception, f"exception {self.exception}")

    def describe(self) -> tuple[str, str]:
        """(what happened, what to do)."""
        where = self.exception_name
        if self.exception >= 16:
            return (f"{where}", "an interrupt is enabled that no driver handles; check uart.irq and timer.irq "
                                "in the board file")
        if self.cfsr is None:
            return (f"{where} (this core reports no fault status)",
                    "check core, memory and peripheral addresses in the board file; rerun on an emulated "
                    "board for a decoded cause")
        for bit, what, hint in _CFSR_BITS:
            if self.cfsr & (1 << bit):
                bfar_valid = bool(self.cfsr & (1 << 15)) and self.bfar is not None   # BFARVALID
                detail = f" at {self.bfar:#010x}" if bit in (8, 9) and bfar_valid else ""
                return f"{where}: {what}{detail} (CFSR={self.cfsr:#010x})", hint
        if self.hfsr is not None and self.hfsr & (1 << 1):
            return (f"{where}: vector table read failed (HFSR={self.hfsr:#010x})",
                    "the vector table is not where the core looks; check memory.flash.origin in the board file")
        return (f"{where} (CFSR={self.cfsr:#010x} HFSR={(self.hfsr or 0):#010x})",
                "check core, memory and peripheral addresses in the board file")


def parse_fault(line: str) -> Optional[Fault]:
    """The fault an ``e-[fault: ...]`` line reports, None for any other line."""
    m = _FAULT.match(line)
    if not m:
        return None
    regs = [int(g, 16) if g is not None else None for g in m.groups()[1:]]
    return Fault(int(m.group(1)), *regs)


def raise_on_fault(line: str, lines: Sequence[str]) -> None:
    """A fault line ends the wait: the firmware stopped and will not answer (#11.6)."""
    if not line.startswith("e-[fault"):
        return
    fault = parse_fault(line)
    if fault is None:     # garbled on the way: still a fault, still no point in waiting
        raise DeviceFaultError(f"the firmware faulted: {line[:120]}", exception=0, last_lines=lines,
                               hint="check core, memory and peripheral addresses in the board file")
    what, hint = fault.describe()
    raise DeviceFaultError(f"the firmware faulted: {what}", exception=fault.exception, cfsr=fault.cfsr,
                           hfsr=fault.hfsr, bfar=fault.bfar, last_lines=lines, hint=hint)
