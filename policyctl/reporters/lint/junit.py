"""JUnit XML format, for CI systems that show test reports (GitLab, Jenkins, Azure, …).

One ``<testsuite>`` named ``policyctl lint`` inside ``<testsuites>``; one ``<testcase>`` per linted
file; one ``<failure>`` per finding at or above the fail level (so a file that fails the lint run is
a failed test, and one that only has findings below the fail level passes). Findings below the
fail level are listed in the test case's ``<system-out>``. No timestamps or host names: the same
input gives the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from policyctl.diagnostics import SEVERITY_RANK
from policyctl.reporters.lint import RenderOptions, printable

if TYPE_CHECKING:
    from policyctl.diagnostics import Diagnostic, LintReport

SUITE = "policyctl lint"


def _line(d: "Diagnostic") -> str:
    # printable(): XML 1.0 cannot carry most control characters even escaped
    return (f"{printable(d.path)}:{d.line}:{d.column}: {d.severity}[{printable(d.code)}] "
            f"{printable(d.message)}")


def render(report: "LintReport", options: RenderOptions) -> str:
    floor = SEVERITY_RANK[options.fail_level]
    cases: list[ET.Element] = []
    failed_cases = 0
    for f in report.files:
        case = ET.Element("testcase", {"classname": "policyctl.lint", "name": printable(f.path),
                                       "file": printable(f.path)})
        failing = [d for d in f.diagnostics if SEVERITY_RANK[d.severity] >= floor]
        below = [d for d in f.diagnostics if SEVERITY_RANK[d.severity] < floor]
        for d in failing:
            failure = ET.SubElement(case, "failure", {
                "type": f"{printable(d.code)} {printable(d.rule)}",
                "message": printable(d.message),
            })
            failure.text = _line(d)
        if below:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(_line(d) for d in below)
        failed_cases += bool(failing)
        cases.append(case)
    counts = {"tests": str(len(cases)), "failures": str(failed_cases), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    suite.extend(cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
