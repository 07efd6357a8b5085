"""The one place exit codes are defined (SPEC §5)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    INTERNAL = 3


def for_findings(failed: bool) -> ExitCode:
    """Exit code of a command that ran to the end: 1 when it found what it gates on."""
    return ExitCode.FINDINGS if failed else ExitCode.OK
