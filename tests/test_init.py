"""`policyctl init`: the SPEC §4 starter policy, its JSON and YAML forms, safe output, and lint-clean
results for every sample and every test server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from policyctl.lint.linter import lint_bytes
from policyctl.scan.risk import classify_snapshot
from policyctl.scan.snapshots import load_snapshot, parse_snapshot
from policyctl.scan.starter import build_starter, counter_name
from tests.conftest import REPO, examples, run_cli
from tests.servers.http_fixture import Behaviour, FixtureServer
from tests.test_scan import golden as _golden
from tests.test_scan import run

GOLDEN = Path(__file__).parent / "golden" / "init"
SAMPLES = REPO / "samples" / "snapshots"
SERVERS = Path(__file__).parent / "servers"
FIXTURE = str(SERVERS / "stdio_fixture.py")


def golden(name: str, text: str) -> None:
    _golden(f"../init/{name}", text)


def lint_clean(text: str, name: str, tools=None) -> None:  # noqa: ANN001
    report = lint_bytes(text.encode("utf-8"), name, tools=tools)
    errors = [f"{d.code} {d.message}" for d in report.diagnostics if d.severity == "error"]
    assert errors == []


def test_sncro_json_golden(capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "init", "--server", "sncro")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["default"] == "deny" and "hide" not in data
    assert data["tools"]["check_session"] == {}
    assert data["tools"]["create_session"] == {"limits": [{"counter": "create_session_rate", "window": "minute",
                                                           "max": 30, "scope": "grant"}]}
    assert data["tools"]["end_session"] == {"limits": [{"counter": "end_session_rate", "window": "minute",
                                                        "max": 10, "scope": "grant"}]}
    lint_clean(out, "sncro.policy.json")
    golden("sncro.policy.json", out)


def test_sncro_yaml_golden(capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "init", "--server", "sncro", "--format", "yaml")
    assert (code, err) == (0, "")
    # no modeline by default: policyctl serves no schema on the web, and a link must resolve
    assert "yaml-language-server" not in out.splitlines()[0]
    assert not any(line.startswith("# yaml-language-server:") for line in out.splitlines())
    assert "https://" not in "".join(line for line in out.splitlines() if "schema" in line)
    assert "  # end_session — execute, high: vetted in the catalog: closes the session for good " \
           "(PolicyLayer: execute) [signals: secret]" in out
    lint_clean(out, "sncro.policy.yaml")
    code, as_json, _ = run(capsys, monkeypatch, "init", "--server", "sncro")
    assert yaml.safe_load(out) == json.loads(as_json)
    golden("sncro.policy.yaml", out)


def test_every_category_template() -> None:
    snap = parse_snapshot([
        {"name": "get_a", "inputSchema": {}}, {"name": "delete_b", "inputSchema": {}},
        {"name": "create_c", "inputSchema": {}}, {"name": "run_d", "inputSchema": {}},
        {"name": "pay_e", "inputSchema": {}}, {"name": "zzz", "inputSchema": {}},
        {"name": "remove_f", "inputSchema": {}},
    ], origin="t")
    starter = build_starter(snap, classify_snapshot(snap))
    assert starter.data == {
        "version": "1", "default": "deny", "hide": ["delete_b", "remove_f"],
        "tools": {
            "get_a": {},
            "create_c": {"limits": [{"counter": "create_c_rate", "window": "minute", "max": 30, "scope": "grant"}]},
            "run_d": {"limits": [{"counter": "run_d_rate", "window": "minute", "max": 10, "scope": "grant"}]},
            "zzz": {"limits": [{"counter": "zzz_rate", "window": "minute", "max": 30, "scope": "grant"}]},
            "pay_e": {"deny_if": [{"conditions": [], "on_deny": "Requires human approval."}]},
        },
    }
    assert [(e.tool, e.note) for e in starter.review] == [("zzz", "not classified; given the write template")]


def test_confidence_decides_review_and_the_safer_side() -> None:
    snap = parse_snapshot([
        {"name": "list_payouts", "inputSchema": {}},                      # read, but could be financial
        {"name": "get_item", "description": "Deletes the item once read.", "inputSchema": {}},  # could be destructive
        {"name": "list_refunds", "description": "Lists refunds.", "inputSchema": {}},  # read, high confidence
        {"name": "account_status", "inputSchema": {}},                    # read from a noun: low confidence
    ], origin="t")
    risks = classify_snapshot(snap)
    starter = build_starter(snap, risks)
    assert starter.data == {
        "version": "1", "default": "deny", "hide": ["get_item"],
        "tools": {
            "list_refunds": {},
            "account_status": {},
            "list_payouts": {"deny_if": [{"conditions": [], "on_deny": "Requires human approval."}]},
        },
    }
    assert [(e.tool, e.note) for e in starter.review] == [
        ("account_status", "low confidence: no action word; decided by a noun in the name"),
        ("list_payouts", "read with medium confidence, but it could be financial; given the financial template to be safe"),
        ("get_item", "read with medium confidence, but it could be destructive; given the destructive template to be safe"),
    ]
    yaml_text = run_init_yaml(snap)
    assert ('  # list_payouts — read, low: name says "list" [confidence: medium] — REVIEW: read with medium '
            "confidence, but it could be financial; given the financial template to be safe") in yaml_text
    assert yaml.safe_load(yaml_text) == starter.data
    lint_clean(yaml_text, "safer.policy.yaml")


def run_init_yaml(snap) -> str:  # noqa: ANN001
    from policyctl.reporters.init.yaml import render

    return render(build_starter(snap, classify_snapshot(snap)))


def test_counter_names_are_safe_and_unique() -> None:
    taken: set[str] = set()
    assert counter_name("create_x", taken) == "create_x_rate"
    odd = counter_name("files/write me", taken)
    assert odd.startswith("files_write_me_") and odd.endswith("_rate") and len(odd) < 80
    assert counter_name("files/write me", taken) == odd + "_2"  # never shared by accident


def test_odd_names_golden_and_lint_clean(capsys, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run(capsys, monkeypatch, "init", "--from", "samples/snapshots/odd-names.tools.json", "-f", "yaml")
    assert code == 0
    assert "review: 4 tool(s) need a look before this policy is used:" in err
    assert "  überprüfen_status: low confidence: no action word; decided by a noun in the name" in err
    assert '  *: destructive, but a tool named "*" cannot be hidden by name; denied instead' in err
    data = yaml.safe_load(out)
    assert "*" not in data.get("hide", [])  # "*" there would hide every tool
    assert data["tools"]["*"] == {"deny_if": [{"conditions": [], "on_deny": "Blocked by default. Requires approval."}]}
    assert data["hide"] == ["~cleanup tmp"]
    lint_clean(out, "odd.policy.yaml")
    code, as_json, _ = run(capsys, monkeypatch, "init", "--from", "samples/snapshots/odd-names.tools.json")
    assert json.loads(as_json) == data
    lint_clean(as_json, "odd.policy.json")
    golden("odd-names.policy.yaml", out)


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_every_sample_gives_a_lint_clean_policy(sample: str, fmt: str, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "init", "--from", str(SAMPLES / sample), "--format", fmt)
    assert code == 0
    lint_clean(out, f"x.policy.{fmt}")
    lint_clean(out, f"x.policy.{fmt}", tools=load_snapshot(str(SAMPLES / sample)))


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "mcp_server_time"],
        [sys.executable, str(SERVERS / "sdk_server.py"), "stdio"],
        [sys.executable, FIXTURE, "normal", "--page", "4"],
        [sys.executable, FIXTURE, "injection"],
    ],
    ids=["mcp-server-time", "sdk-fixture", "stdlib-fixture", "injection-fixture"],
)
def test_every_stdio_test_server_gives_a_lint_clean_policy(argv: list[str], capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "init", "-f", "yaml", "--", *argv)
    assert code == 0, err
    lint_clean(out, "server.policy.yaml")


def test_http_test_server_gives_a_lint_clean_policy(capsys, monkeypatch) -> None:
    with FixtureServer(Behaviour(sse=True, legacy_only=True)) as server:
        code, out, err = run(capsys, monkeypatch, "init", "--url", server.url)
    assert code == 0, err
    data = json.loads(out)
    assert data["hide"] == ["delete_project"]
    assert data["tools"]["pay_invoice"] == {"deny_if": [{"conditions": [], "on_deny": "Requires human approval."}]}
    assert data["tools"]["trigger_build"]["limits"][0]["max"] == 10
    lint_clean(out, "issues.policy.json")


def test_output_is_atomic_and_never_clobbers(capsys, monkeypatch, tmp_path: Path) -> None:
    target = tmp_path / "sncro.policy.yaml"
    code, out, err = run(capsys, monkeypatch, "init", "--server", "sncro", "-o", str(target))
    assert (code, out, err) == (0, "", "")
    first = target.read_text()
    assert first.startswith("# Starter policy for sncro") and "tools:" in first  # YAML, from the extension
    target.write_text("mine\n")
    code, out, err = run(capsys, monkeypatch, "init", "--server", "sncro", "-o", str(target))
    assert code == 2 and out == ""
    assert err == f"error: {target}: already exists (use --force to overwrite)\n"
    assert target.read_text() == "mine\n"
    code, _, _ = run(capsys, monkeypatch, "init", "--server", "sncro", "-o", str(target), "--force")
    assert code == 0 and target.read_text() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sncro.policy.yaml"]  # no temporary leftovers


@pytest.mark.slow  # starts a stdio test server
def test_failed_scan_writes_nothing(capsys, monkeypatch, tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    code, _, err = run(capsys, monkeypatch, "init", "-o", str(target), "--timeout", "0.5", "--",
                       sys.executable, FIXTURE, "exit-early")
    assert code == 2
    assert "the server exited (exit code 3)" in err and "fatal: NOTES_API_KEY is not set" in err
    assert list(tmp_path.iterdir()) == []


def test_bad_format_and_end_to_end_subprocess(tmp_path: Path) -> None:
    result = run_cli("init", "--server", "sncro", "--format", "toml")
    assert result.returncode == 2 and "--format 'toml': choose json or yaml" in result.stderr
    result = run_cli("init", "--server", "sncro", "-o", str(tmp_path / "p.policy.json"))
    assert result.returncode == 0, result.stderr
    lint = run_cli("lint", str(tmp_path / "p.policy.json"))
    assert lint.returncode == 0, lint.stdout + lint.stderr


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_names = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s) | st.sampled_from(
    ["*", "yes", "no", "1e6", "~", "a/b", " ", "null", "#x", "- y", "? z", "é" * 3, "x" * 600])
_tools = st.lists(st.fixed_dictionaries({"name": _names, "description": st.text(max_size=60),
                                         "inputSchema": st.just({"type": "object"})}),
                  min_size=0, max_size=8, unique_by=lambda t: t["name"])


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tools)
def test_any_tool_list_gives_a_lint_clean_policy_in_both_formats(tools: list[dict]) -> None:
    from policyctl.reporters.init import json as init_json
    from policyctl.reporters.init import yaml as init_yaml

    snap = parse_snapshot(tools, origin="h")
    starter = build_starter(snap, classify_snapshot(snap))
    as_json = init_json.render(starter)
    as_yaml = init_yaml.render(starter)
    lint_clean(as_json, "h.policy.json")
    lint_clean(as_yaml, "h.policy.yaml")
    assert yaml.safe_load(as_yaml) == json.loads(as_json) == starter.data


@settings(max_examples=examples(200), deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
                        st.sampled_from(["tools", "name", "inputSchema", "jsonrpc", "result", "policyctl_snapshot",
                                         "description", "annotations", "x"]), kids, max_size=4),
                    max_leaves=20))
def test_parse_snapshot_fails_only_with_input_errors(data: object) -> None:
    from policyctl.errors import InputError

    try:
        parse_snapshot(data, origin="h")
    except InputError:
        pass


def test_yaml_into_a_json_named_file_is_refused(tmp_path: Path) -> None:
    # lint reads *.json as JSON, so YAML there would be a policy that fails lint (PL001)
    target = tmp_path / "p.policy.json"
    result = run_cli("init", "--server", "sncro", "--format", "yaml", "-o", str(target))
    assert result.returncode == 2
    assert "--format yaml: lint reads files ending in .json as JSON" in result.stderr
    assert not target.exists()
    # JSON is YAML, so the other way round is fine and lints clean
    result = run_cli("init", "--server", "sncro", "--format", "json", "-o", str(tmp_path / "p.policy.yaml"))
    assert result.returncode == 0, result.stderr
    assert run_cli("lint", str(tmp_path / "p.policy.yaml")).returncode == 0
