"""Real boards: program and reset through pyOCD's Python API, behind the same seam as QEMU.

Calls follow shared docs ecosystem.md §1.4/§8: the full probe UID, blocking=False (never wait for a
probe, never prompt), an explicit target_override from the board YAML, FileProgrammer for the ELF
(addresses included), then an explicit reset because program() does not reset.

The board's ``pack:`` reaches pyOCD as the session's ``pack`` option (ecosystem.md §1.2): a path to a
``.pack`` file as it is, a pack name (``Keil.STM32F7xx_DFP``) as the newest file of that name in the
cmsis-pack-manager cache where ``pyocd pack install`` puts it. Explicit files keep a farm independent of
what pyOCD would find on its own.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from tinyflash.board.schema import Board, PyocdFlash, ResetKind
from tinyflash.errors import FlashError
from tinyflash.flash.base import Flasher

log = logging.getLogger(__name__)


def default_pack_dirs() -> tuple[Path, ...]:
    """Where cmsis-pack-manager (pyocd pack install) keeps packs: <dir>/<Vendor>/<Name>/<version>.pack."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return (Path(base) / "cmsis-pack-manager",)


def resolve_pack(pack: str, pack_dirs: Sequence[Path]) -> Optional[Path]:
    """The .pack file a board's ``pack:`` names; None when a pack name is not in any cache (pyOCD may
    still know the target from its own configuration, so that is not an error here)."""
    if pack.endswith(".pack") or os.sep in pack:
        path = Path(pack).expanduser()
        if not path.exists():
            raise FlashError(f"the board's CMSIS pack {path} does not exist",
                             hint="download the vendor's .pack file there, or write the pack name "
                                  "(e.g. Keil.STM32F7xx_DFP) after 'pyocd pack install <target>'")
        return path
    vendor, _, name = pack.partition(".")
    for directory in pack_dirs:
        found = sorted((directory / vendor / name).glob("*.pack")) if name else []
        if found:
            return max(found, key=lambda p: tuple(int(x) if x.isdigit() else 0 for x in p.stem.split(".")))
    return None


class PyocdFlasher(Flasher):
    def __init__(self, board: Board, *, probe_uid: Optional[str] = None, port: Optional[str] = None,
                 packs: tuple[str, ...] = (), progress: Optional[Callable[[float], None]] = None,
                 connect: Optional[Callable[..., Any]] = None, pack_dirs: Optional[Sequence[Path]] = None) -> None:
        if not isinstance(board.flash, PyocdFlash):
            raise FlashError(f"board {board.name} is not flashed with pyOCD")
        self.board = board
        self.config: PyocdFlash = board.flash
        self.probe_uid = probe_uid
        self.port = port
        self.packs = packs
        self.progress = progress
        self._connect = connect      # injected in tests; pyOCD's ConnectHelper otherwise
        self._pack_dirs = tuple(pack_dirs) if pack_dirs is not None else default_pack_dirs()
        self._session: Any = None

    def _choose_probe(self) -> str:
        from tinyflash.flash.discovery import list_probes

        if self.probe_uid:
            return self.probe_uid
        probes = list_probes()
        if not probes:
            raise FlashError(f"no debug probe found for board {self.board.name}",
                             hint="connect the board's USB (debug) port and check 'tinyflash probes'; on Linux "
                                  "the udev rules of your probe (ST-LINK, CMSIS-DAP, J-Link) must allow access")
        matching = [p for p in probes if p.board_target == self.config.target] or probes
        if len(matching) > 1:
            uids = ", ".join(p.unique_id for p in matching)
            raise FlashError(f"{len(matching)} probes attached and none chosen ({uids})",
                             hint="pass --probe UID (see 'tinyflash probes')")
        return matching[0].unique_id

    def packs_for_session(self) -> list[str]:
        packs = list(self.packs)
        if self.config.pack:
            path = resolve_pack(self.config.pack, self._pack_dirs)
            if path is None:
                log.info("CMSIS pack %s not found in %s; pyOCD looks for target %s itself", self.config.pack,
                         ", ".join(map(str, self._pack_dirs)), self.config.target)
            elif str(path) not in packs:
                packs.append(str(path))
        return packs

    def open(self) -> None:
        """Choose the probe and open the pyOCD session (the CLI calls this before building)."""
        self._open_session()

    def _open_session(self) -> Any:
        if self._session is not None:
            return self._session
        uid = self._choose_probe()
        options: dict[str, Any] = {"target_override": self.config.target, "frequency": self.config.frequency,
                                   "connect_mode": self.config.connect_mode, "hide_programming_progress": True,
                                   "resume_on_disconnect": True}
        packs = self.packs_for_session()
        if packs:
            options["pack"] = packs
        connect = self._connect
        if connect is None:
            from pyocd.core.helpers import ConnectHelper

            connect = ConnectHelper.session_with_chosen_probe
        log.info("pyOCD session: unique_id=%s options=%s", uid, options)
        try:
            session = connect(unique_id=uid, blocking=False, return_first=False, options=options)
        except Exception as exc:
            raise self._translate(exc) from None
        if session is None:
            raise FlashError(f"no debug probe with unique ID '{uid}' is attached",
                             hint="check the cable and 'tinyflash probes'")
        try:
            session.open()
        except Exception as exc:
            raise self._translate(exc) from None
        self._session = session
        return session

    def _translate(self, exc: Exception) -> FlashError:
        text = str(exc)
        if "not recognized" in text.lower() or "target type" in text.lower() or "pack" in text.lower():
            return FlashError(f"pyOCD does not know target '{self.config.target}': {text}",
                              hint=f"install its CMSIS pack once (online): pyocd pack install {self.config.target}")
        return FlashError(f"pyOCD failed ({type(exc).__name__}): {text}",
                          hint="retry with a lower frequency in the board YAML or connect_mode: under-reset")

    # -- Flasher ------------------------------------------------------------------------------
    def program(self, elf: Path) -> None:
        session = self._open_session()
        from pyocd.flash.file_programmer import FileProgrammer

        try:
            FileProgrammer(session, progress=self.progress, chip_erase="sector", smart_flash=True).program(str(elf))
        except Exception as exc:
            raise FlashError(f"programming {elf} failed: {exc}",
                             hint="check the ELF fits the board (tinyflash build reports it) and the probe "
                                  "can halt the core (connect_mode: under-reset)") from None

    def reset(self) -> None:
        session = self._open_session()
        from pyocd.core.exceptions import TransferError
        from pyocd.core.target import Target

        kind = {ResetKind.HARDWARE: Target.ResetType.HARDWARE, ResetKind.SOFTWARE: Target.ResetType.SYSTEM}.get(
            self.config.reset, Target.ResetType.HARDWARE)
        try:
            session.target.reset(kind)
        except TransferError:
            pass   # the core may drop the link while it resets; pyocd load treats this as harmless too

    def serial_url(self) -> str:
        if self.port:
            return self.port
        from tinyflash.flash.discovery import port_for_probe

        return port_for_probe(self._choose_probe(), self.board.name)

    def close(self) -> None:
        if self._session is not None:
            try:
                self._session.close()
            finally:
                self._session = None
