"""Labgrid places through labgrid-client (a fake client here: labgrid is an optional extra): acquire by
name or by tags, use the exported RFC 2217 port, always release -- and the core farm never imports labgrid."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tinyflash.errors import Cancelled
from tinyflash.farm.errors import PlaceError
from tinyflash.farm.inventory import load_inventory
from tinyflash.farm.labgrid_unit import acquired_place, allocated_place, run_client

ENV = """\
targets:
  main:
    resources:
    - RemotePlace: {name: stm32h7-01}
    - NetworkSerialPort: {host: 10.0.0.5, port: 50965, speed: 115200}
"""


WAIT = """\
Reservation 'TOK123':
  state: waiting
  filters:
    main: board=stm32h7
Reservation 'TOK123':
  state: allocated
  filters:
    main: board=stm32h7
  allocations:
    main: stm32h7-01
"""


class FakeClient:
    def __init__(self, fail_on: str = "", cancel_on: str = "") -> None:
        self.calls: list[tuple[list[str], str | None]] = []
        self.fail_on = fail_on
        self.cancel_on = cancel_on

    def __call__(self, cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        args = cmd[3:] if cmd[1] == "-x" else cmd[1:]
        self.calls.append((args, kw["env"].get("LG_TOKEN")))
        out = {"reserve": "export LG_TOKEN=TOK123\n", "env": ENV, "wait": WAIT}.get(args[-1] if args[0] == "-p" else args[0], "")
        if self.cancel_on and self.cancel_on in args:
            raise Cancelled("stopped while running it")
        rc = 1 if self.fail_on and self.fail_on in args else 0
        return subprocess.CompletedProcess(cmd, rc, out, "boom" if rc else "")


def unit(tmp_path: Path, labgrid: str, board: str = "stm32h7\n    probe: UID1") -> Any:
    path = tmp_path / "farm.yaml"
    path.write_text(f"schema_version: 1\nunits:\n  - id: h7\n    board: {board}\n    labgrid: {labgrid}\n")
    return load_inventory(path).units[0]


def test_acquire_by_tags_uses_the_rfc2217_port_and_releases(tmp_path: Path) -> None:
    fake = FakeClient()
    u = unit(tmp_path, "{coordinator: '10.0.0.5:20408', tags: {board: stm32h7}}")
    with acquired_place(u, run=fake, client="labgrid-client") as lease:
        assert lease.port == "rfc2217://10.0.0.5:50965?ign_set_control&timeout=3.0"
        assert lease.probe == "UID1" and lease.place == "stm32h7-01" and lease.since is not None
    assert [c[0] for c in fake.calls] == [["reserve", "--shell", "board=stm32h7"], ["wait"], ["-p", "+", "acquire"],
                                          ["-p", "+", "env"], ["-p", "+", "release"], ["cancel-reservation"]]
    assert [c[1] for c in fake.calls][1:] == ["TOK123"] * 5


def test_a_place_by_name_is_reserved_by_name_and_released_even_when_the_job_breaks(tmp_path: Path) -> None:
    fake = FakeClient()
    u = unit(tmp_path, "{place: stm32h7-01}")
    with pytest.raises(RuntimeError):
        with acquired_place(u, run=fake, client="labgrid-client"):
            raise RuntimeError("the job broke")
    calls = [c[0] for c in fake.calls]
    assert calls[0] == ["reserve", "--shell", "name=stm32h7-01"]     # queues behind other farm runs
    assert calls[-2:] == [["-p", "+", "release"], ["cancel-reservation"]]


def test_a_place_that_cannot_be_acquired_is_a_place_error(tmp_path: Path) -> None:
    fake = FakeClient(fail_on="acquire")
    u = unit(tmp_path, "{place: stm32h7-01}")
    with pytest.raises(PlaceError, match="acquire failed: boom"):
        with acquired_place(u, run=fake, client="labgrid-client"):
            pass
    calls = [c[0] for c in fake.calls]
    assert ["-p", "+", "release"] not in calls and calls[-1] == ["cancel-reservation"]


def test_the_core_farm_does_not_import_labgrid() -> None:
    code = ("import sys; import tinyflash.cli.farm, tinyflash.farm.runner, tinyflash.farm.render, "
            "tinyflash.farm.history; assert 'labgrid' not in sys.modules; "
            "assert 'tinyflash.farm.labgrid_unit' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_emulated_unit_holds_the_place_as_a_lock_and_keeps_its_own_serial(tmp_path: Path) -> None:
    fake = FakeClient()
    u = unit(tmp_path, "{tags: {board: mps2-an386}}", board="mps2-an386")
    with acquired_place(u, run=fake, client="labgrid-client") as lease:
        assert (lease.port, lease.probe, lease.place) == (None, None, "stm32h7-01")   # QEMU's own socket
    assert [c[0] for c in fake.calls] == [["reserve", "--shell", "board=mps2-an386"], ["wait"],
                                          ["-p", "+", "acquire"], ["-p", "+", "release"], ["cancel-reservation"]]


def test_the_place_a_reservation_got_is_read_from_the_last_wait_report() -> None:
    assert allocated_place(WAIT) == "stm32h7-01"
    assert allocated_place("Reservation 'X':\n  state: waiting\n") is None


def test_a_waiting_client_stops_when_the_night_is_cancelled() -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_client(["sleep", "30"], timeout=60, env=dict(os.environ), cancel=cancel)
    assert time.monotonic() - started < 5


def test_a_client_past_its_timeout_is_killed() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_client(["sleep", "30"], timeout=0.3, env=dict(os.environ))


def test_ctrl_c_during_acquire_still_releases_and_cancels(tmp_path: Path) -> None:
    fake = FakeClient(cancel_on="acquire")
    u = unit(tmp_path, "{tags: {board: stm32h7}}")
    with pytest.raises(Cancelled):
        with acquired_place(u, run=fake, client="labgrid-client"):
            pass
    assert [c[0] for c in fake.calls][-2:] == [["-p", "+", "release"], ["cancel-reservation"]]
