"""Intercept policies as Go's yaml.v3 (v3.0.1, Intercept v1.1.0's YAML library) decodes them: null
keys and null list elements, and YAML's special floats (.inf, .nan) and floats that overflow.

The expectations come from yaml.v3's ``decode.go`` and ``resolve.go`` (v3.0.1) and Intercept's
``internal/config`` (v1.1.0), and were checked by decoding each policy with yaml.v3 v3.0.1 into
copies of Intercept's config structs (Go 1.19, amd64). In decode.go, ``null()`` sets only
interfaces, pointers, maps and slices; for a string, a struct or a number it reports failure, and
``mapping()`` then skips the entry (value undecoded) while ``sequence()`` leaves the element out.
"""

from __future__ import annotations

import math

import pytest

from policyctl.documents.loader import load_text
from policyctl.engine.interpret import Interpreter
from policyctl.errors import InvalidPolicyError
from policyctl.lint.linter import lint_bytes
from policyctl.policy.dialects.intercept.lower import lower
from policyctl.policy.dialects.intercept.model import build_document
from policyctl.policy.load import policy_from_bytes


def _lint(text: str) -> list[tuple[str, str]]:
    report = lint_bytes(text.encode(), "p.policy.yaml", dialect="intercept")
    return [(d.code, d.message) for d in report.diagnostics]


def _cfg(text: str):
    result = load_text(text, "p.yaml")
    assert result.document is not None, result.diagnostics
    return build_document(result.document)


NULL_TOOL = 'version: "1"\ndefault: allow\ntools:\n  {key}:\n    rules:\n      - name: block\n        action: deny\n  real:\n    rules: []\n'


# ---- 1. a null tools key -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["null", "Null", "NULL", "~", "!!null null", "!!null ''"])
def test_a_null_tools_key_names_no_tool(key):
    # yaml.v3 cannot decode a null into the map's string key: the entry and its rules are dropped.
    cfg = _cfg(NULL_TOOL.format(key=key))
    assert list(cfg.tools) == ["real"]
    assert "null" not in cfg.tools and "~" not in cfg.tools
    # lint says so (Intercept ignores the entry without a word, as it does an unknown key)
    found = _lint(NULL_TOOL.format(key=key))
    assert [c for c, _ in found] == ["PL502"]
    assert "is a YAML null, not a name" in found[0][1] and "apply to no tool" in found[0][1]


def test_an_explicit_empty_key_is_null_too():
    text = 'version: "1"\ntools:\n  ? \n  : {rules: [{name: block, action: deny}]}\n'
    assert _cfg(text).tools == {}
    assert [c for c, _ in _lint(text)] == ["PL502"]


def test_an_empty_implicit_key_is_a_yaml_syntax_error():
    # yaml.v3: "yaml: line 2: did not find expected key" (Intercept: "parsing config file: ...")
    text = 'version: "1"\ntools:\n  : {rules: [{name: block, action: deny}]}\n'
    assert [c for c, _ in _lint(text)] == ["PL001"]


def test_a_quoted_null_key_is_a_tool_named_null():
    cfg = _cfg(NULL_TOOL.format(key='"null"'))
    assert list(cfg.tools) == ["null", "real"] and cfg.tools["null"][0].name == "block"
    assert _lint(NULL_TOOL.format(key='"null"')) == []
    cfg = _cfg(NULL_TOOL.format(key="!!str null"))
    assert list(cfg.tools) == ["null", "real"]


def test_null_and_quoted_null_keys_are_duplicates_but_null_and_tilde_are_not():
    # yaml.v3 compares keys by kind and source text: `null` and `"null"` clash, `null` and `~` do not
    dup = 'version: "1"\ntools:\n  null: {rules: []}\n  "null": {rules: []}\n'
    assert "PL003" in [c for c, _ in _lint(dup)]
    two = 'version: "1"\ntools:\n  null: {rules: []}\n  ~: {rules: []}\n'
    assert [c for c, _ in _lint(two)] == ["PL502", "PL502"]
    assert _cfg(two).tools == {}


def test_what_is_under_a_null_key_is_never_decoded():
    # `increment: abc` would be a load error anywhere else; under a null key yaml.v3 never reads it
    text = ('version: "1"\ntools:\n  null:\n    rules:\n      - name: x\n'
            '        state: {counter: c, window: day, increment: abc}\n')
    assert [c for c, _ in _lint(text)] == ["PL502"]
    assert _cfg(text).loads


def test_simulate_and_explain_refuse_a_null_tools_key_as_they_do_an_ignored_key():
    with pytest.raises(InvalidPolicyError) as exc:
        policy_from_bytes(NULL_TOOL.format(key="null").encode(), "p.policy.yaml")
    assert any(d.code == "PL502" for d in exc.value.diagnostics)


def test_the_program_has_no_tool_for_a_null_key():
    program = lower(_cfg(NULL_TOOL.format(key="~")))
    interp = Interpreter(program)
    for tool in ("null", "~", "", "real"):
        assert interp.evaluate(0.0, "default", tool, {}).decision == "allow", tool


# ---- null elements of typed lists ----------------------------------------------------------------


def test_null_list_elements_are_left_out_and_later_ones_move_up():
    # Go (yaml.v3 v3.0.1): hide == ["x" "" "y" "x"]; one rule, "a", with one condition
    text = ('version: "1"\nhide: [x, null, ~, "", y, x]\ntools:\n  real:\n    rules:\n      - ~\n'
            '      - name: a\n        conditions: [null, {path: args.a, op: lt, value: "5"}]\n')
    cfg = _cfg(text)
    assert cfg.hide == ("x", "", "y", "x")
    assert [(r.index, r.name, len(r.conditions)) for r in cfg.tools["real"]] == [(0, "a", 1)]
    assert sorted(m for c, m in _lint(text) if c == "PL501") == sorted([
        "hide[1]: entry must not be empty",
        'hide: duplicate entry "x"',
        'tools.real.rules[0].conditions[0]: operator "lt" requires a numeric value',
    ])


def test_a_null_in_a_value_list_stays():
    cfg = _cfg('version: "1"\ntools:\n  t:\n    rules:\n      - name: a\n'
               '        conditions: [{path: args.a, op: in, value: [null, 1]}]\n')
    assert cfg.tools["t"][0].conditions[0].value == [None, 1]


# ---- 2. .inf, .nan and floats that overflow --------------------------------------------------------

SPECIAL = """version: "1"
tools:
  a:
    rules:
      - name: lt-inf
        conditions: [{path: args.x, op: lt, value: .inf}]
  b:
    rules:
      - name: gt-ninf
        conditions: [{path: args.x, op: gt, value: -.Inf}]
  c:
    rules:
      - name: neq-nan
        conditions: [{path: args.x, op: neq, value: .NAN}]
  d:
    rules:
      - name: eq-inf
        conditions: [{path: args.x, op: eq, value: +.INF}]
  e:
    rules:
      - name: lte-nan
        conditions: [{path: args.x, op: lte, value: .NaN}]
  f:
    rules:
      - name: in-special
        conditions: [{path: args.x, op: in, value: [.nan, .inf]}]
"""


def test_special_floats_are_valid_intercept_numbers_not_pl004():
    # yaml.v3 reads them as float64 ±Inf / NaN, which Intercept's isNumeric accepts (validate.go)
    assert _lint(SPECIAL) == []
    cfg = _cfg(SPECIAL)
    assert cfg.tools["a"][0].conditions[0].value == math.inf
    assert cfg.tools["b"][0].conditions[0].value == -math.inf
    assert math.isnan(cfg.tools["c"][0].conditions[0].value)


def test_pl004_still_applies_to_policylayer_files_and_to_big_integers_in_intercept_ones():
    pl = 'version: "1"\ndefault: deny\ntools:\n  t:\n    deny_if:\n      - conditions: [{path: args.a, op: gt, value: .inf}]\n'
    report = lint_bytes(pl.encode(), "p.policy.yaml", dialect="policylayer")
    assert "PL004" in [d.code for d in report.diagnostics]
    big = ('version: "1"\ntools:\n  t:\n    rules:\n      - name: a\n'
           '        conditions: [{path: args.a, op: lt, value: 9007199254740993}]\n')
    assert [c for c, _ in _lint(big)] == ["PL004"]


@pytest.mark.parametrize("text", ["1e400", ".5e999", "-1e400", "1.0e+400", "9" * 1200])
def test_a_float_that_overflows_is_a_string_to_yaml_v3(text):
    # strconv.ParseFloat fails with a range error, so resolve.go keeps the scalar as a !!str
    policy = ('version: "1"\ntools:\n  t:\n    rules:\n      - name: a\n'
              f'        conditions: [{{path: args.a, op: lt, value: {text}}}]\n')
    assert _cfg(policy).tools["t"][0].conditions[0].value == text
    assert _lint(policy) == [("PL501", 'tools.t.rules[0].conditions[0]: operator "lt" requires a numeric value')]


def test_a_tagged_float_that_overflows_stays_an_error():
    # yaml.v3: "cannot decode !!str `1e400` as a !!float", so Intercept cannot load the file
    policy = ('version: "1"\ntools:\n  t:\n    rules:\n      - name: a\n'
              '        conditions: [{path: args.a, op: lt, value: !!float 1e400}]\n')
    assert [c for c, _ in _lint(policy)] == ["PL004"]


def test_a_special_float_rate_limit_is_its_text():
    policy = 'version: "1"\ntools:\n  t:\n    rules:\n      - name: r\n        rate_limit: .inf\n'
    assert _lint(policy) == [
        ("PL501", 'tools.t.rules[0]: rate_limit must be in the format "N/window" (e.g. "5/hour"), got ".inf"')]


@pytest.mark.parametrize("tool,decisions", [
    # args 5, "+Inf", "NaN", 1e308. Go: comparisons are IEEE (NaN compares false); a string is not
    # numeric, so lt/gt fail and eq/in compare fmt's %v: "+Inf", "-Inf", "NaN".
    ("a", ["allow", "deny", "deny", "allow"]),
    ("b", ["allow", "deny", "deny", "allow"]),
    ("c", ["allow", "allow", "deny", "allow"]),
    ("d", ["deny", "allow", "deny", "deny"]),
    ("e", ["deny", "deny", "deny", "deny"]),
    ("f", ["deny", "allow", "allow", "deny"]),
])
def test_simulate_compares_special_floats_as_intercepts_engine(tool, decisions):
    interp = Interpreter(lower(_cfg(SPECIAL)))
    got = [interp.evaluate(0.0, "default", tool, {"x": x}).decision for x in (5, "+Inf", "NaN", 1e308)]
    assert got == decisions
