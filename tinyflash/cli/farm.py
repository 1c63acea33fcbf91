"""``tinyflash farm run|check`` and ``tinyflash report``: arguments in, library calls out (not API)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tinyflash.cli.arguments import check_out_dir, non_negative_int
from tinyflash.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK


def add_parsers(sub: Any) -> None:
    """Add ``farm`` (with ``run`` and ``check``) and ``report`` to a subparsers object."""
    farm = sub.add_parser("farm", help="run a matrix of jobs on the units of an inventory (nightly runs)",
                          description="Device farm: build every firmware of a matrix, run the jobs on the "
                                      "inventory's units, write JSON, JUnit, Markdown and HTML, keep a history.")
    farm.set_defaults(handler=cmd_farm)
    farm_sub = farm.add_subparsers(dest="farm_command", metavar="ACTION")
    farm_sub.required = True
    for name, text in (("run", "run a night: build, run every job, report, store in the history"),
                       ("check", "validate the inventory and the matrix and list the jobs, without running")):
        p = farm_sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        p.add_argument("--inventory", "-i", required=True, type=Path, metavar="FARM.yaml",
                       help="the units: real boards (probe, serial), emulated boards (count), labgrid places")
        p.add_argument("--matrix", required=True, type=Path, metavar="MATRIX.yaml",
                       help="boards x models x runtimes, include/exclude/quarantine, build and run settings")
        p.add_argument("--board-dir", action="append", type=Path, default=[], metavar="DIR",
                       help="extra directory of board YAML files (repeatable; also TINYFLASH_BOARD_PATH)")
        p.add_argument("--json", action="store_true", help="print one JSON object at the end")
        if name == "run":
            p.add_argument("--out", required=True, type=Path, metavar="DIR",
                           help="farm directory: nights/<id>/ (night.json, junit.xml, report.md, report.html, "
                                "serial logs) and firmware/ (build trees, reused night after night)")
            p.add_argument("--history", type=Path, metavar="DB", help="SQLite history (default: DIR/history.sqlite)")
            p.add_argument("--night-id", help="name of this night (default: UTC date-time, e.g. 20260514-031500)")
            p.add_argument("--replace", action="store_true",
                           help="reuse --night-id on purpose: replace the stored night of that name")
            p.add_argument("--model-dir", action="append", type=Path, default=[], metavar="DIR",
                           help="directory holding the MLPerf Tiny .tflite files (also TINYFLASH_MODEL_DIR)")
            p.add_argument("--verify-count", type=non_negative_int, metavar="N", help="override the matrix's run.verify_count")
            p.add_argument("--build-workers", type=int, default=2, metavar="N",
                           help="firmware builds in parallel (default 2)")
            p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")

    p = sub.add_parser("report", help="render a stored night as Markdown, HTML (with plots) and JUnit",
                       description="Render a night from the history (JSON only, no hardware): Markdown, "
                                   "self-contained HTML with plots, JUnit XML; compared with earlier nights.")
    p.add_argument("--history", required=True, type=Path, metavar="DB", help="the farm's SQLite history")
    p.add_argument("--night", metavar="ID", help="night to render (default: the latest)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="where report.md/.html, junit.xml go")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")
    p.set_defaults(handler=cmd_report)


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from tinyflash.board import BoardCatalog
    from tinyflash.farm.inventory import load_inventory
    from tinyflash.farm.matrix import load_matrix

    catalog = BoardCatalog(extra_dirs=args.board_dir)
    return load_inventory(args.inventory, catalog), load_matrix(args.matrix, catalog)


def _check(args: argparse.Namespace) -> int:
    inventory, matrix = _load(args)
    rows = []
    for job in matrix.jobs:
        units = [u.name for u in inventory.units_for(job.board)]
        rows.append({"job": job.id, "optimization": job.options.optimization, "defines": list(job.options.defines),
                     "profile": job.options.profile, "quarantined": job.quarantined, "units": units})
    if args.json:
        print(json.dumps({"units": [u.name for u in inventory.units], "jobs": rows}, indent=2))
        return EXIT_OK
    print(f"{len(inventory.units)} unit(s): {', '.join(u.name for u in inventory.units)}")
    for row in rows:
        note = f"  quarantined: {row['quarantined']}" if row["quarantined"] else \
            ("  no unit" if not row["units"] else f"  on {', '.join(row['units'])}")
        flags = " ".join([row["optimization"], *("-D" + d for d in row["defines"]),
                          *(["profiled"] if row["profile"] else [])])
        print(f"{row['job']}  {flags}" + note)
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from tinyflash.farm.errors import HistoryStoreError
    from tinyflash.farm.reporting import report_night
    from tinyflash.farm.runner import Event, NightRunner, NightSettings

    check_out_dir(args.out)
    inventory, matrix = _load(args)

    def show(event: Event) -> None:
        if args.quiet or event.kind == "job-progress":
            return
        print(f"farm: {event.text}", file=sys.stderr, flush=True)

    settings = NightSettings(out_root=args.out, model_dirs=tuple(args.model_dir), night_id=args.night_id,
                             build_workers=args.build_workers, verify_count=args.verify_count,
                             history=args.history, replace=args.replace)
    runner = NightRunner(inventory, matrix, settings, on_event=show)
    # SIGTERM and SIGHUP (a CI job cancelled) stop the night as Ctrl-C does (tinyflash.cli.signals):
    # the runner keeps the jobs that finished, and the CLI exits 128 + the signal
    result = runner.run()        # checks the history (ours, intact, writable) before the first job
    history = runner.history
    stored = True
    try:
        report = report_night(result.data, history, result.night_dir, store=True)
    except HistoryStoreError as exc:   # the reports are written; the night is not in the history
        report, stored = exc.report, False
        print(f"tinyflash: error: {exc}", file=sys.stderr)
    verdict = report.analysis.verdict()
    if args.json:
        print(json.dumps({"night_id": result.data["night_id"], "status": result.data["status"],
                          "summary": result.data["summary"], "analysis": report.analysis.to_dict(),
                          "files": {k: str(v) for k, v in report.paths.items()},
                          "history": str(history.path)}, indent=2))
    else:
        s = result.data["summary"]
        print(verdict)
        print(f"night {result.data['night_id']}: " + ", ".join(f"{s[k]} {k}" for k in
                                                              ("passed", "failed", "error", "timeout", "skipped")))
        for key, path in report.paths.items():
            print(f"  {key}: {path}")
        print(f"  history: {history.path}")
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if report.analysis.clean and stored else EXIT_FAILURE


def cmd_farm(args: argparse.Namespace) -> int:
    if args.farm_command == "check":
        return _check(args)
    return _run(args)


def cmd_report(args: argparse.Namespace) -> int:
    from tinyflash.farm.history import History
    from tinyflash.farm.reporting import report_from_history

    check_out_dir(args.out)
    report = report_from_history(History(args.history), args.out, args.night)
    if args.json:
        print(json.dumps(report.analysis.to_dict(), indent=2))
    else:
        print(report.analysis.verdict())
        for key, path in report.paths.items():
            print(f"  {key}: {path}")
    return EXIT_OK if report.analysis.clean else EXIT_FAILURE
