"""JUnit XML for CI servers, rendered from the night's JSON: one testsuite per board, one testcase per job.

Jenkins, GitLab and GitHub test reporters read ``failure`` (verification failed, or a regression),
``error`` (error, timeout) and ``skipped``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Optional

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


def junit_xml(night: dict[str, Any], analysis: Optional[dict[str, Any]] = None) -> str:
    regressions: dict[str, list[str]] = {}
    for finding in (analysis or {}).get("regressions", []):
        regressions.setdefault(finding["job"], []).append(finding["text"])
    root = ET.Element("testsuites", name=f"tinyflash farm {night['matrix']} {night['night_id']}")
    boards: dict[str, list[dict[str, Any]]] = {}
    for job in night["jobs"]:
        boards.setdefault(job["board"], []).append(job)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for board, jobs in sorted(boards.items()):
        suite = ET.SubElement(root, "testsuite", name=f"{night['matrix']}.{board}", timestamp=night["started"])
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
        for job in jobs:
            name = job["id"].split("/", 1)[1]
            case = ET.SubElement(suite, "testcase", classname=f"tinyflash.{night['matrix']}.{board}", name=name,
                                 time=f"{job['seconds']:.3f}")
            counts["tests"] += 1
            counts["time"] += job["seconds"]
            outcome = job["outcome"]
            detail = (job.get("message") or "") + ("\n\nlast serial lines:\n" + "\n".join(job["last_lines"])
                                                   if job.get("last_lines") else "")
            head = (job.get("message") or outcome).split("\n")[0]
            if outcome == "failed":
                ET.SubElement(case, "failure", type="verification", message=head).text = detail
                counts["failures"] += 1
            elif outcome in ("error", "timeout"):
                ET.SubElement(case, "error", type=f"{outcome}:{job.get('stage')}", message=head).text = detail
                counts["errors"] += 1
            elif outcome == "skipped":
                ET.SubElement(case, "skipped", message=head)
                counts["skipped"] += 1
            elif job["id"] in regressions:
                texts = regressions[job["id"]]
                ET.SubElement(case, "failure", type="regression", message=texts[0]).text = "\n".join(texts)
                counts["failures"] += 1
            props = ET.SubElement(case, "properties")
            for key in ("unit", "outcome", "stage", "firmware"):
                ET.SubElement(props, "property", name=key, value=str(job.get(key)))
            if job.get("attempts"):
                ET.SubElement(case, "system-out").text = "\n".join(
                    f"attempt {a['number']}: {a['outcome']} ({a['seconds']} s) serial log {a['serial_log']}"
                    for a in job["attempts"])
        for key, value in counts.items():
            suite.set(key, f"{value:.3f}" if key == "time" else str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, f"{value:.3f}" if key == "time" else str(int(value)))
    _make_safe(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, night: dict[str, Any], analysis: Optional[dict[str, Any]] = None) -> Path:
    write_text_atomic(path, junit_xml(night, analysis))
    return path
