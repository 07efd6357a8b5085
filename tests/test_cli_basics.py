"""Global CLI contract (SPEC §5): version, help, python -m, exit code of usage errors."""

from __future__ import annotations

import re

from policyctl import __version__
from tests.conftest import run_cli


def test_version_flag_prints_version_and_exits_zero():
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout == f"policyctl {__version__}\n"
    assert r.stderr == ""


def test_help_lists_every_command():
    r = run_cli("--help")
    assert r.returncode == 0
    for command in ("lint", "init", "scan", "simulate", "explain", "diff", "import"):
        assert re.search(rf"\b{command}\b", r.stdout), command


def test_every_command_has_help():
    for command in ("lint", "init", "scan", "simulate", "explain", "diff", "import"):
        r = run_cli(command, "--help")
        assert r.returncode == 0, (command, r.stderr)
        assert "Usage:" in r.stdout


def test_unknown_command_is_a_usage_error():
    r = run_cli("frobnicate")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "frobnicate" in r.stderr


def test_unknown_flag_is_a_usage_error():
    r = run_cli("lint", "--no-such-flag")
    assert r.returncode == 2
    assert "no-such-flag" in r.stderr.lower()
    assert "Traceback" not in r.stderr


def test_a_missing_tools_snapshot_names_the_option(tmp_path):
    policy = tmp_path / "p.policy.json"
    policy.write_text('{"version": "1", "default": "deny"}')
    r = run_cli("lint", "--tools", str(tmp_path / "nope.json"), str(policy))
    assert r.returncode == 2
    assert r.stderr.startswith("error: --tools: ")
    assert "nope.json" in r.stderr and "no such file" in r.stderr
    r = run_cli("diff", str(policy), str(policy), "--search", "--tools", str(tmp_path / "nope.json"))
    assert r.returncode == 2
    assert r.stderr.startswith("error: --tools: ")


def test_help_reads_as_plain_text():
    # help is rendered without rich markup: no leftover tags or escapes, no doubled brackets in the
    # usage line, defaults in one style, and the command list does not cut summaries off mid-list
    r = run_cli("--help")
    commands = r.stdout.split("Commands:", 1)[1]
    assert "..." not in commands, commands
    for command in ("lint", "init", "scan", "simulate", "explain", "diff", "import"):
        text = run_cli(command, "--help").stdout
        assert not re.search(r"\[/?(bold|dim|italic|b|i|red|green|yellow|cyan)\]|\\\[", text), (command, text)
        assert "[[" not in text, (command, text)
        # typer appends "  [default: …]" itself; a hand-written one inside a sentence looks alike but is not
        assert not re.search(r"\S \[default:", text), (command, text)
        assert " - a " not in text, (command, text)
    # typer words the rest of the usage line (newer releases add "..."); the metavar is ours
    assert "[-- CMD ARGS]" in run_cli("scan", "--help").stdout
