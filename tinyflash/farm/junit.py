"""JUnit XML for CI servers, rendered from the night's JSON: one testsuite per board, one testcase per job.

Jenkins, GitLab and GitHub test reporters read ``failure`` (verification failed, or a regression),
``error`` (error, timeout) and ``skipped``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional

from tinyflash.farm.outcome import Outcome
from tinyflash.farm.records import JobRecord, NightRecord
from tinyflash.farm.regressions import Analysis
from tinyflash.report.atomic import write_text_atomic

# What XML 1.0 forbids in a document (section 2.2): C0 controls but tab, LF, CR; lone surrogates; FFFE/FFFF.
# Serial lines and messages can hold any of them (a device printing garbage), and one makes the whole
# junit.xml unreadable to the CI server (#11.9): they are written as visible \xNN escapes instead.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _make_safe(root: ET.Element) -> None:
    for element in root.iter():
        if element.text:
            element.text = xml_safe(element.text)
        for key, value in element.attrib.items():
            element.set(key, xml_safe(value))


def junit_xml(night: NightRecord, analysis: Optional[Analysis] = None) -> str:
    regressions: dict[str, list[str]] = {}
    for finding in (analysis.regressions if analysis else ()):
        regressions.setdefault(finding.job_id, []).append(finding.describe())
    root = ET.Element("testsuites", name=f"tinyflash farm {night.matrix} {night.night_id}")
    boards: dict[str, list[JobRecord]] = {}
    for job in night.jobs:
        boards.setdefault(job.board, []).append(job)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for board, jobs in sorted(boards.items()):
        suite = ET.SubElement(root, "testsuite", name=f"{night.matrix}.{board}", timestamp=night.started)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
        for job in jobs:
            name = job.id.split("/", 1)[1]
            case = ET.SubElement(suite, "testcase", classname=f"tinyflash.{night.matrix}.{board}", name=name,
                                 time=f"{job.seconds:.3f}")
            counts["tests"] += 1
            counts["time"] += job.seconds
            outcome = job.outcome
            detail = job.message + ("\n\nlast serial lines:\n" + "\n".join(job.last_lines) if job.last_lines else "")
            head = (job.message or outcome.value).split("\n")[0]
            if outcome is Outcome.FAILED:
                ET.SubElement(case, "failure", type="verification", message=head).text = detail
                counts["failures"] += 1
            elif outcome in (Outcome.ERROR, Outcome.TIMEOUT):
                stage = job.stage.value if job.stage else None
                ET.SubElement(case, "error", type=f"{outcome.value}:{stage}", message=head).text = detail
                counts["errors"] += 1
            elif outcome is Outcome.SKIPPED:
                ET.SubElement(case, "skipped", message=head)
                counts["skipped"] += 1
            elif job.id in regressions:
                texts = regressions[job.id]
                ET.SubElement(case, "failure", type="regression", message=texts[0]).text = "\n".join(texts)
                counts["failures"] += 1
            props = ET.SubElement(case, "properties")
            for prop, text in (("unit", job.unit), ("outcome", outcome.value),
                               ("stage", job.stage.value if job.stage else None), ("firmware", job.firmware)):
                ET.SubElement(props, "property", name=prop, value=str(text))
            if job.attempts:
                ET.SubElement(case, "system-out").text = "\n".join(
                    f"attempt {a.number}: {a.outcome.value} ({a.seconds} s) serial log {a.serial_log}"
                    for a in job.attempts)
        for key, value in counts.items():
            suite.set(key, f"{value:.3f}" if key == "time" else str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, f"{value:.3f}" if key == "time" else str(int(value)))
    _make_safe(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, night: NightRecord, analysis: Optional[Analysis] = None) -> Path:
    write_text_atomic(path, junit_xml(night, analysis))
    return path
