"""The typer application: every command registered (imported by :func:`policyctl.cli.main` when
a command line needs it; ``policyctl lint FILE…`` does without, see ``main``)."""

from __future__ import annotations

import typer

from policyctl import __version__
from policyctl.cli import convert as _convert
from policyctl.cli import diff as _diff
from policyctl.cli import explain as _explain
from policyctl.cli import import_ as _import
from policyctl.cli import init as _init
from policyctl.cli import lint as _lint
from policyctl.cli import record as _record
from policyctl.cli import scan as _scan
from policyctl.cli import schema as _schema
from policyctl.cli import simulate as _simulate
from policyctl.cli.common import state

app = typer.Typer(
    name="policyctl",
    help="Lint, scaffold, simulate, diff and convert MCP tool-call policies (PolicyLayer and Intercept).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from policyctl.files import write_output

        write_output(None, f"policyctl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
) -> None:
    """Lint, scaffold, simulate, diff and convert MCP tool-call policies (PolicyLayer and Intercept)."""
    state.debug = debug or state.debug


_lint.register(app)
_init.register(app)
_scan.register(app)
_simulate.register(app)
_explain.register(app)
_diff.register(app)
_schema.register(app)
_import.register(app)
_record.register(app)
_convert.register(app)


