"""The import graph of the package (#15.2): no cycles, and only the CLI imports the CLI.

``farm/cli.py`` and ``deps/cli.py`` imported ``tinyflash.cli.main`` while ``cli/main.py`` imported them: a
cycle that worked only as long as the imports ran in one order. Two checks keep such things out:
every module imports alone (in a clean interpreter state, so an order-dependent cycle shows up as an
ImportError), and a static walk of every ``import`` statement finds the cycles an import order happens to hide.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from ..conftest import REPO

PACKAGE = REPO / "tinyflash"
# running `python -m tinyflash` is the CLI's entry point by definition: importing it runs the CLI
ENTRY_POINT = "tinyflash.__main__"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ("TYPE_CHECKING" in ast.unparse(node.test))


def imports_of(name: str, path: Path, source: str | None = None) -> set[str]:
    """The tinyflash modules ``name`` imports, at module level and inside functions alike.

    Function-level imports count: they keep ``--help`` fast, but they couple modules all the same, and the
    cycle this test was written for was half lazy (cli/main.py imported farm/cli.py inside build_parser,
    farm/cli.py imported cli/main.py at the top). Imports under ``if TYPE_CHECKING:`` never run and are
    skipped: they are how a type may be named without an import cycle.
    """
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source, str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            assert isinstance(node, ast.If)
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                # `from tinyflash.cli import farm` imports the module tinyflash.cli.farm
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


def test_the_walk_sees_imports_of_every_kind() -> None:
    # a module-level import, a function-level one, a relative one; a TYPE_CHECKING one is skipped
    assert "tinyflash.errors" in GRAPH["tinyflash.cli.main"]
    assert "tinyflash.doctor" in GRAPH["tinyflash.cli.doctor"]          # inside cmd_doctor
    assert "tinyflash.cli.farm" in GRAPH["tinyflash.cli.main"]          # from tinyflash.cli import farm
    typed = imports_of("tinyflash.run.example", PACKAGE / "run" / "example.py",
                       "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tinyflash.farm import runner\n"
                       "else:\n    from ..errors import TinyflashError\n")
    assert typed == {"tinyflash.errors"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_import_graph_has_no_cycle() -> None:
    found = cycles(GRAPH)
    assert found == [], "import cycles:\n" + "\n".join(
        "  " + " <-> ".join(component) for component in found)


def test_only_the_cli_imports_the_cli() -> None:
    offenders = sorted(f"{name} imports {target}" for name, targets in GRAPH.items()
                       if not (name == "tinyflash.cli" or name.startswith("tinyflash.cli.")) and name != ENTRY_POINT
                       for target in targets if target == "tinyflash.cli" or target.startswith("tinyflash.cli."))
    assert offenders == []


def test_every_module_imports_alone() -> None:
    """Each module first, in an interpreter with no tinyflash module loaded: an order-dependent cycle fails."""
    names = sorted(n for n in MODULES if n != ENTRY_POINT)
    code = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "tinyflash" or m.startswith("tinyflash.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc(limit=3).strip().splitlines()[-1])
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""
    proc = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
