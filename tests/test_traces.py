"""Trace reading (SPEC §3): both record shapes, timestamps, every kind of bad line, streaming details."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from policyctl.errors import InputError
from policyctl.traces import reader as traces
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
    assert format_ts(S * NS, min_fraction_digits=3) == "2026-11-24T10:00:00.000Z"
    assert format_ts(-1) == "1969-12-31T23:59:59.999999999Z"


# Nanoseconds since the epoch of the first and last instants a trace may hold, and one day.
FIRST = -62135596800 * NS  # 0001-01-01T00:00:00Z
END = 253402300800 * NS  # 10000-01-01T00:00:00Z (the first instant after 9999)
DAY = 86400 * NS


@pytest.mark.parametrize("ns, text", [
    # B2: years before 1000 keep four digits (strftime("%Y") printed "1-01-01T...")
    (FIRST + 30 * NS, "0001-01-01T00:00:30Z"), (FIRST, "0001-01-01T00:00:00Z"),
    (FIRST + 364_876 * DAY, "0999-12-31T00:00:00Z"),
    # C4: window bounds just outside the accepted years are written, not a crash
    (FIRST - 30 * NS, "0000-12-31T23:59:30Z"), (FIRST - DAY, "0000-12-31T00:00:00Z"),
    (FIRST - 367 * DAY, "-0001-12-31T00:00:00Z"),  # year 0 is a leap year
    (END - NS, "9999-12-31T23:59:59Z"), (END, "+10000-01-01T00:00:00Z"),
    (END + DAY + 500_000_000, "+10000-01-02T00:00:00.500Z"),
])
def test_format_ts_at_the_edges_of_the_year_range(ns, text):
    assert format_ts(ns) == text


def test_format_ts_reads_back_through_parse_ts_across_the_whole_range():
    import random

    rnd = random.Random(7)
    for _ in range(20_000):
        ns = rnd.randrange(FIRST, END)
        assert parse_ts(format_ts(ns)) == ns


@pytest.mark.parametrize("raw", [
    "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0662\u0664T\u0661\u0660:\u0660\u0660:\u0660\u0660Z",  # Arabic-Indic
    "\uff12\uff10\uff12\uff16-11-24T10:00:00Z",  # fullwidth year
    "2026-11-24T10:00:00+\u0660\u0665:\u0663\u0660",  # Arabic-Indic offset
    "2026-11-24T10:00:00.\u0665Z",  # in the fraction
    "2026-11-24T1\u09e6:00:00Z",  # a Bengali zero in the hour
    "2026-11-24T10:00:0\U0001d7ceZ",  # mathematical bold zero
])
def test_non_ascii_digits_are_not_rfc_3339(raw, tmp_path):
    # W5: RFC 3339 DIGIT is ASCII (Go's time.Parse agrees); Python's \d and int() are not
    with pytest.raises(ValueError) as exc:
        parse_ts(raw)
    assert "digits must be ASCII 0-9" in str(exc.value)
    line = '{"ts": "%s", "tool": "t", "args": {}, "grant": "g"}' % raw
    path = write(tmp_path, line + "\n" + line.replace('"args": {}, ', "") + "\n")
    with pytest.raises(InputError) as exc:
        list(read_trace(path))
    assert str(exc.value).endswith(':1: "ts" is not an RFC 3339 timestamp (its digits must be ASCII 0-9): "%s"'
                                   % raw)
    stats = TraceStats()
    assert list(read_trace(path, skip_invalid=True, stats=stats)) == []
    assert stats.invalid_lines == 2


def test_non_ascii_digits_in_the_fast_paths_of_simulate(tmp_path):
    # the simulator's own inlined fast path and its parallel worker parse through the same cache
    from policyctl.policy.load import load_policy
    from policyctl.simulate.run import run

    good = '{"ts": "2026-11-24T10:00:0%d.5Z", "tool": "t", "args": {}, "grant": "g"}'
    lines = [good % 1, good % 2, good.replace("%d", "\u0663"), good % 4]
    path = write(tmp_path, "\n".join(lines) + "\n")
    pol = write(tmp_path, '{"version": "1", "default": "allow"}', "p.json")
    policy = load_policy(pol).policy
    for parallel in (False, True):
        with pytest.raises(InputError) as exc:
            run(policy, path, parallel=parallel)
        assert str(exc.value).endswith(':3: "ts" is not an RFC 3339 timestamp (its digits must be ASCII 0-9): '
                                       '"2026-11-24T10:00:0\u0663.5Z"')
        result = run(policy, path, parallel=parallel, skip_invalid=True)
        assert (result.calls, result.stats.invalid_lines) == (3, 1)


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
    ('{"ts": 1795514400, "tool": "t", "upstream": "failed"}', '"upstream" must be one of ok, jsonrpc_error, tool_error'),
    ('{"ts": 1795514400, "tool": "t", "upstream": "tool_error", "upstream_error": false}',
     '"upstream" is "tool_error" but "upstream_error" is false'),
    ('{"ts": 1795514400, "tool": "t", "upstream": "ok", "upstream_error": true}', '"upstream" is "ok" but'),
    ('{"ts": 1795514400, "tool": "t", "server": 7}', '"server" must be a string, got a number'),
    ('{"ts": 1795514400, "tool": "t", "executed": "no"}', '"executed" must be true or false'),
    ('{"ts": 1795514400, "tool": "t", "observed": true}', '"observed" must be a string'),
    ('{"ts": 1795514400, "tool": "t", "shadow": "allow"}', '"shadow" must be an object'),
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


def test_record_fields_server_upstream_executed_observed_shadow(tmp_path):
    """The fields record and import write are read: upstream jsonrpc_error/tool_error imply upstream_error."""
    lines = [
        '{"ts": 1, "grant": "g", "tool": "t", "args": {}, "server": "sncro", "upstream": "tool_error"}',
        '{"ts": 2, "grant": "g", "tool": "t", "args": {}, "server": null, "upstream": "jsonrpc_error", "upstream_error": true}',
        '{"ts": 3, "grant": "g", "tool": "t", "args": {}, "upstream": "ok", "executed": false, "observed": "denied"}',
        '{"ts": 4, "grant": "g", "tool": "t", "args": {}, "upstream": "no_response", "upstream_error": true, '
        '"shadow": {"decision": "deny", "reason": "rate_limited", "rule": "/tools/t/limits/c"}}',
        '{"ts": 5, "grant": "g", "tool": "t", "args": {}, "upstream": "not_forwarded"}',
    ]
    calls = list(read_trace(write(tmp_path, "\n".join(lines) + "\n")))
    assert [(c.server, c.upstream, c.upstream_error) for c in calls] == [
        ("sncro", "tool_error", True), (None, "jsonrpc_error", True), (None, "ok", False),
        (None, "no_response", True), (None, "not_forwarded", False)]


@pytest.mark.parametrize("method, shown", [
    ("Tools/Call", '"Tools/Call"'), ("tools/call ", '"tools/call "'), ("tools/list", '"tools/list"'),
    (None, "null"), (7, "a number"),
])
@pytest.mark.parametrize("key", ["expect", "expect_rule"])
def test_an_expectation_on_a_message_that_is_not_tools_call_is_a_bad_line(method, shown, key, tmp_path):
    # W4: only exactly "tools/call" is evaluated, so the expectation would pass without being checked
    import json

    value = "allow" if key == "expect" else "(default deny)"
    message = {"jsonrpc": "2.0", "id": 1, "params": {"name": "delete_everything", "arguments": {}}}
    if method is not None:
        message["method"] = method
    rec = {"ts": "2026-11-24T10:00:00Z", "message": message, key: value}
    path = write(tmp_path, json.dumps(rec) + "\n")
    with pytest.raises(InputError) as exc:
        list(read_trace(path))
    assert str(exc.value) == (f'{path}:1: "{key}" on a message that is not a tools/call call is never checked '
                              f'(method {shown}; only exactly "tools/call" is evaluated)')
    stats = TraceStats()
    assert list(read_trace(path, skip_invalid=True, stats=stats)) == []
    assert (stats.invalid_lines, stats.non_tool_messages) == (1, 0)
    # the simulator's inlined fast path and its two-process path see the same bad line
    from policyctl.policy.dialects.policylayer.model import Policy
    from policyctl.simulate.run import run

    policy = Policy.from_data({"version": "1", "default": "deny"})
    for parallel in (False, True):
        with pytest.raises(InputError) as exc:
            run(policy, path, parallel=parallel)
        assert str(exc.value).endswith(f':1: "{key}" on a message that is not a tools/call call is never checked '
                                       f'(method {shown}; only exactly "tools/call" is evaluated)')


def test_a_message_that_is_not_tools_call_without_an_expectation_is_still_skipped(tmp_path):
    path = write(tmp_path, "\n".join([
        '{"ts": 1, "message": {"jsonrpc": "2.0", "id": 1, "method": "Tools/Call", "params": {"name": "t"}}}',
        '{"ts": 2, "message": {"jsonrpc": "2.0", "method": "tools/list"}, "expect": null, "expect_rule": null}',
        '{"ts": 3, "message": {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "t"}}, '
        '"expect": "allow"}',
    ]) + "\n")
    stats = TraceStats()
    calls = list(read_trace(path, stats=stats))
    assert [(c.line, c.tool, c.expect) for c in calls] == [(3, "t", "allow")]
    assert (stats.non_tool_messages, stats.invalid_lines) == (2, 0)
