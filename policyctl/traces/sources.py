"""Finding and reading the files of an importable trace source, defensively.

Agent transcripts are messy and sometimes hostile: folders with symlink loops or unreadable
entries, lines of many megabytes (a tool result), invalid UTF-8, a session still being written,
zstd-compressed rollouts. Nothing here raises for a bad file: problems become warnings that name
the file (and line), collected by the caller's ``warn`` callback.

Public API::

    walk(paths, accept, warn) -> list[str]                        # sorted files under paths
    read_lines(path, warn, progress=None) -> Iterator[(lineno, raw, last)]
    read_blocks(path, warn, progress=None) -> Iterator[(first_lineno, data, start, end, last)]  # whole lines
    Overlong                                                       # stands in for a too-long line
    detect(path) -> str | None                                     # a source name, when unambiguous
"""

from __future__ import annotations

import os
import re
import stat
from typing import Callable, Iterator

LINE_CAP = 4 * 1024 * 1024  # longer lines are never built: a head and a tail are kept instead
_KEEP = 64 * 1024  # bytes of head and tail kept of an overlong line
_CHUNK = 1 << 20
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: decompressed bytes allowed per compressed byte beyond the first 64 MiB (a zstd bomb stops here)
ZSTD_MAX_RATIO = 200
ZSTD_FREE_BYTES = 64 * 1024 * 1024
ZSTD_MAX_WINDOW = 1 << 25  # 32 MiB: Codex writes level 3 (a 2-8 MiB window); larger is refused

Warn = Callable[[str], None]


class Overlong:
    """A line longer than :data:`LINE_CAP`: its first and last bytes and its length, not its content."""

    __slots__ = ("head", "tail", "size")

    def __init__(self, head: bytes, tail: bytes, size: int) -> None:
        self.head = head
        self.tail = tail
        self.size = size


def walk(paths: list[str], accept: Callable[[str], bool], warn: Warn) -> list[str]:
    """Every regular file under ``paths`` whose path ``accept`` takes, sorted, each once.

    A path given explicitly is read whatever its name. Folders are walked without following
    symlinked folders twice (a loop is reported once); unreadable folders and files are warnings.
    """
    out: list[str] = []
    seen_files: set[tuple[int, int]] = set()
    for top in paths:
        try:
            st = os.stat(top)
        except FileNotFoundError:
            warn(f"{top}: no such file or folder")
            continue
        except OSError as exc:
            warn(f"{top}: cannot read: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            found: list[str] = []
            _walk_dir(top, accept, warn, found, {(st.st_dev, st.st_ino)})
            for path in sorted(found):
                _add(path, out, seen_files, warn)
        elif stat.S_ISREG(st.st_mode):
            _add(top, out, seen_files, warn)
        else:
            warn(f"{top}: not a regular file (skipped)")
    return out


def _add(path: str, out: list[str], seen: set[tuple[int, int]], warn: Warn) -> None:
    try:
        st = os.stat(path)
    except OSError as exc:
        warn(f"{path}: cannot read: {exc.strerror or exc}")
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return
    seen.add(key)
    out.append(path)


def _walk_dir(folder: str, accept: Callable[[str], bool], warn: Warn, out: list[str],
              ancestors: set[tuple[int, int]]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        warn(f"{folder}: cannot read folder: {exc.strerror or exc}")
        return
    for entry in entries:
        try:
            st = entry.stat()  # follows symlinks
        except OSError as exc:
            if entry.is_symlink():
                warn(f"{entry.path}: broken or looping symlink (skipped)")
            else:
                warn(f"{entry.path}: cannot read: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                warn(f"{entry.path}: symlink loop (skipped)")
                continue
            _walk_dir(entry.path, accept, warn, out, ancestors | {key})
        elif stat.S_ISREG(st.st_mode) and accept(entry.path):
            out.append(entry.path)


def _open_stream(path: str, warn: Warn):  # -> a binary reader or None
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by _Chunks.close
    except OSError as exc:
        warn(f"{path}: cannot read: {exc.strerror or exc}")
        return None
    try:
        magic = fh.read(4)
        fh.seek(0)
    except OSError as exc:
        fh.close()
        warn(f"{path}: cannot read: {exc.strerror or exc}")
        return None
    if magic != ZSTD_MAGIC:
        return fh
    try:
        size = os.fstat(fh.fileno()).st_size
        import zstandard

        reader = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(fh, closefd=True)
    except ImportError:
        fh.close()
        warn(f"{path}: zstd-compressed, but the zstandard package is not installed (skipped)")
        return None
    return _Bounded(reader, ZSTD_FREE_BYTES + size * ZSTD_MAX_RATIO, path)


class _Bounded:
    """A zstd stream that stops, with a warning, past a decompressed-size budget (a zstd bomb)."""

    def __init__(self, reader, budget: int, path: str) -> None:  # noqa: ANN001
        self.reader = reader
        self.left = budget
        self.budget = budget
        self.path = path
        self.exceeded = False

    def read(self, n: int) -> bytes:
        if self.left <= 0:
            self.exceeded = True
            return b""
        data = self.reader.read(min(n, self.left))
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.reader.close()


class _Chunks:
    """The read chunks of one file, for :func:`read_lines` and :func:`read_blocks`.

    Iterating yields each chunk (its size reported to ``progress``) and stops at the end of the
    file, or early at a read error or a decompression bomb; :meth:`stopped_early` then says which,
    with a warning.
    """

    def __init__(self, fh, path: str, warn: Warn, progress: Callable[[int], None] | None) -> None:  # noqa: ANN001
        self.fh = fh
        self.path = path
        self.warn = warn
        self.progress = progress
        self.error: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        read = self.fh.read
        progress = self.progress
        while True:
            try:
                chunk = read(_CHUNK)
            except Exception as exc:  # noqa: BLE001 - OSError, zstd errors: a bad file, not a crash
                self.error = _reason(exc)
                return
            if not chunk:
                return
            if progress is not None:
                progress(len(chunk))
            yield chunk
            del chunk  # not held while the next is read: the reader may have let it go

    def stopped_early(self, lines: int) -> bool:
        """Whether the file ended before its end (warned, naming ``lines``, the lines read whole)."""
        fh = self.fh
        if self.error is not None:
            self.warn(f"{self.path}: cannot read past line {lines}: {self.error}")
            return True
        if isinstance(fh, _Bounded) and fh.exceeded:
            self.warn(f"{self.path}: decompressed size exceeds {fh.budget:,} bytes; the rest is skipped "
                      "(a corrupt or hostile zstd file)")
            return True
        return False

    def close(self) -> None:
        try:
            self.fh.close()
        except Exception:  # noqa: BLE001
            pass


def _chunks(path: str, warn: Warn, progress: Callable[[int], None] | None) -> _Chunks | None:
    fh = _open_stream(path, warn)
    return None if fh is None else _Chunks(fh, path, warn, progress)


def _overlong(data: bytes) -> Overlong:
    """The start of an overlong line (``data``, longer than :data:`LINE_CAP`, no newline yet)."""
    return Overlong(data[:_KEEP], data[-_KEEP:], len(data))


def _grow(line: Overlong, data: bytes) -> None:
    """``data`` continues the overlong ``line``: count it, keep the last bytes as its tail."""
    line.size += len(data)
    line.tail = (line.tail + data)[-_KEEP:]


def read_lines(path: str, warn: Warn, progress: Callable[[int], None] | None = None,
               ) -> Iterator[tuple[int, bytes | Overlong, bool]]:
    """``(lineno, raw, last)`` for each physical line of ``path`` (1-based; a trailing ``\\r`` kept).

    ``last`` is true for a final line without a newline (a file still being written). A line longer
    than :data:`LINE_CAP` comes as an :class:`Overlong` and is never held whole. Read errors, a bad
    zstd frame or a decompression bomb end the file with a warning naming it.
    """
    chunks = _chunks(path, warn, progress)
    if chunks is None:
        return
    lineno = 0
    rest = b""
    long: Overlong | None = None  # a line being skipped
    try:
        for chunk in chunks:
            if long is not None:  # inside an overlong line: look for its end only
                cut = chunk.find(b"\n")
                if cut < 0:
                    _grow(long, chunk)
                    continue
                _grow(long, chunk[:cut])
                lineno += 1
                yield lineno, long, False
                long = None
                chunk = chunk[cut + 1:]
            if rest:
                chunk = rest + chunk
            start = 0
            find = chunk.find
            while True:
                end = find(b"\n", start)
                if end < 0:
                    break
                lineno += 1
                if end - start > LINE_CAP:  # only a line begun in the previous chunk can be this long
                    yield lineno, Overlong(chunk[start:start + _KEEP], chunk[end - _KEEP:end], end - start), False
                else:
                    yield lineno, chunk[start:end], False
                start = end + 1
            rest = chunk[start:] if start < len(chunk) else b""
            if len(rest) > LINE_CAP:
                long = _overlong(rest)
                rest = b""
        if chunks.stopped_early(lineno):
            return
        if long is not None:
            lineno += 1
            yield lineno, long, True
        elif rest:
            lineno += 1
            yield lineno, rest, True
    finally:
        chunks.close()


def read_blocks(path: str, warn: Warn, progress: Callable[[int], None] | None = None,
                ) -> Iterator[tuple[int, bytes | Overlong, int, int, bool]]:
    """``(first_lineno, data, start, end, last)``: the file as blocks of whole lines —
    ``data[start:end]``, about one read chunk each, every line ending with a newline except the
    file's unterminated last line (then ``last``) — for importers that search a block for their
    markers instead of looking at each line; the bounds spare copying the chunk. A line longer than
    :data:`LINE_CAP` comes alone as an :class:`Overlong` (``start``/``end`` 0). Errors as
    :func:`read_lines`.
    """
    chunks = _chunks(path, warn, progress)
    if chunks is None:
        return
    lineno = 1  # number of the first line of the next block
    rest = b""  # the start of a line that continues in the next chunk
    long: Overlong | None = None  # an overlong line being skipped
    try:
        for chunk in chunks:
            start = 0
            if long is not None:
                cut = chunk.find(b"\n")
                if cut < 0:
                    _grow(long, chunk)
                    continue
                _grow(long, chunk[:cut])
                yield lineno, long, 0, 0, False
                lineno += 1
                long = None
                start = cut + 1
            elif rest:  # finish the line begun in the previous chunk (a copy of that line only)
                cut = chunk.find(b"\n")
                if cut < 0:
                    rest += chunk
                    if len(rest) > LINE_CAP:
                        long, rest = _overlong(rest), b""
                    continue
                line = rest + chunk[:cut + 1]
                rest = b""
                if len(line) - 1 > LINE_CAP:
                    yield lineno, Overlong(line[:_KEEP], line[-_KEEP - 1:-1], len(line) - 1), 0, 0, False
                else:
                    yield lineno, line, 0, len(line), False
                lineno += 1
                start = cut + 1
            end = chunk.rfind(b"\n", start) + 1
            if end > start:
                yield lineno, chunk, start, end, False
                lineno += chunk.count(b"\n", start, end)
            else:
                end = start
            if end < len(chunk):
                rest = chunk[end:]
                if len(rest) > LINE_CAP:
                    long, rest = _overlong(rest), b""
        if chunks.stopped_early(lineno - 1):
            return
        if long is not None:
            yield lineno, long, 0, 0, True
        elif rest:
            yield lineno, rest, 0, len(rest), True
    finally:
        chunks.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return str(exc.strerror or exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# --- auto-detection ------------------------------------------------------------------------------

_DESKTOP_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z \[")


def detect_bytes(head: bytes) -> str | None:
    """The source whose files start like ``head`` (the first few KiB of a file), or None."""
    if head.startswith(ZSTD_MAGIC):
        return "codex"
    text = head.lstrip()
    first = text.split(b"\n", 1)[0]
    if _DESKTOP_LINE.match(first):
        return "claude-desktop"
    if not first.startswith(b"{"):
        return None
    if first.startswith(b'{"resourceSpans"') or re.match(rb'\{\s*"resourceSpans"', text):
        return "otlp"
    if b'"type":"session_meta"' in first or (b'"payload":{' in first and b'"timestamp":' in first):
        return "codex"
    if b'"sessionId"' in first or first.startswith((b'{"type":"summary"', b'{"type":"file-history-snapshot"',
                                                    b'{"type":"queue-operation"', b'{"parentUuid":')):
        return "claude-code"
    if b'"direction"' in first and b'"message"' in first:
        return "jsonrpc"
    if b'"ts"' in first and (b'"tool"' in first or b'"message"' in first):
        return "policyctl"
    return None


def detect(path: str) -> str | None:
    """The source of the first readable file at ``path`` (a file or a folder), when unambiguous."""
    try:
        if os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith((".jsonl", ".jsonl.zst", ".json", ".log")):
                        found = detect(os.path.join(folder, name))
                        if found is not None and found != "policyctl":  # a folder is an import source
                            return found
            return None
        with open(path, "rb") as fh:
            return detect_bytes(fh.read(16384))
    except OSError:
        return None
