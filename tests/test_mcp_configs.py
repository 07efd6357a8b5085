"""MCP client configuration files: shapes, comments, placeholders, and `--server NAME` resolution."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from policyctl.errors import InputError, UsageError
from policyctl.mcp.configs import default_paths, discover, search_paths, strip_jsonc
from policyctl.scan.sources import SourceSpec, acquire
from tests.servers.http_fixture import Behaviour, FixtureServer

FIXTURE = str(Path(__file__).parent / "servers" / "stdio_fixture.py")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_strip_jsonc_keeps_strings() -> None:
    text = '{\n  // a comment\n  "a": "http://x//y", /* block */ "b": [1, 2,],\n  "c": "/* not */",\n}'
    assert json.loads(strip_jsonc(text)) == {"a": "http://x//y", "b": [1, 2], "c": "/* not */"}


def test_shapes_of_every_client(tmp_path: Path) -> None:
    desktop = write(tmp_path / "claude_desktop_config.json", json.dumps({"mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
        "remote": {"url": "https://example.org/mcp", "headers": {"X-Team": "a"}, "type": "http"}}}))
    vscode = write(tmp_path / ".vscode" / "mcp.json", """{
      // VS Code keeps comments and trailing commas
      "inputs": [{"type": "promptString", "id": "token", "password": true}],
      "servers": {
        "gh": {"type": "http", "url": "https://api.example.org/mcp",
               "headers": {"Authorization": "Bearer ${input:token}"}},
        "time": {"type": "stdio", "command": "other"},
        "db": {"command": "npx -y db-server", "env": {"DB_PASSWORD": "${env:DB_PASSWORD}", "MODE": 1}},
      },
    }""")
    settings = write(tmp_path / "settings.json", '{"mcp": {"servers": {"old": {"url": "https://o/sse", "type": "sse"}}}}')
    project = tmp_path / "work" / "proj"
    project.mkdir(parents=True)
    claude = write(tmp_path / ".claude.json", json.dumps({
        "mcpServers": {"global": {"command": "g"}},
        "projects": {str(project): {"mcpServers": {"local": {"command": "l", "args": ["--x"]}}},
                     "/elsewhere": {"mcpServers": {"other": {"command": "o"}}}}}))
    broken = write(tmp_path / "broken.json", "{nope")
    found = discover([desktop, vscode, settings, claude, broken, tmp_path / "missing.json"], cwd=project / "sub")
    s = found.servers
    assert sorted(s) == ["db", "gh", "global", "local", "old", "remote", "time"]
    assert s["time"].command == ("uvx", "mcp-server-time") and s["time"].env == {"TZ": "UTC"}
    assert s["time"].path == str(desktop)  # the first definition wins
    assert s["remote"].transport == "http" and s["remote"].headers == {"X-Team": "a"}
    assert s["gh"].headers == {} and "header Authorization uses a ${...} placeholder" in s["gh"].warnings[0]
    assert s["db"].command == ("npx", "-y", "db-server") and s["db"].env == {"MODE": "1"}
    assert s["old"].transport == "sse"
    assert s["local"].command == ("l", "--x")
    assert "other" not in s
    assert found.warnings == (f"{broken}: not valid JSON (line 1, column 2: expected a property name in "
                              "double quotes); skipped",)


def test_search_paths_env_override(tmp_path: Path) -> None:
    assert search_paths({"POLICYCTL_MCP_CONFIG": f"{tmp_path}/a.json:{tmp_path}/b.json"}) == \
        [tmp_path / "a.json", tmp_path / "b.json"]
    assert search_paths({"POLICYCTL_MCP_CONFIG": ""}) == []
    paths = [str(p) for p in default_paths(home=Path("/h"), cwd=Path("/w"))]
    assert "/w/.mcp.json" in paths and "/h/.claude.json" in paths and "/h/.cursor/mcp.json" in paths


@pytest.mark.slow  # starts a stdio test server
def test_server_name_resolves_to_a_configured_stdio_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "mcp.json", json.dumps({"mcpServers": {"notes": {
        "command": sys.executable, "args": [FIXTURE, "env"], "env": {"NOTES_API_KEY": "from-config"}}}}))
    monkeypatch.setenv("POLICYCTL_MCP_CONFIG", str(config))
    got = acquire(SourceSpec(server="notes", env=(("EXTRA", "1"),), timeout=5))
    seen = got.snapshot.tools[0].description
    assert "NOTES_API_KEY" in seen and "EXTRA" in seen
    assert got.snapshot.source["kind"] == "stdio"


def test_server_name_resolves_to_a_configured_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FixtureServer(Behaviour(require_token="t0k")) as server:
        config = write(tmp_path / "mcp.json", json.dumps({"servers": {"issues": {
            "type": "http", "url": server.url, "headers": {"Authorization": "Bearer t0k"}}}}))
        monkeypatch.setenv("POLICYCTL_MCP_CONFIG", str(config))
        got = acquire(SourceSpec(server="issues", timeout=5))
    assert len(got.snapshot.tools) == 14


def test_a_malformed_configured_url_names_the_file_and_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # C5: the check names where the URL came from, not a --url the user never typed
    config = write(tmp_path / "mcp.json", json.dumps({"servers": {"issues": {
        "type": "http", "url": "http://bob:hunter2@127.0.0.1:99999/mcp"}}}))
    monkeypatch.setenv("POLICYCTL_MCP_CONFIG", str(config))
    with pytest.raises(UsageError) as info:
        acquire(SourceSpec(server="issues", timeout=5))
    assert info.value.message == (f"{config}: server 'issues': url 'http://127.0.0.1:99999/mcp': "
                                  "the port 99999 is out of range (1-65535)")


def test_catalog_wins_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "mcp.json", json.dumps({"mcpServers": {"sncro": {"url": "https://relay.example/mcp"}}}))
    monkeypatch.setenv("POLICYCTL_MCP_CONFIG", str(config))
    got = acquire(SourceSpec(server="sncro"))
    assert got.snapshot.source["kind"] == "catalog"
    assert got.notes == (f"note: 'sncro' is also configured in {config}; scanning the built-in catalog entry "
                         "(use --server config:sncro to scan the configured server)",)
    assert acquire(SourceSpec(server="catalog:sncro")).notes == ()


def test_unknown_name_lists_what_is_available(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "mcp.json", json.dumps({"mcpServers": {"b": {"command": "x"}, "a": {"command": "y"}}}))
    monkeypatch.setenv("POLICYCTL_MCP_CONFIG", str(config))
    with pytest.raises(InputError) as exc:
        acquire(SourceSpec(server="nope"))
    assert exc.value.message == "no MCP server named 'nope'"
    assert exc.value.details == ("catalog: sncro", f"configured: a, b (from {config})")
    monkeypatch.setenv("POLICYCTL_MCP_CONFIG", "")
    with pytest.raises(InputError) as exc:
        acquire(SourceSpec(server="config:sncro"))
    assert exc.value.details[1] == "configured: none (no MCP client configuration file found)"


def test_placeholders_and_old_sse_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "mcp.json", json.dumps({"mcpServers": {
        "ws": {"command": "run", "args": ["${workspaceFolder}/server.js"]},
        "legacy": {"url": "https://x/sse", "type": "sse"}}}))
    monkeypatch.setenv("POLICYCTL_MCP_CONFIG", str(config))
    with pytest.raises(InputError, match=r"command/args use \$\{...\} placeholders"):
        acquire(SourceSpec(server="ws"))
    with pytest.raises(InputError, match="old HTTP\\+SSE transport"):
        acquire(SourceSpec(server="legacy"))
