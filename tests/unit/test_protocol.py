"""The host side of the MLPerf Tiny protocol: the pure parser on recorded transcripts, and the
session driver against a scripted device on a loopback socket (deadlines, garbled lines, e-[...])."""

from __future__ import annotations

import socket
import time

import pytest

from tinyflash.errors import DeviceReportedError, DeviceTimeoutError, ProtocolError
from tinyflash.flash.serial_relay import SerialRelay
from tinyflash.run import protocol
from tinyflash.run.link import SerialLink
from tinyflash.run.session import DeviceSession, Timeouts

from ..support.fake_device import FakeDevice

# The spec's §1.6 example answer to 'infer 20 5'.
INFER_TRANSCRIPT = [
    "m-warmup-start-5", "m-warmup-done", "m-infer-start-20", "m-lap-us-8899717", "m-lap-us-20947668",
    "m-infer-done", "m-results-[0.000,0.004,0.996,]",
]


def test_parse_infer_transcript() -> None:
    r = protocol.parse_infer(INFER_TRANSCRIPT)
    assert (r.iterations, r.warmups) == (20, 5)
    assert r.elapsed_us == 20947668 - 8899717
    assert r.results == (0.0, 0.004, 0.996)   # the trailing comma is tolerated, as by the runner


@pytest.mark.parametrize("drop, words", [
    ("m-lap-us-20947668", "two m-lap-us"),
    ("m-infer-done", "m-infer-done"),
    ("m-results-[0.000,0.004,0.996,]", "m-results"),
])
def test_parse_infer_detects_missing_lines(drop: str, words: str) -> None:
    with pytest.raises(ProtocolError, match=words):
        protocol.parse_infer([line for line in INFER_TRANSCRIPT if line != drop])


def test_parse_infer_rejects_garbled_results_and_backwards_time() -> None:
    garbled = INFER_TRANSCRIPT[:-1] + ["m-results-[0.0x0,0.004"]
    with pytest.raises(ProtocolError):
        protocol.parse_infer(garbled)
    backwards = INFER_TRANSCRIPT[:3] + ["m-lap-us-200", "m-lap-us-100"] + INFER_TRANSCRIPT[5:]
    with pytest.raises(ProtocolError, match="backwards"):
        protocol.parse_infer(backwards)


def test_error_line_becomes_device_reported_error() -> None:
    with pytest.raises(DeviceReportedError, match="Inference iterations must be >0"):
        protocol.parse_infer(["e-[Inference iterations must be >0]"])


def test_tf_extensions() -> None:
    assert protocol.parse_tf_output(["m-tf-output-0-0102ff", "m-tf-output-3-80"], 4) == b"\x01\x02\xff\x80"
    with pytest.raises(ProtocolError, match="gap"):
        protocol.parse_tf_output(["m-tf-output-0-01", "m-tf-output-5-02"])
    assert protocol.parse_tf_cycles(["m-tf-cycles-123456-10"]) == (123456, 10)
    info = protocol.parse_tf_info(["m-tf-runtime-[aot]", "m-tf-arena-bytes-1408"])
    assert info == {"runtime": "aot", "arena-bytes": 1408}
    assert protocol.parse_tf_profile(["m-tf-profile-0-40", "m-tf-profile-1-0", "m-ready"]) == [40, 0]
    with pytest.raises(ProtocolError, match="layer 2 where 1"):
        protocol.parse_tf_profile(["m-tf-profile-0-40", "m-tf-profile-2-7"])
    with pytest.raises(ProtocolError, match="no m-tf-profile"):
        protocol.parse_tf_profile(["m-ready"])


def _session(device: FakeDevice, command: float = 1.0) -> tuple[SerialLink, DeviceSession]:
    link = SerialLink(device.url).open()
    return link, DeviceSession(link, timeouts=Timeouts(boot=1.0, command=command, infer=command))


def test_session_against_scripted_device() -> None:
    device = FakeDevice({
        "name": b"m-name-dut-[scripted]\r\nm-ready\r\n",
        "profile": b"m-profile-[ULPMark for tinyML Firmware V0.0.1]\r\nm-model-[kws01]\r\nm-ready\r\n",
        "db load 40": b"m-[Expecting 40 bytes]\r\nm-ready\r\n",
        "db *": lambda cmd: (b"m-load-done\r\nm-ready\r\n" if len(cmd) < 60 else b"m-ready\r\n"),
        "infer 20 5": ("\r\n".join(INFER_TRANSCRIPT) + "\r\nm-ready\r\n").encode(),
    })
    link, session = _session(device)
    try:
        assert session.name() == "scripted"
        assert session.profile() == ("ULPMark for tinyML Firmware V0.0.1", "kws01")
        session.load(bytes(range(40)))
        assert device.received[3] == "db " + bytes(range(31)).hex()   # 31 bytes per chunk, as the runner
        assert session.infer(20, 5).iterations == 20
    finally:
        link.close()
        device.close()


def test_missing_load_done_is_detected() -> None:
    device = FakeDevice({"db load 10": b"m-[Expecting 10 bytes]\r\nm-ready\r\n", "db *": b"m-ready\r\n"})
    link, session = _session(device)
    try:
        with pytest.raises(ProtocolError, match="no m-load-done"):
            session.load(bytes(10))
    finally:
        link.close()
        device.close()


def test_silent_device_times_out_with_last_lines(tmp_path) -> None:
    device = FakeDevice({"name": b"m-name-dut-[x]\r\nm-ready\r\n", "infer 1 0": b"m-warmup-start-0\r\n"})
    link = SerialLink(device.url, log_path=tmp_path / "serial.log").open()
    session = DeviceSession(link, timeouts=Timeouts(command=0.5, infer=0.5))
    try:
        session.name()
        started = time.monotonic()
        with pytest.raises(DeviceTimeoutError) as info:
            session.infer(1, 0)
        assert time.monotonic() - started < 2.0
        assert info.value.last_lines[-1] == "m-warmup-start-0"
        assert "serial.log" in str(info.value)
        assert "< m-warmup-start-0" in (tmp_path / "serial.log").read_text()
    finally:
        link.close()
        device.close()


def test_garbled_ready_line_is_a_protocol_error() -> None:
    device = FakeDevice({"name": b"m-name-dut-[x]\r\nm-readyy\r\n"})
    link, session = _session(device)
    try:
        with pytest.raises(ProtocolError, match="garbled"):
            session.name()
    finally:
        link.close()
        device.close()


def test_device_reset_mid_run_is_detected() -> None:
    banner = b"m-timestamp-mode-performance\r\nm-lap-us-12\r\nm-init-done\r\nm-ready\r\n"
    device = FakeDevice({"infer 10 1": b"m-warmup-start-1\r\nm-warmup-done\r\n" + banner})
    link, session = _session(device)
    try:
        with pytest.raises(ProtocolError, match="the device reset while answering 'infer 10 1'"):
            session.infer(10, 1)
    finally:
        link.close()
        device.close()


@pytest.mark.parametrize("board_name, core_hz", [("stm32h7", 400_000_000), ("rp2040", 125_000_000)])
def test_performance_calibration_uses_the_post_pll_clock(board_name: str, core_hz: int) -> None:
    """The device runs at its PLL clock (issue #5's figure), so a 10 ms inference counts 10 ms of cycles
    at that clock; tinyflash turns cycles into time with the board's clock_hz and sizes the timed loops
    from it. With a stale reset clock (64 MHz, 12 MHz ROSC...) the loops would come out several times
    too short. The µs laps are made to look faster, so only the cycle count can set the size."""
    from tinyflash.board import BoardCatalog
    from tinyflash.run.performance import HARDWARE_WINDOW_S, measure

    board = BoardCatalog(environ={}).load(board_name)
    per_inference_s = 0.010
    cycles = int(per_inference_s * core_hz)

    def infer(cmd: str) -> bytes:
        _, n, w = cmd.split()
        lines = [f"m-warmup-start-{w}", "m-warmup-done", f"m-infer-start-{n}", "m-lap-us-1000",
                 f"m-lap-us-{1000 + int(int(n) * per_inference_s * 1e6 / 2)}", "m-infer-done", "m-results-[0.5,]"]
        return ("\r\n".join(lines) + "\r\nm-ready\r\n").encode()

    device = FakeDevice({"infer *": infer, "tf-cycles": f"m-tf-cycles-{cycles}-1\r\nm-ready\r\n".encode()})
    link, session = _session(device)
    try:
        perf = measure(session, board, timeout_s=5.0)
    finally:
        link.close()
        device.close()
    expected = round(HARDWARE_WINDOW_S / per_inference_s)
    assert device.received[0] == "infer 1 0"
    assert [w.iterations for w in perf.windows] == [expected] * 5
    assert perf.clock_hz == board.clock_hz == core_hz


def test_odd_length_hex_in_tf_output_is_a_protocol_error() -> None:
    # a dropped character used to reach bytes.fromhex: ValueError, exit 2 (#11.9)
    with pytest.raises(ProtocolError, match="odd number of hex digits at byte 4"):
        protocol.parse_tf_output(["m-tf-output-0-00ff7f80", "m-tf-output-4-010"])


def test_a_device_sending_junk_gets_a_bounded_error() -> None:
    # 200 KB of junk, in one line and in many: the error keeps the last lines, each cut short (#11.9)
    from tinyflash.errors import DeviceError

    junk = "x" * 200_000
    many = [f"junk {i} " + "y" * 500 for i in range(400)]
    for lines in ([junk], many, [*many, junk]):
        err = ProtocolError("garbled answer", last_lines=lines)
        assert len(str(err)) < 4_000
        assert len(err.last_lines) <= DeviceError.MAX_LINES
        assert all(len(line) < DeviceError.MAX_LINE_CHARS + 40 for line in err.last_lines)
    err = ProtocolError("garbled answer", last_lines=many)
    assert "junk 399" in str(err) and "junk 0 " not in str(err) and "388 earlier line(s) not shown" in str(err)


def test_a_device_streaming_junk_without_newline_times_out_with_a_short_error() -> None:
    device = FakeDevice({"name": b"z" * 200_000})
    try:
        with SerialLink(device.url) as link:
            session = DeviceSession(link, timeouts=Timeouts(command=1.0))
            with pytest.raises(DeviceTimeoutError) as info:
                session.name()
        assert len(str(info.value)) < 2_000 and "more characters" in str(info.value)
    finally:
        device.close()


@pytest.mark.parametrize("line, words, hint", [
    ("e-[fault: exception 3 CFSR=0x00010000 HFSR=0x40000000 BFAR=0x00000000]",
     "HardFault: undefined instruction (CFSR=0x00010000)", "instruction this core lacks; check core/dsp"),
    ("e-[fault: exception 6 CFSR=0x00080000 HFSR=0x00000000 BFAR=0x00000000]",
     "UsageFault: no coprocessor", "check fpu/mve"),
    ("e-[fault: exception 5 CFSR=0x00008200 HFSR=0x00000000 BFAR=0x5a000010]",
     "BusFault: precise bus fault on a data access at 0x5a000010", "uart.base"),
    ("e-[fault: exception 3 CFSR=0x00000200 HFSR=0x40000000 BFAR=0x5a000010]",   # BFAR not valid: no address
     "precise bus fault on a data access (CFSR", "uart.base"),
    ("e-[fault: exception 3 CFSR=0x00001000 HFSR=0x40000000 BFAR=0x00000000]", "while stacking", "stack_size"),
    ("e-[fault: exception 3 CFSR=0x00000000 HFSR=0x00000002 BFAR=0x00000000]", "vector table", "memory.flash"),
    ("e-[fault: exception 21 CFSR=0x00000000 HFSR=0x00000000 BFAR=0x00000000]", "interrupt 5 (no handler)",
     "uart.irq"),
    ("e-[fault: exception 3]", "HardFault (this core reports no fault status)", "board file"),   # Cortex-M0+
    ("e-[fault: exception 3 CFSR=0x0001", "e-[fault: exception 3 CFSR=0x0001", "board file"),     # cut short
])
def test_fault_lines_are_decoded(line: str, words: str, hint: str) -> None:
    from tinyflash.errors import DeviceFaultError

    with pytest.raises(DeviceFaultError) as info:
        protocol.raise_on_fault(line, [line])
    assert words in info.value.message and hint in str(info.value.hint)
    fault = protocol.parse_fault(line)
    if fault is not None and fault.cfsr is not None:
        assert info.value.cfsr == fault.cfsr and info.value.exception == fault.exception
    protocol.raise_on_fault("e-[Unknown command: x]", [])   # other e- lines are not faults


@pytest.mark.parametrize("when", ["boot", "command"])
def test_a_fault_ends_the_wait_at_once(when: str) -> None:
    # the firmware stops after its fault line: waiting for m-ready would only end at the timeout (#11.6)
    fault = b"e-[fault: exception 3 CFSR=0x00010000 HFSR=0x40000000 BFAR=0x00000000]\r\n"
    banner = b"m-timestamp-mode-performance\r\n" + (fault if when == "boot" else b"m-init-done\r\nm-ready\r\n")
    # the banner is asked for ("boot%"): one sent on connect could be drained by pyserial's open()
    device = FakeDevice({"boot": banner, "name": fault})
    started = time.monotonic()
    try:
        with SerialLink(device.url) as link:
            session = DeviceSession(link, timeouts=Timeouts(boot=30.0, command=30.0))
            link.write("boot%")
            with pytest.raises(DeviceReportedError, match="undefined instruction"):
                session.wait_boot()
                session.name()
    finally:
        device.close()
    assert time.monotonic() - started < 5.0


def _relay() -> tuple[SerialRelay, socket.socket, int]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    device, uart = socket.socketpair()      # `uart` stands for QEMU's end
    uart.settimeout(5)
    relay = SerialRelay(listener, device).start()
    return relay, uart, listener.getsockname()[1]


def _recv_until(sock: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    return data


def test_relay_resets_the_command_framing_when_a_client_leaves_mid_command() -> None:
    # #11.9: what QEMU's UART receives from two clients, the first gone after half a command
    relay, uart, port = _relay()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as first:
            first.sendall(b"name%na")
            assert _recv_until(uart, b"na") == b"name%na"
        assert uart.recv(1) == b"\x18"                   # CAN: the firmware drops "na"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as second:
            second.sendall(b"name%")
            assert _recv_until(uart, b"%") == b"name%"
            uart.sendall(b"m-name-dut-[x]\r\nm-ready\r\n")
            assert _recv_until(second, b"m-ready\r\n") == b"m-name-dut-[x]\r\nm-ready\r\n"
        # a client that ends on a whole command leaves nothing to reset
        with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
            third.sendall(b"profile%")
            assert _recv_until(uart, b"%") == b"profile%"
        uart.settimeout(0.3)
        with pytest.raises(socket.timeout):
            uart.recv(1)
    finally:
        relay.stop()


def test_relay_drops_output_with_no_client_but_not_for_one_still_connecting() -> None:
    relay, uart, port = _relay()
    try:
        uart.sendall(b"nobody hears this\r\n")
        time.sleep(0.3)
        # connected but not yet accepted when the banner comes (the host resumes QEMU right after
        # connecting): it must get it
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        uart.sendall(b"m-init-done\r\nm-ready\r\n")
        assert _recv_until(client, b"m-ready\r\n") == b"m-init-done\r\nm-ready\r\n"
        # QEMU exits: its end closes, and so does the client's connection
        uart.close()
        client.settimeout(5)
        assert client.recv(100) == b""
        client.close()
    finally:
        relay.stop()


def test_loading_the_bytes_the_device_holds_sends_nothing() -> None:
    """#14: the performance input is the last one verified; uploading it again cost a quarter of a vww bench."""
    device = FakeDevice({
        "db load 40": b"m-[Expecting 40 bytes]\r\nm-ready\r\n",
        "db load 10": b"m-[Expecting 10 bytes]\r\nm-ready\r\n",
        "db *": lambda cmd: (b"m-load-done\r\nm-ready\r\n" if len(cmd) < 60 else b"m-ready\r\n"),
        "name": b"m-name-dut-[x]\r\nm-ready\r\n",
    })
    link, session = _session(device)
    try:
        session.load(bytes(range(40)))
        sent = len(device.received)
        session.load(bytes(range(40)))
        session.name()                              # other commands leave the buffer alone
        session.load(bytes(range(40)))
        assert device.received[sent:] == ["name"]
        session.load(bytes(10))                     # other bytes: uploaded
        session.load(bytes(range(40)))              # and back: uploaded again
        assert device.received[-3:-1] == ["db load 40", "db " + bytes(range(31)).hex()]
    finally:
        link.close()
        device.close()


@pytest.mark.parametrize("instructions, window_s, expected", [
    (8_167_424, None, 1),          # vww on mps2-an500: one inference a window (#14)
    (2_547_919, None, 2),          # vww on mps3-an547
    (300_000, None, 20),           # a small model: still ~10 M instructions a window
    (8_167_424, 0.1, 10),          # --profile: the longer windows
])
def test_emulated_windows_are_a_few_inferences_without_warm_ups(instructions: int, window_s: float | None,
                                                                expected: int) -> None:
    """Under -icount the count is exact: windows of ~10 M instructions (5 of them, for results.txt's
    median line) and no warm-ups, so a Helium board that emulates ~17 M instructions a second is done
    in a second or two; the calibration inference counts none of them."""
    from tinyflash.board import BoardCatalog
    from tinyflash.run.performance import measure

    board = BoardCatalog(environ={}).load("mps2-an500")
    ticks = instructions * board.clock_hz // 10**9

    def infer(cmd: str) -> bytes:
        _, n, w = cmd.split()
        lines = [f"m-warmup-start-{w}", "m-warmup-done", f"m-infer-start-{n}", "m-lap-us-1000",
                 f"m-lap-us-{1000 + int(n) * instructions // 1000}", "m-infer-done", "m-results-[0.5,]"]
        return ("\r\n".join(lines) + "\r\nm-ready\r\n").encode()

    counted = {"n": 1}

    def cycles(_: str) -> bytes:
        return f"m-tf-cycles-{ticks * counted['n']}-{counted['n']}\r\nm-ready\r\n".encode()

    def infer_and_count(cmd: str) -> bytes:
        counted["n"] = int(cmd.split()[1])
        return infer(cmd)

    device = FakeDevice({"infer *": infer_and_count, "tf-cycles": cycles})
    link, session = _session(device)
    try:
        perf = measure(session, board, timeout_s=5.0, **({"emulated_window_s": window_s} if window_s else {}))
    finally:
        link.close()
        device.close()
    assert device.received[0] == "infer 1 0"
    assert device.received[1::2] == ["tf-cycles"] * 6
    assert device.received[2::2] == [f"infer {expected} 0"] * 5
    assert perf.timed_inferences == 5 * expected and all(w.warmups == 0 for w in perf.windows)
    assert abs(perf.instructions - instructions) <= 40
