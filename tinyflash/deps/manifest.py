"""The pinned third-party manifest (west.yml), read without a workspace.

west's own parser validates it (schema version first, then the pykwalify schema); tinyflash reads
the few facts it needs into typed records: which project plays which role (tflm, flatbuffers, ...),
where it is fetched from and at which revision.

Projects in a west group that the manifest's ``group-filter`` disables (``-mlperf-tiny``) are optional:
``west update`` skips them unless the group is enabled (``--group-filter +NAME`` or the workspace's
``manifest.group-filter``), so a plain ``tinyflash deps`` fetches only what the TFLM runtime needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from tinyflash.deps.errors import DepsError
from tinyflash.resources import data_root

MANIFEST_NAME = "west.yml"
TFLM_ROLES = ("tflm", "flatbuffers", "gemmlowp", "ruy", "cmsis", "cmsis-nn")   # each must be pinned
MLPERF_TINY_ROLE = "mlperf-tiny"      # mlcommons/tiny: the official runner, submission checker, models
ROLES = TFLM_ROLES + (MLPERF_TINY_ROLE,)
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class PinnedProject:
    name: str
    role: str          # one of ROLES (userdata tinyflash.role)
    url: str
    revision: str      # a full SHA (checked)
    path: str          # relative to the workspace top directory
    groups: tuple[str, ...] = ()
    optional: bool = False   # every group it is in is disabled by the manifest's group-filter

    @property
    def url_prefix(self) -> str:
        """The URL without its last component, with a trailing slash (what ``insteadOf`` rewrites)."""
        return self.url.rsplit("/", 1)[0] + "/"

    @property
    def repo_name(self) -> str:
        """The last URL component: the name a mirror directory holds the bare repository under."""
        name = self.url.rstrip("/").rsplit("/", 1)[-1]
        return name[:-4] if name.endswith(".git") else name


@dataclass(frozen=True)
class Manifest:
    path: Path | None
    text: str
    projects: tuple[PinnedProject, ...]

    @property
    def default_projects(self) -> tuple[PinnedProject, ...]:
        """What a plain ``west update`` fetches: every project not in a disabled group."""
        return tuple(p for p in self.projects if not p.optional)

    def active_projects(self, groups: Iterable[str] = ()) -> tuple[PinnedProject, ...]:
        """What ``west update`` fetches with the optional ``groups`` enabled."""
        enabled = set(groups)
        return tuple(p for p in self.projects if not p.optional or enabled.intersection(p.groups))

    def optional_groups(self) -> tuple[str, ...]:
        return tuple(sorted({g for p in self.projects if p.optional for g in p.groups}))

    def find_role(self, role: str) -> PinnedProject | None:
        return next((p for p in self.projects if p.role == role), None)

    def by_role(self, role: str) -> PinnedProject:
        for project in self.projects:
            if project.role == role:
                return project
        raise DepsError(f"{self._where()}: no project has userdata tinyflash.role '{role}'",
                        hint=f"every one of {', '.join(TFLM_ROLES)} needs a project"
                        + (f"; {role} is pinned in tinyflash's own west.yml" if role not in TFLM_ROLES else ""))

    def _where(self) -> str:
        return str(self.path) if self.path else "manifest"


def default_manifest_path() -> Path:
    return data_root() / MANIFEST_NAME


def load_manifest(path: Path | None = None) -> Manifest:
    path = path or default_manifest_path()
    try:
        text = path.read_text()
    except OSError as exc:
        raise DepsError(f"cannot read the manifest {path}: {exc.strerror}",
                        hint="reinstall tinyflash, or pass the manifest explicitly") from exc
    return parse_manifest(text, path)


def parse_manifest(text: str, path: Path | None = None) -> Manifest:
    """Validate with west's parser and keep the pins. Every project must be pinned to a full SHA:
    a branch or tag would make two workspaces made from the same manifest differ."""
    from west.manifest import ImportFlag, MalformedManifest, ManifestVersionError
    from west.manifest import Manifest as WestManifest

    where = str(path) if path else "manifest"
    try:
        west_manifest = WestManifest.from_data(text, import_flags=ImportFlag.IGNORE)
    except ManifestVersionError as exc:
        raise DepsError(f"{where}: needs west {exc.version} or newer",
                        hint="pip install -U west") from exc
    except (MalformedManifest, ValueError) as exc:
        raise DepsError(f"{where}: invalid west manifest: {exc}",
                        hint="check it against west's schema (west manifest --validate)") from exc
    disabled = {g[1:] for g in (west_manifest.group_filter or []) if g.startswith("-")}
    projects = []
    for project in west_manifest.get_projects([], only_cloned=False)[1:]:   # [0] is the manifest itself
        role = ((project.userdata or {}).get("tinyflash") or {}).get("role") \
            if isinstance(project.userdata, dict) else None
        if role is None:
            continue
        if role not in ROLES:
            raise DepsError(f"{where}: project {project.name}: unknown tinyflash role '{role}'",
                            hint=f"roles: {', '.join(ROLES)}")
        if not _SHA.match(str(project.revision or "")):
            raise DepsError(f"{where}: project {project.name}: revision '{project.revision}' is not a full SHA",
                            hint="pin every project to a 40-digit commit SHA (a tag may be noted in a comment)")
        groups = tuple(project.groups or ())
        optional = bool(groups) and all(g in disabled for g in groups)
        if role == MLPERF_TINY_ROLE and not optional:
            # mlcommons/tiny is large and only `tinyflash submit` needs it: never a default download
            raise DepsError(f"{where}: project {project.name}: role {role} must be in a group the "
                            f"manifest's group-filter disables", hint=f"add 'groups: [{role}]' to the project "
                            f"and 'group-filter: [-{role}]' to the manifest")
        projects.append(PinnedProject(project.name, role, project.url, str(project.revision), project.path,
                                      groups, optional))
    manifest = Manifest(path, text, tuple(projects))
    for role in TFLM_ROLES:
        manifest.by_role(role)
    roles = [p.role for p in projects]
    twice = sorted({r for r in roles if roles.count(r) > 1})
    if twice:
        raise DepsError(f"{where}: more than one project has tinyflash role {', '.join(twice)}",
                        hint="give each role to one project")
    return manifest
