"""``policyctl record --policy`` with an Intercept policy: the ``mcp`` SDK's own client talks to the
SDK fixture server (tests/servers/sdk_server.py) through the proxy, in shadow mode and under
``--enforce``; each recorded decision must be the one ``simulate`` gives for the recorded trace."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from policyctl.mcp.proxy.session import Options, Recorder
from policyctl.mcp.proxy.shadow import PolicyGate
from policyctl.mcp.proxy.trace_writer import TraceFile
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

SERVER = [sys.executable, str(Path(__file__).parent / "servers" / "sdk_server.py"), "stdio"]

# Windows are a day long so that a test running across a minute or an hour boundary sees the same
# decisions (a run across midnight UTC would not; the simulate comparison holds either way).
POLICY = """\
version: "1"
description: "notes server for the record tests"
default: "allow"
hide:
  - run_shell
tools:
  read_note:
    rules:
      - name: "three reads"
        rate_limit: "3/day"
  delete_note:
    rules:
      - name: "no deletes"
        action: "deny"
        on_deny: "Deleting notes is not allowed."
  create_refund:
    rules:
      - name: "refund budget"
        conditions:
          - path: "state.create_refund.refunded"
            op: "lte"
            value: 3000
        state:
          counter: "refunded"
          window: "day"
          increment_from: "args.amount"
        on_deny: "Daily refund budget reached."
  send_email:
    rules:
      - name: "two e-mails"
        rate_limit: "2/day"
"""

DENIED = "[INTERCEPT POLICY DENIED] "

# (tool, arguments): what the client calls, in order
CALLS: list[tuple[str, dict]] = [
    ("read_note", {"note_id": "n1"}),
    ("read_note", {"note_id": "n2"}),
    ("read_note", {"note_id": "n3"}),
    ("read_note", {"note_id": "n4"}),  # the fourth of "3/day"
    ("delete_note", {"note_id": "n1"}),
    ("run_shell", {"command": "ls"}),
    ("create_refund", {"charge_id": "ch_1", "amount": 2000}),  # the server answers isError (over 1000)
    ("create_refund", {"charge_id": "ch_2", "amount": 900}),
    ("create_refund", {"charge_id": "ch_3"}),  # no amount to count: Intercept's internal policy error
    ("send_email", {"note_id": "n1"}),  # no recipient: the server answers a JSON-RPC error
    ("send_email", {"to": "a@example.com", "note_id": "n1"}),
    ("send_email", {"to": "b@example.com", "note_id": "n2"}),
    ("send_email", {"to": "c@example.com", "note_id": "n3"}),
    ("list_notes", {"folder": "inbox"}),
]

# (decision, reason, rule) of each call under Intercept v1.1.0's rollback (JSON-RPC errors only)
EXPECTED = [
    ("allow", "allowed", None),
    ("allow", "allowed", None),
    ("allow", "allowed", None),
    ("deny", "rate_limited", "three reads"),
    ("deny", "deny_if", "no deletes"),
    ("deny", "hidden", "(hidden)"),
    ("allow", "allowed", None),
    # the 2,000 refund the server failed with isError still counts under v1.1.0: 2,000 + 900 fit
    ("allow", "allowed", None),
    ("deny", "policy_error", "refund budget"),
    # the e-mail the server refused with a JSON-RPC error gave its reservation back: two more fit
    ("allow", "allowed", None),
    ("allow", "allowed", None),
    ("allow", "allowed", None),
    ("deny", "rate_limited", "two e-mails"),
    ("allow", "allowed", None),
]

MESSAGES = {
    3: "Rate limit of 3 per day reached. Try again later.",
    4: "Deleting notes is not allowed.",
    5: 'Tool "run_shell" is hidden by policy',
    8: "Internal policy error",
    12: "Rate limit of 2 per day reached. Try again later.",
}


def _session(proxy: list[str], calls: list[tuple[str, dict]]) -> tuple[list[str], list[Any]]:
    """Run the SDK client through ``proxy``: the listed tool names and, per call, ``("result",
    isError, text)`` or ``("error", message)``."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.shared.exceptions import MCPError
    from mcp_types import PaginatedRequestParams

    async def session() -> tuple[list[str], list[Any]]:
        params = StdioServerParameters(command=proxy[0], args=proxy[1:])
        seen: list[Any] = []
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                names: list[str] = []
                cursor = None
                while True:
                    page = await (s.list_tools(params=PaginatedRequestParams(cursor=cursor)) if cursor
                                  else s.list_tools())
                    names += [t.name for t in page.tools]
                    cursor = page.next_cursor
                    if not cursor:
                        break
                for tool, args in calls:
                    try:
                        res = await s.call_tool(tool, args)
                    except MCPError as exc:
                        seen.append(("error", exc.message))
                    else:
                        seen.append(("result", bool(res.is_error), res.content[0].text))
        return names, seen

    return anyio.run(session)


def _record(tmp_path: Path, *extra: str, calls: list[tuple[str, dict]] = CALLS) -> tuple[list[str], list[Any], Path, Path]:
    policy = tmp_path / "notes.policy.yaml"
    policy.write_text(POLICY)
    trace = tmp_path / "t.jsonl"
    proxy = [sys.executable, "-m", "policyctl", "record", "-o", str(trace), "--policy", str(policy), *extra,
             "--", *SERVER]
    names, seen = _session(proxy, calls)
    return names, seen, trace, policy


def _lines(trace: Path) -> list[dict]:
    return [json.loads(line) for line in trace.read_text().splitlines() if line.strip()]


def _simulated(trace: Path, policy: Path, *extra: str) -> list[tuple[str, str, str | None]]:
    r = run_cli("simulate", str(trace), "--policy", str(policy), "--format", "jsonl", *extra)
    assert r.returncode == 0, r.stderr
    return [(row["decision"], row["reason"], row["rule"]) for row in map(json.loads, r.stdout.splitlines())]


def _recorded(lines: list[dict]) -> list[tuple[str, str, str | None]]:
    return [(x["shadow"]["decision"], x["shadow"]["reason"], x["shadow"]["rule"]) for x in lines]


def test_shadow_mode_decides_every_call_as_simulate_does_and_forwards_them_all(tmp_path: Path) -> None:
    names, seen, trace, policy = _record(tmp_path)
    assert "run_shell" in names  # shadow mode changes nothing the client sees
    assert not any(item[0] == "result" and item[2].startswith(DENIED) for item in seen)
    lines = _lines(trace)
    assert [x["tool"] for x in lines] == [tool for tool, _ in CALLS]
    assert [x["upstream"] for x in lines][6] == "tool_error"
    assert [x["upstream"] for x in lines][9] == "jsonrpc_error"
    assert "not_forwarded" not in [x["upstream"] for x in lines]
    assert _recorded(lines) == EXPECTED
    assert _simulated(trace, policy) == EXPECTED


def test_enforce_answers_denied_calls_as_intercepts_proxy_does(tmp_path: Path) -> None:
    names, seen, trace, policy = _record(tmp_path, "--enforce")
    assert "run_shell" not in names and "read_note" in names  # hidden tools leave tools/list
    for i, (decision, _reason, _rule) in enumerate(EXPECTED):
        if decision == "deny":
            # a tool result with isError, not a JSON-RPC error (Intercept's buildDeniedResponse)
            assert seen[i] == ("result", True, DENIED + MESSAGES[i]), i
    assert seen[9][0] == "error"  # the server's own JSON-RPC error, passed on
    assert seen[6][:2] == ("result", True) and not seen[6][2].startswith(DENIED)  # the server's isError
    lines = _lines(trace)
    assert [x["upstream"] for x in lines] == [
        "ok", "ok", "ok", "not_forwarded", "not_forwarded", "not_forwarded", "tool_error", "ok",
        "not_forwarded", "jsonrpc_error", "ok", "ok", "not_forwarded", "ok"]
    assert _recorded(lines) == EXPECTED
    assert _simulated(trace, policy) == EXPECTED


def test_rollback_on_any_releases_what_a_tool_error_reserved(tmp_path: Path) -> None:
    calls = CALLS[6:8] + [("create_refund", {"charge_id": "ch_4", "amount": 1000})]
    # v1.1.0: the failed 2,000 still counts, so 2,000 + 900 + 1,000 passes the 3,000 budget
    _, seen, trace, policy = _record(tmp_path, "--enforce", calls=calls)
    assert seen[2] == ("result", True, DENIED + "Daily refund budget reached.")
    assert _recorded(_lines(trace))[2] == ("deny", "rate_limited", "refund budget")
    # later releases: the isError answer gives the 2,000 back, 900 + 1,000 fit
    (tmp_path / "t.jsonl").unlink()
    _, seen, trace, policy = _record(tmp_path, "--enforce", "--rollback-on", "any", calls=calls)
    assert seen[2][:2] == ("result", False)
    lines = _lines(trace)
    assert _recorded(lines) == [("allow", "allowed", None)] * 3
    assert _simulated(trace, policy, "--rollback-on", "any") == [("allow", "allowed", None)] * 3
    assert _simulated(trace, policy)[2] == ("deny", "rate_limited", "refund budget")


# -- the gate without processes ------------------------------------------------------------------------

def _gate(tmp_path: Path, **kw: Any) -> PolicyGate:
    policy = tmp_path / "notes.policy.yaml"
    policy.write_text(POLICY)
    return PolicyGate(str(policy), **kw)


def test_the_gate_reads_an_intercept_policy_through_its_program(tmp_path: Path) -> None:
    gate = _gate(tmp_path)
    assert gate.dialect == "intercept" and gate.policy is None
    assert gate.hidden("run_shell") and not gate.hidden("read_note")
    assert gate.paths("create_refund") == (("amount",),)  # the amount it counts is the only value it reads
    assert gate.paths("run_shell") == ()
    assert not gate.releases_on("tool_error") and gate.releases_on("jsonrpc_error")
    assert not gate.releases_on("no_response")  # simulate keeps a reservation without an answer, too
    assert _gate(tmp_path, rollback_on="any").releases_on("tool_error")


def test_sliding_windows_and_unknown_rollback_values_are_refused(tmp_path: Path) -> None:
    from policyctl.errors import UsageError

    with pytest.raises(UsageError, match="fixed calendar windows only"):
        _gate(tmp_path, windows="sliding")
    r = run_cli("record", "-o", str(tmp_path / "t.jsonl"), "--policy", str(tmp_path / "notes.policy.yaml"),
                "--windows", "sliding", "--", *SERVER)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert not (tmp_path / "t.jsonl").exists()
    r = run_cli("record", "-o", str(tmp_path / "t.jsonl"), "--policy", str(tmp_path / "notes.policy.yaml"),
                "--rollback-on", "sometimes", "--", *SERVER)
    assert r.returncode == 2 and "--rollback-on" in r.stderr and "Traceback" not in r.stderr


def test_an_enforced_call_held_behind_an_unanswered_one_is_decided_after_its_answer(tmp_path: Path) -> None:
    """Two e-mails fit; the third arrives while the first is unanswered. The first then fails with a
    JSON-RPC error, which gives its reservation back: the third is allowed, as simulate says."""
    import orjson

    gate = _gate(tmp_path)
    trace = str(tmp_path / "t.jsonl")
    rec = Recorder(TraceFile(trace), options=Options(enforce=True), gate=gate)
    out = []

    def call(ident: int) -> bytes:
        return orjson.dumps({"jsonrpc": "2.0", "id": ident, "method": "tools/call",
                             "params": {"name": "send_email", "arguments": {"to": "x"}}})

    assert rec.from_client(call(1)) == (call(1), None)
    assert rec.from_client(call(2)) == (call(2), None)
    held: list = []
    assert rec.from_client(call(3), later=lambda f, a: out.append((f, a)), held=held) == (None, None)
    assert held == [3]
    rec.from_server(orjson.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "no"}}))
    assert out == [(call(3), None)]  # forwarded once the reservation came back
    rec.from_server(orjson.dumps({"jsonrpc": "2.0", "id": 2, "result": {"content": []}}))
    rec.from_server(orjson.dumps({"jsonrpc": "2.0", "id": 3, "result": {"content": []}}))
    rec.finish()
    assert [x["shadow"]["decision"] for x in _lines(Path(trace))] == ["allow", "allow", "allow"]
    assert _simulated(Path(trace), tmp_path / "notes.policy.yaml") == [("allow", "allowed", None)] * 3


def test_a_changed_intercept_policy_rebuilds_its_counters_from_the_trace(tmp_path: Path) -> None:
    """The trace so far is replayed under the new version, failures as the lines name them: a
    JSON-RPC error gave its reservation back, a tool error did not."""
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(
        json.dumps({"ts": f"2026-12-04T10:00:0{i}.000Z", "grant": "default", "tool": "send_email", "args": {},
                    "upstream": kind, "upstream_error": kind != "ok"}) + "\n"
        for i, kind in enumerate(["ok", "jsonrpc_error", "tool_error"])))
    from policyctl.mcp.proxy.session import history_of
    from policyctl.traces.reader import parse_ts

    notes: list[str] = []
    gate = _gate(tmp_path, history=history_of(str(trace)), notify=notes.append)
    ts = parse_ts("2026-12-04T10:00:05Z")
    (tmp_path / "notes.policy.yaml").write_text(POLICY.replace('rate_limit: "2/day"', 'rate_limit: "3/day"'))
    assert gate.maybe_reload(now=1e9) is True and "counters rebuilt" in notes[-1]
    assert gate.decide(ts, "default", "send_email", {}).reason == "allowed"  # ok + tool_error = 2 of 3
    assert gate.decide(ts, "default", "send_email", {}).message == "Rate limit of 3 per day reached. Try again later."
    (tmp_path / "notes.policy.yaml").write_text('version: "1"\ndefault: "perhaps"\n')
    assert gate.maybe_reload(now=2e9) is False and gate.refused == 1 and "refused" in notes[-1]


def test_append_counts_the_calls_already_in_the_trace(tmp_path: Path) -> None:
    from policyctl.mcp.proxy.shadow import replay_calls
    from policyctl.traces.reader import parse_ts

    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(
        json.dumps({"ts": "2026-12-04T10:00:00.000Z", "tool": "create_refund", "args": {"amount": n},
                    "upstream": kind, "upstream_error": kind != "ok"}) + "\n"
        for n, kind in ((1000, "ok"), (1500, "jsonrpc_error"), (1500, "tool_error"))))
    calls = replay_calls(str(trace))
    assert [c.upstream_error for c in calls] == [False, "jsonrpc_error", "tool_error"]
    gate = _gate(tmp_path)
    gate.warm_up(calls)
    ts = parse_ts("2026-12-04T10:00:01Z")
    assert gate.decide(ts, "default", "create_refund", {"amount": 500}).reason == "allowed"  # 1000+1500+500
    assert gate.decide(ts, "default", "create_refund", {"amount": 1}).reason == "rate_limited"
