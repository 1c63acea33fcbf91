"""The session driver: one command at a time, each answer read to its m-ready line under a deadline."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable, Optional

from tinyflash.deadline import Deadline, check_seconds
from tinyflash.errors import DeviceReportedError, ProtocolError
from tinyflash.run import protocol
from tinyflash.run.link import SerialLink

CHUNK_BYTES = 31   # 62 hex digits per db command, as the official runner sends (spec §1.5)
# write(address, data) into the target's RAM while the firmware idles (an emulator's gdbstub)
MemoryWriter = Callable[[int, bytes], None]


@dataclass(frozen=True)
class Timeouts:
    """Seconds, before the board's timeout multiplier is applied."""

    boot: float = 10.0
    command: float = 5.0
    infer: float = 60.0

    def __post_init__(self) -> None:
        for name in ("boot", "command", "infer"):
            check_seconds(getattr(self, name), f"{name} timeout")


class DeviceSession:
    def __init__(self, link: SerialLink, *, timeouts: Timeouts = Timeouts(), multiplier: float = 1.0,
                 memory: Optional[MemoryWriter] = None) -> None:
        self.link = link
        # with a memory port and a firmware that says where its input buffer is (tf-info), inputs are
        # written there and committed with tf-db-set: the UART's hex upload is one byte per transfer,
        # ~1.5 s of emulator work for a 27 KB vww input (#14)
        self.memory = memory
        self._db_buffer: Optional[tuple[int, int]] = None   # (address, capacity) from tf-info
        self._asked_info = False
        self.timeouts = timeouts
        self.multiplier = check_seconds(multiplier, "timeout multiplier")
        # the bytes the device's db buffer holds (after a complete load), or None when unknown: infer
        # copies the buffer into the model input and leaves it as it was, so loading the same bytes
        # again is a no-op the host can skip (each 27 KB vww upload is ~900 commands, seconds in QEMU)
        self._loaded: Optional[bytes] = None
        # how inputs reached the device so far: "uart", "memory port", or both joined (results.json)
        self._upload_paths: list[str] = []

    def _deadline(self, seconds: float) -> Deadline:
        return Deadline.after(seconds, multiplier=self.multiplier)

    def wait_boot(self) -> list[str]:
        """Read the boot banner up to its m-ready (after m-init-done)."""
        deadline = self._deadline(self.timeouts.boot)
        lines: list[str] = []
        while True:
            line = self.link.read_line(deadline, "boot banner (m-init-done, m-ready)")
            lines.append(line)
            protocol.raise_on_fault(line, lines)
            if line == protocol.READY and "m-init-done" in lines:
                protocol.raise_on_error("boot", lines)
                return lines

    def command(self, text: str, *, timeout: Optional[float] = None, check: bool = True) -> list[str]:
        deadline = self._deadline(timeout if timeout is not None else self.timeouts.command)
        if text.split(" ", 1)[0] in ("db", "tf-db-set"):
            self._loaded = None          # the buffer changes (or may: a failed command part-way)
        self.link.write(text + "%")
        lines: list[str] = []
        while True:
            line = self.link.read_line(deadline, f"answer to '{text[:20]}'")
            protocol.raise_on_fault(line, lines + [line])
            if line == protocol.READY:
                break
            if line.startswith("m-ready"):
                raise ProtocolError(f"garbled end of answer to '{text[:20]}': {line!r}", last_lines=lines + [line])
            if line.startswith("m-timestamp-mode-") or line == "m-init-done":
                # the boot banner in the middle of an answer: the device reset (watchdog, brown-out,
                # a fault that rebooted it, DTR on some boards)
                raise ProtocolError(f"the device reset while answering '{text[:20]}'", last_lines=lines + [line],
                                    hint="check power and reset wiring; a board that resets on serial port open "
                                         "(DTR) needs that disabled")
            if line:
                lines.append(line)
        if check:
            protocol.raise_on_error(text.split(" ")[0], lines)
        return lines

    # -- protocol commands -------------------------------------------------------------------------
    def name(self) -> str:
        return protocol.parse_name(self.command("name"))

    def profile(self) -> tuple[str, str]:
        return protocol.parse_profile(self.command("profile"))

    def load(self, data: bytes) -> None:
        """db load N, then N bytes as hex; checks m-[Expecting N bytes] and the final m-load-done.
        With a memory port (see __init__): the bytes written into the buffer, then tf-db-set N.

        Nothing is sent when the device already holds exactly these bytes from this session's last load."""
        if self._loaded is not None and self._loaded == data:
            return
        if self.memory is not None and not self._asked_info:
            try:
                self.tf_info()
            except DeviceReportedError:      # a firmware without tinyflash's extensions: hex it is
                pass
        if self.memory is not None and self._db_buffer is not None and 0 < len(data) <= self._db_buffer[1]:
            self._load_through_memory(data, self._db_buffer[0])
            path = "memory port"
        else:
            self._upload_hex(data)
            path = "uart"
        if path not in self._upload_paths:
            self._upload_paths.append(path)
        self._loaded = bytes(data)

    @property
    def input_upload(self) -> str:
        """How this session's inputs reached the device: "uart" (the protocol's db hex), "memory port"
        (written into the input buffer, then tf-db-set), or both joined by " and "."""
        return " and ".join(self._upload_paths) or "uart"

    def _upload_hex(self, data: bytes) -> None:
        expecting = protocol.parse_expecting(self.command(f"db load {len(data)}"))
        if expecting != len(data):
            raise ProtocolError(f"device expects {expecting} bytes after 'db load {len(data)}'")
        last: list[str] = []
        for start in range(0, len(data), CHUNK_BYTES):
            last = self.command("db " + data[start:start + CHUNK_BYTES].hex())
            if "m-load-done" in last and start + CHUNK_BYTES < len(data):
                raise ProtocolError(f"m-load-done after {start + CHUNK_BYTES} of {len(data)} bytes", last_lines=last)
        if "m-load-done" not in last:
            raise ProtocolError(f"no m-load-done after uploading {len(data)} bytes", last_lines=last)

    def _load_through_memory(self, data: bytes, address: int) -> None:
        assert self.memory is not None
        self._loaded = None                  # the buffer changes from the first byte written
        self.memory(address, data)
        lines = self.command(f"tf-db-set {len(data)}")
        crc = protocol.parse_tf_db_crc32(lines)
        if crc != zlib.crc32(data):
            raise ProtocolError(f"the input written at 0x{address:08x} reads back with CRC-32 {crc:08x}, "
                                f"not {zlib.crc32(data):08x}", last_lines=lines,
                                hint="the firmware's m-tf-db-addr does not point at its input buffer; rebuild it")
        if "m-load-done" not in lines:
            raise ProtocolError("no m-load-done after tf-db-set", last_lines=lines)

    def infer(self, iterations: int, warmups: int, *, timeout: Optional[float] = None) -> protocol.InferResponse:
        lines = self.command(f"infer {iterations} {warmups}", timeout=timeout or self.timeouts.infer, check=False)
        response = protocol.parse_infer(lines)
        if response.iterations != iterations or response.warmups != warmups:
            raise ProtocolError(f"asked for infer {iterations} {warmups}, device ran "
                                f"{response.iterations} {response.warmups}", last_lines=lines)
        return response

    def tf_info(self) -> dict[str, object]:
        self._asked_info = True
        info = protocol.parse_tf_info(self.command("tf-info"))
        address, capacity = info.get("db-addr"), info.get("db-max-bytes")
        if isinstance(address, int) and isinstance(capacity, int):
            self._db_buffer = (address, capacity)
        return info

    def tf_output(self, expected_bytes: Optional[int] = None) -> bytes:
        return protocol.parse_tf_output(self.command("tf-output"), expected_bytes)

    def tf_cycles(self) -> tuple[int, int]:
        return protocol.parse_tf_cycles(self.command("tf-cycles"))

    def tf_profile(self) -> list[int]:
        """Cycles per layer summed over the last timed loop (firmware built with --profile)."""
        return protocol.parse_tf_profile(self.command("tf-profile"))
