"""``scan --format text``: one rich table row per tool (category, severity, confidence, signals, rationale).

Severity is coloured on a terminal (critical red, high yellow); every piece of server-provided text
is made printable and escaped before rich sees it, since tool names and descriptions are hostile.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Mapping

from policyctl.reporters.console import escape
from policyctl.reporters.console import render as rich_render
from policyctl.reporters.lint import plural, printable

if TYPE_CHECKING:
    from rich.console import Console

    from policyctl.scan.risk import Risk
    from policyctl.scan.snapshots import Snapshot

SEVERITY_STYLE = {"critical": "bold red", "high": "yellow", "medium": "cyan", "low": "green"}
ORDER = ("read", "write", "execute", "destructive", "financial", "other")
NAME_WIDTH = 48


def _cell(text: object, limit: int | None = None) -> str:
    s = printable(text)
    if limit and len(s) > limit:
        s = s[: limit - 1] + "…"
    return escape(s)


def heading(snapshot: "Snapshot") -> str:
    """``sncro 1.2 · catalog … · protocol 2025-11-25 · 11 tools`` (plain text)."""
    src = snapshot.source
    kind = src.get("kind", "file")
    if kind == "stdio" and src.get("command"):
        where = "stdio: " + " ".join(str(a) for a in src["command"])
    elif kind == "url":
        where = f"url: {src.get('url')}"
    elif kind == "catalog":
        where = f"catalog: {src.get('upstream') or src.get('url')}"
    else:
        where = f"file: {src.get('upstream')}"
    name = snapshot.server_name or "(unnamed server)"
    if snapshot.server_version:
        name += f" {snapshot.server_version}"
    parts = [name, where]
    if snapshot.protocol_version:
        parts.append(f"protocol {snapshot.protocol_version}")
    parts.append(plural(len(snapshot.tools), "tool"))
    return printable(" · ".join(parts))


def _confidence(risk: "Risk") -> str:
    """``high``, or ``low`` / ``medium`` with the first reason and a safer alternative when named."""
    if risk.confidence == "high":
        return "high"
    text = risk.confidence
    if risk.alternative:
        text += f" (could be {risk.alternative})"
    return text


def summary(risks: Mapping[str, "Risk"]) -> str:
    counts = Counter(r.category for r in risks.values())
    flagged = sum(1 for r in risks.values() if r.signals)
    parts = [f"{c} {counts.get(c, 0)}" for c in ORDER]
    return " · ".join(parts) + f"  ({flagged} with signals)"


def unsure(risks: Mapping[str, "Risk"]) -> str | None:
    """A line naming the low-confidence tools (None when there are none)."""
    names = [name for name, r in risks.items() if r.confidence == "low"]
    if not names:
        return None
    shown = ", ".join(printable(n)[:40] for n in names[:8]) + (", …" if len(names) > 8 else "")
    return f"low confidence, review: {plural(len(names), 'tool')} ({shown})"


def render(snapshot: "Snapshot", risks: Mapping[str, "Risk"], *, color: bool = False) -> str:
    def draw(console: "Console") -> None:
        from rich import box
        from rich.table import Table

        console.print(escape(heading(snapshot)), highlight=False)
        if not snapshot.tools:
            console.print("the server lists no tools")
            return
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
        table.add_column("Tool", overflow="fold", max_width=NAME_WIDTH)
        table.add_column("Category", no_wrap=True)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Confidence", no_wrap=True)
        table.add_column("Signals", overflow="fold")
        table.add_column("Rationale", overflow="fold", ratio=1)
        for tool in snapshot.tools:
            risk = risks[tool.name]
            style = SEVERITY_STYLE.get(risk.severity, "")
            table.add_row(
                _cell(tool.name, 200),
                risk.category,
                f"[{style}]{risk.severity}[/]" if style else risk.severity,
                _confidence(risk),
                ", ".join(risk.signals) or "-",
                _cell(risk.rationale, 300),
            )
        console.print(table)
        console.print(summary(risks), highlight=False)
        line = unsure(risks)
        if line:
            console.print(escape(line), highlight=False)

    return rich_render(draw, color=color)
