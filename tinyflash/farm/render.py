"""Markdown and a self-contained HTML page (inline CSS and SVG; no JavaScript, no network), rendered from
the nights' JSON only -- so re-rendering a report needs no hardware. The first lines say whether the
night regressed."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any, Optional, Sequence

from tinyflash.farm.outcome import Outcome
from tinyflash.farm.records import JobRecord, NightRecord
from tinyflash.farm.regressions import Analysis
from tinyflash.farm.svg import bar_chart, trend_chart
from tinyflash.report.atomic import write_text_atomic


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _flags(analysis: Analysis) -> dict[str, str]:
    flags: dict[str, str] = {}
    for f in analysis.improvements:
        flags[f.job_id] = "improvement"
    for f in analysis.regressions:
        flags[f.job_id] = "regression"
    return flags


def _outcome(job: JobRecord) -> str:
    return job.outcome.value + (f" ({job.stage.value})" if job.stage else "")


def _header_facts(night: NightRecord) -> list[tuple[str, str]]:
    p = night.provenance
    s = night.summary
    return [
        ("night", f"{night.night_id} (matrix {night.matrix}, {night.status.value})"),
        ("time", f"{night.started} to {night.finished or '-'}"),
        ("jobs", ", ".join(f"{s.get(k, 0)} {k}" for k in ("passed", "failed", "error", "timeout", "skipped"))
         + f" of {s.get('total', 0)}"),
        ("tinyflash", f"{p.get('tinyflash_version')} ({(p.get('tinyflash_git_sha') or 'no git')[:12]})"),
        ("host", f"{p.get('host')} ({p.get('platform')}, Python {p.get('python')})"),
        ("toolchain", str(p.get("toolchain"))), ("QEMU", str(p.get("qemu"))),
        ("runtimes", ", ".join(p.get("runtimes") or [])),
    ]


def _models(night: NightRecord) -> list[tuple[str, str, str]]:
    seen: dict[str, tuple[str, str, str]] = {}
    for job in night.jobs:
        r = job.result
        if r.get("model_sha256") and job.model not in seen:
            seen[job.model] = (job.model, r["model_sha256"], "reference" if r.get("reference_model") else "custom")
    return sorted(seen.values())


def _was(was_passing: Optional[bool]) -> str:
    return {True: "yes", False: "no", None: "new"}[was_passing]


def render_markdown(night: NightRecord, analysis: Analysis) -> str:
    verdict = analysis.verdict()
    word = "CLEAN" if analysis.clean else "REGRESSED"
    out = [f"# tinyflash farm: {word} - night {night.night_id}", "", f"**{verdict}**", ""]
    out += [f"- {k}: {v}" for k, v in _header_facts(night)]
    out += ["", f"Compared with: previous night {analysis.previous or '(none)'}; baseline: median of "
            f"{len(analysis.baseline)} night(s).", ""]
    if analysis.regressions:
        out += ["## Regressions", ""] + [f"- {f.describe()}" for f in analysis.regressions] + [""]
    if analysis.failures:
        out += ["## Failed jobs", "", "| job | outcome | stage | was passing | message |", "|---|---|---|---|---|"]
        for f in analysis.failures:
            out.append(f"| {f.job_id} | {f.outcome.value} | {f.stage.value if f.stage else '-'} | "
                       f"{_was(f.was_passing)} | {f.message[:160]} |")
        out.append("")
        for job in night.jobs:
            if job.did_not_pass and job.last_lines:
                out += [f"Last serial lines of {job.id} (unit {job.unit or '-'}):", "", "```",
                        *job.last_lines, "```", ""]
    if analysis.improvements:
        out += ["## Improvements", ""] + [f"- {f.describe()}" for f in analysis.improvements] + [""]
    out += ["## Jobs", "", "| job | unit | outcome | instructions/inf | latency (us) | flash (B) | RAM (B) | attempts "
            "| seconds |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for job in night.jobs:
        perf, size = job.performance, job.size
        out.append(f"| {job.id} | {job.unit or '-'} | {_outcome(job)} | {_num(perf.get('instructions'))} | "
                   f"{_num(perf.get('latency_us'), 1)} | {_num(size.get('flash_bytes'))} | "
                   f"{_num(size.get('ram_bytes'))} | {len(job.attempts)} | {job.seconds:.1f} |")
    skipped = [j for j in night.jobs if j.outcome is Outcome.SKIPPED]
    if skipped:
        out += ["", "Skipped: " + "; ".join(f"{j.id} ({j.message})" for j in skipped)]
    models = _models(night)
    if models:
        out += ["", "## Models", "", "| model | SHA-256 | |", "|---|---|---|"]
        out += [f"| {m} | `{sha}` | {kind} |" for m, sha, kind in models]
    return "\n".join(out) + "\n"


def _charts(night: NightRecord, analysis: Analysis) -> list[str]:
    flags = _flags(analysis)
    charts = []
    instr = [(j.id, float(j.performance["instructions"]), flags.get(j.id, "normal"))
             for j in night.jobs if j.performance.get("instructions") is not None]
    lat = [(j.id, float(j.performance["latency_us"]), flags.get(j.id, "normal"))
           for j in night.jobs if j.performance.get("instructions") is None
           and j.performance.get("latency_us") is not None]
    if instr:
        charts.append(bar_chart("Instructions per inference (icount-emulated boards)", instr))
    if lat:
        charts.append(bar_chart("Latency per inference (real boards)", lat, unit="us"))
    return [c for c in charts if c]


def _trends(night: NightRecord, analysis: Analysis, trend: Sequence[NightRecord]) -> list[str]:
    nights = [*trend, night]
    flags = _flags(analysis)
    out = []
    for job in night.jobs:
        perf = job.performance
        key, unit = ("instructions", "") if perf.get("instructions") is not None else ("latency_us", "us")
        points: list[tuple[str, Optional[float]]] = []
        for n in nights:
            match = n.job(job.id)
            value = match.performance.get(key) if match and match.outcome is Outcome.PASSED else None
            points.append((n.night_id, float(value) if value is not None else None))
        if sum(1 for _, v in points if v is not None) and len(points) > 1:
            label = "instructions" if key == "instructions" else "latency"
            chart = trend_chart(f"{job.id} {label}", points, unit=unit, highlight_last=flags.get(job.id))
            if chart:
                out.append(chart)
    return out


_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}
th{background:#f2f2f2}td.n{text-align:right}.clean{color:#2e8b57}.regressed{color:#c0392b}
.passed{background:#eaf6ee}.failed,.error,.timeout{background:#fbeaea}.skipped{background:#f4f4f4}
pre{background:#f6f6f6;padding:6px;font-size:12px;overflow-x:auto}.trends svg{margin:4px}"""


def render_html(night: NightRecord, analysis: Analysis, trend: Sequence[NightRecord] = ()) -> str:
    clean = analysis.clean
    word = "CLEAN" if clean else "REGRESSED"
    e = escape
    h = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         f"<title>tinyflash farm {e(night.night_id)}: {word}</title>", f"<style>{_CSS}</style></head><body>",
         f'<h1 class="{"clean" if clean else "regressed"}">tinyflash farm: {word} - night {e(night.night_id)}</h1>',
         f'<p class="{"clean" if clean else "regressed"}"><strong>{e(analysis.verdict())}</strong></p>', "<table>"]
    h += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _header_facts(night)]
    h.append(f"<tr><th>compared with</th><td>previous night {e(analysis.previous or '(none)')}; "
             f"baseline: median of {len(analysis.baseline)} night(s)</td></tr></table>")
    if analysis.regressions:
        h += ["<h2>Regressions</h2><ul>"] + [f"<li>{e(f.describe())}</li>" for f in analysis.regressions] + ["</ul>"]
    if analysis.failures:
        h.append("<h2>Failed jobs</h2><table><tr><th>job</th><th>outcome</th><th>stage</th><th>message</th></tr>")
        for f in analysis.failures:
            h.append(f"<tr class=\"{e(f.outcome.value)}\"><td>{e(f.job_id)}</td><td>{e(f.outcome.value)}</td>"
                     f"<td>{e(f.stage.value if f.stage else '-')}</td><td>{e(f.message)}</td></tr>")
        h.append("</table>")
        for job in night.jobs:
            if job.did_not_pass and job.last_lines:
                h.append(f"<p>Last serial lines of {e(job.id)} (unit {e(job.unit or '-')}):</p>"
                         f"<pre>{e(chr(10).join(job.last_lines))}</pre>")
    if analysis.improvements:
        h += ["<h2>Improvements</h2><ul>"] + [f"<li>{e(f.describe())}</li>" for f in analysis.improvements] + ["</ul>"]
    charts = _charts(night, analysis)
    if charts:
        h += ["<h2>Performance</h2>", *charts]
    trends = _trends(night, analysis, trend)
    if trends:
        h += [f"<h2>Trend over the last {len(trend) + 1} nights</h2>", '<div class="trends">', *trends, "</div>"]
    h.append("<h2>Jobs</h2><table><tr><th>job</th><th>unit</th><th>outcome</th><th>instructions/inf</th>"
             "<th>latency (us)</th><th>flash (B)</th><th>RAM (B)</th><th>attempts</th><th>seconds</th><th>message</th></tr>")
    for job in night.jobs:
        perf, size = job.performance, job.size
        first_line = job.message.splitlines()[0] if job.message else ""
        h.append(f"<tr class=\"{e(job.outcome.value)}\"><td>{e(job.id)}</td><td>{e(job.unit or '-')}</td>"
                 f"<td>{e(_outcome(job))}</td><td class=n>{_num(perf.get('instructions'))}</td>"
                 f"<td class=n>{_num(perf.get('latency_us'), 1)}</td><td class=n>{_num(size.get('flash_bytes'))}</td>"
                 f"<td class=n>{_num(size.get('ram_bytes'))}</td><td class=n>{len(job.attempts)}</td>"
                 f"<td class=n>{job.seconds:.1f}</td><td>{e(first_line)}</td></tr>")
    h.append("</table>")
    models = _models(night)
    if models:
        h.append("<h2>Models</h2><table><tr><th>model</th><th>SHA-256</th><th></th></tr>")
        h += [f"<tr><td>{e(m)}</td><td><code>{e(sha)}</code></td><td>{e(kind)}</td></tr>" for m, sha, kind in models]
        h.append("</table>")
    h.append("</body></html>")
    return "\n".join(h) + "\n"


def write_reports(out_dir: Path, night: NightRecord, analysis: Analysis,
                  trend: Sequence[NightRecord] = ()) -> dict[str, Path]:
    from tinyflash.farm.junit import write_junit

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html", "junit": out_dir / "junit.xml"}
    write_text_atomic(paths["markdown"], render_markdown(night, analysis))
    write_text_atomic(paths["html"], render_html(night, analysis, trend))
    write_junit(paths["junit"], night, analysis)
    return paths
