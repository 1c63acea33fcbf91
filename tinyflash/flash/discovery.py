"""Debug probes and their virtual COM ports. ST-LINK, CMSIS-DAP (DAPLink) and J-Link expose the debug
interface and the VCP on one USB device, so the port's USB serial number equals the probe's unique ID;
ports without one are matched by USB location (shared docs ecosystem.md §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from tinyflash.errors import FlashError


@dataclass(frozen=True)
class ProbeInfo:
    unique_id: str
    vendor: str
    product: str
    board_name: str
    board_target: str
    ports: tuple[str, ...]


def _probes_from_pyocd() -> list[Any]:
    from pyocd.core.helpers import ConnectHelper

    return list(ConnectHelper.get_all_connected_probes(blocking=False))


def _ports_from_pyserial() -> list[Any]:
    from serial.tools import list_ports

    return list(list_ports.comports())


def match_ports(unique_id: str, ports: Iterable[Any]) -> tuple[str, ...]:
    uid = unique_id.lower()
    found = [p.device for p in ports if getattr(p, "serial_number", None) and
             (p.serial_number.lower() == uid or uid.startswith(p.serial_number.lower()))]
    return tuple(sorted(found))


def list_probes(probes: Optional[Callable[[], list[Any]]] = None,
                ports: Optional[Callable[[], list[Any]]] = None) -> list[ProbeInfo]:
    raw = (probes or _probes_from_pyocd)()
    port_list = (ports or _ports_from_pyserial)()
    out = []
    for probe in raw:
        info = getattr(probe, "associated_board_info", None)
        out.append(ProbeInfo(probe.unique_id, getattr(probe, "vendor_name", ""), getattr(probe, "product_name", ""),
                             getattr(info, "name", "") or "", getattr(info, "target", "") or "",
                             match_ports(probe.unique_id, port_list)))
    return out


def port_for_probe(unique_id: str, board: str, ports: Optional[Callable[[], list[Any]]] = None) -> str:
    found = match_ports(unique_id, (ports or _ports_from_pyserial)())
    if not found:
        raise FlashError(f"no serial port belongs to probe {unique_id} (board {board})",
                         hint="pass --port PORT (e.g. /dev/ttyACM0 or rfc2217://host:port?ign_set_control)")
    return found[0]
