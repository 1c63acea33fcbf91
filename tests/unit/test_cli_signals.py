"""The CLI's stop-signal guard (#11.4), in process: SIGTERM and SIGHUP raise where the program waits, as
Ctrl-C does, once; a second signal does not cut the cleanup short; the previous handlers come back."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tinyflash.cli.signals import Interrupted, SignalGuard


def wait_for_signal() -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:   # the handler raises between two of these sleeps
        time.sleep(0.01)
    pytest.fail("the signal did not interrupt the wait")


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_stop_signal_raises_once_and_sets_the_exit_code(signum: int, code: int) -> None:
    before = signal.getsignal(signum)
    guard = SignalGuard()
    cleaned = False
    with guard.installed():
        with pytest.raises(KeyboardInterrupt) as stop:   # what `finally` blocks and the farm runner expect
            try:
                os.kill(os.getpid(), signum)
                wait_for_signal()
            finally:
                os.kill(os.getpid(), signum)        # a second signal during cleanup is ignored
                time.sleep(0.05)
                cleaned = True
    assert cleaned
    assert isinstance(stop.value, Interrupted) and stop.value.signum == signum
    assert (guard.signum, guard.exit_code, guard.name) == (signum, code, signal.Signals(signum).name)
    assert signal.getsignal(signum) == before


def test_without_a_signal_the_guard_reports_ctrl_c_for_a_plain_keyboard_interrupt() -> None:
    guard = SignalGuard()
    with guard.installed():
        pass
    assert guard.signum is None and guard.exit_code == 130
