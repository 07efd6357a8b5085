"""Global CLI contract (SPEC §5): version, help, python -m, exit code of usage errors."""

from __future__ import annotations

import re

import pytest

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


def test_lint_start_up_does_not_import_pydantic(tmp_path):
    """The typer start-up patch (policyctl/cli/typer_startup.py) must keep working on every typer
    that pyproject.toml admits: if a release stops it from applying, pydantic (~80 ms) is back on
    the pre-commit path and this test says so."""
    import subprocess
    import sys

    code = ("import sys\nfrom policyctl.cli import main\n"
            "sys.argv = ['policyctl', 'lint', sys.argv[1]]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "print(code, 'pydantic' in sys.modules, 'rich' in sys.modules)\n")
    policy = tmp_path / "p.policy.json"
    policy.write_text('{"version": "1", "default": "deny"}')
    r = subprocess.run([sys.executable, "-c", code, str(policy)], capture_output=True, text=True,
                       env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"}, timeout=60)
    assert r.stdout.splitlines()[-1] == "0 False False", r.stdout + r.stderr


@pytest.mark.parametrize("value, code, last, adapters", [
    # a plain decimal: converted by the patch, typer's pydantic adapters stay unloaded
    ("60", 1, "coverage 50% is below --min-coverage 60%", False),
    ("12.5", 0, None, False),
    # anything else is typer's own coercion, with its own rules
    ("6e1", 1, "coverage 50% is below --min-coverage 60%", True),
])
def test_number_options_skip_typer_adapters(tmp_path, value, code, last, adapters):
    """``--min-coverage`` (``Optional[float]``) loaded typer's pydantic adapters (~40 ms of every
    ``simulate`` start-up) even when it was not given; a plain decimal is now read by the patch."""
    import subprocess
    import sys

    script = ("import sys\nfrom policyctl.cli import main\n"
              "sys.argv = ['policyctl', 'simulate', sys.argv[1], '--policy', sys.argv[2], '-f', 'json']"
              " + sys.argv[3:]\n"
              "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
              "print(code, 'typer._adapters' in sys.modules, file=sys.stderr)\n")
    policy = tmp_path / "p.policy.json"
    policy.write_text('{"version": "1", "default": "deny", "tools": {"a": {}, "b": {}}}')
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"ts": 1, "tool": "a", "args": {}, "grant": "g"}\n')
    env = {"NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", script, str(trace), str(policy)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.stderr.splitlines()[-1] == "0 False", r.stderr
    r = subprocess.run([sys.executable, "-c", script, str(trace), str(policy), "--min-coverage", value],
                       capture_output=True, text=True, env=env, timeout=60)
    lines = r.stderr.splitlines()
    assert lines[-1] == f"{code} {adapters}", r.stderr
    if last is not None:
        assert lines[-2] == last, r.stderr


@pytest.mark.parametrize("digits", [4301, 5000])
def test_int_option_beyond_the_digit_limit_is_a_usage_error(tmp_path, digits):
    """A plain decimal that int() refuses (more than 4,300 digits) is typer's usage error (exit 2),
    as before the patch converted numbers, not an internal error (exit 3)."""
    policy = tmp_path / "p.policy.json"
    policy.write_text('{"version": "1", "default": "deny"}')
    r = run_cli("diff", str(policy), str(policy), "--search", "--search-budget", "0.01", "--seed", "9" * digits)
    assert r.returncode == 2, r.stderr
    assert "Invalid value for '--seed'" in r.stderr, r.stderr
    assert "internal error" not in r.stderr, r.stderr


def test_typer_patch_is_applied_only_from_main():
    import subprocess
    import sys

    code = ("import typer.core as c\nbefore = getattr(getattr(c, '_TyperParameter', None), 'get_runtime_param', None)\n"
            "import policyctl.cli\nafter = getattr(getattr(c, '_TyperParameter', None), 'get_runtime_param', None)\n"
            "print(before is after)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "True", r.stderr


def test_err_makes_every_line_printable(capsys):
    from policyctl.cli.common import err

    err('error: tool "a\u202eb\u009b\u007f\tc"\n  detail \u001b[2J')
    assert capsys.readouterr().err == 'error: tool "a\\u202eb\\x9b\\x7f\\x09c"\n  detail \\x1b[2J\n'
