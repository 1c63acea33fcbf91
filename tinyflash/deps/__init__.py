"""Third-party sources: the pinned manifest (west.yml), the west workspace that holds them, local
mirrors for offline machines, and finding an existing checkout of the TFLM runtime's sources and of
mlcommons/tiny (the official MLPerf Tiny runner, submission checker and reference models).

Library API: :mod:`tinyflash.deps.manifest`, :mod:`tinyflash.deps.mirror`, :mod:`tinyflash.deps.workspace`,
:mod:`tinyflash.deps.sources`, :mod:`tinyflash.deps.mlperf_tiny` (its entry points are re-exported here).
:mod:`tinyflash.cli.deps` is the ``tinyflash deps`` command (not API).
"""

from tinyflash.deps.errors import DepsError, SourcesNotFoundError
from tinyflash.deps.mlperf_tiny import (MLPERF_TINY_DIR_ENV, MlperfTinySources, find_mlperf_tiny,
                                        mlperf_tiny_model_dirs)

__all__ = ["DepsError", "MLPERF_TINY_DIR_ENV", "MlperfTinySources", "SourcesNotFoundError", "find_mlperf_tiny",
           "mlperf_tiny_model_dirs"]
