"""Command-line entry point.

Each command lives in its own module (flags → one core call → reporter → exit code). Command modules
import their core lazily inside the command function, so ``policyctl lint`` does not pay for the
simulator, the MCP client or rich tables it never uses. The typer application itself is
:mod:`policyctl.cli.app`; ``main`` imports it only when the command line needs it: the form a
pre-commit hook uses, ``policyctl lint FILE…`` with nothing but file names, runs the lint command
directly (typer's import is about half of that command's start-up).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from policyctl.cli.common import flush_stdout, state
from policyctl.exitcodes import ExitCode


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
    if os.environ.get("POLICYCTL_DEBUG"):
        state.debug = True
    args = sys.argv[1:] if argv is None else argv
    try:
        if _plain_lint(args):
            from policyctl.cli import lint as _lint

            code: Any = _lint.run(args[1:], fmt="text", output=None, fail_level=None, tools=None, config=None,
                                  select=(), ignore=(), dialect=None)
        else:
            code = _with_typer(args)
        flush_stdout()  # what was printed directly (--version, help) fails here, not at exit
    except SystemExit:  # typer.Exit inside standalone_mode=False surfaces here
        raise
    except BaseException as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        code = state.handle_exception(exc)
    if isinstance(code, int):
        sys.exit(int(code))
    sys.exit(int(ExitCode.OK))


def _plain_lint(args: list[str]) -> bool:
    """``lint`` followed by file or folder names only (what pre-commit passes): no option, no ``-``
    (stdin), no empty name — typer would hand exactly these to the command with every default."""
    return len(args) > 1 and args[0] == "lint" and all(a and not a.startswith("-") for a in args[1:])


def _with_typer(args: list[str]) -> Any:
    from policyctl.cli import typer_startup
    from policyctl.cli.app import app

    typer_startup.apply()
    # --debug is also accepted after the command name (before a bare "--").
    head = args[: args.index("--")] if "--" in args else args
    if "--debug" in head[1:]:
        state.debug = True
        i = args.index("--debug")
        args = args[:i] + args[i + 1:]
    return app(args=args, prog_name="policyctl", standalone_mode=False)
