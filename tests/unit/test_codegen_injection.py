"""#11.3: nothing from a model enters generated C except through the escaping filters.

A tensor of ad01 renamed to close the comment it is printed in used to compile into the benchmark
(1,011,808 instead of 411,801 instructions, and verification still passed). What the compiler sees is
checked with its own preprocessor (``-fpreprocessed`` strips comments and nothing else), so the test
does not depend on a C lexer of ours.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from tinyflash.board import BoardCatalog
from tinyflash.deps.errors import SourcesNotFoundError
from tinyflash.deps.sources import TflmSources, find_tflm_sources
from tinyflash.generate.escape import c_comment, c_string
from tinyflash.generate.render import environment
from tinyflash.generate.runtime.aot.codegen import AotRuntime
from tinyflash.generate.runtime.tflm.arena import ArenaSize
from tinyflash.generate.runtime.tflm.codegen import TflmRuntime
from tinyflash.model import read_graph, resolve_model
from tinyflash.model.graph import Graph

from ..support.tflite_writer import write_tflite
from .test_tflm_generate import fake_tflm  # noqa: F401  (fixture: a TFLM tree without code)

HOSTILE = "h */ for (volatile int k = 0; k < 100000; ++k) {} /* t"
INJECTED = "for (volatile"
C_SOURCES = (".c", ".cc", ".h")


def _compiler() -> str:
    for name in ("arm-none-eabi-gcc", "gcc", "cc"):
        if shutil.which(name):
            return name
    pytest.skip("no C compiler on PATH to strip comments with (install arm-none-eabi-gcc)")


def code_outside_comments(source: str, lang: str = "c") -> str:
    """The source as the compiler sees it after comments (and trigraphs, line splices) are handled."""
    proc = subprocess.run([_compiler(), "-x", lang, "-std=c11" if lang == "c" else "-std=c++17", "-trigraphs",
                           "-fpreprocessed", "-E", "-P", "-w", "-"],
                          input=source, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def hostile_ad01(model_dir: Path, dest: Path) -> tuple[Path, Graph]:
    """ad01 rewritten with its first layer's output tensor renamed to HOSTILE."""
    graph = read_graph(resolve_model("ad", [model_dir]).path)
    target = graph.operators[0].outputs[0]
    tensors = tuple(dataclasses.replace(t, name=HOSTILE) if t.index == target else t for t in graph.tensors)
    path = write_tflite(dataclasses.replace(graph, tensors=tensors), dest)
    reread = read_graph(path)
    assert reread.tensors[target].name == HOSTILE      # the name really is in the model
    return path, reread


def generated_code(directory: Path) -> dict[str, str]:
    files = {p.name: p.read_text() for p in directory.iterdir() if p.suffix in C_SOURCES}
    assert files
    return {name: code_outside_comments(text, "c++" if name.endswith(".cc") else "c")
            for name, text in files.items()}


@pytest.mark.parametrize("board", ["mps2-an386", "mps3-an547"])
@pytest.mark.parametrize("kernels", ["auto", "portable"])
def test_aot_tensor_name_cannot_inject_code(model_dir: Path, tmp_path: Path, board: str, kernels: str) -> None:
    _, graph = hostile_ad01(model_dir, tmp_path / "ad01_hostile.tflite")
    out = tmp_path / "aot"
    AotRuntime().generate(graph, BoardCatalog().load(board), out, options={"kernels": kernels})
    model_c = (out / "model.c").read_text()
    assert "h * / for (volatile" in model_c          # still named in its comment, harmlessly
    for name, code in generated_code(out).items():
        assert INJECTED not in code, name


def _tflm_sources(fake_tflm: Path) -> TflmSources:
    """The real TFLM checkout if there is one, else the fake tree of test_tflm_generate: generating the
    glue reads no TFLM source, it only lists them."""
    try:
        return find_tflm_sources(None)
    except SourcesNotFoundError:
        return find_tflm_sources(str(fake_tflm))


def test_tflm_tensor_name_cannot_inject_code(model_dir: Path, tmp_path: Path, fake_tflm: Path) -> None:
    sources = _tflm_sources(fake_tflm)
    path, graph = hostile_ad01(model_dir, tmp_path / "ad01_hostile.tflite")
    out = tmp_path / "tflm"
    TflmRuntime(sources=sources, arena=ArenaSize.from_measurement(4096)).generate(
        graph, BoardCatalog().load("mps2-an386"), out, options={"model_path": str(path)})
    for name, code in generated_code(out).items():
        assert INJECTED not in code, name


def test_tflm_model_file_name_is_escaped(model_dir: Path, tmp_path: Path, fake_tflm: Path) -> None:
    """The glue names the model file in a comment (a file name cannot hold the '/' of a comment end;
    trigraphs and non-ASCII are escaped all the same)."""
    sources = _tflm_sources(fake_tflm)
    name = "r`touch PWNR` ??= a\\b $(id) \u00e9.tflite"
    path = tmp_path / name
    shutil.copy(resolve_model("ad", [model_dir]).path, path)
    out = tmp_path / "tflm"
    TflmRuntime(sources=sources, arena=ArenaSize.from_measurement(4096)).generate(
        read_graph(path), BoardCatalog().load("mps2-an386"), out, options={"model_path": str(path)})
    glue = (out / "tflm_runtime.cc").read_text()
    assert "r`touch PWNR` ? ?= a/b $(id) ?.tflite" in glue
    assert "PWNR" not in code_outside_comments(glue, "c++")


# --- the filters themselves ------------------------------------------------------------------------
COMMENT_CASES = [
    "a */ int injected_a; /* b",
    "a\nint injected_b;",
    "a\r\nint injected_c;",
    "a ??/",                        # trigraph backslash: continues a // comment onto the next line
    "a \\",                         # backslash-newline does the same
    "a\x00b */ int injected_d;",
    "caf\u00e9 \u2028 */ int injected_e;",
    "/* nested */ int injected_f; /*",
    "a */",
    "*?*/",
]


@pytest.mark.parametrize("text", COMMENT_CASES)
@pytest.mark.parametrize("style", ["block", "line"])
def test_c_comment_keeps_hostile_text_inside_the_comment(text: str, style: str) -> None:
    escaped = c_comment(text)
    assert escaped.isascii() and escaped.isprintable()
    inside = f"/* {escaped} */" if style == "block" else f"// {escaped}"
    code = code_outside_comments(f"int before;\n{inside}\nint after;\n")
    assert code.split() == ["int", "before;", "int", "after;"], code


@pytest.mark.parametrize("style", ["block", "line"])
def test_c_comment_backslash_cannot_form_a_comment_end(style: str) -> None:
    escaped = c_comment("h *\\ int injected; /* t")
    inside = f"/* {escaped} */" if style == "block" else f"/* {escaped}\n*/"
    code = code_outside_comments(f"int before;\n{inside}\nint after;\n")
    assert code.split() == ["int", "before;", "int", "after;"], code


def test_c_comment_filter_is_the_template_filter() -> None:
    rendered = environment().from_string("/* {{ name | c_comment }} */").render(name=HOSTILE)
    assert INJECTED not in code_outside_comments(rendered)


STRING_CASES = ['say "hi"', "back\\slash", "??/", "??=", "nul\x00byte", "new\nline", "caf\u00e9",
                "tab\tand\x7f", '"; int injected; "', "\\", "x\\\n"]


def _c_string_value(literal_body: str) -> bytes:
    """What the C compiler makes of ``"<literal_body>"``: parse the escapes c_string emits."""
    out = bytearray()
    i = 0
    while i < len(literal_body):
        ch = literal_body[i]
        if literal_body.startswith('""', i):         # a literal ended and the next one starts
            i += 2
        elif ch == "\\":
            nxt = literal_body[i + 1]
            if nxt == "x":
                j = i + 2
                while j < len(literal_body) and literal_body[j] in "0123456789abcdefABCDEF":
                    j += 1
                out.append(int(literal_body[i + 2:j], 16) & 0xFF)
                i = j
            else:
                assert nxt in '"\\?', literal_body
                out.append(ord(nxt))
                i += 2
        else:
            assert ch not in '"\n', literal_body
            out.append(ord(ch))
            i += 1
    return bytes(out)


@pytest.mark.parametrize("text", STRING_CASES)
def test_c_string_is_one_literal_with_the_same_bytes(text: str) -> None:
    body = c_string(text)
    assert body.isascii() and body.isprintable()
    assert "??" not in body
    expected = bytes(ord(c) & 0xFF for c in text)
    assert _c_string_value(body) == expected
    # one declaration of exactly those bytes, as the compiler reads it (trigraphs on)
    source = f'const char s[] = "{body}";\n_Static_assert(sizeof s == {len(expected) + 1}, "length");\n'
    proc = subprocess.run([_compiler(), "-x", "c", "-std=c11", "-trigraphs", "-fsyntax-only", "-"],
                          input=source, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, source + proc.stderr
