"""QEMU's UART served to TCP clients one at a time, with the command framing reset between clients.

QEMU's own socket server passes bytes through and forgets who sent them, so a command half-sent by one
client (a runner killed mid-write, a terminal closed after typing "na") was prepended to the next
client's first command: "naname%" (#11.9). The relay sits between the listening socket tinyflash binds
and QEMU's UART (a socket pair, so there is no second port): when a client goes away after bytes that
did not end with '%', it sends the firmware CAN (0x18), on which ee_protocol.c drops a partial command.
Nothing else changes for a client: output while no client is connected is dropped, as QEMU drops it,
and a client that has connected but not yet been accepted still gets the bytes that arrive meanwhile
(the boot banner: the host connects, then resumes the paused CPU).

The fix is on the host side because only it sees a client leave: an idle-time rule in the firmware
would also cut a command typed slowly in a terminal, and the official runner never sends CAN.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from typing import Optional

log = logging.getLogger(__name__)
CANCEL = b"\x18"      # ASCII CAN: ee_protocol.c discards the command being received
TERMINATOR = ord("%")


class SerialRelay:
    def __init__(self, listener: socket.socket, device: socket.socket) -> None:
        self._listener = listener
        self._device = device
        self._client: Optional[socket.socket] = None
        self._partial = False             # the current client sent bytes after its last '%'
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="qemu-serial-relay", daemon=True)

    def start(self) -> "SerialRelay":
        self._thread.start()
        return self

    def stop(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        for sock in (self._wake_r, self._wake_w):
            sock.close()

    # -- the loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        selector.register(self._listener, selectors.EVENT_READ)
        selector.register(self._device, selectors.EVENT_READ)
        try:
            while True:
                for key, _ in selector.select():
                    sock = key.fileobj
                    if sock is self._wake_r:
                        return
                    if sock is self._listener:
                        if self._client is None:
                            self._accept(selector)
                    elif sock is self._device:
                        if not self._from_device(selector):
                            return          # QEMU exited: its UART end closed
                    elif sock is self._client:
                        self._from_client(selector)
        except OSError as exc:              # a socket closed under us while stopping
            log.debug("serial relay stopped: %s", exc)
        finally:
            if self._client is not None:
                self._drop_client(selector, cancel=False)
            selector.close()

    def _accept(self, selector: selectors.BaseSelector) -> bool:
        self._listener.setblocking(False)
        try:
            client, address = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return False
        client.setblocking(True)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client, self._partial = client, False
        selector.unregister(self._listener)    # one client at a time; others wait in the backlog
        selector.register(client, selectors.EVENT_READ)
        log.debug("serial client %s connected", address)
        return True

    def _from_device(self, selector: selectors.BaseSelector) -> bool:
        data = self._device.recv(65536)
        if not data:
            return False
        if self._client is None:
            self._accept(selector)          # connected, not yet accepted: it must see this (the banner)
        if self._client is not None:
            try:
                self._client.sendall(data)
            except OSError:
                self._drop_client(selector, cancel=True)
        return True

    def _from_client(self, selector: selectors.BaseSelector) -> None:
        assert self._client is not None
        try:
            data = self._client.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop_client(selector, cancel=True)
            return
        self._device.sendall(data)
        self._partial = data[-1] != TERMINATOR

    def _drop_client(self, selector: selectors.BaseSelector, *, cancel: bool) -> None:
        assert self._client is not None
        selector.unregister(self._client)
        self._client.close()
        self._client = None
        if cancel and self._partial:
            log.info("serial client left in the middle of a command: resetting the firmware's command buffer")
            self._device.sendall(CANCEL)
        self._partial = False
        try:
            selector.register(self._listener, selectors.EVENT_READ)
        except (KeyError, ValueError):      # already registered, or the listener is closed
            pass
