"""Reading inputs and writing outputs safely: stdin as ``-``, atomic writes, no silent overwrite."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from policyctl.errors import InputError, OutputExistsError

STDIN = "-"
MAX_INPUT_BYTES = 64 * 1024 * 1024


def display_name(path: str | os.PathLike[str]) -> str:
    """How a path is named in messages (``<stdin>`` for ``-``)."""
    return "<stdin>" if str(path) == STDIN else str(path)


def read_bytes(path: str | os.PathLike[str], *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """Read a whole input (``-`` = stdin); missing or unreadable files become InputError (exit 2)."""
    name = display_name(path)
    try:
        if str(path) == STDIN:
            data = sys.stdin.buffer.read(limit + 1)
        else:
            p = Path(path)
            if p.is_dir():
                raise InputError(f"{name}: is a directory")
            with p.open("rb") as fh:
                data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(f"{name}: larger than {limit // (1024 * 1024)} MiB")
    return data


def _mode_for(target: Path) -> int:
    """Permission bits for a new file at ``target``: the replaced file's, else 0666 minus umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike[str], text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path`` all at once: a temporary file in the same folder, then a rename.

    Refuses to replace an existing file unless ``force``; a failure leaves no partial file behind.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputExistsError(f"{target}: is a directory")
    if target.exists() and not force:
        raise OutputExistsError(f"{target}: already exists (use --force to overwrite)")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{target}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would (or keep the mode
        # of the file it replaces), so a policy written by init is readable like any other file.
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _mode_for(target))
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists() and not force:  # appeared while we wrote
            raise OutputExistsError(f"{target}: already exists (use --force to overwrite)")
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
