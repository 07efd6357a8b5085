"""`policyctl import SOURCE [PATH…]`: flags → importer → JSONL records (stdout or -o) → summary."""

from __future__ import annotations

from typing import List, Optional

import typer

_HELP = """Turn the tool calls your agents already made into a replayable trace (SPEC §3 plain records).

SOURCE is claude-code (session transcripts; default ~/.claude/projects), codex (rollouts,
.jsonl and .jsonl.zst; default ~/.codex/sessions and ~/.codex/archived_sessions), claude-desktop
(mcp*.log files), otlp (OTLP/JSON trace files) or jsonrpc (a raw capture of JSON-RPC messages
{"ts", "direction", "message"}). PATH is a file or a folder (searched recursively).

Records are written in timestamp order, one call per id (a resumed or forked session copies
history: the earliest copy is kept). A summary goes to stderr.

Exit status: 0 imported (invalid lines are counted and reported, not fatal); 2 usage error,
nothing readable, or refusing to overwrite; 3 internal error.
"""


def register(app: typer.Typer) -> None:
    @app.command("import", help=_HELP, short_help="Import recorded agent tool calls as a trace.",
                 no_args_is_help=True)
    def import_(
        source: str = typer.Argument(..., metavar="SOURCE", show_default=False,
                                     help="claude-code, codex, claude-desktop, otlp or jsonrpc."),
        paths: Optional[List[str]] = typer.Argument(None, metavar="PATH", show_default=False,
                                                    help="Files or folders (default: the source's usual folder)."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write the trace to FILE (atomically) instead of stdout."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing --output file."),
        server: Optional[List[str]] = typer.Option(None, "--server", metavar="NAME",
                                                   help="Keep only this MCP server's calls (repeatable)."),
        grant_from: str = typer.Option("const:default", "--grant-from", metavar="const:NAME|session|project|agent",
                                       help="What becomes each record's grant (the rate-limit scope key)."),
        since: Optional[str] = typer.Option(None, "--since", metavar="TIME",
                                            help="Keep calls at or after TIME (RFC 3339, a date, or epoch seconds)."),
        until: Optional[str] = typer.Option(None, "--until", metavar="TIME",
                                            help="Keep calls before TIME."),
        known_servers: Optional[List[str]] = typer.Option(
            None, "--known-servers", metavar="NAMES",
            help="Server names that contain '__' (comma-separated, repeatable); the MCP client "
                 "configuration is read too."),
        include_not_executed: bool = typer.Option(False, "--include-not-executed",
                                                  help='Keep calls that never ran, marked "executed": false.'),
        keep_bad_args: bool = typer.Option(False, "--keep-bad-args",
                                           help='Keep calls whose arguments are not a JSON object, with "args": {}.'),
    ) -> None:
        raise typer.Exit(run(source, paths or [], output=output, force=force, servers=server or [],
                             grant_from=grant_from, since=since, until=until, known_servers=known_servers or [],
                             include_not_executed=include_not_executed, keep_bad_args=keep_bad_args))


def run(source: str, paths: list[str], *, output: Optional[str] = None, force: bool = False,
        servers: list[str] = (), grant_from: str = "const:default", since: Optional[str] = None,  # type: ignore[assignment]
        until: Optional[str] = None, known_servers: list[str] = (),  # type: ignore[assignment]
        include_not_executed: bool = False, keep_bad_args: bool = False) -> int:
    """The command's body: check flags, import, write, summarise."""
    from policyctl.cli.common import err
    from policyctl.errors import InputError
    from policyctl.reporters.import_.progress import progress
    from policyctl.reporters.import_.summary import lines, warnings
    from policyctl.traces.importers import ImportSummary, import_calls, source_module
    from policyctl.traces.replay import build_options
    from policyctl.traces.writer import TraceWriter

    source_module(source)  # unknown source: usage error before anything else
    options = build_options(servers=servers, grant_from=grant_from, since=since, until=until,
                            known_servers=known_servers, include_not_executed=include_not_executed,
                            keep_bad_args=keep_bad_args)
    summary = ImportSummary()
    writer = TraceWriter(output, force=force, inputs=paths)
    try:
        with progress(f"importing {source}") as advance:
            for call, _path in import_calls(source, paths, options, summary, summary.warnings.append, advance):
                writer.write(call.record())
        if summary.files_read == 0:
            raise InputError(f"{source}: no files to read"
                             + (f" ({'; '.join(summary.warnings)})" if summary.warnings else ""))
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    for line in warnings(summary):
        err(line)
    for line in lines(summary, output=None if output in (None, "-") else output):
        err(line)
    return 0
