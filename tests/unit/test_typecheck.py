"""The records between pipeline stages are typed; keep them checked (style: type-check in CI)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from ..conftest import REPO


def test_mypy_is_clean() -> None:
    if shutil.which("mypy") is None and subprocess.run([sys.executable, "-m", "mypy", "--version"],
                                                       capture_output=True).returncode != 0:
        pytest.skip("mypy not installed: pip install -e '.[test]'")
    proc = subprocess.run([sys.executable, "-m", "mypy", "tinyflash"], capture_output=True, text=True, cwd=REPO,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
