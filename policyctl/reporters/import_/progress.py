"""A progress bar on stderr while an import reads many bytes (only when stderr is a terminal)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def progress(label: str) -> Iterator[Callable[[int], None] | None]:
    """Yields a ``callback(bytes_read)`` driving a transient bar, or None when stderr is not a tty."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import DownloadColumn, Progress, SpinnerColumn, TextColumn, TransferSpeedColumn

    from policyctl.reporters.console import stderr_console

    columns = [SpinnerColumn(), TextColumn(label), DownloadColumn(), TransferSpeedColumn()]
    with Progress(*columns, console=stderr_console(), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def advance(n: int) -> None:
            bar.advance(task, n)

        yield advance
