"""Linting policy files: load → schema → semantic rules → diagnostics with positions.

Public API (used by ``policyctl lint`` and tests)::

    lint(paths: Sequence[str], *, config: LintConfig | None = None,
         tools: Snapshot | None = None) -> LintReport
        Files, directories (searched recursively for policy-named files) and "-" (stdin).
        A file named explicitly is linted whatever its name; a path that does not exist raises
        policyctl.errors.InputError (exit 2) before anything is linted. A broken file is a
        diagnostic for that file; linting goes on with the others. Files are reported in the
        order given (directories: sorted), each file's diagnostics sorted by line, column, code.

    lint_bytes(raw: bytes, path: str, *, config=None, tools=None) -> FileReport
        One document already read (``path`` names it in diagnostics and selects JSON/YAML by
        extension).

    discover(paths: Sequence[str]) -> list[str]
        The files lint() would read, in order.

    is_policy_name(name: str) -> bool
        ``*.policy.json|yaml|yml`` or ``policy.json|yaml|yml`` (case-insensitive).

Related: ``policyctl.lint.config.load_config(explicit) -> LintConfig`` and ``LintConfig.with_cli(select=,
ignore=, fail_level=)``; ``policyctl.lint.rules.all_rules()`` / ``rule_table_markdown()``.

Each diagnostic's code, rule name and severity are stamped here (severity from configuration,
defaulting to the rule's), and its line/column come from the document's source map. The load
diagnostics PL001–PL004 are reported whatever the configuration selects or ignores, always as
errors (see ``policyctl.lint.config``). Semantic rules run only on documents without syntax, schema
or unportable-number (PL001/PL002/PL004) errors. Heavy modules stay unimported unless needed:
``yaml`` only for YAML files, ``re2`` only when a policy has a regex, never ``jsonschema`` or pydantic.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

from policyctl.diagnostics import Diagnostic, FileReport, LintReport
from policyctl.errors import InputError

if TYPE_CHECKING:
    from policyctl.lint.config import LintConfig
    from policyctl.lint.rules import ToolsLike

POLICY_SUFFIXES = (".policy.json", ".policy.yaml", ".policy.yml")
POLICY_NAMES = ("policy.json", "policy.yaml", "policy.yml")
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})


def is_policy_name(name: str) -> bool:
    lower = name.lower()
    return lower in POLICY_NAMES or lower.endswith(POLICY_SUFFIXES)


def discover(paths: Sequence[str]) -> list[str]:
    """Expand directories into the policy files under them; check that every path exists."""
    return list(_discover(paths))


def _discover(paths: Sequence[str]) -> dict[str, bool]:
    """Path → True when it was found by searching a directory (False: named by the user)."""
    out: dict[str, bool] = {}
    for path in paths:
        if path == "-":
            out.setdefault(path, False)
            continue
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                # hidden folders (.git, .venv, .tox …) and dependency folders are not ours to lint
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
                for f in sorted(files):
                    full = os.path.join(root, f)
                    # a FIFO or device named like a policy would block or never end: regular files
                    # (and symlinks, dangling ones included, so they are reported, not skipped)
                    if is_policy_name(f) and (os.path.isfile(full) or os.path.islink(full)):
                        out.setdefault(full, True)
        elif os.path.exists(path):
            out.setdefault(path, False)
        else:
            raise InputError(f"{path}: no such file or directory")
    return out


def lint(paths: Sequence[str], *, config: "LintConfig | None" = None,
         tools: "ToolsLike | None" = None, dialect: str | None = None) -> LintReport:
    """Lint every file named by ``paths`` (see the module docstring)."""
    from policyctl.files import display_name, read_bytes

    files = _discover(paths)
    reports = []
    for path, found in files.items():
        try:
            raw = read_bytes(path)
        except InputError as exc:
            if not found:
                raise
            # One unreadable file met while searching a folder (a broken symlink, no permission)
            # is that file's finding; the other files are still linted.
            reports.append(_unreadable(path, exc.message))
            continue
        reports.append(lint_bytes(raw, display_name(path), config=config, tools=tools, dialect=dialect))
    return LintReport(files=tuple(reports))


def _unreadable(path: str, message: str) -> FileReport:
    """PL001 for a file found by searching a folder that cannot be read (a load diagnostic: always an error)."""
    from policyctl.documents.loader import LOAD_RULES

    reason = message[len(path) + 2:] if message.startswith(f"{path}: ") else message
    if os.path.islink(path) and not os.path.exists(path):
        reason += " (a broken symbolic link?)"
    return FileReport(path=path, diagnostics=(Diagnostic(
        code="PL001", rule=LOAD_RULES["PL001"], severity="error",
        message=f"cannot read the file: {reason}", path=path, line=1, column=1, pointer=None),))


def lint_bytes(raw: bytes, path: str, *, config: "LintConfig | None" = None,
               tools: "ToolsLike | None" = None, dialect: str | None = None) -> FileReport:
    """Lint one document given as bytes (``dialect``: force one instead of detecting it)."""
    from policyctl.documents.loader import load_document
    from policyctl.lint.config import LintConfig

    cfg = config or LintConfig()
    enabled = cfg.enabled_codes(path)
    result = load_document(raw, path)
    diags: list[Diagnostic] = list(result.diagnostics)
    document = result.document
    if document is not None and not diags_have(diags, "PL001"):
        from policyctl.policy.dialects import detect

        chosen = dialect or detect(document.data)
        if chosen == "intercept":
            # Intercept reads YAML, not JSON: yaml.v3 decodes .inf / .nan into float64 infinities
            # and NaN, which Go compares as IEEE numbers, and keeps a literal that overflows float64
            # (1e400) as a string (PL501 then says where a number is needed). Only an integer beyond
            # 2^53 stays PL004: Intercept compares numbers as float64, so it is rounded there too.
            # A tagged `!!float 1e400` stays PL004 as well: yaml.v3 refuses to load it.
            from policyctl.documents.loader import number_problem

            plain = document.scalar_texts
            diags = [d for d in diags if number_problem(d) in (None, "integer")
                     or (number_problem(d) == "overflow" and d.pointer not in plain)]
            # Intercept's own validation (PL501) takes the place of the schema; its rules follow.
            diags.extend(_semantic(document, tools, enabled, path, "intercept"))
        else:
            from policyctl.documents.schema import schema_diagnostics

            schema_diags = schema_diagnostics(document)
            diags.extend(schema_diags)
            # Rules reason about numbers as doubles; NaN or a 400-digit integer would only mislead them.
            if not schema_diags and not diags_have(diags, "PL004"):
                diags.extend(_semantic(document, tools, enabled, path, "policylayer"))
    out = []
    from policyctl.lint.rules import get

    for d in diags:
        if d.code not in enabled:
            continue
        rule = get(d.code)
        severity = cfg.severity_of(d.code, rule.severity)
        if severity != d.severity or d.rule != rule.name:
            d = Diagnostic(code=d.code, rule=rule.name, severity=severity,  # type: ignore[arg-type]
                           message=d.message, path=d.path, line=d.line, column=d.column,
                           pointer=d.pointer)
        out.append(d)
    out.sort(key=Diagnostic.sort_key)
    return FileReport(path=path, diagnostics=tuple(out))


def lint_document(document: Any, dialect: str, tools: "ToolsLike | None" = None,
                  only: Sequence[str] | None = None) -> FileReport:
    """The semantic rules of ``dialect`` on an already loaded document, every rule enabled (or only
    the rules whose codes ``only`` lists: their modules alone are imported)."""
    from policyctl.lint.rules import codes, selected

    enabled = frozenset(codes() if only is None else only)
    diags = _semantic(document, tools, enabled, document.path, dialect,
                      selected(only) if only is not None else None)
    diags.sort(key=Diagnostic.sort_key)
    return FileReport(path=document.path, diagnostics=tuple(diags))


def diags_have(diags: Sequence[Diagnostic], code: str) -> bool:
    return any(d.code == code for d in diags)


def _semantic(document: Any, tools: "ToolsLike | None", enabled: frozenset[str],
              path: str, dialect: str, rules: Sequence[Any] | None = None) -> list[Diagnostic]:
    from policyctl.lint.rules import Context, all_rules

    ctx = Context(document=document, tools=tools)
    out: list[Diagnostic] = []
    for rule in all_rules() if rules is None else rules:
        if rule.check is None or rule.code not in enabled or rule.dialect not in (dialect, "any"):
            continue
        if rule.needs_tools and tools is None:
            continue
        for finding in rule.check(ctx):
            line, column = document.position(finding.pointer, key=finding.key)
            out.append(Diagnostic(code=rule.code, rule=rule.name, severity=rule.severity,  # type: ignore[arg-type]
                                  message=finding.message, path=path, line=line, column=column,
                                  pointer=finding.pointer))
    return out
