"""Flash + reset: put a firmware on a board and start it. QEMU is one implementation of the seam."""

from tinyflash.flash.base import Flasher

__all__ = ["Flasher"]
