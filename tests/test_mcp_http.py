"""The streamable-HTTP client against a stdlib fixture on 127.0.0.1 (exact control of sessions, SSE,
redirects and hostile answers) and against the official SDK served by uvicorn."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from policyctl.errors import ServerError, UsageError
from policyctl.mcp.client import scan_url
from policyctl.mcp.http import check_url, parse_header, redact_url, shown_url, url_problem
from tests.servers.http_fixture import Behaviour, FixtureServer

SERVERS = Path(__file__).parent / "servers"


def names(snap) -> list[str]:  # noqa: ANN001
    return [t.name for t in snap.tools]


def test_modern_era_json_with_pagination() -> None:
    with FixtureServer(Behaviour(page=5)) as server:
        snap = scan_url(server.url, timeout=5)
    assert snap.protocol_version == "2026-07-28"
    assert (snap.server_name, snap.server_version) == ("http-fixture", "2.0")
    assert len(snap.tools) == 14  # three pages
    assert snap.tool("delete_project").annotations == {"readOnlyHint": False, "destructiveHint": True}
    posts = [r for r in server.requests if r["method"] == "POST"]
    assert [r["body"]["method"] for r in posts] == ["server/discover", "tools/list", "tools/list", "tools/list"]
    assert all(r["headers"]["mcp-protocol-version"] == "2026-07-28" for r in posts)
    assert [r["headers"]["mcp-method"] for r in posts] == ["server/discover"] + ["tools/list"] * 3
    assert [r["body"].get("params", {}).get("cursor") for r in posts[1:]] == [None, "5", "10"]
    assert all("_meta" in r["body"]["params"] for r in posts)
    assert not [r for r in server.requests if r["method"] == "DELETE"]  # no session in this era
    assert snap.source == {"kind": "url", "command": None, "url": server.url, "upstream": None,
                           "captured_at": snap.source["captured_at"]}


def test_handshake_era_sse_with_priming_session_and_delete() -> None:
    with FixtureServer(Behaviour(sse=True, legacy_only=True, server_ping=True, page=6)) as server:
        snap = scan_url(server.url, timeout=5)
    assert snap.protocol_version == "2025-11-25"
    assert len(snap.tools) == 14
    posts = [r for r in server.requests if r["method"] == "POST" and "method" in r["body"]]
    assert [r["body"]["method"] for r in posts] == ["server/discover", "initialize", "notifications/initialized",
                                                    "tools/list", "tools/list", "tools/list"]
    sid = posts[3]["headers"]["mcp-session-id"]
    assert all(r["headers"].get("mcp-session-id") == sid for r in posts[2:])
    assert "mcp-protocol-version" not in posts[1]["headers"]  # initialize negotiates it
    assert all(r["headers"]["mcp-protocol-version"] == "2025-11-25" for r in posts[2:])
    # the server's ping on the event stream was answered, in the session
    assert server.client_replies == [{"jsonrpc": "2.0", "id": "srv-ping", "result": {}}] * 4  # initialize + 3 pages
    deletes = [r for r in server.requests if r["method"] == "DELETE"]
    assert len(deletes) == 1 and deletes[0]["headers"]["mcp-session-id"] == sid
    assert server.sessions == set()


def test_redirect_is_followed_and_remembered() -> None:
    with FixtureServer(Behaviour(legacy_only=True)) as server:
        snap = scan_url(server.url + "/", timeout=5)
    assert len(snap.tools) == 14
    assert snap.source["url"] == server.url + "/"
    assert snap.source["redirected_to"] == server.url
    paths = [r["path"] for r in server.requests]
    assert paths[0] == "/mcp/" and paths.count("/mcp/") == 1  # later requests go straight to /mcp


def test_bearer_header_is_sent() -> None:
    with FixtureServer(Behaviour(require_token="s3cret")) as server:
        with pytest.raises(ServerError, match=r"HTTP 401 Unauthorized .* wants credentials"):
            scan_url(server.url, timeout=5)
        snap = scan_url(server.url, headers={"Authorization": "Bearer s3cret"}, timeout=5)
    assert len(snap.tools) == 14


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (Behaviour(mode="html"), "content type 'text/html', not JSON or an event stream"),
        (Behaviour(mode="not-jsonrpc"), "not a JSON-RPC 2.0 message"),
        (Behaviour(mode="no-answer"), "accepted initialize (HTTP 202) but sent no answer"),
        (Behaviour(mode="loop-cursor"), "repeated the cursor 'same'"),
        (Behaviour(mode="hang"), "no answer from"),
        (Behaviour(mode="trickle", legacy_only=True), "no complete answer to initialize within 0.8 s"),
    ],
)
def test_hostile_http_servers_end_in_clear_errors(behaviour: Behaviour, message: str) -> None:
    with FixtureServer(behaviour) as server:
        start = time.monotonic()
        with pytest.raises(ServerError) as exc:
            scan_url(server.url, timeout=0.8)
        elapsed = time.monotonic() - start
    assert message in exc.value.message
    assert exc.value.message.startswith(f"server {server.url}: ")
    assert elapsed < 4  # a probe and one request at most, each bounded by the timeout


def test_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ServerError, match=f"cannot reach http://127.0.0.1:{port}/mcp"):
        scan_url(f"http://127.0.0.1:{port}/mcp", timeout=2)


def test_not_found_endpoint() -> None:
    with FixtureServer() as server:
        with pytest.raises(ServerError, match="HTTP 404 Not Found from .*/nope for initialize: not found"):
            scan_url(server.url.replace("/mcp", "/nope"), timeout=2)


def test_header_parsing_and_url_redaction() -> None:
    assert parse_header("Authorization: Bearer abc") == ("Authorization", "Bearer abc")
    with pytest.raises(UsageError, match="expected 'Name: value'"):
        parse_header("Authorization")
    with pytest.raises(UsageError, match="sets this header itself"):
        parse_header("Mcp-Session-Id: x")
    with pytest.raises(UsageError, match="not a valid header name"):
        parse_header("Bad Name: x")
    assert redact_url("https://user:pw@host:8443/mcp?api_key=zzz&x=1") == "https://host:8443/mcp?api_key=%2A%2A%2A&x=1"


def test_bad_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="expected an http:// or https:// URL"):
        scan_url("ftp://example.org/mcp")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/mcp", "https://relay.sncro.net/tools/mcp", "http://[::1]:8080/mcp",
    "http://[fe80::1%25eth0]/mcp", "http://user:pw@host/mcp", "http://h:/mcp", "http://é.example/mcp",
    "HTTPS://Host.example/x?y=1#f", "http://h", "http://h:65535?q=a%20b",
])
def test_usable_urls_pass_the_check(url: str) -> None:
    assert url_problem(url) is None
    assert check_url(url) == url


@pytest.mark.parametrize("url,problem", [
    # C5: these four used to crash with exit 3 (ValueError / InvalidURL)
    ("http://[::1", "the host has an unclosed [ (an IPv6 address is written [::1])"),
    ("http://127.0.0.1:99999/mcp", "the port 99999 is out of range (1-65535)"),
    ("http://127.0.0.1:abc/mcp", "the port 'abc' is not a number"),
    ("http://local host/mcp", "the host contains a space"),
    # ... and other hostile forms
    ("http:///mcp", "no host"),
    ("http://:8080/mcp", "no host"),
    ("gopher://h/x", "unsupported scheme 'gopher'; expected an http:// or https:// URL"),
    ("127.0.0.1:8080/mcp", "expected an http:// or https:// URL"),
    ("http://h:0/", "the port 0 is out of range (1-65535)"),
    ("http://h:\u0663/", "the port '\u0663' is not a number"),  # an Arabic-Indic digit is no port
    ("http://h:" + "9" * 40 + "/", "the port 99999999999999999999 is out of range (1-65535)"),
    ("http://[zz]/", "the host in [ ] is not an IPv6 address"),
    ("http://[::1]x/", "unexpected text after the IPv6 address in [ ]"),
    ("http://::1/", "the host has more than one ':' (an IPv6 address goes in brackets: http://[::1]:8080/)"),
    ("http://a]b/", "the host has a [ or ] outside an IPv6 address"),
    ("http://h\\x/", "the host contains '\\\\'"),
    ("http://h\x1b[2J/", "the host contains the character U+001B"),
    ("http://h/a b", "the path or query contains a space (write it as %20)"),
])
def test_malformed_urls_are_usage_errors_naming_the_problem(url: str, problem: str) -> None:
    assert url_problem(url) == problem
    with pytest.raises(UsageError) as info:
        scan_url(url, timeout=1)
    assert info.value.message == f"--url {shown_url(url)!r}: {problem}"


@pytest.mark.parametrize("url,problem", [
    ("http://alice:s3cret@[::1/mcp", "the host has an unclosed ["),
    ("http://alice:s3cret@/mcp", "no host"),
    ("http://alice:s3cret@h:99999/x?token=t0ken", "the port 99999 is out of range"),
    ("http://alice:s3 cret@h/", "the user info contains a space"),
])
def test_credentials_are_never_echoed(url: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        scan_url(url, timeout=1)
    assert problem in info.value.message
    assert [w for w in ("alice", "s3cret", "s3 cret", "t0ken") if w in info.value.message] == []


def test_a_malformed_url_is_refused_before_any_connection() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.3)
        port = listener.getsockname()[1]
        for url in (f"http://127.0.0.1:{port}/m cp", f"http://127.0.0.1:{port}/mcp?x=\x7f"):
            with pytest.raises(UsageError):
                scan_url(url, timeout=1)
        with pytest.raises(socket.timeout):
            listener.accept()  # nobody knocked


def test_a_redirect_to_a_malformed_url_is_a_server_error() -> None:
    with FixtureServer(Behaviour(mode="bad-redirect")) as server:
        with pytest.raises(ServerError) as info:
            scan_url(server.url, timeout=5)
    assert not isinstance(info.value, UsageError)
    assert info.value.message.endswith(
        "to an unusable URL: the host has an unclosed [ (an IPv6 address is written [::1])")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sdk_server():
    """The official SDK's lowlevel server (25 tools, 10 per page) over uvicorn on 127.0.0.1."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(SERVERS / "sdk_server.py"), "http", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "sdk server died") from None
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_official_sdk_server_both_eras_and_redirect(sdk_server: str) -> None:
    modern = scan_url(sdk_server, timeout=10)
    legacy = scan_url(sdk_server, timeout=10, era="legacy")
    slashed = scan_url(sdk_server + "/", timeout=10)
    assert (modern.protocol_version, legacy.protocol_version) == ("2026-07-28", "2025-11-25")
    assert modern.server_name == legacy.server_name == "policyctl-fixture"
    assert len(modern.tools) == len(legacy.tools) == len(slashed.tools) == 25
    assert [t.to_data() for t in modern.tools] == [t.to_data() for t in legacy.tools]
    assert slashed.source["redirected_to"] == sdk_server
    refund = modern.tool("create_refund")
    assert refund is not None and refund.annotations == {"readOnlyHint": False}
    # and its starter policy lints clean
    from policyctl.lint.linter import lint_bytes
    from policyctl.reporters.init import yaml as init_yaml
    from policyctl.scan.risk import classify_snapshot
    from policyctl.scan.starter import build_starter

    starter = build_starter(modern, classify_snapshot(modern))
    assert starter.data["hide"] == ["delete_note"]
    text = init_yaml.render(starter)
    report = lint_bytes(text.encode(), "sdk.policy.yaml", tools=modern)
    assert [d.message for d in report.diagnostics if d.severity == "error"] == []
