"""Inventory and matrix files: validated against their classes, every error located (file:line: key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyflash.farm.errors import FarmConfigError
from tinyflash.farm.inventory import load_inventory
from tinyflash.farm.matrix import load_matrix
from tinyflash.farm.runner import firmware_id

from ..conftest import REPO


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_example_configs_load() -> None:
    inventory = load_inventory(REPO / "examples" / "farm.yaml")
    matrix = load_matrix(REPO / "examples" / "nightly.yaml")
    assert [u.name for u in inventory.units_for("mps2-an386")] == ["an386.0", "an386.1"]
    assert set(inventory.disconnected) == {"h7-desk-3", "l4r5-lab"}
    assert {j.id for j in matrix.jobs} == {f"{b}/{m}/aot" for b in
                                          ("mps2-an386", "mps2-an500", "mps3-an547", "netduinoplus2")
                                          for m in ("kws", "vww", "ic", "ad")}


def test_units_expand_and_keep_their_facts(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, "farm.yaml", """\
schema_version: 1
units:
  - {id: qemu, board: mps2-an500, count: 3, timeout_multiplier: 2}
  - id: h7
    board: stm32h7
    probe: 0123ABCD
    serial: /dev/ttyACM0
"""))
    assert [u.name for u in inv.units] == ["qemu.0", "qemu.1", "qemu.2", "h7"]
    h7 = inv.units[-1]
    assert (h7.probe, h7.serial, h7.emulated) == ("0123ABCD", "/dev/ttyACM0", False)
    assert inv.units[0].timeout_multiplier == 2


@pytest.mark.parametrize("body, where, words", [
    ("units:\n  - {id: a, board: mps2-an386}\n", "farm.yaml:1", "schema_version is missing"),
    ("schema_version: 7\nunits: [{id: a, board: mps2-an386}]\n", "farm.yaml:1: schema_version", "unsupported"),
    ("schema_version: 1\nunits:\n  - id: a\n    board: mps2-an386\n    colour: red\n",
     "farm.yaml:5: units.0.colour", "unknown key"),
    ("schema_version: 1\nunits:\n  - id: a\n    board: nosuchboard\n", "farm.yaml:4: units.0.board",
     "no board named 'nosuchboard'"),
    ("schema_version: 1\nunits:\n  - {id: a, board: mps2-an386}\n  - {id: a, board: mps2-an500}\n",
     "farm.yaml:4: units.1.id", "duplicate unit id"),
    ("schema_version: 1\nunits:\n  - id: h7\n    board: stm32h7\n    count: 2\n    probe: X\n",
     "farm.yaml:5: units.0.count", "count is for emulated boards"),
    ("schema_version: 1\nunits:\n  - id: h7\n    board: stm32h7\n", "farm.yaml:3: units.0", "needs 'probe'"),
    ("schema_version: 1\nunits:\n  - id: q\n    board: mps2-an386\n    probe: X\n", "farm.yaml:5: units.0.probe",
     "emulated"),
    ("schema_version: 1\nunits:\n  - id: q\n    board: mps2-an386\n    count: zero\n", "farm.yaml:5: units.0.count",
     "integer"),
    ("schema_version: 1\nunits:\n  - id: l\n    board: stm32h7\n    labgrid: {coordinator: 'x:1'}\n",
     "farm.yaml:5: units.0.labgrid.place", "name a place"),
    ("schema_version: 1\nunits: [\n", "farm.yaml:3", "not valid YAML"),
    # #11.9: one probe or serial port is one unit; count must not make a name another unit has
    ("schema_version: 1\nunits:\n  - {id: h1, board: stm32h7, probe: UID1}\n  - {id: h2, board: stm32h7, probe: UID1}\n",
     "farm.yaml:4: units.1.probe", "probe 'UID1' is also the probe of units.0"),
    ("schema_version: 1\nunits:\n  - {id: h1, board: stm32h7, probe: U1, serial: /dev/ttyACM0}\n"
     "  - {id: h2, board: stm32h7, probe: U2, serial: /dev/ttyACM0}\n",
     "farm.yaml:4: units.1.serial", "serial '/dev/ttyACM0' is also the serial of units.0"),
    ("schema_version: 1\nunits:\n  - {id: q.1, board: mps2-an386}\n  - {id: q, board: mps2-an386, count: 2}\n",
     "farm.yaml:4: units.1.id", "unit name 'q.1' is also a unit of units.0"),
])
def test_inventory_errors_are_located(tmp_path: Path, body: str, where: str, words: str) -> None:
    path = write(tmp_path, "farm.yaml", body)
    with pytest.raises(FarmConfigError) as info:
        load_inventory(path)
    text = str(info.value)
    assert text.startswith(str(tmp_path / where.split(":")[0]) + where[len("farm.yaml"):]), text
    assert words in text


def test_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "farm.yaml", "schema_version: 1\nunits:\n  - {id: a, board: mps2-an386, port: 3}\n")
    with pytest.raises(FarmConfigError) as info:
        load_inventory(path)
    assert info.value.line == 3 and info.value.key == "units.0.port"
    assert "allowed keys here: id, board, count, probe, serial" in str(info.value)


MATRIX = """\
schema_version: 1
name: test
boards: [mps2-an386, mps2-an500, netduinoplus2]
models: [ad, kws]
runtimes: [aot]
build: {optimization: -O2}
board_build:
  mps2-an500: {optimization: -O0, defines: [SLOW=1], profile: true}
include:
  - {board: mps2-an386, model: ad, variant: hang, build: {defines: [TF_FAULT_HANG_IN_INFER]}}
  - {board: mps2-an500, model: ad, variant: plain, build: {profile: false}}
exclude:
  - {board: netduinoplus2, model: kws}
quarantine:
  - {board: mps2-an500, model: kws, reason: "issue 12"}
run: {verify_count: 1, retries: 2, timeouts: {infer: 3}}
"""


def test_matrix_expands_with_include_exclude_quarantine(tmp_path: Path) -> None:
    matrix = load_matrix(write(tmp_path, "m.yaml", MATRIX))
    jobs = {j.id: j for j in matrix.jobs}
    assert set(jobs) == {"mps2-an386/ad/aot", "mps2-an386/kws/aot", "mps2-an500/ad/aot", "mps2-an500/kws/aot",
                         "netduinoplus2/ad/aot", "mps2-an386/ad/aot@hang", "mps2-an500/ad/aot@plain"}
    # profile: set per board, switched off again by an include; a profiled build is its own firmware
    assert jobs["mps2-an500/ad/aot"].options.profile and not jobs["mps2-an386/ad/aot"].options.profile
    assert not jobs["mps2-an500/ad/aot@plain"].options.profile
    assert jobs["mps2-an500/ad/aot@plain"].options.optimization == "-O0"
    assert firmware_id(jobs["mps2-an500/ad/aot"]) != firmware_id(jobs["mps2-an500/ad/aot@plain"])
    assert jobs["mps2-an500/ad/aot"].options.optimization == "-O0"
    assert jobs["mps2-an500/ad/aot"].options.defines == ("SLOW=1",)
    assert jobs["mps2-an386/ad/aot"].options.optimization == "-O2"
    assert jobs["mps2-an386/ad/aot@hang"].options.defines == ("TF_FAULT_HANG_IN_INFER",)
    assert jobs["mps2-an386/ad/aot@hang"].firmware_key != jobs["mps2-an386/ad/aot"].firmware_key
    assert jobs["mps2-an500/kws/aot"].quarantined == "issue 12"
    assert jobs["mps2-an386/ad/aot"].quarantined is None
    assert matrix.run.retries == 2 and matrix.timeouts().infer == 3 and matrix.timeouts().boot == 10


@pytest.mark.parametrize("old, new, where, words", [
    ("boards: [mps2-an386, mps2-an500, netduinoplus2]", "boards: [mps2-an386, nope, netduinoplus2]",
     "m.yaml:3: boards.1", "no board named 'nope'"),
    ("models: [ad, kws]", "models: [ad, kwz]", "m.yaml:4: models.1", "unknown model 'kwz'"),
    ("runtimes: [aot]", "runtimes: [tflm-nope]", "m.yaml:5: runtimes.0", "unknown runtime"),
    ("build: {optimization: -O2}", "build: {optimization: O2}", "m.yaml:6: build.optimization", "pattern"),
    ("  mps2-an500: {optimization", "  mps2-an5000: {optimization", "m.yaml:8: board_build.mps2-an5000",
     "no board named"),
    ("run: {verify_count: 1,", "run: {verify_cnt: 1,", "m.yaml:16: run.verify_cnt", "unknown key"),
    ("  - {board: netduinoplus2, model: kws}", "  - {reason: x}", "m.yaml:13: exclude.0.board", "at least one"),
    # #11.9: a define reaches the compiler's command line: checked when the matrix loads, located
    ("build: {optimization: -O2}", "build: {optimization: -O2, defines: ['X=`touch PWN`']}",
     "m.yaml:6: build.defines.0", "is not NAME or NAME=VALUE"),
    ("defines: [SLOW=1]", "defines: ['SLOW=1; rm -rf ~']", "m.yaml:8: board_build.mps2-an500.defines.0",
     "is not NAME or NAME=VALUE"),
    ("build: {defines: [TF_FAULT_HANG_IN_INFER]}", "build: {defines: [\"X=$(id)\"]}",
     "m.yaml:10: include.0.build.defines.0", "is not NAME or NAME=VALUE"),
    ("build: {optimization: -O2}", "build: {optimization: -O2, kernels: cmsis-nn}", "m.yaml:6: build.kernels",
     "kernel set 'cmsis-nn' is not available with runtime aot"),
])
def test_matrix_errors_are_located(tmp_path: Path, old: str, new: str, where: str, words: str) -> None:
    assert old in MATRIX
    path = write(tmp_path, "m.yaml", MATRIX.replace(old, new))
    with pytest.raises(FarmConfigError) as info:
        load_matrix(path)
    assert str(info.value).startswith(f"{tmp_path}/{where}"), str(info.value)
    assert words in str(info.value)


def test_matrix_selecting_nothing_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "schema_version: 1\nboards: [mps2-an386]\nmodels: [ad]\n"
                                     "exclude: [{board: 'mps2-*'}]\n")
    with pytest.raises(FarmConfigError, match="selects no job"):
        load_matrix(path)
