"""``python -m tinyflash.farm farm run ...`` / ``python -m tinyflash.farm report ...``."""

from tinyflash.farm.cli import main

raise SystemExit(main())
