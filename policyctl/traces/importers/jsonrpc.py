"""A raw JSON-RPC capture: one message per line, ``{"ts", "direction", "message"}``.

``direction`` is ``client_to_server`` or ``server_to_client``; ``message`` is one JSON-RPC message
or a batch (an array). A client ``initialize`` starts a connection (request ids restart) and the
server's ``serverInfo.name`` names the server of that connection. A client ``tools/call`` is
paired with the server's response of the same id within its connection: ``error`` → a JSON-RPC
error, ``result.isError`` → a tool error. Requests from the server to the client (``ping``,
``roots/list``, sampling) and their answers are ignored.

Lines already in the shape ``policyctl record`` writes (plain records with ``tool``, and
``server``/``upstream``/``upstream_error``) pass through.
"""

from __future__ import annotations

from typing import Any, Iterator

import orjson

from policyctl.errors import UsageError
from policyctl.traces.importers import Call, Context
from policyctl.traces.reader import parse_ts
from policyctl.traces.sources import Overlong, read_lines, walk

_UPSTREAM = ("ok", "tool_error", "jsonrpc_error", "no_response", "not_forwarded")
_GATEWAY = ("[INTERCEPT POLICY DENIED]", "[INTERCEPT APPROVAL REQUIRED]")


class Source:
    name = "jsonrpc"

    def default_paths(self) -> list[str]:
        raise UsageError("jsonrpc: give the capture file(s) to import")

    def files(self, paths: list[str], warn: Any) -> list[str]:
        return walk(paths, lambda p: p.endswith((".jsonl", ".jsonl.zst", ".ndjson")), warn)

    def resolve(self, call: Call) -> None:
        pass

    def read(self, path: str, ix: int, ctx: Context) -> Iterator[Call]:
        loads = orjson.loads
        calls: list[Call] = []
        conn = 0
        server: str | None = None
        client: str | None = None
        pending: dict[tuple, Call] = {}
        waiting: list[Call] = []  # calls of this connection made before the server said its name
        for lineno, raw, last in read_lines(path, ctx.warn, ctx.progress):
            if isinstance(raw, Overlong):
                if b'"tools/call"' in raw.head:
                    ctx.too_long(path, lineno, raw.size)
                continue
            if not raw.strip():
                continue
            try:
                obj = loads(raw)
            except orjson.JSONDecodeError:
                ctx.not_json(path, lineno, raw, last)
                continue
            if type(obj) is not dict:
                ctx.invalid(path, lineno, "expected a JSON object")
                continue
            try:
                ts_ns = parse_ts(obj.get("ts"))
            except ValueError as exc:
                ctx.invalid(path, lineno, str(exc) if "ts" in obj else 'missing "ts"')
                continue
            if "tool" in obj and "message" not in obj:
                call = _record(obj, ts_ns, path, ix, lineno, ctx)
                if call is not None:
                    calls.append(call)
                continue
            direction = obj.get("direction")
            message = obj.get("message")
            if direction not in ("client_to_server", "server_to_client") or type(message) not in (dict, list):
                ctx.invalid(path, lineno, 'expected "direction" (client_to_server or server_to_client) and a "message"')
                continue
            batch = message if type(message) is list else [message]
            for seq, msg in enumerate(batch):
                if type(msg) is not dict:
                    continue
                if direction == "client_to_server":
                    method = msg.get("method")
                    if method == "initialize":
                        conn += 1
                        server = None
                        waiting = []
                        info = msg.get("params", {}).get("clientInfo") if type(msg.get("params")) is dict else None
                        client = info.get("name") if type(info) is dict else None
                        continue
                    if method != "tools/call":
                        continue
                    called = called_tool(msg, path, lineno, ctx)
                    if called is None:
                        continue
                    tool, args = called
                    rid = msg.get("id")
                    call = Call(ts_ns, ix, lineno, seq, None, server, tool, args, rid,
                                ctx.grant(session=f"{path}#{conn}", agent=client))
                    if server is None:
                        waiting.append(call)
                    pending[(conn, orjson.dumps(rid))] = call
                    calls.append(call)
                elif "method" not in msg:
                    result = msg.get("result")
                    if type(result) is dict and type(result.get("serverInfo")) is dict and server is None:
                        name = result["serverInfo"].get("name")
                        if type(name) is str:
                            server = name
                            for c in waiting:
                                c.server = name
                            waiting = []
                        continue
                    call = pending.pop((conn, orjson.dumps(msg.get("id"))), None)
                    if call is not None:
                        answer(call, msg)
        for call in calls:
            if ctx.keep_server(call.server):
                yield call


def called_tool(msg: dict, path: str, lineno: int, ctx: Context) -> tuple[str, dict | None] | None:
    """The tool name and arguments of a ``tools/call`` request (arguments None unless an object;
    missing: ``{}``), or None, counted as an invalid line, when it names no tool."""
    params = msg.get("params")
    if type(params) is not dict:
        params = {}
    tool = params.get("name")
    if type(tool) is not str:
        ctx.invalid(path, lineno, "tools/call without a tool name")
        return None
    args = params.get("arguments", {})
    return tool, args if type(args) is dict else None


def answer(call: Call, msg: dict) -> None:
    """What the server's response ``msg`` says of ``call``: its ``upstream``, or ``observed``
    denied when a gateway's denial text came back as a tool error."""
    if "error" in msg:
        call.upstream = "jsonrpc_error"
        return
    result = msg.get("result")
    if type(result) is dict and result.get("isError") is True:
        content = result.get("content")
        text = "\n".join(b["text"] for b in content if type(b) is dict and type(b.get("text")) is str) \
            if type(content) is list else ""
        if any(g in text for g in _GATEWAY):
            call.observed = "denied"
            return
        call.upstream = "tool_error"
        return
    call.upstream = "ok"


def _record(obj: dict, ts_ns: int, path: str, ix: int, lineno: int, ctx: Context) -> Call | None:
    """A line already written as a plain trace record (by ``policyctl record``)."""
    tool = obj.get("tool")
    if type(tool) is not str:
        ctx.invalid(path, lineno, '"tool" must be a string')
        return None
    args = obj.get("args", {})
    server = obj.get("server")
    upstream = obj.get("upstream")
    failed = obj.get("upstream_error")
    if upstream is not None and upstream not in _UPSTREAM:
        ctx.invalid(path, lineno, f'"upstream" must be one of {", ".join(_UPSTREAM)}')
        return None
    if upstream is None and failed is not None:
        upstream = "error" if failed is True else "ok"
    given = obj.get("grant")
    grant = given if isinstance(given, str) else ctx.grant()
    if ctx.grant_const is not None:
        grant = ctx.grant_const
    call = Call(ts_ns, ix, lineno, 0, None, server if type(server) is str else None, tool,
                args if type(args) is dict else None, obj.get("id"), grant, upstream=upstream,
                failed=failed is True)
    if obj.get("executed") is False:
        call.executed = False
    if obj.get("observed") == "denied":
        call.observed = "denied"
    return call
