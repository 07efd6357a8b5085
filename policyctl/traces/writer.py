"""Writing a trace as JSON Lines: to stdout, or atomically to a file (never a partial file, never
over an existing file without ``force``, never over an input, a FIFO or a device)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from policyctl.errors import InputError, OutputExistsError, UsageError


class TraceWriter:
    """Buffered JSONL output; :meth:`commit` renames the temporary file into place, :meth:`abort`
    removes it (stdout output cannot be taken back, but nothing is written to it before the first
    record)."""

    def __init__(self, output: str | None, *, force: bool = False, inputs: list[str] = ()) -> None:  # type: ignore[assignment]
        self.buf: list[bytes] = []
        self.size = 0
        self.tmp: str | None = None
        self.target: Path | None = None
        if output is None or output == "-":
            self.fh: Any = sys.stdout.buffer
            return
        target = Path(output)
        _refuse_inputs(output, inputs)
        if target.is_dir():
            raise OutputExistsError(f"{output}: is a directory")
        if os.path.lexists(target):
            if not target.is_file():
                raise OutputExistsError(f"{output}: not a regular file (refusing to replace it)")
            if not force:
                raise OutputExistsError(f"{output}: already exists (use --force to overwrite)")
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise InputError(f"{output}: folder {folder} does not exist")
        fd, self.tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        if hasattr(os, "fchmod"):
            from policyctl.files import _mode_for

            os.fchmod(fd, _mode_for(target))
        self.fh = os.fdopen(fd, "wb")
        self.target = target
        self.force = force

    def write(self, record: dict) -> None:
        data = orjson.dumps(record)
        self.buf.append(data)
        self.buf.append(b"\n")
        self.size += len(data) + 1
        if self.size >= 1 << 16:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.fh.write(b"".join(self.buf))
            self.buf.clear()
            self.size = 0

    def commit(self) -> None:
        self.flush()
        self.fh.flush()
        if self.tmp is not None:
            os.fsync(self.fh.fileno())
            self.fh.close()
            assert self.target is not None
            if os.path.lexists(self.target) and not self.force:  # appeared while we wrote
                self.abort()
                raise OutputExistsError(f"{self.target}: already exists (use --force to overwrite)")
            os.replace(self.tmp, self.target)
            self.tmp = None

    def abort(self) -> None:
        if self.tmp is None:
            return
        try:
            self.fh.close()
        except OSError:
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        self.tmp = None


def _refuse_inputs(output: str, inputs: list[str]) -> None:
    real = os.path.realpath(output)
    for source in inputs:
        if source in (None, "-"):
            continue
        src = os.path.realpath(source)
        same = real == src
        if not same:
            try:
                same = os.path.samefile(output, source)
            except OSError:
                same = False
        if same:
            raise UsageError(f"--output {output}: refusing to overwrite an input")
        if os.path.isdir(src) and real.startswith(src.rstrip(os.sep) + os.sep):
            raise UsageError(f"--output {output}: inside the input folder {source} (a later import would read it)")
