"""The rule registry, its documentation, and the helpers rules share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policyctl.documents.loader import load_text
from policyctl.lint.linter import lint_bytes
from policyctl.lint.rules import (
    RULES_END,
    RULES_START,
    Context,
    all_rules,
    examples,
    expand,
    get,
    rule_table_markdown,
    rules_markdown,
)
from policyctl.lint.rules.input_schema import enum_of, lookup, types_of
from policyctl.lint.rules.regex_syntax import read
from policyctl.scan.snapshots import parse_snapshot

REPO = Path(__file__).resolve().parent.parent


def test_codes_names_and_severities():
    rules = all_rules()
    codes = [r.code for r in rules]
    assert codes == sorted(codes) and len(set(codes)) == len(codes) >= 18
    names = [r.name for r in rules]
    assert len(set(names)) == len(names)
    for r in rules:
        assert r.code[:3] in ("PL0", "PL1", "PL2", "PL3", "PL5")
        assert r.dialect == ("intercept" if r.code.startswith("PL5") else "policylayer"), r.code
        assert r.name == r.name.lower() and " " not in r.name and "_" not in r.name
        assert r.severity in ("error", "warning")
        assert r.summary and r.summary.endswith(".")
        if r.code.startswith(("PL2", "PL3")):
            assert r.severity == "warning", r.code
        if r.code.startswith("PL0"):
            assert r.severity == "error" and r.check is None
        else:
            assert callable(r.check)
    assert {r.code for r in rules if r.needs_tools} == {"PL109", "PL110", "PL111", "PL507"}


def test_get_and_expand():
    assert get("PL101").name == "invalid-regex"
    assert get("invalid-regex").code == "PL101"
    assert get("pl101").code == "PL101"
    assert expand("PL2") == ("PL201", "PL202")
    assert expand("PL10") == tuple(f"PL10{i}" for i in range(1, 10))
    assert expand("yaml11-scalar") == ("PL301",)
    assert expand("ALL") == tuple(r.code for r in all_rules())
    assert expand("PL5") == (*(f"PL50{i}" for i in range(1, 10)), "PL510")
    for bad in ("PL999", "PL6", "nope", "", "PL1x"):
        with pytest.raises(KeyError):
            expand(bad)


def test_rule_table_markdown():
    table = rule_table_markdown()
    lines = table.strip().splitlines()
    assert lines[0] == "| Code | Name | Default severity | Summary |"
    assert len(lines) == 2 + len(all_rules())
    assert "| `PL201` | `unanchored-allowlist` | warning | A `require` regex" in table
    assert "| `PL109` | `unknown-tool` | error | " in table and "*(needs `--tools`)*" in table


def test_docs_rule_section_is_generated_from_the_docstrings():
    doc = (REPO / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    start, end = doc.index(RULES_START), doc.index(RULES_END) + len(RULES_END)
    assert doc[start:end] + "\n" == rules_markdown(), \
        "regenerate the block between the rules:start/rules:end markers from rules_markdown()"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_docstring_examples(rule):
    """Every rule documents a failing and a passing example; lint proves both."""
    ex = examples(rule)
    assert "failing" in ex and "passing" in ex, rule.code
    tools = parse_snapshot(json.loads(ex["snapshot"]), origin="doc") if "snapshot" in ex else None
    assert rule.needs_tools == (tools is not None)
    failing = lint_bytes(ex["failing"].encode(), "example.policy.yaml", tools=tools)
    assert rule.code in {d.code for d in failing.diagnostics}
    passing = lint_bytes(ex["passing"].encode(), "example.policy.yaml", tools=tools)
    assert passing.diagnostics == (), passing.diagnostics


POLICYLAYER_EXAMPLES = {
    # The shell-exec allowlist from PolicyLayer's blog: default allow, an anchored require regex
    # and a deny_if regex for shell metacharacters.
    "shell": {
        "version": "1", "default": "allow",
        "tools": {"execute_command": {
            "require": [{"conditions": [{"path": "args.command", "op": "regex",
                                         "value": "^(npm (test|run lint|run build)|git (status|diff|log)( .*)?|ls( .*)?|pwd|cat [A-Za-z0-9_/.-]+)$"}],
                         "on_deny": "Command not on the allowlist."}],
            "deny_if": [{"conditions": [{"path": "args.command", "op": "regex",
                                         "value": "[;&|`]|\\$\\(|\\brm\\b|\\bcurl\\b|\\bwget\\b|\\bnc\\b|\\bbash\\b\\s+-c"}],
                         "on_deny": "Command contains shell metacharacters or a blocked binary. Denied."}],
        }},
    },
    "refund": {"version": "1", "default": "deny", "tools": {"create_refund": {"deny_if": [
        {"conditions": [{"path": "args.amount", "op": "gt", "value": 100}],
         "on_deny": "Refund exceeds the policy limit."}]}}},
    "approval": {"version": "1", "default": "deny", "tools": {"create_refund": {"deny_if": [
        {"conditions": [], "on_deny": "Requires human approval."}]}}},
    "sncro": {"version": "1", "default": "deny", "tools": {
        "create_session": {"limits": [{"counter": "create_session_rate", "window": "minute", "max": 30, "scope": "grant"}]},
        "report_issue": {"limits": [{"counter": "report_issue_rate", "window": "minute", "max": 30, "scope": "grant"}]},
        "end_session": {"limits": [{"counter": "end_session_rate", "window": "minute", "max": 10, "scope": "grant"}]},
        **{t: {} for t in ("check_session", "get_console_logs", "query_element", "query_all",
                           "get_network_log", "get_js_value", "get_page_snapshot", "get_feedback")},
    }},
    "spec-shape": {"version": "1", "default": "deny", "hide": ["delete_account"],
                   "all_tools": {"limits": []},
                   "tools": {"create_charge": {"require": [], "deny_if": [], "limits": []}}},
    "geodesic": {"version": "1", "default": "deny", "tools": {"approve_rule": {"limits": [
        {"counter": "approve_rule_per_hour", "window": "hour", "max": 30, "scope": "grant"}]}}},
}


@pytest.mark.parametrize("name", sorted(POLICYLAYER_EXAMPLES))
def test_policylayer_documented_examples_lint_clean(name):
    data = POLICYLAYER_EXAMPLES[name]
    report = lint_bytes(json.dumps(data, indent=2).encode(), f"{name}.policy.json")
    assert report.diagnostics == ()


@pytest.mark.parametrize("pattern,unsupported", [
    ("(?=a)", ["a lookahead (?=…)"]),
    ("(?<!a)b", ["a negative lookbehind (?<!…)"]),
    ("(a)\\2", ["a backreference \\2"]),
    ("a++", ["a possessive quantifier ++"]),
    ("a{2}+", ["a possessive quantifier }+"]),
    ("(?x) a", ["the verbose flag (?x)"]),
    ("(?#note)a", ["an inline comment (?#…)"]),
    ("\\Z", ["\\Z (end of text before a final newline)"]),
    ("[(?=]\\(?=", []),  # inside a class, and escaped: not a lookahead
    ("\\\\1", []),  # an escaped backslash followed by 1
    ("\\Q(?=\\E", []),
    ("a+b*?c??", []),
])
def test_regex_shape_unsupported(pattern, unsupported):
    assert list(read(pattern).unsupported) == unsupported


@pytest.mark.parametrize("pattern,start,end,alt,multi", [
    ("^abc$", True, True, False, False),
    ("^a|b$", True, True, True, False),
    ("^(a|b)$", True, True, False, False),
    ("(?i)^a$", True, True, False, False),
    ("(?m)^a$", True, True, False, True),
    ("\\Aa\\z", True, True, False, False),
    ("a\\$", False, False, False, False),
    ("^a\\\\$", True, True, False, False),
    ("[$]", False, False, False, False),
    ("^[|]$", True, True, False, False),
    # S4: an anchor that may match zero times anchors nothing
    ("^?(npm test|git status)$", False, True, False, False),
    ("\\A?(npm test)\\z", False, True, False, False),
    ("^*a$", False, True, False, False),
    ("^??a$", False, True, False, False),
    ("^{0}a$", False, True, False, False),
    ("^{0,3}a$", False, True, False, False),
    ("^{0,}a$", False, True, False, False),
    ("(?i)^?a$", False, True, False, False),
    ("(^)?a$", False, True, False, False),
    ("(?:^|x)a$", False, True, False, False),  # anchored in one branch of a group only
    ("^a$?", True, False, False, False),
    ("^a\\z*", True, False, False, False),
    ("^a${0,1}", True, False, False, False),
    ("^a(?:$)?", True, False, False, False),
    ("^a\\Q$", True, False, False, False),  # \Q…: a literal $, not an anchor
    # ... while a quantifier that keeps at least one repetition still anchors
    ("^+a${1}", True, True, False, False),
    ("^{2,}a$+", True, True, False, False),
    ("^?^a$", True, True, False, False),  # a later, non-optional anchor
    ("^a$$?", True, True, False, False),
    ("^{,3}a$", True, True, False, False),  # {,3} is a literal in RE2/Go, not a quantifier
    ("^a\\Q$\\E$", True, True, False, False),
])
def test_regex_shape_anchors(pattern, start, end, alt, multi):
    shape = read(pattern)
    assert (shape.starts_anchored, shape.ends_anchored, shape.top_level_alternation,
            shape.multiline) == (start, end, alt, multi)


SCHEMA = {
    "type": "object",
    "properties": {
        "a": {"type": "string", "enum": ["x", "y"]},
        "b": {"$ref": "#/$defs/B"},
        "c": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "d": {"type": "object"},
    },
    "$defs": {"B": {"type": "object", "properties": {"inner": {"const": 3}}}},
}


def test_input_schema_lookup():
    assert types_of(lookup(SCHEMA, ("a",)).schemas) == {"string"}
    assert enum_of(lookup(SCHEMA, ("a",)).schemas) == ["x", "y"]
    assert types_of(lookup(SCHEMA, ("b", "inner")).schemas) == {"integer", "number"}
    assert enum_of(lookup(SCHEMA, ("b", "inner")).schemas) == [3]
    assert types_of(lookup(SCHEMA, ("c",)).schemas) == {"integer", "number", "null"}
    assert enum_of(lookup(SCHEMA, ("c",)).schemas) is None
    missing = lookup(SCHEMA, ("b", "nope"))
    assert missing.missing_at == 1 and missing.known == ("inner",)
    assert lookup(SCHEMA, ("a", "x")).not_object == "string"
    unknown = lookup(SCHEMA, ("d", "anything"))
    assert unknown.schemas == () and unknown.missing_at is None
    assert lookup({"type": "object"}, ("z",)).missing_at is None
    loop = {"$ref": "#", "properties": {"a": {"$ref": "#"}}}
    assert lookup(loop, ("a", "a", "a")).missing_at is None  # recursive refs terminate


def test_rules_see_only_data_and_tools():
    doc = load_text('{"version": "1", "default": "allow"}', "x.json").document
    ctx = Context(document=doc)
    fired = [f for r in all_rules() if r.check and not r.needs_tools and r.dialect == "policylayer"
             for f in r.check(ctx)]
    assert [(f.pointer, f.key) for f in fired] == [("/default", False)]
