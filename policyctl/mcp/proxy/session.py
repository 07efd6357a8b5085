"""The transport-neutral core of ``policyctl record``: what to record, decide, forward and answer.

The transports hand every message they relay to a :class:`Recorder` — ``from_client`` before it is
forwarded, ``from_server`` before it is passed back — and forward what it returns: the bytes
unchanged in the common case, a filtered copy of a ``tools/list`` answer under ``--enforce`` (or a
JSON-RPC error in its place when the answer cannot be checked), and, for a call ``--enforce``
denies, nothing forwarded and a local answer for the client.

Order and time. Each ``tools/call`` gets its ``ts`` when its request arrives (wall-clock UTC,
milliseconds, from a monotonic clock so it never goes backwards) and a place in arrival order.
Its trace line is written — whole, one ``write`` — as soon as its answer has arrived *and* every
call that arrived before it has been written, so the file lists calls in arrival order with
non-decreasing ``ts``: exactly the order and times ``simulate`` replays. A shadow decision is made
when the line is written, with the upstream outcome known (``simulate`` releases an allowed call's
reservations on ``upstream_error`` right after it); under ``--enforce`` the decision must come
before forwarding, so it is made on arrival, in the same order, and a failed upstream answer
releases the call's reservations when it arrives (the failures its dialect releases on: any under
PolicyLayer; a JSON-RPC error under Intercept, also ```result.isError`` with ``--rollback-on any``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Iterator

import orjson

from policyctl.mcp.proxy.shadow import PolicyGate, ReplayCall, shadow_field
from policyctl.mcp.proxy.trace_writer import MS, NS, TraceFile, keep_paths, record_line, redact_keys

MODERN = "2026-07-28"
_META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
_META_VERSION = "io.modelcontextprotocol/protocolVersion"
_WATCHED = ("tools/list", "initialize", "server/discover")
HELD: Any = object()  # a call kept back under --enforce until earlier answers are in
DROPPED: Any = object()  # a message --enforce keeps from the server without an answer (a notification)

# Under --enforce, what the proxy cannot check must not reach the server (fail closed): a server may
# read a message differently from the proxy. Python's json and pydantic (the Python SDK) accept NaN
# and Infinity, which the proxy's strict parser refuses; Go's encoding/json takes ``METHOD`` or
# ``paramſ`` (long s) for ``method`` and ``params``; a server may run a tools/call sent without an
# id, or with ``arguments`` the proxy cannot read. Such messages are answered here, never forwarded.
_MEMBERS = frozenset({"jsonrpc", "id", "method", "params", "result", "error"})
_CALL_PARAMS = frozenset({"name", "arguments", "_meta"})
_PARSE_ERROR, _INVALID_REQUEST, _INVALID_PARAMS, _INTERNAL_ERROR = -32700, -32600, -32602, -32603
_TOOLS, _NAME = frozenset({"tools"}), frozenset({"name"})


class Clock:
    """Wall-clock UTC in nanoseconds, advanced by a monotonic clock (it never runs backwards),
    truncated to milliseconds (what the trace line can hold)."""

    def __init__(self) -> None:
        self._wall = time.time_ns()
        self._mono = time.monotonic_ns()
        self._last = 0

    def now_ms(self) -> int:
        ts = self._wall + (time.monotonic_ns() - self._mono)
        ts -= ts % MS
        if ts < self._last:
            ts = self._last
        self._last = ts
        return ts


@dataclass
class Call:
    """One ``tools/call`` on its way through the proxy."""

    ts_ns: int
    grant: str
    tool: str
    args: dict
    ident: Any
    channel: Any
    decision: Any = None  # the Decision made on arrival under --enforce
    upstream: str | None = None  # set when the answer (or its absence) is known
    message: Any = None  # the JSON-RPC request, kept while the call is held
    later: Any = None  # deliver(forward, answer) once a held call is decided


@dataclass
class Stats:
    calls: int = 0
    upstream: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    malformed_from_client: int = 0
    malformed_from_server: int = 0
    unread_large: int = 0
    batches: int = 0
    refused_unchecked: int = 0  # under --enforce: client messages it could not check, not forwarded
    refused_from_server: int = 0  # under --enforce: server answers that may list tools, unchecked, not passed on


@dataclass(frozen=True)
class Options:
    grant: str = "default"
    enforce: bool = False
    redact: frozenset[str] = frozenset()
    redact_unread: bool = False


def _key(channel: Any, ident: Any) -> tuple:
    # 1 and "1" are different JSON-RPC ids; an object or array id (a hostile client's) is keyed by
    # its JSON text, as it cannot be hashed
    if type(ident) in (dict, list):
        return (channel, None, orjson.dumps(ident, option=orjson.OPT_SORT_KEYS))
    return (channel, type(ident) is str, ident)


def encode(message: Any) -> bytes:
    return orjson.dumps(message)


def refusal(ident: Any, code: int, what: str) -> dict:
    """The JSON-RPC error --enforce answers a message it could not check with."""
    return {"jsonrpc": "2.0", "id": ident,
            "error": {"code": code, "message": f"policyctl record --enforce: {what}; not forwarded"}}


def server_refusal(ident: Any, what: str, answer: str = "tools/list answer") -> dict:
    """The JSON-RPC error --enforce answers the client with in place of a server answer that may
    list tools and could not be checked (hidden tools must not reach the client)."""
    return {"jsonrpc": "2.0", "id": ident,
            "error": {"code": _INTERNAL_ERROR, "message": f"policyctl record --enforce: could not check the "
                                                          f"server's {answer} ({what}); not forwarded"}}


def _tools_bearing(msg: dict) -> bool:
    """Whether ``msg`` has a ``result`` object with a ``tools`` member, names read without case (as
    Go's encoding/json reads them): what a client may take for a tools/list answer, whatever its id."""
    for key, value in msg.items():
        if type(key) is str and key.casefold() == "result" and type(value) is dict:
            if any(type(k) is str and k.casefold() == "tools" for k in value):
                return True
    return False


def _tools_problem(msg: dict) -> str | None:
    """Why the tools/list answer ``msg`` (strictly parsed, no repeated member) cannot be filtered
    as every client would read it, or None."""
    alias = _alias(msg, _MEMBERS)
    if alias is not None:
        return f"member name {orjson.dumps(alias).decode()} is not exact"
    result = msg.get("result")
    if type(result) is not dict:
        return None  # an error answer, or no tools to read
    alias = _alias(result, _TOOLS)
    if alias is not None:
        return f"member name {orjson.dumps(alias).decode()} is not exact"
    if "tools" not in result:
        return None
    tools = result["tools"]
    if type(tools) is not list:
        return "result.tools is not an array"
    for tool in tools:
        if type(tool) is not dict:
            return "a tool is not an object"
        alias = _alias(tool, _NAME)
        if alias is not None:
            return f"member name {orjson.dumps(alias).decode()} is not exact"
        if type(tool.get("name")) is not str:
            return "a tool's name is not a string"
    return None


def _lenient_views(raw: bytes) -> list:
    """``raw`` as lenient parsers read what the proxy's strict one refuses: invalid UTF-8 replaced
    (as Go does), a BOM skipped, NaN and Infinity accepted (Python's json, pydantic), a repeated
    member name's first or last value. Empty if none of them reads it."""
    text = raw.decode("utf-8", "replace").strip().lstrip("\ufeff")
    views = []
    for hook in (dict, _first_wins):
        try:
            views.append(json.loads(text, object_pairs_hook=hook))
        except (RecursionError, ValueError):
            pass
    return views


def _first_wins(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _alias(obj: dict, names: frozenset[str]) -> str | None:
    """A key of ``obj`` that is none of ``names`` but equals one without case (Unicode case
    folding: ``METHOD``, ``Name``, ``paramſ``), as a decoder that matches names so reads it."""
    for key in obj:
        if type(key) is str and key not in names and key.casefold() in names:
            return key
    return None


class _Twice(Exception):
    pass


def _no_twice(pairs: list) -> None:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise _Twice(key)
        seen.add(key)


def _duplicate(raw: bytes) -> str | None:
    """A member name that appears twice in one object of ``raw`` (valid JSON), or None. The proxy
    (orjson) keeps the last; a parser that keeps the first, or Go's encoding/json, which merges a
    repeated object into a map it already decoded (``"arguments":{"mode":"rm"},"arguments":{}``
    leaves ``mode`` set), would read another call than the one decided."""
    try:
        json.loads(raw, object_pairs_hook=_no_twice)
    except _Twice as exc:
        return str(exc.args[0])
    except (RecursionError, ValueError):
        return ""  # deeper than Python's json goes: not checked, so not forwarded either
    return None


def denial(ident: Any, message: str) -> dict:
    """The answer an enforcing gateway gives a denied call: a tool result with ``isError`` (also
    Intercept's, whose text starts ``[INTERCEPT POLICY DENIED]``; it is not a JSON-RPC error)."""
    return {"jsonrpc": "2.0", "id": ident,
            "result": {"content": [{"type": "text", "text": message}], "isError": True}}


class Recorder:
    """Pairs calls with answers, decides, and writes trace lines in arrival order. Thread-safe."""

    def __init__(self, trace: TraceFile, *, options: Options = Options(), gate: PolicyGate | None = None,
                 on_tools: Callable[[list, str | None, str | None, str | None], None] | None = None,
                 clock: Clock | None = None) -> None:
        self.trace = trace
        self.options = options
        self.gate = gate
        self.on_tools = on_tools
        self.clock = clock or Clock()
        self.stats = Stats()
        self.lock = threading.Lock()
        self._calls: dict[tuple, deque[Call]] = {}
        self._watched: dict[tuple, tuple[str, Any]] = {}
        self._queue: deque[Call] = deque()
        self._held: deque[Call] = deque()
        self._deliveries: list[tuple[Callable, bytes | None, bytes | None]] = []
        self._delivery_lock = threading.Lock()
        self._closing = False
        self.server_name: str | None = None
        self.server_version: str | None = None
        self.protocol_version: str | None = None
        self._tools: list | None = None
        if gate is not None:
            written = gate.history
            gate.history = lambda: chain(written(), self._decided_unwritten())

    def _decided_unwritten(self) -> Iterator[ReplayCall]:
        """Calls decided on arrival (``--enforce``) whose lines are not written yet, for rebuilding
        counters after a policy reload (the lock is held: reloads happen inside ``decide``)."""
        for c in self._queue:
            if c.decision is not None:
                yield ReplayCall(c.ts_ns, c.grant, c.tool, c.args,
                                 c.upstream if c.upstream not in (None, "ok") else False)

    # -- from the client ---------------------------------------------------------------------------
    def from_client(self, raw: bytes, *, channel: Any = None, grant: str | None = None,
                    calls: list | None = None, later: Callable[[bytes | None, bytes | None], None] | None = None,
                    held: list | None = None) -> tuple[bytes | None, bytes | None]:
        """``(to forward, local answer)`` for one client message (a stdio line, an HTTP body);
        ``calls`` (if given) receives the keys of the calls it registered.

        Under ``--enforce`` a call that a limit would deny while an earlier allowed call is still
        waiting for its answer is *held* (and so is every call after it): it is left out of what
        to forward, and ``later(forward, answer)`` delivers it once the earlier answers are in —
        a failed one gives its reservations back first, exactly as ``simulate`` replays it."""
        try:
            return self._from_client(raw, channel, grant, calls, later, held)
        finally:
            self._deliver()

    def _from_client(self, raw: bytes, channel: Any, grant: str | None, calls: list | None,
                     later: Any, held: list | None) -> tuple[bytes | None, bytes | None]:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            if raw.strip():
                with self.lock:
                    if self.options.enforce:  # another parser may read it (NaN, a BOM, …): not unchecked
                        self.stats.refused_unchecked += 1
                        return None, encode(refusal(None, _PARSE_ERROR, "not valid JSON"))
                    self.stats.malformed_from_client += 1
            return raw, None
        if self.options.enforce and type(data) in (dict, list):
            twice = _duplicate(raw)
            if twice is not None:
                with self.lock:
                    self.stats.refused_unchecked += 1
                what = (f"member name {orjson.dumps(twice).decode()} appears twice" if twice
                        else "nested too deeply to check")
                return None, encode(refusal(None, _INVALID_REQUEST, what))
        grant = self.options.grant if grant is None else grant
        if isinstance(data, list):
            with self.lock:
                self.stats.batches += 1
            keep, answers = [], []
            for item in data:
                answer = self._client_item(item, channel, grant, calls, later)
                if answer is None:
                    keep.append(item)
                elif answer is DROPPED:
                    pass
                elif answer is not HELD:
                    answers.append(answer)
                elif held is not None:
                    held.append(item.get("id"))
            if len(keep) == len(data):
                return raw, None
            return (encode(keep) if keep else None), (encode(answers) if answers else None)
        answer = self._client_item(data, channel, grant, calls, later)
        if answer is None:
            return raw, None
        if answer is DROPPED:
            return None, None
        if answer is HELD:
            if held is not None:
                held.append(data.get("id"))
            return None, None
        return None, encode(answer)

    def _client_item(self, msg: Any, channel: Any, grant: str, calls: list | None = None,
                     later: Any = None) -> Any:
        if type(msg) is not dict:
            with self.lock:
                self.stats.malformed_from_client += 1
            return None
        if self.options.enforce:
            unsafe = self._unchecked(msg)
            if unsafe is not None:
                with self.lock:
                    self.stats.refused_unchecked += 1
                return unsafe
            if msg.get("method") is not None and msg.get("id") is not None and self._in_use(_key(channel, msg["id"])):
                # answers are paired by id: another request's answer (an error) would be taken for the
                # call's, and a failed call gives its rate-limit reservation back while it still runs
                with self.lock:
                    self.stats.refused_unchecked += 1
                return refusal(msg["id"], _INVALID_REQUEST, "id already in use by a request still waiting for "
                                                            "its answer")
        method = msg.get("method")
        if method is None:
            return None  # a response to a server→client request
        ident = msg.get("id")
        if method == "tools/call" and ident is not None:
            params = msg.get("params")
            tool = params.get("name") if type(params) is dict else None
            args = params.get("arguments", {}) if type(params) is dict else None
            if args is None and type(params) is dict:
                args = {}  # "arguments": null: the server calls the tool with none
            if type(tool) is not str or type(args) is not dict:
                with self.lock:
                    self.stats.malformed_from_client += 1
                return None  # the server will say what is wrong; nothing replayable to record
            if calls is not None:
                calls.append(_key(channel, ident))
            return self._call(Call(0, grant, tool, args, ident, channel, message=msg, later=later))
        if method in _WATCHED and ident is not None:
            params = msg.get("params")
            cursor = params.get("cursor") if type(params) is dict else None
            if method == "tools/list" and type(params) is dict and type(params.get("_meta")) is dict:
                version = params["_meta"].get(_META_VERSION)
                if type(version) is str:
                    self.protocol_version = version
            with self.lock:
                self._watched[_key(channel, ident)] = (method, cursor)
            return None
        if method == "notifications/cancelled":
            params = msg.get("params")
            rid = params.get("requestId") if type(params) is dict else None
            if rid is not None:
                with self.lock:
                    # the id is free again; a late tools/list answer with result.tools is still filtered
                    self._watched.pop(_key(channel, rid), None)
                    self._answer(_key(channel, rid), "no_response")
        return None

    def _in_use(self, key: tuple) -> bool:
        """Under --enforce: whether a call or a watched request with this key awaits its answer."""
        with self.lock:
            return (bool(self._calls.get(key)) or key in self._watched
                    or any(_key(c.channel, c.ident) == key for c in self._held))

    @staticmethod
    def _unchecked(msg: dict) -> Any:
        """Under --enforce: the refusal (or DROPPED) for a message the proxy cannot check as the
        server would read it, or None."""
        alias = _alias(msg, _MEMBERS)
        if alias is not None:
            return refusal(None, _INVALID_REQUEST, f"member name {orjson.dumps(alias).decode()} is not exact")
        if msg.get("method") != "tools/call":
            return None
        if "id" not in msg:
            return DROPPED  # a tools/call as a notification: no answer is allowed, and none runs
        ident = msg["id"]
        if ident is None:
            return refusal(None, _INVALID_REQUEST, "a tools/call needs an id")
        if type(ident) not in (str, int):  # true, 1.0, {…}: the Python SDK reads such a call as a notification
            return refusal(None, _INVALID_REQUEST, "a tools/call id must be a string or an integer")
        params = msg.get("params")
        if type(params) is not dict:
            return refusal(ident, _INVALID_PARAMS, "tools/call params must be an object")
        alias = _alias(params, _CALL_PARAMS)
        if alias is not None:
            return refusal(ident, _INVALID_PARAMS, f"member name {orjson.dumps(alias).decode()} is not exact")
        if type(params.get("name")) is not str:
            return refusal(ident, _INVALID_PARAMS, "tools/call needs a tool name (a string)")
        if type(params.get("arguments", {})) not in (dict, type(None)):
            return refusal(ident, _INVALID_PARAMS, "tools/call arguments must be an object")
        return None

    def _call(self, call: Call) -> Any:
        with self.lock:
            call.ts_ns = self.clock.now_ms()
            self.stats.calls += 1
            self._queue.append(call)
            if self.gate is not None and self.options.enforce:
                if self._held or not self._decide(call):
                    self._held.append(call)
                    return HELD
                call.message = call.later = None
                if not call.decision.allowed:
                    call.upstream = "not_forwarded"
                    self._flush()
                    return denial(call.ident, self.gate.denied_text(call.decision))
            self._calls.setdefault(_key(call.channel, call.ident), deque()).append(call)
            return None

    def _decide(self, call: Call) -> bool:
        """Decide ``call`` on arrival (True), or say it must wait (False): a limit would deny it while
        an earlier allowed call's answer — which may give reservations back — is still out."""
        decision = self.gate.decide(call.ts_ns, call.grant, call.tool, call.args)  # type: ignore[union-attr]
        if not decision.allowed and self.gate.counter_bound(call.tool, decision) and not self._closing and any(  # type: ignore[union-attr]
                c.upstream is None and c.decision is not None and c.decision.allowed
                for c in self._queue if c is not call):
            return False  # a denial changes no counter: deciding again later is safe
        call.decision = decision
        return True

    def _release_held(self) -> None:
        """Decide held calls, in order, as far as the answers that came in allow (lock held)."""
        while self._held:
            call = self._held[0]
            if not self._decide(call):
                return
            self._held.popleft()
            later, message = call.later, call.message
            call.message = call.later = None
            if not call.decision.allowed:
                call.upstream = "not_forwarded"
                if later is not None:
                    self._deliveries.append((later, None,
                                             encode(denial(call.ident, self.gate.denied_text(call.decision)))))  # type: ignore[union-attr]
            elif self._closing:
                call.upstream = "no_response"  # the session ended before it could be forwarded
                if self.gate.releases_on("no_response"):  # type: ignore[union-attr]
                    self.gate.release(call.ts_ns, call.grant, call.tool, call.args)  # type: ignore[union-attr]
            else:
                self._calls.setdefault(_key(call.channel, call.ident), deque()).append(call)
                if later is not None:
                    self._deliveries.append((later, encode(message), None))
        self._flush()

    def _deliver(self) -> None:
        """Pass decided held calls on, outside the lock (writing may block), in decision order."""
        if not self._deliveries:
            return
        with self._delivery_lock:
            with self.lock:
                todo, self._deliveries = self._deliveries, []
            for later, forward, answer in todo:
                try:
                    later(forward, answer)
                except OSError:
                    pass

    # -- from the server ---------------------------------------------------------------------------
    def from_server(self, raw: bytes, *, channel: Any = None) -> bytes | None:
        """What to pass to the client for one server message: ``raw`` itself, or a filtered copy (a
        ``tools/list`` answer under ``--enforce``)."""
        try:
            return self._from_server(raw, channel)
        finally:
            self._deliver()

    def _filtering(self) -> bool:
        return self.gate is not None and self.options.enforce

    def _list_due(self, channel: Any) -> bool:
        """Whether a tools/list request on ``channel`` awaits its answer."""
        with self.lock:
            return any(k[0] == channel and m == "tools/list" for k, (m, _) in self._watched.items())

    def _from_server(self, raw: bytes, channel: Any) -> bytes | None:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            if raw.strip():
                if self._filtering():
                    refused = self._unchecked_lists(raw, channel, None, "not valid JSON")
                    if refused is not None:
                        return refused
                with self.lock:
                    self.stats.malformed_from_server += 1
            return raw
        if self._filtering() and type(data) in (dict, list) and (self._list_due(channel) or any(
                type(m) is dict and _tools_bearing(m) for m in (data if type(data) is list else [data]))):
            twice = _duplicate(raw)
            if twice is not None:
                what = (f"member name {orjson.dumps(twice).decode()} appears twice" if twice
                        else "nested too deeply to check")
                refused = self._unchecked_lists(raw, channel, data, what)
                if refused is not None:
                    return refused
        if isinstance(data, list):
            changed = False
            out = []
            for item in data:
                new = self._server_item(item, channel)
                changed = changed or new is not item
                out.append(new)
            return encode(out) if changed else raw
        new = self._server_item(data, channel)
        return raw if new is data else encode(new)

    def _unchecked_lists(self, raw: bytes, channel: Any, data: Any, what: str) -> bytes | None:
        """Under --enforce: the refusals that replace a server message the proxy cannot check (not
        valid JSON, a member name twice) when some reading of it may be a tools/list answer — it
        answers a tools/list request, or has ``result.tools`` — or None to pass it on as it is.
        Other answers in a batch (``data``, the strict reading) are passed on re-encoded."""
        views = _lenient_views(raw) if data is None else [data, *_lenient_views(raw)[1:]]
        refused: list = []
        for view in views:
            for item in view if type(view) is list else [view]:
                if type(item) is not dict:
                    continue
                ident = item.get("id")
                key = _key(channel, ident)
                with self.lock:
                    due = self._watched.get(key, ("",))[0] == "tools/list"
                if (due or _tools_bearing(item)) and not any(_key(channel, r) == key for r in refused):
                    refused.append(ident)
        if not views:
            # no parser reads it whole, but a streaming decoder (Go's json.Decoder) may join it to the
            # lines around it: while a tools/list answer is due, it is dropped and every tools/list
            # request due on the channel is answered with the refusal
            with self.lock:
                refused += [orjson.loads(k[2]) if type(k[2]) is bytes else k[2]
                            for k, (m, _) in self._watched.items() if k[0] == channel and m == "tools/list"]
        if not refused:
            return None
        answers = []
        with self.lock:
            for ident in refused:
                self._watched.pop(_key(channel, ident), None)
                self.stats.refused_from_server += 1
                answers.append(server_refusal(ident, what))
        if type(data) is list:
            keys = {_key(channel, r) for r in refused}
            for item in data:
                if not (type(item) is dict and _key(channel, item.get("id")) in keys):
                    answers.append(self._server_item(item, channel))
            return encode(answers)
        if type(data) is dict and data.get("id") not in refused:
            self._server_item(data, channel)  # pair a call's answer; what the client gets is the refusal
        return encode(answers[0] if len(answers) == 1 else answers)

    def _server_item(self, msg: Any, channel: Any) -> Any:
        if type(msg) is not dict:
            with self.lock:
                self.stats.malformed_from_server += 1
            return msg
        if "method" in msg or "id" not in msg:
            if self._filtering() and _tools_bearing(msg):
                return self._checked_list(msg, msg.get("id"), channel)
            return msg  # a server→client request or notification
        key = _key(channel, msg["id"])
        with self.lock:
            paired = key in self._calls
            if paired:
                self._answer(key, _outcome(msg))
            watched = None if paired else self._watched.pop(key, None)
        if paired:
            if self._filtering() and _tools_bearing(msg):
                return self._checked_list(msg, msg["id"], channel)
            return msg
        if watched is None:
            if self._filtering() and _tools_bearing(msg):
                return self._checked_list(msg, msg["id"], channel)
            return msg
        method, cursor = watched
        if method == "tools/list" and self._filtering():
            problem = _tools_problem(msg)
            if problem is not None:
                with self.lock:
                    self.stats.refused_from_server += 1
                return server_refusal(msg["id"], problem)
        result = msg.get("result")
        if type(result) is not dict:
            return msg
        if method == "initialize":
            self._identity(result.get("serverInfo"))
            version = result.get("protocolVersion")
            if type(version) is str:
                self.protocol_version = version
        elif method == "server/discover":
            meta = result.get("_meta")
            info = meta.get(_META_SERVER_INFO) if type(meta) is dict else None
            self._identity(info if info is not None else result.get("serverInfo"))
            self.protocol_version = MODERN
        elif method == "tools/list":
            return self._tools_page(msg, result, cursor)
        if self._filtering() and _tools_bearing(msg):
            return self._checked_list(msg, msg["id"], channel)
        return msg

    def _checked_list(self, msg: dict, ident: Any, channel: Any) -> Any:
        """Under --enforce: a message with ``result.tools`` that answers no tools/list request the
        proxy knows of (a client may still read it as one: ``"id":"1"`` for a request 1, say),
        filtered like a tools/list answer, or refused when it cannot be."""
        problem = _tools_problem(msg)
        if problem is not None:
            with self.lock:
                self.stats.refused_from_server += 1
            return server_refusal(ident, problem)
        result = msg.get("result")
        assert type(result) is dict
        tools = result["tools"]
        with self.lock:
            kept = [t for t in tools if not self.gate.hidden(t["name"])]  # type: ignore[union-attr]
        if len(kept) == len(tools):
            return msg
        return {**msg, "result": {**result, "tools": kept}}

    def _identity(self, info: Any) -> None:
        if type(info) is dict:
            name, version = info.get("name"), info.get("version")
            with self.lock:
                self.server_name = name if type(name) is str and name else self.server_name
                self.server_version = version if type(version) is str and version else self.server_version

    def _tools_page(self, msg: dict, result: dict, cursor: Any) -> dict:
        tools = result.get("tools")
        if type(tools) is not list:
            return msg
        nxt = result.get("nextCursor")
        if self.on_tools is not None:
            if cursor is None:
                self._tools = list(tools)
            elif self._tools is not None:
                self._tools.extend(tools)
            if not nxt and self._tools is not None:
                self.on_tools(self._tools, self.server_name, self.server_version, self.protocol_version)
                self._tools = None
        if self.gate is None or not self.options.enforce:
            return msg
        with self.lock:
            kept = [t for t in tools if not (type(t) is dict and type(t.get("name")) is str
                                             and self.gate.hidden(t["name"]))]
        if len(kept) == len(tools):
            return msg
        return {**msg, "result": {**result, "tools": kept}}

    # -- the sequencer (caller holds the lock) ------------------------------------------------------
    def _answer(self, key: tuple, upstream: str) -> None:
        calls = self._calls.get(key)
        if not calls:
            return
        call = calls.popleft()
        if not calls:
            del self._calls[key]
        call.upstream = upstream
        if (call.decision is not None and call.decision.allowed and self.gate is not None
                and self.gate.releases_on(upstream)):
            self.gate.release(call.ts_ns, call.grant, call.tool, call.args)
        if self._held:
            self._release_held()
        self._flush()

    def _flush(self) -> None:
        queue = self._queue
        while queue and queue[0].upstream is not None:
            self._write(queue.popleft())

    def _write(self, call: Call) -> None:
        upstream = call.upstream or "no_response"
        shadow = None
        decision = call.decision
        if self.gate is not None:
            if decision is None:
                decision = self.gate.decide(call.ts_ns, call.grant, call.tool, call.args,
                                            upstream_error=False if upstream == "ok" else upstream)
            shadow = shadow_field(decision)
            key = decision.reason
            self.stats.decisions[key] = self.stats.decisions.get(key, 0) + 1
        args = call.args
        if self.options.redact:
            args = redact_keys(args, self.options.redact)
        if self.options.redact_unread and self.gate is not None:
            args = keep_paths(args, self.gate.paths(call.tool))
        self.trace.write(record_line(ts_ns=call.ts_ns, grant=call.grant, tool=call.tool, args=args,
                                     ident=call.ident, server=self.server_name, upstream=upstream,
                                     shadow=shadow))
        self.stats.upstream[upstream] = self.stats.upstream.get(upstream, 0) + 1

    def unanswered(self, keys: list) -> None:
        """The calls at ``keys`` will get no answer (their stream ended or the upstream failed)."""
        with self.lock:
            for key in keys:
                while key in self._calls:
                    self._answer(key, "no_response")
        self._deliver()

    # -- the end -----------------------------------------------------------------------------------
    def large_from_server(self, head: bytes, tail: bytes, *, channel: Any = None) -> None:
        """A server message too large to read (relayed unread): pair it with its call from its first
        and last bytes — the top-level ``id`` first (``{"jsonrpc":"2.0","id":…``, as Python SDKs
        write it) or last (``…,"id":…}``, as the TypeScript SDK writes it)."""
        m = _HEAD_ID.match(head) or _TAIL_ID.search(tail)
        if m is None:
            return
        try:
            ident = orjson.loads(m.group(1))
        except orjson.JSONDecodeError:
            return
        outcome = _large_outcome(head, tail)
        with self.lock:
            self._answer(_key(channel, ident), outcome)
        self._deliver()

    def withhold_large(self, channel: Any = None) -> bool:
        """Under --enforce: whether a server message too large to read must be kept from the client
        (read to its end, never passed on): a tools/list answer is due on its channel, and this may
        be it — its id may come last, or twice."""
        return self._filtering() and self._list_due(channel)

    def large_refused(self, head: bytes, tail: bytes, *, channel: Any = None,
                      what: str = "too large to read") -> bytes | None:
        """The answer that replaces a server message ``withhold_large`` kept back: a refusal for the
        tools/list request or the call its first or last bytes name; with no id there, for every
        tools/list request due on the channel (fail closed: an answer that comes later is filtered,
        or refused, by its ``result.tools``); None if none is due."""
        found = []
        for m in (_HEAD_ID.match(head), _TAIL_ID.search(tail)):
            try:
                if m is not None:
                    found.append(orjson.loads(m.group(1)))
            except orjson.JSONDecodeError:
                pass
        outcome = _large_outcome(head, tail)
        with self.lock:
            self.stats.refused_from_server += 1
            refusals = self._large_refusals(found, channel, what, outcome)
        self._deliver()
        if not refusals:
            return None
        return encode(refusals[0] if len(refusals) == 1 else refusals)

    def _large_refusals(self, found: list, channel: Any, what: str, outcome: str) -> list:
        for ident in found:
            key = _key(channel, ident)
            if self._watched.get(key, ("",))[0] == "tools/list":
                del self._watched[key]
                return [server_refusal(ident, what)]
        for ident in found:
            key = _key(channel, ident)
            if key in self._calls:
                self._answer(key, outcome)
                return [server_refusal(ident, f"{what} while a tools/list answer is due", "answer")]
        if found:
            return [server_refusal(found[0], what)]
        refusals = []
        for key in [k for k, (m, _) in self._watched.items() if k[0] == channel and m == "tools/list"]:
            del self._watched[key]
            refusals.append(server_refusal(orjson.loads(key[2]) if type(key[2]) is bytes else key[2], what))
        return refusals

    def count_unread(self) -> None:
        with self.lock:
            self.stats.unread_large += 1

    def finish(self) -> Stats:
        """Write every call still waiting (unanswered ones as ``no_response``); close the trace."""
        with self.lock:
            self._closing = True
            held = {id(c) for c in self._held}
            for call in self._queue:
                if call.upstream is None and id(call) not in held:
                    call.upstream = "no_response"
                    if (call.decision is not None and call.decision.allowed and self.gate is not None
                            and self.gate.releases_on("no_response")):
                        self.gate.release(call.ts_ns, call.grant, call.tool, call.args)
            self._release_held()
            self._calls.clear()
            self._deliveries.clear()
            self._flush()
            self.trace.close()
        return self.stats


_ID = rb'("(?:[^"\\]|\\.)*"|-?\d+)'
_HEAD_ID = re.compile(rb'\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*' + _ID)
_TAIL_ID = re.compile(rb'"id"\s*:\s*' + _ID + rb'\s*\}\s*\Z')
_HEAD_ERROR = re.compile(rb'\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?(?:"id"\s*:\s*[^,]*,\s*)?"error"\s*:')
_TOOL_ERROR = re.compile(rb'"isError"\s*:\s*true')


def _outcome(msg: dict) -> str:
    if "error" in msg:
        return "jsonrpc_error"
    result = msg.get("result")
    if type(result) is dict and result.get("isError") is True:
        return "tool_error"
    return "ok"


def history_of(path: str) -> Callable[[], Any]:
    """The calls written to ``path`` so far, for rebuilding counters after a policy reload."""
    def calls() -> Any:
        from policyctl.mcp.proxy.shadow import replay_calls

        return iter(replay_calls(path))
    return calls


__all__ = ["Recorder", "Options", "Stats", "Call", "Clock", "denial", "history_of", "ReplayCall", "NS"]


def _large_outcome(head: bytes, tail: bytes) -> str:
    """The upstream outcome of an answer too large to read, from its first and last bytes."""
    if _HEAD_ERROR.match(head):
        return "jsonrpc_error"
    if _TOOL_ERROR.search(tail):
        return "tool_error"
    return "ok"
