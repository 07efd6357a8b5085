"""`policyctl init SOURCE`: write a starter policy (default deny, one template per risk category).

The output always passes ``policyctl lint``; YAML carries a comment per tool (category, rationale)
and a ``yaml-language-server`` schema line. ``--output`` is written atomically and never replaces an
existing file without ``--force``.
"""

from __future__ import annotations

from typing import List, Optional

import typer

from policyctl.cli.scan import (SOURCE_HELP, CommandArg, EnvOpt, FromOpt, HeaderOpt, ServerOpt,
                                TimeoutOpt, UrlOpt)


def _format_for(fmt: Optional[str], output: Optional[str]) -> str:
    from policyctl.errors import UsageError

    if fmt is None:
        lowered = (output or "").lower()
        return "yaml" if lowered.endswith((".yaml", ".yml")) else "json"
    if fmt not in ("json", "yaml"):
        raise UsageError(f"--format {fmt!r}: choose json or yaml")
    if fmt == "yaml" and (output or "").lower().endswith(".json"):
        raise UsageError(f"--format yaml: lint reads files ending in .json as JSON, so {output} would "
                         "not lint; name it .yaml or use --format json")
    return fmt


def register(app: typer.Typer) -> None:
    @app.command("init", help="Write a starter policy for an MCP server's tools.\n\n" + SOURCE_HELP
                 + "\n\nThe format defaults to yaml when --output ends in .yaml/.yml, else json.")
    def init_(
        command: CommandArg = None,
        server: ServerOpt = None,
        from_: FromOpt = None,
        url: UrlOpt = None,
        header: HeaderOpt = None,
        env: EnvOpt = None,
        timeout: TimeoutOpt = 30.0,
        fmt: Optional[str] = typer.Option(None, "--format", "-f", metavar="json|yaml", show_default=False,
                                          help="Output format (default: from --output's extension, else json)."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write the policy to FILE (atomically)."),
        force: bool = typer.Option(False, "--force", help="Replace --output if it exists."),
    ) -> None:
        from policyctl.cli.common import emit, err
        from policyctl.cli.scan import acquire_and_warn, source_options

        chosen = _format_for(fmt, output)
        spec = source_options(server, from_, url, command, header, env, timeout)
        from policyctl.files import check_outputs

        # fail before a possibly slow scan; the write itself never replaces a file without --force
        check_outputs([("--output", output)], [from_], force=force)
        acquired = acquire_and_warn(spec)

        from policyctl.scan.risk import classify_snapshot
        from policyctl.scan.starter import build_starter, check_starter

        risks = classify_snapshot(acquired.snapshot, acquired.vetted)
        starter = build_starter(acquired.snapshot, risks)
        check_starter(starter)
        if chosen == "yaml":
            from policyctl.reporters.init import yaml as init_yaml
            from policyctl.scan.starter import schema_id

            text = init_yaml.render(starter, schema_id())
        else:
            from policyctl.reporters.init import json as init_json

            text = init_json.render(starter)
        emit(output, lambda colour: text, force=force)
        if starter.review:
            from policyctl.reporters.lint import printable

            err(f"review: {len(starter.review)} tool(s) need a look before this policy is used:")
            for entry in starter.review:
                err(f"  {printable(entry.tool)[:120]}: {entry.note}")
        if not acquired.snapshot.tools:
            err("note: the server lists no tools; the policy denies everything")
