"""Reading traces: JSON Lines of recorded (or imagined) tool calls, streamed (SPEC §3).

Two record shapes are accepted on any line — a plain record (``tool``/``args``) and an MCP message
record (``message`` holding a JSON-RPC request; only ``tools/call`` is evaluated, other methods are
counted and skipped). ``ts`` is an RFC 3339 string with ``Z`` or an offset, or a number of seconds
since the epoch; it is converted once to integer nanoseconds (``ts_ns``) so window edges are exact.

Public API::

    @dataclass(frozen=True, slots=True)
    class TraceCall:
        line, ts, ts_raw, grant, tool, args, id, upstream_error, expect, expect_rule, ts_ns, server, upstream
    read_trace(path, *, skip_invalid=False, stats=None) -> Iterator[TraceCall]   # "-" = stdin
    parse_ts(raw) -> int                                                          # ns, or ValueError

A bad line raises :class:`~policyctl.errors.InputError` ``<file>:<line>: <what is wrong>`` unless
``skip_invalid``, in which case it is counted (and its message kept) in :class:`TraceStats`.

``ts``/``ts_ns`` of a call are the time it is *evaluated* at: its own timestamp, or — when the line
goes back in time — the newest timestamp seen so far (a gateway's clock does not run backwards;
such lines are counted in ``TraceStats.backwards``). ``ts_raw`` is always the line's own value.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator, Protocol

import orjson

from policyctl.engine.counters import NS
from policyctl.engine.evaluator import EXPECT_VALUES, seconds_to_ns
from policyctl.errors import InputError
from policyctl.files import STDIN, display_name, read_error
from policyctl.traces.timestamps import MAX_NS, MIN_NS, TimeCache, lacks_timezone, prefix_ns, suffix_ns

__all__ = ["TraceCall", "TraceStats", "read_trace", "iter_records", "decode_lines", "parse_ts", "open_trace",
           "MAX_LINE_BYTES", "UPSTREAM_KINDS", "check_extras"]

MAX_LINE_BYTES = 16 * 1024 * 1024  # a longer line is refused rather than buffered without bound
_CHUNK = 1 << 20
_KEEP_MESSAGES = 20  # invalid-line messages remembered for the report (the count is always exact)

@dataclass(frozen=True, slots=True)
class TraceCall:
    """One ``tools/call`` from a trace, as the evaluator and the reporters need it."""

    line: int
    ts: float
    ts_raw: object
    grant: str
    tool: str
    args: dict
    id: object
    upstream_error: bool
    expect: str | None
    expect_rule: str | None
    ts_ns: int | None = None  # exact time; None → derived from ``ts``
    server: str | None = None  # the MCP server's name, when the record names it
    upstream: str | None = None  # SPEC §3 ``upstream`` (ok, jsonrpc_error, tool_error, …), when given

    @property
    def arg_keys(self) -> list[str]:
        return sorted(self.args)


@dataclass
class TraceStats:
    """What the reader saw besides calls; filled in while streaming."""

    lines: int = 0
    calls: int = 0
    blank_lines: int = 0
    non_tool_messages: int = 0
    invalid_lines: int = 0
    invalid_messages: list[str] = field(default_factory=list)
    backwards: int = 0
    first_backwards_line: int | None = None


# --- timestamps --------------------------------------------------------------------------------

def _describe(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _ts_error(raw: Any) -> str:
    if isinstance(raw, str):
        shown = _describe(raw)
        if lacks_timezone(raw.strip()):
            return f'"ts" has no timezone: "{shown}" (add Z or an offset such as +02:00)'
        if any(c.isdigit() and not "0" <= c <= "9" for c in raw):
            return f'"ts" is not an RFC 3339 timestamp (its digits must be ASCII 0-9): "{shown}"'
        return f'"ts" is not an RFC 3339 timestamp: "{shown}"'
    return f'"ts" must be an RFC 3339 string or a number of seconds since the epoch, got {_json_type(raw)}'


def parse_ts(raw: Any) -> int:
    """Nanoseconds since the epoch for an RFC 3339 string (``Z`` or offset) or an epoch number."""
    t = type(raw)
    try:
        if t is str:
            if len(raw) < 20:
                raise ValueError
            ns = prefix_ns(raw[:19]) + suffix_ns(raw[19:])
        elif t is int or t is float:
            ns = seconds_to_ns(raw)
        else:
            raise ValueError
    except (ValueError, OverflowError) as exc:
        detail = str(exc)
        msg = _ts_error(raw)
        raise ValueError(f"{msg}: {detail}" if detail and "leap" in detail else msg) from None
    if not MIN_NS <= ns < MAX_NS:
        raise ValueError(f'"ts" is out of range (years 1 to 9999): {_describe(raw)}')
    return ns


# --- records -----------------------------------------------------------------------------------

def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    t = type(v)
    if t is bool:
        return "true" if v else "false"
    if t is int or t is float:
        return "a number"
    if t is str:
        return "a string"
    if t is list:
        return "an array"
    if t is dict:
        return "an object"
    return t.__name__


class BadRecord(Exception):
    """A bad line (internal; becomes InputError or a counted skip)."""


def open_trace(path: str) -> IO[bytes]:
    """Open a trace for binary streaming (``-`` = stdin), turning OS errors into InputError."""
    if str(path) == STDIN:
        return sys.stdin.buffer
    name = display_name(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the reader
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    except OSError as exc:
        raise read_error(name, exc) from None
    return fh


class OverlongLine(bytes):
    """Stands in for a line longer than MAX_LINE_BYTES (its bytes are dropped, not buffered)."""


OVERLONG = OverlongLine()


class ByteReader(Protocol):
    """What the line readers need of a file: ``read(n)``."""

    def read(self, n: int, /) -> bytes: ...


def iter_lines(fh: ByteReader, name: str, progress: Callable[[int], None] | None = None) -> Iterator[list[bytes]]:
    """Batches of physical lines (without the newline), read in 1 MiB chunks; ``progress(bytes)`` per chunk.

    A line longer than MAX_LINE_BYTES is yielded as :data:`OVERLONG` (the readers report it as a bad
    line) and its bytes are skipped up to the next newline, so memory stays bounded.
    """
    rest = b""
    first = True
    skipping = False
    while True:
        try:
            chunk = fh.read(_CHUNK)
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
        if not chunk:
            break
        if progress is not None:
            progress(len(chunk))
        if first:
            first = False
            if chunk.startswith(b"\xef\xbb\xbf"):  # tolerate a UTF-8 byte order mark
                chunk = chunk[3:]
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                continue
            chunk = chunk[cut + 1:]
            skipping = False
        if rest:
            chunk = rest + chunk
        lines = chunk.split(b"\n")
        rest = lines.pop()
        if len(rest) > MAX_LINE_BYTES:
            lines.append(OVERLONG)
            rest = b""
            skipping = True
        if lines:
            yield lines
    if rest:
        yield [rest]


def decode_record(rec: Any) -> tuple:
    """Validate one decoded line: ``(ts_ns, grant, tool, args, upstream, msg)``; ``tool`` is None for
    an MCP message other than ``tools/call`` (counted and skipped). Raises ``BadRecord`` with what is wrong.

    This is the complete rule set; the streaming loops below (and the simulator's) inline a fast
    path for the common well-formed plain record and fall back to this function for anything else.
    """
    if type(rec) is not dict:
        raise BadRecord(f"expected a JSON object, got {_json_type(rec)}")
    if "ts" not in rec:
        raise BadRecord('missing "ts"')
    try:
        ts_ns = parse_ts(rec["ts"])
    except ValueError as exc:
        raise BadRecord(str(exc)) from None
    msg = None
    if "tool" in rec:
        tool = rec["tool"]
        if type(tool) is not str:
            raise BadRecord(f'"tool" must be a string, got {_json_type(tool)}')
        if "message" in rec:
            raise BadRecord('has both "tool" and "message"; use one shape per line')
        args = rec.get("args", _ABSENT)
        if args is _ABSENT:
            args = {}
        elif type(args) is not dict:
            raise BadRecord(f'"args" must be an object, got {_json_type(args)}')
    elif "message" in rec:
        msg = rec["message"]
        if type(msg) is not dict:
            raise BadRecord(f'"message" must be a JSON-RPC request object, got {_json_type(msg)}')
        method = msg.get("method")
        if method != "tools/call":
            _check_common(rec)
            if states_expectation(rec):
                # Only tools/call is evaluated: an expectation here would pass without being checked.
                shown = f'"{_describe(method)}"' if isinstance(method, str) else _json_type(method)
                key = "expect" if rec.get("expect") is not None else "expect_rule"
                raise BadRecord(f'"{key}" on a message that is not a tools/call call is never checked '
                           f'(method {shown}; only exactly "tools/call" is evaluated)')
            return ts_ns, None, None, None, False, msg
        params = msg.get("params")
        if type(params) is not dict:
            raise BadRecord(f'"message.params" must be an object, got {_json_type(params)}')
        tool = params.get("name")
        if type(tool) is not str:
            raise BadRecord(f'"message.params.name" must be a string, got {_json_type(tool)}')
        args = params.get("arguments", _ABSENT)
        if args is _ABSENT:
            args = {}
        elif type(args) is not dict:
            raise BadRecord(f'"message.params.arguments" must be an object, got {_json_type(args)}')
    else:
        raise BadRecord('missing "tool" (or an MCP "message")')
    grant, upstream = _check_common(rec)
    return ts_ns, grant, tool, args, upstream, msg


_ABSENT: Any = object()


def states_expectation(rec: Any) -> bool:
    """Does a decoded line state an expectation (``expect`` or ``expect_rule``, not null)?"""
    return type(rec) is dict and (rec.get("expect") is not None or rec.get("expect_rule") is not None)


def _check_common(rec: dict) -> tuple[str, bool | str]:
    grant = rec.get("grant")
    if grant is None:
        grant = "default"
    elif type(grant) is not str:
        raise BadRecord(f'"grant" must be a string or null, got {_json_type(grant)}')
    upstream = check_extras(rec)
    if "expect" in rec or "expect_rule" in rec:
        check_expect(rec)
    return grant, upstream


#: SPEC §3 ``upstream`` values and whether each implies ``upstream_error`` (None: it says nothing)
UPSTREAM_KINDS: dict[str, bool | None] = {"ok": False, "jsonrpc_error": True, "tool_error": True,
                                          "no_response": None, "not_forwarded": None}


def check_extras(rec: dict) -> bool | str:
    """Check the optional fields of a record besides ts/tool/args/grant/expect and return whether its
    upstream call failed: false, or how — the ``upstream`` kind (``jsonrpc_error``/``tool_error``)
    when the record names it, else true (a bare ``upstream_error: true``, which counts as a JSON-RPC
    error). Either way a failure is truthy; the Intercept dialect tells the two kinds apart.

    ``server`` must be a string, ``upstream`` one of :data:`UPSTREAM_KINDS` and consistent with
    ``upstream_error``, ``executed`` a boolean, ``observed`` a string, ``shadow`` an object (each may
    be null or absent). Raises ``BadRecord`` with what is wrong.
    """
    up = rec.get("upstream_error")
    if up is not None and up is not True and up is not False:
        raise BadRecord(f'"upstream_error" must be true or false, got {_json_type(up)}')
    kind = rec.get("upstream")
    if kind is not None:
        implied = UPSTREAM_KINDS.get(kind, _ABSENT) if type(kind) is str else _ABSENT
        if implied is _ABSENT:
            shown = f'"{_describe(kind)}"' if isinstance(kind, str) else _json_type(kind)
            raise BadRecord(f'"upstream" must be one of {", ".join(UPSTREAM_KINDS)}; got {shown}')
        if implied is True:
            if up is False:
                raise BadRecord(f'"upstream" is "{kind}" but "upstream_error" is false')
            up = True
        elif implied is False and up is True:
            raise BadRecord('"upstream" is "ok" but "upstream_error" is true')
    server = rec.get("server")
    if server is not None and type(server) is not str:
        raise BadRecord(f'"server" must be a string, got {_json_type(server)}')
    executed = rec.get("executed")
    if executed is not None and executed is not True and executed is not False:
        raise BadRecord(f'"executed" must be true or false, got {_json_type(executed)}')
    observed = rec.get("observed")
    if observed is not None and type(observed) is not str:
        raise BadRecord(f'"observed" must be a string, got {_json_type(observed)}')
    shadow = rec.get("shadow")
    if shadow is not None and type(shadow) is not dict:
        raise BadRecord(f'"shadow" must be an object, got {_json_type(shadow)}')
    if up is True and type(kind) is str and kind != "ok":
        return kind
    return up is True


def decode_lines(fh: ByteReader, name: str, progress: Callable[[int], None] | None = None,
                 counts: list[int] | None = None) -> Iterator[tuple]:
    """Every non-blank line of a trace, decoded and checked, as
    ``(line, ts_ns, grant, tool, args, upstream, rec, msg, bad)``.

    ``bad`` is what is wrong with a bad line (then only ``line`` is meaningful); ``tool`` is None for
    an MCP message other than ``tools/call``. No clock: ``ts_ns`` is the line's own time. ``counts``
    (``[lines, blank lines]``) receives the blank lines as they pass and the line count at the end.
    This is the one copy of the reader's fast path (a well-formed plain record costs no call to
    :func:`decode_record`); :func:`iter_records` and the simulator's worker both read through it.
    """
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    tc = TimeCache()
    prefixes, suffixes = tc.prefixes, tc.suffixes
    last_prefix = ""
    last_base = 0
    lineno = 0
    base: int | None
    upstream: bool | str
    for batch in iter_lines(fh, name, progress):
        for raw in batch:
            lineno += 1
            try:
                rec = loads(raw)
            except decode_error:
                if type(raw) is OverlongLine:
                    yield lineno, None, None, None, None, False, None, None, overlong_message()
                elif not raw.strip():
                    if counts is not None:
                        counts[1] += 1
                else:
                    yield lineno, None, None, None, None, False, None, None, json_error(raw)
                continue
            bad = None
            # Fast path: a well-formed plain record (same result as decode_record).
            ts = rec.get("ts") if type(rec) is dict else None
            tool = rec.get("tool") if ts is not None else None
            args = rec.get("args") if tool is not None else None
            grant = rec.get("grant") if args is not None else None
            ts_ns = None
            upstream = False
            msg = None
            if type(ts) is str and type(tool) is str and type(args) is dict and type(grant) is str:
                p = ts[:19]
                if p == last_prefix:
                    base = last_base
                else:
                    base = prefixes.get(p)
                    if base is None:
                        base = tc.prefix(p)
                    if base is not None:
                        last_prefix, last_base = p, base
                if base is not None:
                    s = ts[19:]
                    off = suffixes.get(s)
                    if off is None:
                        off = tc.suffix(s)
                    if off is not None:
                        ts_ns = base + off
                if ts_ns is not None and len(rec) != 4:
                    if "message" in rec:
                        ts_ns = None
                    else:
                        try:
                            upstream = check_extras(rec)
                            if "expect" in rec or "expect_rule" in rec:
                                check_expect(rec)
                        except BadRecord as exc:
                            bad = str(exc)
            if ts_ns is None and bad is None:
                try:
                    ts_ns, grant, tool, args, upstream, msg = decode_record(rec)
                except BadRecord as exc:
                    bad = str(exc)
            yield lineno, ts_ns, grant, tool, args, upstream, rec, msg, bad
    if counts is not None:
        counts[0] = lineno


def iter_records(path: str, *, skip_invalid: bool = False, stats: TraceStats | None = None,
                 fh: IO[bytes] | None = None,
                 progress: Callable[[int], None] | None = None,
                 on_unchecked: Callable[[int, str], None] | None = None) -> Iterator[tuple]:
    """Stream a trace as ``(line, ts_ns, grant, tool, args, upstream, rec, msg)`` tuples.

    ``rec`` is the decoded line (for ``ts``, ``id``, ``expect``…), ``msg`` the JSON-RPC message of
    an MCP record (None for a plain record). Most callers want :func:`read_trace`.
    ``on_unchecked(line, message)`` hears of every invalid line skipped (``skip_invalid``) although
    it states an expectation: an expectation that was never checked.
    """
    if stats is None:
        stats = TraceStats()
    name = display_name(path)
    own = fh is None
    if fh is None:
        fh = open_trace(path)
    counts = [0, 0]
    prev_ns: int | None = None
    lineno = 0
    calls = 0
    try:
        for lineno, ts_ns, grant, tool, args, upstream, rec, msg, bad in decode_lines(fh, name, progress, counts):
            if bad is not None:
                message = f"{name}:{lineno}: {bad}"
                if not skip_invalid:
                    raise InputError(message)
                stats.invalid_lines += 1
                if len(stats.invalid_messages) < _KEEP_MESSAGES:
                    stats.invalid_messages.append(message)
                if on_unchecked is not None and states_expectation(rec):
                    on_unchecked(lineno, message)
                continue
            if prev_ns is not None and ts_ns < prev_ns:
                # The evaluation clock never runs backwards: a late line is evaluated at the
                # newest time seen (its own timestamp stays in ``rec["ts"]``).
                stats.backwards += 1
                if stats.first_backwards_line is None:
                    stats.first_backwards_line = lineno
                ts_ns = prev_ns
            else:
                prev_ns = ts_ns
            if tool is None:
                stats.non_tool_messages += 1
                continue
            calls += 1
            yield (lineno, ts_ns, grant, tool, args, upstream, rec, msg)
        lineno = counts[0]
    finally:
        stats.lines = lineno
        stats.calls = calls
        stats.blank_lines += counts[1]
        if own and fh is not sys.stdin.buffer:
            fh.close()


_EXPECT_OK = frozenset(EXPECT_VALUES)


def check_expect(rec: dict) -> None:
    expect = rec.get("expect")
    if expect is not None and (type(expect) is not str or expect not in _EXPECT_OK):
        shown = f'"{_describe(expect)}"' if isinstance(expect, str) else _json_type(expect)
        raise BadRecord(f'"expect" must be one of {", ".join(EXPECT_VALUES)}; got {shown}')
    rule = rec.get("expect_rule")
    if rule is not None and type(rule) is not str:
        raise BadRecord(f'"expect_rule" must be a string, got {_json_type(rule)}')


def overlong_message() -> str:
    return f"line longer than {MAX_LINE_BYTES:,} bytes"


def json_error(raw: bytes) -> str:
    """What is wrong with a trace line that the JSON parser refused, in policyctl's words."""
    from policyctl.documents.jsonsyntax import describe_bytes

    problem = describe_bytes(bytes(raw).rstrip(b"\r\n"))
    if problem.what == "not valid UTF-8 text":
        return problem.what
    return f"invalid JSON at column {problem.column}: {problem.what}"


def record_id(rec: dict, msg: dict | None) -> object:
    """The call's id: the record's own ``id``, else (MCP records) the JSON-RPC ``message.id``."""
    if "id" in rec or msg is None:
        return rec.get("id")
    return msg.get("id")


def read_trace(path: str, *, skip_invalid: bool = False, stats: TraceStats | None = None,
               fh: IO[bytes] | None = None) -> Iterator[TraceCall]:
    """Stream the ``tools/call`` calls of a trace file (``-`` = stdin) as :class:`TraceCall` values."""
    for line, ts_ns, grant, tool, args, upstream, rec, msg in iter_records(
            path, skip_invalid=skip_invalid, stats=stats, fh=fh):
        yield TraceCall(line, ts_ns / NS, rec.get("ts"), grant, tool, args, record_id(rec, msg),
                        bool(upstream), rec.get("expect"), rec.get("expect_rule"), ts_ns, rec.get("server"),
                        rec.get("upstream"))
