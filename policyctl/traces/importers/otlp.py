"""OpenTelemetry traces as OTLP/JSON: the File Exporter's JSON Lines (one ``TracesData`` per line)
or one document (an OTLP/HTTP body or a collector dump, possibly pretty-printed).

A call is a span whose attribute ``mcp.method.name`` is ``tools/call``: the tool from
``gen_ai.tool.name`` (alias ``mcp.tool.name``), the arguments from ``gen_ai.tool.call.arguments``
(alias ``mcp.tool.arguments``; JSON text or a kvlist; opt-in, so often absent), ``ts`` from
``startTimeUnixNano`` (a string or an integer, nanoseconds kept), the outcome from ``error.type``
(``tool_error`` for an ``isError`` result, else the JSON-RPC code) or an ERROR status, the server
from ``mcp.server.name``, else the resource's ``service.name``. A client span and a server span of
the same call (same trace id and request id) are one call.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Any, Iterator

import orjson

from policyctl.traces.importers import Call, Context
from policyctl.traces.reader import json_error
from policyctl.traces.sources import Overlong, read_lines, walk

MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
_MAX_NS = 253402300800 * 1_000_000_000  # year 10000
_HEX = re.compile(r"[0-9a-fA-F]+\Z")


class Source:
    name = "otlp"

    def default_paths(self) -> list[str]:
        from policyctl.errors import UsageError

        raise UsageError("otlp: give the OTLP/JSON files or folders to import")

    def files(self, paths: list[str], warn: Any) -> list[str]:
        return walk(paths, lambda p: p.endswith((".json", ".jsonl", ".jsonl.zst")), warn)

    def resolve(self, call: Call) -> None:
        pass

    def read(self, path: str, ix: int, ctx: Context) -> Iterator[Call]:
        loads = orjson.loads
        first = True
        for lineno, raw, last in read_lines(path, ctx.warn, ctx.progress):
            if isinstance(raw, Overlong):
                ctx.too_long(path, lineno, raw.size, "spans")
                continue
            if not raw.strip():
                continue
            try:
                doc = loads(raw)
            except orjson.JSONDecodeError:
                if first:  # not JSON Lines: one document over many lines
                    yield from self._document(path, ix, ctx)
                    return
                ctx.not_json(path, lineno, raw, last)
                continue
            first = False
            yield from _spans(doc, path, ix, lineno, ctx)

    def _document(self, path: str, ix: int, ctx: Context) -> Iterator[Call]:
        try:
            if os.path.getsize(path) > MAX_DOCUMENT_BYTES:
                ctx.warn(f"{path}: a single OTLP/JSON document larger than {MAX_DOCUMENT_BYTES // (1 << 20)} MiB "
                         "(skipped; export JSON Lines instead)")
                return
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            ctx.warn(f"{path}: cannot read: {exc.strerror or exc}")
            return
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            ctx.invalid(path, 1, "neither JSON Lines nor one JSON document (" + json_error(data) + ")")
            return
        yield from _spans(doc, path, ix, 1, ctx)


def _value(v: Any) -> Any:
    """An OTLP AnyValue as a plain value."""
    if type(v) is not dict:
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "intValue" in v:
        try:
            n = int(v["intValue"])
        except (TypeError, ValueError):
            return None
        return n if -(1 << 63) <= n < (1 << 63) else float(n)  # JSON numbers beyond int64: as a double
    if "doubleValue" in v:
        return v["doubleValue"]
    if "arrayValue" in v:
        arr = v["arrayValue"]
        return [_value(x) for x in (arr.get("values") or [])] if type(arr) is dict else []
    if "kvlistValue" in v:
        return _attrs(v["kvlistValue"].get("values") if type(v["kvlistValue"]) is dict else None)
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def _attrs(items: Any) -> dict:
    out: dict = {}
    if type(items) is list:
        for kv in items:
            if type(kv) is dict and type(kv.get("key")) is str:
                out[kv["key"]] = _value(kv.get("value"))
    return out


def _hex_id(raw: Any) -> str:
    """A trace or span id as lowercase hex: hex as the spec says, base64 as some exporters write."""
    if type(raw) is not str:
        return ""
    if _HEX.match(raw) and len(raw) in (16, 32):
        return raw.lower()
    try:
        return base64.b64decode(raw, validate=True).hex()
    except (binascii.Error, ValueError):
        return raw


def _spans(doc: Any, path: str, ix: int, lineno: int, ctx: Context) -> Iterator[Call]:
    if type(doc) is not dict:
        ctx.invalid(path, lineno, "not an OTLP TracesData object")
        return
    seq = 0
    for rs in doc.get("resourceSpans") or []:
        if type(rs) is not dict:
            continue
        resource = rs.get("resource")
        res = _attrs(resource.get("attributes")) if type(resource) is dict else {}
        for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []:
            if type(ss) is not dict:
                continue
            for span in ss.get("spans") or []:
                seq += 1
                if type(span) is not dict:
                    continue
                a = _attrs(span.get("attributes"))
                if a.get("mcp.method.name") != "tools/call":
                    continue
                call = _call(span, a, res, path, ix, lineno, seq, ctx)
                if call is not None:
                    yield call


def _call(span: dict, a: dict, res: dict, path: str, ix: int, lineno: int, seq: int, ctx: Context) -> Call | None:
    tool = a.get("gen_ai.tool.name", a.get("mcp.tool.name"))
    if type(tool) is not str or not tool:
        ctx.invalid(path, lineno, "a tools/call span without gen_ai.tool.name")
        return None
    start = span.get("startTimeUnixNano")
    try:
        ts_ns = int(start)  # type: ignore[arg-type]  # a decimal string per the spec, an integer from some exporters
    except (TypeError, ValueError):
        ts_ns = -1
    if not 0 < ts_ns < _MAX_NS:
        ctx.invalid(path, lineno, f"span of {tool}: startTimeUnixNano is not a time in nanoseconds since 1970")
        return None
    server = a.get("mcp.server.name") or res.get("service.name")
    server = server if type(server) is str else None
    if not ctx.keep_server(server):
        return None
    note = None
    raw_args = a.get("gen_ai.tool.call.arguments", a.get("mcp.tool.arguments"))
    args: Any
    if raw_args is None:
        args, note = {}, "no_args"
    elif type(raw_args) is str:
        try:
            args = orjson.loads(raw_args)
        except orjson.JSONDecodeError:
            args = None
    else:
        args = raw_args
    if type(args) is not dict:
        args = None
    rid = a.get("jsonrpc.request.id", a.get("mcp.request.id", a.get("gen_ai.tool.call.id")))
    span_id = _hex_id(span.get("spanId"))
    call_id = str(rid) if rid is not None else span_id
    trace_id = _hex_id(span.get("traceId"))
    error_type = a.get("error.type")
    status = span.get("status")
    code = status.get("code") if type(status) is dict else None
    if error_type is not None:
        upstream = "tool_error" if error_type == "tool_error" else "jsonrpc_error"
    elif code == 2 or code == "STATUS_CODE_ERROR":
        upstream = "error"
    else:
        upstream = "ok"
    session = a.get("mcp.session.id") or trace_id
    return Call(ts_ns, ix, lineno, seq, f"{trace_id}\x00{call_id}", server, tool, args, call_id,
                ctx.grant(session=session, project=res.get("service.namespace"), agent=res.get("service.name")),
                upstream=upstream, note=note)
