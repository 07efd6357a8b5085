"""Where `scan` and `init` get a tool list (SPEC §5: --server NAME | --from FILE | --url URL | -- CMD).

Apart from :mod:`policyctl.scan.snapshots` (the snapshot values, which the MCP client and the
catalog build): acquiring reads the catalog, MCP client configuration files or a live server, so
this module depends on those, and nothing they import depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policyctl.errors import InputError
from policyctl.scan.snapshots import Snapshot, load_snapshot


@dataclass(frozen=True)
class SourceSpec:
    """Exactly one of server/file/url/command, plus the options that go with it."""

    server: str | None = None
    file: str | None = None
    url: str | None = None
    command: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    timeout: float = 30.0


@dataclass(frozen=True)
class Acquired:
    """A snapshot, the vetted categories that apply to it (catalog only) and notes for stderr."""

    snapshot: Snapshot
    vetted: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def acquire(spec: SourceSpec) -> Acquired:
    """Read the tool list the spec names: catalog entry, configured server, file, URL or command."""
    if spec.file is not None:
        return Acquired(load_snapshot(spec.file))
    if spec.url is not None:
        from policyctl.mcp.client import scan_url

        return Acquired(scan_url(spec.url, headers=dict(spec.headers), timeout=spec.timeout))
    if spec.command:
        from policyctl.mcp.client import scan_stdio

        return Acquired(scan_stdio(list(spec.command), env=dict(spec.env), timeout=spec.timeout))
    if spec.server is not None:
        return _acquire_server(spec)
    raise InputError("no source given")


def _acquire_server(spec: SourceSpec) -> Acquired:
    from policyctl.mcp import configs
    from policyctl.scan import catalog

    assert spec.server is not None
    scoped = spec.server.startswith(("catalog:", "config:"))
    scope, _, name = spec.server.partition(":") if scoped else ("", "", spec.server)
    if not name:
        raise InputError("--server needs a name")
    in_catalog = name in catalog.names() and scope != "config"
    found = configs.discover() if scope != "catalog" else None
    configured = found.servers.get(name) if found else None
    if in_catalog:
        entry = catalog.load(name)
        notes: tuple[str, ...] = ()
        if configured is not None:
            notes = (f"note: {name!r} is also configured in {configured.path}; scanning the built-in catalog "
                     f"entry (use --server config:{name} to scan the configured server)",)
        return Acquired(entry.snapshot, vetted=entry.vetted, notes=notes)
    if configured is None:
        known_config = sorted(found.servers) if found else []
        details = [f"catalog: {', '.join(catalog.names()) or 'none'}"]
        if scope != "catalog":
            details.append("configured: " + (", ".join(known_config) if known_config else "none")
                           + (f" (from {', '.join(found.files)})" if found and found.files
                              else " (no MCP client configuration file found)"))
            details.extend(f"warning: {w}" for w in (found.warnings if found else ()))
        raise InputError(f"no MCP server named {name!r}", details=tuple(details))
    return _acquire_configured(configured, spec)


def _acquire_configured(server, spec: SourceSpec) -> Acquired:  # server: configs.ConfiguredServer
    notes = tuple(f"warning: {server.path}: {server.name}: {w}" for w in server.warnings)
    if server.unresolved:
        raise InputError(f"{server.path}: server {server.name!r}: {', '.join(server.unresolved)} use ${{...}} "
                         "placeholders, which policyctl does not expand; scan it with --url or -- CMD instead")
    if server.transport == "sse":
        raise InputError(f"{server.path}: server {server.name!r} uses the old HTTP+SSE transport, which policyctl "
                         "does not speak (only streamable HTTP and stdio)")
    if server.transport == "http":
        from policyctl.mcp.client import scan_url

        headers = {**server.headers, **dict(spec.headers)}
        snap = scan_url(server.url, headers=headers, timeout=spec.timeout,
                        where=f"{server.path}: server {server.name!r}: url")
    else:
        from policyctl.mcp.client import scan_stdio

        env = {**server.env, **dict(spec.env)}
        snap = scan_stdio(list(server.command), env=env, timeout=spec.timeout)
    return Acquired(snap, notes=notes)
