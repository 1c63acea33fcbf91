#!/usr/bin/env python3
"""Hostile and clumsy input against a fresh tinyflash, as issue #11 catalogues it, plus the fuzzers' counts.

Every case runs the real command line (``python -m tinyflash``) in a folder of its own, on the emulated
boards, and is judged from outside: its exit code, the first line of its message, and what it left behind
(QEMU processes, tinyflash temp folders, files an injected command would create, stale results). The
summary line counts what must never happen:

    N cases: 0 internal errors, 0 injections, 0 orphaned processes, 0 mixed results

A case whose exit code or message is not the expected one is listed as "unexpected" after the summary.
The exit status is 0 only when all counts are zero.

    python scripts/robustness.py --model-dir ../shared/mlperf_tiny/models [--fuzz-cases 2000] [--only PATTERN]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.processes import qemu_processes_mentioning  # noqa: E402  (needs REPO on sys.path)
PY = sys.executable
BOARDS = REPO / "boards"
MARKERS = ("PWN", "PWNR", "PWNO", "PWND", "PWNF", "PWNT")


@dataclass
class Outcome:
    rc: Optional[int]
    message: str = ""
    leftovers: list[str] = field(default_factory=list)
    injection: bool = False
    mixed: bool = False
    unexpected: str = ""          # why the case did not behave as expected (empty: as expected)

    @property
    def internal(self) -> bool:
        return self.rc == 2 or "tinyflash: internal error" in self.message or "Traceback" in self.message


@dataclass
class Context:
    root: Path
    model_dir: Path
    env: dict[str, str]

    def case_dir(self, name: str) -> Path:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        return d


# --- running and observing ----------------------------------------------------------------------------
def case_env(ctx: Context, cwd: Path) -> dict[str, str]:
    (cwd / "tmp").mkdir(exist_ok=True)
    return {**ctx.env, "TMPDIR": str(cwd / "tmp")}


def tinyflash(ctx: Context, cwd: Path, *args: str, timeout: float = 600, env: Optional[dict] = None
              ) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "tinyflash", *args], cwd=cwd, env={**case_env(ctx, cwd), **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def first_line(proc: subprocess.CompletedProcess) -> str:
    """The line a user reads first: tinyflash's own error line, else the last line printed."""
    lines = [ln.strip() for ln in (proc.stderr + "\n" + proc.stdout).splitlines() if ln.strip()]
    own = [ln for ln in lines if ln.startswith(("tinyflash: error", "tinyflash: internal", "Traceback"))]
    return (own or lines[-1:] or [""])[0]


def qemu_temp_dirs(d: Path) -> set[str]:
    """QEMU run folders in the case's own TMPDIR (every case runs tinyflash with TMPDIR=<case>/tmp)."""
    return {p.name for p in (d / "tmp").glob("tinyflash-qemu-*")}


def code_outside_comments(text: str) -> str:
    """C text without its comments: what the compiler would compile (strings never hold '/*' here)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def markers_under(*dirs: Path) -> list[str]:
    found = []
    for d in dirs:
        for marker in MARKERS:
            found += [str(p) for p in d.rglob(marker)]
    return found


def expect(out: Outcome, proc: subprocess.CompletedProcess, rc: int, *words: str) -> Outcome:
    text = (proc.stderr + proc.stdout).lower()
    if proc.returncode != rc:
        out.unexpected = f"exit {proc.returncode}, expected {rc}"
    else:
        missing = [w for w in words if w.lower() not in text]
        if missing:
            out.unexpected = f"message lacks {missing}"
    return out


def outcome_of(proc: subprocess.CompletedProcess) -> Outcome:
    return Outcome(proc.returncode, first_line(proc))


# --- files the cases start from ------------------------------------------------------------------------
def board_yaml(name: str, **replace: str) -> str:
    text = (BOARDS / f"{name}.yaml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    return path


def rename_tensor(model: Path, dest: Path, new_name: str, index: int = 0) -> Path:
    """A copy of ``model`` whose tensor ``index`` is called ``new_name``.

    The new string goes at the end of the flatbuffer and the tensor's ``name`` offset (a forward uoffset)
    points there, so nothing else in the file moves."""
    import tflite

    data = bytearray(model.read_bytes())
    tensor = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0).Tensors(index)
    slot = tensor._tab.Offset(10)                   # Tensor.name is field 3: vtable slot 4 + 2 * 3
    field_pos = tensor._tab.Pos + slot
    while len(data) % 4:
        data.append(0)
    encoded = new_name.encode()
    string_pos = len(data)
    data += struct.pack("<I", len(encoded)) + encoded + b"\0"
    struct.pack_into("<I", data, field_pos, string_pos - field_pos)
    return write(dest, bytes(data))


def farm_files(d: Path, *, matrix_extra: str = "", inventory: Optional[str] = None,
               boards: str = "[mps2-an500]") -> tuple[Path, Path]:
    inv = write(d / "farm.yaml", inventory or "schema_version: 1\nunits:\n  - {id: an500, board: mps2-an500, count: 1}\n")
    mat = write(d / "nightly.yaml", textwrap.dedent(f"""\
        schema_version: 1
        name: robustness
        boards: {boards}
        models: [ad]
        runtimes: [aot]
        run: {{verify_count: 1, retries: 0, job_timeout: 300, timeouts: {{boot: 10, command: 5, infer: 60}}}}
        """) + matrix_extra)
    return inv, mat


# --- the catalogue ------------------------------------------------------------------------------------
CASES: list[tuple[str, str, Callable[[Context, Path], Outcome]]] = []


def case(group: str, name: str):
    def register(fn: Callable[[Context, Path], Outcome]) -> Callable[[Context, Path], Outcome]:
        CASES.append((group, name, fn))
        return fn
    return register


def _md(ctx: Context) -> list[str]:
    return ["--model-dir", str(ctx.model_dir)]


# 1. host commands from user strings
@case("1 injection", "model file named r`touch PWNR`.tflite")
def _(ctx: Context, d: Path) -> Outcome:
    model = d / "r`touch PWNR`.tflite"
    shutil.copy(ctx.model_dir / "ad01_int8.tflite", model)
    # no --out: the default output folder is named after the model file
    proc = tinyflash(ctx, d, "build", "-b", "mps2-an500", "-m", str(model))
    return expect(outcome_of(proc), proc, 0)


for _i, (_define, _marker) in enumerate((("X=`touch PWN`", "PWN"), ("X=$(touch PWND)", "PWND"))):
    @case("1 injection", f"-D '{_define}'")
    def _(ctx: Context, d: Path, define: str = _define) -> Outcome:
        proc = tinyflash(ctx, d, "build", "-b", "mps2-an500", "-m", "ad", *_md(ctx), "-D", define,
                         "--out", str(d / "out"))
        return expect(outcome_of(proc), proc, 1, "define")


@case("1 injection", "farm matrix define X=`touch PWNF`")
def _(ctx: Context, d: Path) -> Outcome:
    inv, mat = farm_files(d, matrix_extra="build: {defines: ['X=`touch PWNF`']}\n")
    proc = tinyflash(ctx, d, "farm", "check", "--inventory", str(inv), "--matrix", str(mat))
    return expect(outcome_of(proc), proc, 1, "define")


for _out in ("o`touch PWNO`", "o$(touch PWND)x"):
    @case("1 injection", f"--out '{_out}'")
    def _(ctx: Context, d: Path, out: str = _out) -> Outcome:
        proc = tinyflash(ctx, d, "build", "-b", "mps2-an500", "-m", "ad", *_md(ctx), "--out", out)
        return expect(outcome_of(proc), proc, 0)


# 3. C code from a model or a board file
@case("3 injection", "tensor name closing a comment in model.c")
def _(ctx: Context, d: Path) -> Outcome:
    evil = "h */ for (volatile int k = 0; k < 100000; ++k) {} /* t"
    # tensor 21 is the first layer's output: its name is printed in model.c's comments
    model = rename_tensor(ctx.model_dir / "ad01_int8.tflite", d / "evil.tflite", evil, index=21)
    proc = tinyflash(ctx, d, "build", "-b", "mps2-an500", "-m", str(model), "--out", str(d / "out"))
    out = expect(outcome_of(proc), proc, 0)
    generated = "".join(p.read_text(errors="replace") for p in (d / "out").rglob("*.c")) if (d / "out").exists() else ""
    out.injection = "for (volatile" in code_outside_comments(generated)    # the name may stay, inside a comment
    return out


@case("3 injection", "board init note closing a comment in board_init.c")
def _(ctx: Context, d: Path) -> Outcome:
    text = board_yaml("stm32h7", **{'note: "RCC_AHB4ENR.GPIODEN"': 'note: "x */ int injected_by_note; /* y"'})
    board = write(d / "boards" / "stm32h7.yaml", text)
    proc = tinyflash(ctx, d, "build", "-b", str(board), "-m", "ad", *_md(ctx), "--out", str(d / "out"))
    out = expect(outcome_of(proc), proc, 0)
    init = d / "out" / "src" / "board_init.c"
    out.injection = init.exists() and "int injected_by_note" in code_outside_comments(init.read_text())
    return out


# 2. two runs, one output directory
@case("2 mixed", "two bench runs on one --out at once (-O0 and -O2)")
def _(ctx: Context, d: Path) -> Outcome:
    out_dir = d / "out"
    procs = [subprocess.Popen([PY, "-m", "tinyflash", "bench", "-b", "mps2-an500", "-m", "ad", *_md(ctx),
                               "--out", str(out_dir), "-O", level, "--json"], cwd=d, env=case_env(ctx, d),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for level in ("0", "2")]
    results = [(p, *p.communicate(timeout=900)) for p in procs]
    rcs = sorted(p.returncode for p, _, _ in results)
    loser = next((err for p, _, err in results if p.returncode != 0), "")
    out = Outcome(rcs[-1] if rcs[0] == 0 else rcs[0], loser.strip().splitlines()[0] if loser.strip() else "")
    if rcs != [0, 1] or not re.search(r"process \d+|pid \d+", loser.lower()):
        out.unexpected = f"exit codes {rcs}; the refused run should name the PID holding the folder"
    for p, stdout, _ in results:
        if p.returncode == 0:
            data = json.loads(stdout)
            elf = out_dir / "build" / "firmware.elf"
            recorded = json.dumps(data)
            actual = hashlib.sha256(elf.read_bytes()).hexdigest()
            out.mixed = actual not in recorded       # results must name the ELF that ran
    return out


# 4. signals
def _start_and_signal(ctx: Context, d: Path, sig: int, args: list[str], ready: Callable[[], bool]) -> Outcome:
    # a child of a background job inherits SIGINT ignored: give it the default, as a terminal would
    proc = subprocess.Popen([PY, "-m", "tinyflash", *args], cwd=d, env=case_env(ctx, d), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(sig)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    time.sleep(0.5)
    out = Outcome(proc.returncode, (stderr.strip().splitlines() or [""])[-1])
    out.leftovers += [f"qemu pid {p}" for p in qemu_processes_mentioning(str(d))]
    out.leftovers += [f"temp {n}" for n in qemu_temp_dirs(d)]
    expected = 128 + sig
    if proc.returncode != expected:
        out.unexpected = f"exit {proc.returncode}, expected {expected}"
    return out


for _sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    @case("4 signals", f"{_sig.name} during bench --verify-count 300")
    def _(ctx: Context, d: Path, sig: int = _sig) -> Outcome:
        return _start_and_signal(ctx, d, sig, ["bench", "-b", "mps2-an500", "-m", "ad", *_md(ctx),
                                               "--verify-count", "300", "--out", str(d / "out")],
                                 lambda: bool(qemu_processes_mentioning(str(d))))


@case("4 signals", "SIGINT (Ctrl-C) to emulate")
def _(ctx: Context, d: Path) -> Outcome:
    built = tinyflash(ctx, d, "build", "-b", "mps2-an500", "-m", "ad", *_md(ctx), "--out", str(d / "out"))
    if built.returncode != 0:
        return expect(outcome_of(built), built, 0)
    elf = str(d / "out" / "build" / "firmware.elf")      # absolute: QEMU's command line names this case's folder
    return _start_and_signal(ctx, d, signal.SIGINT, ["emulate", "-b", "mps2-an500", "--firmware", elf],
                             lambda: bool(qemu_processes_mentioning(str(d))))


# 5. farm history
@case("5 farm", "--night-id ../../x")
def _(ctx: Context, d: Path) -> Outcome:
    inv, mat = farm_files(d)
    proc = tinyflash(ctx, d, "farm", "run", "-i", str(inv), "--matrix", str(mat), "--out", str(d / "farm"),
                     "--night-id", "../../x", *_md(ctx))
    out = expect(outcome_of(proc), proc, 1, "night")
    out.leftovers += [str(p) for p in [d.parent / "x", d / "x"] if p.exists()]
    return out


@case("5 farm", "--night-id as an absolute path")
def _(ctx: Context, d: Path) -> Outcome:
    inv, mat = farm_files(d)
    target = d / "elsewhere"
    proc = tinyflash(ctx, d, "farm", "run", "-i", str(inv), "--matrix", str(mat), "--out", str(d / "farm"),
                     "--night-id", str(target), *_md(ctx))
    out = expect(outcome_of(proc), proc, 1, "night")
    out.leftovers += [str(target)] if target.exists() else []
    return out


@case("5 farm", "a night id used twice (without, then with --replace)")
def _(ctx: Context, d: Path) -> Outcome:
    inv, mat = farm_files(d)
    base = ["farm", "run", "-i", str(inv), "--matrix", str(mat), "--out", str(d / "farm"), *_md(ctx), "-q"]
    first = tinyflash(ctx, d, *base, "--night-id", "n1")
    if first.returncode != 0:
        out = outcome_of(first)
        out.unexpected = f"first night failed: exit {first.returncode}"
        return out
    again = tinyflash(ctx, d, *base, "--night-id", "n1")
    out = expect(outcome_of(again), again, 1, "--replace")
    if not out.unexpected:
        replaced = tinyflash(ctx, d, *base, "--night-id", "n1", "--replace")
        if replaced.returncode != 0:
            out.unexpected = f"--replace: exit {replaced.returncode}"
    return out


@case("5 farm", "history truncated to 100 bytes")
def _(ctx: Context, d: Path) -> Outcome:
    inv, mat = farm_files(d)
    history = d / "history.sqlite"
    con = sqlite3.connect(history)
    con.executescript("create table t(x); insert into t values (randomblob(20000));")
    con.close()
    with open(history, "r+b") as f:
        f.truncate(100)
    started = time.monotonic()
    proc = tinyflash(ctx, d, "farm", "run", "-i", str(inv), "--matrix", str(mat), "--out", str(d / "farm"),
                     "--history", str(history), "--night-id", "n1", *_md(ctx), "-q")
    out = expect(outcome_of(proc), proc, 1, "history")
    if not out.unexpected and time.monotonic() - started > 30:
        out.unexpected = "found broken only after the night ran"
    return out


@case("5 farm", "report --history on a foreign SQLite database")
def _(ctx: Context, d: Path) -> Outcome:
    db = d / "other.sqlite"
    con = sqlite3.connect(db)
    con.executescript("create table customers(name text); insert into customers values ('a');")
    con.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    proc = tinyflash(ctx, d, "report", "--history", str(db), "--out", str(d / "report"))
    out = expect(outcome_of(proc), proc, 1)
    if hashlib.sha256(db.read_bytes()).hexdigest() != digest:
        out.unexpected = (out.unexpected + "; " if out.unexpected else "") + "the foreign database was written"
    return out


# 6. QEMU dying at boot, faults
def _bench_board(ctx: Context, d: Path, text: str, *words: str) -> Outcome:
    board = write(d / "boards" / "mps2-an500.yaml", text)
    proc = tinyflash(ctx, d, "bench", "-b", str(board), "-m", "ad", *_md(ctx), "--verify-count", "1",
                     "--out", str(d / "out"), timeout=300)
    out = expect(outcome_of(proc), proc, 1, *words)
    out.leftovers += [f"qemu pid {p}" for p in qemu_processes_mentioning(str(d))]
    return out


@case("6 qemu", "uart.base 0x5A000000 (no UART there)")
def _(ctx: Context, d: Path) -> Outcome:
    return _bench_board(ctx, d, board_yaml("mps2-an500", **{"base: 0x40004000": "base: 0x5A000000"}))


@case("6 qemu", "ram.origin 0x30000000")
def _(ctx: Context, d: Path) -> Outcome:
    return _bench_board(ctx, d, board_yaml("mps2-an500", **{"ram: {origin: 0x20000000": "ram: {origin: 0x30000000"}))


@case("6 qemu", "flash.machine no-such-machine")
def _(ctx: Context, d: Path) -> Outcome:
    return _bench_board(ctx, d, board_yaml("mps2-an500", **{"machine: mps2-an500": "machine: no-such-machine"}),
                        "machine")


@case("6 qemu", "Helium firmware on a Cortex-M7 (undefined instruction fault)")
def _(ctx: Context, d: Path) -> Outcome:
    text = board_yaml("mps2-an500", **{"core: cortex-m7": "core: cortex-m55\nmve: float"})
    started = time.monotonic()
    out = _bench_board(ctx, d, text, "instruction")
    if not out.unexpected and time.monotonic() - started > 120:
        out.unexpected = "the fault was reported only after a timeout"
    return out


@case("6 qemu", "emulate --firmware notanelf")
def _(ctx: Context, d: Path) -> Outcome:
    bogus = write(d / "notanelf", b"this is not an ELF file\n")
    proc = tinyflash(ctx, d, "emulate", "-b", "mps2-an500", "--firmware", str(bogus), timeout=120)
    return expect(outcome_of(proc), proc, 1)


# 8. values that must be refused
for _value in ("0", "-5", "nan", "inf"):
    @case("8 values", f"--timeout {_value}")
    def _(ctx: Context, d: Path, value: str = _value) -> Outcome:
        proc = tinyflash(ctx, d, "bench", "-b", "mps2-an500", "-m", "ad", *_md(ctx), f"--timeout={value}",
                         "--out", str(d / "out"))
        return expect(outcome_of(proc), proc, 1, "timeout")


for _mult in (".inf", "1e308"):
    @case("8 values", f"timeout_multiplier: {_mult}")
    def _(ctx: Context, d: Path, mult: str = _mult) -> Outcome:
        board = write(d / "b" / "mps2-an500.yaml",
                      board_yaml("mps2-an500", **{"timeout_multiplier: 1.0": f"timeout_multiplier: {mult}"}))
        proc = tinyflash(ctx, d, "boards", "show", str(board))
        return expect(outcome_of(proc), proc, 1, "timeout_multiplier")


for _port in ("70000", "-1"):
    @case("8 values", f"emulate --port {_port}")
    def _(ctx: Context, d: Path, port: str = _port) -> Outcome:
        proc = tinyflash(ctx, d, "emulate", "-b", "mps2-an500", "-m", "ad", *_md(ctx), f"--port={port}", timeout=60)
        return expect(outcome_of(proc), proc, 1, "port")


@case("8 values", "--verify-count 0 on a custom model")
def _(ctx: Context, d: Path) -> Outcome:
    model = rename_tensor(ctx.model_dir / "ad01_int8.tflite", d / "custom.tflite", "renamed")
    proc = tinyflash(ctx, d, "bench", "-b", "mps2-an500", "-m", str(model), "--verify-count", "0",
                     "--out", str(d / "out"))
    return expect(outcome_of(proc), proc, 1, "verify-count")


@case("8 values", "--out is a file (bench, farm run, report)")
def _(ctx: Context, d: Path) -> Outcome:
    target = write(d / "afile", "keep me\n")
    inv, mat = farm_files(d)
    procs = [tinyflash(ctx, d, "bench", "-b", "mps2-an500", "-m", "ad", *_md(ctx), "--out", str(target)),
             tinyflash(ctx, d, "farm", "run", "-i", str(inv), "--matrix", str(mat), "--out", str(target), *_md(ctx)),
             tinyflash(ctx, d, "report", "--history", str(d / "none.sqlite"), "--out", str(target))]
    out = outcome_of(procs[0])
    bad = [i for i, p in enumerate(procs) if p.returncode != 1]
    if bad:
        out.unexpected = f"commands {bad} exited {[procs[i].returncode for i in bad]}"
        out.rc = max(procs[i].returncode for i in bad)
    if target.read_text() != "keep me\n":
        out.unexpected += "; the file was changed"
    return out


@case("8 values", "a directory as --model")
def _(ctx: Context, d: Path) -> Outcome:
    proc = tinyflash(ctx, d, "build", "-b", "mps2-an500", "-m", str(ctx.model_dir))
    return expect(outcome_of(proc), proc, 1, "directory")


@case("8 values", "a board file that is not UTF-8")
def _(ctx: Context, d: Path) -> Outcome:
    board = write(d / "latin1.yaml", board_yaml("mps2-an500").encode() + "# caf\xe9\n".encode("latin-1"))
    proc = tinyflash(ctx, d, "boards", "show", str(board))
    return expect(outcome_of(proc), proc, 1, "utf-8")


@case("8 values", "an inventory file that is not UTF-8")
def _(ctx: Context, d: Path) -> Outcome:
    inv, mat = farm_files(d, inventory="schema_version: 1\nunits:\n  - {id: an500, board: mps2-an500, count: 1}\n")
    write(inv, inv.read_bytes() + "# caf\xe9\n".encode("latin-1"))
    proc = tinyflash(ctx, d, "farm", "check", "-i", str(inv), "--matrix", str(mat))
    return expect(outcome_of(proc), proc, 1, "utf-8")


# 9. smaller findings
@case("9 smaller", "farm check: two units share a serial port")
def _(ctx: Context, d: Path) -> Outcome:
    inv, mat = farm_files(d, boards="[stm32h7]", inventory=textwrap.dedent("""\
        schema_version: 1
        units:
          - {id: a, board: stm32h7, probe: "0001", serial: /dev/ttyACM0}
          - {id: b, board: stm32h7, probe: "0002", serial: /dev/ttyACM0}
        """))
    proc = tinyflash(ctx, d, "farm", "check", "-i", str(inv), "--matrix", str(mat))
    return expect(outcome_of(proc), proc, 1, "serial")


@case("9 smaller", "farm check: unit names collide through count")
def _(ctx: Context, d: Path) -> Outcome:
    inv, mat = farm_files(d, inventory=textwrap.dedent("""\
        schema_version: 1
        units:
          - {id: an500, board: mps2-an500, count: 2}
          - {id: an500.1, board: mps2-an500}
        """))
    proc = tinyflash(ctx, d, "farm", "check", "-i", str(inv), "--matrix", str(mat))
    return expect(outcome_of(proc), proc, 1)


@case("9 smaller", "results files follow the umask; no stale results.json after a failed run")
def _(ctx: Context, d: Path) -> Outcome:
    out_dir = d / "out"
    ok = tinyflash(ctx, d, "bench", "-b", "mps2-an500", "-m", "ad", *_md(ctx), "--verify-count", "1",
                   "--out", str(out_dir))
    out = expect(outcome_of(ok), ok, 0)
    if out.unexpected:
        return out
    mode = (out_dir / "results.json").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    if mode != 0o666 & ~umask:
        out.unexpected = f"results.json mode {mode:o}, umask {umask:o}"
    # the same output folder, now with a firmware that faults at once: the old result must not stay current
    board = write(d / "boards" / "mps2-an500.yaml", board_yaml("mps2-an500", **{"base: 0x40004000": "base: 0x5A000000"}))
    failed = tinyflash(ctx, d, "bench", "-b", str(board), "-m", "ad", *_md(ctx), "--verify-count", "1",
                       "--out", str(out_dir), "--timeout", "3")
    if failed.returncode == 0:
        out.unexpected = "the failing run passed"
    elif (out_dir / "results.json").exists() and "stale" not in (out_dir / "results.json").read_text():
        out.mixed = True
        out.unexpected = "a failed run left the previous results.json as if current"
    return out


# fuzzers: the tests' own (tests/support/fuzz), at the counts asked for
def fuzz_models(ctx: Context, cases: int) -> Outcome:
    from tests.support.fuzz.models import CRASH, HANG, fuzz_models as run_fuzzer, reference_models

    report = run_fuzzer(reference_models(ctx.model_dir), cases)
    bad = report.outcomes[CRASH] + report.outcomes[HANG]
    out = Outcome(2 if bad else 0, report.summary().splitlines()[0])
    if bad:
        out.unexpected = f"{bad} cases crashed or hung"
    return out


def fuzz_protocol(transcripts: int) -> Outcome:
    from tests.support.fuzz.protocol import fuzz_protocol as run_fuzzer

    report = run_fuzzer(transcripts=transcripts)
    out = Outcome(2 if report.failures else 0, report.summary())
    if report.failures:
        out.unexpected = report.failures[0][:200]
    return out


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=REPO.parent / "shared" / "mlperf_tiny" / "models")
    parser.add_argument("--fuzz-cases", type=int, default=2000, help="model fuzzer cases (0: none)")
    parser.add_argument("--only", default="", help="run only cases whose name contains this text")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if not (args.model_dir / "ad01_int8.tflite").is_file():
        parser.error(f"no MLPerf Tiny models in {args.model_dir}: pass --model-dir")
    root = Path(tempfile.mkdtemp(prefix="tinyflash-robustness-"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "TINYFLASH_CACHE_DIR": str(root / "scons-cache")}
    env.pop("TINYFLASH_MODEL_DIR", None)
    ctx = Context(root, args.model_dir.resolve(), env)
    rows: list[tuple[str, str, Outcome]] = []
    for i, (group, name, fn) in enumerate(CASES):
        if args.only and args.only not in name:
            continue
        d = ctx.case_dir(f"case{i:02d}")
        started = time.monotonic()
        try:
            out = fn(ctx, d)
        except Exception as exc:         # the script's own failure, not tinyflash's: still a row
            out = Outcome(None, f"script error: {type(exc).__name__}: {exc}", unexpected="script error")
        out.injection = out.injection or bool(markers_under(d, REPO))
        for marker in markers_under(d, REPO):
            Path(marker).unlink(missing_ok=True)
        out.leftovers += [f"qemu pid {p}" for p in qemu_processes_mentioning(str(d)) if f"qemu pid {p}" not in out.leftovers]
        out.leftovers += [f"temp {n}" for n in qemu_temp_dirs(d) if f"temp {n}" not in out.leftovers]
        rows.append((group, name, out))
        print(f"[{time.monotonic() - started:5.1f}s] {name}: exit {out.rc}", file=sys.stderr, flush=True)
    if args.fuzz_cases and not args.only:
        rows.append(("fuzz", f"model fuzzer, {args.fuzz_cases} cases", fuzz_models(ctx, args.fuzz_cases)))
        rows.append(("fuzz", "protocol parser fuzzer", fuzz_protocol(max(1, args.fuzz_cases // 2))))

    width = max(len(name) for _, name, _ in rows)
    print(f"{'case'.ljust(width)}  exit  first line of the message  | leftovers")
    for group, name, out in rows:
        flags = [f for f, on in (("INTERNAL", out.internal), ("INJECTION", out.injection), ("MIXED", out.mixed)) if on]
        tail = ", ".join(out.leftovers) or "-"
        print(f"{name.ljust(width)}  {str(out.rc):>4}  {out.message[:90]}  | {tail}" +
              (f"  [{' '.join(flags)}]" if flags else ""))
    internal = sum(o.internal for *_, o in rows)
    injections = sum(o.injection for *_, o in rows)
    orphans = sum(1 for *_, o in rows for x in o.leftovers if x.startswith(("qemu", "temp")))
    mixed = sum(o.mixed for *_, o in rows)
    print(f"\n{len(rows)} cases: {internal} internal errors, {injections} injections, {orphans} orphaned processes, "
          f"{mixed} mixed results")
    unexpected = [(name, o.unexpected) for _, name, o in rows if o.unexpected]
    for name, why in unexpected:
        print(f"unexpected: {name}: {why}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if not (internal or injections or orphans or mixed or unexpected) else 1


if __name__ == "__main__":
    raise SystemExit(main())
