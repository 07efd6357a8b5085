"""``init --format yaml``: the starter policy as commented YAML.

Written by hand rather than by a YAML library, because each tool gets a comment (its category,
severity and rationale). A ``yaml-language-server`` schema line comes first only when ``init`` was
given a link that resolves (``--schema-url``, ``--write-schema``); otherwise the header says how to
add one. Every string is a double-quoted scalar (JSON-compatible escapes, and escapes for the
characters a YAML reader refuses), so no tool name can turn into a number, a boolean, a comment or
a second key; names too long for an implicit key use the explicit ``? key`` form. Comments are
made printable and single-line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policyctl import __version__
from policyctl.reporters.lint import printable

if TYPE_CHECKING:
    from policyctl.scan.starter import StarterEntry, StarterPolicy

# YAML's implicit keys are limited to 1024 characters; stay well inside.
_IMPLICIT_KEY_MAX = 500
_COMMENT_MAX = 240
# Policy keys are written bare (they are plain words); tool names are always quoted.
_BARE_KEYS = frozenset({"limits", "counter", "window", "max", "scope", "deny_if", "require", "conditions",
                        "on_deny", "path", "op", "value"})
_GROUP_TITLES = {
    "read": "read (low): allowed",
    "write": "write (medium): allowed, 30 calls a minute per grant",
    "execute": "execute (high): allowed, 10 calls a minute per grant",
    "other": "other (medium): not classified, treated as write; REVIEW",
    "financial": "financial (critical): denied until a human approves",
    "destructive": "destructive (critical): hidden from the agent",
}


def quote(text: str) -> str:
    """A YAML double-quoted scalar for ``text`` (readable by any YAML 1.1 or 1.2 parser)."""
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif (o < 0x20 or 0x7F <= o <= 0x9F or o in (0x061C, 0x2028, 0x2029, 0x2060, 0xFEFF, 0xFFFE, 0xFFFF)
              or 0xD800 <= o <= 0xDFFF or 0x200B <= o <= 0x200F or 0x202A <= o <= 0x202E
              or 0x2066 <= o <= 0x2069):
            # controls, bidi overrides and marks that would reorder the file as an editor shows it,
            # and invisible characters (what printable() escapes)
            out.append(f"\\u{o:04x}")
        elif 0xE0000 <= o <= 0xE007F:  # tag characters: invisible text
            out.append(f"\\U{o:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def comment(text: str, prefix: str = "# ") -> str:
    """A one-line comment: ``text`` made printable, on one line, bounded, after ``prefix``."""
    line = " ".join(printable(text).split())
    if len(line) > _COMMENT_MAX:
        line = line[: _COMMENT_MAX - 1] + "…"
    return prefix + line if line else "#"


def key_lines(key: str, indent: str) -> list[str]:
    """``key:`` at ``indent`` (a quoted or bare key) — or ``? key`` then ``:`` for a key too long
    for YAML's implicit form (1024 characters at most)."""
    if len(key) > _IMPLICIT_KEY_MAX:
        return [f"{indent}? {key}", f"{indent}:"]
    return [f"{indent}{key}:"]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"unexpected value {value!r}")


def _key(key: str) -> str:
    return key if key in _BARE_KEYS else quote(key)


def _block(value: Any, indent: int) -> list[str]:
    """Lines for a mapping/list value placed under a key, at ``indent`` spaces."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            lines.extend(_entry(_key(key), item, indent))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                first = True
                for key, sub in item.items():
                    head = f"{pad}- " if first else f"{pad}  "
                    for i, line in enumerate(_entry(_key(key), sub, indent + 2)):
                        lines.append(head + line[indent + 2:] if i == 0 else line)
                    first = False
            else:
                lines.append(f"{pad}- {_inline(item)}")
    return lines


def _inline(value: Any) -> str:
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    return _scalar(value)


def _entry(key: str, value: Any, indent: int) -> list[str]:
    lines = key_lines(key, " " * indent)
    if isinstance(value, (dict, list)) and value:
        return lines + _block(value, indent + 2)
    lines[-1] += " " + _inline(value)
    return lines


def why(entry: "StarterEntry") -> str:
    """One line: the tool, its category and severity, the rationale, signals, confidence, review note."""
    text = f"{entry.tool} — {entry.risk.category}, {entry.risk.severity}: "
    rationale = entry.risk.rationale
    # the rationale starts with "<category>: "; do not say the category twice
    prefix = f"{entry.risk.category}: "
    text += rationale[len(prefix):] if rationale.startswith(prefix) else rationale
    if entry.risk.signals:
        text += f" [signals: {', '.join(entry.risk.signals)}]"
    if entry.risk.confidence != "high":
        text += f" [confidence: {entry.risk.confidence}]"
    if entry.review:
        text += f" — REVIEW: {entry.note}"
    return text


def origin(starter: "StarterPolicy") -> str:
    """Where the tool list came from, for the header: ``catalog: <upstream>``, ``stdio: <command>``…"""
    src = starter.source
    where = src.get("kind", "file")
    detail = src.get("upstream") or src.get("url") or (" ".join(src["command"]) if src.get("command") else None)
    return f"{where}: {detail}" if detail else where


MODELINE = "# yaml-language-server: $schema="


def schema_lines(schema_link: str | None, dialect: str, prefix: str = "# ") -> list[str]:
    """The modeline that points editors at the schema, or (no link given) how to add one.

    The hint never starts with ``yaml-language-server:``: editors would read it as a modeline.
    """
    if schema_link is not None:
        return [MODELINE + schema_link]
    flag = " --dialect intercept" if dialect == "intercept" else ""
    return [prefix + "Editor help: write the schema with `policyctl schema" + flag + " -o FILE` (or run",
            prefix + "init with --write-schema FILE), then start this file with the line",
            prefix + "`# yaml-language-server: $schema=FILE` (FILE relative to this file, or a URL)."]


def render(starter: "StarterPolicy", schema_link: str | None = None) -> str:
    """The commented YAML; ``schema_link`` (a URL or a path relative to the output) adds a modeline."""
    server = starter.server_name or "an unnamed MCP server"
    lines = [MODELINE + schema_link] if schema_link is not None else []
    lines += [
        comment(f"Starter policy for {server} ({origin(starter)}), written by policyctl {__version__} init."),
        "# Tools not listed under tools are denied (default: deny). Read every entry before use;",
        "# the comment above each tool gives its risk category and why.",
    ]
    if schema_link is None:
        lines += schema_lines(None, "policylayer")
    if starter.review:
        lines.append(comment(f"REVIEW: {len(starter.review)} tool(s) need a look: "
                             + ", ".join(e.tool for e in starter.review)))
    lines += ['version: "1"', 'default: "deny"']
    by_tool = {e.tool: e for e in starter.entries}
    hide = starter.data.get("hide", [])
    if hide:
        lines.append("hide:")
        lines.append("  " + comment(_GROUP_TITLES["destructive"]))
        for name in hide:
            lines.append("  " + comment(why(by_tool[name])))
            lines.append(f"  - {quote(name)}")
    tools = starter.data["tools"]
    if not tools:
        lines.append("tools: {}")
    else:
        lines.append("tools:")
        group = None
        for name, value in tools.items():
            entry = by_tool[name]
            if entry.category != group:
                group = entry.category
                lines.append("  " + comment(_GROUP_TITLES.get(group, group)))
            lines.append("  " + comment(why(entry)))
            lines.extend(_entry(quote(name), value, 2))
    return "\n".join(lines) + "\n"
