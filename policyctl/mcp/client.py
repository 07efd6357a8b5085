"""Scan a live MCP server (stdio command or streamable-HTTP URL) into a Snapshot."""

from __future__ import annotations

import shlex
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from policyctl.errors import ServerError
from policyctl.mcp.protocol import MAX_PAGES, PROBE_TIMEOUT, Listing, ServerGone, list_tools
from policyctl.scan.snapshots import Snapshot, make_source, parse_tools

DEFAULT_TIMEOUT = 30.0


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _snapshot(listing: Listing, source: dict, origin: str, extra_warnings: Sequence[str] = ()) -> Snapshot:
    tools, warnings = parse_tools(list(listing.tools), origin=origin, where="tools")
    return Snapshot(
        server_name=listing.server_name,
        server_version=listing.server_version,
        source=source,
        protocol_version=listing.protocol_version,
        tools=tools,
        warnings=tuple(listing.warnings) + tuple(extra_warnings) + warnings,
        instructions=listing.instructions,
    )


def _labelled(exc: ServerError, label: str) -> ServerError:
    """The same error, its message prefixed with which server it came from."""
    exc.message = f"{label}: {exc.message}"
    exc.args = (exc.message,)
    return exc


def scan_stdio(argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
               era: str = "auto", grace: float | None = None, cwd: str | None = None,
               max_pages: int = MAX_PAGES) -> Snapshot:
    """Spawn ``argv`` with a minimal environment (plus ``env``), list its tools, shut it down.

    If the server dies while being probed for the 2026-07-28 revision (some old servers exit on an
    unknown method), it is started once more and spoken to with ``initialize``.
    """
    from policyctl.mcp.stdio import StdioConnection, child_environment

    argv = list(argv)
    if not argv:
        raise ServerError("no server command given after --")
    label = f"server `{shlex.join(argv)}`"
    child_env = child_environment(env)
    wait = min(2.0, max(timeout / 2, 0.1)) if grace is None else grace
    captured = _now()
    try:
        try:
            with StdioConnection(argv, env=child_env, cwd=cwd, grace=wait) as conn:
                listing = list_tools(conn, era=era, timeout=timeout,
                                     probe_timeout=min(PROBE_TIMEOUT, timeout), max_pages=max_pages)
        except ServerGone:
            if era != "auto" or not _died_in_probe(conn):
                raise
            with StdioConnection(argv, env=child_env, cwd=cwd, grace=wait) as conn:
                listing = list_tools(conn, era="legacy", timeout=timeout, max_pages=max_pages)
    except ServerError as exc:
        raise _labelled(exc, label) from None
    source = make_source("stdio", command=argv, captured_at=captured)
    return _snapshot(listing, source, origin=label)


def _died_in_probe(conn: object) -> bool:
    return getattr(conn, "_next_id", 0) == 1  # only server/discover had been sent


def scan_url(url: str, *, headers: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
             era: str = "auto", max_pages: int = MAX_PAGES, where: str = "--url") -> Snapshot:
    """List the tools of a streamable-HTTP MCP endpoint; the session is deleted afterwards.

    A malformed URL is a UsageError naming ``where`` it came from, before any connection.
    """
    from policyctl.mcp.http import HttpConnection, check_url, redact_url

    check_url(url, where)
    shown = redact_url(url)
    label = f"server {shown}"
    captured = _now()
    try:
        with HttpConnection(url, headers=headers, timeout=timeout) as conn:
            listing = list_tools(conn, era=era, timeout=timeout,
                                 probe_timeout=min(PROBE_TIMEOUT, timeout), max_pages=max_pages)
            final = conn.url
            warnings = list(conn.warnings)
    except ServerError as exc:
        raise _labelled(exc, label) from None
    more: dict[str, Any] = {"redirected_to": redact_url(final)} if final != url else {}
    source = make_source("url", url=shown, captured_at=captured, **more)
    return _snapshot(listing, source, origin=label, extra_warnings=warnings)
