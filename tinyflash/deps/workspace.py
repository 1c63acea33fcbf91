"""The west workspace holding the pinned third-party sources, driven through west's CLI.

Layout (outside any tinyflash checkout)::

    TOPDIR/.west/config                 made by `west init -l manifest`
    TOPDIR/manifest/west.yml            a copy of tinyflash's manifest (rewritten when it changes)
    TOPDIR/third_party/<project>/       one checkout per pinned project (optional groups: once enabled)

Optional groups (mlperf-tiny) are enabled west's way: ``manifest.group-filter`` in the workspace's
``.west/config``, so the workspace remembers them and a later ``west update`` there agrees.

west runs as a subprocess (``python -m west``: the same interpreter's west); its failures become a
DepsError that names the project and the cause, never a west traceback.
"""

from __future__ import annotations

import configparser
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Sequence

from tinyflash.deps.errors import DepsError
from tinyflash.deps.manifest import MANIFEST_NAME, MLPERF_TINY_ROLE, Manifest, PinnedProject
from tinyflash.deps.mirror import Mirror
from tinyflash.deps.mlperf_tiny import MLPERF_TINY_DIR_ENV, MLPERF_TINY_HINT
from tinyflash.deps.sources import SETUP_HINT, TFLM_DIR_ENV

log = logging.getLogger(__name__)
MANIFEST_DIR = "manifest"
WEST_TIMEOUT_S = 1800.0      # a full clone of every project over a slow link stays well below this
Runner = Callable[..., "subprocess.CompletedProcess[str]"]

# What git prints when a remote cannot be reached or does not have what the manifest pins.
_UNREACHABLE = re.compile(r"(Could not resolve host|unable to access|Failed to connect|Connection (refused|timed out)|"
                          r"does not appear to be a git repository|Repository not found|not found: did you run|"
                          r"Could not read from remote repository|No such file or directory)", re.I)
_MISSING_REV = re.compile(r"(not our ref|couldn't find remote ref|unadvertised object|bad object|"
                          r"reference is not a tree|did not match any)", re.I)
_INCOMPLETE = re.compile(r"(repository corruption|pack-objects died|missing (blob|tree|commit)|"
                         r"unable to read [0-9a-f]{40}|Could not read [0-9a-f]{40})", re.I)
_FAILED_PROJECT = re.compile(r"update failed for projects?:?\s+([\w.-]+)")


@dataclass(frozen=True)
class ProjectState:
    project: PinnedProject
    path: Path
    cloned: bool
    head: Optional[str]          # checked-out commit
    dirty: bool
    active: bool = True          # west update fetches it (not in an optional group left disabled)

    @property
    def at_pin(self) -> bool:
        return self.cloned and self.head == self.project.revision


class Workspace:
    """One west workspace at ``topdir`` made from ``manifest``."""

    def __init__(self, topdir: Path, manifest: Manifest, *, runner: Runner = subprocess.run,
                 environ: Optional[Mapping[str, str]] = None) -> None:
        self.topdir = Path(topdir).expanduser().resolve()
        self.manifest = manifest
        self._run = runner
        self._environ = dict(os.environ if environ is None else environ)

    # --- state ------------------------------------------------------------------------------
    @property
    def manifest_file(self) -> Path:
        return self.topdir / MANIFEST_DIR / MANIFEST_NAME

    def is_initialised(self) -> bool:
        return (self.topdir / ".west" / "config").is_file() and self.manifest_file.is_file()

    def _group_filter(self) -> list[str]:
        """The workspace's ``manifest.group-filter`` (west: comma-separated ``+group``/``-group``)."""
        parser = configparser.ConfigParser()
        try:
            parser.read(self.topdir / ".west" / "config")
        except configparser.Error:
            return []
        value = parser.get("manifest", "group-filter", fallback="")
        return [item.strip() for item in value.split(",") if item.strip()]

    def enabled_groups(self) -> tuple[str, ...]:
        """The manifest's optional groups this workspace enables (its ``manifest.group-filter``;
        the last mention of a group wins, as in west)."""
        state: dict[str, bool] = {}
        for item in self._group_filter():
            if item[0] in "+-":
                state[item[1:]] = item[0] == "+"
        return tuple(g for g in self.manifest.optional_groups() if state.get(g))

    def status(self, groups: Optional[Iterable[str]] = None) -> list[ProjectState]:
        """Each project's checkout; active as with ``groups`` enabled (default: the workspace's)."""
        groups = self.enabled_groups() if groups is None else groups
        active = {p.name for p in self.manifest.active_projects(groups)}
        states = []
        for project in self.manifest.projects:
            path = self.topdir / project.path
            cloned = (path / ".git").exists()
            head = self._git(path, "rev-parse", "HEAD") if cloned else None
            dirty = bool(self._git(path, "status", "--porcelain", "--untracked-files=no")) if cloned else False
            states.append(ProjectState(project, path, cloned, head, dirty, project.name in active))
        return states

    def _git(self, path: Path, *args: str) -> Optional[str]:
        proc = self._run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=60,
                         env=self._environ)
        return proc.stdout.strip() if proc.returncode == 0 else None

    # --- actions ----------------------------------------------------------------------------
    def initialise(self) -> None:
        """Create the workspace (or refresh its manifest copy); idempotent."""
        self.manifest_file.parent.mkdir(parents=True, exist_ok=True)
        if not self.manifest_file.is_file() or self.manifest_file.read_text() != self.manifest.text:
            self.manifest_file.write_text(self.manifest.text)
        if not (self.topdir / ".west" / "config").is_file():
            if (self.topdir / ".west").exists():
                raise DepsError(f"{self.topdir}/.west exists without a config file",
                                hint=f"remove {self.topdir}/.west and run 'tinyflash deps' again")
            self._west(["init", "-l", MANIFEST_DIR], what="initialise the workspace")

    def _with_groups(self, groups: Iterable[str]) -> tuple[str, ...]:
        """The groups enabled so far plus ``groups``, each checked to be an optional group."""
        groups = tuple(groups)
        known = self.manifest.optional_groups()
        unknown = [g for g in groups if g not in known]
        if unknown:
            raise DepsError(f"the manifest has no optional group {', '.join(unknown)}",
                            hint=f"optional groups: {', '.join(known) or 'none'}")
        return tuple(g for g in known if g in set(self.enabled_groups()) | set(groups))

    def update(self, *, mirror: Optional[Mirror] = None, shallow: bool = True,
               groups: Iterable[str] = ()) -> list[ProjectState]:
        """Fetch and check out every pinned revision (from ``mirror`` when given): the default projects,
        the optional ``groups`` and those the workspace enabled before. ``groups`` stay enabled once
        an update with them succeeded (a failed attempt, e.g. offline, leaves the workspace as it was)."""
        self.initialise()
        enabled = self._with_groups(groups)
        env: dict[str, str] = {}
        if mirror is not None:
            mirror.check(self.manifest, self.manifest.active_projects(enabled))
            env.update(mirror.git_environment(self.manifest, self._environ))
        dirty = [s.project.name for s in self.status(enabled) if s.dirty and s.active]
        if dirty:
            raise DepsError(f"local changes in {', '.join(dirty)} would be overwritten by the update",
                            hint=f"discard them (git -C {self.topdir}/<path> checkout -- .) or use a fresh "
                                 "workspace directory")
        args = ["update"]
        if shallow:
            # only the pinned commit, one level deep (shared docs ecosystem.md §2.2: works with SHA pins)
            args += ["--narrow", "--fetch-opt=--depth=1"]
        if enabled:
            args += ["--group-filter", ",".join(f"+{g}" for g in enabled)]
        self._west(args, what="update the workspace", extra_env=env, mirror=mirror)
        if enabled != self.enabled_groups():
            # remembered west's way, so later updates (tinyflash's or a plain `west update`) keep them;
            # whatever else the user put in the filter stays
            kept = [item for item in self._group_filter() if item.lstrip("+-") not in enabled]
            self._west(["config", "manifest.group-filter", ",".join(kept + [f"+{g}" for g in enabled])],
                       what="enable the groups " + ", ".join(enabled))
        states = self.status()
        wrong = [s.project.name for s in states if s.active and not s.at_pin]
        if wrong:
            raise DepsError(f"after west update, {', '.join(wrong)} is not at its pinned revision",
                            hint=f"inspect with: cd {self.topdir} && west status")
        return states

    def _west(self, args: Sequence[str], *, what: str, extra_env: Mapping[str, str] = {},
              mirror: Optional[Mirror] = None) -> str:
        cmd = [sys.executable, "-m", "west", *args]
        env = dict(self._environ)
        env.update(extra_env)
        env["GIT_TERMINAL_PROMPT"] = "0"          # an unreachable remote fails, never asks for a password
        env.pop("ZEPHYR_BASE", None)
        log.info("running %s (in %s)", " ".join(cmd), self.topdir)
        self.topdir.mkdir(parents=True, exist_ok=True)
        try:
            proc = self._run(cmd, cwd=str(self.topdir), env=env, capture_output=True, text=True,
                             timeout=WEST_TIMEOUT_S)
        except FileNotFoundError as exc:
            raise DepsError(f"cannot run west to {what}: {exc}", hint="pip install west") from exc
        except subprocess.TimeoutExpired as exc:
            raise DepsError(f"west did not {what} within {WEST_TIMEOUT_S:.0f} s",
                            hint="check the network, or use --mirror DIR") from exc
        output = (proc.stdout or "") + (proc.stderr or "")
        if proc.returncode != 0:
            raise self._explain(output, what, mirror)
        return output

    def _explain(self, output: str, what: str, mirror: Optional[Mirror]) -> DepsError:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        failed = _FAILED_PROJECT.search(output)
        project = failed.group(1) if failed else None
        pinned = {p.name: p for p in self.manifest.projects}
        source = f"mirror {mirror.directory}" if mirror else "its remote"
        cause = next((line for line in lines if _UNREACHABLE.search(line)), None)
        if "No module named west" in output:
            return DepsError(f"west is not installed for {sys.executable}", output=output, hint="pip install west")
        if cause:
            name = f" {project}" if project else ""
            url = f" ({pinned[project].url})" if project in pinned else ""
            if self._is_mlperf_tiny(project):
                hint = f"no network? {MLPERF_TINY_HINT}"
            else:
                hint = ("no network? use 'tinyflash deps --mirror DIR' with a directory of bare repositories, "
                        "or point TINYFLASH_TFLM_DIR / --tflm-dir at an existing checkout")
            return DepsError(f"cannot fetch{name}{url} from {source}: {cause}", output=output, hint=hint)
        cause = next((line for line in lines if _INCOMPLETE.search(line)), None)
        if cause:
            name = f" {project}" if project else ""
            fix = (f"re-create {mirror.directory}/{pinned[project].repo_name}.git with 'git clone --mirror "
                   f"{pinned[project].url}'") if mirror and project in pinned else "fetch it again"
            env_var = MLPERF_TINY_DIR_ENV if self._is_mlperf_tiny(project) else TFLM_DIR_ENV
            return DepsError(f"{source} is missing objects of{name}: {cause}", output=output,
                             hint=f"the repository is incomplete: {fix}; or set {env_var} to an existing checkout")
        cause = next((line for line in lines if _MISSING_REV.search(line)), None)
        if cause:
            rev = f" revision {pinned[project].revision}" if project in pinned else " a pinned revision"
            return DepsError(f"{source} does not have{rev}" + (f" of {project}" if project else "")
                             + f": {cause}", output=output,
                             hint="update the mirror (git fetch in the bare repository) or fix the pin in west.yml")
        tail = "\n    ".join(lines[-6:]) or "(no output)"
        return DepsError(f"west failed to {what}:\n    {tail}", output=output, hint=self._provide(project))

    def _is_mlperf_tiny(self, project: Optional[str]) -> bool:
        return any(p.name == project and p.role == MLPERF_TINY_ROLE for p in self.manifest.projects)

    def _provide(self, project: Optional[str]) -> str:
        """How to get the sources of ``project`` (mlcommons/tiny has its own flag and variable)."""
        return MLPERF_TINY_HINT if self._is_mlperf_tiny(project) else SETUP_HINT
