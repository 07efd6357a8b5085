"""`policyctl simulate TRACE --policy FILE`: flags → trace replay → reporter → exit code."""

from __future__ import annotations

import os
from typing import Any, List, Optional

import typer

from policyctl.cli.options import (
    DialectOpt,
    GrantFromOpt,
    RollbackOpt,
    ServerFilterOpt,
    SinceOpt,
    TraceFormatOpt,
    UntilOpt,
)

_FORMATS = ("text", "json", "jsonl")
_WINDOWS = ("fixed", "sliding")

_HELP = """Replay a trace of tool calls through a policy: allow, deny, hidden or rate-limited, per call.

TRACE is a JSON Lines file (- for stdin): plain records {"ts", "tool", "args", "grant", ...} or
recorded MCP messages {"ts", "grant", "message": {JSON-RPC tools/call}}. With --trace-format (or
when the first lines show it), TRACE may also be what agents recorded themselves: Claude Code or
Codex sessions, Claude Desktop MCP logs, OTLP/JSON traces or a JSON-RPC capture, files or folders. Lines may state
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
        trace_format: TraceFormatOpt = "auto",
        server: ServerFilterOpt = None,
        grant_from: GrantFromOpt = None,
        since: SinceOpt = None,
        until: UntilOpt = None,
        rollback_on: RollbackOpt = "jsonrpc_error",
        dialect: DialectOpt = None,
        report: Optional[str] = typer.Option(None, "--report", metavar="FILE.html",
                                             help="Also write a self-contained HTML page: limit buckets over time, "
                                                  "window-edge bursts, calls per tool over time, denying rules."),
        force: bool = typer.Option(False, "--force", help="Let --report replace an existing file."),
    ) -> None:
        raise typer.Exit(run(trace, policy=policy, fmt=fmt, output=output, windows=windows, junit=junit,
                             skip_invalid=skip_invalid, show_args=show_args, coverage=coverage,
                             min_coverage=min_coverage, trace_format=trace_format, servers=server,
                             grant_from=grant_from, since=since, until=until,
                             rollback_on=rollback_on, report=report, force=force, dialect=dialect))


def run(trace: str, *, policy: str, fmt: str = "text", output: Optional[str] = None, windows: str = "fixed",
        junit: Optional[str] = None, skip_invalid: bool = False, show_args: bool = False, coverage: bool = False,
        min_coverage: Optional[float] = None, trace_format: str = "auto", servers: Optional[List[str]] = None,
        grant_from: Optional[str] = None, since: Optional[str] = None, until: Optional[str] = None,
        rollback_on: str = "jsonrpc_error", dialect: Optional[str] = None,
        report: Optional[str] = None, force: bool = False) -> int:
    """The command's body: check flags, load, replay, render, gate."""
    from policyctl.cli.common import report_import, trace_input
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
    if junit == "-":
        raise UsageError("--junit: give a file name (stdout carries the report)")
    from policyctl.files import check_outputs

    check_outputs([("--output", output), ("--junit", junit), ("--report", report)], [trace, policy])
    if report == "-":
        raise UsageError("--report: give a file name (stdout carries the report)")
    if report is not None and not force:  # a page is never replaced without --force
        check_outputs([("--report", report)], [], force=False)

    from policyctl.cli.common import emit, err
    from policyctl.files import OutputFile, display_name, write_output
    from policyctl.policy.load import load_policy
    from policyctl.reporters.simulate.progress import progress
    from policyctl.simulate.run import run as simulate_run

    ti = trace_input(trace, trace_format, servers, grant_from, since, until)
    loaded = load_policy(policy, dialect=dialect).with_rollback(rollback_on)
    loaded.check_windows(windows)
    name = display_name(trace)
    total = _size(trace) if ti.format == "policyctl" else None

    cases: list[Any] = []
    unchecked: list[tuple[int, str]] = []
    failed_args: dict[int, dict] = {}
    sinks = []
    stream = None
    if fmt == "jsonl":
        from policyctl.reporters.simulate.jsonl import line as jsonl_line

        stream = OutputFile(output)
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
            result = simulate_run(loaded.subject, trace, windows=windows, skip_invalid=skip_invalid,
                                  on_call=on_call, progress=advance, coverage=coverage, trace_input=ti,
                                  report=report is not None,
                                  on_unchecked=(lambda line, message: unchecked.append((line, message)))
                                  if junit is not None else None)
    except BaseException:
        if stream is not None:
            stream.abort()
        raise
    if ti.summary is not None:
        report_import(ti)
    else:
        _warnings(result.stats, name, err)

    if stream is not None:
        stream.commit()
    elif fmt == "json":
        from policyctl.reporters.simulate.json import render as render_json

        emit(output, lambda colour: render_json(result))
    else:
        from policyctl.reporters.simulate.text import render as render_text

        emit(output, lambda colour: render_text(result, trace=name, policy=loaded.path, show_args=show_args,
                                                position=loaded.document.position, args_of=failed_args,
                                                color=colour))
    if report is not None:
        from policyctl.reporters.html.simulate import render as render_html

        write_output(report, render_html(result, trace=name, policy=loaded.path,
                                         position=loaded.document.position), force=force)
    if junit is not None:
        from policyctl.reporters.simulate.junit import render as render_junit

        write_output(junit, render_junit(name, cases, unchecked))
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
