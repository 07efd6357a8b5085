"""``init --dialect intercept``: the starter policy as Intercept YAML, laid out like Intercept's own
scaffolds (its ``policies/*.yaml``): a boxed header, ``description`` and ``default``, tools under
category banners at four-space indentation, a comment above each tool (category, rationale,
parameters), ``rules: []`` where no rule applies, and the commented-out ``"*"`` global rate limit.

Differences from the scaffolds, on purpose: ``default`` is ``"deny"`` and the category templates
of the starter policy are filled in; destructive tools are listed under ``hide`` (with their
comments) rather than under ``tools``; the header carries no generation time, so the same tool list
gives the same file; and the commented ``"*"`` block is indented like the tools, so removing the
``# `` of its lines gives valid YAML (the scaffolds' block, at two spaces, would not).

Strings are written with the PolicyLayer writer's quoting (:func:`policyctl.reporters.init.yaml.quote`):
double-quoted, so no tool name can become a number, a boolean, a comment or a second key, and
YAML's explicit ``? key`` form for names too long for an implicit key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from policyctl import __version__
from policyctl.reporters.init.yaml import MODELINE, comment, key_lines, origin, quote, schema_lines, why
from policyctl.reporters.lint import printable

if TYPE_CHECKING:
    from policyctl.scan.starter import StarterEntry, StarterPolicy

_INDENT = "    "
_WRAP = 76
_PARAM_LINES = 6
_RULE = "─" * 57
_BANNER_WIDTH = 62
_TITLES = {
    "read": "Read Tools: allowed",
    "write": "Write Tools: 30 calls a minute each",
    "execute": "Execute Tools: 10 calls a minute each",
    "financial": "Financial Tools: denied until a human approves",
    "other": "Other Tools: not classified, limited as write; REVIEW",
    "destructive": "Destructive Tools: hidden from the agent",
    "omitted": "Not listed: names Intercept cannot key a tool by; REVIEW",
}


def _line(text: str) -> str:
    """A one-line comment in the scaffolds' style (``#  text``), printable and bounded."""
    return comment(text, "#  ")


def _banner(title: str) -> str:
    head = f"#  ── {title} "
    return head + "─" * max(3, _BANNER_WIDTH - len(head))


def _parameter_lines(params: tuple[str, ...]) -> list[str]:
    """``parameters: a (string, required), b (number)``, wrapped at commas; at most a few lines."""
    shown = [" ".join(printable(p).split())[:120] for p in params]
    pieces = [item + ("," if i < len(shown) - 1 else "") for i, item in enumerate(shown)]
    rows: list[list[str]] = [[]]
    width = len("parameters:")
    for piece in pieces:
        if rows[-1] and width + 1 + len(piece) > _WRAP:
            rows.append([])
            width = 2
        rows[-1].append(piece)
        width += 1 + len(piece)
    if len(rows) > _PARAM_LINES:
        left = sum(len(r) for r in rows[_PARAM_LINES - 1:])
        rows = rows[: _PARAM_LINES - 1] + [[f"… and {left} more"]]
    return ["#  parameters: " + " ".join(rows[0])] + ["#    " + " ".join(r) for r in rows[1:]]


def _entry_comments(entry: "StarterEntry", indent: str) -> list[str]:
    out = [indent + _line(why(entry))]
    if entry.parameters:
        out += [indent + ln for ln in _parameter_lines(entry.parameters)]
    return out


def _rules(rules: list[dict], indent: str) -> list[str]:
    if not rules:
        return [f"{indent}rules: []"]
    out = [f"{indent}rules:"]
    for rule in rules:
        first = True
        for key, value in rule.items():
            head = f"{indent}{_INDENT}- " if first else f"{indent}{_INDENT}  "
            out.append(f"{head}{key}: {quote(value)}")
            first = False
    return out


def render(starter: "StarterPolicy", schema_link: str | None = None) -> str:
    """The Intercept YAML; ``schema_link`` (a URL or a path relative to the output) adds a modeline."""
    server = starter.server_name or "an unnamed MCP server"
    lines = [MODELINE + schema_link] if schema_link is not None else []
    lines += [
        "#  " + _RULE,
        _line(f"Policy: starter policy for {server}"),
        _line(f"Source: {origin(starter)}"),
        f"#  Tools: {starter.tool_count}",
        _line(f"Written by policyctl {__version__} init --dialect intercept, for Intercept v1.1.0."),
        "#",
        "#  Tools not listed under tools are denied (default: deny). Read every entry before use:",
        "#  the comment above each tool gives its risk category, why, and its parameters.",
    ]
    if schema_link is None:
        lines += schema_lines(None, "intercept", prefix="#  ")
    if starter.review:
        lines.append(_line(f"REVIEW: {len(starter.review)} tool(s) need a look: "
                           + ", ".join(e.tool for e in starter.review)))
    lines += ["#  " + _RULE, 'version: "1"', f"description: {quote(starter.data['description'])}",
              '#  "deny": calls to tools not listed under tools are refused ("allow" lets them through)',
              'default: "deny"']
    by_tool = {e.tool: e for e in starter.entries}
    hide = starter.data.get("hide", [])
    if hide:
        lines.append("hide:")
        lines.append(_INDENT + _banner(_TITLES["destructive"]))
        for name in hide:
            lines += _entry_comments(by_tool[name], _INDENT)
            lines.append(f"{_INDENT}- {quote(name)}")
    tools = starter.data["tools"]
    lines.append("tools:" if tools else "tools: {}")
    group = None
    for name, value in tools.items():
        entry = by_tool[name]
        if entry.category != group:
            group = entry.category
            title = _TITLES.get(group, group)
            if group == "destructive":  # only a blank name, which cannot go under hide
                title = "Destructive Tools: denied (a blank name cannot be hidden); REVIEW"
            lines.append(_INDENT + _banner(title))
        lines += _entry_comments(entry, _INDENT)
        lines += key_lines(quote(name), _INDENT)
        lines += _rules(value["rules"], _INDENT * 2)
    omitted = [e for e in starter.entries if e.placement == "omitted"]
    if omitted:
        lines.append(_INDENT + _banner(_TITLES["omitted"]))
        for entry in omitted:
            lines += _entry_comments(entry, _INDENT)
    if tools:
        lines += [
            "",
            _INDENT + "# To limit all calls together as well (each tool's own rules still apply),",
            _INDENT + '# remove "# " from the start of the next four lines:',
            _INDENT + '# "*":',
            _INDENT + "#     rules:",
            _INDENT + '#         - name: "global rate limit"',
            _INDENT + '#           rate_limit: "60/minute"',
        ]
    return "\n".join(lines) + "\n"
