"""Turning pipeline records into the machine-readable result and a human table."""

from __future__ import annotations

import platform
from typing import Any, Optional

from tinyflash import __version__
from tinyflash.build.scons import Firmware
from tinyflash.model.spec import ModelSpec
from tinyflash.pipeline import RunResult


def firmware_dict(spec: ModelSpec, firmware: Firmware) -> dict[str, Any]:
    project = firmware.project
    size = firmware.size
    return {
        "tinyflash_version": __version__,
        "board": project.board.name,
        "model": spec.name,
        "benchmark_id": spec.benchmark_id,
        "model_path": str(spec.path),
        "model_sha256": spec.sha256,
        "reference_model": spec.reference,
        "runtime": project.runtime,
        "runtime_reason": project.runtime_reason,     # why that runtime (--runtime auto's choice)
        "emulated": project.board.emulated,
        "toolchain": firmware.toolchain,
        "host": platform.node(),
        "size": {
            "flash_bytes": size.flash_bytes, "flash_region_bytes": size.flash_size,
            "ram_bytes": size.ram_bytes, "ram_region_bytes": size.ram_size,
            "activation_bytes": project.activation_bytes, "scratch_bytes": project.scratch_bytes,
            "weight_bytes": project.weight_bytes,
        },
        "macs": project.macs,
        "notes": list(project.notes),     # what the runtime chose (e.g. TFLM's op resolver)
        "build": {
            "seconds": round(firmware.build_seconds, 3), "compiled_objects": firmware.compiled_objects,
            "elf": str(firmware.elf), "elf_sha256": firmware.elf_sha256,    # the ELF that was (or will be) run
            "bin": str(firmware.bin), "hex": str(firmware.hex), "map": str(firmware.map),
            "optimization": project.options.optimization, "kernels": project.options.kernels,
            "profile": project.options.profile,
        },
    }


def result_dict(spec: ModelSpec, result: RunResult) -> dict[str, Any]:
    data = firmware_dict(spec, result.firmware)
    perf = result.performance
    instructions = perf.instructions
    macs = result.firmware.project.macs
    data["device"] = {"name": result.device_name, "model": result.device_model, "info": result.device_info}
    data["performance"] = {
        "timing": "emulated (QEMU -icount: time counts instructions)" if perf.icount_shift is not None
        else "hardware",
        "latency_us": round(perf.latency_us, 3),
        "throughput_ips": round(perf.throughput_ips, 3),
        "cycles": round(perf.cycles_per_inference, 1),
        "instructions": instructions,
        "instructions_per_mac": round(instructions / macs, 3) if instructions is not None and macs else None,
        "timed_inferences": perf.timed_inferences,
        "windows": [{"iterations": w.iterations, "warmups": w.warmups, "elapsed_us": w.elapsed_us,
                     "cycles": w.cycles, "throughput_ips": round(w.throughput_ips, 3)} for w in perf.windows],
    }
    ver = result.verification
    data["verification"] = {
        "passed": ver.passed,
        "max_abs_diff": ver.max_abs_diff,
        "tolerance": ver.tolerance,
        "golden": "tflite-micro reference kernels (host)",
        "input_upload": result.input_upload,
        "samples": [{"input": c.label, "max_abs_diff": c.max_abs_diff, "mismatched_bytes": c.mismatched,
                     "results_match": c.results_ok} for c in ver.checks],
    }
    if result.profile is not None:
        data["profile"] = result.profile.to_json()
    data["serial_log"] = str(result.serial_log) if result.serial_log else None
    return data


def _fmt_bytes(n: int, total: Optional[int] = None) -> str:
    text = f"{n:,} B"
    return f"{text} ({100.0 * n / total:.1f}% of {total:,})" if total else text


def table_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("board", f"{data['board']}" + (" (emulated)" if data["emulated"] else "")),
        ("model", f"{data['model']} ({data['benchmark_id']}{', reference file' if data['reference_model'] else ''})"),
        ("runtime", data["runtime"] + (f" ({data['runtime_reason']})" if data.get("runtime_reason") else "")),
        ("flash", _fmt_bytes(data["size"]["flash_bytes"], data["size"]["flash_region_bytes"])),
        ("RAM", _fmt_bytes(data["size"]["ram_bytes"], data["size"]["ram_region_bytes"])),
        ("activation arena", _fmt_bytes(data["size"]["activation_bytes"])),
        ("kernel scratch", _fmt_bytes(data["size"].get("scratch_bytes", 0))),
        ("build time", f"{data['build']['seconds']:.2f} s ({data['build']['compiled_objects']} objects)"),
    ]
    perf = data.get("performance")
    if perf:
        emulated = perf["instructions"] is not None
        unit = " (virtual)" if emulated else ""
        rows += [("latency", f"{perf['latency_us']:,.1f} us{unit}"),
                 ("throughput", f"{perf['throughput_ips']:,.2f} inf/s{unit}")]
        if emulated:
            rows.append(("instructions/inference", f"{perf['instructions']:,}" +
                         (f" ({perf['instructions_per_mac']} per MAC)" if perf["instructions_per_mac"] else "")))
        else:
            rows.append(("cycles/inference", f"{perf['cycles']:,.0f}"))
        rows.append(("timing", perf["timing"]))
        windows = perf["windows"]
        if windows:
            per = {w["iterations"] for w in windows}
            split = f"{len(windows)} windows of {per.pop()}" if len(per) == 1 else f"{len(windows)} windows"
            warm = sum(w["warmups"] for w in windows)
            rows.append(("timed inferences", f"{sum(w['iterations'] for w in windows)} ({split}"
                                             + (f", plus {warm} warm-up" if warm else "") + ")"))
    ver = data.get("verification")
    if ver:
        verdict = "PASSED" if ver["passed"] else "FAILED"
        rows.append(("verification", f"{verdict}: {len(ver['samples'])} inputs, max |diff| "
                                     f"{ver['max_abs_diff']} step(s) (tolerance {ver['tolerance']})"))
        if ver.get("input_upload"):
            rows.append(("inputs uploaded by", ver["input_upload"]))
    if data.get("serial_log"):
        rows.append(("serial log", data["serial_log"]))
    return rows
