"""``tinyflash run`` and ``tinyflash bench``: flash, verify against the golden, measure (or score accuracy).

Both build first (a SCons no-op when the firmware is up to date); they differ in what they promise the user.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tinyflash.cli.arguments import add_board, add_build, add_model, add_run, UsageError
from tinyflash.cli.build import build_firmware, choose_runtime, load_inputs, out_dir
from tinyflash.cli.output import Console
from tinyflash.errors import EXIT_FAILURE, EXIT_OK

RUN_HELP = "flash the firmware, verify it and measure performance (or accuracy)"
BENCH_HELP = "build, flash, verify and measure: the whole pipeline"


def add_parsers(sub: Any) -> None:
    for name, text, handler in (("run", RUN_HELP, cmd_run), ("bench", BENCH_HELP, cmd_bench)):
        p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        add_board(p)
        add_model(p)
        add_build(p)
        add_run(p)
        p.add_argument("--mode", choices=["performance", "accuracy"], default="performance",
                       help="performance (default; also verifies against the golden) or accuracy on --dataset")
        p.add_argument("--dataset", type=Path, metavar="DIR",
                       help="accuracy mode: DIR/<benchmark>/y_labels.csv with the .bin files beside it")
        p.add_argument("--json", action="store_true", help="print one JSON object with the results")
        p.set_defaults(handler=handler)


def cmd_run(args: argparse.Namespace) -> int:
    return _accuracy(args) if args.mode == "accuracy" else _performance(args, "run")


def cmd_bench(args: argparse.Namespace) -> int:
    return _accuracy(args) if args.mode == "accuracy" else _performance(args, "bench")


def _timeouts(args: argparse.Namespace) -> Any:
    from tinyflash.run.session import Timeouts

    if args.timeout is None:
        return Timeouts()
    return Timeouts(boot=max(args.timeout, 2.0), command=args.timeout, infer=args.timeout)


def _check_verify_count(args: argparse.Namespace, spec: Any, firmware: Any = None) -> None:
    """With --verify-count 0 the inputs come from sample files only: refuse when there are none (#11.8)."""
    if args.verify_count > 0:
        return
    samples = spec.benchmark.reads_sample_files
    hint = "pass --verify-count 1 or more (generated inputs)" + \
        (", or --sample-dir DIR with <benchmark>*.bin files" if samples else "")
    if not samples:   # a custom model never has sample files: refuse before building
        raise UsageError(f"--verify-count {args.verify_count} leaves no input to verify or measure "
                         f"{spec.name} with (only the MLPerf Tiny benchmarks have sample files)", hint=hint)
    if firmware is not None:
        from tinyflash import pipeline

        if not pipeline.verification_samples(spec, firmware, 0, args.sample_dir):
            raise UsageError(f"--verify-count {args.verify_count} leaves no input to verify or measure "
                             f"{spec.name} with: no sample file was found", hint=hint)


def _performance(args: argparse.Namespace, command: str) -> int:
    from tinyflash import pipeline

    console = Console(json_mode=args.json)
    board, spec = load_inputs(args)
    _check_verify_count(args, spec)
    # one run per output folder from the build to the last result file: two runs never mix (#11.2)
    choice = choose_runtime(args, board, spec)
    with pipeline.exclusive_out_dir(out_dir(args, board, spec, choice)):
        return _measure(args, command, console, board, spec, choice)


def _measure(args: argparse.Namespace, command: str, console: Console, board: Any, spec: Any, choice: Any) -> int:
    from tinyflash import pipeline
    from tinyflash.report.atomic import write_json_atomic
    from tinyflash.report.results import result_dict, table_rows

    with console.progress("benchmarking") as progress:
        firmware = build_firmware(args, board, spec, console, choice)
        _check_verify_count(args, spec, firmware)
        result = pipeline.run(firmware, verify_count=args.verify_count, sample_dir=args.sample_dir,
                              timeouts=_timeouts(args), probe=args.probe, port=args.serial_port,
                              progress=progress.step, upload=args.upload)
    data = result_dict(spec, result)
    results_path = firmware.project.directory / "results.json"
    write_json_atomic(results_path, data)
    data["results_file"] = str(results_path)
    from tinyflash.report.submission import performance_records, performance_text, write_result_folder

    folder = write_result_folder(firmware.project.directory / "results" / "performance",
                                 serial_log=result.serial_log, results_text=performance_text(result.performance),
                                 records=performance_records(result.performance),
                                 provenance={**pipeline.provenance(spec, firmware), "summary": data})
    data["submission_folder"] = str(folder)
    if args.json:
        console.emit_json(data)
    else:
        console.table(f"tinyflash {command}: {board.name} / {spec.name} / {firmware.project.runtime}",
                      table_rows(data) + [("results", str(results_path))])
        if "profile" in data:
            from tinyflash.run.profile import profile_lines

            print(f"\nper-layer profile (cycle counter read around each layer, summed over "
                  f"{data['profile']['iterations']} inferences)")
            print("\n".join(profile_lines(data["profile"])))
    if not result.verification.passed:
        print("tinyflash: error: the device's outputs differ from the golden beyond tolerance "
              f"(max {result.verification.max_abs_diff} step(s)); see {results_path}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _accuracy(args: argparse.Namespace) -> int:
    from tinyflash import pipeline

    if args.dataset is None:
        raise UsageError("accuracy mode needs --dataset DIR", hint="DIR/<benchmark>/y_labels.csv + .bin files")
    console = Console(json_mode=args.json)
    board, spec = load_inputs(args)
    choice = choose_runtime(args, board, spec)
    with pipeline.exclusive_out_dir(out_dir(args, board, spec, choice)):
        return _score(args, console, board, spec, choice)


def _score(args: argparse.Namespace, console: Console, board: Any, spec: Any, choice: Any) -> int:
    from tinyflash import pipeline
    from tinyflash.report.submission import accuracy_text, write_result_folder

    with console.progress("accuracy run") as progress:
        firmware = build_firmware(args, board, spec, console, choice)
        result = pipeline.run_accuracy(firmware, args.dataset, timeouts=_timeouts(args),
                                       probe=args.probe, port=args.serial_port, progress=progress.step,
                                       upload=args.upload)
    score = result.score
    summary = {"board": board.name, "model": spec.name, "runtime": firmware.project.runtime,
               "runtime_reason": firmware.project.runtime_reason, "mode": "accuracy",
               "files": score.files, "top1_percent": round(score.top1, 3), "auc": round(score.auc, 6)}
    folder = write_result_folder(firmware.project.directory / "results" / "accuracy", serial_log=result.serial_log,
                                 results_text=accuracy_text(score), records=result.records,
                                 provenance={**pipeline.provenance(spec, firmware), "summary": summary,
                                             "per_file": [list(x) for x in score.per_file]})
    summary["submission_folder"] = str(folder)
    if args.json:
        console.emit_json(summary)
    else:
        console.table(f"tinyflash accuracy: {board.name} / {spec.name}",
                      [("files", str(score.files)), ("Top 1%", f"{score.top1:.1f}"), ("AUC", f"{score.auc:.3f}"),
                       ("results", str(folder))])
    return EXIT_OK
