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
from policyctl.traces.reader import parse_ts
from policyctl.traces.sources import Overlong, read_blocks, walk

_ID = re.compile(rb'"tool_use_id"\s*:\s*"([^"\\]+)"')
# Raw-byte markers: a quote inside a JSON string is always escaped, so these byte sequences occur
# only as JSON structure (a "name" key whose value starts with mcp__, a "tool_use_id" key).
_CALL = b'"name":"mcp__'
_RESULT = b'"tool_use_id"'
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
        for first, block, start, end, last in read_blocks(path, ctx.warn, ctx.progress):
            if isinstance(block, Overlong):
                self._overlong(path, first, block, ctx)
                continue
            yield from self._block(block, start, end, first, last, path, ix, ctx)

    def _block(self, block: bytes, bstart: int, bend: int, first: int, last: bool, path: str, ix: int,
               ctx: Context) -> Iterator[Call]:
        """The calls and results in ``block[bstart:bend]`` (whole lines): only lines holding a call
        marker or the result marker are looked at (the searches run over the whole block in C)."""
        find = block.find
        hits: list[int] = []
        at = find(_CALL, bstart, bend)
        while at >= 0:
            hits.append(at)
            at = find(_CALL, at + 13, bend)
        at = find(_RESULT, bstart, bend)
        if at >= 0:
            while at >= 0:
                hits.append(at)
                at = find(_RESULT, at + 15, bend)
            hits.sort()
        if not hits:
            return
        mcp_ids = self.mcp_ids
        cursor, line_at = bstart, first
        line_start = line_end = -1
        wanted = False
        for at in hits:
            if at >= line_end:  # the first hit of a new line
                if wanted:
                    lineno = line_at + block.count(b"\n", cursor, line_start)
                    cursor, line_at = line_start, lineno
                    yield from self._line(block, line_start, line_end, lineno, last, path, ix, ctx)
                line_start = block.rfind(b"\n", bstart, at) + 1 or bstart
                line_end = find(b"\n", at, bend)
                if line_end < 0:
                    line_end = bend
                wanted = False
            if wanted:
                continue
            if block[at + 1] == 0x6E:  # '"name":"mcp__': a call
                wanted = True
            else:  # a result: wanted only for an MCP call (a built-in's result is most of the bytes)
                m = _ID.match(block, at)
                wanted = m is not None and m.group(1).decode("utf-8", "replace") in mcp_ids
        if wanted:
            lineno = line_at + block.count(b"\n", cursor, line_start)
            yield from self._line(block, line_start, line_end, lineno, last, path, ix, ctx)

    def _line(self, block: bytes, start: int, end: int, lineno: int, last: bool, path: str, ix: int,
              ctx: Context) -> Iterator[Call]:
        raw = block[start:end]
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            ctx.not_json(path, lineno, raw, last and (end == len(block) or block[end] != 0x0A))
            return
        if type(obj) is not dict:
            return
        message = obj.get("message")
        content = message.get("content") if type(message) is dict else None
        if type(content) is not list:
            return
        kind = obj.get("type")
        if kind == "assistant":
            yield from self._calls(obj, content, path, ix, lineno, ctx)
        elif kind == "user":
            mcp_ids, outcomes = self.mcp_ids, self.outcomes
            for b in content:
                if type(b) is dict and b.get("type") == "tool_result":
                    tid = b.get("tool_use_id")
                    if tid in mcp_ids and tid not in outcomes:
                        outcomes[tid] = _classify(obj, b)

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
            ctx.too_long(path, lineno, raw.size, "an MCP call")
            return
        if b'"tool_result"' not in data:
            return
        for tid in _result_ids(data):
            if tid in self.mcp_ids and tid not in self.outcomes:
                self.outcomes[tid] = _classify_bytes(data)


def _result_ids(raw: bytes, start: int = 0, end: int | None = None) -> Iterator[str]:
    """The ``tool_use_id`` values in ``raw[start:end]`` (bytes.find: much faster than a regex)."""
    if end is None:
        end = len(raw)
    find = raw.find
    at = find(_RESULT, start, end)
    while at >= 0:
        m = _ID.match(raw, at, end)
        if m is not None:
            yield m.group(1).decode("utf-8", "replace")
        at = find(_RESULT, at + 13, end)


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
