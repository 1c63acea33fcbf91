"""``tinyflash deps``: make or update the west workspace of the TFLM runtime's sources, and of
mlcommons/tiny on request (not API)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

from tinyflash.errors import EXIT_FAILURE, EXIT_OK


def add_parsers(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "deps", help="fetch the pinned TFLM sources (west workspace), or check a checkout",
        description="Make or update the west workspace holding the third-party sources the TFLM runtime "
                    "builds from (tflite-micro, flatbuffers, gemmlowp, ruy, CMSIS_6, CMSIS-NN), at the "
                    "revisions west.yml pins. Offline machines and farms use --mirror; an existing "
                    "checkout is checked with --tflm-dir and used through TINYFLASH_TFLM_DIR. "
                    "mlcommons/tiny (the official MLPerf Tiny runner, submission checker and reference "
                    "models) is the optional west group mlperf-tiny: --mlperf-tiny fetches it too, "
                    "TINYFLASH_MLPERF_TINY_DIR points at an existing checkout.")
    p.add_argument("--workspace", type=Path, metavar="DIR",
                   help="workspace directory (default: $TINYFLASH_TFLM_DIR, else "
                        "~/.local/share/tinyflash/tflm-workspace)")
    p.add_argument("--mirror", type=Path, metavar="DIR",
                   help="fetch from a directory of bare repositories (NAME.git or NAME per project) "
                        "instead of the network")
    p.add_argument("--full", action="store_true",
                   help="fetch whole histories (default: only the pinned commits, depth 1)")
    p.add_argument("--tflm-dir", type=Path, metavar="DIR",
                   help="do not fetch: check that DIR is a usable TFLM checkout (a workspace, the projects "
                        "side by side, or a tflite-micro tree with its Makefile downloads)")
    p.add_argument("--mlperf-tiny", action="store_true",
                   help="also fetch mlcommons/tiny (west group mlperf-tiny: runner, submission checker, "
                        "reference models; from a mirror, DIR/tiny.git); the workspace keeps it from then on")
    p.add_argument("--mlperf-tiny-dir", type=Path, metavar="DIR",
                   help="do not fetch: check that DIR is a usable mlcommons/tiny checkout (or a workspace "
                        "holding one); use it through TINYFLASH_MLPERF_TINY_DIR")
    p.add_argument("--status", action="store_true", help="do not fetch: report what the workspace holds")
    p.add_argument("--manifest", type=Path, metavar="FILE", help="another west.yml (default: tinyflash's)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_deps)


def _project_rows(states: list[Any]) -> list[dict[str, object]]:
    return [{"name": s.project.name, "role": s.project.role, "path": str(s.path), "pinned": s.project.revision,
             "head": s.head, "cloned": s.cloned, "at_pin": s.at_pin, "dirty": s.dirty, "active": s.active,
             "groups": list(s.project.groups)} for s in states]


def _state_text(state: Any) -> str:
    if not state.active:
        fetch = f"optional group {', '.join(state.project.groups)}: tinyflash deps --{state.project.groups[0]}"
        return f"not fetched ({fetch})" if not state.head else f"HEAD {state.head[:12]}, not updated ({fetch})"
    if not state.cloned:
        return "not cloned"
    text = "at pin" if state.at_pin else f"HEAD {(state.head or '?')[:12]} != pin {state.project.revision[:12]}"
    return text + (" (dirty)" if state.dirty else "")


def _emit(data: dict[str, object], as_json: bool, lines: list[str]) -> None:
    if as_json:
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n".join(lines))


def cmd_deps(args: argparse.Namespace) -> int:
    from tinyflash.deps.manifest import load_manifest
    from tinyflash.deps.mirror import Mirror
    from tinyflash.deps.mlperf_tiny import MLPERF_TINY_DIR_ENV, MLPERF_TINY_GROUP, locate_mlperf_tiny
    from tinyflash.deps.sources import TFLM_DIR_ENV, default_workspace_dir, locate_in
    from tinyflash.deps.workspace import Workspace

    manifest = load_manifest(args.manifest)
    if args.mlperf_tiny_dir is not None:
        tiny = locate_mlperf_tiny(args.mlperf_tiny_dir, manifest=manifest)
        pin = ("at the pinned revision" if tiny.at_pin else
               f"revision {tiny.revision} is not the pinned {tiny.pinned}" if tiny.at_pin is False else
               "revision unknown (not a git checkout)" if tiny.revision is None else f"revision {tiny.revision}")
        _emit({"mlperf_tiny_dir": str(tiny.root), "layout": tiny.layout, "revision": tiny.revision,
               "pinned": tiny.pinned, "at_pin": tiny.at_pin, "runner_dir": str(tiny.runner_dir),
               "checker": str(tiny.checker), "model_dirs": [str(d) for d in tiny.model_dirs()]}, args.json,
              [f"{tiny.root}: usable mlcommons/tiny checkout ({tiny.layout}), {pin}",
               f"  runner   {tiny.runner_dir}", f"  checker  {tiny.checker}",
               f"  models   {len(tiny.model_dirs())} trained_models folders",
               f"use it with: export {MLPERF_TINY_DIR_ENV}={tiny.root}"])
        return EXIT_OK
    if args.tflm_dir is not None:
        sources = locate_in(args.tflm_dir, manifest)
        paths = {role: (str(p) if p else None) for role, p in sources.paths().items()}
        _emit({"tflm_dir": str(sources.root), "layout": sources.layout, "projects": paths,
               "cmsis_nn": sources.has_cmsis_nn}, args.json,
              [f"{sources.root}: usable TFLM checkout ({sources.layout})"]
              + [f"  {role:<12} {path or 'missing (needed for --kernels cmsis-nn only)'}"
                 for role, path in paths.items()]
              + [f"use it with: export {TFLM_DIR_ENV}={sources.root}  (or --tflm-dir on build/bench)"])
        return EXIT_OK

    workspace = Workspace(args.workspace or default_workspace_dir(), manifest)
    if args.status:
        states = workspace.status()
        ok = workspace.is_initialised() and all(s.at_pin for s in states if s.active)
        _emit({"workspace": str(workspace.topdir), "initialised": workspace.is_initialised(), "ok": ok,
               "groups": list(workspace.enabled_groups()), "projects": _project_rows(states)}, args.json,
              [f"workspace {workspace.topdir}: " + ("ok" if ok else "incomplete (run 'tinyflash deps')")]
              + [f"  {s.project.name:<13} {_state_text(s)}" for s in states])
        return EXIT_OK if ok else EXIT_FAILURE

    mirror: Optional[Mirror] = Mirror(args.mirror.expanduser().resolve()) if args.mirror else None
    if not args.json:
        source = f"mirror {mirror.directory}" if mirror else "the manifest's remotes"
        print(f"tinyflash: updating {workspace.topdir} from {source}", file=sys.stderr)
    states = workspace.update(mirror=mirror, shallow=not args.full,
                              groups=[MLPERF_TINY_GROUP] if args.mlperf_tiny else [])
    hint = [] if str(workspace.topdir) == str(default_workspace_dir()) else \
        [f"use it with: export {TFLM_DIR_ENV}={workspace.topdir}  (or --tflm-dir on build/bench)"]
    if hint and MLPERF_TINY_GROUP in workspace.enabled_groups():
        hint.append(f"             export {MLPERF_TINY_DIR_ENV}={workspace.topdir}  (runner, checker, models)")
    _emit({"workspace": str(workspace.topdir), "mirror": str(mirror.directory) if mirror else None, "ok": True,
           "groups": list(workspace.enabled_groups()), "projects": _project_rows(states)}, args.json,
          [f"workspace {workspace.topdir}: every project at its pinned revision"]
          + [f"  {s.project.name:<13} " + (f"{s.project.revision[:12]}  {s.path}" if s.active else _state_text(s))
             for s in states] + hint)
    return EXIT_OK
