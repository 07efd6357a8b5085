"""The Intercept corpus (tests/data/intercept/corpus): realistic policies for real MCP servers in
the layout of Intercept's scaffolds, and invalid variants of them.

- ``valid/NAME.policy.yaml`` passes ``intercept validate`` v1.1.0 and ``policyctl lint`` (warnings
  only where the file's header declares them with ``policyctl-warning: CODE``);
  ``valid/NAME.trace.jsonl`` states on every line what Intercept v1.1.0 decides (``expect``, often
  ``expect_rule``, and ``expect_message``, which simulate ignores and this test compares with the
  message of the ``jsonl`` output). The expectations were worked out by hand from Intercept's engine
  and proxy, then checked against ``policyctl simulate``.
- ``invalid/NAME.policy.yaml`` fails ``intercept validate``; ``invalid/NAME.expected`` is what that
  command prints on stdout (``Error: <message>`` per error, in Intercept's order). policyctl reports
  each message as PL501; diagnostics of its own (traps Intercept does not check) are declared in
  the file's header with ``policyctl-also: CODE ...``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from policyctl.documents.loader import load_text
from policyctl.lint.linter import lint_bytes
from policyctl.policy.dialects.intercept.model import build_document
from policyctl.policy.dialects.intercept.validate import validate
from tests.conftest import REPO, run_cli

CORPUS = Path(__file__).parent / "data" / "intercept" / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.policy.yaml"))
INVALID = sorted((CORPUS / "invalid").glob("*.policy.yaml"))
LOAD_ERROR = "Error: parsing config file: yaml: unmarshal errors:"


def _name(path: Path) -> str:
    return path.name.removesuffix(".policy.yaml")


def _declared(path: Path, tag: str) -> Counter[str]:
    """Codes named in the header comment after ``tag:`` (repeatable, several per line)."""
    codes: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(rf"#\s+{tag}:\s*(.*)$", line)
        if m:
            codes.update(m.group(1).split())
    return codes


def _lint(paths: list[Path]) -> dict[str, list[dict]]:
    r = run_cli("lint", "--dialect", "intercept", "--format", "json", *[str(p.relative_to(REPO)) for p in paths])
    assert r.returncode in (0, 1), r.stderr
    return {Path(f["path"]).name: f["diagnostics"] for f in json.loads(r.stdout)["files"]}


@pytest.fixture(scope="module")
def valid_lint() -> dict[str, list[dict]]:
    return _lint(VALID)


@pytest.fixture(scope="module")
def invalid_lint() -> dict[str, list[dict]]:
    return _lint(INVALID)


def _intercept_validate(path: Path) -> list[str]:
    """The messages of Intercept's validator, in its order (policyctl's port of validate.go)."""
    return [e.message for e in validate(build_document(load_text(path.read_text(encoding="utf-8"), path.name).document))]


def test_the_corpus_is_complete():
    assert len(VALID) >= 10 and len(INVALID) >= 15
    for p in VALID:
        assert p.with_name(_name(p) + ".trace.jsonl").is_file(), p
    for p in INVALID:
        assert p.with_name(_name(p) + ".expected").is_file(), p
    names = {p.name for p in (CORPUS / "valid").iterdir()} | {p.name for p in (CORPUS / "invalid").iterdir()}
    assert all(n.endswith((".policy.yaml", ".trace.jsonl", ".expected")) for n in names), names


@pytest.mark.parametrize("path", VALID, ids=_name)
def test_valid_policy_is_clean(path, valid_lint):
    diagnostics = valid_lint[path.name]
    assert [d for d in diagnostics if d["severity"] == "error"] == []
    assert Counter(d["code"] for d in diagnostics) == _declared(path, "policyctl-warning")
    assert _intercept_validate(path) == []


@pytest.mark.parametrize("path", VALID, ids=_name)
def test_trace_expectations_hold(path):
    trace = path.with_name(_name(path) + ".trace.jsonl")
    lines = [json.loads(x) for x in trace.read_text(encoding="utf-8").splitlines()]
    assert all(line.get("expect") for line in lines), "every corpus trace line states what Intercept decides"
    r = run_cli("simulate", str(trace.relative_to(REPO)), "--policy", str(path.relative_to(REPO)),
                "--format", "jsonl")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(rows) == len(lines) and all(row["ok"] for row in rows)
    for line, row in zip(lines, rows):
        if "expect_message" in line:
            assert row["message"] == line["expect_message"], row["line"]


@pytest.mark.parametrize("path", INVALID, ids=_name)
def test_invalid_policy_fails_as_intercept_would(path, invalid_lint):
    printed = path.with_name(_name(path) + ".expected").read_text(encoding="utf-8").splitlines()
    diagnostics = invalid_lint[path.name]
    pl501 = [d for d in diagnostics if d["code"] == "PL501"]
    assert all(d["severity"] == "error" for d in pl501)
    others = Counter(d["code"] for d in diagnostics if d["code"] != "PL501")
    assert others == _declared(path, "policyctl-also")
    if printed[0] == LOAD_ERROR:
        # Intercept stops at load; policyctl gives each of yaml.v3's type errors with its line
        expected = []
        for line in printed[1:]:
            m = re.fullmatch(r"  line (\d+): (cannot unmarshal .*)", line)
            assert m, line
            expected.append((int(m.group(1)), "Intercept cannot load the file: " + m.group(2)))
        assert sorted((d["line"], d["message"]) for d in pl501) == sorted(expected)
        return
    assert all(line.startswith("Error: ") for line in printed)
    expected = [line.removeprefix("Error: ") for line in printed]
    # lint lists diagnostics by position in the file; the validator keeps Intercept's order
    assert sorted(d["message"] for d in pl501) == sorted(expected)
    assert _intercept_validate(path) == expected


def test_invalid_policies_are_refused_by_simulate():
    path = CORPUS / "invalid" / "tool-order.policy.yaml"
    trace = CORPUS / "valid" / "notion.trace.jsonl"
    r = run_cli("simulate", str(trace.relative_to(REPO)), "--policy", str(path.relative_to(REPO)))
    assert r.returncode == 2
    assert 'error[PL501] tools.*.rules[0]: rate_limit window must be "minute", "hour", or "day", got "second"' in r.stderr


def _rules(data: dict):
    for tool, body in (data.get("tools") or {}).items():
        for rule in (body or {}).get("rules") or []:
            yield tool, rule


def test_the_valid_corpus_uses_every_rule_kind():
    docs = {p.name: (p.read_text(encoding="utf-8"), yaml.safe_load(p.read_text(encoding="utf-8"))) for p in VALID}
    ops, exists, windows, limits, increments, global_kinds = set(), set(), set(), set(), set(), set()
    defaults, on_deny, deny_rules, hidden, empty = set(), set(), 0, 0, 0
    for text, data in docs.values():
        defaults.add(data.get("default", "allow"))
        hidden += len(data.get("hide") or [])
        for tool, rule in _rules(data):
            on_deny.add("on_deny" in rule)
            if rule.get("action") == "deny":
                deny_rules += 1
                continue
            if "rate_limit" in rule:
                windows.add(rule["rate_limit"].split("/")[1])
                if tool == "*":
                    global_kinds.add("rate_limit")
                continue
            for c in rule["conditions"]:
                ops.add(c["op"])
                if c["op"] == "exists":
                    exists.add(c["value"])
            state = rule.get("state")
            if state:
                scope = "_global" if tool == "*" else tool
                own = [c["op"] for c in rule["conditions"] if c["path"] == f"state.{scope}.{state['counter']}"]
                limits.update(own)
                increments.add("increment_from" if "increment_from" in state
                               else "increment" if "increment" in state else "default")
                if tool == "*":
                    global_kinds.add("state")
        # the scaffold layout: category banners, the "*" rules or the commented wildcard, empty rule lists
        assert re.search(r"^\s+#  ── \w", text, re.M)
        assert '"*":' in text or '# "*":' in text
        empty += "rules: []" in text
    assert ops == {"eq", "neq", "in", "not_in", "lt", "lte", "gt", "gte", "regex", "contains", "exists"}
    assert exists == {True, False} and windows == {"minute", "hour", "day"} and limits == {"lt", "lte"}
    assert increments == {"increment_from", "increment", "default"} and global_kinds == {"rate_limit", "state"}
    assert defaults == {"allow", "deny"} and on_deny == {True, False} and deny_rules >= 3 and hidden >= 3
    assert empty >= len(docs) - 1  # all but the one-tool postgres policy


def test_the_traces_reach_every_decision():
    reasons = set()
    for p in VALID:
        trace = p.with_name(_name(p) + ".trace.jsonl")
        reasons |= {json.loads(x)["expect"] for x in trace.read_text(encoding="utf-8").splitlines()}
    assert reasons == {"allow", "hidden", "default_deny", "require", "deny_if", "rate_limited", "policy_error"}


def test_a_long_value_of_the_wrong_type_is_shortened_as_yaml_v3_does():
    text = 'version: "1"\nhide: delete_repository\ntools:\n  t:\n    rules:\n      - name: r\n        rate_limit: 5/hour\n'
    (d,) = lint_bytes(text.encode(), "p.policy.yaml", dialect="intercept").diagnostics
    assert d.message == "Intercept cannot load the file: cannot unmarshal !!str `delete_...` into []string"
    short = text.replace("delete_repository", "delete_rep")  # ten bytes: shown whole
    (d,) = lint_bytes(short.encode(), "p.policy.yaml", dialect="intercept").diagnostics
    assert d.message == "Intercept cannot load the file: cannot unmarshal !!str `delete_rep` into []string"


def test_require_approval_beside_a_rate_limit_is_a_newer_release_warning():
    # 1.1.0 rewrites the rule into a plain rate limit (the action is dropped) and validates it; the
    # releases that added require_approval refuse the combination
    text = ('version: "1"\ntools:\n  create_payout:\n    rules:\n      - name: r\n'
            "        action: require_approval\n        rate_limit: 5/hour\n")
    report = lint_bytes(text.encode(), "p.policy.yaml", dialect="intercept")
    assert [(d.code, d.pointer) for d in report.diagnostics] == [("PL503", "/tools/create_payout/rules/0/action")]


def test_string_fields_take_the_scalars_text_as_yaml_v3_does(tmp_path):
    # a number, boolean or YAML 1.1 integer in a Go string field is its text as written: "01", not "1"
    policy = tmp_path / "p.policy.yaml"
    policy.write_text('version: "1"\ndefault: deny\nhide: [0x1F, 010]\ntools:\n  t:\n    rules:\n'
                      "      - name: 1e3\n        conditions: [{path: state.t.1_0, op: lte, value: 1}]\n"
                      "        state: {counter: 1_0, window: day}\n        on_deny: True\n")
    assert lint_bytes(policy.read_bytes(), "p.policy.yaml", dialect="intercept").diagnostics == ()
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(f'{{"ts": "2026-12-03T10:00:0{i}Z", "tool": "{tool}"}}\n'
                             for i, tool in enumerate(["0x1F", "31", "010", "t", "t"])))
    r = run_cli("simulate", str(trace), "--policy", str(policy), "--format", "jsonl")
    rows = [(x["reason"], x["rule"], x["message"]) for x in map(json.loads, r.stdout.splitlines())]
    assert [row[0] for row in rows] == ["hidden", "default_deny", "hidden", "allowed", "rate_limited"]
    assert rows[4] == ("rate_limited", "1e3", "True")
    for text, shown in (("01", "01"), ("+1", "+1"), ("0x1", "0x1"), ("1_0", "1_0"), ("1e0", "1e0"), ("True", "True")):
        (d,) = lint_bytes(f"version: {text}\ntools: {{}}\n".encode(), "p.policy.yaml", dialect="intercept").diagnostics
        assert d.message == f'version must be "1", got "{shown}"'


def test_merge_keys_are_resolved_as_yaml_v3_does():
    # `<<: *anchor` adds the anchor's entries the mapping does not set; in a list the first wins
    text = ('version: "1"\ntools:\n  a:\n    rules:\n      - &base {name: base, on_deny: from base,\n'
            "          conditions: [{path: args.n, op: lte, value: 1}]}\n  b:\n    rules:\n"
            "      - <<: [{name: first, on_deny: first}, *base]\n        name: own\n")
    assert lint_bytes(text.encode(), "p.policy.yaml", dialect="intercept").diagnostics == ()
    cfg = build_document(load_text(text, "p.yaml").document)
    (rule,) = cfg.tools["b"]
    assert (rule.name, rule.on_deny, [c.path for c in rule.conditions]) == ("own", "first", ["args.n"])
