"""``simulate --junit FILE``: JUnit XML with one test case per call that states an expectation.

One ``<testsuite>`` named ``policyctl simulate``; each case is named after the trace line, the tool
and the id, and fails with both decisions when the expectation does not hold. A line that states an
expectation but was skipped as invalid (``--skip-invalid``) is a case with an ``<error>``: its
expectation was never checked. Cases are in line order. Argument values never appear. No
timestamps or host names: the same input gives the same bytes.
"""

from __future__ import annotations

from typing import Iterable
from xml.etree import ElementTree as ET

from policyctl.reporters.lint import printable
from policyctl.reporters.simulate.text import expected_text
from policyctl.simulate.run import CallResult

SUITE = "policyctl simulate"


def describe(decision: object) -> str:
    d = decision  # Decision
    text = f"{d.decision} ({d.reason}"  # type: ignore[attr-defined]
    if d.rule is not None:  # type: ignore[attr-defined]
        text += f", rule {d.rule}"  # type: ignore[attr-defined]
    return text + ")"


def render(trace_name: str, cases: Iterable[CallResult], unchecked: Iterable[tuple[int, str]] = ()) -> str:
    """The report; ``unchecked`` holds ``(line, what is wrong)`` of skipped lines with an expectation."""
    elements: list[tuple[int, ET.Element]] = []
    failed = 0
    errors = 0
    for line, what in unchecked:
        errors += 1
        case = ET.Element("testcase", {"classname": printable(trace_name),
                                       "name": printable(f"line {line}: not checked"),
                                       "file": printable(trace_name), "line": str(line)})
        e = ET.SubElement(case, "error", {"type": "invalid-line", "message": printable(what)})
        e.text = printable(what)
        elements.append((line, case))
    for c in cases:
        name = f"line {c.line}: {c.tool}" + (f" (id {c.id})" if c.id is not None else "")
        case = ET.Element("testcase", {"classname": printable(trace_name), "name": printable(name),
                                       "file": printable(trace_name), "line": str(c.line)})
        if not c.ok:
            failed += 1
            f = ET.SubElement(case, "failure", {
                "type": "expectation",
                "message": printable(f"expected {expected_text(c.expect, c.expect_rule)}, got {describe(c.decision)}"),
            })
            lines = [f"{trace_name}:{c.line}: {c.tool}", f"expected: {expected_text(c.expect, c.expect_rule)}",
                     f"actual:   {describe(c.decision)}"]
            if c.decision.message:
                lines.append(f"message:  {c.decision.message}")
            f.text = "\n".join(printable(x) for x in lines)
        elements.append((c.line, case))
    elements.sort(key=lambda e: e[0])  # stable: both lists are already in line order
    counts = {"tests": str(len(elements)), "failures": str(failed), "errors": str(errors), "skipped": "0"}
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    suite.extend(case for _, case in elements)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
