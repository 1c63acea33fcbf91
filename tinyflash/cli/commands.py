"""One function per subcommand: translate arguments into library calls, print the outcome.
Nothing below this module sees an argparse Namespace."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from tinyflash.cli.output import Console
from tinyflash.farm.cli import cmd_farm, cmd_report  # noqa: F401  (the farm's subcommands)
from tinyflash.deps.cli import cmd_deps  # noqa: F401  (the TFLM sources' subcommand)


def _catalog(args: argparse.Namespace):
    from tinyflash.board import BoardCatalog

    return BoardCatalog(extra_dirs=args.board_dir)


def _options(args: argparse.Namespace):
    from tinyflash.generate.project import BuildOptions

    tflm_dir = getattr(args, "tflm_dir", None)
    return BuildOptions(optimization=f"-O{args.optimization}", defines=tuple(args.defines), kernels=args.kernels,
                        profile=getattr(args, "profile", False), tflm_dir=str(tflm_dir) if tflm_dir else None)


def _timeouts(args: argparse.Namespace):
    from tinyflash.run.session import Timeouts

    if args.timeout is None:
        return Timeouts()
    return Timeouts(boot=max(args.timeout, 2.0), command=args.timeout, infer=args.timeout)


def cmd_boards(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    console = Console(json_mode=args.json)
    if args.action == "show" or args.name:
        board = catalog.load(args.name or "")
        data = board.model_dump(mode="json")
        if args.json:
            console.emit_json(data)
        else:
            import yaml

            print(f"# {catalog.files().get(board.name, args.name)}")
            print(yaml.safe_dump(data, sort_keys=False), end="")
        return 0
    boards = list(catalog.load_all())
    if args.json:
        console.emit_json([{"name": b.name, "core": b.core.value, "emulated": b.emulated,
                            "flash_bytes": b.memory.flash.size, "ram_bytes": b.memory.ram.size,
                            "description": b.description} for b in boards])
        return 0
    width = max(len(b.name) for b in boards)
    for b in boards:
        kind = f"qemu:{b.flash.machine}" if b.emulated else f"pyocd:{b.flash.target}"
        print(f"{b.name.ljust(width)}  {b.core.value:<14} {b.memory.flash.size // 1024:>5} KB flash "
              f"{b.memory.ram.size // 1024:>5} KB RAM  {kind}")
    return 0


def _build(args: argparse.Namespace, console: Console):
    from tinyflash import pipeline
    from tinyflash.model import resolve_model

    board = _catalog(args).load(args.board)
    spec = resolve_model(args.model, args.model_dir)
    firmware = pipeline.build(board, spec, runtime=args.runtime, out_dir=args.out, options=_options(args),
                              progress=console.step)
    return board, spec, firmware


def cmd_build(args: argparse.Namespace) -> int:
    from tinyflash.report.results import firmware_dict, table_rows

    console = Console(json_mode=args.json)
    with console.progress("building"):
        board, spec, firmware = _build(args, console)
    data = firmware_dict(spec, firmware)
    if args.json:
        console.emit_json(data)
    else:
        console.table(f"tinyflash build: {board.name} / {spec.name}", table_rows(data))
    return 0


def _run(args: argparse.Namespace) -> int:
    from tinyflash import pipeline
    from tinyflash.report.atomic import write_json_atomic
    from tinyflash.report.results import result_dict, table_rows

    if args.mode == "accuracy":
        return _run_accuracy(args)
    console = Console(json_mode=args.json)
    with console.progress("benchmarking") as progress:
        board, spec, firmware = _build(args, console)
        result = pipeline.run(firmware, verify_count=args.verify_count, sample_dir=args.sample_dir,
                              timeouts=_timeouts(args), probe=args.probe, port=args.serial_port,
                              progress=progress.step)
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
        console.table(f"tinyflash {args.command}: {board.name} / {spec.name} / {firmware.project.runtime}",
                      table_rows(data) + [("results", str(results_path))])
        if "profile" in data:
            from tinyflash.run.profile import profile_lines

            print(f"\nper-layer profile (cycle counter read around each layer, summed over "
                  f"{data['profile']['iterations']} inferences)")
            print("\n".join(profile_lines(data["profile"])))
    if not result.verification.passed:
        print("tinyflash: error: the device's outputs differ from the golden beyond tolerance "
              f"(max {result.verification.max_abs_diff} step(s)); see {results_path}", file=sys.stderr)
        return 1
    return 0


def _run_accuracy(args: argparse.Namespace) -> int:
    from tinyflash import pipeline
    from tinyflash.errors import TinyflashError
    from tinyflash.report.submission import accuracy_text, write_result_folder

    if args.dataset is None:
        raise TinyflashError("accuracy mode needs --dataset DIR", hint="DIR/<benchmark>/y_labels.csv + .bin files")
    console = Console(json_mode=args.json)
    with console.progress("accuracy run") as progress:
        board, spec, firmware = _build(args, console)
        result = pipeline.run_accuracy(firmware, args.dataset, timeouts=_timeouts(args),
                                       probe=args.probe, port=args.serial_port, progress=progress.step)
    score = result.score
    summary = {"board": board.name, "model": spec.name, "runtime": firmware.project.runtime, "mode": "accuracy",
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
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    # run and bench share one path: the build is a SCons no-op when the firmware is up to date
    return _run(args)


cmd_bench = cmd_run


def cmd_flash(args: argparse.Namespace) -> int:
    from tinyflash import pipeline
    from tinyflash.errors import FlashError
    from tinyflash.model import resolve_model

    console = Console()
    board = _catalog(args).load(args.board)
    flasher = pipeline.make_flasher(board, probe=args.probe, port=args.serial_port)
    try:
        if board.emulated:
            raise FlashError(f"board {board.name} is emulated: there is nothing to flash",
                             hint="use 'tinyflash emulate' or 'tinyflash bench' for QEMU boards")
        # find the probe first: with none attached this fails at once, before any build
        open_session = getattr(flasher, "open", None)
        if open_session:
            open_session()
        if args.firmware:
            elf = args.firmware
        elif args.model:
            spec = resolve_model(args.model, args.model_dir)
            with console.progress("building"):
                elf = pipeline.build(board, spec, runtime=args.runtime, progress=console.step).elf
        else:
            raise FlashError("nothing to flash", hint="pass --model M or --firmware ELF")
        with console.progress(f"flashing {elf}"):
            flasher.program(elf)
            flasher.reset()
        print(f"{board.name}: flashed {elf} and reset")
        return 0
    finally:
        flasher.close()


def cmd_probes(args: argparse.Namespace) -> int:
    from tinyflash.flash.discovery import list_probes

    probes = list_probes()
    if args.json:
        Console().emit_json([p.__dict__ for p in probes])
        return 0
    if not probes:
        print("no debug probe found (connect a board's debug USB port; check udev permissions on Linux)")
        return 0
    for p in probes:
        ports = ", ".join(p.ports) or "no serial port found"
        print(f"{p.unique_id}  {p.vendor} {p.product}  board: {p.board_name or '?'} ({p.board_target or '?'})  "
              f"ports: {ports}")
    return 0


def cmd_emulate(args: argparse.Namespace) -> int:
    from tinyflash.flash.qemu import QemuFlasher, QemuOptions
    from tinyflash.errors import EmulatorError

    console = Console()
    board = _catalog(args).load(args.board)
    if not board.emulated:
        raise EmulatorError(f"board {board.name} is a real board; emulate needs a QEMU board",
                            hint="see 'tinyflash boards' for the emulated ones")
    if args.firmware:
        elf = args.firmware
        if not elf.is_file():
            raise EmulatorError(f"firmware {elf} does not exist")
    else:
        from tinyflash import pipeline
        from tinyflash.model import resolve_model

        spec = resolve_model(args.model, args.model_dir)
        with console.progress("building"):
            elf = pipeline.build(board, spec, runtime=args.runtime, progress=console.step).elf
    from tinyflash.run.link import SerialLink
    from tinyflash.run.session import DeviceSession

    with QemuFlasher(board, QemuOptions(port=args.port)) as flasher:
        flasher.program(elf)
        # QEMU's UART models hold output until a client connects, so tinyflash takes the boot banner
        # itself: a client connecting later sees nothing unsolicited, as the official runner needs
        # (spec §7.2). Reading it also proves the firmware booted.
        with SerialLink(flasher.serial_url(), baudrate=board.uart.baud) as link:
            flasher.reset()
            DeviceSession(link, multiplier=board.timeout_multiplier).wait_boot()
        print(f"{board.name}: {elf} running; UART on socket://127.0.0.1:{flasher.port} "
              "(Ctrl-C to stop)", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            rc = flasher.wait()
        except KeyboardInterrupt:
            return 0
    print(f"tinyflash: QEMU exited with status {rc}", file=sys.stderr)
    return 0 if rc == 0 else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    from tinyflash.doctor import run_checks

    checks = run_checks(args.model_dir)
    console = Console(json_mode=args.json)
    if args.json:
        console.emit_json([c.__dict__ for c in checks])
    else:
        for c in checks:
            mark = "ok " if c.ok else ("-- " if not c.required else "!! ")
            print(f"{mark} {c.name:<28} {c.detail}")
            if not c.ok and c.hint:
                print(f"    {'':<28} hint: {c.hint}")
    return 0 if all(c.ok or not c.required for c in checks) else 1
