"""Text format: one ``path:line:col: severity[CODE] message`` line per finding, then a summary.

The lines follow the compiler convention editors and CI log parsers already understand. Colour is
added with rich when (and only when) the options ask for it; without colour the same characters are
produced by plain string formatting, which keeps rich (tens of milliseconds of imports) off the
pre-commit path. A test proves both paths print identical text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from policyctl.reporters.lint import RenderOptions, plural, printable

if TYPE_CHECKING:
    from rich.console import Console

    from policyctl.diagnostics import Diagnostic, LintReport

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow"}


def summary(report: "LintReport") -> str:
    """``3 files checked: 1 error, 2 warnings`` (or ``: no problems``)."""
    head = f"{plural(len(report.files), 'file')} checked"
    errors, warnings = report.errors, report.warnings
    if not errors and not warnings:
        return f"{head}: no problems"
    return f"{head}: {plural(errors, 'error')}, {plural(warnings, 'warning')}"


def line(d: "Diagnostic") -> str:
    return (f"{printable(d.path)}:{d.line}:{d.column}: "
            f"{d.severity}[{printable(d.code)}] {printable(d.message)}")


def render(report: "LintReport", options: RenderOptions) -> str:
    if options.color:
        return render_rich(report, color=True)
    lines = [line(d) for d in report.diagnostics]
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def render_rich(report: "LintReport", *, color: bool) -> str:
    """The styled rendering (used when colour is on; tests compare it with the plain one)."""
    from rich.text import Text

    from policyctl.reporters.console import render as rich_render

    def draw(console: "Console") -> None:
        for d in report.diagnostics:
            # Text objects (not markup) so policy content like "[a-z]" is never parsed as style.
            t = Text()
            t.append(printable(d.path), style="bold")
            t.append(f":{d.line}:{d.column}: ")
            t.append(d.severity, style=_SEVERITY_STYLE.get(d.severity, ""))
            t.append("[")
            t.append(printable(d.code), style="cyan")
            t.append("] ")
            t.append(printable(d.message))
            # soft_wrap: a finding is one line whatever the width (log parsers split on lines)
            console.print(t, soft_wrap=True)
        style = "bold red" if report.errors else ("yellow" if report.warnings else "green")
        console.print(Text(summary(report), style=style), soft_wrap=True)

    return rich_render(draw, color=color)
