"""``simulate --format jsonl``: one decision per call, streamed (SPEC §5).

``{"line", "id", "ts", "grant", "tool", "arg_keys", "decision", "reason", "rule", "message"}`` in
that order, then ``"expected"`` when the line had ``expect``, ``"expected_rule"`` when it had
``expect_rule``, and ``"ok"`` when it had either. ``"args"`` (the values) is added only with
``--show-args``.
"""

from __future__ import annotations

import re

import orjson

from policyctl.reporters.lint import json_escape
from policyctl.simulate.run import CallResult


def line(call: CallResult, *, show_args: bool = False) -> bytes:
    d = call.decision
    rec = {
        "line": call.line, "id": call.id, "ts": call.ts, "grant": call.grant, "tool": call.tool,
        "arg_keys": call.arg_keys, "decision": "allow" if d.allowed else "deny", "reason": d.reason,
        "rule": d.rule, "message": d.message,
    }
    if call.expect is not None:
        rec["expected"] = call.expect
    if call.expect_rule is not None:
        rec["expected_rule"] = call.expect_rule
    if call.ok is not None:
        rec["ok"] = call.ok
    if show_args:
        rec["args"] = call.args
    try:
        out = orjson.dumps(rec) + b"\n"
    except TypeError:  # e.g. an integer beyond 64 bits echoed from the trace: fall back to the json module
        import json

        out = json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    return _UNPRINTABLE.sub(_escape, out) if _UNPRINTABLE.search(out) else out


# What JSON leaves raw and policyctl's printable() escapes, as UTF-8 bytes: DEL, C1 controls, U+061C,
# U+200B-U+200F, line and paragraph separators, bidi overrides, U+2060, bidi isolates, the BOM,
# U+FFFE/U+FFFF and tag characters (C0 controls are JSON escapes already; lone surrogates never occur).
_UNPRINTABLE = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xd8\x9c|\xe2\x80[\x8b-\x8f\xa8-\xae]|\xe2\x81[\xa0\xa6-\xa9]"
                          rb"|\xef\xbb\xbf|\xef\xbf[\xbe\xbf]|\xf3\xa0[\x80\x81][\x80-\xbf]")


def _escape(match: re.Match[bytes]) -> bytes:
    return json_escape(match.group().decode("utf-8")).encode("ascii")
