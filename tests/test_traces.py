"""Trace reading (SPEC §3): both record shapes, timestamps, every kind of bad line, streaming details."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from policyctl.traces import reader as traces
from policyctl.errors import InputError
from policyctl.traces.reader import TraceStats, parse_ts, read_trace
from policyctl.traces.timestamps import format_ts

S = 1795514400  # 2026-11-24T10:00:00Z
NS = 10**9


@pytest.mark.parametrize("raw, ns", [
    ("2026-11-24T10:00:00Z", S * NS), ("2026-11-24T10:00:00.250Z", S * NS + 250_000_000),
    ("2026-11-24t10:00:00z", S * NS), ("2026-11-24T12:00:00+02:00", S * NS), ("2026-11-24T04:30:00-05:30", S * NS),
    ("2026-11-24T10:00:00-00:00", S * NS), ("2026-11-24T10:00:00.123456789Z", S * NS + 123456789),
    ("2026-11-24T10:00:00.1234567891234Z", S * NS + 123456789),  # digits past nanoseconds are dropped
    ("2026-11-24T10:00:00.5+01:00", (S - 3600) * NS + 500_000_000), ("2024-02-29T00:00:00Z", 1709164800 * NS),
    (S, S * NS), (S + 0.25, S * NS + 250_000_000), (0, 0), (S + 0.1, S * NS + 100_000_000),
])
def test_parse_ts_valid(raw, ns):
    assert parse_ts(raw) == ns


@pytest.mark.parametrize("raw, fragment", [
    ("2026-11-24T10:00:00", "has no timezone"), ("2026-11-24 10:00:00", "has no timezone"),
    ("2026-11-24T10:00", "has no timezone"), ("2026-11-24T10:00:00.5", "has no timezone"),
    ("2026-13-01T00:00:00Z", "not an RFC 3339"), ("2026-02-30T00:00:00Z", "not an RFC 3339"),
    ("2026-11-24T24:00:00Z", "not an RFC 3339"), ("2026-11-24T10:00:00+25:00", "not an RFC 3339"),
    ("2026-11-24T10:00:00.Z", "not an RFC 3339"), ("yesterday", "not an RFC 3339"), ("", "not an RFC 3339"),
    ("2026-11-24T23:59:60Z", "leap"), (True, "got true"), (None, "got null"), ([1], "got an array"),
    ("0000-01-01T00:00:00Z", "not an RFC 3339"), ("0001-01-01T00:00:00+01:00", "out of range"),
    (1e20, "out of range"), (-1e13, "out of range"),
])
def test_parse_ts_invalid(raw, fragment):
    with pytest.raises(ValueError) as exc:
        parse_ts(raw)
    assert fragment in str(exc.value)


def test_format_ts():
    assert format_ts(S * NS) == "2026-11-24T10:00:00Z"
    assert format_ts(S * NS + 250_000_000) == "2026-11-24T10:00:00.250Z"
    assert format_ts(S * NS + 1) == "2026-11-24T10:00:00.000000001Z"


def write(tmp_path: Path, text: str | bytes, name: str = "t.jsonl") -> str:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(p)


def test_plain_and_mcp_records(tmp_path):
    path = write(tmp_path, "\n".join([
        '{"ts": "2026-11-24T10:00:00.250Z", "grant": "g-ci", "tool": "end_session", "args": {"key": "k1"}, '
        '"id": "c-17", "upstream_error": false, "expect": "rate_limited", "expect_rule": "/x"}',
        "",
        '{"ts": 1795514400.25, "grant": "g-ci", "message": {"jsonrpc": "2.0", "id": 7, "method": "tools/call", '
        '"params": {"name": "end_session", "arguments": {"key": "k1"}}}}',
        '{"ts": 1795514401, "id": "top", "message": {"jsonrpc": "2.0", "id": 8, "method": "tools/call", '
        '"params": {"name": "t"}}, "upstream_error": true}',
        '{"ts": 1795514401, "message": {"jsonrpc": "2.0", "method": "notifications/initialized"}}',
        '{"ts": 1795514402, "message": {"jsonrpc": "2.0", "id": 8, "result": {"content": []}}}',
        '{"ts": "2026-11-24T10:00:03Z", "tool": "x", "grant": null}',
    ]) + "\n")
    stats = TraceStats()
    calls = list(read_trace(path, stats=stats))
    assert [(c.line, c.tool, c.grant, c.id, c.upstream_error) for c in calls] == [
        (1, "end_session", "g-ci", "c-17", False), (3, "end_session", "g-ci", 7, False),
        (4, "t", "default", "top", True), (7, "x", "default", None, False)]
    first = calls[0]
    assert first.ts_raw == "2026-11-24T10:00:00.250Z" and first.ts == 1795514400.25
    assert first.ts_ns == S * NS + 250_000_000 and first.args == {"key": "k1"} and first.arg_keys == ["key"]
    assert (first.expect, first.expect_rule) == ("rate_limited", "/x")
    assert calls[1].ts_raw == 1795514400.25 and calls[2].args == {}
    assert (stats.lines, stats.calls, stats.blank_lines, stats.non_tool_messages) == (7, 4, 1, 2)


BAD = [
    ("{not json}", "invalid JSON at column 2"),
    ("[1, 2]", "expected a JSON object, got an array"),
    ('"text"', "expected a JSON object, got a string"),
    ('{"tool": "t"}', 'missing "ts"'),
    ('{"ts": true, "tool": "t"}', '"ts" must be an RFC 3339 string or a number'),
    ('{"ts": "2026-11-24T10:00:00", "tool": "t"}', '"ts" has no timezone'),
    ('{"ts": "2026-11-31T10:00:00Z", "tool": "t"}', '"ts" is not an RFC 3339 timestamp'),
    ('{"ts": 1795514400}', 'missing "tool" (or an MCP "message")'),
    ('{"ts": 1795514400, "tool": 5}', '"tool" must be a string, got a number'),
    ('{"ts": 1795514400, "tool": null}', '"tool" must be a string, got null'),
    ('{"ts": 1795514400, "tool": "t", "args": null}', '"args" must be an object, got null'),
    ('{"ts": 1795514400, "tool": "t", "args": [1]}', '"args" must be an object, got an array'),
    ('{"ts": 1795514400, "tool": "t", "grant": 7}', '"grant" must be a string or null, got a number'),
    ('{"ts": 1795514400, "tool": "t", "upstream_error": "yes"}', '"upstream_error" must be true or false'),
    ('{"ts": 1795514400, "tool": "t", "expect": "maybe"}', '"expect" must be one of allow, deny, hidden'),
    ('{"ts": 1795514400, "tool": "t", "expect": 1}', '"expect" must be one of'),
    ('{"ts": 1795514400, "tool": "t", "expect_rule": 3}', '"expect_rule" must be a string'),
    ('{"ts": 1795514400, "tool": "t", "message": {}}', 'has both "tool" and "message"'),
    ('{"ts": 1795514400, "message": [1]}', '"message" must be a JSON-RPC request object, got an array'),
    ('{"ts": 1795514400, "message": {"method": "tools/call"}}', '"message.params" must be an object'),
    ('{"ts": 1795514400, "message": {"method": "tools/call", "params": {}}}', '"message.params.name" must be a string'),
    ('{"ts": 1795514400, "message": {"method": "tools/call", "params": {"name": "t", "arguments": null}}}',
     '"message.params.arguments" must be an object'),
    ('{"message": {"method": "ping"}}', 'missing "ts"'),  # skipped messages need a ts too
    ('{"ts": "nope", "message": {"method": "ping"}}', '"ts" is not an RFC 3339 timestamp'),
    (b'{"ts": 1795514400, "tool": "\xff"}', "not valid UTF-8"),
]


@pytest.mark.parametrize("line, fragment", BAD)
def test_each_bad_line_names_file_and_line(tmp_path, line, fragment):
    good = '{"ts": 1795514399, "tool": "ok"}\n\n'
    body = good.encode() + (line if isinstance(line, bytes) else line.encode()) + b"\n" + good.encode()
    path = write(tmp_path, body)
    with pytest.raises(InputError) as exc:
        list(read_trace(path))
    assert exc.value.message.startswith(f"{path}:3: ")
    assert fragment in exc.value.message


def test_skip_invalid_counts_and_keeps_going(tmp_path):
    lines = ['{"ts": 1795514400, "tool": "a"}'] + [line for line, _ in BAD if isinstance(line, str)] + \
            ['{"ts": 1795514500, "tool": "b"}']
    path = write(tmp_path, "\n".join(lines) + "\n")
    stats = TraceStats()
    calls = list(read_trace(path, skip_invalid=True, stats=stats))
    assert [c.tool for c in calls] == ["a", "b"]
    assert stats.invalid_lines == len(lines) - 2
    assert len(stats.invalid_messages) == 20 and stats.invalid_messages[0].startswith(f"{path}:2: invalid JSON")


def test_backwards_timestamps_are_counted_and_kept_in_file_order(tmp_path):
    path = write(tmp_path, "\n".join([
        '{"ts": "2026-11-24T10:00:10Z", "tool": "a"}', '{"ts": "2026-11-24T10:00:05Z", "tool": "b"}',
        '{"ts": "2026-11-24T10:00:07Z", "tool": "c"}', '{"ts": 1795514401, "message": {"method": "ping"}}',
        '{"ts": "2026-11-24T10:00:07Z", "tool": "d"}']))
    stats = TraceStats()
    calls = list(read_trace(path, stats=stats))
    assert [c.tool for c in calls] == ["a", "b", "c", "d"]
    # every line after the first is earlier than the newest time seen: evaluated at 10:00:10
    assert (stats.backwards, stats.first_backwards_line) == (4, 2)
    assert {c.ts_ns for c in calls} == {(S + 10) * NS}
    assert [c.ts_raw for c in calls] == ["2026-11-24T10:00:10Z", "2026-11-24T10:00:05Z", "2026-11-24T10:00:07Z",
                                         "2026-11-24T10:00:07Z"]


def test_bom_crlf_and_missing_final_newline(tmp_path):
    path = write(tmp_path, b'\xef\xbb\xbf{"ts": 1795514400, "tool": "a"}\r\n\r\n{"ts": 1795514401, "tool": "b"}')
    stats = TraceStats()
    assert [(c.line, c.tool) for c in read_trace(path, stats=stats)] == [(1, "a"), (3, "b")]
    assert stats.blank_lines == 1


def test_file_object_streaming_and_stdin_name():
    fh = io.BytesIO(b'{"ts": 1795514400, "tool": "a"}\n{"ts": 1795514400, "tool": 5}\n')
    with pytest.raises(InputError) as exc:
        list(read_trace("-", fh=fh))
    assert exc.value.message.startswith("<stdin>:2: ")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(read_trace(str(tmp_path / "nope.jsonl")))
    with pytest.raises(InputError, match="is a directory"):
        list(read_trace(str(tmp_path)))


def test_overlong_line_is_a_bad_line_and_can_be_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(traces, "MAX_LINE_BYTES", 1000)
    monkeypatch.setattr(traces, "_CHUNK", 256)
    body = ('{"ts": 1795514400, "tool": "a"}\n{"ts": 1795514400, "tool": "' + "x" * 5000 + '"}\n'
            '{"ts": 1795514401, "tool": "b"}\n')
    path = write(tmp_path, body)
    with pytest.raises(InputError) as exc:
        list(read_trace(path))
    assert exc.value.message == f"{path}:2: line longer than 1,000 bytes"
    stats = TraceStats()
    assert [(c.line, c.tool) for c in read_trace(path, skip_invalid=True, stats=stats)] == [(1, "a"), (3, "b")]
    assert stats.invalid_lines == 1


def test_lines_longer_than_a_chunk_are_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(traces, "_CHUNK", 16)
    path = write(tmp_path, ('{"ts": 1795514400, "tool": "' + "y" * 100 + '", "args": {"k": "v"}}\n') * 3)
    assert [len(c.tool) for c in read_trace(path)] == [100, 100, 100]


def test_fast_path_and_full_validation_agree_on_timestamps_in_years_1_and_9999(tmp_path):
    path = write(tmp_path, '{"ts": "9999-12-31T23:00:00-01:00", "tool": "a", "args": {}, "grant": "g"}\n')
    with pytest.raises(InputError, match="out of range"):
        list(read_trace(path))
    path = write(tmp_path, '{"ts": "9999-12-31T23:00:00+01:00", "tool": "a", "args": {}, "grant": "g"}\n', "ok.jsonl")
    assert [c.tool for c in read_trace(path)] == ["a"]
