"""`policyctl diff OLD NEW`: flags → structural diff (+ trace replay, + search) → reporter → exit code."""

from __future__ import annotations

from typing import List, Optional

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

_FORMATS = ("text", "json", "markdown")
_FAIL_ON = ("loosened", "any", "never")  # kept in step with differ.FAIL_ON
_WINDOWS = ("fixed", "sliding")

_HELP = (
    "Compare two versions of a policy: what changed, and whether it loosened or tightened.\n\n"
    "OLD and NEW are policy files (JSON or YAML, in any mix; one of them may be - for stdin), of either "
    "dialect (PolicyLayer or Intercept) or one of each. With --trace "
    "both versions replay the same recorded calls, each with its own counters, and every call whose "
    "decision, reason or rule changes is reported. With --search, generated call sequences look for one "
    "the versions decide differently, shrunk to a minimal ready-to-run trace.\n\n"
    "Exit status: 0 nothing to gate on; 1 the --fail-on gate tripped (default: anything loosened, that is a "
    "loosened change, a trace call that goes from deny to allow, or a loosening counterexample); 2 usage "
    "error, unreadable input or an invalid policy; 3 internal error."
)


def register(app: typer.Typer) -> None:
    @app.command("diff", help=_HELP, short_help="Compare two versions of a policy.", no_args_is_help=True)
    def diff(
        old: str = typer.Argument(..., metavar="OLD", show_default=False, help="The current policy."),
        new: str = typer.Argument(..., metavar="NEW", show_default=False, help="The proposed policy."),
        trace: Optional[str] = typer.Option(None, "--trace", "-t", metavar="TRACE",
                                            help="Replay this JSONL trace through both versions (- = stdin)."),
        fmt: str = typer.Option("text", "--format", "-f", metavar="text|json|markdown", help="Output format."),
        fail_on: str = typer.Option("loosened", "--fail-on", metavar="loosened|any|never",
                                    help="What makes the exit status 1."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write the report to FILE (atomically) instead of stdout."),
        windows: str = typer.Option("fixed", "--windows", metavar="fixed|sliding",
                                    help="Rate-limit windows: calendar-aligned or sliding."),
        search: bool = typer.Option(False, "--search",
                                    help="Search generated call sequences for a difference (hypothesis)."),
        search_budget: Optional[float] = typer.Option(None, "--search-budget", metavar="SECONDS",
                                                      help="Time bound of --search (default 10)."),
        seed: Optional[int] = typer.Option(None, "--seed", metavar="N", help="Seed of --search (default 0)."),
        tools: Optional[str] = typer.Option(None, "--tools", metavar="SNAPSHOT",
                                            help="Tool snapshot whose tools and input schemas --search also uses."),
        counterexample: Optional[str] = typer.Option(
            None, "--counterexample", metavar="FILE",
            help="Write the search's counterexample as a JSONL trace (the loosening one when there is one)."),
        show_args: bool = typer.Option(False, "--show-args",
                                       help="Show argument values of trace calls (default: keys only)."),
        skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                          help="Skip and count invalid trace lines instead of stopping."),
        trace_format: TraceFormatOpt = "auto",
        server: ServerFilterOpt = None,
        grant_from: GrantFromOpt = None,
        since: SinceOpt = None,
        until: UntilOpt = None,
        report_file: Optional[str] = typer.Option(None, "--report", metavar="FILE.html",
                                                  help="Also write a self-contained HTML page: changes, changed "
                                                       "calls over time and per tool, the first changed calls."),
        force: bool = typer.Option(False, "--force", help="Let --report replace an existing file."),
        rollback_on: RollbackOpt = "jsonrpc_error",
        dialect: DialectOpt = None,
    ) -> None:
        raise typer.Exit(run(old, new, trace=trace, fmt=fmt, fail_on=fail_on, output=output, windows=windows,
                             search=search, search_budget=search_budget, seed=seed, tools=tools,
                             counterexample=counterexample, show_args=show_args, skip_invalid=skip_invalid,
                             trace_format=trace_format, servers=server, grant_from=grant_from, since=since,
                             until=until,
                             report_file=report_file, force=force, rollback_on=rollback_on,
                             dialect=dialect))


def run(old: str, new: str, *, trace: Optional[str], fmt: str, fail_on: str, output: Optional[str],
        windows: str, search: bool, search_budget: Optional[float], seed: Optional[int],
        tools: Optional[str], counterexample: Optional[str], show_args: bool, skip_invalid: bool,
        trace_format: str = "auto", servers: Optional[List[str]] = None, grant_from: Optional[str] = None,
        since: Optional[str] = None, until: Optional[str] = None,
        report_file: Optional[str] = None, force: bool = False, rollback_on: str = "jsonrpc_error",
        dialect: Optional[str] = None) -> int:
    """The command's body: check flags, load, compare, render, gate."""
    from policyctl.errors import UsageError

    if fmt not in _FORMATS:
        raise UsageError(f"--format: unknown format {fmt!r} (choose from {', '.join(_FORMATS)})")
    if fail_on not in _FAIL_ON:
        raise UsageError(f"--fail-on: unknown value {fail_on!r} (choose from {', '.join(_FAIL_ON)})")
    if windows not in _WINDOWS:
        raise UsageError(f"--windows: unknown mode {windows!r} (choose fixed or sliding)")
    stdin_users = [name for name, v in (("OLD", old), ("NEW", new), ("--trace", trace), ("--tools", tools))
                   if v == "-"]
    if len(stdin_users) > 1:
        raise UsageError(f"only one input can be read from stdin (-), not {' and '.join(stdin_users)}")
    if not search:
        for flag, value in (("--search-budget", search_budget), ("--seed", seed), ("--tools", tools),
                            ("--counterexample", counterexample)):
            if value is not None:
                raise UsageError(f"{flag} only applies with --search")
    budget = 10.0 if search_budget is None else search_budget
    if not (0 < budget <= 3600):
        raise UsageError(f"--search-budget: must be more than 0 and at most 3600 seconds, not {budget:g}")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed: must be 0 or more, not {seed}")
    if counterexample == "-":
        raise UsageError("--counterexample: give a file name (stdout carries the report)")
    from policyctl.files import check_outputs

    check_outputs([("--output", output), ("--counterexample", counterexample), ("--report", report_file)],
                  [old, new, trace, tools])
    if report_file == "-":
        raise UsageError("--report: give a file name (stdout carries the report)")
    if report_file is not None and not force:  # a page is never replaced without --force
        check_outputs([("--report", report_file)], [], force=False)

    from policyctl.cli.common import emit, err
    from policyctl.diff.differ import DiffReport, behavior_diff_trace
    from policyctl.diff.ir_differ import diff_programs, side
    from policyctl.policy.load import load_policy

    ti = None
    if trace is not None:
        from policyctl.cli.common import trace_input

        ti = trace_input(trace, trace_format, servers, grant_from, since, until)
    elif servers or grant_from or since or until or trace_format != "auto":
        raise UsageError("--trace-format, --server, --grant-from, --since and --until apply to --trace")
    p_old = load_policy(old, dialect=dialect).with_rollback(rollback_on)
    p_new = load_policy(new, dialect=dialect).with_rollback(rollback_on)
    p_old.check_windows(windows)
    p_new.check_windows(windows)
    changes = diff_programs(side(p_old), side(p_new))

    behavior = None
    timeline = None
    if trace is not None:
        from policyctl.traces.reader import TraceStats

        stats = TraceStats()
        if report_file is not None:
            from policyctl.diff.report import ChangeTimeline

            timeline = ChangeTimeline()
        behavior = behavior_diff_trace(p_old.subject, p_new.subject, trace, windows=windows,
                                       skip_invalid=skip_invalid, stats=stats, trace_input=ti,
                                       observer=timeline)
        if ti is not None and ti.summary is not None:
            from policyctl.cli.common import report_import

            report_import(ti)
        else:
            _trace_warnings(stats, trace, err)

    result = None
    if search:
        snapshot_tools: tuple = ()
        if tools is not None:
            from policyctl.cli.common import load_tools_option

            snapshot_tools = tuple(load_tools_option(tools).tools)
        import sys

        if sys.stderr.isatty():
            err(f"searching for a difference (budget {budget:g} s, seed {seed or 0})...")
        try:
            import hypothesis  # noqa: F401 - a dependency, but an install may lack it
        except ImportError:
            raise UsageError("--search needs the hypothesis package (pip install hypothesis)") from None
        from policyctl.diff.search import search as run_search

        result = run_search(p_old.subject, p_new.subject, windows=windows, budget=budget, seed=seed or 0,
                            tools=snapshot_tools)

    report = DiffReport(p_old.path, p_new.path, changes, behavior, result, windows=windows,
                        show_args=show_args, fail_on=fail_on)
    emit(output, lambda colour: _render(fmt, report, colour=colour))
    if report_file is not None:
        from policyctl.files import write_output
        from policyctl.reporters.html.diff import render as render_html

        write_output(report_file, render_html(report, timeline=timeline, old_position=p_old.document.position,
                                              new_position=p_new.document.position), force=force)

    if counterexample is not None and result is not None:
        from policyctl.files import write_output

        if result.counterexamples:
            write_output(counterexample, result.counterexamples[0].to_jsonl())
            err(f"counterexample written to {counterexample}")
        else:
            err(f"no counterexample found; {counterexample} not written")

    from policyctl.exitcodes import for_findings

    return int(for_findings(report.failed()))


def _trace_warnings(stats, trace: str, err) -> None:  # stats: TraceStats
    from policyctl.files import display_name

    name = display_name(trace)
    if stats.invalid_lines:
        err(f"warning: {name}: skipped {stats.invalid_lines} invalid line{'s' if stats.invalid_lines != 1 else ''}")
        for message in stats.invalid_messages:
            err(f"  {message}")
    if stats.backwards:
        err(f"warning: {name}: timestamps go backwards on {stats.backwards} line"
            f"{'s' if stats.backwards != 1 else ''} (first: line {stats.first_backwards_line}); "
            "processed in file order")


def _render(fmt: str, report, *, colour: bool) -> str:  # report: DiffReport
    if fmt == "json":
        from policyctl.reporters.diff import json as diff_json

        return diff_json.render(report)
    if fmt == "markdown":
        from policyctl.reporters.diff import markdown as diff_markdown

        return diff_markdown.render(report)
    from policyctl.reporters.diff import text as diff_text

    return diff_text.render(report, color=colour)
