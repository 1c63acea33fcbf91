"""The one way user text reaches generated C or a compiler command line.

Model tensor names, board YAML notes, file names and ``-D`` defines come from files users bring. In C
they appear only through :func:`c_comment` or :func:`c_string`, or as a name checked by
:func:`check_identifier`; a define only after :func:`check_define`. Jinja templates get the first two
as filters (``{{ note | c_comment }}``), see :mod:`tinyflash.generate.render`.
"""

from __future__ import annotations

import re

from tinyflash.errors import InvalidDefineError, GenerateError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# a define's value: one preprocessor token or number, no shell metacharacters, quotes or white space
_DEFINE_VALUE = re.compile(r"[A-Za-z0-9_.+\-]*\Z")
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def c_comment(text: object, limit: int = 200) -> str:
    """Text safe inside a ``/* ... */`` or ``//`` comment: one printable ASCII line that cannot close
    the comment, start a trigraph or continue onto the next line."""
    s = _PRINTABLE.sub("?", str(text))
    # backslashes first: "*\\" must not become a "*/" after the comment-end check
    s = s.replace("\\", "/").replace("*/", "* /").replace("/*", "/ *")
    s = re.sub(r"\?(?=\?)", "? ", s)       # no trigraphs (??/ would continue a // comment)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def c_string(text: object, limit: int = 200) -> str:
    """The body of a C string literal (without the quotes): printable ASCII, escaped."""
    out = []
    for ch in str(text)[:limit]:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "?":
            out.append("\\?")      # no trigraphs
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append("\\x%02x" % (ord(ch) & 0xFF) + '""')   # "" ends the hex escape
    return "".join(out)


def check_identifier(name: str, what: str = "name") -> str:
    if not _IDENTIFIER.match(name or ""):
        raise GenerateError(f"{what} {name!r} is not a C identifier",
                            hint="use letters, digits and underscores, not starting with a digit")
    return name


def check_define(define: str) -> str:
    """``NAME`` or ``NAME=VALUE``: NAME a C identifier, VALUE one token without shell or newline
    characters. Returns the define unchanged; raises :class:`InvalidDefineError` otherwise."""
    name, sep, value = str(define).partition("=")
    if not _IDENTIFIER.match(name) or (sep and not _DEFINE_VALUE.match(value)):
        raise InvalidDefineError(
            f"define {define!r} is not NAME or NAME=VALUE",
            hint="NAME is a C identifier; VALUE is a number or identifier (letters, digits, _ . + -), "
                 "without quotes, spaces, shell characters or newlines")
    return define
