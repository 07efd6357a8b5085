"""A progress bar on stderr while a long trace streams (only when stderr is a terminal)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

#: traces smaller than this finish before a bar would be worth drawing
MIN_BYTES = 16 * 1024 * 1024


@contextmanager
def progress(total: int | None) -> Iterator[Callable[[int], None] | None]:
    """Yields a ``callback(bytes_read)`` driving a transient rich bar, or None when no bar is shown."""
    if not sys.stderr.isatty() or (total is not None and total < MIN_BYTES):
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from policyctl.reporters.console import stderr_console

    columns = [TextColumn("simulating"), BarColumn(), DownloadColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=stderr_console(), transient=True) as bar:
        task = bar.add_task("simulate", total=total)

        def advance(n: int) -> None:
            bar.advance(task, n)

        yield advance
