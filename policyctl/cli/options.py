"""Option types that several commands share (declared once, so their names and help agree)."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from policyctl.cli.common import TRACE_FORMAT_HELP

# The options simulate, explain and diff share to read a trace of any source (issue 10).
TraceFormatOpt = Annotated[str, typer.Option("--trace-format", metavar="FORMAT", help=TRACE_FORMAT_HELP)]
ServerFilterOpt = Annotated[Optional[List[str]], typer.Option(
    "--server", metavar="NAME", help="Replay only this MCP server's calls (repeatable).")]
GrantFromOpt = Annotated[Optional[str], typer.Option(
    "--grant-from", metavar="const:NAME|session|project|agent",
    help="Grant of imported calls (default const:default).")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", metavar="TIME", help="Replay calls at or after TIME.")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", metavar="TIME", help="Replay calls before TIME.")]
# Which dialect a policy is read as (default: recognised from its content: rules under a tool, a "*"
# tool, rate_limit or state mean Intercept).
DialectOpt = Annotated[Optional[str], typer.Option(
    "--dialect", metavar="policylayer|intercept", show_default=False,
    help="Read the policy as this dialect (default: recognised from its content).")]
# Intercept: which upstream failures give a call's counter reservations back (v1.1.0: JSON-RPC errors only).
RollbackOpt = Annotated[str, typer.Option(
    "--rollback-on", metavar="jsonrpc_error|any",
    help="Intercept policies: release a call's reservations on a JSON-RPC error only (v1.1.0), "
         "or also on a result with isError (later releases).")]
