"""#15.3: a night on a board that exists only in --board-dir (a ported board) builds and runs.

Before the fix, ``farm check`` validated the matrix against the extra directory, then the runner looked
each job's board up again by name in the default catalogue, and every build failed with "no board named".
Here the library API the CLI calls is used, as ``farm run --board-dir`` does, with one job.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog
from tinyflash.farm.inventory import load_inventory
from tinyflash.farm.matrix import load_matrix
from tinyflash.farm.outcome import Outcome
from tinyflash.farm.runner import NightRunner, NightSettings

from ..conftest import REPO

pytestmark = pytest.mark.qemu


def test_a_night_on_a_board_from_board_dir_builds_and_runs(tmp_path: Path, model_dir: Path, qemu: None,
                                                            scons_cache: Path) -> None:
    boards = tmp_path / "boards"
    boards.mkdir()
    text = (REPO / "boards" / "mps2-an500.yaml").read_text()
    assert "name: mps2-an500\n" in text
    (boards / "ported-an500.yaml").write_text(text.replace("name: mps2-an500\n", "name: ported-an500\n"))
    (tmp_path / "farm.yaml").write_text("schema_version: 1\nunits:\n  - {id: p, board: ported-an500}\n")
    (tmp_path / "m.yaml").write_text("schema_version: 1\nname: ported\nboards: [ported-an500]\nmodels: [ad]\n"
                                     "run: {verify_count: 1, retries: 0}\n")
    catalog = BoardCatalog(extra_dirs=[boards], environ={})
    inventory = load_inventory(tmp_path / "farm.yaml", catalog)
    matrix = load_matrix(tmp_path / "m.yaml", catalog)
    settings = NightSettings(out_root=tmp_path / "out", model_dirs=(model_dir,), night_id="n1",
                             cache_dir=scons_cache)
    result = NightRunner(inventory, matrix, settings).run()
    (outcome,) = result.outcomes
    assert outcome.job.id == "ported-an500/ad/aot"
    assert outcome.outcome is Outcome.PASSED, outcome.message
    assert result.data["firmware"][0]["error"] is None
