"""`policyctl lint PATH...`: flags → linter → reporter → exit code.

Pre-commit runs this on every commit, so start-up time is part of the product: nothing is imported
at module level (typer only in ``register``: ``policyctl lint FILE…`` calls ``run`` without it, see
:func:`policyctl.cli.main`), and the command imports only the core and the one reporter it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:
    import typer

    from policyctl.diagnostics import LintReport
    from policyctl.reporters.lint import RuleMeta

_FORMATS = ("text", "json", "sarif", "github", "junit")  # kept in step with reporters.lint_formats
_FAIL_LEVELS = ("error", "warning")

_HELP = """Check policy files against the JSON Schema and the semantic rules.

PATH is a file, a directory (searched for *.policy.json|yaml|yml and policy.json|yaml|yml), or -
for standard input. Exit status: 0 clean, 1 findings at or above the fail level, 2 usage error or
unreadable input, 3 internal error.
"""


def split_codes(values: Optional[List[str]], flag: str) -> tuple[str, ...]:
    """``--select PL101,PL102 --select PL2`` → ``("PL101", "PL102", "PL2")`` (order kept, no blanks).

    A value naming no rule at all (``--select=``, ``--select ,``) is a usage error: silently
    dropping it would turn ``--select=`` into "every rule", the opposite of what it looks like.
    """
    out: list[str] = []
    for value in values or ():
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts:
            from policyctl.errors import UsageError

            hint = " (to run every rule, leave out --select or use --select ALL)" if flag == "--select" else ""
            raise UsageError(f"{flag}: empty value {value!r}; name at least one rule code, prefix or name{hint}")
        out.extend(parts)
    return tuple(dict.fromkeys(out))


def register(app: "typer.Typer") -> None:
    import typer  # not at module level: ``policyctl lint FILE…`` runs ``run`` without typer

    @app.command("lint", help=_HELP, short_help="Check policy files against the schema and the rules.",
                 no_args_is_help=True)
    def lint(
        paths: List[str] = typer.Argument(..., metavar="PATH", show_default=False,
                                          help="Policy files, directories, or - for stdin."),
        fmt: str = typer.Option("text", "--format", "-f", metavar="text|json|sarif|github|junit",
                                help="Output format."),
        output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                             help="Write the report to FILE (atomically) instead of stdout."),
        fail_level: Optional[str] = typer.Option(
            None, "--fail-level", metavar="error|warning", show_default=False,
            help="Lowest severity that makes the exit status 1 (default: error, or the configuration's fail-level)."),
        tools: Optional[str] = typer.Option(
            None, "--tools", metavar="SNAPSHOT",
            help="Tool snapshot of the server (policyctl scan --format json); enables server-aware rules."),
        config: Optional[str] = typer.Option(
            None, "--config", metavar="FILE",
            help="Configuration file (default: .policyctl.yaml, or the tool.policyctl table of pyproject.toml, "
                 "found upward)."),
        select: Optional[List[str]] = typer.Option(
            None, "--select", metavar="CODES",
            help="Only report these rules (codes, code prefixes or names; comma-separated, repeatable). "
                 "PL001-PL004 (load errors) are always reported."),
        ignore: Optional[List[str]] = typer.Option(
            None, "--ignore", metavar="CODES",
            help="Do not report these rules (comma-separated, repeatable)."),
        dialect: Optional[str] = typer.Option(
            None, "--dialect", metavar="policylayer|intercept", show_default=False,
            help="Read every file as this dialect (default: recognised from each file's content)."),
    ) -> None:
        raise typer.Exit(run(paths, fmt=fmt, output=output, fail_level=fail_level, tools=tools,
                             config=config, select=split_codes(select, "--select"),
                             ignore=split_codes(ignore, "--ignore"), dialect=dialect))


def run(paths: List[str], *, fmt: str, output: Optional[str], fail_level: Optional[str],
        tools: Optional[str], config: Optional[str], select: tuple[str, ...],
        ignore: tuple[str, ...], dialect: Optional[str] = None) -> int:
    """The command's body, separate from typer so the flow reads top to bottom."""
    from policyctl.errors import UsageError
    from policyctl.exitcodes import for_findings

    if fmt not in _FORMATS:
        raise UsageError(f"--format: unknown format {fmt!r} (choose from {', '.join(_FORMATS)})")
    from policyctl.policy.dialects import check_dialect

    check_dialect(dialect)
    if fail_level is not None and fail_level not in _FAIL_LEVELS:
        raise UsageError(f"--fail-level: unknown level {fail_level!r} (choose error or warning)")
    if tools == "-" and "-" in paths:
        raise UsageError("only one input can be read from stdin (-): the --tools snapshot or a policy, not both")
    from policyctl.files import check_outputs, refuse_overwrite

    check_outputs([("--output", output)], [*paths, tools, config])

    from policyctl.lint.config import load_config
    from policyctl.lint.linter import lint as run_lint

    cfg = load_config(config).with_cli(select=select, ignore=ignore, fail_level=fail_level)
    snapshot = None
    if tools is not None:
        from policyctl.cli.common import err, load_tools_option

        snapshot = load_tools_option(tools)

        for warning in snapshot.warnings:
            err(f"warning: {warning}")

    report = run_lint(paths, config=cfg, tools=snapshot, dialect=dialect)
    if not report.files:
        from policyctl.cli.common import err

        # not an error (a pre-commit run or an empty folder is legitimate), but worth saying
        err(f"warning: no policy files found in {', '.join(paths)} "
            "(looked for *.policy.json|yaml|yml and policy.json|yaml|yml)")
    # the files found by searching folders are inputs too (the named ones were checked above)
    refuse_overwrite("--output", output, [f.path for f in report.files])
    level = cfg.fail_level

    from policyctl.cli.common import emit

    emit(output, lambda colour: _render(fmt, report, fail_level=level, colour=colour))
    return int(for_findings(report.failed(level)))


def _render(fmt: str, report: "LintReport", *, fail_level: str, colour: bool) -> str:
    import policyctl.reporters.lint as lint_formats

    options = lint_formats.RenderOptions(fail_level=fail_level, color=colour)
    if fmt == "sarif":
        from dataclasses import replace

        from policyctl import __version__

        options = replace(options, rules=_rule_metas(), tool_version=__version__)
    return lint_formats.render(fmt, report, options)


def _rule_metas() -> tuple["RuleMeta", ...]:
    """Every registered rule, for SARIF's rule list."""
    from policyctl.lint.rules import all_rules
    from policyctl.reporters.lint import RuleMeta

    return tuple(RuleMeta(code=r.code, name=r.name, summary=r.summary, severity=r.severity)
                 for r in all_rules())
