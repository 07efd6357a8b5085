"""``simulate --junit FILE``: JUnit XML with one test case per call that states an expectation.

One ``<testsuite>`` named ``policyctl simulate``; each case is named after the trace line, the tool
and the id, and fails with both decisions when the expectation does not hold. Argument values never
appear. No timestamps or host names: the same input gives the same bytes.
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


def render(trace_name: str, cases: Iterable[CallResult]) -> str:
    elements = []
    failed = 0
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
        elements.append(case)
    counts = {"tests": str(len(elements)), "failures": str(failed), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    suite.extend(elements)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
