"""The CRC the RP2040 bootrom checks on boot2 (CRC-32/MPEG-2), against the CRC catalogue's check value
and against zlib's CRC-32 turned into the unreflected variant; and the generated boot2 project."""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog
from tinyflash.build.boot2 import crc32_mpeg2


def _via_zlib(data: bytes) -> int:
    # zlib computes the reflected CRC-32 with a final xor: reflect the input bytes and the result,
    # and undo the xor, and it is the same polynomial without reflection
    def reflect(value: int, bits: int) -> int:
        return int(f"{value:0{bits}b}"[::-1], 2)

    return reflect(zlib.crc32(bytes(reflect(b, 8) for b in data)), 32) ^ 0xFFFFFFFF


def test_catalogue_check_value() -> None:
    # reveng CRC catalogue, CRC-32/MPEG-2: check = 0x0376e6e7 for "123456789"
    assert crc32_mpeg2(b"123456789") == 0x0376E6E7
    assert crc32_mpeg2(b"") == 0xFFFFFFFF


@pytest.mark.parametrize("length", [1, 4, 252, 1000])
def test_matches_an_independent_computation(length: int) -> None:
    data = random.Random(length).randbytes(length)
    assert crc32_mpeg2(data) == _via_zlib(data)


def test_rp2040_project_asks_for_the_checksum(tmp_path: Path, model_dir: Path) -> None:
    from tinyflash.generate.project import generate_project
    from tinyflash.model import read_graph, resolve_model

    board = BoardCatalog(environ={}).load("rp2040")
    spec = resolve_model("ad", [model_dir], environ={})
    graph = read_graph(spec.path)
    project = generate_project(board, spec, graph, tmp_path)
    config = json.loads(project.project_file.read_text())
    assert config["checksums"] == [{"section": ".boot2", "length": 252, "algorithm": "crc32-mpeg2"}]
    assert "src/boot2.S" in config["sources"] and "src/clock.c" in config["sources"]
    boot2 = (tmp_path / "src" / "boot2.S").read_text()
    assert "0x10000100" in boot2 and ".org 252" in boot2
    assert "ALIGN(256)" in (tmp_path / "linker.ld").read_text()
