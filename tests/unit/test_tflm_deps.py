"""The pinned manifest, local mirrors and the west workspace, on real git repositories made here
(no network, no TFLM checkout): bare repositories with a commit each stand in for the upstreams."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tinyflash.deps.errors import DepsError, SourcesNotFoundError
from tinyflash.deps.manifest import ROLES, load_manifest, parse_manifest
from tinyflash.deps.mirror import Mirror
from tinyflash.deps.sources import MARKERS, TFLM_DIR_ENV, find_tflm_sources, locate_in
from tinyflash.deps.workspace import Workspace

from ..conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not found: apt-get install git")

# (role, repo name as the URL ends, org) as in the real west.yml, with an unreachable host
PROJECTS = [("tflm", "tflite-micro", "tensorflow"), ("flatbuffers", "flatbuffers", "google"),
            ("gemmlowp", "gemmlowp", "google"), ("ruy", "ruy", "google"), ("cmsis", "CMSIS_6", "arm"),
            ("cmsis-nn", "CMSIS-NN", "arm")]
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1"}


def git(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env=dict(os.environ, **GIT_ENV))
    return proc.stdout.strip()


def manifest_text(pins: dict[str, str], url_base: str = "https://git.example.invalid") -> str:
    remotes = "\n".join(f"    - name: {org}\n      url-base: {url_base}/{org}"
                        for org in sorted({org for _, _, org in PROJECTS}))
    projects = "\n".join(
        f"    - name: {name}\n      remote: {org}\n      revision: {pins[name]}\n"
        f"      path: third_party/{name}\n      userdata: {{tinyflash: {{role: {role}}}}}"
        for role, name, org in PROJECTS)
    return f'manifest:\n  version: "1.2"\n  remotes:\n{remotes}\n  projects:\n{projects}\n'


@pytest.fixture(scope="module")
def mirror_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A mirror directory of bare repositories, one commit each holding the project's marker file."""
    root = tmp_path_factory.mktemp("mirror-src")
    mirror = tmp_path_factory.mktemp("mirror")
    pins = {}
    for role, name, _ in PROJECTS:
        work = root / name
        (work / MARKERS[role]).parent.mkdir(parents=True)
        (work / MARKERS[role]).write_text(f"// {name}\n")
        git("init", "-q", str(work))
        git("add", ".", cwd=work)
        git("commit", "-q", "-m", "initial", cwd=work)
        pins[name] = git("rev-parse", "HEAD", cwd=work)
        git("clone", "-q", "--bare", str(work), str(mirror / f"{name}.git"))
    return mirror, pins


# --- the manifest -------------------------------------------------------------------------------
def test_repository_manifest_pins_every_role_to_a_full_sha() -> None:
    manifest = load_manifest(REPO / "west.yml")
    assert {p.role for p in manifest.projects} == set(ROLES)
    for project in manifest.projects:
        assert len(project.revision) == 40 and project.url.startswith("https://github.com/")
        assert project.path.startswith("third_party/")
    assert manifest.by_role("tflm").revision == "90b983c2b3f1480642e040bbd2ddb37b998f3424"
    assert manifest.by_role("cmsis-nn").repo_name == "CMSIS-NN"


def test_manifest_rejects_a_tag_pin_an_unknown_role_and_a_bad_key() -> None:
    pins = {name: "a" * 40 for _, name, _ in PROJECTS}
    parse_manifest(manifest_text(pins))
    with pytest.raises(DepsError, match="not a full SHA"):
        parse_manifest(manifest_text(dict(pins, ruy="v1.0")))
    with pytest.raises(DepsError, match="unknown tinyflash role"):
        parse_manifest(manifest_text(pins).replace("role: ruy", "role: rye"))
    with pytest.raises(DepsError, match="invalid west manifest"):
        parse_manifest(manifest_text(pins).replace("  projects:", "  bogus: 1\n  projects:"))
    with pytest.raises(DepsError, match="no project has userdata tinyflash.role 'gemmlowp'"):
        parse_manifest(manifest_text(pins).replace("role: gemmlowp", "role: ruy"))


# --- mirrors ------------------------------------------------------------------------------------
def test_mirror_rewrites_each_remote_through_the_environment(mirror_dir: tuple[Path, dict[str, str]]) -> None:
    mirror_path, pins = mirror_dir
    manifest = parse_manifest(manifest_text(pins))
    mirror = Mirror(mirror_path)
    mirror.check(manifest)
    env = mirror.git_environment(manifest, {"GIT_CONFIG_COUNT": "1"})
    assert env["GIT_CONFIG_COUNT"] == "4"          # one kept from the caller + three orgs
    assert {env[f"GIT_CONFIG_VALUE_{i}"] for i in (1, 2, 3)} == {
        "https://git.example.invalid/arm/", "https://git.example.invalid/google/",
        "https://git.example.invalid/tensorflow/"}
    assert env["GIT_CONFIG_KEY_1"] == f"url.{mirror_path.resolve().as_uri()}/.insteadOf"


def test_mirror_missing_a_repository_is_named(tmp_path: Path, mirror_dir: tuple[Path, dict[str, str]]) -> None:
    mirror_path, pins = mirror_dir
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "ruy").symlink_to(mirror_path / "ruy.git")        # NAME without .git is accepted too
    with pytest.raises(DepsError, match="lacks bare repositories for: tflite-micro, flatbuffers") as info:
        Mirror(partial).check(parse_manifest(manifest_text(pins)))
    assert "ruy" not in info.value.message.split("for:")[1]


# --- the workspace ------------------------------------------------------------------------------
def test_update_from_a_mirror_checks_out_every_pin(tmp_path: Path,
                                                   mirror_dir: tuple[Path, dict[str, str]]) -> None:
    mirror_path, pins = mirror_dir
    manifest = parse_manifest(manifest_text(pins))
    workspace = Workspace(tmp_path / "ws", manifest)
    states = workspace.update(mirror=Mirror(mirror_path))
    assert all(s.at_pin and not s.dirty for s in states)
    assert workspace.manifest_file.read_text() == manifest.text
    # the remotes stay the manifest's: the mirror is only a rewrite in git's environment
    url = git("-C", str(tmp_path / "ws/third_party/ruy"), "config", "remote.origin.url") \
        if _has_origin(tmp_path / "ws/third_party/ruy") else None
    assert url in (None, "https://git.example.invalid/google/ruy")
    sources = locate_in(tmp_path / "ws", manifest)
    assert sources.layout == "workspace" and sources.has_cmsis_nn
    assert sources.ruy == (tmp_path / "ws/third_party/ruy").resolve()
    # a second update is a no-op that still succeeds
    assert all(s.at_pin for s in workspace.update(mirror=Mirror(mirror_path)))
    # local changes stop an update with a message, not a west traceback
    (tmp_path / "ws/third_party/ruy" / MARKERS["ruy"]).write_text("changed\n")
    with pytest.raises(DepsError, match="local changes in ruy"):
        workspace.update(mirror=Mirror(mirror_path))


def _has_origin(path: Path) -> bool:
    return subprocess.run(["git", "-C", str(path), "config", "remote.origin.url"],
                          capture_output=True).returncode == 0


def test_unreachable_remote_is_a_tinyflash_error(tmp_path: Path, mirror_dir: tuple[Path, dict[str, str]]) -> None:
    _, pins = mirror_dir
    manifest = parse_manifest(manifest_text(pins, url_base=(tmp_path / "nowhere").as_uri()))
    with pytest.raises(DepsError) as info:
        Workspace(tmp_path / "ws", manifest).update()
    message = str(info.value)
    assert message.startswith("cannot fetch ") and "from its remote" in message
    assert "--mirror" in message and "Traceback" not in message


def test_mirror_without_the_pinned_commit_is_explained(tmp_path: Path,
                                                       mirror_dir: tuple[Path, dict[str, str]]) -> None:
    mirror_path, pins = mirror_dir
    manifest = parse_manifest(manifest_text(dict(pins, gemmlowp="b" * 40)))
    with pytest.raises(DepsError, match=r"does not have revision b{40} of gemmlowp"):
        Workspace(tmp_path / "ws", manifest).update(mirror=Mirror(mirror_path))


# --- finding a checkout -------------------------------------------------------------------------
def _make_tree(base: Path, paths: dict[str, str]) -> None:
    for role, rel in paths.items():
        marker = base / rel / MARKERS[role]
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("//\n")


def test_three_layouts_are_recognised(tmp_path: Path) -> None:
    manifest = load_manifest(REPO / "west.yml")
    side = tmp_path / "side"
    _make_tree(side, {p.role: p.repo_name for p in manifest.projects if p.role in MARKERS})
    assert locate_in(side, manifest).layout == "side-by-side"
    downloads = "tensorflow/lite/micro/tools/make/downloads/"
    make = tmp_path / "tflite-micro"
    _make_tree(make, {"tflm": ".", "flatbuffers": downloads + "flatbuffers", "gemmlowp": downloads + "gemmlowp",
                      "ruy": downloads + "ruy"})
    found = locate_in(make, manifest)
    assert found.layout == "tflite-micro make downloads" and not found.has_cmsis_nn
    assert found.gemmlowp == (make / downloads / "gemmlowp").resolve()


def test_missing_sources_say_how_to_provide_them(tmp_path: Path) -> None:
    manifest = load_manifest(REPO / "west.yml")
    _make_tree(tmp_path / "half", {"tflm": "third_party/tflite-micro"})
    with pytest.raises(SourcesNotFoundError, match="missing flatbuffers") as info:
        locate_in(tmp_path / "half", manifest)
    assert TFLM_DIR_ENV in str(info.value) and "tinyflash deps" in str(info.value)
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    with pytest.raises(SourcesNotFoundError, match="default workspace"):
        find_tflm_sources(environ=env, manifest=manifest)
    side = tmp_path / "side"
    _make_tree(side, {p.role: p.repo_name for p in manifest.projects if p.role in MARKERS})
    assert find_tflm_sources(environ=dict(env, **{TFLM_DIR_ENV: str(side)}), manifest=manifest).root == side.resolve()
    assert find_tflm_sources(side, environ=dict(env, **{TFLM_DIR_ENV: "/nonexistent"}),
                             manifest=manifest).layout == "side-by-side"


# --- the command line and doctor ----------------------------------------------------------------
def test_deps_command_fetches_from_a_mirror_and_doctor_sees_the_result(
        tmp_path: Path, mirror_dir: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from tinyflash.cli.main import main
    from tinyflash.doctor import tflm_check

    mirror_path, pins = mirror_dir
    manifest_file = tmp_path / "west.yml"
    manifest_file.write_text(manifest_text(pins))
    ws = tmp_path / "ws"
    args = ["deps", "--manifest", str(manifest_file), "--workspace", str(ws), "--json"]
    assert main([*args, "--mirror", str(mirror_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and {p["name"]: p["head"] for p in report["projects"]} == pins
    assert main([*args, "--status"]) == 0
    assert all(p["at_pin"] for p in json.loads(capsys.readouterr().out)["projects"])
    # an unreachable remote: exit 1 and a tinyflash error on stderr, not a west traceback
    assert main(["deps", "--manifest", str(manifest_file), "--workspace", str(tmp_path / "ws2")]) == 1
    err = capsys.readouterr().err
    assert "\ntinyflash: error: cannot fetch " in err and "Traceback" not in err and "--mirror" in err
    # doctor reports the workspace (never as a required check)
    check = tflm_check(ws, manifest=parse_manifest(manifest_text(pins)))
    assert check.ok and not check.required and str(ws.resolve()) in check.detail
    missing = tflm_check(tmp_path / "nothing-here", manifest=parse_manifest(manifest_text(pins)))
    assert not missing.ok and "tinyflash deps" in missing.hint


def test_no_tflm_or_cmsis_file_is_tracked_in_git() -> None:
    """TFLM, CMSIS and CMSIS-NN come from the west workspace only, never from this repository."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: nothing tracked to check")
    tracked = git("-C", str(REPO), "ls-files").splitlines()
    third_party = [f for f in tracked if f.startswith(("tensorflow/", "third_party/", "signal/", "CMSIS", "Include/"))
                   or Path(f).name in ("micro_interpreter.h", "cmsis_compiler.h", "arm_nnfunctions.h",
                                       "flatbuffers.h", "fixedpoint.h")
                   or Path(f).name.startswith(("core_cm", "arm_nn", "arm_convolve"))]
    assert third_party == []
