"""What every command shares: the error → exit-code mapping, output destinations, stderr messages."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass

from policyctl.exitcodes import ExitCode


@dataclass
class _State:
    debug: bool = False

    def handle_exception(self, exc: BaseException) -> int:
        """Turn any exception that escaped a command into an exit code and one clear message."""
        from policyctl.errors import PolicyctlError

        if isinstance(exc, PolicyctlError):
            err(f"error: {exc.message}")
            for line in exc.details:
                err(line)
            if self.debug:
                traceback.print_exception(exc)
            return int(ExitCode.USAGE)
        if hasattr(exc, "exit_code") and hasattr(exc, "show"):  # click usage errors
            exc.show()  # type: ignore[attr-defined]
            return int(getattr(exc, "exit_code", ExitCode.USAGE))
        if type(exc).__name__ == "Exit" and hasattr(exc, "exit_code"):
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if type(exc).__name__ == "Abort" or isinstance(exc, KeyboardInterrupt):
            err("aborted")
            return 130
        if isinstance(exc, BrokenPipeError):
            return int(ExitCode.OK)
        if self.debug:
            traceback.print_exception(exc)
        else:
            err(f"internal error: {type(exc).__name__}: {exc}")
            err("this is a bug in policyctl; please report it (run again with --debug for the traceback)")
        return int(ExitCode.INTERNAL)


state = _State()


def err(message: str) -> None:
    """A line for the user on stderr (never on stdout: stdout carries the payload)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def emit(text: str, output: str | None, *, force: bool = True) -> None:
    """Send a rendered payload to stdout or, atomically, to ``--output``.

    Reports (lint, simulate, diff) overwrite their --output file as linters do; ``init`` passes
    ``force`` from its own flag so a policy is never clobbered by accident.
    """
    if output is None or output == "-":
        sys.stdout.write(text)
        if text and not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        return
    from policyctl.files import atomic_write_text

    atomic_write_text(output, text if text.endswith("\n") or not text else text + "\n", force=force)


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
