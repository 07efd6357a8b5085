"""`policyctl convert`: exact conversions between the PolicyLayer and Intercept dialects, refusals
with positions, and the property that a converted policy decides every call as the original does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policyctl.convert import convert
from policyctl.engine.interpret import make_evaluator
from policyctl.policy.load import policy_from_bytes
from policyctl.reporters.convert import render
from tests.conftest import run_cli

PL_POLICY = {
    "version": "1",
    "default": "deny",
    "hide": ["delete_account"],
    "all_tools": {"limits": [{"counter": "calls", "window": "minute", "max": 60, "scope": "grant"}]},
    "tools": {
        "get_balance": {},
        "create_charge": {
            "require": [{"conditions": [{"path": "args.currency", "op": "in", "value": ["usd", "eur"]},
                                        {"path": "args.amount", "op": "lte", "value": 1000000}],
                         "on_deny": "Only small charges in usd or eur."}],
            "limits": [{"counter": "charges", "window": "hour", "max": 20, "scope": "grant"},
                       {"counter": "charges", "window": "day", "max": 100, "scope": "grant"}],
        },
        "create_refund": {"deny_if": [{"conditions": [], "on_deny": "Requires human approval."}]},
        "lookup": {"require": [{"conditions": [{"path": "args.id", "op": "eq", "value": 1000000}]}],
                   "limits": [{"counter": "lookups", "window": "minute", "max": 5, "scope": "grant"}]},
    },
}

PL_TO_INTERCEPT = '''\
# Converted from in.policy.json (PolicyLayer) by policyctl convert.
# Each rule's name is the PolicyLayer rule id it came from (docs/convert.md).
version: "1"
default: deny
hide:
  - "delete_account"
tools:
  "get_balance":
    rules: []
  "create_charge":
    rules:
      - name: "/tools/create_charge/require/args.currency-in"
        conditions:
          - path: "args.currency"
            op: in
            value: ["usd", "eur"]
        on_deny: "Only small charges in usd or eur."
      - name: "/tools/create_charge/require/args.amount-lte"
        conditions:
          - path: "args.amount"
            op: lte
            value: 1000000.0
        on_deny: "Only small charges in usd or eur."
      - name: "/tools/create_charge/limits/charges"
        rate_limit: "20/hour"
        on_deny: "Rate limit of 20 per hour reached (counter \\"charges\\")"
      - name: "/tools/create_charge/limits/charges"
        rate_limit: "100/day"
        on_deny: "Rate limit of 100 per day reached (counter \\"charges\\")"
  "create_refund":
    rules:
      - name: "/tools/create_refund/deny_if/0"
        action: deny
        on_deny: "Requires human approval."
  "lookup":
    rules:
      - name: "/tools/lookup/require/args.id-eq"
        conditions:
          - path: "args.id"
            op: eq
            value: 1000000.0
      - name: "/tools/lookup/limits/lookups"
        rate_limit: "5/minute"
        on_deny: "Rate limit of 5 per minute reached (counter \\"lookups\\")"
  "*":
    rules:
      - name: "/all_tools/limits/calls"
        rate_limit: "60/minute"
        on_deny: "Rate limit of 60 per minute reached (counter \\"calls\\")"
'''

INTERCEPT_POLICY = '''\
version: "1"
description: "payments"
default: deny
hide: [delete_account]
tools:
  get_balance:
    rules: []
  create_charge:
    rules:
      - name: "small charges"
        conditions:
          - {path: "args.amount", op: "lte", value: 50000}
          - {path: "args.currency", op: "eq", value: "usd"}
        on_deny: "Charges up to $500 in usd."
      - name: "charges per hour"
        rate_limit: "20/hour"
      - name: "daily charges"
        conditions:
          - {path: "state.create_charge.daily", op: "lt", value: 101}
        state: {counter: "daily", window: "day"}
  create_refund:
    rules:
      - name: "approval"
        action: deny
  "*":
    rules:
      - name: "global"
        rate_limit: "60/minute"
'''

INTERCEPT_TO_PL = {
    "version": "1",
    "default": "deny",
    "hide": ["delete_account"],
    "all_tools": {"limits": [{"counter": "_rate_minute", "window": "minute", "max": 60, "scope": "grant"}]},
    "tools": {
        "get_balance": {},
        "create_charge": {
            "require": [{"conditions": [{"path": "args.amount", "op": "lte", "value": 50000},
                                        {"path": "args.currency", "op": "eq", "value": "usd"}],
                         "on_deny": "Charges up to $500 in usd."}],
            "limits": [{"counter": "create_charge_rate_hour", "window": "hour", "max": 20, "scope": "grant"},
                       {"counter": "create_charge_daily", "window": "day", "max": 100, "scope": "grant"}],
        },
        "create_refund": {"deny_if": [{"conditions": [], "on_deny": 'Denied by rule "approval"'}]},
        "*": {},
    },
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_policylayer_to_intercept_text(tmp_path: Path) -> None:
    src = _write(tmp_path, "in.policy.json", json.dumps(PL_POLICY))
    r = run_cli("convert", "in.policy.json", "--to", "intercept", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == PL_TO_INTERCEPT
    out = _write(tmp_path, "out.policy.yaml", r.stdout)
    lint = run_cli("lint", str(out))
    assert lint.returncode == 0 and "no problems" in lint.stdout, lint.stdout
    assert src.read_text(encoding="utf-8") == json.dumps(PL_POLICY)


def test_intercept_to_policylayer_text(tmp_path: Path) -> None:
    _write(tmp_path, "in.policy.yaml", INTERCEPT_POLICY)
    r = run_cli("convert", "in.policy.yaml", "--to", "policylayer", "-o", "out.policy.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert r.stderr == ("note: in.policy.yaml:2:14: description left out (PolicyLayer's document has no "
                        "such field)\n")
    text = (tmp_path / "out.policy.json").read_text(encoding="utf-8")
    assert text == json.dumps(INTERCEPT_TO_PL, indent=2, ensure_ascii=False) + "\n"
    lint = run_cli("lint", str(tmp_path / "out.policy.json"))
    assert lint.returncode == 0 and "no problems" in lint.stdout, lint.stdout


def test_rule_map_of_intercept_to_policylayer() -> None:
    loaded = policy_from_bytes(INTERCEPT_POLICY.encode(), "in.policy.yaml")
    conversion = convert(loaded, "policylayer")
    assert conversion.rule_map == {
        ("/tools/create_charge/require/args.amount-lte", "Charges up to $500 in usd."):
            ("small charges", "Charges up to $500 in usd."),
        ("/tools/create_charge/require/args.currency-eq", "Charges up to $500 in usd."):
            ("small charges", "Charges up to $500 in usd."),
        ("/tools/create_charge/limits/create_charge_rate_hour",
         'Rate limit of 20 per hour reached (counter "create_charge_rate_hour")'):
            ("charges per hour", "Rate limit of 20 per hour reached. Try again later."),
        ("/tools/create_charge/limits/create_charge_daily",
         'Rate limit of 100 per day reached (counter "create_charge_daily")'):
            ("daily charges", "Rate limit exceeded for daily charges"),
        ("/tools/create_refund/deny_if/0", 'Denied by rule "approval"'): ("approval", 'Denied by rule "approval"'),
        ("/all_tools/limits/_rate_minute", 'Rate limit of 60 per minute reached (counter "_rate_minute")'):
            ("global", "Rate limit of 60 per minute reached. Try again later."),
    }


REFUSED_INTERCEPT = '''\
version: "1"
tools:
  create_charge:
    rules:
      - name: "spend"
        conditions:
          - path: "state.create_charge.spent"
            op: "lte"
            value: 100000
        state:
          counter: "spent"
          window: "day"
          increment_from: "args.amount"
      - name: "reads another tool"
        conditions:
          - path: "state.other._rate_minute"
            op: "lt"
            value: 3
      - name: "bulk"
        conditions:
          - path: "state.create_charge.bulk"
            op: "lte"
            value: 10
        state:
          counter: "bulk"
          window: "hour"
          increment: 2
      - name: "id"
        conditions:
          - path: "args.id"
            op: "eq"
            value: 1000000
  other:
    rules:
      - name: "n"
        rate_limit: "3/minute"
      - name: "approval"
        action: "require_approval"
  "*":
    rules:
      - name: "owner"
        conditions:
          - path: "args.owner"
            op: "eq"
            value: "acme"
'''


def test_intercept_refusals_list_every_construct(tmp_path: Path) -> None:
    _write(tmp_path, "in.policy.yaml", REFUSED_INTERCEPT)
    r = run_cli("convert", "in.policy.yaml", "--to", "policylayer", "-o", "out.policy.json", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert not (tmp_path / "out.policy.json").exists()
    lines = r.stderr.splitlines()
    assert lines[-1] == "not converted: 6 constructs without an exact PolicyLayer form; nothing was written"
    positions = [line.split(": ", 1)[0] for line in lines[:-1]]
    assert positions == ["in.policy.yaml:13:27", "in.policy.yaml:16:13", "in.policy.yaml:27:22",
                         "in.policy.yaml:32:20", "in.policy.yaml:38:17", "in.policy.yaml:43:13"]
    assert "increment_from in rule 'spend'" in lines[0] and "counts calls, one each" in lines[0]
    assert "state.other._rate_minute" in lines[1] and "reads a counter (cross-tool" in lines[1]
    assert "increment 2 in rule 'bulk'" in lines[2]
    assert "value '1000000'" in lines[3] and "'1e+06'" in lines[3]
    assert "require_approval" in lines[4]
    assert 'a "*" rule with conditions on arguments' in lines[5]


def test_policylayer_refusals(tmp_path: Path) -> None:
    policy = {
        "version": "1", "default": "allow",
        "all_tools": {"limits": [{"counter": "c", "window": "minute", "max": 5, "scope": "grant"}]},
        "tools": {
            "send": {"deny_if": [{"conditions": [{"path": "args.to", "op": "regex", "value": "@evil\\."}],
                                  "on_deny": "no"}]},
            "a.b": {"limits": [{"counter": "c", "window": "minute", "max": 5, "scope": "grant"}]},
            "twice": {"limits": [{"counter": "c", "window": "hour", "max": 5, "scope": "grant"},
                                 {"counter": "c", "window": "hour", "max": 3, "scope": "grant"}]},
            "*": {},
            "_global": {},
        },
    }
    _write(tmp_path, "in.policy.json", json.dumps(policy, indent=2))
    r = run_cli("convert", "in.policy.json", "--to", "intercept", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[-1] == "not converted: 5 constructs without an exact Intercept form; nothing was written"
    assert [line.split(": ", 1)[0] for line in lines[:-1]] == [
        "in.policy.json:18:25", "in.policy.json:30:17", "in.policy.json:47:9", "in.policy.json:55:5",
        "in.policy.json:56:5"]
    assert "Intercept has no conditional deny" in lines[0]
    assert "name has a dot" in lines[1]
    assert "two limits in one bucket" in lines[2]
    assert 'tool \'*\': a PolicyLayer tool named "*"' in lines[3]
    assert "scope _global" in lines[4]


def test_usage_errors(tmp_path: Path) -> None:
    _write(tmp_path, "in.policy.json", json.dumps(PL_POLICY))
    same = run_cli("convert", "in.policy.json", "--to", "intercept", "-o", "in.policy.json", cwd=tmp_path)
    assert same.returncode == 2 and "refusing to overwrite an input" in same.stderr
    _write(tmp_path, "exists.policy.yaml", "x")
    r = run_cli("convert", "in.policy.json", "--to", "intercept", "-o", "exists.policy.yaml", cwd=tmp_path)
    assert r.returncode == 2 and (tmp_path / "exists.policy.yaml").read_text() == "x"
    r = run_cli("convert", "in.policy.json", "--to", "intercept", "-o", "exists.policy.yaml", "--force",
                cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "exists.policy.yaml").read_text() == PL_TO_INTERCEPT
    assert run_cli("convert", "in.policy.json", "--to", "policylayer", cwd=tmp_path).returncode == 2
    assert run_cli("convert", "in.policy.json", "--to", "rego", cwd=tmp_path).returncode == 2
    assert run_cli("convert", "missing.json", "--to", "intercept", cwd=tmp_path).returncode == 2
    bad = run_cli("convert", "in.policy.json", "--to", "intercept", "-o", "out.json", cwd=tmp_path)
    assert bad.returncode == 2 and ".yaml" in bad.stderr


# -- the property: same decisions, call by call ----------------------------------------------------

TOOLS = ["alpha", "beta", 'q"x']  # Go's %q quotes the last one differently
CALLED = TOOLS + ["delta", "*"]
_scalars = st.one_of(st.integers(-3, 12), st.sampled_from([0.5, 2.0, 1e6, 1000000]),
                     st.sampled_from(["a", "b", "5", "true", "", "acme", "1e+06", "1000000"]), st.booleans(), st.none())
_values = st.one_of(_scalars, st.lists(_scalars, max_size=3))
_paths = st.sampled_from(["args.a", "args.b", "args.n.x"])


@st.composite
def _condition(draw: st.DrawFn, *, intercept: bool = False) -> dict:
    op = draw(st.sampled_from(["eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "regex",
                               "contains"]))
    if op in ("lt", "lte", "gt", "gte"):
        value = draw(st.one_of(st.integers(-2, 10), st.sampled_from([2.5, 1e6])))
    elif op in ("in", "not_in"):
        value = draw(st.lists(_scalars, max_size=3))
    elif op == "exists":
        value = draw(st.booleans())
    elif op == "regex":
        value = draw(st.sampled_from(["^a", "b$", "[0-9]", "a|5"]))
    else:
        value = draw(_values)
    if intercept and op in ("eq", "neq", "in", "not_in", "contains"):
        value = _as_float(value)  # a YAML integer ≥ 1e6 compares as other text in Intercept: refused
    return {"path": draw(_paths), "op": op, "value": value}


def _as_float(value: object) -> object:
    if isinstance(value, list):
        return [_as_float(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**6:
        return float(value)
    return value


_limit = st.fixed_dictionaries({"counter": st.sampled_from(["c1", "c2"]),
                                "window": st.sampled_from(["minute", "hour"]),
                                "max": st.integers(1, 3), "scope": st.just("grant")})
_limits = st.lists(_limit, max_size=2, unique_by=lambda lim: (lim["counter"], lim["window"]))
_message = st.sampled_from([None, "", "No.", 'Say "no"'])


def _rule(conditions: list, message: str | None) -> dict:
    return {"conditions": conditions} | ({} if message is None else {"on_deny": message})


@st.composite
def pl_policies(draw: st.DrawFn) -> dict:
    tools = {}
    for name in draw(st.lists(st.sampled_from(TOOLS), unique=True, max_size=3)):
        entry: dict = {}
        require = draw(st.lists(st.builds(_rule, st.lists(_condition(), max_size=3), _message), max_size=2))
        if require:
            entry["require"] = require
        if draw(st.booleans()) and draw(st.booleans()):
            entry["deny_if"] = [_rule([], draw(_message))]
        limits = draw(_limits)
        if limits:
            entry["limits"] = limits
        tools[name] = entry
    policy = {"version": "1", "default": draw(st.sampled_from(["allow", "deny"])), "tools": tools}
    hide = draw(st.lists(st.sampled_from(TOOLS + ["delta"]), max_size=2, unique=True))
    if hide:
        policy["hide"] = hide
    limits = draw(_limits)
    if limits:
        policy["all_tools"] = {"limits": limits}
    return policy


@st.composite
def intercept_policies(draw: st.DrawFn) -> dict:
    tools: dict = {}
    for name in draw(st.lists(st.sampled_from(TOOLS), unique=True, max_size=3)):
        rules = []
        windows = draw(st.lists(st.sampled_from(["minute", "hour", "day"]), unique=True, max_size=2))
        for i in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["evaluate", "state", "state", "mixed", "deny"]))
            rule: dict = {"name": f"{name} rule {i}"}
            message = draw(_message)
            if message:
                rule["on_deny"] = f"{message} ({i})"  # two rules, one path-op and one message: refused
            conds = draw(st.lists(_condition(intercept=True), min_size=1, max_size=2))
            if kind == "deny":
                rule["action"] = "deny"
            elif kind == "evaluate":
                rule["conditions"] = conds
            else:
                counter = f"k{i}"
                op, value = draw(st.sampled_from([("lte", 1), ("lte", 2), ("lt", 3), ("lte", 2.7)]))
                limit = {"path": f"state.{name}.{counter}", "op": op, "value": value}
                rule["conditions"] = (conds + [limit]) if kind == "mixed" else [limit]
                rule["state"] = {"counter": counter, "window": draw(st.sampled_from(["minute", "hour"]))}
            rules.append(rule)
        rules.extend({"name": f"{name} {w}", "rate_limit": f"{draw(st.integers(1, 3))}/{w}"} for w in windows)
        tools[name] = {"rules": draw(st.permutations(rules))}
    wild = [{"name": f"all {w}", "rate_limit": f"{draw(st.integers(1, 4))}/{w}"}
            for w in draw(st.lists(st.sampled_from(["minute", "hour"]), unique=True, min_size=1, max_size=2))
            if draw(st.booleans())]
    if wild:
        tools["*"] = {"rules": wild}
    policy = {"version": "1", "default": draw(st.sampled_from(["allow", "deny"])), "tools": tools}
    hide = draw(st.lists(st.sampled_from(TOOLS + ["delta"]), max_size=2, unique=True))
    if hide:
        policy["hide"] = hide
    return policy


_args = st.dictionaries(st.sampled_from(["a", "b", "n"]),
                        st.one_of(_values, st.fixed_dictionaries({"x": _scalars})), max_size=3)
# seconds between calls (mostly inside one window, sometimes across an hour), and now and then an
# upstream JSON-RPC error, which gives the call's quota back in both gateways
_calls = st.lists(st.tuples(st.one_of(st.integers(0, 15), st.just(3600)), st.sampled_from(["g1", "g1", "g1", "g2"]),
                            st.sampled_from(TOOLS * 3 + CALLED), _args, st.sampled_from([False, False, False, True])),
                  min_size=3, max_size=40)
START_NS = 1_796_342_400 * 10**9  # 2026-12-04T00:00:00Z


def _fixed(loaded, reason: str, tool: str) -> str:
    """The fixed hidden/default-deny message of a dialect (docs/convert.md: Intercept quotes as %q)."""
    from policyctl.policy.dialects.intercept.model import go_quote

    name = go_quote(tool) if loaded.dialect == "intercept" else f'"{tool}"'
    return f"Tool {name} is hidden by policy" if reason == "hidden" else f"Tool {name} is not permitted by policy"


def _same_decisions(original, conversion, converted, calls) -> None:
    src, dst = make_evaluator(original), make_evaluator(converted)
    ts = START_NS
    for step, grant, tool, args, failed in calls:
        ts += step * 10**9
        a = src.evaluate_ns(ts, grant, tool, args, upstream_error=failed)
        b = dst.evaluate_ns(ts, grant, tool, args, upstream_error=failed)
        assert (a.allowed, a.reason) == (b.allowed, b.reason), (tool, args, a, b)
        if b.reason in ("hidden", "default_deny"):
            assert b.rule == a.rule
            assert (a.message, b.message) == (_fixed(original, b.reason, tool), _fixed(converted, b.reason, tool))
        elif not b.allowed:
            assert conversion.rule_map[(b.rule, b.message)] == (a.rule, a.message), (tool, args, a, b)


@given(pl_policies(), _calls)
def test_policylayer_to_intercept_decides_the_same(data: dict, calls: list) -> None:
    original = policy_from_bytes(json.dumps(data).encode(), "gen.policy.json")
    conversion = convert(original, "intercept")
    assert conversion.ok, conversion.refusals
    text = render(conversion, "gen.policy.json")
    converted = policy_from_bytes(text.encode(), "gen.policy.yaml", dialect="intercept")
    calls = [c for c in calls if not (c[2] == "*" and data.get("all_tools") and data["default"] == "deny")]
    _same_decisions(original, conversion, converted, calls)


@given(intercept_policies(), _calls)
def test_intercept_to_policylayer_decides_the_same(data: dict, calls: list) -> None:
    original = policy_from_bytes(json.dumps(data).encode(), "gen.policy.yaml", dialect="intercept")
    conversion = convert(original, "policylayer")
    assert conversion.ok, conversion.refusals
    text = render(conversion, "gen.policy.yaml")
    converted = policy_from_bytes(text.encode(), "gen.policy.json", dialect="policylayer")
    _same_decisions(original, conversion, converted, calls)


@pytest.mark.parametrize("sample", ["samples/sncro.policy.json", "samples/intercept/github.policy.yaml",
                                    "samples/intercept/shell.policy.yaml"])
def test_samples_convert_and_lint(sample: str, tmp_path: Path) -> None:
    to = "policylayer" if "intercept" in sample else "intercept"
    out = tmp_path / ("out.policy.json" if to == "policylayer" else "out.policy.yaml")
    r = run_cli("convert", sample, "--to", to, "-o", str(out))
    assert r.returncode == 0, r.stderr
    lint = run_cli("lint", str(out))
    assert lint.returncode == 0 and "no problems" in lint.stdout, lint.stdout


def test_rules_policylayer_could_not_tell_apart_are_refused() -> None:
    text = '''\
version: "1"
tools:
  t:
    rules:
      - name: "first"
        conditions: [{path: "args.a", op: "eq", value: "x"}]
        on_deny: "No."
      - name: "second"
        conditions: [{path: "args.a", op: "eq", value: "y"}]
        on_deny: "No."
      - name: "never"
        action: deny
      - name: "after"
        rate_limit: "5/minute"
'''
    conversion = convert(policy_from_bytes(text.encode(), "t.policy.yaml"), "policylayer")
    assert [(r.line, r.column, r.construct) for r in conversion.refusals] == [(8, 9, "rule 'second'")]
    assert "the log could not tell which rule decided" in conversion.refusals[0].why
    assert conversion.notes == ("t.policy.yaml:13:9: rule 'after' of tool 't' left out: it follows an "
                                "unconditional deny (never reached)",)
    assert conversion.data is None


def test_yaml_timestamps_are_refused() -> None:
    text = ('version: "1"\ntools:\n  t:\n    rules:\n      - name: "a"\n        conditions:\n'
            '          - {path: "args.d", op: "in", value: [2026-01-02]}\n')
    conversion = convert(policy_from_bytes(text.encode(), "t.policy.yaml"), "policylayer")
    assert [(r.line, r.column, r.construct) for r in conversion.refusals] == [
        (7, 47, "value '[2026-01-02 00:00:00 +0000 UTC]' in rule 'a' of tool 't'")]
    assert "Go time.Time" in conversion.refusals[0].why
