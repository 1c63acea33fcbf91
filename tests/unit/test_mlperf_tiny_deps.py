"""mlcommons/tiny as the optional west group ``mlperf-tiny``: skipped by a plain ``tinyflash deps``, fetched
with ``--mlperf-tiny`` (through a mirror here), found through TINYFLASH_MLPERF_TINY_DIR or an explicit
directory, and its ``trained_models`` folders offered as model directories. Real git repositories made
in tmp stand in for the upstreams (no network, no mlcommons/tiny checkout needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyflash.deps import (MLPERF_TINY_DIR_ENV, DepsError, SourcesNotFoundError, find_mlperf_tiny,
                            mlperf_tiny_model_dirs)
from tinyflash.deps.manifest import MLPERF_TINY_ROLE, load_manifest, parse_manifest
from tinyflash.deps.mirror import Mirror
from tinyflash.deps.mlperf_tiny import CHECKER, MARKERS, MLPERF_TINY_GROUP, RUNNER_DIR
from tinyflash.deps.sources import MARKERS as TFLM_MARKERS
from tinyflash.deps.sources import TFLM_DIR_ENV
from tinyflash.deps.workspace import Workspace

from ..conftest import REPO
from .test_tflm_deps import PROJECTS, git, manifest_text

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not found: apt-get install git")

PIN = "1afd2c9820f795965a6134facd0b4dfae41ef23f"
TRAINED = ("anomaly_detection", "image_classification", "keyword_spotting", "visual_wake_words")


def tiny_manifest_text(pins: dict[str, str], tiny_pin: str) -> str:
    """The TFLM test manifest plus mlcommons/tiny in a group the manifest's group-filter disables."""
    text = manifest_text(pins).replace(
        "  remotes:\n", "  group-filter: [-mlperf-tiny]\n  remotes:\n"
        "    - name: mlcommons\n      url-base: https://git.example.invalid/mlcommons\n")
    return text + (f"    - name: tiny\n      remote: mlcommons\n      revision: {tiny_pin}\n"
                   f"      path: third_party/mlcommons-tiny\n      groups: [mlperf-tiny]\n"
                   f"      userdata: {{tinyflash: {{role: mlperf-tiny}}}}\n")


def make_tiny_tree(root: Path, models: bool = True) -> Path:
    """The files tinyflash looks at in mlcommons/tiny (no upstream content)."""
    for marker in MARKERS:
        (root / marker).parent.mkdir(parents=True, exist_ok=True)
        (root / marker).write_text("# stand-in\n")
    if models:
        for area in TRAINED:
            folder = root / "benchmark/training" / area / "trained_models"
            folder.mkdir(parents=True)
            (folder / f"{area}.tflite").write_bytes(b"TFL3")
    return root


def commit_all(work: Path) -> str:
    git("init", "-q", str(work))
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "initial", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


@pytest.fixture(scope="module")
def mirrors(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str], str]:
    """(mirror with TFLM's projects only, mirror with tiny.git too, TFLM pins, tiny pin)."""
    src = tmp_path_factory.mktemp("src")
    tflm_only = tmp_path_factory.mktemp("mirror-tflm")
    full = tmp_path_factory.mktemp("mirror-full")
    pins = {}
    for role, name, _ in PROJECTS:
        work = src / name
        (work / TFLM_MARKERS[role]).parent.mkdir(parents=True)
        (work / TFLM_MARKERS[role]).write_text(f"// {name}\n")
        pins[name] = commit_all(work)
        for mirror in (tflm_only, full):
            git("clone", "-q", "--bare", str(work), str(mirror / f"{name}.git"))
    tiny_pin = commit_all(make_tiny_tree(src / "tiny"))
    git("clone", "-q", "--bare", str(src / "tiny"), str(full / "tiny.git"))
    return tflm_only, full, pins, tiny_pin


def hermetic_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No default workspace and no TINYFLASH_* from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYFLASH_")}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "data"), **extra)
    return env


# --- the manifest -------------------------------------------------------------------------------
def test_repository_manifest_pins_mlcommons_tiny_in_an_optional_group() -> None:
    manifest = load_manifest(REPO / "west.yml")
    tiny = manifest.by_role(MLPERF_TINY_ROLE)
    assert tiny.revision == PIN and tiny.url == "https://github.com/mlcommons/tiny"
    assert tiny.groups == (MLPERF_TINY_GROUP,) and tiny.optional and tiny.repo_name == "tiny"
    assert tiny.path.startswith("third_party/")
    assert tiny not in manifest.default_projects and tiny in manifest.active_projects([MLPERF_TINY_GROUP])
    assert manifest.optional_groups() == (MLPERF_TINY_GROUP,)
    assert len(manifest.default_projects) == 6        # what TFLM needs, nothing more


def test_mlcommons_tiny_must_stay_optional(mirrors: tuple[Path, Path, dict[str, str], str]) -> None:
    _, _, pins, tiny_pin = mirrors
    text = tiny_manifest_text(pins, tiny_pin)
    parse_manifest(text)
    with pytest.raises(DepsError, match="must be in a group the manifest's group-filter disables"):
        parse_manifest(text.replace("  group-filter: [-mlperf-tiny]\n", ""))
    with pytest.raises(DepsError, match="not a full SHA"):
        parse_manifest(tiny_manifest_text(pins, "master"))


# --- fetching -----------------------------------------------------------------------------------
def test_group_is_skipped_by_default_and_fetched_with_the_flag(
        tmp_path: Path, mirrors: tuple[Path, Path, dict[str, str], str],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyflash.cli.main import main

    tflm_only, full, pins, tiny_pin = mirrors
    for key in [k for k in os.environ if k.startswith("TINYFLASH_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    manifest_file = tmp_path / "west.yml"
    manifest_file.write_text(tiny_manifest_text(pins, tiny_pin))
    ws = tmp_path / "ws"
    args = ["deps", "--manifest", str(manifest_file), "--workspace", str(ws), "--json"]

    # a plain `deps` needs no tiny.git in the mirror and leaves mlcommons/tiny out
    assert main([*args, "--mirror", str(tflm_only)]) == 0
    rows = {p["name"]: p for p in json.loads(capsys.readouterr().out)["projects"]}
    assert not rows["tiny"]["cloned"] and not rows["tiny"]["active"]
    assert all(r["at_pin"] for name, r in rows.items() if name != "tiny")
    assert not (ws / "third_party/mlcommons-tiny").exists()
    assert main([*args, "--status"]) == 0                        # an inactive project is not a fault
    assert json.loads(capsys.readouterr().out)["groups"] == []

    # --mlperf-tiny from a mirror without tiny.git: the missing repository is named
    assert main([*args, "--mlperf-tiny", "--mirror", str(tflm_only)]) == 1
    err = capsys.readouterr().err
    assert "lacks bare repositories for: tiny" in err and "Traceback" not in err

    # with it: fetched at the pin, and the workspace remembers the group (west's manifest.group-filter)
    subprocess.run([sys.executable, "-m", "west", "config", "manifest.group-filter", "+elsewhere"],  # the user's
                   cwd=ws, check=True, capture_output=True)
    assert main([*args, "--mlperf-tiny", "--mirror", str(full)]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {p["name"]: p for p in report["projects"]}
    assert rows["tiny"]["active"] and rows["tiny"]["at_pin"] and rows["tiny"]["head"] == tiny_pin
    assert report["groups"] == [MLPERF_TINY_GROUP]
    config = (ws / ".west/config").read_text()
    assert "group-filter = +elsewhere,+mlperf-tiny" in config
    manifest = parse_manifest(manifest_file.read_text())
    assert Workspace(ws, manifest).enabled_groups() == (MLPERF_TINY_GROUP,)
    # a later plain `deps` keeps it, so the mirror must now hold tiny.git
    assert main([*args, "--mirror", str(full)]) == 0
    rows = {p["name"]: p for p in json.loads(capsys.readouterr().out)["projects"]}
    assert rows["tiny"]["active"] and rows["tiny"]["at_pin"]

    # the workspace is where the library finds it (the default workspace here, through TINYFLASH_TFLM_DIR)
    env = hermetic_env(tmp_path, **{TFLM_DIR_ENV: str(ws)})
    tiny = find_mlperf_tiny(environ=env, manifest=manifest)
    assert tiny.layout == "workspace" and tiny.root == (ws / "third_party/mlcommons-tiny").resolve()
    assert tiny.revision == tiny_pin and tiny.at_pin
    assert tiny.runner_dir == tiny.root / RUNNER_DIR and tiny.checker.is_file()
    assert mlperf_tiny_model_dirs(env, manifest=manifest) == [
        tiny.root / "benchmark/training" / area / "trained_models" for area in TRAINED]

    from tinyflash.doctor import mlperf_tiny_check
    check = mlperf_tiny_check(environ=env, manifest=manifest)
    assert check.ok and not check.required and tiny_pin in check.detail and "(pinned)" in check.detail


def test_update_without_the_flag_never_requires_tiny_in_the_mirror(
        tmp_path: Path, mirrors: tuple[Path, Path, dict[str, str], str]) -> None:
    tflm_only, _, pins, tiny_pin = mirrors
    manifest = parse_manifest(tiny_manifest_text(pins, tiny_pin))
    Mirror(tflm_only).check(manifest)                 # default: only what a plain update fetches
    with pytest.raises(DepsError, match="lacks bare repositories for: tiny"):
        Mirror(tflm_only).check(manifest, manifest.active_projects([MLPERF_TINY_GROUP]))
    with pytest.raises(DepsError, match="no optional group ruy"):
        Workspace(tmp_path / "ws", manifest).update(mirror=Mirror(tflm_only), groups=["ruy"])


def test_an_incomplete_mirror_is_named_and_the_group_is_not_remembered(
        tmp_path: Path, mirrors: tuple[Path, Path, dict[str, str], str]) -> None:
    """As with a mirror copied without its large blobs: the fetch fails on the mirror's side."""
    tflm_only, full, pins, tiny_pin = mirrors
    broken = tmp_path / "broken"
    shutil.copytree(full, broken, symlinks=True)
    shutil.rmtree(broken / "tiny.git")
    git("clone", "-q", "--bare", str(full / "tiny.git"), str(broken / "tiny.git"))     # local: loose objects
    blob = git("-C", str(broken / "tiny.git"), "rev-parse", f"HEAD:{CHECKER}")
    (broken / "tiny.git/objects" / blob[:2] / blob[2:]).unlink()
    manifest = parse_manifest(tiny_manifest_text(pins, tiny_pin))
    workspace = Workspace(tmp_path / "ws", manifest)
    with pytest.raises(DepsError, match=r"mirror .*broken is missing objects of tiny") as info:
        workspace.update(mirror=Mirror(broken), groups=[MLPERF_TINY_GROUP])
    assert "git clone --mirror https://git.example.invalid/mlcommons/tiny" in str(info.value)
    assert MLPERF_TINY_DIR_ENV in str(info.value) and "Traceback" not in str(info.value)
    # the failed attempt did not enable the group: a plain update still needs only TFLM's projects
    assert workspace.enabled_groups() == ()
    states = workspace.update(mirror=Mirror(tflm_only))
    assert all(s.at_pin for s in states if s.active) and [s.project.name for s in states if not s.active] == ["tiny"]


# --- an existing checkout -----------------------------------------------------------------------
def test_environment_variable_and_explicit_directory_find_a_checkout(tmp_path: Path) -> None:
    manifest = load_manifest(REPO / "west.yml")
    mine = make_tiny_tree(tmp_path / "mine")
    commit_all(mine)                                   # a git checkout, but not at the pin
    archive = make_tiny_tree(tmp_path / "archive")     # like `git archive` output: no revision on disk
    env = hermetic_env(tmp_path, **{MLPERF_TINY_DIR_ENV: str(mine)})

    found = find_mlperf_tiny(environ=env, manifest=manifest)
    assert found.root == mine.resolve() and found.layout == "checkout"
    assert found.revision == git("-C", str(mine), "rev-parse", "HEAD") and found.pinned == PIN
    assert found.at_pin is False
    explicit = find_mlperf_tiny(archive, environ=env, manifest=manifest)     # the option wins over the variable
    assert explicit.root == archive.resolve() and explicit.revision is None and explicit.at_pin is None
    assert explicit.checker == archive.resolve() / CHECKER

    from tinyflash.doctor import mlperf_tiny_check
    off_pin = mlperf_tiny_check(environ=env, manifest=manifest)
    assert not off_pin.ok and PIN in off_pin.detail and "tinyflash deps --mlperf-tiny" in off_pin.hint
    unknown = mlperf_tiny_check(archive, environ=env, manifest=manifest)
    assert unknown.ok and "revision unknown" in unknown.detail


def test_missing_checkout_says_how_to_get_it(tmp_path: Path) -> None:
    manifest = load_manifest(REPO / "west.yml")
    env = hermetic_env(tmp_path)
    with pytest.raises(SourcesNotFoundError, match="default workspace .* does not exist") as info:
        find_mlperf_tiny(environ=env, manifest=manifest)
    assert "tinyflash deps --mlperf-tiny" in str(info.value) and "--mirror" in str(info.value)
    assert MLPERF_TINY_DIR_ENV in str(info.value)
    # a TFLM-only workspace: named, with where the checkout was expected
    (tmp_path / "ws/third_party/tflite-micro").mkdir(parents=True)
    with pytest.raises(SourcesNotFoundError, match="nor a workspace holding one at third_party/mlcommons-tiny"):
        find_mlperf_tiny(environ=dict(env, **{TFLM_DIR_ENV: str(tmp_path / "ws")}), manifest=manifest)
    half = tmp_path / "half"
    (half / RUNNER_DIR).mkdir(parents=True)
    (half / RUNNER_DIR / "main.py").write_text("")
    with pytest.raises(SourcesNotFoundError, match="is not an mlcommons/tiny checkout") as info:
        find_mlperf_tiny(half, environ=env, manifest=manifest)
    assert info.value.message.endswith(f": {CHECKER} missing")           # only what is really missing
    assert str(info.value.looked_in[0]) == str(half.resolve())

    from tinyflash.doctor import mlperf_tiny_check
    check = mlperf_tiny_check(environ=env, manifest=manifest)
    assert not check.ok and not check.required and "tinyflash deps --mlperf-tiny" in check.hint


def test_deps_command_checks_an_existing_checkout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tinyflash.cli.main import main

    tree = make_tiny_tree(tmp_path / "tiny")
    assert main(["deps", "--mlperf-tiny-dir", str(tree), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["layout"] == "checkout" and report["revision"] is None and len(report["model_dirs"]) == 4
    assert main(["deps", "--mlperf-tiny-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "is not an mlcommons/tiny checkout" in err and "tinyflash deps --mlperf-tiny" in err


# --- model directories --------------------------------------------------------------------------
def test_model_dirs_are_the_trained_models_folders(tmp_path: Path) -> None:
    manifest = load_manifest(REPO / "west.yml")
    assert mlperf_tiny_model_dirs(hermetic_env(tmp_path), manifest=manifest) == []
    tree = make_tiny_tree(tmp_path / "tiny")
    (tree / "benchmark/training/streaming_wakeword").mkdir()          # no trained_models: not a model dir
    (tree / "benchmark/training/notes.txt").write_text("")
    dirs = mlperf_tiny_model_dirs(hermetic_env(tmp_path, **{MLPERF_TINY_DIR_ENV: str(tree)}), manifest=manifest)
    assert [d.parent.name for d in dirs] == list(TRAINED)
    assert all(d.name == "trained_models" and d.is_dir() for d in dirs)
    # the models alone are enough (a sparse checkout of benchmark/training), and a workspace works too
    sparse = tmp_path / "ws/third_party/mlcommons-tiny/benchmark/training/keyword_spotting/trained_models"
    sparse.mkdir(parents=True)
    assert mlperf_tiny_model_dirs(hermetic_env(tmp_path, **{TFLM_DIR_ENV: str(tmp_path / "ws")}),
                                  manifest=manifest) == [sparse.resolve()]
    # a directory holding no models gives none, and never raises
    assert mlperf_tiny_model_dirs(hermetic_env(tmp_path, **{MLPERF_TINY_DIR_ENV: str(tmp_path / "nowhere")})) == []


def test_doctor_counts_the_reference_models_of_the_checkout(tmp_path: Path) -> None:
    from tinyflash.doctor import models_check
    from tinyflash.model.spec import BENCHMARKS

    tree = make_tiny_tree(tmp_path / "tiny")
    kws = BENCHMARKS["kws"].filename
    (tree / "benchmark/training/keyword_spotting/trained_models" / kws).write_bytes(b"TFL3")
    none = models_check(environ=hermetic_env(tmp_path))
    assert not none.ok and "tinyflash deps --mlperf-tiny" in none.hint and "no directory" in none.detail
    found = models_check(environ=hermetic_env(tmp_path, **{MLPERF_TINY_DIR_ENV: str(tree)}))
    assert found.ok and found.detail.startswith(f"1/{len(BENCHMARKS)} in ") and "keyword_spotting" in found.detail


def test_deps_package_imports_without_the_model_package() -> None:
    code = ("import sys, tinyflash.deps; "
            "bad = [m for m in sys.modules if m.startswith(('tinyflash.model', 'west'))]; "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr


# --- a real mlcommons/tiny checkout (optional) ---------------------------------------------------
def test_a_real_checkout_at_the_pin_has_the_reference_models() -> None:
    if not os.environ.get(MLPERF_TINY_DIR_ENV):
        pytest.skip(f"no mlcommons/tiny checkout: set {MLPERF_TINY_DIR_ENV} to one, or run "
                    "'tinyflash deps --mlperf-tiny' (offline: --mirror DIR with DIR/tiny.git) and point it "
                    "at the workspace")
    from tinyflash.model.spec import BENCHMARKS

    tiny = find_mlperf_tiny()
    assert tiny.checker.is_file() and (tiny.runner_dir / "main.py").is_file()
    assert tiny.at_pin in (True, None), f"{tiny.root} is at {tiny.revision}, not the pinned {tiny.pinned}"
    dirs = tiny.model_dirs()
    for bench in BENCHMARKS.values():
        assert any((d / bench.filename).is_file() for d in dirs), bench.filename
