"""JSON format (SPEC §5): ``{"version": 1, "files": [...], "summary": {...}}``.

Every linted file is listed, also those without findings, so a consumer can tell "checked and
clean" from "not checked". Keys keep the documented order; the output is indented for diffs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from policyctl.reporters.lint import RenderOptions, encodable

if TYPE_CHECKING:
    from policyctl.diagnostics import Diagnostic, LintReport


def diagnostic(d: "Diagnostic") -> dict[str, Any]:
    return {
        "code": d.code,
        "rule": d.rule,
        "severity": d.severity,
        "message": encodable(d.message),
        "line": d.line,
        "column": d.column,
        "pointer": None if d.pointer is None else encodable(d.pointer),
    }


def document(report: "LintReport") -> dict[str, Any]:
    return {
        "version": 1,
        "files": [
            {"path": encodable(f.path), "diagnostics": [diagnostic(d) for d in f.diagnostics]}
            for f in report.files
        ],
        "summary": {"files": len(report.files), "errors": report.errors, "warnings": report.warnings},
    }


def render(report: "LintReport", options: RenderOptions) -> str:
    return json.dumps(document(report), indent=2, ensure_ascii=False) + "\n"
