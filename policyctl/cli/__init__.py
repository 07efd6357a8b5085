"""Command-line entry point.

Each command lives in its own module (flags → one core call → reporter → exit code). Command modules
import their core lazily inside the command function, so ``policyctl lint`` does not pay for the
simulator, the MCP client or rich tables it never uses.
"""

from __future__ import annotations

import os
import sys

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
from policyctl.cli import typer_startup
from policyctl.cli.common import flush_stdout, state
from policyctl.exitcodes import ExitCode

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


class _ClosedStream:
    """Stands in for a standard stream whose descriptor was closed (``policyctl … >&-``).

    Python then sets ``sys.stdout``/``sys.stderr`` to None, and the first ``isatty()`` or ``write()``
    would be an AttributeError (exit 3). Writing the payload to a closed stdout is a usage error
    instead (``--output FILE`` still works); messages to a closed stderr are dropped, so the exit
    code survives.
    """

    encoding = "utf-8"

    def __init__(self, *, fail: bool) -> None:
        self._fail = fail

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("standard stream is closed")

    def write(self, text: str) -> int:
        if self._fail and text:
            from policyctl.errors import UsageError

            raise UsageError("standard output is closed; redirect it or use --output FILE")
        return len(text)

    def flush(self) -> None:
        pass


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; map every outcome to one of the four exit codes."""
    if sys.stderr is None:
        sys.stderr = _ClosedStream(fail=False)  # type: ignore[assignment]
    if sys.stdout is None:
        sys.stdout = _ClosedStream(fail=True)  # type: ignore[assignment]
    typer_startup.apply()
    if os.environ.get("POLICYCTL_DEBUG"):
        state.debug = True
    args = sys.argv[1:] if argv is None else argv
    # --debug is also accepted after the command name (before a bare "--").
    head = args[: args.index("--")] if "--" in args else args
    if "--debug" in head[1:]:
        state.debug = True
        i = args.index("--debug")
        args = args[:i] + args[i + 1:]
    try:
        code = app(args=args, prog_name="policyctl", standalone_mode=False)
        flush_stdout()  # what was printed directly (--version, help) fails here, not at exit
    except SystemExit:  # typer.Exit inside standalone_mode=False surfaces here
        raise
    except BaseException as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        code = state.handle_exception(exc)
    if isinstance(code, int):
        sys.exit(int(code))
    sys.exit(int(ExitCode.OK))
