"""Reading inputs and writing outputs safely.

Inputs: stdin as ``-``, a size limit, missing or unreadable files as InputError (exit 2).

Outputs — one rule for every file a command writes (``--output``, ``--junit``, ``--counterexample``):

* never over an input: the same file by device and inode, whatever it is called (``./x``, a symlink,
  a hard link, a file found by searching a folder, stdin redirected from it) — :func:`refuse_overwrite`;
* a regular file, or a new path, is written atomically: a temporary file in the same folder, then a
  rename (so a reader never sees half a report and a failed run leaves nothing); without ``force``
  an existing file is never replaced;
* anything else that exists — a FIFO, a character or block device, a socket — and every path that
  names an open descriptor (``/dev/fd/N``, ``/dev/stdout``, ``/proc/self/fd/N``, ``>(cmd)``) is opened
  where it is and written in place: never replaced by a regular file, never refused as "exists";
* a failed write (a full disk, a reader that went away, stdout included) is an OutputError (exit 2).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Sequence
from typing import Union

from policyctl.errors import InputError, OutputError, OutputExistsError, UsageError

STDIN = "-"
MAX_INPUT_BYTES = 64 * 1024 * 1024


def display_name(path: str | os.PathLike[str]) -> str:
    """How a path is named in messages (``<stdin>`` for ``-``)."""
    return "<stdin>" if str(path) == STDIN else str(path)


def read_error(name: str, exc: OSError) -> InputError:
    """The InputError (exit 2) for the input ``name`` that could not be opened or read."""
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{name}: no such file")
    if isinstance(exc, PermissionError):
        return InputError(f"{name}: permission denied")
    return InputError(f"{name}: cannot read: {exc.strerror or exc}")


def read_bytes(path: str | os.PathLike[str], *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """Read a whole input (``-`` = stdin); missing or unreadable files become InputError (exit 2)."""
    name = display_name(path)
    try:
        if str(path) == STDIN:
            data = sys.stdin.buffer.read(limit + 1)
        else:
            if os.path.isdir(path):
                raise InputError(f"{name}: is a directory")
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
    except OSError as exc:
        raise read_error(name, exc) from None
    if len(data) > limit:
        raise InputError(f"{name}: larger than {limit // (1024 * 1024)} MiB")
    return data


STDOUT_NAME = "standard output"

PathLike = Union[str, "os.PathLike[str]"]

# paths that name a descriptor some other process opened for us (a shell's ``>(cmd)``, ``3>file``)
_DESCRIPTOR_PREFIXES = ("/dev/fd/", "/proc/")
_DESCRIPTOR_NAMES = ("/dev/stdout", "/dev/stderr", "/dev/stdin")
_CHUNK = 1 << 16  # bytes gathered before one write call (jsonl writes a line per call)


def is_stdout(target: PathLike | None) -> bool:
    """``None`` and ``-`` both mean standard output."""
    return target is None or str(target) == STDIN


def refuse_overwrite(flag: str, target: PathLike | None, inputs: Iterable[PathLike | None]) -> None:
    """UsageError when writing ``target`` would replace one of ``inputs``.

    Files are compared by device and inode, so ``./x``, a symlink and a hard link are all caught; an
    input ``-`` is whatever stdin is (``< file``). Only an existing regular file can be replaced: a
    new path is no input, and a FIFO or device is written in place, not replaced.
    """
    if is_stdout(target):
        return
    try:
        st = os.stat(target)  # type: ignore[arg-type]
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(st.st_mode):
        return
    key = (st.st_dev, st.st_ino)
    for source in inputs:
        if source is None:
            continue
        try:
            other = os.fstat(0) if str(source) == STDIN else os.stat(source)
        except (OSError, ValueError):
            continue
        if (other.st_dev, other.st_ino) == key:
            raise UsageError(f"{flag} {target}: refusing to overwrite an input")


def same_output(a: PathLike | None, b: PathLike | None) -> bool:
    """Whether two outputs would end up in one regular file (two into one FIFO or device is fine)."""
    if is_stdout(a) or is_stdout(b):
        return False
    for path in (a, b):
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # type: ignore[arg-type]
                return False
        except OSError:
            pass
    if os.path.realpath(a) == os.path.realpath(b):  # type: ignore[arg-type]
        return True
    try:
        return os.path.samefile(a, b)  # type: ignore[arg-type]
    except OSError:
        return False


def check_outputs(outputs: Sequence[tuple[str, PathLike | None]], inputs: Iterable[PathLike | None], *,
                  force: bool = True) -> None:
    """Before any work: no output is an input, each can be written, and no two name one file.

    ``outputs`` pairs each flag with its value (``None`` or ``-``: stdout, not checked). ``force``
    False means an existing regular file is refused (``init`` without ``--force``).
    """
    inputs = tuple(inputs)
    named = [(flag, target) for flag, target in outputs if not is_stdout(target)]
    for flag, target in named:
        refuse_overwrite(flag, target, inputs)
        _Destination.of(target, force=force)  # type: ignore[arg-type]
    for i, (first_flag, first) in enumerate(named):
        for flag, target in named[i + 1:]:
            if same_output(first, target):
                raise UsageError(f"{flag} and {first_flag} name the same file")


def _names_a_descriptor(path: str) -> bool:
    """``/dev/fd/N``, ``/dev/stdout``, ``/proc/self/fd/N`` or a symlink to one of them."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on a chain of symlinks
        if current.startswith(_DESCRIPTOR_PREFIXES) or current in _DESCRIPTOR_NAMES:
            return True
        try:
            link = os.readlink(current)
        except OSError:  # not a symlink (or gone): the end of the chain
            break
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return os.path.realpath(os.path.dirname(current)).startswith(_DESCRIPTOR_PREFIXES)


class _Destination:
    """Where an output path leads: written in place, or a regular file written atomically."""

    __slots__ = ("target", "in_place", "final")

    def __init__(self, target: str, *, in_place: bool, final: str) -> None:
        self.target = target
        self.in_place = in_place
        self.final = final  # the real path a regular file is renamed to (a symlink stays a symlink)

    @classmethod
    def of(cls, target: PathLike, *, force: bool) -> "_Destination":
        name = str(target)
        try:
            st: os.stat_result | None = os.stat(name)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise OutputError(f"cannot write {name}: {exc.strerror or exc}") from None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise OutputExistsError(f"{name}: is a directory")
        if st is not None and (not stat.S_ISREG(st.st_mode) or _names_a_descriptor(name)):
            return cls(name, in_place=True, final=name)
        if st is None and _names_a_descriptor(name):
            raise OutputError(f"cannot write {name}: no such file or open descriptor")
        folder = os.path.dirname(name) or "."
        final = os.path.realpath(name)
        if not os.path.isdir(os.path.dirname(final)):
            raise InputError(f"{name}: folder {folder} does not exist")
        if st is not None and not force:
            raise OutputExistsError(f"{name}: already exists (use --force to overwrite)")
        return cls(name, in_place=False, final=final)


class OutputFile:
    """One open output: stdout, a stream written in place, or a regular file written atomically.

    ``write`` any number of times (text is UTF-8 encoded), then ``commit`` once; ``abort`` on failure
    removes a temporary file (a stream keeps what was already sent, like stdout). As a context manager
    it commits on success and aborts on an exception. Every OSError becomes an OutputError (exit 2).
    """

    def __init__(self, target: PathLike | None = None, *, force: bool = True) -> None:
        self._buf: list[bytes] = []
        self._size = 0
        self._tmp: str | None = None
        self._fh = None
        self._dest: _Destination | None = None
        self._force = force
        self.is_stdout = is_stdout(target)
        self.name = STDOUT_NAME if self.is_stdout else str(target)
        if self.is_stdout:
            self._open_stdout()
            return
        self._dest = dest = _Destination.of(target, force=force)  # type: ignore[arg-type]
        try:
            if dest.in_place:
                flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
                self._fh = os.fdopen(os.open(dest.target, flags), "wb")
            else:
                import tempfile  # only when a file is written (not on lint's path)

                fd, self._tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest.final)}.", suffix=".tmp",
                                                 dir=os.path.dirname(dest.final))
                self._fh = os.fdopen(fd, "wb")
                # mkstemp creates the file 0600; give it the mode a plain open() would (or keep the
                # mode of the file it replaces), so a policy written by init is readable like any other
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, _mode_for(dest.final))
        except OSError as exc:
            self._discard()
            raise self._error(exc) from None

    def _open_stdout(self) -> None:
        try:
            sys.stdout.flush()  # text already printed comes first
        except OSError as exc:
            raise self._error(exc) from None
        self._fh = getattr(sys.stdout, "buffer", None)

    def isatty(self) -> bool:
        """Whether the stream actually written is a terminal (a temporary file never is)."""
        try:
            if self.is_stdout:
                return sys.stdout.isatty()
            return self._tmp is None and self._fh is not None and self._fh.isatty()
        except (OSError, ValueError):
            return False

    def write(self, data: str | bytes) -> None:
        if type(data) is str:
            data = data.encode("utf-8")
        self._buf.append(data)  # type: ignore[arg-type]
        self._size += len(data)
        if self._size >= _CHUNK:
            self._drain()

    def _drain(self) -> None:
        if not self._buf:
            return
        data = b"".join(self._buf)
        self._buf.clear()
        self._size = 0
        try:
            if self._fh is None:  # stdout without a byte layer (a closed stream, a test's stand-in)
                sys.stdout.write(data.decode("utf-8"))
            else:
                self._fh.write(data)
        except OSError as exc:
            raise self._error(exc) from None

    def commit(self) -> None:
        """Send everything; a regular file appears under its name only now, complete."""
        try:
            self._drain()
            if self.is_stdout:
                (self._fh or sys.stdout).flush()
                return
            fh, self._fh = self._fh, None
            if self._tmp is None:
                fh.close()  # type: ignore[union-attr]
                return
            fh.flush()  # type: ignore[union-attr]
            os.fsync(fh.fileno())  # type: ignore[union-attr]
            fh.close()  # type: ignore[union-attr]
            self._place()
        except OSError as exc:
            self._discard()
            raise self._error(exc) from None
        except BaseException:
            self._discard()
            raise

    def _place(self) -> None:
        """Rename the finished temporary file to its name; without force, never over a file."""
        dest, tmp = self._dest, self._tmp
        assert dest is not None and tmp is not None
        if self._force:
            os.replace(tmp, dest.final)
        else:
            try:
                os.link(tmp, dest.final)  # fails if the name was taken while we wrote
            except FileExistsError:
                raise OutputExistsError(f"{dest.target}: already exists (use --force to overwrite)") from None
            except OSError:  # a file system without hard links: check, then rename
                if os.path.lexists(dest.final):
                    raise OutputExistsError(f"{dest.target}: already exists (use --force to overwrite)") from None
                os.replace(tmp, dest.final)
            else:
                os.unlink(tmp)
        self._tmp = None

    def abort(self) -> None:
        """After a failure: a temporary file is removed; a stream keeps what was already sent."""
        if self._tmp is None:
            try:
                self._drain()
                if self._fh is not None:
                    self._fh.flush()
            except (OSError, OutputError):
                pass
        self._discard()

    def _discard(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None and not self.is_stdout:
            try:
                fh.close()
            except OSError:
                pass
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None

    def _error(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write {self.name}: {exc.strerror or exc}", stdout=self.is_stdout)

    def __enter__(self) -> "OutputFile":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_output(target: PathLike | None, text: str | bytes, *, force: bool = True) -> None:
    """Write a whole payload to ``target`` (``None``/``-``: stdout) by the output rule."""
    with OutputFile(target, force=force) as out:
        out.write(text)


def _mode_for(target: "str | os.PathLike[str]") -> int:
    """Permission bits for a new file at ``target``: the replaced file's, else 0666 minus umask."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
