"""Units that are labgrid places (optional; shared docs ecosystem.md §6.1, §8 "Farm config").

tinyflash talks to labgrid through ``labgrid-client`` subprocesses and never imports labgrid: the labgrid
package replaces pyserial with its fork and loads a pytest plugin, so it lives in its own venv or extra.
A place is acquired by name (``place:``) or reserved by tags (``reserve --shell board=X``, ``wait``,
``-p + acquire``); its exported serial port is used as ``rfc2217://HOST:PORT?ign_set_control`` (ser2net
needs ``ign_set_control``); the place is always released (and the reservation cancelled), whatever happens.
Flashing still goes through pyOCD with the unit's probe UID (labgrid has no pyOCD driver).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
from typing import Any, Callable, Iterator, Optional

import yaml

from tinyflash.farm.errors import PlaceError
from tinyflash.farm.inventory import Unit
from tinyflash.farm.runner import Lease

log = logging.getLogger(__name__)
CLIENT = "labgrid-client"
Run = Callable[..., "subprocess.CompletedProcess[str]"]


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


class LabgridClient:
    def __init__(self, coordinator: Optional[str], *, client: Optional[str] = None, run: Run = subprocess.run,
                 token: Optional[str] = None) -> None:
        self.client = client or shutil.which(CLIENT) or CLIENT
        self.coordinator = coordinator
        self.run = run
        self.token = token

    def __call__(self, *args: str, timeout: float = 60.0) -> str:
        cmd = [self.client] + (["-x", self.coordinator] if self.coordinator else []) + list(args)
        env = dict(os.environ, **({"LG_TOKEN": self.token} if self.token else {}))
        log.info("running %s", " ".join(cmd))
        try:
            proc = self.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except FileNotFoundError:
            raise PlaceError(f"{CLIENT} not found", hint="pip install 'tinyflash[labgrid]' (best in its own venv: "
                             "labgrid replaces pyserial)") from None
        except subprocess.TimeoutExpired:
            raise PlaceError(f"'{' '.join(args)}' did not finish within {timeout:.0f} s") from None
        if proc.returncode != 0:
            raise PlaceError(f"{CLIENT} {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
        return proc.stdout


@contextlib.contextmanager
def acquired_place(unit: Unit, *, run: Run = subprocess.run, client: Optional[str] = None) -> Iterator[Lease]:
    config = unit.labgrid
    if config is None:
        raise PlaceError(f"unit {unit.name} is not a labgrid place")
    lg = LabgridClient(config.coordinator, client=client, run=run)
    place = config.place
    acquired = False
    try:
        if place is None:
            tags = [f"{k}={v}" for k, v in sorted(config.tags.items())]
            match = re.search(r"LG_TOKEN=(\S+)", lg("reserve", "--shell", *tags))
            if not match:
                raise PlaceError(f"labgrid gave no reservation token for {' '.join(tags)}")
            lg.token = match.group(1).strip("'\"")
            lg("wait", timeout=config.acquire_timeout)     # 'wait' for a tag no place has waits forever
            place = "+"
        lg("-p", place, "acquire")
        acquired = True
        url = serial_url(lg("-p", place, "env"))
        yield Lease(unit.serial or url, unit.probe)
    finally:
        errors = []
        if acquired:
            try:
                lg("-p", place or "+", "release")
            except PlaceError as exc:
                errors.append(exc)
        if lg.token:
            try:
                lg("cancel-reservation")          # an uncancelled reservation blocks the place for 60 s
            except PlaceError as exc:
                errors.append(exc)
        for problem in errors:
            log.warning("labgrid clean-up for %s: %s", unit.name, problem)
