"""`policyctl lint` end to end: golden outputs per format × situation, flags, exit codes, hostile input.

Golden files live in tests/golden/lint/<case>.<format>.txt and hold the command, exit code, stdout
and stderr together. Regenerate them with ``POLICYCTL_UPDATE_GOLDEN=1 pytest tests/test_cli_lint.py``
and review the diff before committing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from policyctl import __version__
from tests.conftest import REPO, assert_golden, cli_env, run_cli

GOLDEN = Path(__file__).parent / "golden" / "lint"
INPUTS = GOLDEN / "inputs"
FORMATS = ("text", "json", "sarif", "github", "junit")

# case name → (arguments after the format flags, stdin file or None)
CASES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "clean": (("clean.policy.json",), None),
    "findings": (("findings.policy.yaml",), None),
    "syntax": (("broken.policy.json", "clean.policy.json"), None),
    "missing": (("clean.policy.json", "missing.policy.json"), None),
    "stdin": (("-",), "stdin.json"),
}
EXPECTED_EXIT = {"clean": 0, "findings": 1, "syntax": 1, "missing": 2, "stdin": 0}


def lint(*args: str, stdin: str | None = None, cwd: Path = INPUTS, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli("lint", *args, input=stdin, cwd=cwd, env=cli_env(**env))


def _golden_text(command: str, r: subprocess.CompletedProcess[str]) -> str:
    stdout = r.stdout.replace(__version__, "{VERSION}")
    return f"$ {command}\nexit: {r.returncode}\n--- stdout\n{stdout}--- stderr\n{r.stderr}"


def _assert_golden(name: str, command: str, r: subprocess.CompletedProcess[str]) -> None:
    assert_golden(GOLDEN / f"{name}.txt", _golden_text(command, r))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(CASES))
def test_golden(case: str, fmt: str) -> None:
    args, stdin_file = CASES[case]
    stdin = (INPUTS / stdin_file).read_text(encoding="utf-8") if stdin_file else None
    flags = () if fmt == "text" else ("--format", fmt)
    r = lint(*flags, *args, stdin=stdin)
    command = " ".join(("policyctl lint", *flags, *args)) + (f" < {stdin_file}" if stdin_file else "")
    _assert_golden(f"{case}.{fmt}", command, r)
    assert r.returncode == EXPECTED_EXIT[case], r.stderr
    assert "Traceback" not in r.stderr
    if fmt != "text" and case != "missing":
        assert r.stderr == ""  # machine formats: only the payload, and nothing else was wrong


# --- the machine formats are what they claim to be ----------------------------------------------

@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


@pytest.mark.parametrize("case", ["clean", "findings", "syntax", "stdin"])
def test_machine_outputs_parse(case: str, sarif_validator: jsonschema.Draft4Validator) -> None:
    args, stdin_file = CASES[case]
    stdin = (INPUTS / stdin_file).read_text(encoding="utf-8") if stdin_file else None
    doc = json.loads(lint("--format", "json", *args, stdin=stdin).stdout)
    assert doc["summary"]["files"] == len(args)
    sarif = json.loads(lint("--format", "sarif", *args, stdin=stdin).stdout)
    errors = list(sarif_validator.iter_errors(sarif))
    assert not errors, [e.message for e in errors]
    assert len(sarif["runs"][0]["results"]) == sum(len(f["diagnostics"]) for f in doc["files"])
    root = ET.fromstring(lint("--format", "junit", *args, stdin=stdin).stdout)
    assert int(root.find("testsuite").get("tests")) == len(args)


def test_findings_file_has_errors_and_warnings() -> None:
    doc = json.loads(lint("--format", "json", "findings.policy.yaml").stdout)
    assert doc["summary"]["errors"] >= 1 and doc["summary"]["warnings"] >= 1
    for d in doc["files"][0]["diagnostics"]:
        assert re.fullmatch(r"PL\d{3}", d["code"])
        assert d["line"] >= 1 and d["column"] >= 1
        assert d["pointer"] is None or d["pointer"] == "" or d["pointer"].startswith("/")


def test_syntax_error_is_reported_and_linting_goes_on() -> None:
    doc = json.loads(lint("--format", "json", "broken.policy.json", "clean.policy.json").stdout)
    broken, clean = doc["files"]
    assert [d["code"] for d in broken["diagnostics"]] == ["PL001"]
    assert broken["diagnostics"][0]["pointer"] is None
    assert broken["diagnostics"][0]["line"] == 6
    assert clean == {"path": "clean.policy.json", "diagnostics": []}


# --- flags ---------------------------------------------------------------------------------------

def test_fail_level_warning_flips_the_exit_code(tmp_path: Path) -> None:
    only_warnings = tmp_path / "warn.policy.json"
    only_warnings.write_text(json.dumps({
        "version": "1", "default": "deny",
        "tools": {"run": {"require": [{"conditions": [{"path": "args.cmd", "op": "regex", "value": "ls"}]}]}},
    }), encoding="utf-8")
    r = lint("--format", "json", str(only_warnings), cwd=tmp_path)
    doc = json.loads(r.stdout)
    assert doc["summary"]["errors"] == 0 and doc["summary"]["warnings"] >= 1
    assert r.returncode == 0
    assert lint("--fail-level", "warning", str(only_warnings), cwd=tmp_path).returncode == 1
    assert lint("--fail-level", "error", str(only_warnings), cwd=tmp_path).returncode == 0
    assert lint("--fail-level", "clean.policy.json").returncode == 2  # value missing/invalid


def _codes(*args: str) -> list[str]:
    doc = json.loads(lint("--format", "json", *args).stdout)
    return sorted(d["code"] for f in doc["files"] for d in f["diagnostics"])


def test_select_and_ignore_comma_separated_and_repeatable() -> None:
    every = _codes("findings.policy.yaml")
    assert len(set(every)) >= 3
    first, second, third = sorted(set(every))[:3]
    assert set(_codes("--select", first, "findings.policy.yaml")) == {first}
    assert set(_codes("--select", f"{first},{second}", "findings.policy.yaml")) == {first, second}
    assert set(_codes("--select", first, "--select", second, "findings.policy.yaml")) == {first, second}
    remaining = set(_codes("--ignore", f"{first}, {second}", "--ignore", third, "findings.policy.yaml"))
    assert remaining == set(every) - {first, second, third}


def test_ignoring_every_finding_gives_exit_zero() -> None:
    codes = ",".join(sorted(set(_codes("findings.policy.yaml"))))
    r = lint("--ignore", codes, "findings.policy.yaml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "1 file checked: no problems\n"


def test_unknown_rule_code_is_a_usage_error() -> None:
    r = lint("--select", "PL999", "clean.policy.json")
    assert r.returncode == 2
    assert "PL999" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [("--select=",), ("--select", " , "), ("--ignore=",),
                                  ("--select", "PL1", "--select", "")])
def test_empty_select_or_ignore_is_a_usage_error(args: tuple[str, ...]) -> None:
    # an empty --select used to be dropped, which ran every rule
    r = lint(*args, "findings.policy.yaml")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    flag = args[-1].split("=")[0] if args[-1].startswith("--") else args[-2]
    assert r.stderr.startswith(f"error: {flag}: empty value"), r.stderr
    assert "name at least one rule" in r.stderr


BROKEN = '{"version": "2", "default": "maybe", "bogus": 1\n'


@pytest.mark.parametrize("config,flags", [
    ("select: [PL1, PL201]\n", ()),  # docs/lint-rules.md's configuration example
    (None, ("--select", "PL2")),
    ("select: [PL3]\nper-file-ignores: {'*': [ALL]}\n", ("--select", "PL2", "--ignore", "PL")),
])
def test_a_selection_never_hides_a_broken_policy(tmp_path: Path, config: str | None,
                                                 flags: tuple[str, ...]) -> None:
    # S2: these used to print "1 file checked: no problems" and exit 0
    (tmp_path / "broken.policy.json").write_text(BROKEN, encoding="utf-8")
    if config is not None:
        (tmp_path / ".policyctl.yaml").write_text(config, encoding="utf-8")
    r = lint(*flags, "broken.policy.json", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (1, "")
    assert r.stdout.startswith("broken.policy.json:2:1: error[PL001] invalid JSON: ")
    assert r.stdout.endswith("1 file checked: 1 error, 0 warnings\n")
    doc = json.loads(lint("--format", "json", *flags, "broken.policy.json", cwd=tmp_path).stdout)
    assert [(d["code"], d["severity"]) for d in doc["files"][0]["diagnostics"]] == [("PL001", "error")]


def test_empty_select_in_config_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "broken.policy.json").write_text(BROKEN, encoding="utf-8")
    (tmp_path / ".policyctl.yaml").write_text("select: []\n", encoding="utf-8")
    r = lint("broken.policy.json", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith(f"error: {tmp_path / '.policyctl.yaml'}: select is empty; ")


def test_ignoring_a_load_diagnostic_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "broken.policy.json").write_text(BROKEN, encoding="utf-8")
    r = lint("--ignore", "PL001", "broken.policy.json", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("error: --ignore: 'PL001' cannot be ignored: ")


def test_output_file_is_written_atomically_and_stdout_stays_empty(tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    r = lint("--format", "sarif", "--output", str(out), "findings.policy.yaml")
    assert r.returncode == 1
    assert r.stdout == "" and r.stderr == ""
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "2.1.0"
    # no temporary files left next to it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.sarif"]
    # a report is replaced on the next run, like other linters' --output
    r = lint("--output", str(out), "clean.policy.json")
    assert r.returncode == 0
    assert out.read_text(encoding="utf-8") == "1 file checked: no problems\n"


def test_output_text_has_no_colour_even_when_forced_for_stdout(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    env = {k: v for k, v in cli_env().items() if k != "NO_COLOR"}
    env["FORCE_COLOR"] = "1"
    r = run_cli("lint", "--output", str(out), "findings.policy.yaml", cwd=INPUTS, env=env)
    assert r.returncode == 1
    assert "\x1b[" not in out.read_text(encoding="utf-8")
    coloured = run_cli("lint", "findings.policy.yaml", cwd=INPUTS, env=env)
    assert "\x1b[" in coloured.stdout
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.stdout) == out.read_text(encoding="utf-8")


def test_output_into_a_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    r = lint("--output", str(tmp_path / "nope" / "r.txt"), "clean.policy.json")
    assert r.returncode == 2
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "nope").exists()


def test_output_refuses_to_replace_a_linted_file(tmp_path: Path) -> None:
    target = tmp_path / "p.policy.json"
    target.write_text((INPUTS / "clean.policy.json").read_text(encoding="utf-8"), encoding="utf-8")
    before = target.read_bytes()
    r = lint("--output", str(target), str(target), cwd=tmp_path)
    assert r.returncode == 2
    assert target.read_bytes() == before


def test_bad_flag_values_are_usage_errors() -> None:
    for args in (("--format", "yaml", "clean.policy.json"),
                 ("--fail-level", "info", "clean.policy.json"),
                 ("--config", "no-such-config.yaml", "clean.policy.json"),
                 ("--tools", "no-such-snapshot.json", "clean.policy.json")):
        r = lint(*args)
        assert r.returncode == 2, args
        assert r.stdout == "", args
        assert "Traceback" not in r.stderr and r.stderr.strip(), args


def test_lint_without_paths_shows_usage() -> None:
    r = lint()
    assert r.returncode == 2
    assert "Usage:" in r.stdout + r.stderr


def test_directory_is_searched_for_policy_files(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "a.policy.json").write_text((INPUTS / "clean.policy.json").read_text(), encoding="utf-8")
    (tmp_path / "policy.yaml").write_text("version: '1'\ndefault: deny\n", encoding="utf-8")
    (tmp_path / "notes.json").write_text("{not a policy", encoding="utf-8")
    doc = json.loads(lint("--format", "json", ".", cwd=tmp_path).stdout)
    assert sorted(Path(f["path"]).as_posix() for f in doc["files"]) == ["nested/a.policy.json", "policy.yaml"]


# --- global contract ------------------------------------------------------------------------------

def test_version_and_help() -> None:
    r = run_cli("--version")
    assert (r.returncode, r.stdout) == (0, f"policyctl {__version__}\n")
    h = run_cli("lint", "--help")
    assert h.returncode == 0 and h.stderr == ""
    for flag in ("--format", "--output", "--fail-level", "--tools", "--config", "--select", "--ignore"):
        assert flag in h.stdout, flag
    assert "text|json|sarif|github|junit" in h.stdout


def test_console_script_and_python_m_agree() -> None:
    exe = Path(sys.executable).parent / "policyctl"
    if not exe.exists():
        pytest.fail(f"console script not installed next to {sys.executable}")
    a = subprocess.run([str(exe), "lint", "--format", "json", "findings.policy.yaml"], cwd=INPUTS,
                       capture_output=True, text=True, env=cli_env())
    b = lint("--format", "json", "findings.policy.yaml")
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)


# --- hostile input: never a traceback, exit 1 (a finding) or 2 (unreadable) ------------------------

HOSTILE: dict[str, bytes] = {
    "empty.policy.json": b"",
    "binary.policy.json": bytes(range(256)),
    "latin1.policy.yaml": "version: '1'\ndefault: deny\ntools: {caf\xe9: {}}\n".encode("latin-1"),
    "bom.policy.json": b'\xef\xbb\xbf{"version": "1", "default": "deny"}',
    "nan.policy.json": b'{"version": "1", "default": "deny", "tools": {"t": {"limits": '
                       b'[{"counter": "c", "window": "minute", "max": NaN, "scope": "grant"}]}}}',
    "bigint.policy.json": b'{"version": "1", "default": "deny", "tools": {"t": {"deny_if": [{"conditions": '
                          b'[{"path": "args.n", "op": "gt", "value": 123456789012345678901234567890}]}]}}}',
    "deep.policy.json": b"[" * 100_000 + b"]" * 100_000,
    "deep.policy.yaml": b"a: " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
    "laughs.policy.yaml": (b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                           + b"".join(b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n"
                                      % ((ord("a") + i + 1,) * 2 + (ord("a") + i,) * 10) for i in range(9))),
    "tags.policy.yaml": b"!!python/object/apply:os.system ['echo pwned']\n",
    "list.policy.json": b"[1, 2, 3]",
    "scalar.policy.yaml": b"just a string\n",
    "escape.policy.json": b'{"version": "1", "default": "deny", "tools": {"\\u001b[31mred": {"bogus": 1}}}',
    "two-docs.policy.yaml": b"version: '1'\n---\nversion: '1'\n",
}


def test_hostile_files_never_produce_a_traceback(tmp_path: Path) -> None:
    for name, data in HOSTILE.items():
        (tmp_path / name).write_bytes(data)
    names = sorted(HOSTILE)
    # each file alone: a finding (exit 1, with an error in the report), never a crash
    for name in names:
        r = run_cli("lint", "--format", "json", name, cwd=tmp_path, timeout=30)
        assert r.returncode == 1, (name, r.returncode, r.stderr)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, (name, r.stderr)
        assert json.loads(r.stdout)["summary"]["errors"] >= 1, name
    # all together, in every format: one report covering every file
    for fmt in FORMATS:
        r = run_cli("lint", "--format", fmt, *names, cwd=tmp_path, timeout=60)
        assert r.returncode == 1, (fmt, r.returncode, r.stderr)
        assert "Traceback" not in r.stderr, (fmt, r.stderr)
        assert "\x1b" not in r.stdout and "\x1b" not in r.stderr, fmt
        if fmt == "json":
            assert len(json.loads(r.stdout)["files"]) == len(names)


def test_hostile_file_names(tmp_path: Path) -> None:
    body = (INPUTS / "broken.policy.json").read_bytes()
    names = ["a,b:c%d.policy.json", "new\nline.policy.json", "[bold]x[b].policy.json", "esc\x1b[2J.policy.json"]
    for n in names:
        (tmp_path / n).write_bytes(body)
    r = lint(*names, cwd=tmp_path)
    assert r.returncode == 1
    assert "\x1b" not in r.stdout
    assert "[bold]x[b].policy.json:6:" in r.stdout
    assert "new\\x0aline.policy.json:6:" in r.stdout
    g = lint("--format", "github", *names, cwd=tmp_path)
    assert len(g.stdout.splitlines()) == len(names)
    assert "file=a%2Cb%3Ac%25d.policy.json," in g.stdout
    j = lint("--format", "junit", *names, cwd=tmp_path)
    ET.fromstring(j.stdout)


def test_undecodable_file_name(tmp_path: Path) -> None:
    if sys.platform == "darwin":
        pytest.skip("macOS file systems refuse non-UTF-8 names")
    raw = os.fsencode(str(tmp_path)) + b"/bad\xff.policy.json"
    with open(raw, "wb") as fh:
        fh.write(b"{")
    name = os.fsdecode(b"bad\xff.policy.json")
    for fmt in FORMATS:
        r = subprocess.run([sys.executable, "-m", "policyctl", "lint", "--format", fmt, name],
                           cwd=tmp_path, capture_output=True, env=cli_env())
        assert r.returncode == 1, (fmt, r.stderr)
        assert b"Traceback" not in r.stderr
        r.stdout.decode("utf-8")  # valid UTF-8 whatever the file name


# --- start-up: what `policyctl lint one.policy.json` must not import ---------------------------------

_PROBE = """
import sys
from policyctl.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as fh:
    fh.write("\\n".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_lint_start_up_imports_stay_light(tmp_path: Path, fmt: str) -> None:
    # pre-commit runs this on every commit; see bench/lint_bench.py for the timing itself
    listing = tmp_path / "modules.txt"
    r = subprocess.run([sys.executable, "-c", _PROBE, str(listing), "lint", "--format", fmt, "clean.policy.json"],
                       cwd=INPUTS, capture_output=True, text=True, env=cli_env())
    assert r.returncode == 0, r.stderr
    modules = set(listing.read_text(encoding="utf-8").split())
    assert "policyctl.lint.linter" in modules  # the probe did lint
    heavy = {"pydantic", "rich", "jsonschema", "yaml", "xml.etree.ElementTree", "typer._adapters",
             "policyctl.policy.dialects.policylayer.model", "policyctl.reporters.lint.sarif", "policyctl.reporters.lint.junit"}
    assert not heavy & modules, sorted(heavy & modules)


def test_the_pre_commit_form_runs_without_typer(tmp_path: Path) -> None:
    """``policyctl lint FILE…`` (file names only, as pre-commit passes them) skips the typer app:
    about half of the command's start-up (bench/lint_bench.py)."""
    listing = tmp_path / "modules.txt"
    r = subprocess.run([sys.executable, "-c", _PROBE, str(listing), "lint", "clean.policy.json", "findings.policy.yaml"],
                       cwd=INPUTS, capture_output=True, text=True, env=cli_env())
    assert r.stdout.endswith("2 files checked: 4 errors, 1 warning\n"), r.stdout + r.stderr
    modules = set(listing.read_text(encoding="utf-8").split())
    assert not {"typer", "click", "policyctl.cli.app"} & modules, sorted({"typer", "click", "policyctl.cli.app"} & modules)


@pytest.mark.parametrize("args", [
    ("clean.policy.json",), ("findings.policy.yaml",), ("broken.policy.json", "clean.policy.json"),
    ("clean.policy.json", "missing.policy.json"), (".",), ("nothing-here",), ("clean.policy.json", "lint"),
])
def test_the_pre_commit_form_says_what_typer_would(args: tuple[str, ...]) -> None:
    """The same command line with a redundant ``--format text`` goes through typer: same exit,
    same output, byte for byte."""
    fast = lint(*args)
    typed = lint("--format", "text", *args)
    assert (fast.returncode, fast.stdout, fast.stderr) == (typed.returncode, typed.stdout, typed.stderr)
    assert fast.returncode in (0, 1, 2)


# --- configuration and --tools wiring ----------------------------------------------------------------

WARN_ONLY = {"version": "1", "default": "deny",
             "tools": {"run": {"require": [{"conditions": [{"path": "args.cmd", "op": "regex", "value": "ls"}]}]}}}


def test_config_is_found_upward_and_flags_override_it(tmp_path: Path) -> None:
    (tmp_path / ".policyctl.yaml").write_text("fail-level: warning\nseverity:\n  PL201: warning\n", encoding="utf-8")
    sub = tmp_path / "policies"
    sub.mkdir()
    (sub / "w.policy.json").write_text(json.dumps(WARN_ONLY), encoding="utf-8")
    r = lint("w.policy.json", cwd=sub)
    assert r.returncode == 1, r.stdout + r.stderr  # the config's fail level applies
    assert "warning[PL201]" in r.stdout
    assert lint("--fail-level", "error", "w.policy.json", cwd=sub).returncode == 0
    r = lint("--ignore", "unanchored-allowlist", "w.policy.json", cwd=sub)
    assert (r.returncode, r.stdout) == (0, "1 file checked: no problems\n")


def test_explicit_config_file_and_its_errors(tmp_path: Path) -> None:
    (tmp_path / "w.policy.json").write_text(json.dumps(WARN_ONLY), encoding="utf-8")
    cfg = tmp_path / "lint.yaml"
    cfg.write_text("severity:\n  PL201: error\n", encoding="utf-8")
    r = lint("--config", str(cfg), "--format", "json", "w.policy.json", cwd=tmp_path)
    assert r.returncode == 1
    assert json.loads(r.stdout)["files"][0]["diagnostics"][0]["severity"] == "error"
    cfg.write_text("severity:\n  PL201: fatal\n", encoding="utf-8")
    r = lint("--config", str(cfg), "w.policy.json", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert "lint.yaml" in r.stderr and "Traceback" not in r.stderr


def test_tools_snapshot_enables_server_rules_and_its_warnings_go_to_stderr(tmp_path: Path) -> None:
    snapshot = tmp_path / "tools.json"
    snapshot.write_text(json.dumps([
        {"name": "run", "inputSchema": {"type": "object", "properties": {"command": {"type": "string"}}}},
        {"name": "bad name!", "inputSchema": {"type": "object"}},
    ]), encoding="utf-8")
    (tmp_path / "p.policy.json").write_text(json.dumps(WARN_ONLY), encoding="utf-8")
    without = json.loads(lint("--format", "json", "p.policy.json", cwd=tmp_path).stdout)
    r = lint("--format", "json", "--tools", str(snapshot), "p.policy.json", cwd=tmp_path)
    codes = [d["code"] for d in json.loads(r.stdout)["files"][0]["diagnostics"]]
    assert "PL110" in codes  # args.cmd is not a parameter of "run"
    assert "PL110" not in [d["code"] for d in without["files"][0]["diagnostics"]]
    assert r.stderr.startswith("warning: ") and "bad name!" in r.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"tools": [', encoding="utf-8")
    r = lint("--tools", str(broken), "p.policy.json", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "" and "broken.json" in r.stderr


def test_a_folder_without_policies_is_clean_but_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    r = lint(".", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, "0 files checked: no problems\n")
    assert r.stderr.startswith("warning: no policy files found in .")
    j = lint("--format", "json", ".", cwd=tmp_path)
    assert json.loads(j.stdout) == {"version": 1, "files": [], "summary": {"files": 0, "errors": 0, "warnings": 0}}


def test_tools_and_policy_cannot_both_come_from_stdin(tmp_path: Path) -> None:
    r = lint("--tools", "-", "-", stdin="[]", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == "error: only one input can be read from stdin (-): the --tools snapshot or a policy, not both\n"


def test_sarif_uri_of_a_file_outside_the_cwd_decodes_to_it(tmp_path: Path,
                                                           sarif_validator: jsonschema.Draft4Validator) -> None:
    # B1: lint from a sibling folder, naming the file absolutely and through ../
    from urllib.parse import unquote, urlsplit

    folder = tmp_path / "sp ace dir"
    folder.mkdir()
    policy = folder / "é x.policy.json"
    policy.write_text((REPO / "samples" / "sncro.policy.json").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "in side.policy.json").write_text('{"version": "1"}', encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    for given in (str(policy), "../sp ace dir/é x.policy.json"):
        r = lint("--format", "sarif", given, cwd=sub)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        sarif_validator.validate(doc)
        (artifact,) = doc["runs"][0]["artifacts"]
        uri = artifact["location"]["uri"]
        parts = urlsplit(uri)
        assert parts.scheme == "file" and parts.netloc == ""
        assert uri.endswith("/sp%20ace%20dir/%C3%A9%20x.policy.json")
        assert Path(unquote(parts.path)).samefile(policy)
    r = lint("--format", "sarif", "in side.policy.json", cwd=folder)  # under the cwd: relative
    doc = json.loads(r.stdout)
    sarif_validator.validate(doc)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for res in doc["runs"][0]["results"] for loc in res["locations"]}
    assert uris == {"in%20side.policy.json"}


def test_utf16_policy_without_bom_gets_the_encoding_message(tmp_path: Path) -> None:
    # B3: the message used to be a misleading JSON syntax error at 1:2
    (tmp_path / "u16.policy.json").write_bytes('{"version": "1", "default": "deny"}'.encode("utf-16-le"))
    r = lint("u16.policy.json", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (1, "")
    assert r.stdout == ("u16.policy.json:1:1: error[PL001] file is UTF-16 (little-endian, without a byte "
                        "order mark); policies must be UTF-8\n1 file checked: 1 error, 0 warnings\n")
