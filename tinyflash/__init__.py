"""tinyflash: board YAML + model -> generated benchmark firmware -> flash -> MLPerf Tiny results.

The library is the API; :mod:`tinyflash.cli` is a thin front end and not API.
Pipeline stages live in sub-packages named after them: board, model, generate, build, flash, run, report.
"""

__version__ = "0.1.0"
