"""One exception hierarchy for "stop with exit code 2".

Findings (lint problems, failed expectations, loosened diffs) are values, never exceptions.
"""

from __future__ import annotations


class PolicyctlError(Exception):
    """Abort the command with exit code 2 and this message (no traceback)."""

    def __init__(self, message: str, *, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class UsageError(PolicyctlError):
    """A bad flag or flag combination."""


class InputError(PolicyctlError):
    """An input that cannot be read or understood: missing file, bad trace line, bad snapshot."""


class ServerError(InputError):
    """An MCP server that could not be reached, timed out or answered nonsense."""


class OutputExistsError(UsageError):
    """Refusing to overwrite an existing file without --force."""


class OutputError(PolicyctlError):
    """An output that cannot be written: a full disk, a reader that went away, a socket, no permission."""

    def __init__(self, message: str, *, stdout: bool = False) -> None:
        super().__init__(message)
        self.stdout = stdout  # the failed stream is standard output (the CLI stops writing to it)


class InvalidPolicyError(InputError):
    """A policy that failed to load or validate; carries the lint diagnostics."""

    def __init__(self, message: str, diagnostics: tuple = ()) -> None:  # tuple[Diagnostic, ...]
        super().__init__(message)
        self.diagnostics = diagnostics
