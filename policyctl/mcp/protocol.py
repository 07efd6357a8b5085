"""MCP over any transport: pick the protocol era, then page through ``tools/list``.

Two eras exist (measured against real servers, see docs/scan.md):

* the stateless ``2026-07-28`` revision: ``server/discover``, and every request carries ``_meta``
  with the protocol version, client info and client capabilities;
* the handshake era (``2024-11-05`` … ``2025-11-25``): ``initialize``, then
  ``notifications/initialized``, then requests.

``era="auto"`` probes ``server/discover`` first and falls back to ``initialize`` on any failure except
``-32022 UnsupportedProtocolVersion`` (a modern server with no version in common), as the 2026-07-28
revision prescribes. Transports implement ``Connection``; this module never touches bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from policyctl import __version__
from policyctl.errors import ServerError
from policyctl.mcp.jsonrpc import UNSUPPORTED_PROTOCOL_VERSION, MalformedMessage, RpcError, clip

MODERN = "2026-07-28"
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
OFFERED = "2025-11-25"
ERAS = ("auto", "modern", "legacy")
CLIENT_INFO = {"name": "policyctl", "version": __version__}
MAX_PAGES = 100
MAX_CURSOR_CHARS = 4096
PROBE_TIMEOUT = 5.0

_META_PREFIX = "io.modelcontextprotocol/"


class RequestTimeout(ServerError):
    """No answer within the per-request timeout."""


class ServerGone(ServerError):
    """The server process exited or closed the connection."""


class ProbeRejected(ServerError):
    """The transport refused ``server/discover`` in a way that means "older server" (HTTP 400 …)."""


class AuthRequired(ServerError):
    """The server wants credentials (HTTP 401/403): no point trying another protocol era."""


class Connection(Protocol):
    """What a transport offers: one request/response, one notification, era headers."""

    def request(self, method: str, params: dict | None, *, timeout: float) -> dict: ...

    def notify(self, method: str, params: dict | None = None) -> None: ...

    def use_protocol(self, version: str, *, modern: bool) -> None: ...


MAX_INSTRUCTIONS_CHARS = 20_000


@dataclass(frozen=True)
class Listing:
    """What one scan learned: server identity, negotiated version, raw tools, pages fetched."""

    server_name: str | None
    server_version: str | None
    protocol_version: str
    tools: tuple[Any, ...]
    pages: int
    warnings: tuple[str, ...] = field(default=())
    instructions: str | None = None


def modern_meta() -> dict:
    return {
        _META_PREFIX + "protocolVersion": MODERN,
        _META_PREFIX + "clientInfo": dict(CLIENT_INFO),
        _META_PREFIX + "clientCapabilities": {},
    }


@dataclass
class _Session:
    modern: bool
    version: str
    server_info: dict
    capabilities: dict
    instructions: str | None = None


def list_tools(conn: Connection, *, era: str = "auto", timeout: float = 30.0,
               probe_timeout: float = PROBE_TIMEOUT, max_pages: int = MAX_PAGES) -> Listing:
    """Negotiate an era on ``conn`` and fetch every page of ``tools/list``."""
    if era not in ERAS:
        raise ValueError(f"unknown era {era!r}")
    session = _negotiate(conn, era, timeout, probe_timeout)
    warnings: list[str] = []
    tools: list[Any] = []
    pages = 0
    if not session.modern and "tools" not in session.capabilities:
        warnings.append("the server does not declare the tools capability; asking for tools anyway")
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        if pages >= max_pages:
            raise ServerError(f"the server's tools/list still had more pages after {max_pages} pages; "
                              "giving up (is it paginating in a loop?)")
        params: dict[str, Any] | None = {"_meta": modern_meta()} if session.modern else None
        if cursor is not None:
            params = dict(params or {})
            params["cursor"] = cursor
        result = conn.request("tools/list", params, timeout=timeout)
        pages += 1
        page_tools = result.get("tools")
        if not isinstance(page_tools, list):
            raise ServerError(f"the server's tools/list result (page {pages}) has no \"tools\" array")
        tools.extend(page_tools)
        nxt = result.get("nextCursor")
        if nxt is None or nxt == "":
            break
        if not isinstance(nxt, str):
            raise ServerError(f"the server's tools/list nextCursor (page {pages}) is not a string")
        if len(nxt) > MAX_CURSOR_CHARS:
            raise ServerError(f"the server's tools/list nextCursor (page {pages}) is longer than "
                              f"{MAX_CURSOR_CHARS} characters")
        if nxt in seen:
            raise ServerError(f"the server's tools/list repeated the cursor {clip(nxt, 40)!r} on page "
                              f"{pages}; stopping a pagination loop")
        seen.add(nxt)
        cursor = nxt
    name, version = _server_identity(session.server_info)
    return Listing(server_name=name, server_version=version, protocol_version=session.version,
                   tools=tuple(tools), pages=pages, warnings=tuple(warnings), instructions=session.instructions)


def _negotiate(conn: Connection, era: str, timeout: float, probe_timeout: float) -> _Session:
    if era in ("auto", "modern"):
        session = _discover(conn, era, min(timeout, probe_timeout) if era == "auto" else timeout)
        if session is not None:
            return session
    return _initialize(conn, timeout)


def _discover(conn: Connection, era: str, timeout: float) -> _Session | None:
    """The 2026-07-28 probe; None means "fall back to initialize"."""
    conn.use_protocol(MODERN, modern=True)
    try:
        result = conn.request("server/discover", {"_meta": modern_meta()}, timeout=timeout)
    except RpcError as exc:
        if exc.code == UNSUPPORTED_PROTOCOL_VERSION or era == "modern":
            supported = _supported_from_error(exc.data)
            extra = f" (it supports {', '.join(supported)})" if supported else ""
            raise ServerError(f"the server does not support MCP protocol {MODERN}{extra}: "
                              f"{exc.rpc_message}") from None
        return None
    except (AuthRequired, ServerGone, MalformedMessage):
        # credentials, a dead server (the stdio caller restarts it) or bytes that are not JSON-RPC:
        # another era would not help
        raise
    except ServerError:
        # Any other failure of the probe (HTTP 400, a timeout, an odd answer) means "try the
        # handshake era"; the 2026-07-28 revision says not to key the fallback to one error.
        if era == "modern":
            raise
        return None
    listed = result.get("supportedVersions")
    versions = [v for v in listed if isinstance(v, str)] if isinstance(listed, list) else []
    if MODERN not in versions:
        if era == "modern":
            raise ServerError(f"the server's server/discover does not list {MODERN}")
        return None
    meta = result.get("_meta")
    if not isinstance(meta, dict):
        meta = {}
    info = meta.get(_META_PREFIX + "serverInfo") or result.get("serverInfo") or {}
    caps = result.get("capabilities")
    return _Session(modern=True, version=MODERN, server_info=info if isinstance(info, dict) else {},
                    capabilities=caps if isinstance(caps, dict) else {}, instructions=_instructions(result))


def _initialize(conn: Connection, timeout: float) -> _Session:
    conn.use_protocol(OFFERED, modern=False)
    result = conn.request("initialize", {"protocolVersion": OFFERED, "capabilities": {},
                                         "clientInfo": dict(CLIENT_INFO)}, timeout=timeout)
    version = result.get("protocolVersion")
    if not isinstance(version, str) or version not in HANDSHAKE_VERSIONS:
        shown = clip(str(version), 40) if version is not None else "none"
        raise ServerError(f"the server chose MCP protocol version {shown!r}; policyctl speaks "
                          f"{MODERN} and {', '.join(HANDSHAKE_VERSIONS)}")
    conn.use_protocol(version, modern=False)
    conn.notify("notifications/initialized")
    info = result.get("serverInfo")
    caps = result.get("capabilities")
    return _Session(modern=False, version=version, server_info=info if isinstance(info, dict) else {},
                    capabilities=caps if isinstance(caps, dict) else {}, instructions=_instructions(result))


def _instructions(result: dict) -> str | None:
    """The server's ``instructions`` (read by the risk classifier as server context), bounded."""
    text = result.get("instructions")
    return text[:MAX_INSTRUCTIONS_CHARS] if isinstance(text, str) and text else None


def _server_identity(info: dict) -> tuple[str | None, str | None]:
    name = info.get("name")
    version = info.get("version")
    return (clip(name, 200) if isinstance(name, str) and name else None,
            clip(version, 100) if isinstance(version, str) and version else None)


def _supported_from_error(data: object) -> list[str]:
    if isinstance(data, dict):
        for key in ("supported", "supportedVersions"):
            value = data.get(key)
            if isinstance(value, list):
                return [clip(v, 40) for v in value if isinstance(v, str)][:10]
    return []
