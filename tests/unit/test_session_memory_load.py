"""#14: inputs written into the firmware's buffer through a memory port (QEMU's gdbstub), then committed
with tf-db-set and checked by CRC-32, instead of one UART transfer per hex digit.

The gdbstub side is tested against a scripted GDB remote server on a unix socket; the session side
against the scripted device, with a dict standing in for the target's RAM."""

from __future__ import annotations

import re
import socket
import threading
import zlib
from pathlib import Path

import pytest

from tinyflash.errors import EmulatorError, ProtocolError
from tinyflash.flash import gdb_remote
from tinyflash.run.link import SerialLink
from tinyflash.run.session import DeviceSession, Timeouts

from ..support.fake_device import FakeDevice

BUFFER = 0x20000220
INFO = b"m-tf-runtime-[aot]\r\nm-tf-db-addr-536871456\r\nm-tf-db-max-bytes-64\r\nm-ready\r\n"


class FakeGdbStub:
    """Answers M (into ``memory``, refusing addresses below ``lowest``) and D, after the stop reply QEMU
    sends a client that connects."""

    def __init__(self, path: Path, lowest: int = 0) -> None:
        self.memory: dict[int, int] = {}
        self.packets: list[str] = []
        self.lowest = lowest
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        with conn:
            conn.sendall(gdb_remote.packet("T02thread:01;"))
            buf = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while (m := re.search(rb"\$([^#]*)#([0-9a-f]{2})", buf)):
                    buf = buf[m.end():]
                    body = m.group(1).decode()
                    assert int(m.group(2), 16) == sum(m.group(1)) & 0xFF
                    self.packets.append(body)
                    conn.sendall(b"+" + gdb_remote.packet(self._answer(body)))

    def _answer(self, body: str) -> str:
        if body == "D":
            return "OK"
        where, data = body[1:].split(":")
        address, length = (int(x, 16) for x in where.split(","))
        if address < self.lowest:
            return "E14"
        for i, byte in enumerate(bytes.fromhex(data)[:length]):
            self.memory[address + i] = byte
        return "OK"

    def close(self) -> None:
        self._server.close()


def test_gdbstub_writes_in_packets_qemu_accepts_and_detaches(tmp_path: Path) -> None:
    stub = FakeGdbStub(tmp_path / "gdb.sock")
    data = bytes(range(256)) * 9                        # 2304 bytes: three packets
    try:
        gdb_remote.write_memory(tmp_path / "gdb.sock", BUFFER, data)
    finally:
        stub.close()
    assert bytes(stub.memory[BUFFER + i] for i in range(len(data))) == data
    writes = [p for p in stub.packets if p.startswith("M")]
    assert len(writes) == 3 and all(len(p) < 4096 for p in writes)   # QEMU's MAX_PACKET_LENGTH
    assert stub.packets[-1] == "D"                       # the guest runs on


def test_a_refused_write_is_an_error_and_still_detaches(tmp_path: Path) -> None:
    stub = FakeGdbStub(tmp_path / "gdb.sock", lowest=0x30000000)
    try:
        with pytest.raises(EmulatorError, match=r"refused to write .* at 0x20000220: .*E14"):
            gdb_remote.write_memory(tmp_path / "gdb.sock", BUFFER, b"\x01\x02")
    finally:
        stub.close()
    assert stub.packets[-1] == "D"


def test_no_gdbstub_is_an_emulator_error(tmp_path: Path) -> None:
    with pytest.raises(EmulatorError, match="cannot connect to QEMU's gdbstub"):
        gdb_remote.write_memory(tmp_path / "absent.sock", BUFFER, b"\x01")


def _device(crc_of: dict[int, int], lie: bool = False) -> FakeDevice:
    def db_set(cmd: str) -> bytes:
        n = int(cmd.split()[1])
        crc = zlib.crc32(bytes(crc_of.get(BUFFER + i, 0) for i in range(n))) ^ (1 if lie else 0)
        return f"m-tf-db-crc32-{crc:08x}\r\nm-load-done\r\nm-ready\r\n".encode()

    return FakeDevice({
        "tf-info": INFO,
        "tf-db-set *": db_set,
        "db load 100": b"m-[Expecting 100 bytes]\r\nm-ready\r\n",
        "db *": lambda cmd: (b"m-load-done\r\nm-ready\r\n" if len(cmd) < 60 else b"m-ready\r\n"),
    })


def _session(device: FakeDevice, memory: dict[int, int]) -> tuple[SerialLink, DeviceSession]:
    def write(address: int, data: bytes) -> None:
        memory.update({address + i: b for i, b in enumerate(data)})

    link = SerialLink(device.url).open()
    return link, DeviceSession(link, timeouts=Timeouts(boot=1.0, command=1.0, infer=1.0), memory=write)


def test_load_writes_the_buffer_and_commits_it_with_tf_db_set() -> None:
    memory: dict[int, int] = {}
    device = _device(memory)
    link, session = _session(device, memory)
    try:
        session.load(bytes(range(40)))
        session.load(bytes(range(40)))                  # held already: nothing sent
        session.load(bytes(range(100)))                 # more than the buffer takes: the protocol's hex
    finally:
        link.close()
        device.close()
    assert device.received[:2] == ["tf-info", "tf-db-set 40"]
    assert device.received[2:4] == ["db load 100", "db " + bytes(range(31)).hex()]
    assert bytes(memory[BUFFER + i] for i in range(40)) == bytes(range(40))


def test_a_crc_that_does_not_match_is_a_protocol_error() -> None:
    memory: dict[int, int] = {}
    device = _device(memory, lie=True)
    link, session = _session(device, memory)
    try:
        with pytest.raises(ProtocolError, match="reads back with CRC-32"):
            session.load(bytes(range(40)))
        assert session._loaded is None                  # nothing is taken as loaded: the next load sends
    finally:
        link.close()
        device.close()


def test_a_firmware_without_the_extensions_gets_hex() -> None:
    memory: dict[int, int] = {}
    device = FakeDevice({
        "tf-info": b"e-[Unknown command: tf-info]\r\nm-ready\r\n",
        "db load 10": b"m-[Expecting 10 bytes]\r\nm-ready\r\n",
        "db *": b"m-load-done\r\nm-ready\r\n",
    })
    link, session = _session(device, memory)
    try:
        session.load(bytes(10))
    finally:
        link.close()
        device.close()
    assert device.received == ["tf-info", "db load 10", "db " + bytes(10).hex()] and not memory
