"""Local mirrors: a directory of bare git repositories that stands in for the manifest's remotes.

The manifest keeps its upstream URLs; git is told to rewrite them with ``url.<file:///DIR/>.insteadOf``
(shared docs ecosystem.md §2.2). The rewrite travels in the environment of the west/git processes
(``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``, git >= 2.31), so neither the user's
git configuration nor the workspace is changed, and the project remotes stay the upstream ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

from tinyflash.deps.errors import DepsError
from tinyflash.deps.manifest import Manifest, PinnedProject


@dataclass(frozen=True)
class Mirror:
    directory: Path

    def repository(self, project: PinnedProject) -> Path | None:
        """The bare repository for ``project``: DIR/<name>.git or DIR/<name> (git finds either)."""
        for candidate in (self.directory / f"{project.repo_name}.git", self.directory / project.repo_name):
            if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
                return candidate
        return None

    def check(self, manifest: Manifest, projects: Optional[Sequence[PinnedProject]] = None) -> None:
        """Every project that will be fetched (``projects``; default: those not in an optional group)
        has its bare repository here."""
        projects = manifest.default_projects if projects is None else projects
        if not self.directory.is_dir():
            raise DepsError(f"mirror directory {self.directory} does not exist",
                            hint="pass a directory holding bare clones (git clone --bare URL DIR/NAME.git)")
        missing = [p.repo_name for p in projects if self.repository(p) is None]
        if missing:
            raise DepsError(
                f"mirror {self.directory} lacks bare repositories for: {', '.join(missing)}",
                hint=f"add them as {self.directory}/NAME.git (git clone --mirror URL), one per project")

    def git_environment(self, manifest: Manifest, inherited: Mapping[str, str] = {}) -> dict[str, str]:
        """Environment entries that make git fetch every manifest URL from this mirror; entries a
        caller already passes through GIT_CONFIG_COUNT (``inherited``) are kept."""
        base = self.directory.resolve().as_uri().rstrip("/") + "/"
        prefixes = sorted({p.url_prefix for p in manifest.projects})
        try:
            first = int(inherited.get("GIT_CONFIG_COUNT", "0"))
        except ValueError:
            first = 0
        env = {"GIT_CONFIG_COUNT": str(first + len(prefixes))}
        for i, prefix in enumerate(prefixes, start=first):
            env[f"GIT_CONFIG_KEY_{i}"] = f"url.{base}.insteadOf"
            env[f"GIT_CONFIG_VALUE_{i}"] = prefix
        return env
