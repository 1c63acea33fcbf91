"""The jinja2 environment for templates/ (strict: an undefined name is an error, not an empty string)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from tinyflash.generate.escape import c_comment, c_string
from tinyflash.resources import templates_dir


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    # user text (tensor names, YAML notes) enters C only through these: {{ note | c_comment }}
    env.filters["c_comment"] = c_comment
    env.filters["c_string"] = c_string
    return env


def write_if_changed(dest: Path, content: str | bytes) -> Path:
    """Write a generated file only when its content changes: unchanged files keep their mtime, so
    SCons's content-timestamp decider rebuilds nothing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        if not dest.exists() or dest.read_bytes() != content:
            dest.write_bytes(content)
    elif not dest.exists() or dest.read_text() != content:
        dest.write_text(content)
    return dest


def render_to(template: str, dest: Path, **context: Any) -> Path:
    return write_if_changed(dest, environment().get_template(template).render(**context))
