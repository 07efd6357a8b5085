"""Replaying any trace source directly: ``simulate``, ``explain`` and ``diff --trace`` read imported
calls through the same record stream as a policyctl trace (``--trace-format``).

Public API::

    TRACE_FORMATS                                       # the --trace-format values
    build_options(servers, grant_from, since, until, known_servers, ...) -> ImportOptions
    parse_time_option(flag, value) -> int               # ns
    resolve_format(path, fmt) -> str                    # "policyctl" or an import source
    TraceInput(path, fmt, servers, grant_from, since, until)
        .records(skip_invalid, stats, progress) -> Iterator[(line, ts_ns, grant, tool, args, upstream, rec, msg)]
        .plain -> bool                                  # a policyctl trace without filters
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from policyctl.errors import UsageError
from policyctl.traces.importers import SOURCES, ImportOptions, parse_grant_from

TRACE_FORMATS: tuple[str, ...] = ("auto", *SOURCES, "policyctl")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def parse_time_option(flag: str, value: str) -> int:
    """ns of a ``--since``/``--until`` value: RFC 3339 (Z or offset), a date (UTC midnight) or epoch seconds."""
    from policyctl.traces.reader import parse_ts

    raw: Any = value.strip()
    if _DATE.match(raw):
        raw += "T00:00:00Z"
    elif re.fullmatch(r"-?\d+(\.\d+)?", raw):
        raw = float(raw) if "." in raw else int(raw)
    try:
        return parse_ts(raw)
    except ValueError as exc:
        raise UsageError(f"{flag}: {str(exc).replace(chr(34) + 'ts' + chr(34), 'the time')}") from None


def build_options(*, servers: list[str] = (), grant_from: str = "const:default",  # type: ignore[assignment]
                  since: str | None = None, until: str | None = None,
                  known_servers: list[str] = (),  # type: ignore[assignment]
                  include_not_executed: bool = False, keep_bad_args: bool = False,
                  read_client_config: bool = True) -> ImportOptions:
    """Check the import flags and turn them into :class:`ImportOptions`."""
    since_ns = parse_time_option("--since", since) if since is not None else None
    until_ns = parse_time_option("--until", until) if until is not None else None
    if since_ns is not None and until_ns is not None and until_ns <= since_ns:
        raise UsageError("--until must be later than --since")
    for name in servers:
        if not name.strip():
            raise UsageError("--server: give a server name")
    known = {n.strip() for value in known_servers for n in value.split(",") if n.strip()}
    if read_client_config:
        known |= {n for n in _configured_servers() if "__" in n}
    return ImportOptions(grant_from=parse_grant_from(grant_from), servers=tuple(servers), since_ns=since_ns,
                         until_ns=until_ns, known_servers=tuple(sorted(known)),
                         include_not_executed=include_not_executed, keep_bad_args=keep_bad_args)


def _configured_servers() -> list[str]:
    """Server names in the user's MCP client configuration (never an error: it is only a hint)."""
    try:
        from policyctl.mcp.configs import discover

        return list(discover().servers)
    except Exception:  # noqa: BLE001 - a broken client config must not stop an import
        return []


def resolve_format(path: str, fmt: str) -> str:
    """The format to read ``path`` with: ``fmt`` itself, or for ``auto`` what its first lines show."""
    if fmt not in TRACE_FORMATS:
        raise UsageError(f"--trace-format: unknown format {fmt!r} (choose from {', '.join(TRACE_FORMATS)})")
    if fmt != "auto":
        return fmt
    if path == "-":
        return "policyctl"
    import os

    from policyctl.traces.sources import detect

    found = detect(path)
    if found is None:
        if os.path.isdir(path):
            raise UsageError(f"{path}: a folder whose files do not show their format; give --trace-format")
        return "policyctl"  # the reader names what is wrong with the file
    return found


class TraceInput:
    """A trace to replay: a policyctl JSONL file, or files of an import source."""

    def __init__(self, path: str, fmt: str = "auto", *, servers: list[str] = (),  # type: ignore[assignment]
                 grant_from: str | None = None, since: str | None = None, until: str | None = None) -> None:
        self.path = path
        self.format = resolve_format(path, fmt)
        self.servers = list(servers)
        if self.format == "policyctl" and grant_from is not None:
            raise UsageError("--grant-from applies to imported sources only (a policyctl trace has its grants)")
        self.options = build_options(servers=self.servers, grant_from=grant_from or "const:default",
                                     since=since, until=until)
        self.summary: Any = None

    @property
    def plain(self) -> bool:
        """A policyctl trace read as is (the simulator's fast paths apply)."""
        o = self.options
        return self.format == "policyctl" and not self.servers and o.since_ns is None and o.until_ns is None

    def records(self, *, skip_invalid: bool = False, stats: Any = None,
                progress: Callable[[int], None] | None = None) -> Iterator[tuple]:
        """``(line, ts_ns, grant, tool, args, upstream, rec, msg)`` per call, as
        :func:`policyctl.traces.reader.iter_records` yields them; ``line`` is ``FILE:LINE`` for an
        imported source."""
        if self.format == "policyctl":
            yield from self._policyctl(skip_invalid, stats, progress)
            return
        from policyctl.traces.importers import ImportSummary, import_calls

        self.summary = summary = ImportSummary()
        warnings = summary.warnings
        n = 0
        for call, path in import_calls(self.format, [self.path], self.options, summary, warnings.append, progress):
            rec = call.record()
            n += 1
            upstream = bool(call.upstream_error)
            yield f"{path}:{call.line}", call.ts_ns, call.grant, call.tool, call.args, upstream, rec, None
        if summary.files_read == 0:
            from policyctl.errors import InputError

            raise InputError(f"{self.path}: no {self.format} files to read"
                             + (f" ({'; '.join(warnings)})" if warnings else ""))
        if stats is not None:
            stats.lines = n
            stats.calls = n
            stats.invalid_lines += summary.invalid_lines  # reported (with file:line) by the import summary

    def _policyctl(self, skip_invalid: bool, stats: Any, progress: Any) -> Iterator[tuple]:
        from policyctl.traces.importers import server_matcher
        from policyctl.traces.reader import iter_records

        o = self.options
        match = server_matcher(tuple(self.servers)) if self.servers else None
        for row in iter_records(self.path, skip_invalid=skip_invalid, stats=stats, progress=progress):
            if match is not None and not match(row[6].get("server")):
                continue
            if o.since_ns is not None and row[1] < o.since_ns:
                continue
            if o.until_ns is not None and row[1] >= o.until_ns:
                continue
            yield row
