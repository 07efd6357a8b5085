"""``policyctl record``'s core without processes: trace lines, redaction, pairing calls with
answers in any order, shadow decisions that ``simulate`` reproduces, ``--enforce`` answers."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyctl.engine.counters import NS
from policyctl.errors import InputError, OutputExistsError
from policyctl.mcp.proxy.session import Options, Recorder
from policyctl.mcp.proxy.shadow import PolicyGate
from policyctl.mcp.proxy.trace_writer import (
    TraceFile,
    format_ts_ms,
    grant_from_secret,
    keep_paths,
    placeholder,
    redact_keys,
)
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.simulate.run import run as simulate_run
from tests.conftest import examples
from tests.test_engine_properties import BASE, args_strategy, policies

POLICY = {
    "version": "1", "default": "deny", "hide": ["secret"],
    "tools": {
        "echo": {"deny_if": [{"conditions": [{"path": "args.mode", "op": "eq", "value": "rm"}],
                              "on_deny": "No rm."}],
                 "limits": [{"counter": "echo", "window": "minute", "max": 2, "scope": "grant"}]},
        "slow": {}, "fail": {}, "oops": {},
    },
}


class FakeClock:
    """Hands out the times a test chooses (ns, already whole milliseconds)."""

    def __init__(self, times: list[int]) -> None:
        self.times = list(times)
        self.last = 0

    def now_ms(self) -> int:
        if self.times:
            self.last = self.times.pop(0)
        return self.last


def policy_data(policy: Policy) -> dict:
    """A generated policy as a document."""
    return policy.to_data()


def write_policy(folder: str, data: dict, name: str = "p.policy.json") -> str:
    path = os.path.join(folder, name)
    with open(path, "w") as fh:
        json.dump(data, fh)
    return path


def call(ident: Any, tool: str, args: dict | None = None) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": ident, "method": "tools/call",
                         "params": {"name": tool, "arguments": args or {}}}) + b"\n"


def ok(ident: Any, text: str = "done") -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": ident, "result": {"content": [{"type": "text", "text": text}]}})


def lines(path: str) -> list[dict]:
    with open(path, "rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]


def recorder(tmp_path, *, policy: dict | None = None, enforce: bool = False, clock=None, windows: str = "fixed",
             **opts: Any) -> tuple[Recorder, str]:
    trace = str(tmp_path / "t.jsonl")
    gate = PolicyGate(write_policy(str(tmp_path), policy), windows=windows) if policy else None
    rec = Recorder(TraceFile(trace), options=Options(enforce=enforce, **opts), gate=gate, clock=clock)
    return rec, trace


# -- trace lines and the file ------------------------------------------------------------------------

def test_timestamps_are_rfc3339_utc_with_milliseconds() -> None:
    assert format_ts_ms(BASE) == "2026-11-24T00:00:00.000Z"
    assert format_ts_ms(BASE + 59 * NS + 999_000_000) == "2026-11-24T00:00:59.999Z"


def test_grant_from_a_header_is_a_short_hash_never_the_value() -> None:
    g = grant_from_secret("Bearer s3cr3t-token")
    assert g.startswith("sha256:") and len(g) == len("sha256:") + 12
    assert "s3cr3t" not in g
    assert g == grant_from_secret("Bearer s3cr3t-token") != grant_from_secret("Bearer other")


def test_placeholders_keep_the_json_type() -> None:
    assert [placeholder(v) for v in ("pw", 12, 1.5, True, None, [1], {"a": 1})] == \
        ["[redacted]", 0, 0, False, None, [], {}]


def test_redact_replaces_named_keys_at_any_depth() -> None:
    args = {"token": "abc", "n": 3, "inner": {"token": 5, "keep": "x"}, "list": [{"token": "y"}]}
    assert redact_keys(args, frozenset({"token"})) == \
        {"token": "[redacted]", "n": 3, "inner": {"token": 0, "keep": "x"}, "list": [{"token": "y"}]}


def test_keep_paths_keeps_what_conditions_read_and_the_objects_on_the_way() -> None:
    args = {"a": {"b": "kept", "c": "gone"}, "d": 7, "e": [1, 2], "f": "whole"}
    assert keep_paths(args, [("a", "b"), ("f",)]) == {"a": {"b": "kept", "c": "[redacted]"}, "d": 0, "e": [],
                                                      "f": "whole"}
    assert keep_paths({"a": "not an object"}, [("a", "b")]) == {"a": "[redacted]"}
    assert keep_paths(args, [()]) == args


def test_trace_file_is_created_0600_and_never_overwritten_without_force(tmp_path) -> None:
    path = str(tmp_path / "t.jsonl")
    tf = TraceFile(path)
    tf.write(b'{"a":1}\n')
    tf.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(OutputExistsError, match="--append"):
        TraceFile(path)
    tf = TraceFile(path, append=True)
    tf.write(b'{"a":2}\n')
    tf.close()
    assert open(path).read() == '{"a":1}\n{"a":2}\n'
    tf = TraceFile(path, force=True)
    tf.close()
    assert open(path).read() == ""


def test_append_after_a_cut_line_starts_a_new_line(tmp_path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"a":1}\n{"cut')
    tf = TraceFile(str(path), append=True)
    tf.write(b'{"a":2}\n')
    tf.close()
    assert path.read_bytes() == b'{"a":1}\n{"cut\n{"a":2}\n'


def test_trace_file_refuses_a_fifo_even_with_force(tmp_path) -> None:
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        TraceFile(fifo, force=True)


# -- pairing and order -------------------------------------------------------------------------------

def test_answers_out_of_order_are_written_in_arrival_order(tmp_path) -> None:
    clock = FakeClock([BASE + 1_000_000, BASE + 2_000_000, BASE + 3_000_000])
    rec, trace = recorder(tmp_path, clock=clock)
    for ident, tool in ((1, "slow"), ("1", "echo"), (3, "fail")):
        assert rec.from_client(call(ident, tool)) == (call(ident, tool), None)
    rec.from_server(orjson.dumps({"jsonrpc": "2.0", "id": 3, "error": {"code": -1, "message": "x"}}))
    rec.from_server(ok("1"))
    assert lines(trace) == []  # the first call is still out: nothing may overtake it
    rec.from_server(ok(1))
    got = lines(trace)
    assert [(r["id"], r["tool"], r["upstream"], r["upstream_error"]) for r in got] == \
        [(1, "slow", "ok", False), ("1", "echo", "ok", False), (3, "fail", "jsonrpc_error", True)]
    assert [r["ts"] for r in got] == ["2026-11-24T00:00:00.001Z", "2026-11-24T00:00:00.002Z",
                                      "2026-11-24T00:00:00.003Z"]
    assert rec.finish().calls == 3


def test_tool_errors_cancellations_and_unanswered_calls(tmp_path) -> None:
    rec, trace = recorder(tmp_path)
    rec.from_client(call(1, "oops"))
    rec.from_client(call(2, "slow"))
    rec.from_client(call(3, "slow"))
    rec.from_server(orjson.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [], "isError": True}}))
    rec.from_client(orjson.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                  "params": {"requestId": 2}}))
    rec.from_server(ok(2))  # too late: already recorded as unanswered
    rec.finish()
    assert [(r["id"], r["upstream"]) for r in lines(trace)] == [(1, "tool_error"), (2, "no_response"),
                                                               (3, "no_response")]


def test_server_name_and_relay_of_everything_else_unchanged(tmp_path) -> None:
    rec, trace = recorder(tmp_path)
    init = b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}'
    assert rec.from_client(init) == (init, None)
    answer = b'{"jsonrpc":"2.0","id":0,"result":{"serverInfo":{"name":"srv","version":"9"},"protocolVersion":"2025-11-25"}}'
    assert rec.from_server(answer) is answer
    for odd in (b"not json", b"[1,2]", b'{"jsonrpc":"2.0","method":"notifications/progress"}', b"   "):
        assert rec.from_client(odd) == (odd, None)
        assert rec.from_server(odd) is odd
    rec.from_client(call(5, "echo", {"x": 1}))
    rec.from_server(ok(5))
    stats = rec.finish()
    assert lines(trace)[0]["server"] == "srv"
    assert (stats.malformed_from_client, stats.malformed_from_server) == (3, 3)  # "not json" and 1, 2


def test_batches_are_recorded_element_by_element(tmp_path) -> None:
    rec, trace = recorder(tmp_path)
    batch = b"[" + call(1, "echo").strip() + b"," + call(2, "oops").strip() + b"]"
    assert rec.from_client(batch) == (batch, None)
    reply = b"[" + ok(2) + b"," + ok(1) + b"]"
    assert rec.from_server(reply) is reply
    rec.finish()
    assert [r["id"] for r in lines(trace)] == [1, 2]


def test_a_large_answer_is_paired_from_its_first_or_last_bytes(tmp_path) -> None:
    rec, trace = recorder(tmp_path)
    rec.from_client(call(1, "big"))
    rec.from_client(call("b", "big"))
    rec.large_from_server(b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"xxxx', b'xx"}]}}')
    rec.large_from_server(b'{"result":{"content":[{"type":"text","text":"xxxx', b'x"}],"isError":true},"jsonrpc":"2.0","id":"b"}')
    rec.finish()
    assert [(r["id"], r["upstream"]) for r in lines(trace)] == [(1, "ok"), ("b", "tool_error")]


# -- shadow and enforce ------------------------------------------------------------------------------

def test_enforce_answers_denied_calls_itself_and_hides_tools(tmp_path) -> None:
    rec, trace = recorder(tmp_path, policy=POLICY, enforce=True)
    forward, answer = rec.from_client(call(7, "echo", {"mode": "rm"}))
    assert forward is None
    assert orjson.loads(answer) == {"jsonrpc": "2.0", "id": 7, "result": {
        "content": [{"type": "text", "text": "No rm."}], "isError": True}}
    forward, answer = rec.from_client(call(8, "secret"))
    assert forward is None and orjson.loads(answer)["result"]["content"][0]["text"] == 'Tool "secret" is hidden by policy'
    rec.from_client(b'{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"cursor":"2"}}')
    page = {"jsonrpc": "2.0", "id": 9, "result": {"tools": [{"name": "secret"}, {"name": "echo"}], "nextCursor": "4"}}
    assert orjson.loads(rec.from_server(orjson.dumps(page))) == \
        {"jsonrpc": "2.0", "id": 9, "result": {"tools": [{"name": "echo"}], "nextCursor": "4"}}
    rec.finish()
    assert [(r["id"], r["upstream"], r["shadow"]["reason"]) for r in lines(trace)] == \
        [(7, "not_forwarded", "deny_if"), (8, "not_forwarded", "hidden")]


def test_enforce_batch_forwards_the_allowed_part_and_answers_the_rest(tmp_path) -> None:
    rec, _ = recorder(tmp_path, policy=POLICY, enforce=True)
    batch = b"[" + call(1, "echo").strip() + b"," + call(2, "nope").strip() + b"]"
    forward, answer = rec.from_client(batch)
    assert [m["id"] for m in orjson.loads(forward)] == [1]
    assert [m["id"] for m in orjson.loads(answer)] == [2]


@pytest.mark.parametrize("raw, code, ident, message", [
    # another parser reads what the proxy's strict one refuses (Python's json and pydantic: NaN, Infinity)
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret","arguments":{"a":NaN}}}',
     -32700, None, "not valid JSON"),
    (b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret"}}',
     -32700, None, "not valid JSON"),
    # Go's encoding/json matches member names without case (and folds the long s and the Kelvin sign)
    (b'{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"tools/call","params":{"name":"secret"}}',
     -32600, None, 'member name "METHOD" is not exact'),
    ('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","Name":"secret"}}'.encode(),
     -32602, 1, 'member name "Name" is not exact'),
    ('{"jsonrpc":"2.0","id":1,"method":"tools/call","param\u017f":{"name":"secret"}}'.encode(),
     -32600, None, 'member name "param\u017f" is not exact'),
    # a member name twice: the proxy keeps the last; Go's encoding/json merges a repeated object into
    # a map field it already filled (mode "rm" survives), a first-wins parser keeps the first
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"mode":"rm"},'
     b'"arguments":{"x":1}}}', -32600, None, 'member name "arguments" appears twice'),
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping","params":{"name":"secret"}}',
     -32600, None, 'member name "method" appears twice'),
    (b'[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"mode":"rm","mode":"ls"}}}]',
     -32600, None, 'member name "mode" appears twice'),
    # a call the proxy cannot pair or read
    (b'{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"secret"}}',
     -32600, None, "a tools/call needs an id"),
    # an id the server may not read as one (the Python SDK takes true, 1.0 or {..} for no id at all),
    # and that Python compares as another (1 == 1.0 == True): the call cannot be paired safely
    (b'{"jsonrpc":"2.0","id":{"a":1},"method":"tools/call","params":{"name":"echo","arguments":{"mode":"ls"}}}',
     -32600, None, "a tools/call id must be a string or an integer"),
    (b'{"jsonrpc":"2.0","id":true,"method":"tools/call","params":{"name":"echo","arguments":{"mode":"ls"}}}',
     -32600, None, "a tools/call id must be a string or an integer"),
    (b'{"jsonrpc":"2.0","id":1.0,"method":"tools/call","params":{"name":"echo","arguments":{"mode":"ls"}}}',
     -32600, None, "a tools/call id must be a string or an integer"),
    (b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":["secret"]}',
     -32602, 2, "tools/call params must be an object"),
    (b'{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":7}}',
     -32602, "x", "tools/call needs a tool name (a string)"),
    (b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":"rm"}}',
     -32602, 3, "tools/call arguments must be an object"),
])
def test_enforce_refuses_what_it_cannot_check(tmp_path, raw, code, ident, message) -> None:
    """Fail closed: under --enforce a client message the proxy cannot read exactly as a server
    would is answered here and never forwarded; shadow mode passes it on (and counts it)."""
    rec, trace = recorder(tmp_path, policy=POLICY, enforce=True)
    forward, answer = rec.from_client(raw)
    assert forward is None
    assert orjson.loads(answer) == {"jsonrpc": "2.0", "id": ident, "error": {
        "code": code, "message": f"policyctl record --enforce: {message}; not forwarded"}}
    assert rec.finish().refused_unchecked == 1
    assert lines(trace) == []
    (tmp_path / "shadow").mkdir()
    shadow, _ = recorder(tmp_path / "shadow", policy=POLICY)
    assert shadow.from_client(raw) == (raw, None)


def test_object_and_array_ids_do_not_crash_the_proxy(tmp_path) -> None:
    """An id that cannot be hashed (an object, an array) made the recorder raise TypeError, which
    ended a stdio session; in shadow mode such calls are relayed and paired with their answers."""
    rec, trace = recorder(tmp_path, policy=POLICY)
    for ident in (b'{"b":2,"a":1}', b'[1]'):
        raw = b'{"jsonrpc":"2.0","id":' + ident + b',"method":"tools/call","params":{"name":"echo","arguments":{}}}'
        assert rec.from_client(raw) == (raw, None)
        tl = b'{"jsonrpc":"2.0","id":' + ident + b',"method":"tools/list"}'
        assert rec.from_client(tl) == (tl, None)
        rec.from_server(b'{"jsonrpc":"2.0","id":' + ident + b',"result":{"content":[]}}')
        rec.from_server(b'{"jsonrpc":"2.0","id":' + ident + b',"result":{"tools":[]}}')
    rec.finish()
    assert [(r["id"], r["upstream"]) for r in lines(trace)] == [({"a": 1, "b": 2}, "ok"), ([1], "ok")]


def test_enforce_refuses_a_request_whose_id_is_in_use(tmp_path) -> None:
    """Answers are paired by id. Bypass (before): with echo limited to 2 a minute, a client sent echo
    (id 7), then a failing call with the same id 7; its error answer was taken for echo's, echo's
    reservation given back while echo still ran, and two more echo calls went through (3 in the
    minute). Now a request reusing an id still waiting for its answer is refused under --enforce."""
    rec, trace = recorder(tmp_path, policy=POLICY, enforce=True)
    assert rec.from_client(call(7, "echo")) == (call(7, "echo"), None)
    for reuse in (call(7, "oops"), b'{"jsonrpc":"2.0","id":7,"method":"no/such"}'):
        forward, answer = rec.from_client(reuse)
        assert forward is None and orjson.loads(answer)["error"] == {"code": -32600, "message":
            "policyctl record --enforce: id already in use by a request still waiting for its answer; not forwarded"}
    assert rec.from_client(call(8, "echo"))[0] is not None
    assert rec.from_client(call(9, "echo"))[0] is None  # the limit holds: echo 7 is still out
    for done in (7, 8):  # echo 9 is decided (denied: 7 and 8 ran) once both are answered
        rec.from_server(b'{"jsonrpc":"2.0","id":%d,"result":{"content":[]}}' % done)
    assert rec.from_client(call(7, "oops"))[0] is not None  # free again once answered
    (tmp_path / "shadow").mkdir()
    shadow, _ = recorder(tmp_path / "shadow", policy=POLICY)
    assert shadow.from_client(call(7, "echo"))[0] is not None
    assert shadow.from_client(call(7, "oops")) == (call(7, "oops"), None)


def test_enforce_drops_a_tools_call_sent_as_a_notification(tmp_path) -> None:
    rec, trace = recorder(tmp_path, policy=POLICY, enforce=True)
    assert rec.from_client(b'{"jsonrpc":"2.0","method":"tools/call","params":{"name":"secret"}}') == (None, None)
    batch = b'[{"jsonrpc":"2.0","method":"tools/call","params":{"name":"secret"}},' + call(4, "echo").strip() + b"]"
    forward, answer = rec.from_client(batch)
    assert [m["id"] for m in orjson.loads(forward)] == [4] and answer is None
    assert rec.finish().refused_unchecked == 2


def test_null_arguments_are_no_arguments(tmp_path) -> None:
    """``"arguments": null`` reaches the tool as no arguments: the call is decided (and recorded)
    with ``{}``, in both modes."""
    for enforce in (False, True):
        folder = tmp_path / str(enforce)
        folder.mkdir()
        rec, trace = recorder(folder, policy=POLICY, enforce=enforce)
        raw = b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"secret","arguments":null}}'
        forward, answer = rec.from_client(raw)
        if enforce:
            assert forward is None
            assert orjson.loads(answer)["result"]["content"][0]["text"] == 'Tool "secret" is hidden by policy'
        else:
            assert (forward, answer) == (raw, None)
            rec.from_server(b'{"jsonrpc":"2.0","id":5,"result":{"content":[]}}')
        rec.finish()
        assert [(r["tool"], r["args"], r["shadow"]["reason"]) for r in lines(trace)] == [("secret", {}, "hidden")]


def test_enforce_releases_the_reservation_of_a_failed_call(tmp_path) -> None:
    clock = FakeClock([BASE + i * 1_000_000 for i in range(1, 5)])
    rec, trace = recorder(tmp_path, policy=POLICY, enforce=True, clock=clock)
    for i in (1, 2):
        assert rec.from_client(call(i, "echo"))[1] is None
    rec.from_server(orjson.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "down"}}))
    rec.from_server(ok(2))
    assert rec.from_client(call(3, "echo"))[1] is None  # the failed call gave its unit back
    rec.from_server(ok(3))
    assert rec.from_client(call(4, "echo"))[1] is not None  # now the minute is full
    rec.finish()
    assert [r["shadow"]["decision"] for r in lines(trace)] == ["allow", "allow", "allow", "deny"]


def test_redact_unread_keeps_only_what_the_policy_reads(tmp_path) -> None:
    rec, trace = recorder(tmp_path, policy=POLICY, redact_unread=True, redact=frozenset({"token"}))
    rec.from_client(call(1, "echo", {"mode": "ls", "token": "t0p", "path": "/etc"}))
    rec.from_server(ok(1))
    rec.finish()
    assert lines(trace)[0]["args"] == {"mode": "ls", "token": "[redacted]", "path": "[redacted]"}


def test_a_changed_policy_is_reloaded_and_an_invalid_one_refused(tmp_path) -> None:
    notes: list[str] = []
    path = write_policy(str(tmp_path), POLICY)
    gate = PolicyGate(path, notify=notes.append)
    assert gate.decide(BASE, "g", "new_tool", {}).reason == "default_deny"
    with open(path, "w") as fh:
        fh.write('{"version": "1", "default": "sometimes"}')
    os.utime(path, ns=(1, 1))
    assert gate.maybe_reload(now=1e9) is False
    assert gate.decide(BASE, "g", "new_tool", {}).reason == "default_deny"  # the old version stays
    assert gate.refused == 1 and "refused" in notes[-1]
    with open(path, "w") as fh:
        json.dump({**POLICY, "default": "allow"}, fh)
    os.utime(path, ns=(2, 2))
    assert gate.maybe_reload(now=2e9) is True
    assert gate.decide(BASE, "g", "new_tool", {}).reason == "allowed"


# -- properties: the trace replays to the shadow decisions -------------------------------------------

PROPS = settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
TOOLS = ["a", "b", "all_tools", "x/y", "zz"]


@st.composite
def sessions(draw: Any) -> list[tuple]:
    """Arrivals and answers interleaved: ("call", id, grant, tool, args, ts) / ("answer", id, outcome)."""
    t = BASE + draw(st.sampled_from([0, 59 * NS + 990_000_000, 3599 * NS]))
    events: list[tuple] = []
    open_ids: list[int] = []
    for i in range(draw(st.integers(1, 25))):
        t += draw(st.sampled_from([0, 1_000_000, 5_000_000, 20 * NS, 61 * NS, 3600 * NS]))
        events.append(("call", i, draw(st.sampled_from(["g1", "g2"])), draw(st.sampled_from(TOOLS)),
                       draw(args_strategy), t))
        open_ids.append(i)
        while open_ids and draw(st.booleans()):
            ident = open_ids.pop(draw(st.integers(0, len(open_ids) - 1)))
            events.append(("answer", ident, draw(st.sampled_from(["ok", "ok", "error", "isError", "cancel"]))))
    return events


def _drive(rec: Recorder, events: list[tuple]) -> None:
    for ev in events:
        if ev[0] == "call":
            rec.from_client(call(ev[1], ev[3], ev[4]), grant=ev[2])
        elif ev[2] == "cancel":
            rec.from_client(orjson.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                          "params": {"requestId": ev[1]}}))
        elif ev[2] == "error":
            rec.from_server(orjson.dumps({"jsonrpc": "2.0", "id": ev[1], "error": {"code": -1, "message": "x"}}))
        else:
            rec.from_server(orjson.dumps({"jsonrpc": "2.0", "id": ev[1],
                                          "result": {"content": [], "isError": ev[2] == "isError"}}))
    rec.finish()


def _replayed(policy: Policy, trace: str, windows: str) -> list[tuple]:
    got: list[tuple] = []
    simulate_run(policy, trace, windows=windows, on_call=lambda c: got.append(
        (c.decision.decision, c.decision.reason, c.decision.rule)))
    return got


@PROPS
@given(policies(), sessions(), st.sampled_from(["fixed", "sliding"]), st.booleans())
def test_simulate_reproduces_every_shadow_decision_however_calls_overlap(policy, events, windows, enforce):
    with tempfile.TemporaryDirectory() as folder:
        path = write_policy(folder, policy_data(policy))
        trace = os.path.join(folder, "t.jsonl")
        times = [ev[5] for ev in events if ev[0] == "call"]
        gate = PolicyGate(path, windows=windows)
        rec = Recorder(TraceFile(trace), options=Options(enforce=enforce), gate=gate, clock=FakeClock(times))
        _drive(rec, events)
        recorded = lines(trace)
        assert [r["id"] for r in recorded] == sorted(r["id"] for r in recorded)  # arrival order
        shadow = [(r["shadow"]["decision"], r["shadow"]["reason"], r["shadow"]["rule"]) for r in recorded]
        replayed = _replayed(policy, trace, windows)
        assert replayed == shadow


def test_enforce_holds_a_call_a_limit_would_deny_until_earlier_answers_are_in(tmp_path) -> None:
    clock = FakeClock([BASE + i * 1_000_000 for i in range(1, 6)])
    rec, trace = recorder(tmp_path, policy=POLICY, enforce=True, clock=clock)
    delivered: list[tuple] = []
    later = lambda forward, answer: delivered.append((forward, answer))  # noqa: E731
    assert rec.from_client(call(1, "echo"), later=later)[1] is None
    assert rec.from_client(call(2, "echo"), later=later)[1] is None
    assert rec.from_client(call(3, "echo"), later=later) == (None, None)  # full, but 1 and 2 may fail
    assert rec.from_client(call(4, "slow"), later=later) == (None, None)  # held behind 3
    rec.from_server(ok(2))
    assert delivered == []  # 1 is still out
    rec.from_server(orjson.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "down"}}))
    assert [orjson.loads(f)["id"] for f, a in delivered] == [3, 4]  # 1's unit came back: 3 goes on
    rec.from_client(call(5, "echo"), later=later)  # full, and 3 and 4 are still out: held
    rec.from_server(ok(3))
    assert len(delivered) == 2
    rec.from_server(ok(4))
    assert orjson.loads(delivered[-1][1])["result"]["isError"] is True
    rec.finish()
    assert [(r["id"], r["shadow"]["decision"], r["upstream"]) for r in lines(trace)] == [
        (1, "allow", "jsonrpc_error"), (2, "allow", "ok"), (3, "allow", "ok"), (4, "allow", "ok"),
        (5, "deny", "not_forwarded")]


@PROPS
@given(policies(), st.lists(st.tuples(st.sampled_from(TOOLS), args_strategy, st.sampled_from(["g1", "g2"])),
                            min_size=1, max_size=20), st.sampled_from(["fixed", "sliding"]))
def test_redact_unread_traces_replay_to_identical_decisions(policy, calls, windows):
    with tempfile.TemporaryDirectory() as folder:
        path = write_policy(folder, policy_data(policy))
        traces = {}
        for redacted in (False, True):
            trace = os.path.join(folder, f"t{redacted}.jsonl")
            rec = Recorder(TraceFile(trace), options=Options(redact_unread=redacted),
                           gate=PolicyGate(path, windows=windows),
                           clock=FakeClock([BASE + i * 7 * NS for i in range(len(calls))]))
            for i, (tool, args, grant) in enumerate(calls):
                rec.from_client(call(i, tool, args), grant=grant)
                rec.from_server(ok(i))
            rec.finish()
            traces[redacted] = trace
        plain, redacted = _replayed(policy, traces[False], windows), _replayed(policy, traces[True], windows)
        assert plain == redacted
        assert [(r["shadow"]["decision"], r["shadow"]["reason"], r["shadow"]["rule"])
                for r in lines(traces[True])] == redacted
