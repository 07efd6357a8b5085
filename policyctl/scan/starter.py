"""The starter policy ``init`` writes: default deny, one template per risk category (SPEC §4).

| category    | entry                                                                 |
|-------------|-----------------------------------------------------------------------|
| read        | ``"<tool>": {}``                                                      |
| write       | ``limits: [{counter: "<tool>_rate", window: minute, max: 30, scope: grant}]`` |
| execute     | the same with ``max: 10``                                             |
| destructive | the tool name goes under ``hide``                                     |
| financial   | ``deny_if: [{conditions: [], on_deny: "Requires human approval."}]``  |
| other       | as write, and flagged for review                                      |

Confidence (docs/scan.md, "Confidence"): a tool classified with **low** confidence is flagged for
review (the YAML comments it, the summary lists it). A tool classified **read** without high
confidence whose classifier names a destructive or financial ``alternative`` gets that
alternative's template instead (hidden, or denied until approved) and is flagged: an unsure call
between read and destructive/financial is settled on the safer side.

Tools appear grouped by category (read, write, execute, other, financial; destructive ones under
``hide``), in server order within a group. Counter names are ``<tool>_rate``; a tool name that is not
plain (``/``, spaces, more than 100 characters) gets a readable, unique counter built from it plus a
short hash. A destructive tool literally named ``*`` cannot go under ``hide`` (``"*"`` there hides
every tool), so it gets the financial template's approval rule instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from policyctl.scan.risk import Risk
from policyctl.scan.snapshots import Snapshot, ToolInfo

WRITE_MAX = 30
EXECUTE_MAX = 10
APPROVAL = "Requires human approval."
BLOCKED = "Blocked by default. Requires approval."
GROUP_ORDER = ("read", "write", "execute", "other", "financial", "destructive")

_PLAIN = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


@dataclass(frozen=True)
class StarterEntry:
    tool: str
    risk: Risk
    placement: str  # "tools", "hide", or "omitted" (a name the dialect cannot list)
    review: bool = False
    note: str = ""
    # the tool's arguments as ``name (type[, required])``, required first (the Intercept form's comments)
    parameters: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        """The category whose template this entry got (``starter_category``)."""
        return starter_category(self.risk)


@dataclass(frozen=True)
class StarterPolicy:
    """The generated policy document plus, per tool, why it looks the way it does."""

    data: dict
    entries: tuple[StarterEntry, ...]
    server_name: str | None
    source: dict
    dialect: str = "policylayer"
    tool_count: int = 0

    @property
    def review(self) -> tuple[StarterEntry, ...]:
        """Entries a human should look at first, each with its ``note``."""
        return tuple(e for e in self.entries if e.review)


def counter_name(tool: str, taken: set[str]) -> str:
    """``<tool>_rate``, made safe and unique for odd or huge tool names."""
    if _PLAIN.fullmatch(tool):
        base = f"{tool}_rate"
    else:
        digest = hashlib.sha256(tool.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        readable = re.sub(r"[^A-Za-z0-9_.\-]+", "_", tool).strip("_")[:60] or "tool"
        base = f"{readable}_{digest}_rate"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def starter_category(risk: Risk) -> str:
    """The category whose template ``init`` writes: the classifier's, or the safer alternative."""
    if risk.category == "read" and risk.confidence != "high" and risk.alternative in ("destructive", "financial"):
        return risk.alternative
    return risk.category


def review_note(risk: Risk, category: str) -> str:
    if category != risk.category:
        return (f"read with {risk.confidence} confidence, but it could be {category}; "
                f"given the {category} template to be safe")
    if risk.category == "other":
        return "not classified; given the write template"
    if risk.confidence == "low":
        return "low confidence: " + "; ".join(risk.confidence_reasons)
    return ""


def parameter_summary(tool: ToolInfo) -> tuple[str, ...]:
    """Each argument of ``tool`` as ``name (type)`` or ``name (type, required)``: required ones
    first, then by name (the order Intercept's own scaffolds use)."""
    props = tool.input_schema.get("properties")
    if not isinstance(props, dict):
        return ()
    required = set(tool.required)
    out = []
    for name in sorted(props, key=lambda n: (n not in required, n)):
        spec = props[name]
        kind = spec.get("type") if isinstance(spec, dict) else None
        if isinstance(kind, list) and kind and all(isinstance(k, str) for k in kind):
            kind = "|".join(kind)
        if not isinstance(kind, str) or not kind:
            kind = "any"
        out.append(f"{name} ({kind}, required)" if name in required else f"{name} ({kind})")
    return tuple(out)


def ranked_tools(snapshot: Snapshot, risks: Mapping[str, Risk], group_order: tuple[str, ...],
                 tiebreak: Callable[[ToolInfo], Any]) -> list[tuple[ToolInfo, Risk, str, str]]:
    """``(tool, risk, category, review note)`` for each tool of ``snapshot``, in a starter policy's
    order: by starter category as ``group_order`` lists them, then by ``tiebreak``."""
    placed = {t.name: starter_category(risks[t.name]) for t in snapshot.tools}
    ranked = sorted(snapshot.tools, key=lambda t: (group_order.index(placed[t.name]), tiebreak(t)))
    return [(t, risks[t.name], placed[t.name], review_note(risks[t.name], placed[t.name])) for t in ranked]


def _limit(counter: str, maximum: int) -> dict:
    return {"counter": counter, "window": "minute", "max": maximum, "scope": "grant"}


def build_starter(snapshot: Snapshot, risks: Mapping[str, Risk]) -> StarterPolicy:
    """The SPEC §4 starter policy for ``snapshot`` given each tool's ``Risk``."""
    order = {t.name: i for i, t in enumerate(snapshot.tools)}
    tools: dict[str, dict] = {}
    hide: list[str] = []
    taken: set[str] = set()
    entries: list[StarterEntry] = []
    for tool, risk, category, note in ranked_tools(snapshot, risks, GROUP_ORDER, lambda t: order[t.name]):
        review = bool(note)
        if category == "read":
            tools[tool.name] = {}
            entries.append(StarterEntry(tool.name, risk, "tools", review, note))
        elif category in ("write", "other"):
            tools[tool.name] = {"limits": [_limit(counter_name(tool.name, taken), WRITE_MAX)]}
            entries.append(StarterEntry(tool.name, risk, "tools", review, note))
        elif category == "execute":
            tools[tool.name] = {"limits": [_limit(counter_name(tool.name, taken), EXECUTE_MAX)]}
            entries.append(StarterEntry(tool.name, risk, "tools", review, note))
        elif category == "financial":
            tools[tool.name] = {"deny_if": [{"conditions": [], "on_deny": APPROVAL}]}
            entries.append(StarterEntry(tool.name, risk, "tools", review, note))
        elif tool.name == "*":
            tools[tool.name] = {"deny_if": [{"conditions": [], "on_deny": BLOCKED}]}
            entries.append(StarterEntry(
                tool.name, risk, "tools", review=True,
                note='destructive, but a tool named "*" cannot be hidden by name; denied instead'))
        else:
            hide.append(tool.name)
            entries.append(StarterEntry(tool.name, risk, "hide", review, note))
    data: dict = {"version": "1", "default": "deny"}
    if hide:
        data["hide"] = hide
    data["tools"] = tools
    return StarterPolicy(data=data, entries=tuple(entries), server_name=snapshot.server_name,
                         source=dict(snapshot.source), tool_count=len(snapshot.tools))


def check_starter(starter: StarterPolicy) -> None:
    """Self-check: the document must load as a Policy (a failure here is a policyctl bug, exit 3)."""
    from policyctl.policy.dialects.policylayer.model import Policy

    Policy.from_data(starter.data)
