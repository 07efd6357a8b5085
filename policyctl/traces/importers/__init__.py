"""Importers: tool calls that agents and gateways already recorded, as SPEC §3 trace records.

One module per source (``claude_code``, ``codex``, ``claude_desktop``, ``otlp``, ``jsonrpc``); each
defines a :class:`Source` that lists its files and yields :class:`Call` values per file. The run
(:func:`import_calls`) reads the files one at a time, spools each file's calls sorted by time,
merges the spooled runs in timestamp order (``policyctl.traces.merge``), drops duplicate call ids
(the earliest copy wins) and applies the filters. Memory stays bounded whatever the folder size,
beyond the set of call ids kept for de-duplication and pairing.

Public API::

    SOURCES                                   # name -> module path
    ImportOptions(...)                        # what the command line asked for
    ImportSummary                             # what the stderr summary reports
    import_calls(source, paths, options, summary, warn, progress=None) -> Iterator[Call]
    Call.record() -> dict                     # the SPEC §3 plain record
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from policyctl.errors import UsageError

__all__ = ["SOURCES", "Call", "ImportOptions", "ImportSummary", "Context", "import_calls", "source_module",
           "canonical_ts", "server_matcher", "parse_grant_from"]

SOURCES: dict[str, str] = {
    "claude-code": "policyctl.traces.importers.claude_code",
    "codex": "policyctl.traces.importers.codex",
    "claude-desktop": "policyctl.traces.importers.claude_desktop",
    "otlp": "policyctl.traces.importers.otlp",
    "jsonrpc": "policyctl.traces.importers.jsonrpc",
}

NS = 1_000_000_000
_NOT_SENT = ("no_response", "not_forwarded")  # SPEC §3 upstream values that do not imply a failure
_KEEP_MESSAGES = 20


def source_module(name: str) -> Any:
    """The importer module of a source name (UsageError for an unknown one)."""
    try:
        return importlib.import_module(SOURCES[name])
    except KeyError:
        raise UsageError(f"unknown source {name!r} (choose from {', '.join(SOURCES)})") from None


# --- the call --------------------------------------------------------------------------------------

class Call:
    """One imported tool call. ``upstream`` is ``ok``, ``tool_error``, ``jsonrpc_error``, ``error``
    (failed, kind unknown) or None (no result seen); ``pair`` is the key its result is looked up by
    at merge time (sources whose results may sit in another file), else None."""

    __slots__ = ("ts_ns", "file_ix", "line", "seq", "key", "server", "tool", "args", "id", "grant",
                 "upstream", "executed", "observed", "pair", "note", "failed")

    def __init__(self, ts_ns: int, file_ix: int, line: int, seq: int, key: Any, server: str | None, tool: str,
                 args: dict | None, id: Any, grant: str, upstream: str | None = None, executed: bool = True,
                 observed: str | None = None, pair: Any = None, note: str | None = None,
                 failed: bool | None = None) -> None:
        self.ts_ns = ts_ns
        self.file_ix = file_ix
        self.line = line
        self.seq = seq
        self.key = key
        self.server = server
        self.tool = tool
        self.args = args
        self.id = id
        self.grant = grant
        self.upstream = upstream
        self.executed = executed
        self.observed = observed
        self.pair = pair
        self.note = note  # "no_args": the source recorded no arguments (counted once per call)
        self.failed = failed  # upstream_error as recorded, for upstream no_response / not_forwarded

    def to_list(self) -> list:
        return [self.ts_ns, self.file_ix, self.line, self.seq, self.key, self.server, self.tool, self.args,
                self.id, self.grant, self.upstream, self.executed, self.observed, self.pair, self.note,
                self.failed]

    @classmethod
    def from_list(cls, v: list) -> "Call":
        return cls(*v)

    @property
    def upstream_error(self) -> bool | None:
        u = self.upstream
        if u is None:
            return None
        if u in _NOT_SENT:
            return bool(self.failed)
        return u != "ok"

    def record(self) -> dict:
        """The SPEC §3 plain record: ts, grant, tool, args, id, server, then what is known."""
        rec: dict[str, Any] = {"ts": canonical_ts(self.ts_ns), "grant": self.grant, "tool": self.tool,
                               "args": self.args, "id": self.id}
        if self.server is not None:
            rec["server"] = self.server
        u = self.upstream
        if u is not None:
            if u != "error":
                rec["upstream"] = u
            rec["upstream_error"] = self.upstream_error
        if not self.executed:
            rec["executed"] = False
        if self.observed is not None:
            rec["observed"] = self.observed
        return rec


def canonical_ts(ns: int) -> str:
    """RFC 3339 in UTC with ``Z`` and exactly the fraction digits needed (``…:05Z``, ``…:05.25Z``)."""
    from datetime import datetime, timedelta, timezone

    sec, frac = divmod(ns, NS)
    base = (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        base += "." + f"{frac:09d}".rstrip("0")
    return base + "Z"


# --- options and summary -----------------------------------------------------------------------------

@dataclass
class ImportOptions:
    grant_from: str = "const:default"  # const:NAME | session | project | agent
    servers: tuple[str, ...] = ()  # --server (any of them)
    since_ns: int | None = None
    until_ns: int | None = None
    known_servers: tuple[str, ...] = ()  # server names that contain "__"
    include_not_executed: bool = False
    keep_bad_args: bool = False


def parse_grant_from(value: str) -> str:
    """Check a ``--grant-from`` value; returns it unchanged."""
    if value in ("session", "project", "agent"):
        return value
    if value.startswith("const:") and len(value) > 6:
        return value
    raise UsageError(f"--grant-from: expected const:NAME, session, project or agent, not {value!r}")


@dataclass
class ImportSummary:
    """What an import saw; the CLI prints it on stderr."""

    source: str = ""
    files_read: int = 0
    calls: int = 0
    calls_per_server: dict[str, int] = field(default_factory=dict)
    duplicates_removed: int = 0
    not_executed: int = 0
    upstream_errors: int = 0
    observed_denied: int = 0
    invalid_lines: int = 0
    invalid_messages: list[str] = field(default_factory=list)
    truncated_last_lines: int = 0
    bad_args: int = 0
    bad_args_messages: list[str] = field(default_factory=list)
    kept_bad_args: bool = False
    kept_not_executed: bool = False
    no_args: int = 0
    other_servers: int = 0  # calls left out by --server
    outside_window: int = 0  # calls left out by --since/--until
    warnings: list[str] = field(default_factory=list)

    def invalid(self, path: str, line: int, what: str) -> None:
        self.invalid_lines += 1
        if len(self.invalid_messages) < _KEEP_MESSAGES:
            self.invalid_messages.append(f"{path}:{line}: {what}")


class Context:
    """What an importer needs while reading one file: options, counters, grants, warnings."""

    def __init__(self, options: ImportOptions, summary: ImportSummary, warn: Callable[[str], None],
                 progress: Callable[[int], None] | None = None) -> None:
        self.options = options
        self.summary = summary
        self.warn = warn
        self.progress = progress
        gf = options.grant_from
        self.grant_const = gf[6:] if gf.startswith("const:") else None
        self.grant_kind = gf
        self.wants_server = server_matcher(options.servers) if options.servers else None
        self.known = tuple(sorted(options.known_servers, key=len, reverse=True))

    def grant(self, session: Any = None, project: Any = None, agent: Any = None) -> str:
        if self.grant_const is not None:
            return self.grant_const
        value = {"session": session, "project": project, "agent": agent}[self.grant_kind]
        return value if isinstance(value, str) and value else "default"

    def keep_server(self, server: str | None) -> bool:
        """False (and counted) when ``--server`` was given and does not name ``server``."""
        if self.wants_server is None or self.wants_server(server):
            return True
        self.summary.other_servers += 1
        return False

    def invalid(self, path: str, line: int, what: str) -> None:
        self.summary.invalid(path, line, what)

    def not_json(self, path: str, line: int, raw: bytes, last: bool) -> None:
        """A line that does not parse: counted as truncated when it is the file's unterminated last
        line (a file still being written), else an invalid line naming the JSON error."""
        if last:
            self.summary.truncated_last_lines += 1
        else:
            from policyctl.traces.reader import json_error

            self.invalid(path, line, json_error(raw))

    def too_long(self, path: str, line: int, size: int, what: str = "a call") -> None:
        """An invalid line: one too long to read (:class:`~policyctl.traces.sources.Overlong`)."""
        self.invalid(path, line, f"line of {size:,} bytes is too long to read {what} from")

    def bad_args(self, path: str, line: int, what: str) -> None:
        s = self.summary
        s.bad_args += 1
        if len(s.bad_args_messages) < _KEEP_MESSAGES:
            s.bad_args_messages.append(f"{path}:{line}: {what}")


# --- server names --------------------------------------------------------------------------------------

_CC_NORMAL = re.compile(r"[^A-Za-z0-9_-]")
_CODEX_NORMAL = re.compile(r"[^A-Za-z0-9_]")


def _spellings(name: str) -> set[str]:
    """The forms a server name can take in the sources: as configured, after Claude Code's and after
    Codex's normalisation, and a plugin server's three names."""
    forms = {name, _CC_NORMAL.sub("_", name), _CODEX_NORMAL.sub("_", name)}
    m = re.fullmatch(r"plugin:([^:]+):(.+)", name)
    if m:
        plugin, server = m.groups()
        forms |= {server, f"plugin_{plugin}_{server}", _CC_NORMAL.sub("_", server)}
    return forms


def server_matcher(wanted: tuple[str, ...]) -> Callable[[str | None], bool]:
    """A test: does a record's server match any ``--server`` name (compared after normalisation)?"""
    want: set[str] = set()
    for name in wanted:
        want |= _spellings(name)
    cache: dict[str | None, bool] = {}

    def matches(server: str | None) -> bool:
        hit = cache.get(server)
        if hit is None:
            hit = server is not None and not want.isdisjoint(_spellings(server))
            cache[server] = hit
        return hit

    return matches


def split_mcp_name(rest: str, known: tuple[str, ...]) -> tuple[str, str] | None:
    """``<server>__<tool>`` → (server, tool): a known server name (longest first) wins, else the
    first ``__``; a Claude Code plugin server ``plugin_<plugin>_<server>`` becomes ``plugin:<plugin>:<server>``."""
    for k in known:
        if rest.startswith(k) and rest[len(k):len(k) + 2] == "__" and len(rest) > len(k) + 2:
            return k, rest[len(k) + 2:]
    server, sep, tool = rest.partition("__")
    if not sep or not tool or not server:
        return None
    if server.startswith("plugin_"):
        plugin, sep2, srv = server[7:].partition("_")
        if sep2 and plugin and srv:
            server = f"plugin:{plugin}:{srv}"
    return server, tool


# --- the run ----------------------------------------------------------------------------------------------

def import_calls(source: str, paths: list[str], options: ImportOptions, summary: ImportSummary,
                 warn: Callable[[str], None], progress: Callable[[int], None] | None = None,
                 ) -> Iterator[tuple[Call, str]]:
    """Every imported call of ``paths`` (the source's default folders when empty), in timestamp
    order, de-duplicated and filtered, with the display path of the file it came from."""
    from policyctl.traces.merge import Spool

    module = source_module(source)
    src = module.Source()
    summary.source = source
    summary.kept_bad_args = options.keep_bad_args
    summary.kept_not_executed = options.include_not_executed
    if not paths:
        paths = src.default_paths()
    files = src.files(paths, warn)
    ctx = Context(options, summary, warn, progress)
    with Spool() as spool:
        for ix, path in enumerate(files):
            summary.files_read += 1
            calls = list(src.read(path, ix, ctx))
            calls.sort(key=_order)
            spool.add_run(c.to_list() for c in calls)
            del calls
        seen: set = set()
        for row in spool.merged():
            call = Call.from_list(row)
            key = call.key
            if key is not None:
                if key in seen:
                    summary.duplicates_removed += 1
                    continue
                seen.add(key)
            src.resolve(call)
            if options.since_ns is not None and call.ts_ns < options.since_ns:
                summary.outside_window += 1
                continue
            if options.until_ns is not None and call.ts_ns >= options.until_ns:
                summary.outside_window += 1
                continue
            if call.args is None:  # arguments that are not a JSON object (counted once per call)
                ctx.bad_args(files[call.file_ix], call.line, "arguments are not a JSON object")
                if not options.keep_bad_args:
                    continue
                call.args = {}
                call.upstream = None
            if call.note == "no_args":
                summary.no_args += 1
            if not call.executed:
                summary.not_executed += 1
                if not options.include_not_executed:
                    continue
            summary.calls += 1
            name = call.server if call.server is not None else "(unknown)"
            summary.calls_per_server[name] = summary.calls_per_server.get(name, 0) + 1
            if call.upstream_error:
                summary.upstream_errors += 1
            if call.observed == "denied":
                summary.observed_denied += 1
            yield call, files[call.file_ix]


def _order(c: Call) -> tuple:
    return (c.ts_ns, c.file_ix, c.line, c.seq)
