"""`policyctl scan`: every source through the real CLI, golden outputs, and clean failures.

Golden files live in tests/golden/scan; regenerate them with POLICYCTL_UPDATE_GOLDEN=1 after a
deliberate change and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, assert_golden, run_cli
from tests.servers.http_fixture import Behaviour, FixtureServer

GOLDEN = Path(__file__).parent / "golden" / "scan"
SAMPLES = REPO / "samples" / "snapshots"
FIXTURE = str(Path(__file__).parent / "servers" / "stdio_fixture.py")


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    """The CLI in-process (fast): exit code, stdout, stderr."""
    from policyctl.cli import main

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("POLICYCTL_WIDTH", "100")
    monkeypatch.setenv("POLICYCTL_MCP_CONFIG", "")
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def golden(name: str, text: str) -> None:
    assert_golden(GOLDEN / name, text)


def test_sncro_text_golden(capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "scan", "--server", "sncro")
    assert (code, err) == (0, "")
    golden("sncro.txt", out)


def test_sncro_json_golden(capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "scan", "--server", "sncro", "--format", "json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["policyctl_snapshot"] == 1
    assert data["tools"][0]["risk"] == {
        "category": "write", "severity": "medium", "signals": [],
        "rationale": "write: vetted in the catalog: opens a session and returns its credentials (PolicyLayer: write)",
        "confidence": "high", "confidence_reasons": ["vetted in the catalog"]}
    golden("sncro.json", out)


def test_odd_names_text_golden(capsys, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run(capsys, monkeypatch, "scan", "--from", "samples/snapshots/odd-names.tools.json")
    assert code == 0
    assert err.count("is outside MCP's recommended") == 7
    golden("odd-names.txt", out)


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_every_sample_scans_and_round_trips(sample: str, capsys, monkeypatch, tmp_path: Path) -> None:
    code, out, _ = run(capsys, monkeypatch, "scan", "--from", str(SAMPLES / sample), "-f", "json")
    assert code == 0
    first = json.loads(out)
    assert all({"category", "severity", "signals", "rationale", "confidence", "confidence_reasons"}
               <= set(t["risk"]) <= {"category", "severity", "signals", "rationale", "confidence",
                                     "confidence_reasons", "alternative"} for t in first["tools"])
    assert all(t["risk"]["confidence"] in ("high", "medium", "low") and t["risk"]["confidence_reasons"]
               for t in first["tools"])
    # scan output is itself an accepted snapshot (lint --tools reads it)
    again = tmp_path / "again.json"
    again.write_text(out, encoding="utf-8")
    code, out2, _ = run(capsys, monkeypatch, "scan", "--from", str(again), "-f", "json")
    assert code == 0 and json.loads(out2) == first


@pytest.mark.parametrize(
    "shape",
    [
        lambda tools: tools,
        lambda tools: {"tools": tools},
        lambda tools: {"jsonrpc": "2.0", "id": 7, "result": {"tools": tools}},
        lambda tools: {"policyctl_snapshot": 1, "tools": tools},
    ],
)
def test_four_input_shapes_from_stdin(shape) -> None:  # noqa: ANN001
    tools = [{"name": "get_thing", "inputSchema": {"type": "object"}}]
    result = run_cli("scan", "--from", "-", "--format", "json", input=json.dumps(shape(tools)))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["source"]["kind"] == "file"
    assert [t["name"] for t in data["tools"]] == ["get_thing"]
    assert data["tools"][0]["risk"]["category"] == "read"


def test_stdio_server_end_to_end() -> None:
    result = run_cli("scan", "--format", "json", "--", sys.executable, "-m", "mcp_server_time")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["server"] == {"name": "mcp-time", "version": "2026.10.19"}
    assert data["source"]["kind"] == "stdio"
    assert [(t["name"], t["risk"]["category"]) for t in data["tools"]] == [("get_current_time", "read"),
                                                                          ("convert_time", "read")]


@pytest.mark.slow  # starts a stdio test server
def test_injection_fixture_fires_suspicious_description(capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "scan", "-f", "json", "--", sys.executable, FIXTURE, "injection")
    assert code == 0, err
    risks = {t["name"]: t["risk"] for t in json.loads(out)["tools"]}
    assert "suspicious-description" in risks["add_numbers"]["signals"]
    assert "suspicious: hidden-instruction tag" in risks["add_numbers"]["rationale"]
    assert risks["get_weather"]["signals"] == []


@pytest.mark.slow  # starts a stdio test server
def test_server_instructions_are_kept_and_read_as_context(capsys, monkeypatch, tmp_path: Path) -> None:
    code, out, err = run(capsys, monkeypatch, "scan", "-f", "json", "--", sys.executable, FIXTURE, "payments")
    assert code == 0, err
    data = json.loads(out)
    assert data["server"]["instructions"] == "A payments API for merchants: take payments, send invoices, issue refunds."
    risks = {t["name"]: t["risk"] for t in data["tools"]}
    assert risks["create_balance_account"]["category"] == "financial"
    assert risks["create_balance_account"]["rationale"] == (
        'financial: name says "create" … "balance" on a payments server (stdio-fixture: charge, customer, payment)')
    assert risks["list_charges"]["category"] == "read"
    # the saved snapshot keeps the instructions, so a later scan of the file decides the same way
    saved = tmp_path / "payments.json"
    saved.write_text(out, encoding="utf-8")
    code, again, _ = run(capsys, monkeypatch, "scan", "-f", "json", "--from", str(saved))
    assert code == 0 and json.loads(again) == data
    # without the instructions the three tools alone are not a payments server
    del data["server"]["instructions"]
    saved.write_text(json.dumps(data), encoding="utf-8")
    code, bare, _ = run(capsys, monkeypatch, "scan", "-f", "json", "--from", str(saved))
    assert {t["name"]: t["risk"]["category"] for t in json.loads(bare)["tools"]}["create_balance_account"] == "write"


def test_url_source_with_header(capsys, monkeypatch) -> None:
    with FixtureServer(Behaviour(sse=True, require_token="abc")) as server:
        code, out, err = run(capsys, monkeypatch, "scan", "--url", server.url, "-H", "Authorization: Bearer abc")
    assert (code, err) == (0, "")
    first = out.splitlines()[0]
    assert first == f"http-fixture 2.0 · url: {server.url} · protocol 2026-07-28 · 14 tools"
    assert out.splitlines()[-1] == "read 10 · write 1 · execute 1 · destructive 1 · financial 1 · other 0  (2 with signals)"


@pytest.mark.slow  # starts a stdio test server
def test_output_file_and_env_flag(capsys, monkeypatch, tmp_path: Path) -> None:
    target = tmp_path / "tools.json"
    code, out, _ = run(capsys, monkeypatch, "scan", "-f", "json", "-o", str(target), "--env", "NOTES_API_KEY=x",
                       "--", sys.executable, FIXTURE, "env")
    assert (code, out) == (0, "")
    assert "NOTES_API_KEY" in json.loads(target.read_text())["tools"][0]["description"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "error: no source given: use exactly one of --server NAME, --from FILE, --url URL or -- CMD ARGS..."),
        (("--server", "sncro", "--from", "x.json"), "more than one source given (--server, --from)"),
        (("--from", "x.json", "-H", "A: b"), "--header goes with --url"),
        (("--url", "http://127.0.0.1:1/mcp", "--env", "A=b"), "--env goes with -- CMD ARGS..."),
        (("--env", "1BAD=x", "--", "true"), "--env '1BAD': expected NAME=VALUE"),
        (("--server", "sncro", "--format", "xml"), "--format 'xml': choose text or json"),
        (("--server", "sncro", "--timeout", "0"), "--timeout must be more than 0"),
        (("--url", "file:///etc/passwd"), "expected an http:// or https:// URL"),
        (("--from", "/no/such/file.json"), "error: /no/such/file.json: no such file"),
        (("--server", "nope"), "error: no MCP server named 'nope'\ncatalog: sncro\nconfigured: none"),
    ],
)
def test_usage_and_input_errors_exit_2(args: tuple[str, ...], message: str, capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "scan", *args)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_hanging_server_is_a_clean_exit_2() -> None:
    result = run_cli("scan", "--timeout", "0.5", "--", sys.executable, FIXTURE, "hang")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: server `")
    assert "no answer to initialize within 0.5 s" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # starts a stdio test server
def test_garbage_server_is_a_clean_exit_2(capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "scan", "--", sys.executable, FIXTURE, "garbage")
    assert code == 2 and out == ""
    assert "the server sent something that is not JSON: 'Listening on stdio... ready!'" in err
    assert "Traceback" not in err


@pytest.mark.slow  # starts a stdio test server
def test_json_rpc_error_from_the_server_is_exit_2(capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "scan", "--", sys.executable, FIXTURE, "parse-error")
    assert (code, out) == (2, "")
    assert "the server answered initialize with error -32700: Parse error" in err
    assert "internal error" not in err


# Characters a hostile server puts in names and errors to drive the terminal: bidi override,
# 8-bit CSI, DEL, ESC (S3). None may reach stderr (or the YAML of init) raw.
RAW_CONTROLS = ("\u202e", "\u009b", "\u007f", "\u001b")


def _raw_controls(text: str) -> list[str]:
    return [c for c in RAW_CONTROLS if c in text]


@pytest.mark.parametrize("command", ["scan", "init"])
def test_warnings_about_hostile_tool_names_are_escaped(command: str, tmp_path: Path) -> None:
    snapshot = tmp_path / "evil.json"
    snapshot.write_text(json.dumps({"tools": [{"name": "safe_read\u202e\u009b2J\u007f", "description": "x",
                                               "inputSchema": {"type": "object"}}]}), encoding="utf-8")
    result = run_cli(command, "--from", str(snapshot))
    assert result.returncode == 0, result.stderr
    assert _raw_controls(result.stderr) == []
    assert (f'warning: {snapshot}: tools[0]: tool name "safe_read\\u202e\\x9b2J\\x7f" is outside MCP\'s '
            "recommended [A-Za-z0-9_.-]{1,128}\n") == result.stderr


@pytest.mark.parametrize("command,fmt", [("scan", "text"), ("scan", "json"), ("init", "json"), ("init", "yaml")])
def test_a_live_hostile_server_never_reaches_the_terminal_raw(command: str, fmt: str) -> None:
    result = run_cli(command, "--format", fmt, "--", sys.executable, FIXTURE, "hostile-names")
    assert result.returncode == 0, result.stderr
    assert _raw_controls(result.stderr) == [] and _raw_controls(result.stdout) == []
    assert 'tools[0]: tool name "safe_read\\u202e\\x9b2J\\x7f" is outside' in result.stderr
    assert 'tools[1] ("esc\\u001b[31m"): inputSchema.type is not "object"' in result.stderr
    if fmt == "yaml":  # the policy keeps the exact name, as YAML escapes
        assert '\n  "safe_read\\u202e\\u009b2J\\u007f": {}\n' in result.stdout
    if fmt == "json":  # ... and as JSON escapes: the data is unchanged
        assert '"safe_read\\u202e\\u009b2J\\u007f"' in result.stdout
        data = json.loads(result.stdout)
        names = list(data["tools"]) if command == "init" else [t["name"] for t in data["tools"]]
        assert names == ["safe_read\u202e\u009b2J\u007f", "esc\u001b[31m"]


@pytest.mark.parametrize("mode,message", [
    ("hostile-duplicate", 'duplicate tool name "safe_read\\u202e\\x9b2J\\x7f" (also at index 0)'),
    ("hostile-exit", "the server exited (exit code 3) before answering initialize"),
    ("hostile-error", "the server answered initialize with error -32000: no "),
])
def test_errors_carrying_server_text_are_escaped(mode: str, message: str) -> None:
    result = run_cli("scan", "--timeout", "10", "--", sys.executable, FIXTURE, mode)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr
    assert _raw_controls(result.stderr) == []


@pytest.mark.parametrize("command", ["scan", "init"])
@pytest.mark.parametrize("url,problem", [
    ("http://[::1", "the host has an unclosed [ (an IPv6 address is written [::1])"),
    ("http://127.0.0.1:99999/mcp", "the port 99999 is out of range (1-65535)"),
    ("http://127.0.0.1:abc/mcp", "the port 'abc' is not a number"),
    ("http://local host/mcp", "the host contains a space"),
])
def test_malformed_url_is_exit_2_not_an_internal_error(command: str, url: str, problem: str,
                                                        capsys, monkeypatch) -> None:
    # C5: each of these used to end in "internal error: ValueError …", exit 3
    code, out, err = run(capsys, monkeypatch, command, "--timeout", "2", "--url", url)
    assert (code, out) == (2, "")
    assert err == f"error: --url '{url}': {problem}\n"
