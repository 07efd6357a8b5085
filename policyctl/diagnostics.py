"""Lint diagnostics as frozen values (flake8's Violation), and the report that carries them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
SEVERITY_RANK: dict[str, int] = {"warning": 1, "error": 2}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one file. ``line``/``column`` are 1-based; ``pointer`` is a JSON Pointer ("" = root)."""

    code: str  # "PL101"
    rule: str  # kebab-case rule name, "invalid-regex"
    severity: Severity
    message: str
    path: str  # as given on the command line ("<stdin>" for -)
    line: int
    column: int
    pointer: str | None  # None for syntax errors (no document to point into)

    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.line, self.column, self.code, self.message)


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True, slots=True)
class LintReport:
    files: tuple[FileReport, ...] = field(default_factory=tuple)

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return tuple(d for f in self.files for d in f.diagnostics)

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "warning")

    def failed(self, fail_level: str = "error") -> bool:
        """True when any diagnostic is at or above ``fail_level`` ("error" or "warning")."""
        floor = SEVERITY_RANK[fail_level]
        return any(SEVERITY_RANK[d.severity] >= floor for d in self.diagnostics)


def format_diagnostic(d: Diagnostic) -> str:
    """The text format's line: ``path:line:col: severity[CODE] message``."""
    return f"{d.path}:{d.line}:{d.column}: {d.severity}[{d.code}] {d.message}"
