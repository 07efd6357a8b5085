"""`policyctl record`: flags → one proxied session (stdio or streamable HTTP) → summary → exit code."""

from __future__ import annotations

import re
from typing import List, Optional

import typer

from policyctl.cli.options import DialectOpt, RollbackOpt
from policyctl.cli.scan import CommandArg, EnvOpt, HeaderOpt

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_HELP = """Relay an MCP session between a client and a server, writing one trace line per tools/call.

Put `policyctl record -o TRACE.jsonl -- CMD ARGS...` where a client's configuration names the
server's command (stdio), or run `policyctl record -o TRACE.jsonl --upstream URL --listen
127.0.0.1:PORT` and point the client at http://127.0.0.1:PORT/mcp (streamable HTTP). Every message
passes unchanged; each answered call becomes a line `simulate` can replay. With --policy FILE each
line also says what the policy decides ("shadow"); --enforce applies it: a denied call is answered
by policyctl and never reaches the server, hidden tools disappear from tools/list. The policy may be
PolicyLayer's (JSON) or Intercept's (YAML); a call Intercept denies is answered as Intercept's proxy
answers it, "[INTERCEPT POLICY DENIED] <message>" in a tool result with isError.

The server gets a minimal environment (PATH, HOME, user, locale, terminal, TMPDIR, TZ) plus each
--env NAME=VALUE, or --env NAME for a variable policyctl itself was given (the "env" of a client's
server entry reaches policyctl, not the server); --inherit-env passes policyctl's whole environment.

Exit status: the server's own exit status (stdio; 128+N when signal N stopped it); 0 when an HTTP
proxy is stopped; 2 usage error or unusable input (existing trace without --force/--append,
invalid policy, server that cannot start); 3 internal error.
"""


def register(app: typer.Typer) -> None:
    @app.command("record", help=_HELP, short_help="Record a live MCP session as a replayable trace.",
                 no_args_is_help=True)
    def record(
        command: CommandArg = None,
        output: str = typer.Option(..., "--output", "-o", metavar="TRACE", show_default=False,
                                   help="The trace to write (JSON Lines, created 0600)."),
        upstream: Optional[str] = typer.Option(None, "--upstream", metavar="URL",
                                               help="Streamable-HTTP server to relay to (instead of -- CMD)."),
        listen: str = typer.Option("127.0.0.1:8808", "--listen", metavar="HOST:PORT",
                                   help="Where the HTTP proxy serves /mcp (127.0.0.1:8808)."),
        header: HeaderOpt = None,
        env: EnvOpt = None,
        inherit_env: bool = typer.Option(False, "--inherit-env",
                                         help="Give the stdio server policyctl's whole environment."),
        grant: str = typer.Option("default", "--grant", metavar="NAME", help="The grant of every call (default)."),
        grant_from_header: Optional[str] = typer.Option(
            None, "--grant-from-header", metavar="NAME",
            help="HTTP: the grant is a short SHA-256 of this request header (the value is never stored)."),
        policy: Optional[str] = typer.Option(None, "--policy", "-p", metavar="FILE",
                                             help="Decide every call live (a shadow decision on each line)."),
        enforce: bool = typer.Option(False, "--enforce", help="Apply --policy: denied calls are not forwarded."),
        windows: str = typer.Option("fixed", "--windows", metavar="fixed|sliding", help="Rate-limit windows."),
        rollback_on: RollbackOpt = "jsonrpc_error",
        dialect: DialectOpt = None,
        force: bool = typer.Option(False, "--force", help="Overwrite an existing trace."),
        append: bool = typer.Option(False, "--append", help="Continue an existing trace."),
        redact: Optional[List[str]] = typer.Option(
            None, "--redact", metavar="KEY,...", help="Replace these argument values with placeholders."),
        redact_unread: bool = typer.Option(
            False, "--redact-unread", help="With --policy: keep only argument values the policy reads."),
        tools_out: Optional[str] = typer.Option(None, "--tools-out", metavar="FILE",
                                                help="Save the server's tools/list as a snapshot."),
    ) -> None:
        raise typer.Exit(run(
            command=list(command or []), output=output, upstream=upstream, listen=listen, header=header or [],
            env=env or [], inherit_env=inherit_env, grant=grant, grant_from_header=grant_from_header,
            policy=policy, enforce=enforce, windows=windows, rollback_on=rollback_on, dialect=dialect, force=force,
            append=append,
            redact=redact or [], redact_unread=redact_unread, tools_out=tools_out))


def run(*, command: list[str], output: str, upstream: Optional[str] = None, listen: str = "127.0.0.1:8808",
        header: list[str] = (), env: list[str] = (), inherit_env: bool = False,  # type: ignore[assignment]
        grant: str = "default", grant_from_header: Optional[str] = None, policy: Optional[str] = None,
        enforce: bool = False, windows: str = "fixed", rollback_on: str = "jsonrpc_error",
        dialect: Optional[str] = None, force: bool = False,
        append: bool = False,
        redact: list[str] = (), redact_unread: bool = False,  # type: ignore[assignment]
        tools_out: Optional[str] = None) -> int:
    import os

    from policyctl.cli.common import err
    from policyctl.errors import UsageError
    from policyctl.mcp.proxy.record import RecordConfig, record
    from policyctl.reporters.record.text import render

    if bool(command) == bool(upstream):
        raise UsageError("give exactly one server: -- CMD ARGS... (stdio) or --upstream URL (streamable HTTP)")
    if enforce and not policy:
        raise UsageError("--enforce needs --policy FILE")
    if redact_unread and not policy:
        raise UsageError("--redact-unread needs --policy FILE (it keeps what the policy reads)")
    if windows not in ("fixed", "sliding"):
        raise UsageError(f"--windows {windows!r}: expected fixed or sliding")
    from policyctl.policy.dialects import check_dialect, check_rollback_on

    check_dialect(dialect)
    check_rollback_on(rollback_on)
    if force and append:
        raise UsageError("--force and --append cannot be used together")
    if output == "-":
        raise UsageError("-o -: the trace must be a file (stdout carries the MCP session)")
    if command and (header or grant_from_header):
        raise UsageError("--header and --grant-from-header go with --upstream URL")
    if upstream and (env or inherit_env):
        raise UsageError("--env and --inherit-env go with -- CMD ARGS...")
    pairs: dict[str, str] = dict(os.environ) if inherit_env else {}
    for item in env:
        key, sep, value = item.partition("=")
        if not _ENV_NAME.fullmatch(key):
            raise UsageError(f"--env {key!r}: expected NAME=VALUE or NAME")
        if not sep:  # NAME alone: pass our own value on (a token the MCP client gave us)
            if key not in os.environ:
                raise UsageError(f"--env {key}: not set in policyctl's environment")
            value = os.environ[key]
        pairs[key] = value
    headers = []
    if header:
        from policyctl.mcp.http import parse_header

        headers = [parse_header(h) for h in header]
    keys = frozenset(k.strip() for item in redact for k in item.split(",") if k.strip())
    if redact and not keys:
        raise UsageError("--redact: give argument keys, comma-separated")
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise UsageError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8808")
    if upstream:
        from policyctl.mcp.http import check_url

        check_url(upstream, "--upstream")
    config = RecordConfig(output=output, command=tuple(command), env=pairs, upstream=upstream,
                          headers=tuple(headers), listen=(host.strip("[]"), int(port)), grant=grant,
                          grant_header=grant_from_header, policy=policy, enforce=enforce, windows=windows,
                          rollback_on=rollback_on, dialect=dialect,
                          force=force, append=append, redact=keys, redact_unread=redact_unread,
                          tools_out=tools_out)

    def ready(url: str) -> None:
        err(f"policyctl record: serving {url} (relaying to {upstream}); stop with Ctrl-C")

    result = record(config, notify=lambda m: err(f"policyctl record: {m}"), ready=ready)
    err(render(result, policy=policy is not None, enforce=enforce).rstrip("\n"))
    return result.exit_status
