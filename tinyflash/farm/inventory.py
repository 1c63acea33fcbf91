"""The inventory (``farm.yaml``): which physical units exist, as twister's hardware map has it.

A *board type* is a board YAML (:mod:`tinyflash.board`); a *unit* is one thing a job runs on: a real
board with its probe UID and serial port, a labgrid place, or one of ``count`` QEMU instances of an
emulated board. The matrix (what to run) lives in another file: see :mod:`tinyflash.farm.matrix`.

```yaml
schema_version: 1
units:
  - {id: an386, board: mps2-an386, count: 2}          # two QEMU instances side by side
  - id: h7-desk-3
    board: stm32h7
    probe: 066DFF555185754867071234                    # pyOCD unique ID
    serial: /dev/serial/by-id/usb-STMicroelectronics_STLINK-V3_066DFF555185754867071234-if02
  - id: h7-remote
    board: stm32h7
    labgrid: {coordinator: "10.0.0.5:20408", tags: {board: stm32h7}}
  - id: an386-shared                                   # QEMU here, while holding a place (the lock)
    board: mps2-an386
    labgrid: {coordinator: "10.0.0.5:20408", tags: {board: mps2-an386}}
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Optional

from pydantic import Field, StrictBool, StrictInt, model_validator

from tinyflash.board.loader import BoardCatalog
from tinyflash.board.schema import Board, TimeoutMultiplier
from tinyflash.config_file import StrictModel
from tinyflash.errors import BoardError
from tinyflash.farm.config import located, read_yaml, validate

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class LabgridPlace(StrictModel):
    """A labgrid place: by name, or any free place whose tags match."""

    coordinator: Optional[str] = None          # host:port; default: LG_COORDINATOR or labgrid's own default
    place: Optional[str] = None
    tags: dict[str, str] = Field(default_factory=dict)
    acquire_timeout: Annotated[float, Field(gt=0)] = 120.0

    @model_validator(mode="after")
    def _one_way(self) -> "LabgridPlace":
        if not self.place and not self.tags:
            raise ValueError("place: name a place, or give tags to match one (e.g. tags: {board: stm32h7})")
        return self


class UnitConfig(StrictModel):
    id: Annotated[str, Field(pattern=_ID)]
    board: Annotated[str, Field(min_length=1)]
    count: Annotated[StrictInt, Field(ge=1, le=64)] = 1
    probe: Optional[str] = None                # pyOCD unique ID (real boards)
    serial: Optional[str] = None               # device path or pyserial URL of the benchmark UART
    connected: StrictBool = True               # false: kept in the file, left out of runs
    tags: list[str] = Field(default_factory=list)
    timeout_multiplier: TimeoutMultiplier = 1.0   # on top of the board's (slow hub, long cable)
    labgrid: Optional[LabgridPlace] = None
    notes: str = ""


class InventoryConfig(StrictModel):
    schema_version: int
    units: list[UnitConfig] = Field(min_length=1)


@dataclass(frozen=True)
class Unit:
    """One thing a job runs on. ``name`` is ``id`` or ``id.N`` for the Nth instance of a counted unit."""

    name: str
    board: Board
    config_id: str
    probe: Optional[str] = None
    serial: Optional[str] = None
    tags: tuple[str, ...] = ()
    timeout_multiplier: float = 1.0
    labgrid: Optional[LabgridPlace] = None

    @property
    def emulated(self) -> bool:
        return self.board.emulated


@dataclass(frozen=True)
class Inventory:
    path: Path
    units: tuple[Unit, ...]
    disconnected: tuple[str, ...] = field(default=())

    def units_for(self, board: Board | str) -> list[Unit]:
        """The units of a board type, matched by its name (a Board, or its name)."""
        name = board.name if isinstance(board, Board) else board
        return [u for u in self.units if u.board.name == name]

    def boards(self) -> set[str]:
        return {u.board.name for u in self.units}


def load_inventory(path: Path | str, catalog: Optional[BoardCatalog] = None) -> Inventory:
    path = Path(path)
    catalog = catalog or BoardCatalog()
    data, root = read_yaml(path)
    config = validate(InventoryConfig, data, path, root, what="schema_version: 1 and units: [...]")
    seen: dict[str, int] = {}
    names: dict[str, int] = {}          # unit names after count expansion -> index of the entry
    probes: dict[str, int] = {}         # one physical probe (or serial port) belongs to one unit
    serials: dict[str, int] = {}
    units: list[Unit] = []
    disconnected: list[str] = []
    boards: dict[str, Board] = {}
    for index, unit in enumerate(config.units):
        loc: list[str | int] = ["units", index]
        if unit.id in seen:
            raise located(path, root, loc + ["id"], f"duplicate unit id '{unit.id}' (also units.{seen[unit.id]})",
                          hint="every unit needs its own id")
        seen[unit.id] = index
        if unit.board not in boards:
            try:
                boards[unit.board] = catalog.load(unit.board)
            except BoardError as exc:
                raise located(path, root, loc + ["board"], exc.message, hint=exc.hint) from None
        board = boards[unit.board]
        if board.emulated:
            if unit.probe:
                raise located(path, root, loc + ["probe"], f"board {board.name} is emulated: it has no probe",
                              hint="remove probe; emulated units run in QEMU (use count for several instances)")
        else:
            if unit.count != 1:
                raise located(path, root, loc + ["count"], f"count is for emulated boards; {board.name} is a "
                              "physical board", hint="list each physical unit with its own id, probe and serial")
            if not unit.probe and not unit.labgrid:
                raise located(path, root, loc, f"real board {board.name} needs 'probe' (the pyOCD unique ID)",
                              hint="'tinyflash probes' lists attached probes with their serial ports")
        expanded = [unit.id] if unit.count == 1 else [f"{unit.id}.{k}" for k in range(unit.count)]
        for name in expanded:
            if name in names and names[name] != index:
                raise located(path, root, loc + ["id"], f"unit name '{name}' is also a unit of units.{names[name]}"
                              " (count names its units ID.0, ID.1, ...)",
                              hint="rename one of the two units so no name is used twice")
            names[name] = index
        if not unit.connected:
            disconnected.append(unit.id)
            continue
        for key, value, owners in (("probe", unit.probe, probes), ("serial", unit.serial, serials)):
            if value is None:
                continue
            if value in owners:
                raise located(path, root, loc + [key], f"{key} '{value}' is also the {key} of units.{owners[value]}",
                              hint="two units cannot share one probe or serial port: fix one, or mark the stale "
                                   "one 'connected: false'")
            owners[value] = index
        for name in expanded:
            units.append(Unit(name, board, unit.id, unit.probe, unit.serial, tuple(unit.tags),
                              unit.timeout_multiplier, unit.labgrid))
    return Inventory(path, tuple(units), tuple(disconnected))


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def slug(text: str) -> str:
    """A file-name-safe form of a job or unit name."""
    return _SAFE.sub("_", text).strip("_") or "_"
