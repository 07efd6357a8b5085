"""Rule behaviour from YAML case files (tests/rules/cases/PLxxx.yaml), one runner for all.

Each file names its ``rule`` and may give a ``snapshot`` (a tool list) shared by its cases; each
case has a ``policy`` (text, YAML unless ``format: json``), optionally its own ``snapshot`` (null:
none), and ``expect``: the complete list of diagnostics as ``{code, pointer, line?, column?,
contains?}``. Every diagnostic the linter reports must be expected, and vice versa.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policyctl.lint.linter import lint_bytes
from policyctl.lint.rules import all_rules
from policyctl.scan.snapshots import parse_snapshot

CASES = Path(__file__).parent / "rules" / "cases"


def _load_cases():
    out = []
    for file in sorted(CASES.glob("PL*.yaml")):
        spec = yaml.safe_load(file.read_text(encoding="utf-8"))
        assert spec["rule"] == file.stem
        for case in spec["cases"]:
            snapshot = case.get("snapshot", spec.get("snapshot"))
            out.append(pytest.param(spec["rule"], case, snapshot, id=f"{file.stem}-{case['name']}"))
    return out


@pytest.mark.parametrize("rule,case,snapshot", _load_cases())
def test_case(rule, case, snapshot):
    fmt = case.get("format", "yaml")
    tools = parse_snapshot(snapshot, origin="case") if snapshot is not None else None
    report = lint_bytes(case["policy"].encode("utf-8"), f"case.policy.{fmt}", tools=tools)
    got = [(d.code, d.pointer) for d in report.diagnostics]
    want = [(e["code"], e.get("pointer")) for e in case["expect"]]
    assert sorted(got, key=str) == sorted(want, key=str), [
        (d.code, d.pointer, d.line, d.column, d.message) for d in report.diagnostics]
    for e in case["expect"]:
        (d,) = [d for d in report.diagnostics if (d.code, d.pointer) == (e["code"], e.get("pointer"))]
        if "line" in e:
            assert d.line == e["line"], d
        if "column" in e:
            assert d.column == e["column"], d
        if "contains" in e:
            assert e["contains"] in d.message, d.message
        assert d.rule == next(r.name for r in all_rules() if r.code == d.code)


def test_every_rule_has_a_case_file():
    files = {f.stem for f in CASES.glob("PL*.yaml")}
    assert files == {r.code for r in all_rules()}


def test_every_rule_is_seen_failing_in_its_case_file():
    for file in sorted(CASES.glob("PL*.yaml")):
        spec = yaml.safe_load(file.read_text(encoding="utf-8"))
        codes = {e["code"] for case in spec["cases"] for e in case["expect"]}
        assert spec["rule"] in codes, file.name
