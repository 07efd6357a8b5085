"""Codex CLI rollouts (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl``, ``archived_sessions/``,
plain or zstd-compressed ``.jsonl.zst``).

Each line is ``{"timestamp", "type", "payload"}``. A call is a ``response_item`` whose payload is a
``function_call`` with an MCP name — ``mcp__<server>__<tool>``, ``namespace: "mcp__<server>__"``
plus a short or full ``name``, or the old ``<server>__<tool>`` — and ``arguments`` as JSON text.
Its outcome is known only when the rollout persisted an ``mcp_tool_call_end`` event (``Ok`` with
or without ``isError``, or ``Err``); otherwise ``upstream_error`` stays absent.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import orjson

from policyctl.traces.importers import Call, Context, split_mcp_name
from policyctl.traces.reader import parse_ts
from policyctl.traces.sources import Overlong, read_lines, walk


class Source:
    name = "codex"

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def default_paths(self) -> list[str]:
        home = os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")
        found = [p for p in (os.path.join(home, "sessions"), os.path.join(home, "archived_sessions"))
                 if os.path.isdir(p)]
        return found or [os.path.join(home, "sessions")]

    def files(self, paths: list[str], warn: Any) -> list[str]:
        def accept(p: str) -> bool:
            base = os.path.basename(p)
            return base.startswith("rollout-") and base.endswith((".jsonl", ".jsonl.zst"))

        return walk(paths, accept, warn)

    def resolve(self, call: Call) -> None:
        if call.args is not None:
            outcome = self.outcomes.get(call.pair)
            if outcome is not None:
                call.upstream = outcome

    def read(self, path: str, ix: int, ctx: Context) -> Iterator[Call]:
        loads = orjson.loads
        session: Any = None
        cwd: Any = None
        for lineno, raw, last in read_lines(path, ctx.warn, ctx.progress):
            if isinstance(raw, Overlong):
                if b'"function_call"' in raw.head:
                    ctx.too_long(path, lineno, raw.size)
                continue
            if not (b'"function_call"' in raw or b'"mcp_tool_call_end"' in raw or b'"session_meta"' in raw
                    or b'"turn_context"' in raw):
                continue
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError:
                ctx.not_json(path, lineno, raw, last)
                continue
            if type(obj) is not dict:
                continue
            payload = obj.get("payload")
            if type(payload) is not dict:
                continue
            kind = obj.get("type")
            if kind == "session_meta":
                session = payload.get("id", session)
                cwd = payload.get("cwd", cwd)
                continue
            if kind == "turn_context":
                cwd = payload.get("cwd", cwd)
                continue
            ptype = payload.get("type")
            if ptype == "mcp_tool_call_end":
                cid = payload.get("call_id")
                if type(cid) is str and cid not in self.outcomes:
                    self.outcomes[cid] = _outcome(payload.get("result"))
                continue
            if kind != "response_item" or ptype != "function_call":
                continue
            split = _names(payload, ctx.known)
            cid = payload.get("call_id")
            if split is None or type(cid) is not str:
                continue
            try:
                ts_ns = parse_ts(obj.get("timestamp"))
            except ValueError as exc:
                ctx.invalid(path, lineno, f"the function_call line's timestamp: {exc}")
                continue
            server, tool = split
            if not ctx.keep_server(server):
                continue
            args: Any = None
            text = payload.get("arguments")
            if type(text) is str:
                try:
                    args = loads(text)
                except orjson.JSONDecodeError:
                    args = None
            elif type(text) is dict:
                args = text
            if type(args) is not dict:
                args = None  # counted (once per call id) when the merge keeps it
            yield Call(ts_ns, ix, lineno, 0, cid, server, tool, args, cid,  # type: ignore[arg-type]
                       ctx.grant(session=session, project=cwd, agent=session), pair=cid)


def _names(payload: dict, known: tuple[str, ...]) -> tuple[str, str] | None:
    name = payload.get("name")
    if type(name) is not str or not name:
        return None
    ns = payload.get("namespace")
    if type(ns) is str and ns.startswith("mcp__"):
        server = ns[5:-2] if ns.endswith("__") else ns[5:]
        tool = name[len(ns):] if name.startswith(ns) else name
        if server and tool:
            return server, tool
    if name.startswith("mcp__"):
        return split_mcp_name(name[5:], known)
    if "__" in name:  # older Codex: <server>__<tool>
        return split_mcp_name(name, known)
    return None


def _outcome(result: Any) -> str:
    if type(result) is dict:
        if "Ok" in result:
            ok = result["Ok"]
            return "tool_error" if type(ok) is dict and ok.get("isError") is True else "ok"
        if "Err" in result:
            return "error"  # the client's error text: a JSON-RPC error or a transport failure
    return "error"
