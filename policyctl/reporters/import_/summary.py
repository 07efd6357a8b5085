"""The stderr summary of an import: files, calls per server, what was dropped and why."""

from __future__ import annotations

from typing import Any


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def lines(summary: Any, *, output: str | None = None) -> list[str]:
    """The summary as plain lines (``summary`` is an ImportSummary)."""
    s = summary
    out = [f"{s.source}: read {_n(s.files_read, 'file')}, imported {_n(s.calls, 'call')}"
           + (f" to {output}" if output else "")]
    for server in sorted(s.calls_per_server):
        out.append(f"  {server}: {_n(s.calls_per_server[server], 'call')}")
    facts = [
        (s.duplicates_removed, "duplicates removed (same call id; the earliest copy kept)"),
        (s.not_executed, "not executed (rejected, denied by permission, or invalid); "
                         + ("kept with \"executed\": false" if getattr(s, "kept_not_executed", False) else
                            "left out (--include-not-executed keeps them)")),
        (s.upstream_errors, "upstream errors"),
        (s.observed_denied, "denied by a gateway at the time (\"observed\": \"denied\")"),
        (s.other_servers, "call records of other servers left out (--server; copies included)"),
        (s.outside_window, "calls outside --since/--until left out"),
        (s.truncated_last_lines, "unfinished last line(s) skipped (a session still being written)"),
    ]
    for count, what in facts:
        if count:
            out.append(f"  {count:,} {what}")
    return out


def warnings(summary: Any) -> list[str]:
    """Warning lines: invalid lines (with file:line), bad or missing arguments, unreadable files."""
    s = summary
    out = [f"warning: {w}" for w in s.warnings]
    if s.invalid_lines:
        out.append(f"warning: skipped {_n(s.invalid_lines, 'invalid line')}")
        out.extend(f"  {m}" for m in s.invalid_messages)
        if s.invalid_lines > len(s.invalid_messages):
            out.append(f"  ... and {s.invalid_lines - len(s.invalid_messages):,} more")
    if s.bad_args:
        kept = getattr(s, "kept_bad_args", False)
        out.append(f"warning: {_n(s.bad_args, 'call')} had arguments that are not a JSON object; "
                   + ("kept with \"args\": {}" if kept else "left out (--keep-bad-args keeps them with \"args\": {})"))
        out.extend(f"  {m}" for m in getattr(s, "bad_args_messages", []))
    if s.no_args:
        out.append(f"warning: {_n(s.no_args, 'call')} had no recorded arguments (imported with \"args\": {{}}): "
                   "conditions on arguments cannot be replayed for them")
    return out
