"""`policyctl explain`: one call's evaluation, step by step, with positions in the policy."""

from __future__ import annotations

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

_FORMATS = ("text", "json")
_WINDOWS = ("fixed", "sliding")

_HELP = """Explain how a policy decides one call: every step, value and counter.

Pick the call from a trace (--trace FILE --line N; the earlier lines are replayed first so the
counters are exactly as the simulator had them) or give it directly (--call JSON, with --at TS
unless the JSON has "ts"; counters start empty). The output shows the hide check, the default,
each require/deny_if rule and condition with its result, each limit with the bucket count before
and after and when its window resets, and the decision with the rule id and its file:line:col in
the policy. Argument values are shown as their type unless --show-args.

Exit status: 0 explained; 2 usage error, unreadable input or an invalid policy; 3 internal error.
"""


def register(app: typer.Typer) -> None:
    @app.command("explain", help=_HELP, short_help="Explain how a policy decides one call.", no_args_is_help=True)
    def explain(
        policy: str = typer.Option(..., "--policy", "-p", metavar="FILE", show_default=False,
                                   help="The policy (JSON or YAML; - = stdin)."),
        trace: Optional[str] = typer.Option(None, "--trace", "-t", metavar="FILE",
                                            help="JSONL trace holding the call (- = stdin)."),
        line: Optional[str] = typer.Option(None, "--line", "-n", metavar="N",
                                           help="1-based line of the call in --trace (FILE:N for an imported source, "
                                                "as simulate's \"line\" shows it)."),
        call: Optional[str] = typer.Option(None, "--call", metavar="JSON",
                                           help='The call as JSON: {"tool", "args", "grant"} or an MCP record.'),
        at: Optional[str] = typer.Option(None, "--at", metavar="TS",
                                         help="Time of --call: RFC 3339 with Z or offset, or epoch seconds."),
        grant: Optional[str] = typer.Option(None, "--grant", metavar="GRANT",
                                            help='Grant of --call (default: the grant named "default").'),
        upstream_error: bool = typer.Option(False, "--upstream-error",
                                            help="Treat --call as failed upstream (its reservations are released)."),
        windows: str = typer.Option("fixed", "--windows", metavar="fixed|sliding", help="Rate-limit windows."),
        fmt: str = typer.Option("text", "--format", "-f", metavar="text|json", help="Output format."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write the explanation to FILE (atomically) instead of stdout."),
        show_args: bool = typer.Option(False, "--show-args", help="Show argument values (default: their type only)."),
        skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                          help="Skip invalid trace lines before --line instead of stopping."),
        trace_format: TraceFormatOpt = "auto",
        server: ServerFilterOpt = None,
        grant_from: GrantFromOpt = None,
        since: SinceOpt = None,
        until: UntilOpt = None,
        rollback_on: RollbackOpt = "jsonrpc_error",
        dialect: DialectOpt = None,
    ) -> None:
        raise typer.Exit(run(policy=policy, trace=trace, line=line, call=call, at=at, grant=grant,
                             upstream_error=upstream_error, windows=windows, fmt=fmt, output=output,
                             show_args=show_args, skip_invalid=skip_invalid, trace_format=trace_format,
                             servers=server, grant_from=grant_from, since=since, until=until,
                             rollback_on=rollback_on, dialect=dialect))


def run(*, policy: str, trace: Optional[str] = None, line: Optional[str | int] = None, call: Optional[str] = None,
        at: Optional[str] = None, grant: Optional[str] = None, upstream_error: bool = False,
        windows: str = "fixed", fmt: str = "text", output: Optional[str] = None, show_args: bool = False,
        skip_invalid: bool = False, trace_format: str = "auto", servers: Optional[List[str]] = None,
        grant_from: Optional[str] = None, since: Optional[str] = None, until: Optional[str] = None,
        rollback_on: str = "jsonrpc_error", dialect: Optional[str] = None) -> int:
    from policyctl.errors import UsageError

    if fmt not in _FORMATS:
        raise UsageError(f"--format: unknown format {fmt!r} (choose text or json)")
    if windows not in _WINDOWS:
        raise UsageError(f"--windows: unknown mode {windows!r} (choose fixed or sliding)")
    if (trace is None) == (call is None):
        raise UsageError("give either --trace FILE --line N, or --call JSON")
    ti = None
    if trace is not None:
        if line is None:
            raise UsageError("--trace needs --line N")
        from policyctl.cli.common import trace_input

        ti = trace_input(trace, trace_format, servers, grant_from, since, until)
        spec = _line_spec(line, imported=ti.format != "policyctl")
        for flag, value in (("--at", at), ("--grant", grant)):
            if value is not None:
                raise UsageError(f"{flag} only applies with --call")
        if upstream_error:
            raise UsageError("--upstream-error only applies with --call (a trace line says it itself)")
        if trace == "-" and policy == "-":
            raise UsageError("only one input can be read from stdin (-), not both --trace and --policy")
    elif line is not None:
        raise UsageError("--line only applies with --trace")
    from policyctl.files import check_outputs

    check_outputs([("--output", output)], [trace, policy])

    from policyctl.cli.common import emit
    from policyctl.engine.explain import explain_json_call, explain_trace_line
    from policyctl.engine.interpret import Interpreter
    from policyctl.files import display_name
    from policyctl.policy.load import load_policy

    loaded = load_policy(policy, dialect=dialect).with_rollback(rollback_on)
    loaded.check_windows(windows)
    ev = Interpreter(loaded.lowered, windows=windows)  # every dialect is explained through its program
    if ti is not None and trace is not None:
        ex, call_id = explain_trace_line(ev, ti, spec, skip_invalid)
        source = f"{display_name(trace)}:{spec}" if isinstance(spec, int) else str(ex.line)
        from policyctl.cli.common import report_import

        report_import(ti, summary=False)  # the replay stopped at the call: counts would be partial
    else:
        ex, call_id = explain_json_call(ev, call, at, grant, upstream_error)  # type: ignore[arg-type]
        source = None
    kw: dict[str, Any] = {"policy": loaded.path, "position": loaded.document.position, "show_args": show_args,
                          "call_id": call_id}
    if fmt == "json":
        from policyctl.reporters.explain.json import render as render_json

        emit(output, lambda colour: render_json(ex, **kw))
    else:
        from policyctl.reporters.explain.text import render as render_text

        emit(output, lambda colour: render_text(ex, source=source, color=colour, **kw))
    return 0


def _line_spec(raw: str | int, *, imported: bool) -> int | tuple[str, int]:
    """--line: N for a policyctl trace; FILE:N (as simulate's "line" shows it) for an imported source."""
    from policyctl.errors import UsageError

    text = str(raw).strip()
    if not imported:
        if not text.lstrip("-").isdigit():
            raise UsageError(f"--line: expected a line number, not {text!r}")
        n = int(text)
        if n < 1:
            raise UsageError(f"--line: must be 1 or more, not {n}")
        return n
    file, sep, num = text.rpartition(":")
    if not sep or not file or not num.isdigit() or int(num) < 1:
        raise UsageError(f"--line: an imported source needs FILE:N (the \"line\" simulate shows), not {text!r}")
    return file, int(num)
