"""Units that are labgrid places (optional; shared docs ecosystem.md §6.1, §8 "Farm config").

tinyflash talks to labgrid through ``labgrid-client`` subprocesses and never imports labgrid: the labgrid
package replaces pyserial with its fork and loads a pytest plugin, so it lives in its own venv or extra.
The client is found as ``$TINYFLASH_LABGRID_BIN/labgrid-client`` (that venv's ``bin``), else on PATH.

A place is reserved by tags, or by name (labgrid matches a place's name as the tag ``name=``):
``reserve --shell board=X``, ``wait``, ``-p + acquire``; it is always released and the reservation
cancelled (an uncancelled one blocks the place for 60 s), whatever happens to the jobs -- also on Ctrl-C,
which stops a waiting client at once. Reserving, rather than a bare ``acquire``, makes farm runs that
want the same place queue at the coordinator: the second one's ``wait`` returns when the first cancels
its reservation, or the unit ends as "unavailable" after ``acquire_timeout``.

What a place gives depends on the unit:

* **Real board**: the place's exported serial port, as ``rfc2217://HOST:PORT?ign_set_control`` (ser2net
  needs ``ign_set_control``); flashing still goes through pyOCD with the unit's probe UID (labgrid has
  no pyOCD driver).
* **Emulated board**: the place is the lock and the identity only -- which farm host may run that unit
  now, recorded in the night as the place that ran its jobs. QEMU runs on the tinyflash host, as labgrid's
  own QEMUDriver runs on the client side, with its UART on a local socket. Routing that UART through the
  exporter's ser2net would add a serial hop with no hardware behind it, and would need the exporter to
  start QEMU for us, which labgrid has no resource for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any, Callable, Iterator, Optional

import yaml

from tinyflash.deadline import Deadline
from tinyflash.errors import Cancelled
from tinyflash.farm.errors import PlaceError
from tinyflash.farm.inventory import Unit
from tinyflash.farm.lease import Lease

log = logging.getLogger(__name__)
CLIENT = "labgrid-client"
BIN_ENV = "TINYFLASH_LABGRID_BIN"
INSTALL_HINT = (f"install labgrid in its own venv (python3 -m venv lg && lg/bin/pip install labgrid; it replaces "
                f"pyserial) and set {BIN_ENV}=lg/bin, or put labgrid-client on PATH")
Run = Callable[..., "subprocess.CompletedProcess[str]"]


def find_client(tool: str = CLIENT) -> str:
    """``tool`` (labgrid-client, -coordinator, -exporter) from $TINYFLASH_LABGRID_BIN, else from PATH."""
    folder = os.environ.get(BIN_ENV)
    if folder and os.access(os.path.join(folder, tool), os.X_OK):
        return os.path.join(folder, tool)
    return shutil.which(tool) or tool


def run_client(cmd: list[str], *, timeout: float, env: dict[str, str], cancel: Optional[threading.Event] = None,
               **_: Any) -> "subprocess.CompletedProcess[str]":
    """subprocess.run for labgrid-client that also stops when ``cancel`` is set (``wait`` can block for
    minutes). Own session: a Ctrl-C at the terminal must not kill a ``release`` half-way."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True, env=env,
                                start_new_session=True)
        deadline = Deadline.after(timeout)
        try:
            while proc.poll() is None:
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"stopped while running {' '.join(cmd[1:])}")
                if deadline.expired():
                    raise subprocess.TimeoutExpired(cmd, timeout)
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())


def _find_serial(node: Any) -> Optional[dict[str, Any]]:
    """The first NetworkSerialPort mapping anywhere in ``labgrid-client env`` output."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "NetworkSerialPort" and isinstance(value, dict):
                return value
            found = _find_serial(value)
            if found:
                return found
    elif isinstance(node, list):
        for item in node:
            found = _find_serial(item)
            if found:
                return found
    return None


def serial_url(env_text: str) -> str:
    try:
        data = yaml.safe_load(env_text)
    except yaml.YAMLError as exc:
        raise PlaceError(f"cannot read labgrid-client env output: {exc}") from None
    port = _find_serial(data)
    if not port or "host" not in port or "port" not in port:
        raise PlaceError("the place exports no NetworkSerialPort",
                         hint="add the board's USBSerialPort/RawSerialPort to the exporter's group")
    return f"rfc2217://{port['host']}:{port['port']}?ign_set_control&timeout=3.0"


def allocated_place(wait_text: str) -> Optional[str]:
    """The place a reservation got, from ``labgrid-client wait`` (it prints the reservation every second)."""
    found = re.findall(r"allocations:\s*\n\s+main:\s*(\S+)", wait_text)
    return found[-1] if found else None


class LabgridClient:
    def __init__(self, coordinator: Optional[str], *, client: Optional[str] = None, run: Run = run_client,
                 token: Optional[str] = None, cancel: Optional[threading.Event] = None) -> None:
        self.client = client or find_client()
        self.coordinator = coordinator
        self.run = run
        self.token = token
        self.cancel = cancel

    def __call__(self, *args: str, timeout: float = 60.0, cancellable: bool = True) -> str:
        cmd = [self.client] + (["-x", self.coordinator] if self.coordinator else []) + list(args)
        env = dict(os.environ, **({"LG_TOKEN": self.token} if self.token else {}))
        log.info("running %s", " ".join(cmd))
        try:
            proc = self.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                            cancel=self.cancel if cancellable else None)
        except FileNotFoundError:
            raise PlaceError(f"{CLIENT} not found", hint=INSTALL_HINT) from None
        except subprocess.TimeoutExpired:
            raise PlaceError(f"'{' '.join(args)}' did not finish within {timeout:.0f} s",
                             hint="another farm run may hold the place; raise labgrid.acquire_timeout") from None
        if proc.returncode != 0:
            raise PlaceError(f"{CLIENT} {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
        return proc.stdout


@contextlib.contextmanager
def acquired_place(unit: Unit, *, run: Run = run_client, client: Optional[str] = None,
                   cancel: Optional[threading.Event] = None) -> Iterator[Lease]:
    config = unit.labgrid
    if config is None:
        raise PlaceError(f"unit {unit.name} is not a labgrid place")
    lg = LabgridClient(config.coordinator, client=client, run=run, cancel=cancel)
    filters = dict(config.tags, **({"name": config.place} if config.place else {}))
    tags = [f"{k}={v}" for k, v in sorted(filters.items())]
    acquired = False
    try:
        match = re.search(r"LG_TOKEN=(\S+)", lg("reserve", "--shell", *tags))
        if not match:
            raise PlaceError(f"labgrid gave no reservation token for {' '.join(tags)}")
        lg.token = match.group(1).strip("'\"")
        # 'wait' for a tag no place has waits forever: acquire_timeout bounds it
        name = allocated_place(lg("wait", timeout=config.acquire_timeout)) or config.place
        since = time.time()                # before the request: a hold is never recorded shorter than it was
        try:
            lg("-p", "+", "acquire")
        except Cancelled:
            acquired = True                # Ctrl-C during the request: it may have gone through, release it
            raise
        acquired = True
        if unit.emulated:                  # the lock and the identity; QEMU runs here (see the module doc)
            yield Lease(None, None, place=name, since=since)
        else:
            url = serial_url(lg("-p", "+", "env"))
            yield Lease(unit.serial or url, unit.probe, place=name, since=since)
    finally:
        # clean-up runs even after Ctrl-C (not cancellable): a place left acquired blocks every farm
        errors = []
        if acquired:
            try:
                lg("-p", "+", "release", timeout=30, cancellable=False)
            except PlaceError as exc:
                errors.append(exc)
        if lg.token:
            try:
                lg("cancel-reservation", timeout=30, cancellable=False)
            except PlaceError as exc:
                errors.append(exc)
        for problem in errors:
            log.warning("labgrid clean-up for %s: %s", unit.name, problem)
