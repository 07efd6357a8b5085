"""The README is a tested artifact: its rule table, its test command and its quick start."""

from __future__ import annotations

import re

from policyctl.lint.rules import rule_table_markdown
from tests.conftest import REPO, run_cli

README = (REPO / "README.md").read_text(encoding="utf-8")


def _sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_rule_table_matches_the_rule_docstrings():
    start = README.index("<!-- rule-table:start")
    start = README.index("\n", start) + 1
    end = README.index("<!-- rule-table:end -->")
    assert README[start:end].strip() == rule_table_markdown().strip()


def test_ci_runs_the_readme_test_command():
    test_command = _sh_blocks()[1].strip()
    assert "pytest" in test_command
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci, "the README's test command must be what .ci/run runs"


def test_quick_start_main_job_runs_on_the_samples():
    first = _sh_blocks()[0].strip()
    # Run the policyctl parts of the first quick-start command against this checkout.
    jobs = [part.strip() for part in first.split("&&") if ".venv/bin/policyctl" in part]
    assert len(jobs) == 2
    for job in jobs:
        args = job.split()[1:]
        r = run_cli(*args)
        assert r.returncode == 0, (job, r.stdout, r.stderr)
    assert "no problems" in run_cli("lint", "samples/").stdout


def test_lowest_constraints_are_generated_from_pyproject():
    """`.ci/constraints-lowest.txt` pins exactly the lower bounds pyproject.toml declares."""
    import subprocess
    import sys

    generated = subprocess.run([sys.executable, str(REPO / ".ci" / "lowest_constraints.py")],
                               capture_output=True, text=True, check=True).stdout
    committed = (REPO / ".ci" / "constraints-lowest.txt").read_text(encoding="utf-8")
    assert committed == generated, "regenerate with: python .ci/lowest_constraints.py > .ci/constraints-lowest.txt"
    assert "typer==0.22\n" in committed and "pyyaml==6.0.1\n" in committed


def test_ci_runs_both_dependency_sets():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c .ci/constraints-lowest.txt" in ci and ci.count("-m pytest") == 2
