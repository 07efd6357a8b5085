"""One ``policyctl record`` run, whatever the transport: open the trace, load the policy, relay,
finish. The CLI builds a :class:`RecordConfig` and calls :func:`record`; nothing here prints —
messages for the user go through ``notify``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from policyctl.errors import OutputExistsError, PolicyctlError
from policyctl.mcp.proxy.session import Options, Recorder, Stats, history_of
from policyctl.mcp.proxy.shadow import PolicyGate, replay_calls
from policyctl.mcp.proxy.trace_writer import TraceFile


@dataclass(frozen=True)
class RecordConfig:
    output: str
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    upstream: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    listen: tuple[str, int] = ("127.0.0.1", 8808)
    grant: str = "default"
    grant_header: str | None = None
    policy: str | None = None
    enforce: bool = False
    windows: str = "fixed"
    rollback_on: str = "jsonrpc_error"  # Intercept: also release on result.isError with "any"
    dialect: str | None = None  # the policy's dialect when forced (default: from its content)
    force: bool = False
    append: bool = False
    redact: frozenset[str] = frozenset()
    redact_unread: bool = False
    tools_out: str | None = None
    grace: float = 2.0


@dataclass
class RecordResult:
    exit_status: int
    stats: Stats
    trace: str
    lines: int
    policy_reloads: int = 0
    policy_refused: int = 0
    ended: str = ""


def record(config: RecordConfig, *, notify: Callable[[str], None] = lambda m: None,
           ready: Callable[[str], None] | None = None) -> RecordResult:
    """Run the proxy until the session ends (stdio) or until stopped (HTTP)."""
    if config.tools_out and os.path.exists(config.tools_out) and not config.force:
        raise OutputExistsError(f"{config.tools_out}: already exists (use --force to overwrite)")
    gate = None
    if config.policy is not None:
        gate = PolicyGate(config.policy, windows=config.windows, notify=notify,
                          history=history_of(config.output), rollback_on=config.rollback_on,
                          dialect=config.dialect)
    warm = replay_calls(config.output) if gate is not None and config.append and os.path.exists(config.output) else []
    trace = TraceFile(config.output, force=config.force, append=config.append)
    if gate is not None and warm:
        gate.warm_up(warm)
    options = Options(grant=config.grant, enforce=config.enforce, redact=config.redact,
                      redact_unread=config.redact_unread)
    on_tools = _snapshot_writer(config, notify) if config.tools_out else None
    recorder = Recorder(trace, options=options, gate=gate, on_tools=on_tools)
    started = False
    proxy: Any  # an HttpProxy or a StdioProxy, once built
    try:
        if config.upstream is not None:
            from policyctl.mcp.proxy.http import HttpProxy

            proxy = HttpProxy(config.upstream, recorder, listen=config.listen, headers=config.headers,
                              grant_header=config.grant_header)

            def serving(url: str) -> None:
                nonlocal started
                started = True
                if ready is not None:
                    ready(url)

            status = proxy.run(ready=serving)
        else:
            from policyctl.mcp.proxy.stdio import StdioProxy
            from policyctl.mcp.stdio import child_environment

            proxy = StdioProxy(list(config.command), recorder, env=child_environment(config.env),
                               grace=config.grace)
            started = True
            status = proxy.run()
    except BaseException:
        if not started or proxy_failed_to_start(locals().get("proxy")):
            trace.discard_if_unused()
        raise
    finally:
        stats = recorder.finish()
    return RecordResult(exit_status=status, stats=stats, trace=config.output, lines=trace.lines,
                        policy_reloads=gate.reloads if gate else 0, policy_refused=gate.refused if gate else 0,
                        ended=getattr(proxy, "reason", "") if "proxy" in locals() else "")


def proxy_failed_to_start(proxy: object) -> bool:
    """A stdio proxy whose server never started (command not found …)."""
    return proxy is not None and getattr(proxy, "proc", None) is None


def _snapshot_writer(config: RecordConfig,
                     notify: Callable[[str], None]) -> Callable[[list, str | None, str | None, str | None], None]:
    """Save each complete ``tools/list`` (all pages) as a SPEC §4 snapshot, atomically."""
    def write(tools: list, name: str | None, version: str | None, protocol: str | None) -> None:
        import json

        from policyctl.files import write_output
        from policyctl.scan.snapshots import Snapshot, make_source, parse_tools

        captured = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if config.upstream is not None:
            from policyctl.mcp.http import redact_url

            source = make_source("url", url=redact_url(config.upstream), captured_at=captured)
        else:
            source = make_source("stdio", command=list(config.command), captured_at=captured)
        try:
            parsed, warnings = parse_tools(tools, origin="the recorded server", where="tools")
            snap = Snapshot(server_name=name, server_version=version, source=source, protocol_version=protocol,
                            tools=parsed, warnings=warnings)
            write_output(config.tools_out, json.dumps(snap.to_data(), indent=2, ensure_ascii=False) + "\n")
        except PolicyctlError as exc:
            notify(f"--tools-out: the server's tool list was not saved: {exc.message}")
        except OSError as exc:
            notify(f"--tools-out: cannot write {config.tools_out}: {exc.strerror or exc}")
    return write
