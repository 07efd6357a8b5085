"""--dialect forces how a policy is read, on every command that reads one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

# No mark of either dialect: recognised as PolicyLayer unless --dialect says otherwise.
UNMARKED = 'version: "1"\ndefault: deny\ntools:\n  t: {}\n'
CALL = ["--call", '{"tool": "x", "args": {}}', "--at", "2026-12-04T10:00:00Z", "--format", "json"]


def _policy(tmp_path: Path) -> str:
    p = tmp_path / "p.policy.yaml"
    p.write_text(UNMARKED, encoding="utf-8")
    return str(p)


def test_explain_reads_an_unmarked_policy_as_the_dialect_it_is_told(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    detected = run_cli("explain", "--policy", policy, *CALL)
    forced = run_cli("explain", "--policy", policy, *CALL, "--dialect", "intercept")
    assert detected.returncode == 0 and forced.returncode == 0, (detected.stderr, forced.stderr)
    assert "dialect" not in json.loads(detected.stdout)  # PolicyLayer output has no dialect key
    assert json.loads(forced.stdout)["dialect"] == "intercept"


def test_convert_needs_the_forced_dialect_to_convert_the_other_way(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    same = run_cli("convert", policy, "--to", "intercept", "--dialect", "intercept")
    assert same.returncode == 2 and same.stdout == ""
    converted = run_cli("convert", policy, "--to", "policylayer", "--dialect", "intercept")
    assert converted.returncode == 0, converted.stderr
    assert json.loads(converted.stdout)["default"] == "deny"


@pytest.mark.parametrize("command", ["simulate", "explain", "diff", "record", "convert"])
def test_an_unknown_dialect_is_a_usage_error_that_writes_nothing(tmp_path: Path, command: str) -> None:
    policy = _policy(tmp_path)
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"ts": "2026-12-04T10:00:00Z", "tool": "x", "args": {}}\n', encoding="utf-8")
    out = tmp_path / "out.txt"
    argv = {
        "simulate": ["simulate", str(trace), "--policy", policy, "-o", str(out)],
        "explain": ["explain", "--policy", policy, *CALL, "-o", str(out)],
        "diff": ["diff", policy, policy, "-o", str(out)],
        "record": ["record", "--policy", policy, "-o", str(out), "--dialect", "yaml", "--", "true"],
        "convert": ["convert", policy, "--to", "policylayer", "-o", str(out)],
    }[command]
    r = run_cli(*argv) if "--" in argv else run_cli(*argv, "--dialect", "yaml")
    assert r.returncode == 2
    assert "--dialect: unknown dialect 'yaml' (choose from policylayer, intercept)" in r.stderr
    assert not out.exists()
