"""The trace file of ``policyctl record`` and what goes into each line.

Every line is one SPEC §3 plain record, handed to the kernel with one ``write`` of the whole line
(no user-space buffer), so a proxy killed at any moment leaves only whole lines. The file is created
``0600`` (arguments carry secrets), never replaces an existing file without ``force``, and is never
anything but a regular file.
"""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import orjson

from policyctl.errors import InputError, OutputExistsError, UsageError

NS = 1_000_000_000
MS = 1_000_000

# Placeholders keep the JSON type of the value they replace, so type-sensitive checks (``exists``,
# numbers, strings) still see a value of the same kind.
STRING_PLACEHOLDER = "[redacted]"


def placeholder(value: Any) -> Any:
    """A stand-in of the same JSON type as ``value`` that says nothing about it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return 0
    if isinstance(value, str):
        return STRING_PLACEHOLDER
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {}
    return None


def redact_keys(args: Mapping[str, Any], keys: frozenset[str]) -> dict:
    """``args`` with the values of ``keys`` (at any depth of nested objects) replaced by placeholders."""
    out: dict = {}
    for key, value in args.items():
        if key in keys:
            out[key] = placeholder(value)
        elif isinstance(value, dict):
            out[key] = redact_keys(value, keys)
        else:
            out[key] = value
    return out


def keep_paths(args: Mapping[str, Any], paths: Iterable[tuple[str, ...]]) -> dict:
    """``args`` keeping only the values at ``paths`` (and the objects that lead to them); every other
    value becomes a placeholder of its type. A condition that walks a path sees the same value, the
    same "not found" and the same types on the way, so its outcome cannot change."""
    tree: dict = {}
    for path in paths:
        if not path:
            return dict(args)  # a condition on the whole argument object: keep it all
        node = tree
        for seg in path[:-1]:
            nxt = node.get(seg)
            if nxt is True:
                break  # an ancestor is already kept whole
            node = node.setdefault(seg, {})
        else:
            node[path[-1]] = True
    return _keep(args, tree)


def _keep(value: Mapping[str, Any], tree: dict) -> dict:
    out: dict = {}
    for key, item in value.items():
        sub = tree.get(key)
        if sub is True:
            out[key] = item
        elif sub is not None and isinstance(item, dict):
            out[key] = _keep(item, sub)
        else:
            out[key] = placeholder(item)
    return out


_last_second: tuple[int, str] = (-1, "")  # the previous line's second and its text: most lines share one


def format_ts_ms(ts_ns: int) -> str:
    """RFC 3339 UTC with exactly three fraction digits: ``2026-11-24T10:00:00.250Z``."""
    global _last_second
    sec, frac = divmod(ts_ns, NS)
    known, text = _last_second
    if known != sec:
        text = datetime.fromtimestamp(sec, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _last_second = (sec, text)
    return f"{text}.{frac // MS:03d}Z"


def grant_from_secret(value: str) -> str:
    """A short, stable name for a credential: the first 12 hex digits of its SHA-256 (the value
    itself is never stored)."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def record_line(*, ts_ns: int, grant: str, tool: str, args: Mapping[str, Any], ident: Any,
                server: str | None, upstream: str, shadow: Mapping[str, Any] | None) -> bytes:
    """One trace line (with its newline)."""
    rec: dict[str, Any] = {"ts": format_ts_ms(ts_ns), "grant": grant, "tool": tool, "args": args}
    if ident is not None:
        rec["id"] = ident
    if server is not None:
        rec["server"] = server
    rec["upstream"] = upstream
    rec["upstream_error"] = upstream != "ok"
    if shadow is not None:
        rec["shadow"] = shadow
    return orjson.dumps(rec) + b"\n"


class TraceFile:
    """An append-only JSON Lines file written one whole line per ``write`` call."""

    def __init__(self, path: str, *, force: bool = False, append: bool = False) -> None:
        if force and append:
            raise UsageError("--force and --append cannot be used together")
        self.path = path
        self.lines = 0
        existing = _existing(path)
        if existing is not None:
            if not stat.S_ISREG(existing.st_mode):
                raise InputError(f"{path}: not a regular file; record writes traces only to regular files")
            if not (force or append):
                raise OutputExistsError(f"{path}: already exists (use --append to continue it or --force "
                                        "to overwrite it)")
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        if existing is None:
            flags |= os.O_EXCL
        elif force:
            flags |= os.O_TRUNC
        try:
            self.fd = os.open(path, flags, 0o600)
        except FileExistsError:
            raise OutputExistsError(f"{path}: already exists (use --append to continue it or --force "
                                    "to overwrite it)") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory") from None
        except FileNotFoundError:
            raise InputError(f"{path}: its folder does not exist") from None
        except PermissionError:
            raise InputError(f"{path}: permission denied") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
        if existing is not None and force:
            os.fchmod(self.fd, 0o600)
        self.created = existing is None
        self.appending = existing is not None and append and existing.st_size > 0
        if self.appending and not _ends_with_newline(path):
            self._write(b"\n")  # a line cut short by a crash of something else stays on its own

    def write(self, line: bytes) -> None:
        self._write(line)
        self.lines += 1

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def discard_if_unused(self) -> None:
        """Remove the file again if this run created it and wrote nothing (the session never began)."""
        self.close()
        if self.created and self.lines == 0:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.fsync(self.fd)
            except OSError:
                pass
            os.close(self.fd)
            self.fd = -1


def _existing(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot check: {exc.strerror or exc}") from None


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"
