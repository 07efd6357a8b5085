"""Claude Code session transcripts (``~/.claude/projects/<encoded-cwd>/<session>.jsonl``).

A call is an ``assistant`` line whose ``message.content`` holds a ``tool_use`` block named
``mcp__<server>__<tool>`` (plugin servers: ``mcp__plugin_<plugin>_<server>__<tool>``); its result is
the ``tool_result`` block of a later ``user`` line with the same ``tool_use_id``, possibly in
another file. Subagent transcripts (``agent-*.jsonl`` beside the sessions, under ``<session>/``,
``<session>/subagents/`` and ``<session>/subagents/workflows/<run>/``) are read too.

Speed: most bytes are text and built-in tool results. A line is parsed only when its raw bytes
show an MCP call (``"tool_use"`` and ``"mcp__``) or the result of a call already known to be an
MCP call (its ``tool_use_id`` is looked up in the raw bytes first).
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterator

import orjson

from policyctl.traces.importers import Call, Context, split_mcp_name
from policyctl.traces.reader import _json_error, parse_ts
from policyctl.traces.sources import Overlong, read_lines, walk

_ID = re.compile(rb'"tool_use_id"\s*:\s*"([^"\\]+)"')
_NOT_EXECUTED_PREFIXES = ("The user doesn't want to proceed with this tool use",
                          "The user doesn't want to take this action")
_GATEWAY = ("[INTERCEPT POLICY DENIED]", "[INTERCEPT APPROVAL REQUIRED]")
_MCP_ERROR = re.compile(r"(?:Error: )?MCP error -32\d{3}")

# outcomes: (upstream, executed, observed)
_NOT_RUN = (None, False, None)
_DENIED = (None, True, "denied")


class Source:
    name = "claude-code"

    def __init__(self) -> None:
        self.mcp_ids: set[str] = set()  # ids of MCP calls seen so far (results of others are skipped)
        self.outcomes: dict[str, tuple] = {}

    def default_paths(self) -> list[str]:
        return [os.path.join(os.path.expanduser("~"), ".claude", "projects")]

    def files(self, paths: list[str], warn: Any) -> list[str]:
        return walk(paths, lambda p: p.endswith(".jsonl") and os.path.basename(p) != "journal.jsonl", warn)

    def resolve(self, call: Call) -> None:
        outcome = self.outcomes.get(call.pair)
        if outcome is not None:
            call.upstream, call.executed, call.observed = outcome

    def read(self, path: str, ix: int, ctx: Context) -> Iterator[Call]:
        loads = orjson.loads
        mcp_ids = self.mcp_ids
        outcomes = self.outcomes
        for lineno, raw, last in read_lines(path, ctx.warn, ctx.progress):
            if type(raw) is Overlong:
                self._overlong(path, lineno, raw, ctx)
                continue
            is_call = b'"tool_use"' in raw and b'"mcp__' in raw
            if not is_call:
                if b'"tool_result"' not in raw:
                    continue
                if not any(tid in mcp_ids for tid in _result_ids(raw)):
                    continue
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError:
                if last:
                    ctx.summary.truncated_last_lines += 1
                else:
                    ctx.invalid(path, lineno, _json_error(raw))
                continue
            if type(obj) is not dict:
                continue
            message = obj.get("message")
            content = message.get("content") if type(message) is dict else None
            if type(content) is not list:
                continue
            kind = obj.get("type")
            if kind == "assistant":
                yield from self._calls(obj, content, path, ix, lineno, ctx)
            elif kind == "user":
                for seq, block in enumerate(content):
                    if type(block) is dict and block.get("type") == "tool_result":
                        tid = block.get("tool_use_id")
                        if tid in mcp_ids and tid not in outcomes:
                            outcomes[tid] = _classify(obj, block)

    def _calls(self, obj: dict, content: list, path: str, ix: int, lineno: int, ctx: Context) -> Iterator[Call]:
        for seq, block in enumerate(content):
            if type(block) is not dict or block.get("type") != "tool_use":
                continue
            name = block.get("name")
            tid = block.get("id")
            if type(name) is not str or not name.startswith("mcp__") or type(tid) is not str:
                continue
            split = split_mcp_name(name[5:], ctx.known)
            if split is None:
                continue
            try:
                ts_ns = parse_ts(obj.get("timestamp"))
            except ValueError as exc:
                ctx.invalid(path, lineno, f"the tool_use line's timestamp: {exc}")
                continue
            server, tool = split
            self.mcp_ids.add(tid)
            if not ctx.keep_server(server):
                continue
            args = block.get("input")
            if type(args) is not dict:
                args = {}
            session = obj.get("sessionId")
            agent = obj.get("agentId") or session
            yield Call(ts_ns, ix, lineno, seq, tid, server, tool, args, tid,
                       ctx.grant(session=session, project=obj.get("cwd"), agent=agent), pair=tid)

    def _overlong(self, path: str, lineno: int, raw: Overlong, ctx: Context) -> None:
        data = raw.head + raw.tail
        if b'"tool_use"' in raw.head and b'"mcp__' in raw.head and b'"tool_result"' not in raw.head:
            ctx.invalid(path, lineno, f"line of {raw.size:,} bytes is too long to read an MCP call from")
            return
        if b'"tool_result"' not in data:
            return
        for tid in _result_ids(data):
            if tid in self.mcp_ids and tid not in self.outcomes:
                self.outcomes[tid] = _classify_bytes(data)


def _result_ids(raw: bytes) -> Iterator[str]:
    """The ``tool_use_id`` values in a raw line (bytes.find: much faster than a regex on big lines)."""
    find = raw.find
    at = find(b'"tool_use_id"')
    while at >= 0:
        m = _ID.match(raw, at)
        if m is not None:
            yield m.group(1).decode("utf-8", "replace")
        at = find(b'"tool_use_id"', at + 13)


def _text(content: Any) -> str:
    if type(content) is str:
        return content
    if type(content) is list:
        return "\n".join(b["text"] for b in content
                         if type(b) is dict and type(b.get("text")) is str)
    return ""


def _classify(line: dict, block: dict) -> tuple:
    """(upstream, executed, observed) of a call from its tool_result block and the line holding it."""
    text = _text(block.get("content"))
    bare = text[7:] if text.startswith("Error: ") else text
    if ("toolDenialKind" in line or text.startswith(_NOT_EXECUTED_PREFIXES) or "<tool_use_error>" in text
            or (bare.startswith("Permission to use ") and ("has been denied" in bare or "auto-denied" in bare))):
        return _NOT_RUN
    if any(g in text for g in _GATEWAY):
        return _DENIED
    if _MCP_ERROR.match(text):
        return ("error", True, None)  # a JSON-RPC error or an SDK-wrapped failure: kind unknown
    if block.get("is_error") is True:
        return ("tool_error", True, None)
    return ("ok", True, None)


def _classify_bytes(data: bytes) -> tuple:
    """The same, from the raw head and tail of a result line too long to parse."""
    if (b'"toolDenialKind"' in data or b"The user doesn't want to" in data or b"<tool_use_error>" in data
            or (b"Permission to use " in data and (b"has been denied" in data or b"auto-denied" in data))):
        return _NOT_RUN
    if b"[INTERCEPT POLICY DENIED]" in data or b"[INTERCEPT APPROVAL REQUIRED]" in data:
        return _DENIED
    if re.search(rb'"(?:text|content)"\s*:\s*"(?:Error: )?MCP error -32\d{3}', data):
        return ("error", True, None)
    if re.search(rb'"is_error"\s*:\s*true', data):
        return ("tool_error", True, None)
    return ("ok", True, None)
