"""`policyctl schema`: print (or write) the JSON Schema of a policy dialect, for editors and CI."""

from __future__ import annotations

from typing import Optional

import typer

_HELP = """Print the JSON Schema (draft 2020-12) of a policy dialect.

Editors that understand JSON Schema (VS Code with the YAML extension, JetBrains IDEs) use it for
completion and help: write it next to your policies with -o, then point a
`# yaml-language-server: $schema=<path>` line (or your editor's settings) at that file."""


def register(app: typer.Typer) -> None:
    @app.command("schema", help=_HELP, short_help="Print the JSON Schema of a policy dialect.")
    def schema(
        dialect: str = typer.Option("policylayer", "--dialect", metavar="policylayer|intercept",
                                    help="Which dialect's schema."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write to FILE (atomically) instead of stdout."),
        force: bool = typer.Option(False, "--force", help="Replace --output if it exists."),
    ) -> None:
        from policyctl.cli.common import emit
        from policyctl.documents.schema import schema_text
        from policyctl.policy.dialects import check_dialect

        check_dialect(dialect)
        from policyctl.files import check_outputs

        check_outputs([("--output", output)], [], force=force)
        text = schema_text(dialect)
        emit(output, lambda colour: text, force=force)
        raise typer.Exit(0)
