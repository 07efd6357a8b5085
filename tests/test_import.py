"""`policyctl import` and direct replay of agent transcripts (issue 10).

The fixtures under tests/data/import/<source>/ are written the way each tool writes its files (see
docs/import.md); each has golden traces (expected*.jsonl) and the counts its summary must report
(expected-counts.json)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from policyctl.traces.importers import ImportOptions, ImportSummary, import_calls
from policyctl.traces.replay import build_options
from policyctl.traces.sources import detect
from tests.conftest import REPO, cli_env, run_cli

DATA = REPO / "tests" / "data" / "import"
ENV = cli_env(POLICYCTL_MCP_CONFIG="")

# golden file → command-line arguments after "import"
GOLDENS = {
    "claude-code/expected.jsonl": ["claude-code", "claude-code/projects"],
    "claude-code/expected-include-not-executed.jsonl": ["claude-code", "claude-code/projects",
                                                        "--include-not-executed"],
    "claude-code/expected-known-servers.jsonl": ["claude-code", "claude-code/projects", "--known-servers",
                                                 "acme__billing"],
    "claude-code/expected-server-sncro.jsonl": ["claude-code", "claude-code/projects", "--server", "sncro"],
    "claude-code/expected-server-claude-mem.jsonl": ["claude-code", "claude-code/projects", "--server", "mcp-search"],
    "codex/expected.jsonl": ["codex", "codex/sessions", "codex/archived_sessions"],
    "codex/expected-keep-bad-args.jsonl": ["codex", "codex/sessions", "codex/archived_sessions", "--keep-bad-args"],
    "claude-desktop/expected.jsonl": ["claude-desktop", "claude-desktop/Claude/logs"],
    "otlp/expected.jsonl": ["otlp", "otlp/otel"],
    "jsonrpc/expected.jsonl": ["jsonrpc", "jsonrpc/capture.jsonl"],
    "jsonrpc-record/expected.jsonl": ["jsonrpc", "jsonrpc-record/recorded.jsonl"],
}


def _records(text: str | bytes) -> list[dict]:
    if isinstance(text, bytes):
        text = text.decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _import(source: str, *paths: str | Path, **options: object) -> tuple[list[dict], ImportSummary, list[str]]:
    summary = ImportSummary()
    warnings: list[str] = []
    opts = ImportOptions(**options)  # type: ignore[arg-type]
    records = [c.record() for c, _ in import_calls(source, [str(p) for p in paths], opts, summary, warnings.append)]
    return records, summary, warnings


@pytest.mark.parametrize("golden", sorted(GOLDENS))
def test_import_writes_the_golden_trace(golden: str) -> None:
    result = run_cli("import", *GOLDENS[golden], cwd=DATA, env=ENV)
    assert result.returncode == 0, result.stderr
    assert _records(result.stdout) == _records((DATA / golden).read_text())


def test_known_servers_also_come_from_the_mcp_client_configuration() -> None:
    env = cli_env(POLICYCTL_MCP_CONFIG=str(DATA / "claude-code" / "mcp-config.json"))
    result = run_cli("import", "claude-code", "claude-code/projects", cwd=DATA, env=env)
    assert result.returncode == 0, result.stderr
    assert _records(result.stdout) == _records((DATA / "claude-code" / "expected-known-servers.jsonl").read_text())


@pytest.mark.parametrize("spelling", ["mcp-search", "plugin:claude-mem:mcp-search", "plugin_claude-mem_mcp-search"])
def test_a_plugin_server_is_matched_by_all_three_spellings(spelling: str) -> None:
    records, _, _ = _import("claude-code", DATA / "claude-code" / "projects", servers=(spelling,))
    assert [(r["server"], r["tool"]) for r in records] == [("plugin:claude-mem:mcp-search", "save_memory")]


def test_server_names_are_compared_after_the_clients_normalisation() -> None:
    # Codex keeps [A-Za-z0-9_] only: a server configured as "docs-search" is written docs_search
    records, _, _ = _import("codex", DATA / "codex", servers=("docs-search",))
    assert [r["tool"] for r in records] == ["fetch_page"]
    # Claude Code turns "claude.ai Linear" into claude_ai_Linear
    records, _, _ = _import("claude-code", DATA / "claude-code" / "projects", servers=("claude.ai Linear",))
    assert [r["tool"] for r in records] == ["create_issue"]


COUNTS = {
    "claude-code": (["claude-code/projects"], {}),
    "codex": (["codex/sessions", "codex/archived_sessions"], {}),
    "claude-desktop": (["claude-desktop/Claude/logs"], {}),
    "otlp": (["otlp/otel"], {}),
    "jsonrpc": (["jsonrpc/capture.jsonl"], {}),
}


@pytest.mark.parametrize("source", sorted(COUNTS))
def test_the_summary_counts_what_the_fixture_holds(source: str) -> None:
    paths, _ = COUNTS[source]
    expected = json.loads((DATA / source / "expected-counts.json").read_text())
    _, s, _ = _import(source, *(DATA / p for p in paths))
    assert s.files_read == expected["files_read"]
    assert s.calls == expected["calls"]
    assert s.calls_per_server == expected["calls_per_server"]
    assert s.duplicates_removed == expected["duplicates_removed"]
    assert s.invalid_lines == expected["invalid_lines"]
    assert s.upstream_errors == expected["upstream_errors"]
    for key, attr in (("not_executed", "not_executed"), ("observed_denied", "observed_denied"),
                      ("truncated_last_lines", "truncated_last_lines"), ("bad_args", "bad_args"),
                      ("no_args", "no_args")):
        if key in expected:
            assert getattr(s, attr) == expected[key], key


def test_the_summary_goes_to_stderr_with_file_and_line_of_invalid_lines() -> None:
    result = run_cli("import", "jsonrpc", "jsonrpc/capture.jsonl", cwd=DATA, env=ENV)
    assert result.returncode == 0
    assert "jsonrpc/capture.jsonl:12: invalid JSON at column 107" in result.stderr
    assert "jsonrpc: read 1 file, imported 8 calls" in result.stderr
    assert "  sncro: 7 calls" in result.stderr
    assert "  3 upstream errors" in result.stderr
    otlp = run_cli("import", "otlp", "otlp/otel", cwd=DATA, env=ENV)
    assert "2 calls had no recorded arguments" in otlp.stderr
    assert "conditions on arguments cannot be replayed for them" in otlp.stderr


def test_file_order_does_not_decide_which_copy_of_a_call_is_kept() -> None:
    a, _, _ = _import("codex", DATA / "codex" / "sessions", DATA / "codex" / "archived_sessions")
    b, _, _ = _import("codex", DATA / "codex" / "archived_sessions", DATA / "codex" / "sessions")
    assert a == b
    kept = {r["id"]: r["ts"] for r in a}
    assert kept["call_4BL0DPF1v2WFuQKIWBcMXzsz"] == "2026-11-06T08:42:09.331Z"  # not the fork's 09:15 re-stamp


def test_a_zstd_compressed_rollout_gives_the_same_output_and_counts(tmp_path: Path) -> None:
    import zstandard

    tree = tmp_path / "codex"
    shutil.copytree(DATA / "codex", tree)
    for plain in sorted(tree.rglob("rollout-*.jsonl"))[:2]:
        plain.with_name(plain.name + ".zst").write_bytes(zstandard.ZstdCompressor(level=3).compress(plain.read_bytes()))
        plain.unlink()
    a, sa, _ = _import("codex", DATA / "codex" / "sessions", DATA / "codex" / "archived_sessions")
    b, sb, _ = _import("codex", tree / "sessions", tree / "archived_sessions")
    assert len(list(tree.rglob("*.zst"))) == 2
    assert a == b
    assert (sa.files_read, sa.calls, sa.duplicates_removed, sa.bad_args) == \
        (sb.files_read, sb.calls, sb.duplicates_removed, sb.bad_args)


@pytest.mark.parametrize("source,path", [
    ("claude-code", "claude-code/projects/-home-dana-src-shopfront/3f0c9e1a-6b2d-4c8e-9f71-2a5d8b6e0c13.jsonl"),
    ("claude-code", "claude-code/projects"),
    ("codex", "codex/sessions"),
    ("claude-desktop", "claude-desktop/Claude/logs/mcp.log"),
    ("otlp", "otlp/otel/traces-2026-11-12.jsonl"),
    ("otlp", "otlp/otel/collector-export.json"),
    ("jsonrpc", "jsonrpc/capture.jsonl"),
    ("policyctl", "../../../samples/traces/sncro-session.jsonl"),
])
def test_the_format_is_detected_from_the_first_lines(source: str, path: str) -> None:
    assert detect(str(DATA / path)) == source


# --- options -----------------------------------------------------------------------------------------

def test_since_and_until_keep_a_half_open_window_after_de_duplication() -> None:
    options = build_options(since="2026-11-03T09:30:12.031Z", until="2026-11-03T09:42:05.663Z",
                            read_client_config=False)
    records, s, _ = _import("claude-code", DATA / "claude-code" / "projects", since_ns=options.since_ns,
                            until_ns=options.until_ns)
    assert [r["tool"] for r in records] == ["get_console_logs", "query_element", "get_js_value",
                                            "get_network_log", "end_session", "list_pull_requests"]
    assert (s.outside_window, s.not_executed) == (17, 3)  # 26 distinct calls: 9 inside, 3 of them never ran
    day = build_options(since="2025-10-21", until="2025-10-22", read_client_config=False)
    records, _, _ = _import("claude-code", DATA / "claude-code" / "projects", since_ns=day.since_ns,
                            until_ns=day.until_ns)
    assert len(records) == 6 and {r["server"] for r in records} == {"acme", "stripe"}


def test_grant_from_session_project_and_agent() -> None:
    root = DATA / "claude-code" / "projects"
    by = {}
    for kind in ("session", "project", "agent"):
        records, _, _ = _import("claude-code", root, grant_from=kind)
        by[kind] = {r["id"]: r["grant"] for r in records}
    refund = "toolu_01BU6dV3fPuXGEu9a4X6pjz3"
    invoice = "toolu_01ooYru182Kme5MK3dsC15yU"  # made by subagent 7b3e91c
    assert by["session"][refund] == "c2d81f6e-5a47-4b09-a3e8-61f2d0c7b954"
    assert by["project"][refund] == "/Users/sam/work/billing-api"
    assert by["agent"][invoice] == "7b3e91c"
    assert by["agent"][refund] == "c2d81f6e-5a47-4b09-a3e8-61f2d0c7b954"  # the main thread: its session
    records, _, _ = _import("claude-code", root, grant_from="const:ci")
    assert {r["grant"] for r in records} == {"ci"}


@pytest.mark.parametrize("args,message", [
    (["claude-code", "--grant-from", "user"], "--grant-from: expected const:NAME, session, project or agent"),
    (["claude-code", "--since", "yesterday"], "--since: the time is not an RFC 3339 timestamp"),
    (["claude-code", "--since", "2026-01-02", "--until", "2026-01-01"], "--until must be later than --since"),
    (["gemini", "x"], "unknown source 'gemini'"),
    (["otlp"], "otlp: give the OTLP/JSON files or folders to import"),
])
def test_bad_flags_are_usage_errors(args: list[str], message: str) -> None:
    result = run_cli("import", *args, cwd=DATA, env=ENV)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# --- output -----------------------------------------------------------------------------------------

def test_output_is_written_atomically_and_never_over_a_file_without_force(tmp_path: Path) -> None:
    out = tmp_path / "trace.jsonl"
    first = run_cli("import", "otlp", "otlp/otel", "-o", str(out), cwd=DATA, env=ENV)
    assert first.returncode == 0 and first.stdout == ""
    assert _records(out.read_text()) == _records((DATA / "otlp" / "expected.jsonl").read_text())
    out.write_text("keep me\n")
    again = run_cli("import", "otlp", "otlp/otel", "-o", str(out), cwd=DATA, env=ENV)
    assert again.returncode == 2 and "already exists (use --force to overwrite)" in again.stderr
    assert out.read_text() == "keep me\n"
    forced = run_cli("import", "otlp", "otlp/otel", "-o", str(out), "--force", cwd=DATA, env=ENV)
    assert forced.returncode == 0 and len(_records(out.read_text())) == 8
    assert [p.name for p in tmp_path.iterdir()] == ["trace.jsonl"]  # no temporary file left behind


def test_output_never_replaces_an_input(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    shutil.copy(DATA / "jsonrpc" / "capture.jsonl", capture)
    before = capture.read_bytes()
    result = run_cli("import", "jsonrpc", str(capture), "-o", str(capture), "--force", env=ENV)
    assert result.returncode == 2 and "refusing to overwrite an input" in result.stderr
    inside = run_cli("import", "jsonrpc", str(tmp_path), "-o", str(tmp_path / "out.jsonl"), env=ENV)
    assert inside.returncode == 2 and "inside the input folder" in inside.stderr
    assert capture.read_bytes() == before


def test_nothing_is_written_on_a_fatal_error(tmp_path: Path) -> None:
    out = tmp_path / "trace.jsonl"
    result = run_cli("import", "codex", str(tmp_path / "missing"), "-o", str(out), env=ENV)
    assert result.returncode == 2
    assert "no files to read" in result.stderr and "missing: no such file or folder" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- hostile input --------------------------------------------------------------------------------------

def _assistant(tid: str, name: str, ts: str, args: dict) -> bytes:
    return orjson.dumps({"type": "assistant", "sessionId": "s1", "cwd": "/w", "timestamp": ts,
                         "message": {"role": "assistant", "content": [
                             {"type": "tool_use", "id": tid, "name": name, "input": args}]}}) + b"\n"


def _result(tid: str, text: str, ts: str, is_error: bool = False) -> bytes:
    block: dict = {"tool_use_id": tid, "type": "tool_result", "content": [{"type": "text", "text": text}]}
    if is_error:
        block["is_error"] = True
    return orjson.dumps({"type": "user", "sessionId": "s1", "timestamp": ts,
                         "message": {"role": "user", "content": [block]}}) + b"\n"


def test_invalid_utf8_and_truncated_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    f = tmp_path / "s.jsonl"
    f.write_bytes(_assistant("toolu_1", "mcp__sncro__check_session", "2026-01-01T00:00:00Z", {"k": 1})
                  + b'{"type":"assistant","message":{"content":[{"type":"tool_use","id":"toolu_9","name":"mcp__a__b",'
                    b'"input":{"q":"caf\xe9"}}]}}\n'
                  + _assistant("toolu_2", "mcp__sncro__end_session", "2026-01-01T00:00:01Z", {})
                  + _assistant("toolu_3", "mcp__sncro__end_session", "2026-01-01T00:00:02Z", {})[:-10])
    records, s, _ = _import("claude-code", f)
    assert [r["id"] for r in records] == ["toolu_1", "toolu_2"]
    assert s.invalid_lines == 1 and s.truncated_last_lines == 1
    assert s.invalid_messages == [f"{f}:2: not valid UTF-8 text"]


def test_a_50_mb_line_is_skipped_with_flat_memory(tmp_path: Path) -> None:
    """Peak memory of an import of a folder with a 50 MB tool result line stays within a few MiB of
    the same import without it (the line is never built)."""
    def folder(name: str, huge: bool) -> Path:
        d = tmp_path / name
        d.mkdir()
        with open(d / "s.jsonl", "wb") as fh:
            fh.write(_assistant("toolu_a", "mcp__sncro__get_page_snapshot", "2026-01-01T00:00:00Z", {"key": "k"}))
            if huge:  # an MCP result of 50 MB: classified from its head and tail, never parsed
                fh.write(b'{"type":"user","sessionId":"s1","timestamp":"2026-01-01T00:00:01Z","message":'
                         b'{"role":"user","content":[{"tool_use_id":"toolu_a","type":"tool_result","content":"')
                block = b"x" * (1 << 20)
                for _ in range(50):
                    fh.write(block)
                fh.write(b'"}]}}\n')
            else:
                fh.write(_result("toolu_a", "x", "2026-01-01T00:00:01Z"))
            fh.write(_assistant("toolu_b", "mcp__sncro__end_session", "2026-01-01T00:00:02Z", {}))
        return d

    script = ("import resource, sys\n"
              "from policyctl.traces.importers import ImportOptions, ImportSummary, import_calls\n"
              "s = ImportSummary()\n"
              "out = [c.record() for c, _ in import_calls('claude-code', [sys.argv[1]], ImportOptions(), s, print)]\n"
              "print(len(out), out[0].get('upstream'), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    peaks = []
    for name, huge in (("small", False), ("huge", True)):
        run = subprocess.run([sys.executable, "-c", script, str(folder(name, huge))], capture_output=True,
                             text=True, cwd=REPO, timeout=120)
        assert run.returncode == 0, run.stderr
        calls, upstream, peak_kib = run.stdout.split()
        assert (calls, upstream) == ("2", "ok")
        peaks.append(int(peak_kib))
    assert peaks[1] - peaks[0] < 16 * 1024, peaks  # KiB: the 50 MiB line adds less than 16 MiB


def test_a_zstd_bomb_stops_at_the_decompression_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zstandard

    from policyctl.traces import sources

    monkeypatch.setattr(sources, "ZSTD_FREE_BYTES", 1 << 20)
    monkeypatch.setattr(sources, "ZSTD_MAX_RATIO", 10)
    line = b'{"timestamp":"2026-01-01T00:00:00Z","type":"event_msg","payload":{"type":"token_count"}}\n'
    comp = zstandard.ZstdCompressor(level=19).compressobj()
    data = b"".join(comp.compress(line * 10000) for _ in range(40)) + comp.flush()  # ~35 MB of text
    assert len(data) < 1 << 20
    bomb = tmp_path / "rollout-2026-01-01T00-00-00-bomb.jsonl.zst"
    bomb.write_bytes(data)
    records, s, warnings = _import("codex", bomb)
    assert records == [] and s.files_read == 1
    assert len(warnings) == 1 and warnings[0].startswith(f"{bomb}: decompressed size exceeds")


def test_a_corrupt_zstd_file_is_a_warning_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "rollout-x.jsonl.zst"
    bad.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00garbage" * 10)
    records, s, warnings = _import("codex", bad)
    assert records == [] and len(warnings) == 1 and warnings[0].startswith(f"{bad}: cannot read past line 0")


def test_symlink_loops_broken_links_and_fifos_are_warnings(tmp_path: Path) -> None:
    root = tmp_path / "projects"
    (root / "p").mkdir(parents=True)
    shutil.copy(DATA / "claude-code" / "projects" / "-Users-sam-work-billing-api" / "agent-7b3e91c.jsonl",
                root / "p" / "agent-7b3e91c.jsonl")
    os.symlink(root, root / "p" / "loop")
    os.symlink(tmp_path / "nowhere.jsonl", root / "p" / "gone.jsonl")
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    result = run_cli("import", "claude-code", str(root), str(fifo), env=ENV, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"warning: {root}/p/loop: symlink loop (skipped)" in result.stderr
    assert f"warning: {root}/p/gone.jsonl: broken or looping symlink (skipped)" in result.stderr
    assert f"warning: {fifo}: not a regular file (skipped)" in result.stderr
    assert "Traceback" not in result.stderr
    assert [r["tool"] for r in _records(result.stdout)] == ["list_charges", "billing__create_invoice"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_a_warning_naming_it(tmp_path: Path) -> None:
    f = tmp_path / "s.jsonl"
    f.write_bytes(_assistant("toolu_1", "mcp__a__b", "2026-01-01T00:00:00Z", {}))
    f.chmod(0)
    records, _, warnings = _import("claude-code", tmp_path)
    assert records == [] and warnings == [f"{f}: cannot read: Permission denied"]


# --- replay ---------------------------------------------------------------------------------------------

STRICT = "tests/data/import/policies/sncro-strict.policy.json"


def test_import_then_simulate_gives_the_expected_decisions(tmp_path: Path) -> None:
    trace = tmp_path / "sncro.jsonl"
    imported = run_cli("import", "claude-code", "tests/data/import/claude-code/projects", "--server", "sncro",
                       "-o", str(trace), env=ENV)
    assert imported.returncode == 0, imported.stderr
    sim = run_cli("simulate", str(trace), "--policy", STRICT, "--format", "jsonl", env=ENV)
    assert sim.returncode == 0, sim.stderr
    decisions = [(r["tool"], r["decision"], r["reason"]) for r in _records(sim.stdout)]
    assert decisions == [
        ("create_session", "allow", "allowed"), ("check_session", "allow", "allowed"),
        ("get_console_logs", "allow", "allowed"), ("query_element", "deny", "deny_if"),
        ("get_js_value", "allow", "allowed"), ("get_network_log", "allow", "allowed"),
        ("end_session", "allow", "allowed"), ("get_network_log", "deny", "rate_limited"),
        ("get_page_snapshot", "allow", "allowed"), ("get_page_snapshot", "allow", "allowed")]
    # the same folder replayed directly: the same decisions, and "line" names the source file and line
    direct = run_cli("simulate", "tests/data/import/claude-code/projects", "--trace-format", "claude-code",
                     "--server", "sncro", "--policy", STRICT, "--format", "jsonl", env=ENV)
    assert direct.returncode == 0, direct.stderr
    rows = _records(direct.stdout)
    assert [(r["tool"], r["decision"], r["reason"]) for r in rows] == decisions
    assert rows[3]["line"] == ("tests/data/import/claude-code/projects/-home-dana-src-shopfront/"
                               "3f0c9e1a-6b2d-4c8e-9f71-2a5d8b6e0c13.jsonl:14")
    assert "claude-code: read 9 files, imported 10 calls" in direct.stderr


@pytest.mark.parametrize("source,path,calls", [
    ("codex", "tests/data/import/codex/sessions", 9),
    ("claude-desktop", "tests/data/import/claude-desktop/Claude/logs", 11),
    ("otlp", "tests/data/import/otlp/otel", 8),
    ("jsonrpc", "tests/data/import/jsonrpc/capture.jsonl", 8),
])
def test_every_source_replays_directly_with_auto_detection(source: str, path: str, calls: int) -> None:
    result = run_cli("simulate", path, "--policy", "samples/sncro.policy.json", "--format", "json", env=ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["calls"] == calls
    assert f"{source}: read" in result.stderr


def test_diff_trace_and_coverage_read_an_imported_source() -> None:
    diff = run_cli("diff", "samples/sncro.policy.json", STRICT, "--trace", "tests/data/import/claude-code/projects",
                   "--trace-format", "claude-code", "--server", "sncro", "--format", "json", env=ENV)
    assert diff.returncode == 1, diff.stderr  # the strict policy drops end_session's limit: loosened
    behavior = json.loads(diff.stdout)["behavior"]
    assert behavior["calls"] == 10 and behavior["transitions"]["allow->deny"] == 2
    assert behavior["examples"][1]["line"].endswith("3f0c9e1a-6b2d-4c8e-9f71-2a5d8b6e0c13.jsonl:36")
    cov = run_cli("simulate", "tests/data/import/claude-code/projects", "--server", "sncro", "--policy", STRICT,
                  "--coverage", "--format", "json", env=ENV)
    assert cov.returncode == 0, cov.stderr
    assert json.loads(cov.stdout)["calls"] == 10


def test_explain_picks_an_imported_call_by_file_and_line() -> None:
    result = run_cli("explain", "--policy", STRICT, "--trace", "tests/data/import/claude-code/projects",
                     "--server", "sncro", "--line", "3f0c9e1a-6b2d-4c8e-9f71-2a5d8b6e0c13.jsonl:36",
                     "--format", "json", env=ENV)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["call"]["tool"] == "get_network_log"
    assert out["call"]["line"].endswith("3f0c9e1a-6b2d-4c8e-9f71-2a5d8b6e0c13.jsonl:36")
    assert out["decision"]["reason"] == "rate_limited"
    bad = run_cli("explain", "--policy", STRICT, "--trace", "tests/data/import/claude-code/projects",
                  "--line", "12", env=ENV)
    assert bad.returncode == 2 and "an imported source needs FILE:N" in bad.stderr


def test_a_plain_trace_keeps_the_exit_2_rule_and_simulate_server_filters_it(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text(
        '{"ts": "2026-01-01T00:00:00Z", "tool": "end_session", "args": {}, "server": "sncro", "upstream": "ok"}\n'
        '{"ts": "2026-01-01T00:00:01Z", "tool": "list_issues", "args": {}, "server": "github"}\n'
        '{"ts": "2026-01-01T00:00:02Z", "tool": "end_session", "args": {}, "server": "sncro", '
        '"upstream": "tool_error", "executed": true, "observed": "denied", "shadow": {"decision": "allow"}}\n')
    result = run_cli("simulate", str(trace), "--policy", "samples/sncro.policy.json", "--server", "sncro",
                     "--format", "jsonl", env=ENV)
    assert result.returncode == 0, result.stderr
    assert [(r["line"], r["tool"]) for r in _records(result.stdout)] == [(1, "end_session"), (3, "end_session")]
    trace.write_text('{"ts": "2026-01-01T00:00:00Z", "tool": "t", "args": {}}\nnot json\n')
    bad = run_cli("simulate", str(trace), "--policy", "samples/sncro.policy.json", env=ENV)
    assert bad.returncode == 2 and f"{trace}:2: invalid JSON" in bad.stderr


def test_many_files_merge_in_several_passes_without_losing_or_repeating_a_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from policyctl.traces import merge

    one_pass, _, _ = _import("claude-code", DATA / "claude-code" / "projects")
    monkeypatch.setattr(merge, "FAN_IN", 2)  # 9 files → runs merged in groups of 2, three passes
    several, s, _ = _import("claude-code", DATA / "claude-code" / "projects")
    assert several == one_pass
    assert s.duplicates_removed == 7


@pytest.mark.parametrize("chunk,cap", [(7, 50), (16, 20), (1 << 20, 1 << 22)])  # chunks smaller than the cap, as shipped
def test_blocks_and_lines_agree_on_every_line_whatever_the_chunk_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      chunk: int, cap: int) -> None:
    """read_blocks (the claude-code fast path) and read_lines see the same lines, numbers and
    overlong lines, also when lines span chunks and the last line has no newline."""
    import random

    from policyctl.traces import sources

    monkeypatch.setattr(sources, "_CHUNK", chunk)
    monkeypatch.setattr(sources, "LINE_CAP", cap)
    rng = random.Random(chunk)
    lines = [b"x" * rng.choice([0, 1, 5, 19, 21, 49, 51, 80, 200]) + str(i).encode() for i in range(300)]
    f = tmp_path / "t.jsonl"
    f.write_bytes(b"\n".join(lines))  # no final newline
    by_lines = []
    for n, raw, last in sources.read_lines(str(f), print):
        by_lines.append((n, raw.size if isinstance(raw, sources.Overlong) else bytes(raw), last))
    by_blocks = []
    for first, data, start, end, last in sources.read_blocks(str(f), print):
        if isinstance(data, sources.Overlong):
            by_blocks.append((first, data.size, last))
            continue
        parts = data[start:end].split(b"\n")
        if data[start:end].endswith(b"\n"):
            parts.pop()
        for k, raw in enumerate(parts):
            by_blocks.append((first + k, raw, last and k == len(parts) - 1))
    assert by_blocks == by_lines
    assert len(by_lines) == 300


def test_bad_times_and_huge_numbers_in_spans_and_logs_are_invalid_lines_not_crashes(tmp_path: Path) -> None:
    span = {"traceId": "0" * 32, "spanId": "1" * 16, "startTimeUnixNano": "9" * 30, "attributes": [
        {"key": "mcp.method.name", "value": {"stringValue": "tools/call"}},
        {"key": "gen_ai.tool.name", "value": {"stringValue": "t"}}]}
    ok = dict(span, startTimeUnixNano="1794481200500000000", spanId="2" * 16, attributes=span["attributes"] + [
        {"key": "gen_ai.tool.call.arguments", "value": {"kvlistValue": {"values": [
            {"key": "n", "value": {"intValue": "9" * 25}}]}}}])
    f = tmp_path / "spans.jsonl"
    f.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span, ok]}]}]}) + "\n")
    records, s, _ = _import("otlp", f)
    assert [r["args"] for r in records] == [{"n": 1e25}]
    assert s.invalid_messages == [f"{f}:1: span of t: startTimeUnixNano is not a time in nanoseconds since 1970"]
    log = tmp_path / "mcp.log"
    log.write_text('2026-13-40T10:00:00.000Z [s] [info] Message from client: '
                   '{"method":"tools/call","params":{"name":"t","arguments":{}},"jsonrpc":"2.0","id":1}\n')
    records, s, _ = _import("claude-desktop", log)
    assert records == [] and s.invalid_lines == 1 and s.invalid_messages[0].startswith(f"{log}:1: ")
