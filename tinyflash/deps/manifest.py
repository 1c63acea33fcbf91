"""The pinned third-party manifest (west.yml), read without a workspace.

west's own parser validates it (schema version first, then the pykwalify schema); tinyflash reads
the few facts it needs into typed records: which project plays which role (tflm, flatbuffers, ...),
where it is fetched from and at which revision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tinyflash.deps.errors import DepsError
from tinyflash.resources import data_root

MANIFEST_NAME = "west.yml"
ROLES = ("tflm", "flatbuffers", "gemmlowp", "ruy", "cmsis", "cmsis-nn")
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class PinnedProject:
    name: str
    role: str          # one of ROLES (userdata tinyflash.role)
    url: str
    revision: str      # a full SHA (checked)
    path: str          # relative to the workspace top directory

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

    def by_role(self, role: str) -> PinnedProject:
        for project in self.projects:
            if project.role == role:
                return project
        raise DepsError(f"{self._where()}: no project has userdata tinyflash.role '{role}'",
                        hint=f"every one of {', '.join(ROLES)} needs a project")

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
        projects.append(PinnedProject(project.name, role, project.url, str(project.revision), project.path))
    manifest = Manifest(path, text, tuple(projects))
    for role in ROLES:
        manifest.by_role(role)
    return manifest
