"""#11.1: no user string reaches a shell. SCons used to run every command through `sh -c` with paths only
double-quoted, so backticks and $(...) in an output directory, a source name or a define ran as commands.
Real builds: each test checks the firmware was built and that no PWN file appeared anywhere."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog
from tinyflash.build.scons import build_firmware
from tinyflash.generate.project import GeneratedProject, generate_project
from tinyflash.model import read_graph, resolve_model

pytestmark = pytest.mark.usefixtures("toolchain")


def _generate(model_dir: Path, dest: Path) -> GeneratedProject:
    board = BoardCatalog(environ={}).load("mps2-an386")
    spec = resolve_model("ad", [model_dir], environ={})
    return generate_project(board, spec, read_graph(spec.path), dest)


def _pwned(*roots: Path) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        found += [p for p in root.rglob("*") if p.name.startswith("PWN")]
    return found


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # a command that ran would create PWN in the working directory: SCons runs them in the project dir,
    # a shell started by this process in tmp_path
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("out_name", ["out `touch PWN`", "out $(touch PWN)", "o$(touch PWN)", "o`touch PWN`x",
                                      "out $HOME $$ $("])
def test_an_output_directory_with_shell_syntax_builds_and_runs_nothing(out_name: str, model_dir: Path,
                                                                       sandbox: Path, scons_cache: Path) -> None:
    project = _generate(model_dir, sandbox / out_name)
    firmware = build_firmware(project, cache_dir=scons_cache)
    assert firmware.elf == sandbox / out_name / "build" / "firmware.elf" and firmware.elf.is_file()
    assert firmware.bin.stat().st_size > 0 and firmware.hex.is_file()
    assert sorted(p.name for p in sandbox.iterdir()) == [out_name]   # nothing beside it, no "$$" twin
    assert not _pwned(sandbox, scons_cache)


def test_a_source_name_and_a_define_with_backticks_run_nothing(model_dir: Path, sandbox: Path,
                                                               scons_cache: Path) -> None:
    project = _generate(model_dir, sandbox / "p")
    config = json.loads(project.project_file.read_text())
    # generated sources have fixed names; a renamed one stands for any name that reaches the build
    # ("$(" stays out: SCons itself rejects it in a source name, as "Unbalanced $(/$)", before running anything)
    old = next(s for s in config["sources"] if s.endswith("model_io.c"))
    new = str(Path(old).with_name("r`touch PWNR` $HOME.c"))
    os.rename(project.directory / old, project.directory / new)
    config["sources"][config["sources"].index(old)] = new
    # check_define refuses this before it gets here; the build must be safe on its own anyway
    config["defines"] += ["TF_INJECTED=`touch PWND`", "TF_INJECTED_2=`touch${IFS}PWNE`"]
    project.project_file.write_text(json.dumps(config))
    lines: list[str] = []
    firmware = build_firmware(project, cache_dir=scons_cache, on_line=lines.append)
    assert firmware.elf.is_file()
    assert (project.directory / "build" / "obj" / Path(new).with_suffix(".o")).is_file()
    assert any("TF_INJECTED=`touch PWND`" in line for line in lines)   # reached gcc as written
    assert not _pwned(sandbox, scons_cache)


def test_the_shared_library_build_runs_nothing_either(model_dir: Path, sandbox: Path) -> None:
    # the nested LIBRARY-mode run TFLM is built with, on a stand-in library whose sources, include dir
    # and cache directory all hold shell syntax (TFLM itself is not needed to reach that path). "$(" only
    # in the cache: in an absolute source or include path SCons refuses it ("Unbalanced $(/$)") before
    # running anything; the library's paths are the user's own TFLM checkout, not outside input.
    project = _generate(model_dir, sandbox / "p")
    root = sandbox / "lib `touch PWNL` $HOME"
    (root / "inc").mkdir(parents=True)
    (root / "inc" / "stand_in.h").write_text("int stand_in(int x);\n")
    (root / "stand_in.c").write_text('#include "stand_in.h"\nint stand_in(int x) { return x + STAND_IN; }\n')
    config = json.loads(project.project_file.read_text())
    config["tflm"] = {"kernels": "reference", "defines": ["STAND_IN=1"], "include_dirs": [str(root / "inc")],
                      "roots": {"stand-in": str(root)}, "sources": [str(root / "stand_in.c")]}
    project.project_file.write_text(json.dumps(config))
    cache = sandbox / "cache `touch PWNC` $(touch PWND)"
    firmware = build_firmware(project, cache_dir=cache)
    assert firmware.elf.is_file()
    libraries = list((cache / "tflm").glob("*/libtflm.a"))
    assert len(libraries) == 1 and (libraries[0].parent / "obj" / "stand-in" / "stand_in.o").is_file()
    assert not _pwned(sandbox)
