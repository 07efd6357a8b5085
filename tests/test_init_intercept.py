"""`policyctl init --dialect intercept`: the starter policy in Intercept's YAML (the layout of its own
scaffolds, the PolicyLayer starter's templates), valid for Intercept v1.1.0, lint-clean, and meaning
what it says when simulated; and the schema modeline of both dialects (no URL unless one resolves).

Golden files live in tests/golden/init; regenerate them with POLICYCTL_UPDATE_GOLDEN=1 after a
deliberate change and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyctl.lint.linter import lint_bytes
from policyctl.policy.dialects.intercept.model import build
from policyctl.policy.dialects.intercept.validate import validate
from policyctl.policy.load import load_policy
from policyctl.reporters.init import intercept as init_intercept
from policyctl.scan.intercept_starter import build_intercept_starter, check_intercept_starter
from policyctl.scan.risk import classify_snapshot
from policyctl.scan.snapshots import load_snapshot, parse_snapshot
from tests.conftest import REPO, examples, run_cli
from tests.test_init import golden
from tests.test_scan import run

SAMPLES = REPO / "samples" / "snapshots"
MODELINE = "# yaml-language-server: $schema="


def diagnostics(text: str, name: str = "p.policy.yaml", tools=None, dialect=None) -> list[str]:  # noqa: ANN001
    report = lint_bytes(text.encode("utf-8"), name, tools=tools, dialect=dialect)
    return [f"{d.code} {d.severity} {d.message}" for d in report.diagnostics]


def intercept_errors(data: object) -> list[str]:
    """What `intercept validate` (v1.1.0) would print, plus anything it would refuse to load."""
    cfg = build(data)
    return [p.message for p in cfg.problems] + [e.message for e in validate(cfg)]


def starter_for(tools: list[dict]):  # noqa: ANN201
    snap = parse_snapshot(tools, origin="t")
    return build_intercept_starter(snap, classify_snapshot(snap))


def simulate(tmp_path: Path, policy: str, calls: list[tuple[str, str]]) -> list[tuple[str, str, str | None]]:
    """(decision, reason, message) of each ``(ts, tool)`` call, through `policyctl simulate`."""
    path = tmp_path / "starter.policy.yaml"
    path.write_text(policy, encoding="utf-8")
    trace = tmp_path / "calls.jsonl"
    trace.write_text("".join(json.dumps({"ts": ts, "tool": tool, "args": {}}) + "\n" for ts, tool in calls))
    r = run_cli("simulate", str(trace), "--policy", str(path), "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    return [(row["decision"], row["reason"], row["message"]) for row in map(json.loads, r.stdout.splitlines())]


# --- the sncro catalog snapshot ------------------------------------------------------------------


def test_sncro_golden_lints_clean_and_has_each_categorys_template(capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "init", "--server", "sncro", "--dialect", "intercept")
    assert (code, err) == (0, "")
    golden("sncro.intercept.yaml", out)
    data = yaml.safe_load(out)
    assert data["version"] == "1" and data["default"] == "deny" and "hide" not in data
    assert data["description"] == "Starter policy for sncro, written by policyctl init"
    reads = ["check_session", "get_console_logs", "get_feedback", "get_js_value", "get_network_log",
             "get_page_snapshot", "query_all", "query_element"]
    assert list(data["tools"]) == reads + ["create_session", "report_issue", "end_session"]
    for name in reads:
        assert data["tools"][name] == {"rules": []}
    for name, limit in (("create_session", "30/minute"), ("report_issue", "30/minute"), ("end_session", "10/minute")):
        assert data["tools"][name] == {"rules": [{"name": "starter rate limit", "rate_limit": limit}]}
    # the scaffolds' layout: category banners, a comment per tool with its parameters, the commented "*"
    assert "    #  ── Read Tools: allowed ─" in out and "    #  ── Execute Tools: 10 calls a minute each ─" in out
    assert ("    #  end_session — execute, high: vetted in the catalog: closes the session for good "
            "(PolicyLayer: execute) [signals: secret]\n"
            "    #  parameters: key (string, required), secret (string, required)\n"
            '    "end_session":\n') in out
    assert '    # "*":\n    #     rules:\n' in out
    # Intercept v1.1.0 loads and validates it; lint (dialect from the content, or forced) finds nothing
    assert intercept_errors(data) == []
    assert diagnostics(out) == []
    assert diagnostics(out, dialect="intercept") == []
    code, scanned, _ = run(capsys, monkeypatch, "scan", "--server", "sncro", "--format", "json")
    assert diagnostics(out, tools=parse_snapshot(json.loads(scanned), origin="scan")) == []


def test_sncro_policy_file_through_the_cli(tmp_path: Path) -> None:
    target = tmp_path / "sncro.intercept.yaml"
    r = run_cli("init", "--server", "sncro", "--dialect", "intercept", "-o", str(target))
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    for extra in ([], ["--dialect", "intercept"]):
        lint = run_cli("lint", *extra, str(target))
        assert lint.returncode == 0, lint.stdout + lint.stderr
    loaded = load_policy(str(target))
    assert loaded.dialect == "intercept" and loaded.program is not None
    assert set(loaded.program.tools) == set(yaml.safe_load(target.read_text())["tools"])


def test_sncro_decisions_when_simulated(tmp_path: Path, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "init", "--server", "sncro", "--dialect", "intercept")
    assert code == 0
    minute = "2026-12-04T10:00:{:02d}Z"
    calls = [(minute.format(0), "get_console_logs"), (minute.format(1), "delete_everything")]
    calls += [(minute.format(2 + i), "create_session") for i in range(31)]
    calls += [(minute.format(40 + i), "end_session") for i in range(11)]
    calls += [("2026-12-04T10:01:00Z", "create_session"), ("2026-12-04T10:01:00Z", "end_session")]
    got = simulate(tmp_path, out, calls)
    assert got[0] == ("allow", "allowed", None)
    assert got[1] == ("deny", "default_deny", 'Tool "delete_everything" is not permitted by policy')
    assert {g[0] for g in got[2:32]} == {"allow"}
    assert got[32] == ("deny", "rate_limited", "Rate limit of 30 per minute reached. Try again later.")
    assert {g[0] for g in got[33:43]} == {"allow"}
    assert got[43] == ("deny", "rate_limited", "Rate limit of 10 per minute reached. Try again later.")
    assert [g[0] for g in got[44:]] == ["allow", "allow"]  # a new calendar minute


# --- every template, and the names Intercept cannot treat like the others ------------------------

CATEGORY_TOOLS = [
    {"name": "get_a", "inputSchema": {}}, {"name": "delete_b", "inputSchema": {}},
    {"name": "create_c", "inputSchema": {"type": "object", "properties": {"z": {"type": "string"},
                                                                          "a": {"type": ["string", "null"]},
                                                                          "m": {}},
                                          "required": ["z"]}},
    {"name": "run_d", "inputSchema": {}}, {"name": "pay_e", "inputSchema": {}},
    {"name": "zzz", "inputSchema": {}}, {"name": "remove_f", "inputSchema": {}},
]


def test_every_category_template() -> None:
    starter = starter_for(CATEGORY_TOOLS)
    assert starter.data == {
        "version": "1", "description": "Starter policy for an unnamed MCP server, written by policyctl init",
        "default": "deny", "hide": ["delete_b", "remove_f"],
        "tools": {
            "get_a": {"rules": []},
            "create_c": {"rules": [{"name": "starter rate limit", "rate_limit": "30/minute"}]},
            "run_d": {"rules": [{"name": "starter rate limit", "rate_limit": "10/minute"}]},
            "pay_e": {"rules": [{"name": "requires approval", "action": "deny",
                                 "on_deny": "Requires human approval."}]},
            "zzz": {"rules": [{"name": "starter rate limit", "rate_limit": "30/minute"}]},
        },
    }
    assert [(e.tool, e.note) for e in starter.review] == [("zzz", "not classified; given the write template")]
    by_tool = {e.tool: e for e in starter.entries}
    assert by_tool["create_c"].parameters == ("z (string, required)", "a (string|null)", "m (any)")
    check_intercept_starter(starter)
    text = init_intercept.render(starter)
    assert yaml.safe_load(text) == starter.data
    assert "    #  parameters: z (string, required), a (string|null), m (any)\n" in text
    assert "    #  REVIEW" not in text and "#  REVIEW: 1 tool(s) need a look: zzz" in text
    assert diagnostics(text) == []


def test_every_category_decides_as_the_policylayer_starter(tmp_path: Path) -> None:
    text = init_intercept.render(starter_for(CATEGORY_TOOLS))
    got = simulate(tmp_path, text, [("2026-12-04T10:00:00Z", t) for t in
                                    ("get_a", "delete_b", "create_c", "run_d", "pay_e", "zzz", "remove_f", "nope")])
    assert got == [
        ("allow", "allowed", None),
        ("deny", "hidden", 'Tool "delete_b" is hidden by policy'),
        ("allow", "allowed", None),
        ("allow", "allowed", None),
        ("deny", "deny_if", "Requires human approval."),
        ("allow", "allowed", None),
        ("deny", "hidden", 'Tool "remove_f" is hidden by policy'),
        ("deny", "default_deny", 'Tool "nope" is not permitted by policy'),
    ]


def test_names_intercept_cannot_treat_like_the_others() -> None:
    starter = starter_for([
        {"name": "*", "description": "Delete everything in the workspace.", "inputSchema": {}},
        {"name": "github.create_issue", "inputSchema": {}},
        {"name": "shell.run_command", "inputSchema": {}},
        {"name": "   ", "description": "Deletes all the files.", "inputSchema": {}},
        {"name": "_global", "description": "Creates a note.", "inputSchema": {}},
        {"name": "files.read", "inputSchema": {}},
    ])
    data = starter.data
    assert "*" not in data["tools"] and "*" not in data.get("hide", [])  # either would mean every tool
    assert data["tools"]["github.create_issue"] == {"rules": []}  # a dotted name cannot keep a counter
    assert data["tools"]["shell.run_command"] == {"rules": []}
    assert data["tools"]["files.read"] == {"rules": []}
    assert data["tools"]["   "] == {"rules": [{"name": "blocked", "action": "deny",
                                               "on_deny": "Blocked by default. Requires approval."}]}
    assert data["tools"]["_global"] == {"rules": [{"name": "starter rate limit", "rate_limit": "30/minute"}]}
    notes = {e.tool: e.note for e in starter.review}
    assert set(notes) == {"*", "github.create_issue", "shell.run_command", "   ", "_global"}
    assert 'cannot rate-limit a tool whose name contains "."' in notes["github.create_issue"]
    assert "left out, so default: deny refuses it" in notes["*"]
    check_intercept_starter(starter)
    text = init_intercept.render(starter)
    assert yaml.safe_load(text) == data
    assert diagnostics(text) == []
    # what the validator would say had the dotted name kept the shorthand
    broken = {"version": "1", "tools": {"github.create_issue": {"rules": [{"name": "r", "rate_limit": "5/minute"}]}}}
    assert intercept_errors(broken) == [
        "tools.github.create_issue.rules[0]: condition references state.github.create_issue._rate_minute but no "
        "matching state block found"]


def test_odd_names_golden(capsys, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run(capsys, monkeypatch, "init", "--from", "samples/snapshots/odd-names.tools.json",
                         "--dialect", "intercept")
    assert code == 0
    assert "review: 4 tool(s) need a look before this policy is used:" in err
    assert '  *: destructive, but a tool named "*" cannot be listed' in err
    data = yaml.safe_load(out)
    assert data["hide"] == ["~cleanup tmp"] and "*" not in data["tools"]
    assert intercept_errors(data) == [] and diagnostics(out) == []
    golden("odd-names.intercept.yaml", out)


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_every_sample_gives_a_valid_lint_clean_policy(sample: str, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "init", "--from", str(SAMPLES / sample), "--dialect", "intercept")
    assert code == 0
    assert intercept_errors(yaml.safe_load(out)) == []
    errors = [d for d in diagnostics(out, tools=load_snapshot(str(SAMPLES / sample))) if " error " in d]
    assert errors == []


def test_the_commented_wildcard_uncomments_into_a_valid_policy(capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "init", "--server", "sncro", "--dialect", "intercept")
    lines = out.splitlines()
    start = lines.index('    # "*":')
    for i in range(start, start + 4):
        lines[i] = "    " + lines[i][len("    # "):]
    text = "\n".join(lines) + "\n"
    data = yaml.safe_load(text)
    assert data["tools"]["*"] == {"rules": [{"name": "global rate limit", "rate_limit": "60/minute"}]}
    assert intercept_errors(data) == [] and diagnostics(text) == []


_names = st.text(min_size=1, max_size=30).filter(lambda s: "\x00" not in s) | st.sampled_from(
    ["*", "_global", "a.b", "yes", "1e6", "~", " ", "\t", "#x", "- y", "? z", "x" * 600, "state.x"])
_verbs = st.sampled_from(["", "Deletes it.", "Creates it.", "Runs it.", "Pays it.", "Lists it."])
_tools = st.lists(st.fixed_dictionaries({"name": _names, "description": _verbs,
                                         "inputSchema": st.just({"type": "object"})}),
                  min_size=0, max_size=8, unique_by=lambda t: t["name"])


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tools)
def test_any_tool_list_gives_a_valid_lint_clean_intercept_policy(tools: list[dict]) -> None:
    starter = starter_for(tools)
    assert intercept_errors(starter.data) == []
    text = init_intercept.render(starter)
    assert yaml.safe_load(text) == starter.data
    assert [d for d in diagnostics(text) if " error " in d] == []


# --- options ---------------------------------------------------------------------------------------


def test_format_and_extension_rules_for_intercept(tmp_path: Path) -> None:
    r = run_cli("init", "--server", "sncro", "--dialect", "intercept", "--format", "json")
    assert r.returncode == 2 and "--dialect intercept writes YAML" in r.stderr
    target = tmp_path / "p.policy.json"
    r = run_cli("init", "--server", "sncro", "--dialect", "intercept", "-o", str(target))
    assert r.returncode == 2 and "lint reads files ending in .json as JSON" in r.stderr and not target.exists()
    r = run_cli("init", "--server", "sncro", "--dialect", "rego")
    assert r.returncode == 2 and "--dialect: unknown dialect 'rego'" in r.stderr


def test_output_is_atomic_and_never_clobbers(capsys, monkeypatch, tmp_path: Path) -> None:
    target = tmp_path / "sncro.yml"
    code, out, err = run(capsys, monkeypatch, "init", "--server", "sncro", "--dialect", "intercept", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    first = target.read_text()
    target.write_text("mine\n")
    code, _, err = run(capsys, monkeypatch, "init", "--server", "sncro", "--dialect", "intercept", "-o", str(target))
    assert code == 2 and err == f"error: {target}: already exists (use --force to overwrite)\n"
    assert target.read_text() == "mine\n"
    code, _, _ = run(capsys, monkeypatch, "init", "--server", "sncro", "--dialect", "intercept", "-o", str(target),
                     "--force")
    assert code == 0 and target.read_text() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sncro.yml"]


def test_default_has_no_schema_url_in_either_dialect(capsys, monkeypatch) -> None:
    for extra in (["--dialect", "intercept"], ["--format", "yaml"]):
        code, out, _ = run(capsys, monkeypatch, "init", "--server", "sncro", *extra)
        assert code == 0
        assert not any(line.startswith(MODELINE) for line in out.splitlines())
        assert "policyctl.dev" not in out
        assert "Editor help:" in out  # how to add one instead
    code, out, _ = run(capsys, monkeypatch, "init", "--server", "sncro")
    assert code == 0 and "$schema" not in out and "policyctl.dev" not in out  # JSON has none either


@pytest.mark.parametrize("dialect", ["intercept", "policylayer"])
def test_schema_url_writes_the_users_url(dialect: str, capsys, monkeypatch) -> None:
    url = "https://schemas.example.test/policyctl/x.schema.json#v1"
    code, out, err = run(capsys, monkeypatch, "init", "--server", "sncro", "--dialect", dialect, "-f", "yaml",
                         "--schema-url", url)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == MODELINE + url
    assert "Editor help:" not in out
    assert [line for line in out.splitlines() if "yaml-language-server" in line] == [MODELINE + url]
    assert [d for d in diagnostics(out) if " error " in d] == []


@pytest.mark.parametrize("dialect", ["intercept", "policylayer"])
def test_write_schema_links_the_file_by_a_relative_path(dialect: str, capsys, monkeypatch, tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "schemas").mkdir()
    policy = tmp_path / "policies" / "sncro.policy.yaml"
    schema = tmp_path / "schemas" / f"{dialect}.schema.json"
    code, out, err = run(capsys, monkeypatch, "init", "--server", "sncro", "--dialect", dialect,
                         "-o", str(policy), "--write-schema", str(schema))
    assert (code, out, err) == (0, "", "")
    first = policy.read_text().splitlines()[0]
    assert first == MODELINE + f"../schemas/{dialect}.schema.json"
    resolved = (policy.parent / first[len(MODELINE):]).resolve()
    assert resolved == schema.resolve()
    code, expected, _ = run(capsys, monkeypatch, "schema", "--dialect", dialect)
    assert code == 0 and resolved.read_text() == expected
    assert json.loads(resolved.read_text())["$id"].endswith(f"{'intercept' if dialect == 'intercept' else 'policy'}"
                                                             ".schema.json")


def test_write_schema_next_to_stdout_is_relative_to_the_current_folder(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, monkeypatch, "init", "--server", "sncro", "--dialect", "intercept",
                       "--write-schema", "intercept.schema.json")
    assert code == 0 and out.splitlines()[0] == MODELINE + "intercept.schema.json"
    assert (tmp_path / "intercept.schema.json").exists()


def test_write_schema_follows_the_output_rule(capsys, monkeypatch, tmp_path: Path) -> None:
    policy, schema = tmp_path / "p.yaml", tmp_path / "s.json"
    schema.write_text("mine\n")
    args = ("init", "--server", "sncro", "--dialect", "intercept", "-o", str(policy), "--write-schema", str(schema))
    code, _, err = run(capsys, monkeypatch, *args)
    assert code == 2 and err == f"error: {schema}: already exists (use --force to overwrite)\n"
    assert schema.read_text() == "mine\n" and not policy.exists()  # refused before anything was written
    code, _, _ = run(capsys, monkeypatch, *args, "--force")
    assert code == 0 and schema.read_text().startswith("{") and policy.exists()
    # never over an input, never two outputs into one file
    tools = tmp_path / "tools.json"
    tools.write_text((SAMPLES / "mcp-server-time.snapshot.json").read_text())
    code, _, err = run(capsys, monkeypatch, "init", "--from", str(tools), "--dialect", "intercept",
                       "--write-schema", str(tools), "--force")
    assert code == 2 and "refusing to overwrite an input" in err
    code, _, err = run(capsys, monkeypatch, *args[:-2], "--write-schema", str(policy), "--force")
    assert code == 2 and "name the same file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml", "s.json", "tools.json"]


@pytest.mark.skipif(sys.platform != "linux", reason="/dev/full is Linux's")
def test_a_policy_that_cannot_be_written_leaves_no_schema_behind(tmp_path: Path) -> None:
    from tests.test_outputs import _full_device

    schema = tmp_path / "s.json"
    r = run_cli("init", "--server", "sncro", "--dialect", "intercept", "-o", _full_device(tmp_path),
                "--write-schema", str(schema), "--force")
    assert r.returncode == 2 and "No space left on device" in r.stderr
    assert not schema.exists()
    # and one that could be written keeps both
    policy = tmp_path / "p.yaml"
    r = run_cli("init", "--server", "sncro", "--dialect", "intercept", "-o", str(policy),
                "--write-schema", str(schema))
    assert r.returncode == 0 and policy.exists() and schema.exists()


def test_schema_link_usage_errors(capsys, monkeypatch, tmp_path: Path) -> None:
    cases = [
        (["--schema-url", "https://x.test/s.json", "--write-schema", str(tmp_path / "s.json")], "choose one"),
        (["--schema-url", "https://x.test/s.json"], "JSON output has no comments"),  # policylayer JSON
        (["-f", "yaml", "--schema-url", "https://x.test/my schema.json"], "cannot contain blanks"),
        (["-f", "yaml", "--schema-url", "https://x.test/s.json\nversion: 2"], "cannot contain blanks"),
        (["-f", "yaml", "--write-schema", str(tmp_path / "a#b.json")], "cannot contain '#'"),
        (["--dialect", "intercept", "--write-schema", "-"], "--write-schema -: name a file"),
    ]
    for extra, message in cases:
        code, out, err = run(capsys, monkeypatch, "init", "--server", "sncro", *extra)
        assert code == 2 and out == "" and message in err, (extra, err)
    assert list(tmp_path.iterdir()) == []
