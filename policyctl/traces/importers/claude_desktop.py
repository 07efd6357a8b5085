"""Claude Desktop MCP logs (``mcp.log`` and ``mcp-server-<name>.log``).

Lines look like ``<ISO time>Z [<server>] [<level>] Message from client: <JSON>`` (the two tags also
come the other way round, and a `` { metadata: undefined }`` may follow the JSON). A ``tools/call``
from the client is paired with the server's answer with the same JSON-RPC id *within one
connection* of that server (ids restart when the server is initialised again). The server's own
stderr, multi-line metadata dumps and lifecycle lines are skipped. The same message may be logged
in ``mcp.log`` and in the server's own file: one call per (server, time, id) is kept.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterator

import orjson

from policyctl.traces.importers import Call, Context
from policyctl.traces.importers.jsonrpc import answer, called_tool
from policyctl.traces.reader import json_error, parse_ts
from policyctl.traces.sources import Overlong, read_lines, walk

_LEVEL = rb"(?:info|error|warn|warning|debug)"
_LINE = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (?:\[([^\]]+)\] \[" + _LEVEL + rb"\]|\["
                   + _LEVEL + rb"\] \[([^\]]+)\]) ")
_TRAILER = b" { metadata: undefined }"


class Source:
    name = "claude-desktop"

    def default_paths(self) -> list[str]:
        home = os.path.expanduser("~")
        candidates = [os.path.join(home, "Library", "Logs", "Claude"),
                      os.path.join(os.environ.get("APPDATA", os.path.join(home, "AppData", "Roaming")),
                                   "Claude", "logs"),
                      os.path.join(home, ".config", "Claude", "logs")]
        found = [p for p in candidates if os.path.isdir(p)]
        return found or candidates[:1]

    def files(self, paths: list[str], warn: Any) -> list[str]:
        def accept(p: str) -> bool:
            base = os.path.basename(p)
            return base.startswith("mcp") and base.endswith(".log")

        return walk(paths, accept, warn)

    def resolve(self, call: Call) -> None:
        pass

    def read(self, path: str, ix: int, ctx: Context) -> Iterator[Call]:
        loads = orjson.loads
        conn: dict[bytes, int] = {}
        started: dict[bytes, str] = {}
        pending: dict[tuple, Call] = {}
        for lineno, raw, _last in read_lines(path, ctx.warn, ctx.progress):
            if isinstance(raw, Overlong):
                if b"Message from client" in raw.head and b'"tools/call"' in raw.head:
                    ctx.too_long(path, lineno, raw.size)
                continue
            m = _LINE.match(raw)
            if m is None:
                continue
            server = m.group(2) or m.group(3)
            text = raw[m.end():].rstrip(b"\r")
            if text.startswith(b"Initializing server"):
                conn[server] = conn.get(server, 0) + 1
                started[server] = m.group(1).decode()
                continue
            if text.startswith(b"Message from client: "):
                body, from_client = text[21:], True
            elif text.startswith(b"Message from server: "):
                body, from_client = text[21:], False
            else:
                continue
            if body.endswith(_TRAILER):
                body = body[:-len(_TRAILER)]
            if from_client and b'"tools/call"' not in body and b'"initialize"' not in body:
                continue
            try:
                msg = loads(body)
            except orjson.JSONDecodeError:
                ctx.invalid(path, lineno, "message is not complete JSON (" + json_error(body) + ")")
                continue
            if type(msg) is not dict:
                continue
            name = server.decode("utf-8", "replace")
            if from_client:
                method = msg.get("method")
                if method == "initialize":
                    conn[server] = conn.get(server, 0) + 1
                    continue
                if method != "tools/call":
                    continue
                called = called_tool(msg, path, lineno, ctx)
                if called is None:
                    continue
                tool, args = called
                rid = msg.get("id")
                try:
                    ts_ns = parse_ts(m.group(1).decode())
                except ValueError as exc:
                    ctx.invalid(path, lineno, str(exc).replace('"ts"', "the line's time"))
                    continue
                if not ctx.keep_server(name):
                    continue
                rid_key = orjson.dumps(rid).decode()
                call = Call(ts_ns, ix, lineno, 0, f"{name}\x00{ts_ns}\x00{rid_key}", name, tool, args, rid,
                            ctx.grant(session=f"{name}@{started.get(server, '')}", agent="claude-desktop"))
                pending[(server, conn.get(server, 0), rid_key)] = call
                yield call
            elif "method" not in msg and "id" in msg:
                found = pending.pop((server, conn.get(server, 0), orjson.dumps(msg["id"]).decode()), None)
                if found is not None:
                    answer(found, msg)
