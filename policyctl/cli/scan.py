"""`policyctl scan SOURCE`: read a server's tools, classify each, print a table or the JSON snapshot.

SOURCE is one of ``--server NAME`` (catalog, or a server in an MCP client configuration file),
``--from FILE|-``, ``--url URL [--header 'Name: value']…`` or ``-- CMD ARGS…`` (stdio). The same
source options serve ``policyctl init``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer

if TYPE_CHECKING:
    from policyctl.scan.sources import Acquired, SourceSpec

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_TIMEOUT = 3600.0

SOURCE_HELP = """SOURCE is exactly one of: --server NAME (built-in catalog, or a server named in a Claude
Desktop / Cursor / VS Code / Claude Code configuration; catalog:NAME or config:NAME choose), --from
FILE (a snapshot, a JSON-RPC tools/list response, {"tools": [...]} or an array of tools; - is stdin),
--url URL (streamable HTTP), or -- CMD ARGS... (a server spawned over stdio with a minimal
environment)."""
SOURCE_HELP = " ".join(SOURCE_HELP.split())  # one paragraph: the help renderer keeps hard line breaks


# The source flags, shared by ``scan`` and ``init`` (typer reads them from the annotations).
CommandArg = Annotated[Optional[List[str]], typer.Argument(
    metavar="-- CMD ARGS", show_default=False, help="Server command to spawn over stdio (after --).")]
ServerOpt = Annotated[Optional[str], typer.Option("--server", metavar="NAME", help="Catalog or configured server.")]
FromOpt = Annotated[Optional[str], typer.Option("--from", metavar="FILE", help="Saved tool list (- for stdin).")]
UrlOpt = Annotated[Optional[str], typer.Option("--url", metavar="URL", help="Streamable-HTTP MCP endpoint.")]
HeaderOpt = Annotated[Optional[List[str]], typer.Option(
    "--header", "-H", metavar="'NAME: VALUE'", help="HTTP header for --url (repeatable).")]
EnvOpt = Annotated[Optional[List[str]], typer.Option(
    "--env", "-e", metavar="NAME=VALUE", help="Extra environment variable for a stdio server (repeatable).")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="Per-request timeout.")]


def source_options(server: Optional[str], from_: Optional[str], url: Optional[str],
                   command: Optional[List[str]], header: Optional[List[str]], env: Optional[List[str]],
                   timeout: float) -> "SourceSpec":
    """Flags → SourceSpec, with every misuse a UsageError (exit 2)."""
    from policyctl.errors import UsageError
    from policyctl.scan.sources import SourceSpec

    command = list(command or [])
    given = [name for name, value in (("--server", server), ("--from", from_), ("--url", url),
                                      ("-- CMD", command or None)) if value is not None]
    if len(given) != 1:
        what = "no source given" if not given else f"more than one source given ({', '.join(given)})"
        raise UsageError(f"{what}: use exactly one of --server NAME, --from FILE, --url URL or -- CMD ARGS...")
    if header and not (url or server):
        raise UsageError("--header goes with --url (or --server NAME for a configured remote server)")
    if env and not (command or server):
        raise UsageError("--env goes with -- CMD ARGS... (or --server NAME for a configured stdio server)")
    if not (0 < timeout <= MAX_TIMEOUT):
        raise UsageError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    headers = []
    if header:
        from policyctl.mcp.http import parse_header

        headers = [parse_header(h) for h in header]
    pairs = []
    for item in env or []:
        key, sep, value = item.partition("=")
        if not sep or not _ENV_NAME.fullmatch(key):
            raise UsageError(f"--env {item.split('=')[0]!r}: expected NAME=VALUE")
        pairs.append((key, value))
    return SourceSpec(server=server, file=from_, url=url, command=tuple(command), headers=tuple(headers),
                      env=tuple(pairs), timeout=timeout)


def acquire_and_warn(spec: "SourceSpec") -> "Acquired":
    """Read the source; its warnings and notes go to stderr."""
    from policyctl.cli.common import err
    from policyctl.scan.sources import acquire

    acquired = acquire(spec)
    for note in acquired.notes:
        err(note)
    for warning in acquired.snapshot.warnings:
        err(f"warning: {warning}")
    return acquired


def register(app: typer.Typer) -> None:
    @app.command("scan", help="Read an MCP server's tools and classify each by risk.\n\n" + SOURCE_HELP)
    def scan(
        command: CommandArg = None,
        server: ServerOpt = None,
        from_: FromOpt = None,
        url: UrlOpt = None,
        header: HeaderOpt = None,
        env: EnvOpt = None,
        timeout: TimeoutOpt = 30.0,
        fmt: str = typer.Option("text", "--format", "-f", metavar="text|json", help="Output format."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write to FILE (atomically) instead of stdout."),
    ) -> None:
        from policyctl.cli.common import emit
        from policyctl.errors import UsageError

        if fmt not in ("text", "json"):
            raise UsageError(f"--format {fmt!r}: choose text or json")
        spec = source_options(server, from_, url, command, header, env, timeout)
        from policyctl.files import check_outputs

        check_outputs([("--output", output)], [from_])
        acquired = acquire_and_warn(spec)

        from policyctl.scan.risk import classify_snapshot

        risks = classify_snapshot(acquired.snapshot, acquired.vetted)
        if fmt == "json":
            from policyctl.reporters.scan import json as scan_json

            emit(output, lambda colour: scan_json.render(acquired.snapshot, risks))
        else:
            from policyctl.reporters.scan import text as scan_text

            emit(output, lambda colour: scan_text.render(acquired.snapshot, risks, color=colour))
