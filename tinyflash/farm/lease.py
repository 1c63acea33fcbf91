"""What holding a unit gives a night (:class:`Lease`), and the type of whatever hands leases out.

Kept apart from :mod:`tinyflash.farm.runner` so that :mod:`tinyflash.farm.labgrid_unit` can produce
leases without importing the runner that uses them (no import cycle, #15).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ContextManager, Optional

if TYPE_CHECKING:
    from tinyflash.farm.inventory import Unit


@dataclass(frozen=True)
class Lease:
    """What holding a unit gives: the serial URL to use (None: the flasher's own) and the probe UID; for a
    labgrid place also its name and when it was asked for (epoch seconds), recorded as the night's holds."""

    port: Optional[str]
    probe: Optional[str]
    place: Optional[str] = None
    since: Optional[float] = None


PlaceProvider = Callable[["Unit"], ContextManager[Lease]]
