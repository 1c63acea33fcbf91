"""Regressions, history, JUnit, Markdown and HTML: all computed from nights' JSON (synthetic here)."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Optional

import pytest

from tinyflash.farm.errors import HistoryError
from tinyflash.farm.history import History
from tinyflash.farm.junit import junit_xml, write_junit
from tinyflash.farm.records import NightRecord
from tinyflash.farm.regressions import Analysis, Direction, Finding, Metric, analyse
from tinyflash.farm.render import render_html, render_markdown
from tinyflash.farm.reporting import report_from_history, report_night


def job(board: str, model: str = "ad", *, outcome: str = "passed", instructions: Optional[int] = 596_014,
        latency: float = 596.0, flash: int = 282_740, ram: int = 22_928, optimization: str = "-O2") -> dict[str, Any]:
    perf = {"instructions": instructions, "latency_us": latency}
    return {"id": f"{board}/{model}/aot", "board": board, "model": model, "runtime": "aot", "variant": "default",
            "build_options": {"optimization": optimization, "kernels": "auto", "defines": []},
            "outcome": outcome, "stage": {"failed": "verify", "error": "flash", "timeout": "run"}.get(outcome),
            "message": "" if outcome == "passed" else f"it went {outcome}\nmore", "unit": f"{board}.0",
            "seconds": 3.0, "attempts": [{"number": 1, "outcome": outcome, "seconds": 3.0, "serial_log": "s.log"}],
            "last_lines": [] if outcome == "passed" else ["m-infer-start-1", "m-lap-us-1"],
            "result": {"size": {"flash_bytes": flash, "ram_bytes": ram}, "model_sha256": "ab" * 32,
                       "reference_model": True, "performance": perf}}


def make_night(night_id: str, jobs: list[dict[str, Any]], status: str = "finished") -> dict[str, Any]:
    return {"format": "tinyflash-night", "night_id": night_id, "matrix": "nightly", "status": status,
            "started": f"2026-05-{int(night_id[-2:]):02d}T03:00:00Z", "finished": None,
            "provenance": {"tinyflash_version": "0.1.0", "host": "ci"}, "thresholds": {
                "latency_noise_percent": 5.0, "board_noise_percent": {"stm32h7": 2.0}, "size_growth_bytes": 0,
                "baseline_nights": 5},
            "jobs": jobs, "summary": {"total": len(jobs), "passed": sum(j["outcome"] == "passed" for j in jobs)}}


def analyse_json(night: dict[str, Any], earlier: list[dict[str, Any]]) -> Analysis:
    """The analysis of nights given as JSON, parsed into records as the report writers read them."""
    return analyse(NightRecord.from_json(night), [NightRecord.from_json(n) for n in earlier])


BASE = [job("mps2-an386"), job("mps2-an500", instructions=598_462),
        job("stm32h7", instructions=None, latency=1000.0)]


def test_identical_nights_are_clean() -> None:
    a = analyse_json(make_night("n01", copy.deepcopy(BASE)), [make_night("n00", copy.deepcopy(BASE))])
    assert a.clean and not a.regressions and not a.improvements and a.previous == "n00"
    assert a.verdict().startswith("CLEAN")


def test_instruction_changes_are_exact_and_improvements_apart() -> None:
    now = copy.deepcopy(BASE)
    now[0]["result"]["performance"]["instructions"] += 1                   # slower by one instruction
    now[1]["result"]["performance"]["instructions"] -= 10                  # faster
    now[1]["build_options"]["optimization"] = "-O3"
    a = analyse_json(make_night("n01", now), [make_night("n00", copy.deepcopy(BASE))])
    assert [(f.job_id, f.metric, f.direction) for f in a.regressions] == [
        ("mps2-an386/ad/aot", Metric.INSTRUCTIONS, Direction.REGRESSION)]
    assert [(f.job_id, f.metric) for f in a.improvements] == [("mps2-an500/ad/aot", Metric.INSTRUCTIONS)]
    assert "optimization -O2 -> -O3" in a.improvements[0].describe()
    assert a.regressed_jobs == ["mps2-an386/ad/aot"]
    assert a.verdict().startswith("REGRESSED: 1 job(s) regressed (mps2-an386/ad/aot)")


@pytest.mark.parametrize("latency, flagged", [(1019.0, False), (1021.0, True), (975.0, True), (985.0, False)])
def test_real_board_latency_uses_the_board_noise_band(latency: float, flagged: bool) -> None:
    now = copy.deepcopy(BASE)
    now[2]["result"]["performance"]["latency_us"] = latency
    a = analyse_json(make_night("n01", now), [make_night("n00", copy.deepcopy(BASE))])
    findings = [f for f in (*a.regressions, *a.improvements) if f.metric is Metric.LATENCY]
    assert bool(findings) == flagged
    if flagged:
        assert findings[0].direction is (Direction.REGRESSION if latency > 1000 else Direction.IMPROVEMENT)


def test_flash_and_ram_growth_and_failures() -> None:
    now = copy.deepcopy(BASE)
    now[0]["result"]["size"]["flash_bytes"] += 4
    now[0]["result"]["size"]["ram_bytes"] += 8
    now[1] = job("mps2-an500", outcome="failed")
    now[2] = job("stm32h7", outcome="timeout", instructions=None)
    a = analyse_json(make_night("n01", now), [make_night("n00", copy.deepcopy(BASE))])
    assert {(f.job_id, f.metric) for f in a.regressions} == {("mps2-an386/ad/aot", Metric.FLASH),
                                                              ("mps2-an386/ad/aot", Metric.RAM)}
    assert {f.job_id: (f.outcome, f.was_passing) for f in a.failures} == {
        "mps2-an500/ad/aot": ("failed", True), "stm32h7/ad/aot": ("timeout", True)}
    assert a.regressed_jobs == ["mps2-an386/ad/aot", "mps2-an500/ad/aot"]
    assert "1 job(s) did not complete (stm32h7/ad/aot)" in a.verdict()


def test_rolling_baseline_keeps_a_lasting_regression_visible() -> None:
    slow = copy.deepcopy(BASE)
    slow[0]["result"]["performance"]["instructions"] = 700_000
    earlier = [make_night(f"n0{k}", copy.deepcopy(BASE)) for k in range(3)] + [make_night("n03", slow)]
    a = analyse_json(make_night("n04", copy.deepcopy(slow)), earlier)     # same as the previous night ...
    assert [(f.job_id, f.reference) for f in a.regressions] == [
        ("mps2-an386/ad/aot", "baseline (median of 4 nights)")]     # ... but not as the baseline


def _profiled(night_jobs: list[dict[str, Any]], layers: list[tuple[int, str, Optional[int]]]) -> None:
    """Gives the first job a profile (node, op, instructions per inference) and profile: true."""
    night_jobs[0]["build_options"]["profile"] = True
    night_jobs[0]["result"]["profile"] = {"layers": [
        {"node": n, "op": op, "output": [1, 8], "macs": 1000, "cycles": float(i or 0), "instructions": i}
        for n, op, i in layers]}


def test_a_profiled_regression_names_the_layers_that_grew() -> None:
    layers = [(0, "FULLY_CONNECTED", 20_000), (1, "FULLY_CONNECTED", 80_000), (2, "RESHAPE", 300),
              (3, "FULLY_CONNECTED", 40_000), (4, "SOFTMAX", 5_000)]
    before, now = copy.deepcopy(BASE), copy.deepcopy(BASE)
    _profiled(before, layers)
    _profiled(now, [(0, "FULLY_CONNECTED", 20_000), (1, "FULLY_CONNECTED", 80_500), (2, "RESHAPE", 200),
                    (3, "FULLY_CONNECTED", 52_000), (4, "SOFTMAX", 5_000)])
    now[0]["result"]["performance"]["instructions"] += 12_400
    a = analyse_json(make_night("n01", now), [make_night("n00", before)])
    (finding,) = a.regressions
    # biggest change first; unchanged layers left out
    assert finding.note == ("most changed layers: node 3 FULLY_CONNECTED +12,000 instr (+30.0%), "
                            "node 1 FULLY_CONNECTED +500 instr (+0.6%), node 2 RESHAPE -100 instr (-33.3%)")
    assert "most changed layers: node 3" in render_markdown(NightRecord.from_json(make_night("n01", now)), a)

    # another graph (a changed model) or an unprofiled night: no layer is named; and a night stored before
    # build_options had 'profile' does not read as an options change against profile: false
    other = copy.deepcopy(now)
    other[0]["result"]["profile"]["layers"][2]["op"] = "QUANTIZE"
    assert analyse_json(make_night("n01", other), [make_night("n00", before)]).regressions[0].note == ""
    plain = copy.deepcopy(BASE)
    plain[0]["result"]["performance"]["instructions"] += 12_400
    plain[0]["build_options"]["profile"] = False
    del before[0]["build_options"]["profile"], before[0]["result"]["profile"]
    assert analyse_json(make_night("n01", plain), [make_night("n00", before)]).regressions[0].note == ""


def test_history_orders_nights_and_renders_from_json(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite")
    with pytest.raises(HistoryError, match="no history database"):
        history.get()
    for k in range(3):
        history.add(make_night(f"n0{k}", copy.deepcopy(BASE)))
    history.add(make_night("n03", copy.deepcopy(BASE), status="interrupted"))
    assert history.night_ids() == ["n00", "n01", "n02", "n03"]
    assert [n["night_id"] for n in history.before(make_night("n04", []), 2)] == ["n01", "n02"]
    assert history.get()["night_id"] == "n03"
    with pytest.raises(HistoryError, match="no night 'nope'"):
        history.get("nope")
    now = copy.deepcopy(BASE)
    now[1]["result"]["performance"]["instructions"] = 5_065_144
    report = report_night(make_night("n05", now), history, tmp_path / "n05", store=True)
    assert report.analysis.regressed_jobs == ["mps2-an500/ad/aot"]
    assert history.get()["analysis"]["regressed_jobs"] == ["mps2-an500/ad/aot"]
    again = report_from_history(history, tmp_path / "again")
    assert again.analysis.to_dict() == report.analysis.to_dict()
    md = (tmp_path / "again" / "report.md").read_text().splitlines()
    assert md[0].startswith("# tinyflash farm: REGRESSED") and md[2].startswith("**REGRESSED")


def test_junit_has_one_case_per_job_with_failures_errors_and_regressions() -> None:
    jobs = copy.deepcopy(BASE) + [job("mps2-an547", outcome="failed"), job("netduinoplus2", outcome="timeout"),
                                  dict(job("mps3-an547"), outcome="skipped", message="quarantined: x")]
    night = make_night("n01", jobs)
    analysis = Analysis("n01", "n00", ("n00",), regressions=(Finding(
        "mps2-an386/ad/aot", Metric.INSTRUCTIONS, Direction.REGRESSION, 596_014, 600_000, "previous night n00"),))
    root = ET.fromstring(junit_xml(NightRecord.from_json(night), analysis))
    assert root.get("tests") == "6" and root.get("failures") == "2" and root.get("errors") == "1"
    assert root.get("skipped") == "1"
    cases = {c.get("classname") + ":" + c.get("name"): c for c in root.iter("testcase")}
    assert cases["tinyflash.nightly.mps2-an386:ad/aot"].find("failure").get("type") == "regression"
    assert cases["tinyflash.nightly.netduinoplus2:ad/aot"].find("error").get("type") == "timeout:run"
    assert "m-lap-us-1" in cases["tinyflash.nightly.mps2-an547:ad/aot"].find("failure").text


def test_html_is_self_contained_with_plots() -> None:
    nights = [make_night(f"n0{k}", copy.deepcopy(BASE)) for k in range(3)]
    now = copy.deepcopy(BASE)
    now[0]["result"]["performance"]["instructions"] = 600_000
    now.append(job("netduinoplus2", outcome="error"))
    night = make_night("n03", now)
    analysis = analyse_json(night, nights)
    page = render_html(NightRecord.from_json(night), analysis, [NightRecord.from_json(n) for n in nights])
    assert "<script" not in page and not re.search(r"(src|href)=\"https?:", page)
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(svgs) >= 3                    # instructions bars, latency bars, trends
    for svg in svgs:
        ET.fromstring(svg)                   # well-formed
    assert "Instructions per inference" in page and "Latency per inference" in page and "Trend" in page
    assert "REGRESSED" in page.split("</h1>")[0]
    md = render_markdown(NightRecord.from_json(night), analysis)
    assert md.splitlines()[0] == "# tinyflash farm: REGRESSED - night n03"
    assert "m-lap-us-1" in md


def test_junit_stays_valid_xml_when_messages_hold_control_characters(tmp_path: Path) -> None:
    """#11.9: a device printing garbage (ANSI colours, NUL, BEL) made junit.xml unreadable."""
    bad = dict(job("mps2-an386", outcome="error"), message="flash failed: \x1b[31mred\x00 \ud800 end\nmore",
               last_lines=["m-ready\x07", "\x01\x02garbage\x7f", "tab\tok"], unit="q\x0b.0")
    path = write_junit(tmp_path / "junit.xml", NightRecord.from_json(make_night("n01", [bad])))
    root = ET.parse(path).getroot()                       # raised ParseError before
    error = root.find("testsuite/testcase/error")
    assert error is not None
    assert error.get("message") == "flash failed: \\x1b[31mred\\x00 \\xd800 end"
    assert "m-ready\\x07" in error.text and "\\x01\\x02garbage\x7f" in error.text and "tab\tok" in error.text
    assert root.find("testsuite/testcase/properties/property[@name='unit']").get("value") == "q\\x0b.0"
