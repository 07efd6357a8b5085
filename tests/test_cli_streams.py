"""Closed standard streams (``policyctl … >&-``, ``2>&-``): a clear message and the SPEC's exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env

BROKEN = '{"version": "1", "default": "deny", "tools": {"a": {"bogus": 1}}}\n'


def _run_closed(args: list[str], fd: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m policyctl ARGS`` with file descriptor ``fd`` (1 or 2) closed in the child."""
    other = subprocess.PIPE
    return subprocess.run(
        [sys.executable, "-m", "policyctl", *args],
        stdout=other if fd != 1 else None,
        stderr=other if fd != 2 else None,
        text=True,
        cwd=cwd,
        env=cli_env(),
        timeout=60,
        preexec_fn=lambda: os.close(fd),
    )


@pytest.mark.parametrize("args", [
    ["lint", "broken.policy.json"],
    ["scan", "--server", "sncro"],
    ["init", "--server", "sncro"],
    ["diff", str(REPO / "samples/diff/v1.policy.json"), str(REPO / "samples/diff/v2.policy.json")],
])
def test_closed_stdout_is_a_clear_exit_2(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "broken.policy.json").write_text(BROKEN)
    r = _run_closed(args, 1, tmp_path)
    assert r.returncode == 2, r.stderr
    assert "standard output is closed" in r.stderr
    assert "internal error" not in r.stderr
    assert "Traceback" not in r.stderr


def test_closed_stdout_does_not_matter_with_output(tmp_path: Path) -> None:
    (tmp_path / "broken.policy.json").write_text(BROKEN)
    r = _run_closed(["lint", "broken.policy.json", "--output", "report.txt"], 1, tmp_path)
    assert r.returncode == 1, r.stderr
    assert "error[PL002]" in (tmp_path / "report.txt").read_text()


def test_closed_stderr_keeps_the_exit_code(tmp_path: Path) -> None:
    r = _run_closed(["lint", "missing.policy.json"], 2, tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
