"""`policyctl simulate TRACE --policy FILE`: flags → trace replay → reporter → exit code."""

from __future__ import annotations

import os
from typing import Any, Optional

import typer

_FORMATS = ("text", "json", "jsonl")
_WINDOWS = ("fixed", "sliding")

_HELP = """Replay a trace of tool calls through a policy: allow, deny, hidden or rate-limited, per call.

TRACE is a JSON Lines file (- for stdin): plain records {"ts", "tool", "args", "grant", ...} or
recorded MCP messages {"ts", "grant", "message": {JSON-RPC tools/call}}. Lines may state
"expect" (allow, deny or a reason) and "expect_rule"; any mismatch fails the run, so a trace is a
regression test of the policy.

Exit status: 0 all expectations held; 1 an expectation failed (or coverage is below
--min-coverage); 2 usage error, unreadable input, an invalid trace line or an invalid policy;
3 internal error.
"""


def register(app: typer.Typer) -> None:
    @app.command("simulate", help=_HELP, short_help="Replay a trace of tool calls through a policy.",
                 no_args_is_help=True)
    def simulate(
        trace: str = typer.Argument(..., metavar="TRACE", show_default=False, help="JSONL trace (- = stdin)."),
        policy: str = typer.Option(..., "--policy", "-p", metavar="FILE", show_default=False,
                                   help="The policy (JSON or YAML; - = stdin)."),
        fmt: str = typer.Option("text", "--format", "-f", metavar="text|json|jsonl", help="Output format."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write the report to FILE (atomically) instead of stdout."),
        windows: str = typer.Option("fixed", "--windows", metavar="fixed|sliding",
                                    help="Rate-limit windows: calendar-aligned UTC (fixed) or an exact sliding log."),
        junit: Optional[str] = typer.Option(None, "--junit", metavar="FILE",
                                            help="Also write JUnit XML: one test case per call with an expectation."),
        skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                          help="Report, count and skip invalid trace lines instead of stopping."),
        show_args: bool = typer.Option(False, "--show-args",
                                       help="Show argument values (default: argument keys only; they carry secrets)."),
        coverage: bool = typer.Option(False, "--coverage",
                                      help="Report tools, rules, conditions and limits the trace never exercised."),
        min_coverage: Optional[float] = typer.Option(None, "--min-coverage", metavar="PCT",
                                                     help="Exit 1 when coverage is below PCT (implies --coverage)."),
        report: Optional[str] = typer.Option(None, "--report", metavar="FILE.html",
                                             help="Also write a self-contained HTML page: limit buckets over time, "
                                                  "window-edge bursts, calls per tool over time, denying rules."),
        force: bool = typer.Option(False, "--force", help="Let --report replace an existing file."),
    ) -> None:
        raise typer.Exit(run(trace, policy=policy, fmt=fmt, output=output, windows=windows, junit=junit,
                             skip_invalid=skip_invalid, show_args=show_args, coverage=coverage,
                             min_coverage=min_coverage, report=report, force=force))


def run(trace: str, *, policy: str, fmt: str = "text", output: Optional[str] = None, windows: str = "fixed",
        junit: Optional[str] = None, skip_invalid: bool = False, show_args: bool = False, coverage: bool = False,
        min_coverage: Optional[float] = None, report: Optional[str] = None, force: bool = False) -> int:
    """The command's body: check flags, load, replay, render, gate."""
    from policyctl.errors import UsageError

    if fmt not in _FORMATS:
        raise UsageError(f"--format: unknown format {fmt!r} (choose from {', '.join(_FORMATS)})")
    if windows not in _WINDOWS:
        raise UsageError(f"--windows: unknown mode {windows!r} (choose fixed or sliding)")
    if trace == "-" and policy == "-":
        raise UsageError("only one input can be read from stdin (-), not both TRACE and --policy")
    if min_coverage is not None:
        if not 0 <= min_coverage <= 100:
            raise UsageError(f"--min-coverage: must be between 0 and 100, not {min_coverage:g}")
        coverage = True
    for flag, target in (("--output", output), ("--junit", junit)):
        refuse_overwriting_inputs(flag, target, (trace, policy))
        _check_destination(target)
    if junit == "-":
        raise UsageError("--junit: give a file name (stdout carries the report)")
    if junit is not None and output is not None and output != "-" and \
            os.path.abspath(junit) == os.path.abspath(output):
        raise UsageError("--junit and --output name the same file")
    check_report_destination(report, (trace, policy), {"--output": output, "--junit": junit}, force)

    from policyctl.cli.common import emit, err
    from policyctl.files import display_name
    from policyctl.policy.load import load_policy
    from policyctl.reporters.simulate.progress import progress
    from policyctl.simulate.run import run as simulate_run

    loaded = load_policy(policy)
    name = display_name(trace)
    total = _size(trace)

    cases: list[Any] = []
    failed_args: dict[int, dict] = {}
    sinks = []
    stream = None
    if fmt == "jsonl":
        from policyctl.reporters.simulate.jsonl import line as jsonl_line

        stream = _Stream(output)
        sinks.append(lambda c: stream.write(jsonl_line(c, show_args=show_args)))
    if junit is not None:
        from dataclasses import replace

        sinks.append(lambda c: cases.append(replace(c, args={})) if c.ok is not None else None)
    if show_args and fmt == "text":
        def keep_args(c: Any) -> None:
            if c.ok is False and len(failed_args) < 1000:
                failed_args[c.line] = c.args

        sinks.append(keep_args)
    on_call = None
    if sinks:
        def on_call(c: Any) -> None:
            for sink in sinks:
                sink(c)

    try:
        with progress(total) as advance:
            result = simulate_run(loaded.policy, trace, windows=windows, skip_invalid=skip_invalid,
                                  on_call=on_call, progress=advance, coverage=coverage, report=report is not None)
    except BaseException:
        if stream is not None:
            stream.abort()
        raise
    _warnings(result.stats, name, err)

    if stream is not None:
        stream.commit()
    elif fmt == "json":
        from policyctl.reporters.simulate.json import render as render_json

        emit(render_json(result), output)
    else:
        from policyctl.reporters.simulate.text import render as render_text

        emit(render_text(result, trace=name, policy=loaded.path, show_args=show_args,
                         position=loaded.document.position, args_of=failed_args), output)
    if report is not None:
        from policyctl.files import atomic_write_text
        from policyctl.reporters.html.simulate import render as render_html

        atomic_write_text(report, render_html(result, trace=name, policy=loaded.path,
                                              position=loaded.document.position), force=force)
    if junit is not None:
        from policyctl.files import atomic_write_text
        from policyctl.reporters.simulate.junit import render as render_junit

        atomic_write_text(junit, render_junit(name, cases), force=True)
    if fmt == "jsonl" and result.failed:
        err(f"{result.failed} of {result.checked} expectations failed")
    if fmt != "text" and result.coverage is not None and min_coverage is not None:
        err(f"coverage {result.coverage.percent:g}% (minimum {min_coverage:g}%)")

    failed = result.failed > 0
    if min_coverage is not None and result.coverage is not None and result.coverage.percent < min_coverage:
        err(f"coverage {result.coverage.percent:g}% is below --min-coverage {min_coverage:g}%")
        failed = True
    from policyctl.exitcodes import for_findings

    return int(for_findings(failed))


def refuse_overwriting_inputs(flag: str, target: Optional[str], inputs: tuple[Optional[str], ...]) -> None:
    """UsageError when ``target`` is one of ``inputs`` — also through a symlink or a hard link."""
    if target is None or target == "-":
        return
    from policyctl.errors import UsageError

    real = os.path.realpath(target)
    for source in inputs:
        if source is None or source == "-":
            continue
        try:
            same = real == os.path.realpath(source) or os.path.samefile(target, source)
        except OSError:  # one of them does not exist (yet): only the path comparison applies
            same = False
        if same:
            raise UsageError(f"{flag} {target}: refusing to overwrite an input")


def check_report_destination(report: Optional[str], inputs: tuple[Optional[str], ...],
                             others: dict[str, Optional[str]], force: bool) -> None:
    """``--report FILE.html``: a file name, not an input, not another output, not an existing file
    unless ``--force`` — checked before the run, so a refused page costs no replay."""
    if report is None:
        return
    from policyctl.errors import OutputExistsError, UsageError

    if report == "-":
        raise UsageError("--report: give a file name (stdout carries the report)")
    refuse_overwriting_inputs("--report", report, inputs)
    for flag, other in others.items():
        if other is not None and other != "-" and os.path.abspath(other) == os.path.abspath(report):
            raise UsageError(f"--report and {flag} name the same file")
    _check_destination(report)
    if os.path.lexists(report) and not force:
        raise OutputExistsError(f"{report}: already exists (use --force to overwrite)")
    if os.path.exists(report):
        import stat

        if not stat.S_ISREG(os.stat(report).st_mode):
            raise UsageError(f"--report {report}: not a regular file; refusing to replace it")


def _check_destination(target: Optional[str]) -> None:
    """Fail before the run, not after it: a report file cannot be written into a missing folder or
    over a directory (and --junit failing late would leave --output written under a failed exit)."""
    if target is None or target == "-":
        return
    from pathlib import Path

    from policyctl.errors import InputError, OutputExistsError

    path = Path(target)
    if path.is_dir():
        raise OutputExistsError(f"{target}: is a directory")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{target}: folder {folder} does not exist")


def _size(path: str) -> int | None:
    if path == "-":
        return None
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _warnings(stats: Any, name: str, err: Any) -> None:
    if stats.invalid_lines:
        err(f"warning: {name}: skipped {stats.invalid_lines} invalid line{'s' if stats.invalid_lines != 1 else ''}")
        for message in stats.invalid_messages:
            err(f"  {message}")
        if stats.invalid_lines > len(stats.invalid_messages):
            err(f"  ... and {stats.invalid_lines - len(stats.invalid_messages)} more")
    if stats.backwards:
        err(f"warning: {name}: the timestamp went backwards on {stats.backwards} "
            f"line{'s' if stats.backwards != 1 else ''} (first at line {stats.first_backwards_line}); "
            "lines are evaluated in file order")


class _Stream:
    """jsonl output: buffered writes to stdout, or to a temporary file renamed over --output at the end
    (so a failed run never leaves a partial file)."""

    def __init__(self, output: Optional[str]) -> None:
        import sys

        self.buf: list[bytes] = []
        self.size = 0
        self.tmp: str | None = None
        if output is None or output == "-":
            self.fh = sys.stdout.buffer
            self.target = None
            return
        import tempfile
        from pathlib import Path

        from policyctl.errors import InputError, OutputExistsError

        target = Path(output)
        if target.is_dir():
            raise OutputExistsError(f"{target}: is a directory")
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise InputError(f"{target}: folder {folder} does not exist")
        fd, self.tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        if hasattr(os, "fchmod"):  # mkstemp's 0600 → the mode the other formats' files get
            from policyctl.files import _mode_for

            os.fchmod(fd, _mode_for(target))
        self.fh = os.fdopen(fd, "wb")
        self.target = target

    def write(self, data: bytes) -> None:
        self.buf.append(data)
        self.size += len(data)
        if self.size >= 1 << 16:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.fh.write(b"".join(self.buf))
            self.buf.clear()
            self.size = 0

    def commit(self) -> None:
        self.flush()
        self.fh.flush()
        if self.tmp is not None:
            os.fsync(self.fh.fileno())
            self.fh.close()
            os.replace(self.tmp, self.target)  # type: ignore[arg-type]
            self.tmp = None

    def abort(self) -> None:
        if self.tmp is not None:
            try:
                self.fh.close()
            finally:
                try:
                    os.unlink(self.tmp)
                except OSError:
                    pass
                self.tmp = None
        else:
            try:
                self.flush()
                self.fh.flush()
            except OSError:
                pass
