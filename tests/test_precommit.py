"""The published pre-commit hook: its manifest, its file pattern, and a real `pre-commit try-repo` run.

`try-repo` clones this checkout (committed state plus staged and modified tracked files), installs
policyctl into a fresh virtualenv from pyproject.toml, and runs the hook in a temporary git repository,
exactly as a user's `pre-commit` would. It needs the package index for the build and the
dependencies, which is why it is marked slow.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

MANIFEST = REPO / ".pre-commit-hooks.yaml"


def _pre_commit() -> list[str]:
    exe = Path(sys.executable).parent / "pre-commit"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pre_commit"]


def _hook() -> dict:
    hooks = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert [h["id"] for h in hooks] == ["policyctl-lint"]
    return hooks[0]


def test_manifest_is_valid_for_pre_commit() -> None:
    r = subprocess.run([*_pre_commit(), "validate-manifest", str(MANIFEST)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    hook = _hook()
    assert hook["entry"] == "policyctl lint"
    assert hook["language"] == "python"


@pytest.mark.parametrize("path, matches", [
    ("policy.json", True), ("policy.yaml", True), ("policy.yml", True),
    ("a.policy.json", True), ("deploy/prod.policy.yaml", True), ("x/y/z.policy.yml", True),
    ("deploy/policy.json", True), (".policy.json", True),
    ("policy.jsonl", False), ("xpolicy.json", False), ("policy.json.bak", False),
    ("policies.json", False), ("a.policy.txt", False), ("policy.json/readme.md", False),
])
def test_hook_files_pattern_follows_the_policy_naming(path: str, matches: bool) -> None:
    # pre-commit matches `files` with re.search against the repo-relative path
    assert bool(re.search(_hook()["files"], path)) is matches


BROKEN = '{\n  "version": "1",\n  "default": "deny",\n  "tools": {"a": {} "b": {}}\n}\n'
SEMANTIC_ERROR = ('{"version": "1", "default": "deny", "tools": {"run": {"require": [{"conditions": '
                  '[{"path": "args.cmd", "op": "regex", "value": "^(?!rm).*$"}]}]}}}\n')


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.slow
def test_pre_commit_try_repo_runs_the_hook(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is required for the pre-commit test")
    project = tmp_path / "project"
    (project / "policies").mkdir(parents=True)
    _git(project, "init", "-q")
    _git(project, "config", "user.email", "test@example.invalid")
    _git(project, "config", "user.name", "policyctl tests")
    _git(project, "config", "commit.gpgsign", "false")
    shutil.copy(REPO / "samples" / "sncro.policy.json", project / "policies" / "sncro.policy.json")
    (project / "policies" / "broken.policy.json").write_text(BROKEN, encoding="utf-8")
    (project / "policy.json").write_text(SEMANTIC_ERROR, encoding="utf-8")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "policies")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "POLICYCTL_", "GIT_"))}
    env.update({"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1",
                "PRE_COMMIT_COLOR": "never", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_pre_commit(), "try-repo", str(REPO), "policyctl-lint", "--color", "never", "--files", *files],
            cwd=project, capture_output=True, text=True, env=env, timeout=600,
        )

    bad = try_repo("policies/broken.policy.json", "policy.json", "policies/sncro.policy.json")
    out = bad.stdout + bad.stderr
    assert bad.returncode == 1, out
    assert re.search(r"policyctl lint\.+Failed", out), out
    assert "policies/broken.policy.json:4:" in out and "error[PL001]" in out, out
    assert "policy.json:1:" in out, out
    assert "policies/sncro.policy.json:" not in out, out  # the clean file has nothing to report

    good = try_repo("policies/sncro.policy.json")
    out = good.stdout + good.stderr
    assert good.returncode == 0, out
    assert re.search(r"policyctl lint\.+Passed", out), out
