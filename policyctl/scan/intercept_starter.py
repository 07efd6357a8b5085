"""The starter policy ``init --dialect intercept`` writes: the PolicyLayer starter's templates, in
Intercept v1.1.0's YAML dialect (docs/intercept.md, docs/scan.md "The starter policy").

| category    | entry                                                                   |
|-------------|-------------------------------------------------------------------------|
| read        | ``rules: []`` (listed, so ``default: deny`` lets it through)            |
| write       | ``rules: [{name: "starter rate limit", rate_limit: "30/minute"}]``      |
| execute     | the same with ``"10/minute"``                                           |
| destructive | the tool name goes under ``hide``                                       |
| financial   | ``rules: [{name: "requires approval", action: deny, on_deny: "Requires human approval."}]`` |
| other       | as write, and flagged for review                                        |

The numbers are the PolicyLayer starter's (:data:`policyctl.scan.starter.WRITE_MAX` and
``EXECUTE_MAX``); confidence and the safer-side choice are decided exactly as there
(:func:`policyctl.scan.starter.starter_category`). Tools appear grouped in the order of Intercept's
own scaffolds (read, write, execute, financial, other), sorted by name within a group.

Names Intercept v1.1.0 cannot treat like the others, each flagged for review:

- a tool literally named ``*`` is not listed at all: under ``tools`` that key holds the rules for
  every call, and under ``hide`` it hides every tool. ``default: deny`` refuses it as it is.
- a tool whose name contains ``.`` gets no ``rate_limit``: the shorthand becomes a condition on
  ``state.<tool>._rate_<window>``, and ``intercept validate`` reads the tool's name in that path only
  up to its first dot, so it would report "no matching state block found". Such a write or execute
  tool is listed without a limit.
- a destructive tool whose name is blank (only spaces) cannot go under ``hide`` (``entry must not
  be empty``); it gets an unconditional ``deny`` rule instead.
- a write or execute tool named ``_global`` gets its limit, but that counter is the one the ``"*"``
  rules keep (``state._global.…``), so it is flagged.
"""

from __future__ import annotations

from typing import Any, Mapping

from policyctl.policy.dialects.intercept.model import GLOBAL_SCOPE, WILDCARD
from policyctl.scan.risk import Risk
from policyctl.scan.snapshots import Snapshot
from policyctl.scan.starter import (
    APPROVAL,
    BLOCKED,
    EXECUTE_MAX,
    WRITE_MAX,
    StarterEntry,
    StarterPolicy,
    parameter_summary,
    ranked_tools,
)

#: the order of the category banners in Intercept's scaffolds (destructive tools go under ``hide``)
GROUP_ORDER = ("read", "write", "execute", "financial", "other", "destructive")
WINDOW = "minute"
RATE_RULE = "starter rate limit"
APPROVAL_RULE = "requires approval"
BLOCKED_RULE = "blocked"


def _rate_limit(maximum: int) -> list[dict]:
    return [{"name": RATE_RULE, "rate_limit": f"{maximum}/{WINDOW}"}]


def _deny(name: str, message: str) -> list[dict]:
    return [{"name": name, "action": "deny", "on_deny": message}]


def _order_key(name: str) -> bytes:
    # Intercept's scaffolds sort with Go's string order: bytes of the UTF-8 text
    return name.encode("utf-8", "surrogatepass")


def _add_note(note: str, extra: str) -> str:
    return f"{note}; {extra}" if note else extra


def build_intercept_starter(snapshot: Snapshot, risks: Mapping[str, Risk]) -> StarterPolicy:
    """The starter policy for ``snapshot`` in Intercept's dialect, given each tool's ``Risk``."""
    tools: dict[str, dict] = {}
    hide: list[str] = []
    entries: list[StarterEntry] = []
    for tool, risk, category, note in ranked_tools(snapshot, risks, GROUP_ORDER, lambda t: _order_key(t.name)):
        params = parameter_summary(tool)
        name = tool.name

        def add(placement: str, rules: list[dict] | None, note: str, name: str = name, risk: Any = risk,
                params: Any = params) -> None:
            if rules is not None:
                tools[name] = {"rules": rules}
            entries.append(StarterEntry(name, risk, placement, bool(note), note, params))

        if name == WILDCARD:
            add("omitted", None, _add_note(note, f'{category}, but a tool named "*" cannot be listed (Intercept '
                                                 'reads "*" as the rules for every tool); left out, so default: '
                                                 "deny refuses it"))
        elif category == "read":
            add("tools", [], note)
        elif category in ("write", "other", "execute"):
            maximum = EXECUTE_MAX if category == "execute" else WRITE_MAX
            if "." in name:
                add("tools", [], _add_note(note, f"{category}, but Intercept 1.1.0 cannot rate-limit a tool whose "
                                                 'name contains "." (its validator reads state.<tool>.<counter> '
                                                 "only up to the first dot); listed without a limit"))
            elif name == GLOBAL_SCOPE:
                add("tools", _rate_limit(maximum),
                    _add_note(note, 'its counters share the state._global scope of the "*" rules'))
            else:
                add("tools", _rate_limit(maximum), note)
        elif category == "financial":
            add("tools", _deny(APPROVAL_RULE, APPROVAL), note)
        elif not name.strip():
            add("tools", _deny(BLOCKED_RULE, BLOCKED),
                _add_note(note, "destructive, but a blank name cannot go under hide; denied instead"))
        else:
            hide.append(name)
            add("hide", None, note)
    server = snapshot.server_name or "an unnamed MCP server"
    data: dict = {"version": "1", "description": f"Starter policy for {server}, written by policyctl init",
                  "default": "deny"}
    if hide:
        data["hide"] = hide
    data["tools"] = tools
    return StarterPolicy(data=data, entries=tuple(entries), server_name=snapshot.server_name,
                         source=dict(snapshot.source), dialect="intercept", tool_count=len(snapshot.tools))


def check_intercept_starter(starter: StarterPolicy) -> None:
    """Self-check: Intercept v1.1.0 must load and validate the document without a single error (a
    failure here is a policyctl bug, exit 3)."""
    from policyctl.policy.dialects.intercept.model import build
    from policyctl.policy.dialects.intercept.validate import validate

    cfg = build(starter.data)
    problems = [p.message for p in cfg.problems] + [e.message for e in validate(cfg)]
    if problems:
        raise RuntimeError("the Intercept starter policy is not valid: " + "; ".join(problems))
