"""The jinja2 environment for templates/ (strict: an undefined name is an error, not an empty string)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from tinyflash.resources import templates_dir


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def render_to(template: str, dest: Path, **context: Any) -> Path:
    text = environment().get_template(template).render(**context)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or dest.read_text() != text:   # unchanged files keep their mtime
        dest.write_text(text)
    return dest
