"""A k-way merge of sorted runs in bounded memory (an external merge sort of trace rows).

Each file of a trace source is read on its own, its calls sorted by time and appended to a
temporary spool file as one *run*. :meth:`Spool.merged` then streams every row in order with
``heapq.merge`` over small buffered readers of the runs; with more runs than :data:`FAN_IN`, runs
are first merged in groups into longer runs, so at most ``FAN_IN`` buffers of :data:`BUFFER`
bytes are held at once whatever the number of files.

Rows are JSON arrays whose first four items are the sort key ``(ts_ns, file, line, seq)``.
"""

from __future__ import annotations

import heapq
import os
import tempfile
from typing import Any, Iterable, Iterator

import orjson

FAN_IN = 64
BUFFER = 64 * 1024


def _key(row: list) -> tuple:
    return (row[0], row[1], row[2], row[3])


class Spool:
    """Sorted runs in one temporary file; use as a context manager (the file is removed at exit)."""

    def __init__(self) -> None:
        self.fh = tempfile.TemporaryFile()
        self.runs: list[tuple[int, int]] = []  # (start, end) offsets of non-empty runs
        self.end = 0

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.fh.close()

    def add_run(self, rows: Iterable[list]) -> None:
        """Append one run (rows already in key order)."""
        start = self.end
        dumps = orjson.dumps
        buf: list[bytes] = []
        size = 0
        for row in rows:
            data = dumps(row)
            buf.append(data)
            buf.append(b"\n")
            size += len(data) + 1
            if size >= BUFFER:
                self.fh.write(b"".join(buf))
                self.end += size
                buf.clear()
                size = 0
        if buf:
            self.fh.write(b"".join(buf))
            self.end += size
        if self.end > start:
            self.runs.append((start, self.end))

    def _read(self, start: int, end: int) -> Iterator[list]:
        fd = self.fh.fileno()
        loads = orjson.loads
        pos = start
        rest = b""
        while pos < end:
            data = os.pread(fd, min(BUFFER, end - pos), pos)
            if not data:
                break
            pos += len(data)
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield loads(line)
        if rest:
            yield loads(rest)

    def merged(self) -> Iterator[list]:
        """Every row of every run, in key order (stable: equal keys keep run order)."""
        self.fh.flush()
        runs = list(self.runs)  # merged runs are appended to self.runs: never to the list being grouped
        while len(runs) > FAN_IN:
            merged_runs: list[tuple[int, int]] = []
            for i in range(0, len(runs), FAN_IN):
                group = runs[i:i + FAN_IN]
                start = self.end
                self.add_run(heapq.merge(*(self._read(s, e) for s, e in group), key=_key))
                self.fh.flush()
                merged_runs.append((start, self.end))
            runs = merged_runs
        if len(runs) == 1:
            yield from self._read(*runs[0])
            return
        yield from heapq.merge(*(self._read(s, e) for s, e in runs), key=_key)
