"""The submission tree and system JSON of tinyflash submit (#12.3): the layout and fields the v1.4
checker reads, and a tree that is complete or absent, never partial under its final name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog
from tinyflash.submit.system import Pin, system_description
from tinyflash.submit.tree import (Division, SubmissionTree, TreeError, prepare_staging, publish,
                                   staging_path)

# every system-JSON key the v1.4 checker reads (Status) or copies into its results table
CHECKER_FIELDS = ["Status", "Board Name", "Processor(s) Name", "Processor(s) Frequencies",
                  "Processor memory type and capacity", "Accelerator", "Accelerator(s) Frequencies",
                  "Accelerator memory type and capacity", "Hardware Notes", "Inference Framework",
                  "Software Libraries", "Software Notes"]
PINS = [Pin("CMSIS_6", "5782d6f8057906d360f4b95ec08a2354afe5c9b9")]


def _describe(board_name: str) -> dict:
    board = BoardCatalog().load(board_name)
    return system_description(board, runtimes=["aot"], kernels=["auto"], version="9.9", pins=PINS,
                              toolchain="arm-none-eabi-gcc 12.2", optimization="-O2", runner_revision="1afd2c9")


def _runner_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("log.txt", "results.txt", "results.json"):
        (folder / name).write_text(name)
    return sorted(folder.iterdir())


def test_layout_is_the_checkers(tmp_path: Path) -> None:
    tree = SubmissionTree(tmp_path, Division.CLOSED, "acme", "mps2-an500-tinyflash-aot")
    assert tree.system_json == tmp_path / "closed/acme/systems/mps2-an500-tinyflash-aot.json"
    folder = tree.add_results("ad", "performance", _runner_files(tmp_path / "session"))
    assert folder == tmp_path / "closed/acme/results/mps2-an500-tinyflash-aot/ad/performance"
    assert sorted(p.name for p in folder.iterdir()) == ["log.txt", "results.json", "results.txt"]
    assert tree.code_dir("ad") == tmp_path / "closed/acme/code/mps2-an500-tinyflash-aot/ad"


def test_result_folders_hold_exactly_the_runners_files(tmp_path: Path) -> None:
    # any other file is a "file list mismatch" error in the checker
    tree = SubmissionTree(tmp_path / "t", Division.OPEN, "acme", "sys")
    files = _runner_files(tmp_path / "session")
    with pytest.raises(TreeError, match="expected the runner's"):
        tree.add_results("ad", "accuracy", files[:2])
    (tmp_path / "session" / "tinyflash.json").write_text("{}")
    with pytest.raises(TreeError, match="tinyflash.json"):
        tree.add_results("ad", "accuracy", sorted((tmp_path / "session").iterdir()))


@pytest.mark.parametrize("name", ["my org", "../up", ".hidden", "a/b", ""])
def test_names_that_cannot_be_folders_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(TreeError, match="cannot be a folder name"):
        SubmissionTree(tmp_path, Division.CLOSED, name, "sys")


def test_problems_the_checker_rejects_are_found_first(tmp_path: Path) -> None:
    tree = SubmissionTree(tmp_path, Division.CLOSED, "acme", "sys")
    tree.add_results("ad", "accuracy", _runner_files(tmp_path / "session"))
    assert [p for p in tree.problems() if "session" not in p] == []
    (tree.code_dir("ad") / "empty").mkdir(parents=True)
    (tree.code_dir("ad") / "__pycache__").mkdir()
    (tree.code_dir("ad") / "__pycache__" / "x.pyc").write_bytes(b"")
    os.symlink(tree.system_json, tree.code_dir("ad") / "link")
    found = " ".join(tree.problems())
    assert "empty folder closed/acme/code/sys/ad/empty" in found
    assert "__pycache__ folder" in found and "symbolic link closed/acme/code/sys/ad/link" in found


def test_code_copies_skip_caches_and_dotfiles(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "__pycache__").mkdir(parents=True)
    (src / "main.c").write_text("int main(void) { return 0; }\n")
    (src / ".sconsign.dblite").write_text("")
    (src / "main.o").write_bytes(b"\0")
    tree = SubmissionTree(tmp_path / "t", Division.CLOSED, "acme", "sys")
    folder = tree.add_code("ad", [(src, "src")])
    assert sorted(p.name for p in (folder / "src").iterdir()) == ["main.c"]


def test_a_tree_appears_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "submission"
    staging = prepare_staging(out)
    assert staging == staging_path(out) == tmp_path / "submission.partial"
    (staging / "tree" / "closed").mkdir(parents=True)
    assert not out.exists()                     # a failure here leaves only submission.partial
    publish(staging / "tree", out)
    assert (out / "closed").is_dir()
    with pytest.raises(TreeError, match="already exists"):
        prepare_staging(out)                    # a finished tree is never overwritten or merged


def test_a_stale_partial_tree_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "submission"
    (staging_path(out) / "tree" / "closed").mkdir(parents=True)
    staging = prepare_staging(out)
    assert list(staging.iterdir()) == []


def test_system_json_has_every_field_the_checker_reads() -> None:
    data = _describe("nucleo-l4r5zi")
    assert [k for k in CHECKER_FIELDS if k not in data] == []
    assert "system_type" not in data            # v1.4's Config.set_type accepts only None
    assert data["Status"] == "available"
    assert data["Processor(s) Name"] == "Arm Cortex-M4 with single-precision FPU"
    assert data["Processor(s) Frequencies"] == "120 MHz"          # the board YAML's clock_hz
    assert data["Inference Framework"] == "tinyflash 9.9 (aot)"
    assert "CMSIS_6 5782d6f8057906d360f4b95ec08a2354afe5c9b9" in data["Software Libraries"]
    assert "rehearsal" not in json.dumps(data)                      # a real board


def test_emulated_results_are_marked_as_such() -> None:
    data = _describe("mps3-an547")
    assert "virtual time under -icount" in data["Hardware Notes"]
    assert "not a publishable result" in data["Hardware Notes"]
    assert "mps3-an547" in data["Hardware Notes"] and "-icount" in data["Software Notes"]
    assert data["Processor(s) Name"] == "Arm Cortex-M55 with double-precision FPU, Helium (MVE-F)"
    assert data["Processor memory type and capacity"] == "512 KiB code memory, 512 KiB RAM"   # board YAML


def test_a_real_board_needs_its_usb_id(tmp_path: Path) -> None:
    from tinyflash.submit.flow import SubmitError, SubmitRequest, usb_id

    board = BoardCatalog().load("nucleo-l4r5zi")
    request = SubmitRequest(board, (), "acme", tmp_path, tmp_path / "out")
    assert usb_id(request) == (0x0483, 0x374B)     # the board YAML's uart.usb: its ST-LINK/V2-1 VCP
    unknown = board.model_copy(update={"uart": board.uart.model_copy(update={"usb": None})})
    with pytest.raises(SubmitError, match="only by the USB VID:PID") as info:
        usb_id(SubmitRequest(unknown, (), "acme", tmp_path, tmp_path / "out"))
    assert "--usb-id" in str(info.value)
    assert usb_id(SubmitRequest(board, (), "acme", tmp_path, tmp_path / "out", usb_id=(0x0483, 0x374E))) == \
        (0x0483, 0x374E)                           # --usb-id wins


@pytest.mark.parametrize("usb, problem", [("{vid: 0x0483, pid: 0x10000}", "uart.usb.pid"),
                                          ("{vid: -1, pid: 0x374B}", "uart.usb.vid"),
                                          ("{vid: 0x0483}", "uart.usb.pid"),
                                          ("{vid: 0x0483, pid: 0x374B, serial: x}", "uart.usb.serial")])
def test_uart_usb_is_two_16_bit_ids(tmp_path: Path, usb: str, problem: str) -> None:
    from tinyflash.board import load_board_file
    from tinyflash.errors import BoardFileError

    repo = Path(__file__).resolve().parents[2]
    text = (repo / "boards" / "nucleo-l4r5zi.yaml").read_text()
    old = "usb: {vid: 0x0483, pid: 0x374B}"
    assert old in text
    path = tmp_path / "nucleo-l4r5zi.yaml"
    path.write_text(text.replace(old, f"usb: {usb}"))
    with pytest.raises(BoardFileError) as info:
        load_board_file(path)
    assert problem in str(info.value)
