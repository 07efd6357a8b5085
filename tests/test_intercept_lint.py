"""The Intercept dialect in lint: Intercept v1.1.0's own validation, message for message and in
order (the conformance cases in tests/data/intercept/cases.yaml), positions, and detection."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policyctl.lint.linter import lint_bytes
from policyctl.policy.dialects import detect
from policyctl.policy.dialects.intercept.model import go_quote
from tests.conftest import run_cli

CASES = yaml.safe_load((Path(__file__).parent / "data" / "intercept" / "cases.yaml").read_text(encoding="utf-8"))
VALIDATION = [c for c in CASES if "validate_errors" in c]

# Where lint says something else than `intercept validate`, on purpose:
# - a YAML syntax error or a duplicate key is policyctl's PL001/PL003 (Intercept stops at load,
#   with the YAML library's wording), and an empty file is PL001 "the file is empty";
# - `action: require_approval` is a later release's action: PL503, not an invalid action.
LOAD_ERRORS = {"fixture invalid_policy.yaml is a YAML parse error", "duplicate YAML mapping key is a load error",
               "missing version, empty document"}


def _pl501(text: str) -> list[str]:
    report = lint_bytes(text.encode(), "p.policy.yaml", dialect="intercept")
    return [d.message for d in report.diagnostics if d.code == "PL501"]


@pytest.mark.parametrize("case", VALIDATION, ids=lambda c: c["name"][:60])
def test_validation_matches_intercept(case):
    expected = list(case["validate_errors"])
    if case["name"] in LOAD_ERRORS:
        report = lint_bytes(case["policy"].encode(), "p.policy.yaml", dialect="intercept")
        assert {d.code for d in report.diagnostics} & {"PL001", "PL003"}, report.diagnostics
        return
    if "require_approval" in case["policy"]:
        expected = [e for e in expected if '"require_approval"' not in e]
    got = _pl501(case["policy"])
    load = [e for e in expected if e.startswith("parsing config file: ")]
    if load:  # a type error: Intercept refuses to load; the yaml.v3 detail after its prefix
        assert len(got) == 1 and got[0].startswith("Intercept cannot load the file: cannot unmarshal")
        assert got[0].split("unmarshal ", 1)[1] in load[0]
        return
    # lint lists diagnostics by position; Intercept's own order is the validator's
    assert sorted(got) == sorted(expected)
    from policyctl.documents.loader import load_text
    from policyctl.policy.dialects.intercept.model import build, yaml_v3_data
    from policyctl.policy.dialects.intercept.validate import validate

    cfg = build(yaml_v3_data(load_text(case["policy"], "p.yaml").document))
    assert [e.message for e in validate(cfg)] == expected


def test_the_case_file_covers_validation_and_calls():
    assert len(VALIDATION) >= 25 and sum("calls" in c for c in CASES) >= 60


def test_positions_point_at_the_offending_part():
    text = ('version: "1"\ndefault: deny\ntools:\n  t:\n    rules:\n      - name: r\n'
            "        conditions:\n          - {path: args.n, op: lt, value: \"5\"}\n")
    (d,) = [d for d in lint_bytes(text.encode(), "p.policy.yaml").diagnostics]
    assert (d.code, d.line, d.column, d.pointer) == ("PL501", 8, 43, "/tools/t/rules/0/conditions/0/value")
    assert d.message == 'tools.t.rules[0].conditions[0]: operator "lt" requires a numeric value'


def test_unknown_keys_are_errors_and_newer_keys_warnings():
    text = ('version: "1"\ndefault: deny\nspend: {}\ntools:\n  pay:\n    rules:\n'
            "      - name: r\n        action: require_approval\n        approval_timeout: 30m\n"
            "        conditons:\n          - {path: args.n, op: lt, value: 5}\n")
    got = [(d.code, d.severity, d.pointer) for d in lint_bytes(text.encode(), "p.policy.yaml").diagnostics]
    assert got == [("PL503", "warning", "/spend"), ("PL503", "warning", "/tools/pay/rules/0/action"),
                   ("PL503", "warning", "/tools/pay/rules/0/approval_timeout"),
                   ("PL502", "error", "/tools/pay/rules/0/conditons")]


def test_rate_limit_shorthand_is_desugared_before_validation():
    ok = 'version: "1"\ntools:\n  t:\n    rules:\n      - name: r\n        rate_limit: 5/hour\n'
    assert lint_bytes(ok.encode(), "p.policy.yaml").diagnostics == ()
    bad = ok.replace("5/hour", "5/week")
    assert _pl501(bad) == ['tools.t.rules[0]: rate_limit window must be "minute", "hour", or "day", got "week"']


def test_lt_limit_and_state_that_never_counts():
    text = ('version: "1"\ntools:\n  t:\n    rules:\n      - name: a\n        conditions:\n'
            "          - {path: state.t.n, op: lt, value: 10}\n        state: {counter: n, window: hour}\n"
            "      - name: b\n        conditions:\n          - {path: state.t.m, op: gt, value: 1}\n"
            "        state: {counter: m, window: day}\n")
    got = {(d.code, d.pointer): d.message for d in lint_bytes(text.encode(), "p.policy.yaml").diagnostics}
    assert got[("PL505", "/tools/t/rules/0/conditions/0/op")].startswith('"lt 10" on state.t.n allows 9 calls per hour')
    assert ("PL504", "/tools/t/rules/1/state") in got


@pytest.mark.parametrize("data,dialect", [
    ({"version": "1", "default": "deny", "tools": {"t": {"rules": []}}}, "intercept"),
    ({"version": "1", "tools": {"*": {}}}, "intercept"),
    ({"version": "1", "description": "x"}, "intercept"),
    ({"version": "1", "default": "deny", "tools": {"t": {"deny_if": []}}}, "policylayer"),
    ({"version": "1", "default": "deny", "all_tools": {"limits": []}}, "policylayer"),
    ({"version": "1", "default": "deny", "tools": {"t": {}}}, "policylayer"),
    ([1, 2], "policylayer"),
])
def test_detect(data, dialect):
    assert detect(data) == dialect


@pytest.mark.parametrize("text,quoted", [
    ("plain", '"plain"'), ('a"b\\c', '"a\\"b\\\\c"'), ("tab\there\n", '"tab\\there\\n"'),
    ("é ü", '"é ü"'), ("\x1b[31m", '"\\x1b[31m"'), ("\x7f", '"\\x7f"'), ("\u202e", '"\\u202e"'),
])
def test_go_quote(text, quoted):
    assert go_quote(text) == quoted


def test_cli_lint_dialect_flag(tmp_path):
    policy = tmp_path / "p.policy.yaml"
    policy.write_text('version: "1"\ndefault: deny\ntools: {}\n')  # no mark of either dialect
    assert run_cli("lint", str(policy)).returncode == 0
    r = run_cli("lint", "--dialect", "intercept", str(policy))
    assert r.returncode == 0, r.stdout + r.stderr
    policy.write_text('version: "2"\ndefault: deny\ntools: {}\n')
    r = run_cli("lint", "--dialect", "intercept", str(policy))
    assert r.returncode == 1 and 'error[PL501] version must be "1", got "2"' in r.stdout
    assert run_cli("lint", "--dialect", "nope", str(policy)).returncode == 2


def test_a_selection_never_hides_an_invalid_intercept_policy(tmp_path):
    policy = tmp_path / "p.policy.yaml"
    policy.write_text('version: "1"\ntools:\n  t:\n    rules:\n      - {name: r, op: eq}\n')
    r = run_cli("lint", "--select", "PL2", str(policy))
    assert r.returncode == 1 and "PL502" in r.stdout and "PL501" in r.stdout, r.stdout
    assert run_cli("lint", "--ignore", "PL501", str(policy)).returncode == 2
