"""`policyctl init SOURCE`: write a starter policy (default deny, one template per risk category).

The output always passes ``policyctl lint``; YAML carries a comment per tool (category, rationale).
``--dialect intercept`` writes Intercept's YAML instead of PolicyLayer's. A ``yaml-language-server``
schema line is written only when it can resolve: ``--schema-url`` (the user's URL) or
``--write-schema`` (the schema file, linked by a relative path). ``--output`` and
``--write-schema`` are written atomically and never replace an existing file without ``--force``.
"""

from __future__ import annotations

from typing import Optional

import typer

from policyctl.cli.scan import SOURCE_HELP, CommandArg, EnvOpt, FromOpt, HeaderOpt, ServerOpt, TimeoutOpt, UrlOpt


def _format_for(fmt: Optional[str], output: Optional[str], dialect: str = "policylayer") -> str:
    from policyctl.errors import UsageError

    if dialect == "intercept":
        if fmt not in (None, "yaml"):
            raise UsageError(f"--format {fmt!r}: --dialect intercept writes YAML (its comments are the "
                             "scaffold's layout); use --format yaml or leave --format out")
        if (output or "").lower().endswith(".json"):
            raise UsageError(f"--dialect intercept writes YAML, and lint reads files ending in .json as JSON, "
                             f"so {output} would not lint; name it .yaml")
        return "yaml"
    if fmt is None:
        lowered = (output or "").lower()
        return "yaml" if lowered.endswith((".yaml", ".yml")) else "json"
    if fmt not in ("json", "yaml"):
        raise UsageError(f"--format {fmt!r}: choose json or yaml")
    if fmt == "yaml" and (output or "").lower().endswith(".json"):
        raise UsageError(f"--format yaml: lint reads files ending in .json as JSON, so {output} would "
                         "not lint; name it .yaml or use --format json")
    return fmt


def _schema_link(fmt: str, output: Optional[str], schema_url: Optional[str],
                 write_schema: Optional[str]) -> Optional[str]:
    """The modeline's target, or None (no modeline: policyctl serves no schema on the web)."""
    from policyctl.errors import UsageError
    from policyctl.files import is_stdout

    if schema_url is not None and write_schema is not None:
        raise UsageError("--schema-url and --write-schema: choose one (the YAML links to one schema)")
    if fmt == "json" and (schema_url is not None or write_schema is not None):
        flag = "--schema-url" if schema_url is not None else "--write-schema"
        raise UsageError(f"{flag}: JSON output has no comments and PolicyLayer's policy has no \"$schema\" key; "
                         "use --format yaml, or `policyctl schema -o FILE` and your editor's settings")
    if write_schema is not None and is_stdout(write_schema):
        raise UsageError("--write-schema -: name a file; the policy links to it by its path")
    from policyctl.scan.schema_link import relative_link, user_link

    if schema_url is not None:
        return user_link(schema_url)
    if write_schema is not None:
        return relative_link(write_schema, output)
    return None


def register(app: typer.Typer) -> None:
    @app.command("init", help="Write a starter policy for an MCP server's tools.\n\n" + SOURCE_HELP
                 + "\n\nThe format defaults to yaml when --output ends in .yaml/.yml, else json; --dialect intercept "
                 "always writes YAML.")
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
        force: bool = typer.Option(False, "--force", help="Replace --output (and --write-schema) if it exists."),
        dialect: str = typer.Option("policylayer", "--dialect", metavar="policylayer|intercept",
                                    help="Write PolicyLayer's policy (JSON or YAML) or Intercept's YAML."),
        schema_url: Optional[str] = typer.Option(
            None, "--schema-url", metavar="URL",
            help="Start the YAML with a yaml-language-server line pointing editors at URL (where you serve "
                 "the schema of `policyctl schema`)."),
        write_schema: Optional[str] = typer.Option(
            None, "--write-schema", metavar="FILE",
            help="Also write the dialect's JSON Schema to FILE (atomically) and link it from the YAML by a "
                 "relative path."),
    ) -> None:
        from policyctl.cli.common import err
        from policyctl.cli.scan import acquire_and_warn, source_options
        from policyctl.policy.dialects import check_dialect

        check_dialect(dialect)
        chosen = _format_for(fmt, output, dialect)
        link = _schema_link(chosen, output, schema_url, write_schema)
        spec = source_options(server, from_, url, command, header, env, timeout)
        from policyctl.files import check_outputs

        # fail before a possibly slow scan; the write itself never replaces a file without --force
        check_outputs([("--output", output), ("--write-schema", write_schema)], [from_], force=force)
        acquired = acquire_and_warn(spec)

        from policyctl.scan.risk import classify_snapshot

        risks = classify_snapshot(acquired.snapshot, acquired.vetted)
        if dialect == "intercept":
            from policyctl.reporters.init import intercept as init_intercept
            from policyctl.scan.intercept_starter import build_intercept_starter, check_intercept_starter

            starter = build_intercept_starter(acquired.snapshot, risks)
            check_intercept_starter(starter)
            text = init_intercept.render(starter, link)
        else:
            from policyctl.scan.starter import build_starter, check_starter

            starter = build_starter(acquired.snapshot, risks)
            check_starter(starter)
            if chosen == "yaml":
                from policyctl.reporters.init import yaml as init_yaml

                text = init_yaml.render(starter, link)
            else:
                from policyctl.reporters.init import json as init_json

                text = init_json.render(starter)
        from policyctl.documents.loader import MAX_DOCUMENT_BYTES

        size = len(text.encode("utf-8"))
        if size > MAX_DOCUMENT_BYTES:
            from policyctl.errors import InputError

            # the output must lint clean, and lint (like simulate) reads no policy over the limit
            raise InputError(f"the starter policy for {len(acquired.snapshot.tools)} tools would be {size} bytes, "
                             f"over the {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB a policy may be; nothing was "
                             "written (split the tool list" + (", or use --format json, which is smaller)"
                                                               if chosen == "yaml" and dialect != "intercept" else ")"))
        _write_policy_and_schema(output, text, write_schema, dialect, force)
        if starter.review:
            from policyctl.reporters.lint import printable

            err(f"review: {len(starter.review)} tool(s) need a look before this policy is used:")
            for entry in starter.review:
                err(f"  {printable(entry.tool)[:120]}: {entry.note}")
        if not acquired.snapshot.tools:
            err("note: the server lists no tools; the policy denies everything")


def _write_policy_and_schema(output: Optional[str], text: str, write_schema: Optional[str], dialect: str,
                             force: bool) -> None:
    """Both or neither: the policy goes to its temporary file (or a stream), then the schema is
    written, and only then is the policy's file put in place, so a policy never links to a schema
    file that is not there. When the policy cannot be finished (a full disk, a closed pipe), a schema
    file this run created is removed again."""
    import os

    from policyctl.files import OutputFile

    out = OutputFile(output, force=force)
    created = None
    try:
        out.write(text if text.endswith("\n") else text + "\n")
        if write_schema is not None:
            from policyctl.documents.schema import schema_text
            from policyctl.files import write_output

            existed = os.path.lexists(write_schema)
            write_output(write_schema, schema_text(dialect), force=force)
            created = None if existed else write_schema
        out.commit()
    except BaseException:
        out.abort()
        if created is not None:
            try:
                os.unlink(created)
            except OSError:
                pass
        raise
