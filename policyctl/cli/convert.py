"""`policyctl convert FILE --to policylayer|intercept`: the same policy in the other dialect, or
(exit 1, nothing written) the list of constructs that have no exact form there."""

from __future__ import annotations

from typing import Optional

import typer

from policyctl.cli.options import DialectOpt

_HELP = """Convert a policy between the PolicyLayer (JSON) and Intercept (YAML) dialects.

The conversion is exact or it does not happen: the converted policy decides every call as the
original does (allow or deny, and why). Constructs with no exact form in the other dialect are
listed with their position and the reason, nothing is written, and the exit code is 1. Rule ids
and messages are mapped as docs/convert.md describes."""


def register(app: typer.Typer) -> None:
    @app.command("convert", help=_HELP, short_help="Convert a policy between PolicyLayer and Intercept.")
    def convert(
        file: str = typer.Argument(..., metavar="FILE", show_default=False,
                                   help="The policy to convert (- for stdin)."),
        to: str = typer.Option(..., "--to", metavar="policylayer|intercept", help="The dialect to write."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write to FILE (atomically) instead of stdout."),
        force: bool = typer.Option(False, "--force", help="Replace --output if it exists."),
        dialect: DialectOpt = None,
    ) -> None:
        from policyctl.cli.common import emit, err
        from policyctl.convert import check_target, verify
        from policyctl.convert import convert as run_convert
        from policyctl.errors import UsageError
        from policyctl.exitcodes import ExitCode
        from policyctl.files import check_outputs, display_name
        from policyctl.policy.load import load_policy
        from policyctl.reporters.convert import render, render_refusals

        check_target(to)  # before any file is read
        check_outputs([("--output", output)], [file], force=force)
        if to == "intercept" and (output or "").lower().endswith(".json"):
            raise UsageError(f"--output {output}: lint reads files ending in .json as JSON; name an Intercept "
                             "policy .yaml or .yml")
        loaded = load_policy(file, dialect=dialect)
        conversion = run_convert(loaded, to)
        name = display_name(file)
        if not conversion.ok:
            for line in render_refusals(conversion, name):
                err(line)
            raise typer.Exit(int(ExitCode.FINDINGS))
        text = render(conversion, name)
        limit = verify(text, name, to)
        if limit is not None:
            err(f"{name}: not converted: {limit}; nothing was written")
            raise typer.Exit(int(ExitCode.FINDINGS))
        emit(output, lambda colour: text, force=force)
        for note in conversion.notes:
            err(f"note: {note}")
        raise typer.Exit(0)
