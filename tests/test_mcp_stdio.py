"""The stdio MCP client against real servers: mcp-server-time (PyPI), the SDK fixture, and a stdlib
fixture with hostile modes. Every failure must be a clear ServerError and leave no process behind."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from policyctl.errors import InputError, ServerError
from policyctl.mcp import jsonrpc
from policyctl.mcp.client import scan_stdio
from policyctl.mcp.stdio import StdioConnection, child_environment

SERVERS = Path(__file__).parent / "servers"
FIXTURE = [sys.executable, str(SERVERS / "stdio_fixture.py")]

pytestmark = pytest.mark.slow


def alive(pid: int) -> bool:
    """Is the process running (a zombie waiting for its reaper does not count)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def assert_gone(pids: list[int], within: float = 3.0) -> None:
    end = time.monotonic() + within
    while time.monotonic() < end and any(alive(p) for p in pids):
        time.sleep(0.05)
    assert [p for p in pids if alive(p)] == []


def pids_from(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_mcp_server_time_modern_era() -> None:
    snap = scan_stdio([sys.executable, "-m", "mcp_server_time"], timeout=20)
    assert snap.server_name == "mcp-time"
    assert snap.server_version == "2026.10.19"
    assert snap.protocol_version == "2026-07-28"
    assert [t.name for t in snap.tools] == ["get_current_time", "convert_time"]
    current = snap.tool("get_current_time")
    assert current is not None
    assert current.required == ("timezone",)
    assert current.annotations == {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True,
                                   "openWorldHint": False}
    assert "outputSchema" in current.extra
    convert = snap.tool("convert_time")
    assert convert is not None and convert.required == ("source_timezone", "time", "target_timezone")
    assert snap.source["kind"] == "stdio"
    assert snap.source["command"] == [sys.executable, "-m", "mcp_server_time"]


def test_mcp_server_time_handshake_era() -> None:
    snap = scan_stdio([sys.executable, "-m", "mcp_server_time"], timeout=20, era="legacy")
    assert snap.protocol_version == "2025-11-25"
    assert [t.name for t in snap.tools] == ["get_current_time", "convert_time"]


def test_sdk_fixture_paginates_in_both_eras() -> None:
    argv = [sys.executable, str(SERVERS / "sdk_server.py"), "stdio"]
    modern = scan_stdio(argv, timeout=20)
    legacy = scan_stdio(argv, timeout=20, era="legacy")
    assert modern.protocol_version == "2026-07-28" and legacy.protocol_version == "2025-11-25"
    assert len(modern.tools) == 25  # three pages of ten
    assert [t.to_data() for t in modern.tools] == [t.to_data() for t in legacy.tools]
    delete = modern.tool("delete_note")
    assert delete is not None
    assert delete.annotations == {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True}


def test_fixture_pagination_and_server_info() -> None:
    snap = scan_stdio(FIXTURE + ["normal", "--page", "3"], timeout=5)
    assert snap.server_name == "stdio-fixture" and snap.server_version == "1.0"
    assert len(snap.tools) == 12
    assert snap.tools[0].name == "read_note" and snap.tools[-1].name == "stat_06"


def test_legacy_server_falls_back_to_initialize() -> None:
    snap = scan_stdio(FIXTURE + ["legacy"], timeout=5)
    assert snap.protocol_version == "2025-11-25"
    assert len(snap.tools) == 12


def test_server_that_ignores_the_probe_is_reached_with_initialize() -> None:
    # why the probe has its own wait instead of sharing one deadline with initialize: a server
    # that drops unknown methods is only found after the probe times out (docs/scan.md)
    listing = scan_stdio(FIXTURE + ["silent-discover"], timeout=0.6)
    assert listing.protocol_version == "2025-11-25"
    assert listing.server_name == "stdio-fixture"


def test_server_that_dies_on_the_probe_is_restarted_with_initialize(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    snap = scan_stdio(FIXTURE + ["exit-on-discover", "--pidfile", str(pidfile)], timeout=5)
    assert snap.protocol_version == "2025-11-25"
    assert len(pids_from(pidfile)) == 2  # started twice
    assert_gone(pids_from(pidfile))


def test_server_requests_are_answered() -> None:
    # the fixture asserts the exact replies to ping, roots/list and an unknown method
    snap = scan_stdio(FIXTURE + ["ping-first"], timeout=5)
    assert len(snap.tools) == 12


def test_child_gets_a_minimal_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_do_not_leak")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nope")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    snap = scan_stdio(FIXTURE + ["env"], env={"NOTES_API_KEY": "k"}, timeout=5)
    seen = set(snap.tools[0].description.removeprefix("env: ").split(","))
    assert "GITHUB_TOKEN" not in seen and "AWS_SECRET_ACCESS_KEY" not in seen
    assert {"NOTES_API_KEY", "PATH", "LC_ALL"} <= seen
    assert seen <= {"NOTES_API_KEY", "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TMPDIR", "TZ",
                    "LANG", "LANGUAGE", "LC_CTYPE", "LC_ALL"} | {k for k in seen if k.startswith("LC_")}


def test_child_environment_allowlist() -> None:
    env = child_environment({"X": "1"}, base={"PATH": "/bin", "HOME": "/h", "LC_TIME": "C", "API_TOKEN": "t",
                                               "PYTHONPATH": "/p"})
    assert env == {"PATH": "/bin", "HOME": "/h", "LC_TIME": "C", "X": "1"}


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("hang", "no answer to initialize within 0.6 s"),
        ("garbage", "the server sent something that is not JSON: 'Listening on stdio... ready!'"),
        ("not-jsonrpc", "not a JSON-RPC 2.0 message"),
        ("exit-early", "the server exited (exit code 3) before answering initialize"),
        ("loop-cursor", "repeated the cursor 'again' on page 2"),
        ("endless-pages", "still had more pages after 100 pages"),
        ("duplicate", "duplicate tool name \"same\""),
        ("parse-error", "the server answered initialize with error -32700: Parse error"),
    ],
)
def test_hostile_servers_end_in_clear_errors_and_leave_nothing(mode: str, message: str, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    with pytest.raises(InputError) as exc:
        scan_stdio(FIXTURE + [mode, "--pidfile", str(pidfile)], timeout=0.6)
    assert message in exc.value.message
    assert exc.value.message.startswith("server `")
    assert_gone(pids_from(pidfile))


def test_early_exit_shows_the_servers_stderr() -> None:
    with pytest.raises(ServerError) as exc:
        scan_stdio(FIXTURE + ["exit-early"], timeout=5)
    assert exc.value.details == ("the server's stderr ended with:", "  starting fixture",
                                 "  fatal: NOTES_API_KEY is not set")


def test_oversized_line_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(jsonrpc, "MAX_MESSAGE_BYTES", 1024 * 1024)
    pidfile = tmp_path / "pids"
    with pytest.raises(ServerError, match="a line longer than 1 MiB"):
        scan_stdio(FIXTURE + ["big-line", "--pidfile", str(pidfile)], timeout=5)
    assert_gone(pids_from(pidfile))


def test_stubborn_server_and_its_child_are_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    start = time.monotonic()
    snap = scan_stdio(FIXTURE + ["stubborn", "--pidfile", str(pidfile)], timeout=5, grace=0.3)
    assert len(snap.tools) == 12
    pids = pids_from(pidfile)
    assert len(pids) == 2  # the server and the grandchild it started
    assert_gone(pids)
    assert time.monotonic() - start < 5


def test_missing_command_is_a_clear_error() -> None:
    with pytest.raises(ServerError, match="command not found: no-such-mcp-server-xyz"):
        scan_stdio(["no-such-mcp-server-xyz"], timeout=1)


def test_connection_close_is_idempotent_and_reaps(tmp_path: Path) -> None:
    conn = StdioConnection(FIXTURE + ["hang"], env=child_environment(), grace=0.2)
    pid = conn.pid
    conn.close()
    conn.close()
    assert conn.proc.returncode is not None
    assert not alive(pid)


def test_a_process_that_left_the_group_cannot_make_us_hang(tmp_path: Path) -> None:
    # A server's helper that starts its own session is out of reach of a process-group kill (a
    # documented limit); it still holds our stdout pipe open, and closing must not wait for it.
    pidfile = tmp_path / "pids"
    start = time.monotonic()
    try:
        snap = scan_stdio(FIXTURE + ["escape", "--pidfile", str(pidfile)], timeout=5, grace=0.3)
        assert len(snap.tools) == 12
        assert time.monotonic() - start < 4
    finally:
        pids = pids_from(pidfile)
        for pid in pids[1:]:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    assert_gone(pids)


@pytest.mark.parametrize("era", ["auto", "legacy"])
def test_server_instructions_are_captured_in_both_eras(era: str) -> None:
    snap = scan_stdio(FIXTURE + ["payments"], timeout=20, era=era)
    assert snap.protocol_version == ("2026-07-28" if era == "auto" else "2025-11-25")
    assert snap.instructions == "A payments API for merchants: take payments, send invoices, issue refunds."
    assert scan_stdio(FIXTURE + ["normal"], timeout=20, era=era).instructions is None
