"""``--runtime auto``: which runtime builds a model, and why (#13.2).

tinyflash's own aot runtime when it covers every operator of the model; else the next runtime of
:func:`~tinyflash.generate.runtime.registry.runtime_names` that does and can be built here (TFLM when its
sources are present); else one :class:`~tinyflash.errors.NoRuntimeError` listing every operator each
runtime lacks, with its node. A --kernels value that only one runtime offers limits the choice to it.
The reason is said in the output and kept in results.json (``runtime_reason``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from tinyflash.board.schema import Board
from tinyflash.errors import NoRuntimeError, TinyflashError, UnsupportedOperatorError
from tinyflash.generate.runtime.base import Runtime
from tinyflash.generate.runtime.registry import AUTO, get_runtime, runtime_names, runtimes_offering, select_kernels
from tinyflash.model.graph import Graph


@dataclass(frozen=True)
class RuntimeChoice:
    name: str                  # the runtime that builds: never "auto"
    reason: str                # why, in a sentence (results.json runtime_reason)
    requested: str = AUTO      # what --runtime said


def _short(problem: TinyflashError) -> str:
    if isinstance(problem, UnsupportedOperatorError):
        if isinstance(problem.node, str):           # the model's input or output tensor, by name
            return f"{problem.operator} '{problem.node}'"
        return f"{problem.operator} (node {problem.node})"
    return problem.message


def _summary(problems: tuple[TinyflashError, ...]) -> str:
    """'SVDF (node 3), TANH (nodes 5, 9)': each operator once, with its nodes, in graph order."""
    nodes: dict[str, list[str]] = {}
    for problem in problems:
        if isinstance(problem, UnsupportedOperatorError) and isinstance(problem.node, int):
            nodes.setdefault(problem.operator, []).append(str(problem.node))
        else:
            nodes.setdefault(_short(problem), [])
    return ", ".join(f"{what} (node{'s' if len(at) > 1 else ''} {', '.join(at)})" if at else what
                     for what, at in nodes.items())


def _grouped(problems: tuple[TinyflashError, ...]) -> list[str]:
    """'SVDF (node 3), TANH (node 5): detail' -- nodes with the same detail on one line, in graph order."""
    lines: dict[str, list[str]] = {}
    for problem in problems:
        if isinstance(problem, UnsupportedOperatorError):
            lines.setdefault(problem.detail, []).append(_short(problem))
        else:
            lines.setdefault(problem.message, [])
    return [f"{', '.join(nodes)}: {detail}" if nodes else detail for detail, nodes in lines.items()]


def choose_runtime(graph: Graph, board: Board, requested: str = AUTO, *, kernels: Optional[str] = None,
                   options: Mapping[str, str] = {}, what: str = "the model",
                   make: Callable[[str], Runtime] = get_runtime) -> RuntimeChoice:
    """The runtime ``requested`` (a name, or auto) resolves to for ``graph`` on ``board`` with --kernels
    ``kernels``.

    ``options`` are the runtimes' generate options (``tflm_dir``); ``make`` builds a runtime by name
    (tests inject one whose sources are fixed)."""
    select_kernels(requested, kernels)          # an unknown runtime or kernel set: the usual error
    if requested != AUTO:
        return RuntimeChoice(requested, f"--runtime {requested} given", requested)
    offering = runtimes_offering(kernels)
    used = graph.used_opcodes()
    passed_over: list[str] = []                 # why an earlier runtime was not chosen
    problems: list[tuple[str, str]] = []        # (runtime, problem) for the error when none is
    unbuildable = False                         # a runtime that covers the model lacks its sources here
    for name in runtime_names():
        if name not in offering:
            passed_over.append(f"--kernels {kernels} is not a kernel set of {name}")
            problems.append((name, f"does not offer --kernels {kernels}"))
            continue
        runtime = make(name)
        lacking = runtime.unsupported(graph, board, {**options, "kernels": kernels or AUTO})
        if lacking:
            passed_over.append(f"{name} lacks {_summary(lacking)}")
            problems += [(name, line) for line in _grouped(lacking)]
            continue
        try:
            where = runtime.locate(options)
        except TinyflashError as exc:
            passed_over.append(f"{name} cannot be built: {exc.message}")
            problems.append((name, exc.message))
            unbuildable = True
            continue
        # the first runtime says what it covers; a later one why the earlier were passed over, and where it is
        said = passed_over or [f"{name} runs every operator of the model ({', '.join(used)})"]
        return RuntimeChoice(name, "; ".join([*said, *([where] if where else [])]), AUTO)
    from tinyflash.deps.sources import SETUP_HINT

    if kernels not in (None, AUTO):
        hint = (f"--kernels {kernels} limits --runtime auto to {', '.join(offering)}: drop it to let auto choose "
                "another runtime")
    elif unbuildable or not problems:
        hint = f"TFLM runs more operators: {SETUP_HINT}"
    else:
        hint = "no runtime here has these operators: file an issue with the model attached"
    raise NoRuntimeError(f"no runtime can run {what} (--runtime {AUTO}):", problems, hint=hint)
