"""Board descriptors: one YAML file per board type, validated against :class:`Board`."""

from tinyflash.board.loader import BoardCatalog, load_board_file
from tinyflash.board.schema import Board, Core, FlashMethod

__all__ = ["Board", "BoardCatalog", "Core", "FlashMethod", "load_board_file"]
