"""`policyctl diff` through the real CLI: golden outputs, exit codes per --fail-on, errors."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, UPDATE_GOLDEN, assert_golden, run_cli

GOLDEN = Path(__file__).parent / "golden" / "diff"
V1, V2, TRACE = "samples/diff/v1.policy.json", "samples/diff/v2.policy.json", "samples/diff/trace.jsonl"
UPDATE = UPDATE_GOLDEN


def golden(name: str, text: str) -> None:
    assert_golden(GOLDEN / name, text)


@pytest.mark.parametrize(("fmt", "name"), [("text", "sample.txt"), ("markdown", "sample.md"), ("json", "sample.json")])
def test_sample_diff_golden(fmt: str, name: str) -> None:
    r = run_cli("diff", V1, V2, "--trace", TRACE, "--format", fmt)
    assert (r.returncode, r.stderr) == (1, "")
    golden(name, r.stdout)


def test_json_shape_is_the_spec_shape() -> None:
    r = run_cli("diff", V1, V2, "--trace", TRACE, "--format", "json")
    doc = json.loads(r.stdout)
    assert list(doc) == ["version", "changes", "summary", "behavior"]
    assert doc["version"] == 1
    assert all(list(c) == ["kind", "pointer", "old", "new", "effect"] for c in doc["changes"])
    assert doc["summary"] == {"loosened": 4, "tightened": 1, "neutral": 3, "unknown": 1}
    b = doc["behavior"]
    assert list(b) == ["calls", "changed", "transitions", "by_tool", "examples"]
    assert b["transitions"] == {"allow->deny": 2, "deny->allow": 5, "deny->deny": 1}
    assert b["by_tool"]["send_email"] == {"changed": 2}
    assert list(b["examples"][0]) == ["line", "tool", "old", "new"]
    assert b["examples"][0] == {"line": 3, "tool": "create_charge",
                                "old": {"decision": "deny", "reason": "deny_if",
                                        "rule": "/tools/create_charge/deny_if/args.amount-gt"},
                                "new": {"decision": "allow", "reason": "allowed", "rule": None}}


def test_without_trace_behavior_is_null_and_no_search_key() -> None:
    doc = json.loads(run_cli("diff", V1, V2, "-f", "json").stdout)
    assert doc["behavior"] is None and "search" not in doc


def test_argument_values_only_with_show_args() -> None:
    for fmt in ("text", "json", "markdown"):
        hidden = run_cli("diff", V1, V2, "--trace", TRACE, "-f", fmt)
        assert "sk_live" not in hidden.stdout and "cus_81F2" not in hidden.stdout
    shown = run_cli("diff", V1, V2, "--trace", TRACE, "-f", "json", "--show-args")
    ex = json.loads(shown.stdout)["behavior"]["examples"][0]
    assert ex["args"]["api_key"] == "sk_live_51Hx9"
    assert "sk_live" in run_cli("diff", V1, V2, "--trace", TRACE, "--show-args").stdout


def write(tmp: Path, name: str, data: dict) -> str:
    path = tmp / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def pol(tools: dict, **kw: object) -> dict:
    return {"version": "1", "default": "deny", "tools": tools, **kw}


LIMIT3 = {"counter": "c", "window": "minute", "max": 3, "scope": "grant"}


@pytest.mark.parametrize(("old", "new", "fail_on", "code"), [
    (pol({"t": {}}), pol({"t": {}}), "any", 0),                        # identical
    (pol({"t": {}}), pol({"t": {}, "u": {}}), "loosened", 1),          # new tool under deny
    (pol({"t": {}}), pol({"t": {}, "u": {}}), "never", 0),
    (pol({"t": {}, "u": {}}), pol({"t": {}}), "loosened", 0),          # tightened only
    (pol({"t": {}, "u": {}}), pol({"t": {}}), "any", 1),
    (pol({"t": {"deny_if": [{"conditions": [], "on_deny": "a"}]}}),
     pol({"t": {"deny_if": [{"conditions": [], "on_deny": "b"}]}}), "any", 1),     # neutral counts for any
    (pol({"t": {"deny_if": [{"conditions": [], "on_deny": "a"}]}}),
     pol({"t": {"deny_if": [{"conditions": [], "on_deny": "b"}]}}), "loosened", 0),
])
def test_exit_codes_per_fail_on(tmp_path: Path, old: dict, new: dict, fail_on: str, code: int) -> None:
    r = run_cli("diff", write(tmp_path, "old.json", old), write(tmp_path, "new.json", new), "--fail-on", fail_on)
    assert r.returncode == code, r.stdout + r.stderr


def test_a_loosening_seen_only_in_the_trace_trips_the_gate(tmp_path: Path) -> None:
    # Adding a condition to a require only tightens each call, but calls it now denies consume no
    # quota, so a later call that the old version rate-limited goes through: deny -> allow.
    cond = {"path": "args.x", "op": "eq", "value": 1}
    old = pol({"t": {"require": [{"conditions": [cond]}], "limits": [LIMIT3]}})
    new = pol({"t": {"require": [{"conditions": [cond, {"path": "args.y", "op": "eq", "value": 1}]}],
                     "limits": [LIMIT3]}})
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps({"ts": f"2026-11-24T10:00:0{i}Z", "tool": "t",
                                         "args": {"x": 1, "y": 1 if i == 3 else 0}}) + "\n" for i in range(4)))
    o, n = write(tmp_path, "old.json", old), write(tmp_path, "new.json", new)
    assert run_cli("diff", o, n).returncode == 0
    r = run_cli("diff", o, n, "--trace", str(trace), "-f", "json")
    doc = json.loads(r.stdout)
    assert doc["summary"]["loosened"] == 0
    assert doc["behavior"]["transitions"] == {"allow->deny": 3, "deny->allow": 1, "deny->deny": 0}
    assert r.returncode == 1
    assert run_cli("diff", o, n, "--trace", str(trace), "--fail-on", "never").returncode == 0


def test_a_loosening_found_only_by_search_trips_the_gate(tmp_path: Path) -> None:
    old = pol({"sh": {"require": [{"conditions": [{"path": "args.cmd", "op": "regex", "value": "^(ls|pwd)$"}]}]}})
    new = pol({"sh": {"require": [{"conditions": [{"path": "args.cmd", "op": "regex", "value": "^(ls|pwd|rm .*)$"}]}]}})
    o, n = write(tmp_path, "old.json", old), write(tmp_path, "new.json", new)
    plain = run_cli("diff", o, n, "-f", "json")
    # the gate fails closed on a change that may loosen until a complete search clears it
    assert plain.returncode == 1 and json.loads(plain.stdout)["summary"]["unknown"] == 1
    ce = tmp_path / "ce.jsonl"
    r = run_cli("diff", o, n, "--search", "--search-budget", "5", "--seed", "3", "-f", "json",
                "--counterexample", str(ce))
    assert r.returncode == 1, r.stderr
    search = json.loads(r.stdout)["search"]
    assert list(search) == ["seed", "budget_seconds", "sequences", "complete", "unreached", "counterexamples"]
    assert search["seed"] == 3 and search["budget_seconds"] == 5 and search["sequences"] > 0
    assert search["counterexamples"][0]["effect"] == "loosened"
    assert search["counterexamples"][0]["calls"] == 1
    (rec,) = [json.loads(line) for line in ce.read_text().splitlines()]
    assert rec["tool"] == "sh" and re.fullmatch(r"rm .*", rec["args"]["cmd"]) and rec["expect"] == "allow"
    # The written trace is ready to run: it passes against NEW and fails against OLD.
    assert run_cli("simulate", str(ce), "--policy", n).returncode == 0
    assert run_cli("simulate", str(ce), "--policy", o).returncode == 1


def test_search_without_difference_says_so(tmp_path: Path) -> None:
    o = write(tmp_path, "old.json", pol({"t": {}}))
    r = run_cli("diff", o, o, "--search", "--search-budget", "1")
    assert r.returncode == 0
    assert re.search(r"No difference found in \d+ generated call sequences\.", r.stdout)
    md = run_cli("diff", o, o, "--search", "--search-budget", "1", "-f", "markdown")
    assert "No difference found in" in md.stdout


def test_yaml_and_json_mix(tmp_path: Path) -> None:
    as_yaml = tmp_path / "v2.policy.yaml"
    as_yaml.write_text(yaml.safe_dump(json.loads((REPO / V2).read_text())), encoding="utf-8")
    a = run_cli("diff", V1, V2, "--trace", TRACE, "-f", "json")
    b = run_cli("diff", V1, str(as_yaml), "--trace", TRACE, "-f", "json")
    assert a.stdout == b.stdout and a.returncode == b.returncode == 1


def test_old_from_stdin(tmp_path: Path) -> None:
    r = run_cli("diff", "-", V2, "-f", "json", input=(REPO / V1).read_text())
    assert r.returncode == 1 and json.loads(r.stdout)["summary"]["loosened"] == 4


def test_output_file_and_stdout_empty(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    r = run_cli("diff", V1, V2, "-f", "markdown", "--output", str(out))
    assert r.returncode == 1 and r.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("<!-- policyctl-diff -->\n### Policy diff:")


def test_invalid_policy_exits_2_with_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "bad.policy.json"
    bad.write_text('{"version": "1",\n "default": "maybe",\n "tools": {}}\n', encoding="utf-8")
    r = run_cli("diff", V1, str(bad))
    assert r.returncode == 2 and r.stdout == ""
    assert "not a valid policy" in r.stderr
    assert re.search(rf"{re.escape(str(bad))}:2:13: error\[PL002\]", r.stderr), r.stderr
    assert "Traceback" not in r.stderr
    syntax = tmp_path / "broken.json"
    syntax.write_text('{"version": "1", "default": "deny",,}', encoding="utf-8")
    r = run_cli("diff", str(syntax), V2)
    assert r.returncode == 2 and "error[PL001]" in r.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["missing.json", V2], "missing.json: no such file"),
    ([V1, V2, "--format", "xml"], "--format: unknown format 'xml'"),
    ([V1, V2, "--fail-on", "sometimes"], "--fail-on: unknown value 'sometimes'"),
    ([V1, V2, "--windows", "rolling"], "--windows: unknown mode 'rolling'"),
    ([V1, V2, "--seed", "3"], "--seed only applies with --search"),
    ([V1, V2, "--tools", "x.json"], "--tools only applies with --search"),
    ([V1, V2, "--search", "--search-budget", "0"], "--search-budget: must be more than 0"),
    (["-", "-"], "only one input can be read from stdin"),
    ([V1, V2, "--search", "--tools", "-", "--trace", "-"], "only one input can be read from stdin (-), not --trace and --tools"),
    (["-", V2, "--search", "--tools", "-"], "only one input can be read from stdin (-), not OLD and --tools"),
    ([V1, V2, "--output", V2], "refusing to overwrite an input"),
    ([V1, V2, "--trace", "samples/diff/none.jsonl"], "none.jsonl: no such file"),
])
def test_usage_and_input_errors_exit_2(args: list[str], message: str) -> None:
    r = run_cli("diff", *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_trace_line_names_file_and_line(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"ts": "2026-11-24T10:00:00Z", "tool": "list_charges"}\n{"tool": "x"}\n', encoding="utf-8")
    r = run_cli("diff", V1, V2, "--trace", str(trace))
    assert r.returncode == 2 and f"{trace}:2:" in r.stderr
    r = run_cli("diff", V1, V2, "--trace", str(trace), "--skip-invalid", "-f", "json")
    assert r.returncode == 1 and "skipped 1 invalid line" in r.stderr
    assert json.loads(r.stdout)["behavior"]["calls"] == 1


def test_search_with_a_snapshot(tmp_path: Path) -> None:
    snap = tmp_path / "tools.json"
    snap.write_text(json.dumps({"tools": [{"name": "archive", "inputSchema": {"type": "object", "properties": {
        "mode": {"enum": ["fast", "safe"]}}}}]}), encoding="utf-8")
    o = write(tmp_path, "old.json", pol({"t": {}}))
    n = write(tmp_path, "new.json", pol({"t": {}}, default="allow"))
    r = run_cli("diff", o, n, "--search", "--search-budget", "5", "--tools", str(snap), "-f", "json")
    assert r.returncode == 1
    trace = r.stdout and json.loads(r.stdout)["search"]["counterexamples"][0]["trace"]
    assert trace[0]["tool"] == "archive"


def test_sliding_windows_flag(tmp_path: Path) -> None:
    r = run_cli("diff", V1, V2, "--trace", TRACE, "--windows", "sliding")
    assert r.returncode == 1 and "Trace replay (sliding windows)" in r.stdout


def test_docs_show_the_real_output() -> None:
    """docs/diff.md embeds the sample diff between markers; it must be what the tool prints.
    (POLICYCTL_UPDATE_GOLDEN=1 rewrites the blocks.)"""
    path = REPO / "docs" / "diff.md"
    doc = path.read_text(encoding="utf-8")
    for fmt in ("text", "markdown"):
        pattern = re.compile(rf"(<!-- begin {fmt} output -->\n`{{3,}}[a-z]*\n)(.*?)(`{{3,}}\n<!-- end {fmt} output -->)",
                             re.S)
        m = pattern.search(doc)
        assert m, f"docs/diff.md lacks the {fmt} output block"
        r = run_cli("diff", V1, V2, "--trace", TRACE, "--format", fmt)
        expected = "\n".join(line.rstrip() for line in r.stdout.splitlines()) + "\n"
        if UPDATE:
            doc = pattern.sub(lambda m, new=expected: m.group(1) + new + m.group(3), doc)
            path.write_text(doc, encoding="utf-8")
        else:
            assert m.group(2) == expected


def test_docs_workflow_step_runs(tmp_path: Path) -> None:
    """The GitHub Actions example's diff step, run for real in a git repository with a base branch."""
    import shutil
    import subprocess
    import sys

    doc = (REPO / "docs" / "diff.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(name: policy diff\n.*?)```", doc, re.S)
    assert block, "docs/diff.md lacks the workflow"
    workflow = yaml.safe_load(block.group(1))
    steps = workflow["jobs"]["diff"]["steps"]
    script = next(s["run"] for s in steps if s.get("id") == "diff")
    bash, git = shutil.which("bash"), shutil.which("git")
    assert bash and git

    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", "HOME": str(tmp_path),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "NO_COLOR": "1", "BASE": "main"}
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)

    def sh(*args: str) -> None:
        subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True)

    sh(git, "init", "-q", "-b", "main")
    shutil.copy(REPO / V1, repo / "policies" / "pay.policy.json")
    sh(git, "add", "-A")
    sh(git, "commit", "-q", "-m", "base")
    sh(git, "checkout", "-q", "-b", "feature")
    shutil.copy(REPO / V2, repo / "policies" / "pay.policy.json")
    (repo / "policies" / "new.policy.json").write_text('{"version": "1", "default": "deny"}', encoding="utf-8")
    sh(git, "add", "-A")
    sh(git, "commit", "-q", "-m", "loosen")
    r = subprocess.run([bash, "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    comment = (repo / "policy-diff.md").read_text(encoding="utf-8")
    assert comment.count("<!-- policyctl-diff -->") == 1
    assert "### Policy diff: `.policy-base/policies/pay.policy.json` → `policies/pay.policy.json`" in comment
    assert "New policy `policies/new.policy.json`" in comment
    assert "**FAIL (--fail-on loosened)" in comment


def test_markdown_stays_within_a_github_comment(tmp_path: Path) -> None:
    many = {f"tool_{i:04d}_" + "x" * 40: {"limits": [{"counter": "c" * 60, "window": "minute", "max": 1,
                                                      "scope": "grant"}]} for i in range(1500)}
    o = write(tmp_path, "old.json", pol({}))
    n = write(tmp_path, "new.json", pol(many))
    r = run_cli("diff", o, n, "-f", "markdown")
    assert r.returncode == 1
    assert len(r.stdout) <= 60_000
    m = re.search(r"… and (\d+) more changes, left out to fit a comment", r.stdout)
    assert m and 0 < int(m.group(1)) < 1500
    assert r.stdout.count("| **loosened** | tool-added |") == 1500 - int(m.group(1))


def test_search_leaves_nothing_in_the_working_directory(tmp_path: Path) -> None:
    # hypothesis would keep caches in ./.hypothesis; the search gives it a temporary home instead.
    r = run_cli("diff", str(REPO / V1), str(REPO / V2), "--search", "--search-budget", "2", "-f", "json",
                cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert list(tmp_path.iterdir()) == []


def _force(op: str, value: object) -> dict:
    return pol({"delete_repo": {"deny_if": [{"conditions": [{"path": "args.force", "op": op, "value": value}],
                                             "on_deny": "force-delete needs approval"}]}}, default="allow")


def test_a_true_to_1_change_is_shown_and_settled_by_trace_and_search(tmp_path: Path) -> None:
    """S1: `eq true` → `eq 1` in a deny_if lets `force: true` through; the plain diff must show it."""
    o, n = write(tmp_path, "old.json", _force("eq", True)), write(tmp_path, "new.json", _force("eq", 1))
    r = run_cli("diff", o, n)
    assert "No structural changes" not in r.stdout
    assert "- args.force eq true" in r.stdout and "+ args.force eq 1" in r.stdout
    assert "Summary: 0 loosened, 0 tightened, 0 neutral, 1 unknown" in r.stdout
    # the gate fails closed: the change may loosen, and no complete search cleared it
    assert r.returncode == 1
    assert r.stdout.rstrip().endswith("FAIL (--fail-on loosened): 1 unknown change that may loosen (a complete "
                                      "--search that finds no loosening clears it)")
    assert run_cli("diff", o, n, "--fail-on", "any").returncode == 1
    assert run_cli("diff", o, n, "--fail-on", "never").returncode == 0
    trace = tmp_path / "t.jsonl"
    trace.write_text(json.dumps({"ts": "2026-11-24T10:00:00Z", "tool": "delete_repo", "args": {"force": True}}) + "\n")
    t = run_cli("diff", o, n, "--trace", str(trace), "-f", "json")
    assert t.returncode == 1 and json.loads(t.stdout)["behavior"]["transitions"]["deny->allow"] == 1
    s = run_cli("diff", o, n, "--search", "--search-budget", "3", "-f", "json")
    assert s.returncode == 1
    assert [c["effect"] for c in json.loads(s.stdout)["search"]["counterexamples"]] == ["loosened", "tightened"]


@pytest.mark.parametrize(("old", "new"), [([True, 1], [1, 1]), ([False, 0, "x"], [0, "x", 0])])
def test_a_loosening_python_equality_hid_trips_the_gate(tmp_path: Path, old: list, new: list) -> None:
    """S1: the lists are equal for Python (True == 1), yet the new one no longer denies `true`."""
    o, n = write(tmp_path, "old.json", _force("in", old)), write(tmp_path, "new.json", _force("in", new))
    r = run_cli("diff", o, n, "-f", "json")
    assert r.returncode == 1
    assert [(c["kind"], c["effect"]) for c in json.loads(r.stdout)["changes"]] == [("condition-changed", "loosened")]


def test_swapping_counter_names_between_limits_passes_the_gate_and_search_agrees(tmp_path: Path) -> None:
    """W2: [a: 5/minute, b: 100/hour] -> [b: 5/minute, a: 100/hour] changes only which counter name a
    denial reports; structurally two neutral renames, and the search finds nothing but that."""
    def version(first: str, second: str) -> dict:
        return pol({"t": {"limits": [{"counter": first, "window": "minute", "max": 5, "scope": "grant"},
                                     {"counter": second, "window": "hour", "max": 100, "scope": "grant"}]}})

    o, n = write(tmp_path, "old.json", version("a", "b")), write(tmp_path, "new.json", version("b", "a"))
    r = run_cli("diff", o, n, "-f", "json")
    assert r.returncode == 0, r.stdout
    doc = json.loads(r.stdout)
    assert doc["summary"] == {"loosened": 0, "tightened": 0, "neutral": 2, "unknown": 0}
    assert [(c["old"]["counter"], c["new"]["counter"]) for c in doc["changes"]] == [("a", "b"), ("b", "a")]
    s = run_cli("diff", o, n, "--search", "--search-budget", "5", "-f", "json")
    assert s.returncode == 0, s.stdout
    (ce,) = json.loads(s.stdout)["search"]["counterexamples"]
    assert ce["effect"] == "neutral"
    # the only difference is the reported counter: same decisions, rule ids /limits/a vs /limits/b
    last = ce["decisions"][-1]
    assert last["old"]["decision"] == last["new"]["decision"] == "deny"
    assert {last["old"]["rule"], last["new"]["rule"]} == {"/tools/t/limits/a", "/tools/t/limits/b"}


def _require_s_n(pattern: str, threshold: object) -> dict:
    return pol({"t": {"require": [{"conditions": [{"path": "args.s", "op": "regex", "value": pattern},
                                                  {"path": "args.n", "op": "lt", "value": threshold}]}]}})


def test_search_finds_a_loosening_behind_a_threshold_above_2_to_the_53(tmp_path: Path) -> None:
    """W3: `lt 1e16` held for no generated value (1e16 ± 1 and ± 0.5 round to 1e16), so `^a+$` → `^a*$`
    went unseen and the search said OK; the adjacent doubles reach it."""
    o = write(tmp_path, "old.json", _require_s_n("^a+$", 1e16))
    n = write(tmp_path, "new.json", _require_s_n("^a*$", 1e16))
    r = run_cli("diff", o, n, "--search", "--search-budget", "5", "-f", "json")
    assert r.returncode == 1, r.stdout
    search = json.loads(r.stdout)["search"]
    assert search["unreached"] == []
    loose = search["counterexamples"][0]
    assert loose["effect"] == "loosened"
    (rec,) = loose["trace"]
    assert rec["args"]["s"] == "" and rec["args"]["n"] < 1e16 and rec["expect"] == "allow"


def test_search_that_cannot_reach_a_rule_says_incomplete(tmp_path: Path) -> None:
    o = write(tmp_path, "old.json", _require_s_n("^\\p{Greek}{15}$", 5))
    r = run_cli("diff", o, o, "--search", "--search-budget", "2")
    assert r.returncode == 0
    assert ", incomplete)" in r.stdout
    assert "Incomplete: no generated value satisfies /tools/t/require/0/conditions/0 together" in r.stdout
    assert r.stdout.rstrip().endswith("OK (--fail-on loosened): nothing loosened found (the search was incomplete)")
    doc = json.loads(run_cli("diff", o, o, "--search", "--search-budget", "2", "-f", "json").stdout)
    assert doc["search"]["complete"] is False and doc["search"]["unreached"] == ["/tools/t/require/0/conditions/0"]
