"""load_policy: the gate simulate/explain/diff go through."""

from __future__ import annotations

import io
import sys

import pytest

from policyctl.errors import InputError, InvalidPolicyError
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.policy.load import LoadedPolicy, format_diagnostics, load_policy

GOOD = """{"version": "1", "default": "deny",
 "tools": {"create_refund": {"deny_if": [{"conditions": [{"path": "args.amount", "op": "gt", "value": 100}],
  "on_deny": "Refund exceeds the policy limit."}]}}}
"""


def test_loads_json_and_yaml(tmp_path):
    j = tmp_path / "a.policy.json"
    j.write_text(GOOD)
    y = tmp_path / "a.policy.yaml"
    y.write_text("version: '1'\ndefault: deny\ntools:\n  create_refund:\n    deny_if:\n"
                 "      - conditions: [{path: args.amount, op: gt, value: 100}]\n"
                 "        on_deny: Refund exceeds the policy limit.\n")
    a, b = load_policy(str(j)), load_policy(str(y))
    assert isinstance(a, LoadedPolicy) and isinstance(a.policy, Policy)
    assert a.policy == b.policy
    assert a.path == str(j) and a.document.format == "json" and b.document.format == "yaml"
    rule = a.policy.tools["create_refund"].deny_if[0]
    assert rule.conditions[0].ident == "args.amount-gt"
    assert a.document.position("/tools/create_refund/deny_if/0") == (2, 42)


def test_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(GOOD.encode())))
    loaded = load_policy("-")
    assert loaded.path == "<stdin>" and loaded.document.format == "json"


def test_schema_errors_raise_with_diagnostics(tmp_path):
    p = tmp_path / "bad.policy.yaml"
    p.write_text("version: 1\ndefault: maybe\n")
    with pytest.raises(InvalidPolicyError) as info:
        load_policy(str(p))
    err = info.value
    assert err.message == f"{p}: not a valid policy (2 problems)"
    assert format_diagnostics(err.diagnostics) == [
        f'{p}:1:10: error[PL002] version must be "1" (got 1)',
        f'{p}:2:10: error[PL002] default must be one of "allow", "deny" (got "maybe")',
    ]
    assert err.details == tuple(format_diagnostics(err.diagnostics))


def test_syntax_error_raises(tmp_path):
    p = tmp_path / "bad.policy.json"
    p.write_text('{"version": "1",')
    with pytest.raises(InvalidPolicyError) as info:
        load_policy(str(p))
    (d,) = info.value.diagnostics
    assert (d.code, d.line, d.pointer) == ("PL001", 1, None)


def test_duplicate_key_raises(tmp_path):
    p = tmp_path / "dup.policy.json"
    p.write_text('{"version": "1", "default": "deny", "default": "allow"}')
    with pytest.raises(InvalidPolicyError) as info:
        load_policy(str(p))
    assert [d.code for d in info.value.diagnostics] == ["PL003"]


def test_huge_integer_raises(tmp_path):
    p = tmp_path / "n.policy.json"
    p.write_text('{"version": "1", "default": "deny", "all_tools": {"limits": [{"counter": "c", '
                 '"window": "hour", "max": 90071992547409930, "scope": "grant"}]}}')
    with pytest.raises(InvalidPolicyError) as info:
        load_policy(str(p))
    assert [d.code for d in info.value.diagnostics] == ["PL002", "PL004"]  # maximum, and unportable


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError) as info:
        load_policy(str(tmp_path / "nope.json"))
    assert not isinstance(info.value, InvalidPolicyError)
    assert "no such file" in info.value.message


def test_float_max_beyond_the_safe_range_is_a_schema_error(tmp_path):
    p = tmp_path / "f.policy.json"
    p.write_text('{"version": "1", "default": "deny", "all_tools": {"limits": [{"counter": "c", '
                 '"window": "hour", "max": 1e20, "scope": "grant"}]}}')
    with pytest.raises(InvalidPolicyError) as info:
        load_policy(str(p))
    assert [(d.code, d.pointer) for d in info.value.diagnostics] == [("PL002", "/all_tools/limits/0/max")]
    assert "must be at most 9007199254740992" in info.value.diagnostics[0].message


def test_integral_float_max_loads(tmp_path):
    p = tmp_path / "f.policy.json"
    p.write_text('{"version": "1", "default": "deny", "all_tools": {"limits": [{"counter": "c", '
                 '"window": "hour", "max": 2.0, "scope": "grant"}]}}')
    assert load_policy(str(p)).policy.all_tools.limits[0].max == 2


def test_integers_beyond_2_53_load_and_compare_as_doubles(tmp_path):
    """SPEC §3: integers above 2^53 lose precision, as in a Go engine; the policy is not refused."""
    from policyctl.engine.evaluator import Evaluator
    from policyctl.policy.load import load_policy

    path = tmp_path / "big.policy.json"
    path.write_text('{"version": "1", "default": "allow", "tools": {"t": {"deny_if": '
                    '[{"conditions": [{"path": "args.n", "op": "eq", "value": 1152921504606846977}]}]}}}')
    loaded = load_policy(str(path))
    decision = Evaluator(loaded.policy).evaluate(0.0, "g", "t", {"n": 1152921504606846976})
    assert (decision.reason, decision.rule) == ("deny_if", "/tools/t/deny_if/args.n-eq")


def test_nan_in_a_policy_is_still_refused(tmp_path):
    import pytest

    from policyctl.errors import InvalidPolicyError
    from policyctl.policy.load import load_policy

    path = tmp_path / "nan.policy.json"
    path.write_text('{"version": "1", "default": "allow", "tools": {"t": {"deny_if": '
                    '[{"conditions": [{"path": "args.n", "op": "eq", "value": NaN}]}]}}}')
    with pytest.raises(InvalidPolicyError) as info:
        load_policy(str(path))
    assert [d.code for d in info.value.diagnostics] == ["PL001"]
