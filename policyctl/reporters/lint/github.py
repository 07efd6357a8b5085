"""GitHub Actions format: one workflow command per finding, shown as an annotation on the file.

``::error file=samples/x.policy.json,line=3,col=7,title=PL101 invalid-regex::message``

GitHub decodes ``%25``, ``%0D`` and ``%0A`` in the message, and additionally ``%3A`` and ``%2C`` in
property values (``,`` separates properties and ``:`` ends them), so a hostile file name or message
cannot end the command early or inject a second one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from policyctl.reporters.lint import RenderOptions, printable

if TYPE_CHECKING:
    from policyctl.diagnostics import Diagnostic, LintReport

_LEVEL = {"error": "error", "warning": "warning"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def escape_data(text: str) -> str:
    """Escape a command's message (what follows ``::``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``file=``, ``title=``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(d: "Diagnostic") -> str:
    level = _LEVEL.get(d.severity, "warning")
    # The path stays as given except for characters that cannot be shown; the title names the rule
    # so the annotation list is readable without opening each one.
    props = ",".join((
        f"file={escape_property(printable(d.path))}",
        f"line={d.line}",
        f"col={d.column}",
        f"title={escape_property(printable(f'{d.code} {d.rule}'))}",
    ))
    # Line breaks survive (as %0A: GitHub shows multi-line annotations); other controls are made
    # visible so they cannot reach the log viewer raw.
    message = "\n".join(printable(part) for part in _LINE_BREAK.split(d.message))
    return f"::{level} {props}::{escape_data(message)}"


def render(report: "LintReport", options: RenderOptions) -> str:
    return "".join(command(d) + "\n" for d in report.diagnostics)
