"""What every command shares: the error → exit-code mapping, output destinations, stderr messages,
and the one colour decision."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from policyctl.files import OutputFile

from policyctl.exitcodes import ExitCode


@dataclass
class _State:
    debug: bool = False

    def handle_exception(self, exc: BaseException) -> int:
        """Turn any exception that escaped a command into an exit code and one clear message."""
        from policyctl.errors import OutputError, PolicyctlError

        if isinstance(exc, OutputError) and exc.stdout:
            detach_stdout()
        if isinstance(exc, PolicyctlError):
            err(f"error: {exc.message}")
            for line in exc.details:
                err(line)
            if self.debug:
                import traceback

                traceback.print_exception(exc)
            return int(ExitCode.USAGE)
        if hasattr(exc, "exit_code") and hasattr(exc, "show"):  # click usage errors
            exc.show()  # type: ignore[attr-defined]
            return int(getattr(exc, "exit_code", ExitCode.USAGE))
        if type(exc).__name__ == "Exit" and hasattr(exc, "exit_code"):
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, BrokenPipeError):  # stdout written outside emit (click's help, say)
            detach_stdout()
            err(f"error: cannot write standard output: {exc.strerror or exc}")
            return int(ExitCode.USAGE)
        if type(exc).__name__ == "Abort" or isinstance(exc, KeyboardInterrupt):
            err("aborted")
            return 130
        if self.debug:
            import traceback

            traceback.print_exception(exc)
        else:
            err(f"internal error: {type(exc).__name__}: {exc}")
            err("this is a bug in policyctl; please report it (run again with --debug for the traceback)")
        return int(ExitCode.INTERNAL)


state = _State()


def err(message: str) -> None:
    """A line for the user on stderr (never on stdout: stdout carries the payload).

    Every message goes through here, and many quote text policyctl does not control (tool names,
    descriptions and errors from an MCP server, file names), so each line is made printable with the
    reporters' helper: no control character, bidi override or DEL reaches the terminal raw.
    """
    from policyctl.reporters.lint import printable

    message = "\n".join(printable(line) for line in message.split("\n"))
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def colour_for(out: "OutputFile") -> bool:
    """The one colour decision, made for the stream actually written.

    Colour only on a terminal: never in a file (a temporary file is no terminal, whatever stdout
    is), never with ``NO_COLOR`` (any non-empty value, per no-color.org) or ``TERM=dumb``.
    ``FORCE_COLOR`` forces it on stdout only, so a forced pipeline still writes clean files.
    """
    if os.environ.get("NO_COLOR"):
        return False
    if out.is_stdout and os.environ.get("FORCE_COLOR"):
        return True
    return out.isatty() and os.environ.get("TERM") != "dumb"


def emit(output: Optional[str], render: Callable[[bool], str], *, force: bool = True) -> None:
    """Render a payload for its destination and write it there (stdout for None or ``-``).

    ``render(colour)`` gets the colour decision for the stream it will land in. The writing follows
    the output rule of ``policyctl.files`` (atomic files, streams in place, exit 2 on a write error).
    Reports (lint, simulate, diff) replace their --output file as linters do; ``init`` passes
    ``force`` from its own flag so a policy is never clobbered by accident.
    """
    from policyctl.files import OutputFile

    with OutputFile(output, force=force) as out:
        text = render(colour_for(out))
        out.write(text if not text or text.endswith("\n") else text + "\n")


def detach_stdout() -> None:
    """After stdout failed (full disk, closed pipe): point it at the null device, so the interpreter's
    final flush of what is still buffered neither fails again nor prints a second message."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def flush_stdout() -> None:
    """Flush what was printed directly (``--version``, help); a failure is an OutputError (exit 2)."""
    from policyctl.errors import OutputError
    from policyctl.files import STDOUT_NAME

    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as exc:
        raise OutputError(f"cannot write {STDOUT_NAME}: {exc.strerror or exc}", stdout=True) from None


def load_tools_option(path: str):  # -> policyctl.scan.snapshots.Snapshot
    """Load the snapshot named by ``--tools``; its errors say which option the file came from."""
    from policyctl.errors import InputError
    from policyctl.scan.snapshots import load_snapshot

    try:
        return load_snapshot(path)
    except InputError as exc:
        raise InputError(f"--tools: {exc.message}", details=exc.details) from None


TRACE_FORMAT_HELP = ("Format of TRACE: auto (from the first lines), policyctl, claude-code, codex, claude-desktop, "
                     "otlp or jsonrpc. Imported sources may be folders.")


def trace_input(trace: str, fmt: str, servers: list[str] | None, grant_from: str | None, since: str | None,
                until: str | None):  # -> policyctl.traces.replay.TraceInput
    """The trace to replay, from the shared --trace-format/--server/--grant-from/--since/--until flags."""
    from policyctl.errors import UsageError
    from policyctl.traces.replay import TraceInput

    ti = TraceInput(trace, fmt, servers=servers or [], grant_from=grant_from, since=since, until=until)
    if trace == "-" and ti.format != "policyctl":
        raise UsageError(f"--trace-format {ti.format}: reads files or folders, not stdin")
    return ti


def report_import(ti, *, summary: bool = True) -> None:  # ti: TraceInput
    """After replaying an imported source: its warnings and (``summary``) what it read, on stderr."""
    if ti.summary is None:
        return
    from policyctl.reporters.import_.summary import lines, warnings

    for line in warnings(ti.summary) + (lines(ti.summary) if summary else []):
        err(line)
