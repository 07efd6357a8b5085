"""Streams a trace through the evaluator (SPEC §2, §3): decisions, tallies, expectations.

Public API::

    simulate(policy, calls: Iterable[TraceCall], *, windows="fixed") -> Iterator[tuple[TraceCall, Decision]]
    run(policy, path, *, windows="fixed", skip_invalid=False, on_call=None, progress=None,
        coverage=False, fh=None) -> SimulationResult

``run`` is what ``policyctl simulate`` uses: it reads the trace itself and, unless a per-call sink or
coverage is requested, takes a fast path that keeps only tallies (a list indexed by decision code)
and never builds per-call objects. Memory does not grow with the number of calls: counters evict
passed windows, expectation failures beyond the first 1,000 are counted but not kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator

import orjson

from policyctl.engine.evaluator import REASONS, Decision, Evaluator, seconds_to_ns
from policyctl.errors import InputError
from policyctl.files import display_name
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.traces.reader import (
    BadRecord,
    ByteReader,
    OverlongLine,
    TimeCache,
    TraceCall,
    TraceStats,
    check_expect,
    check_extras,
    decode_lines,
    decode_record,
    iter_lines,
    iter_records,
    json_error,
    open_trace,
    overlong_message,
    record_id,
)

__all__ = ["simulate", "run", "SimulationResult", "CallResult", "ExpectationFailure", "KEEP_FAILURES"]

KEEP_FAILURES = 1000

#: the per-call hook of ``run(report=True)``: (evaluation time ns, grant, decision code, upstream failed),
#: called right after the call is tallied, in trace order, on every path (fast, general, parallel); it
#: returns the time until which the loops need not call it when ``fast_path`` says so
#: (``ReportCollector.fast_path``)
Observe = Callable[[int, str, int, Any], int]  # (ts_ns, grant, code, upstream) -> edge


def simulate(policy: Policy, calls: Iterable[TraceCall], *,
             windows: str = "fixed") -> Iterator[tuple[TraceCall, Decision]]:
    """Evaluate ``calls`` in order with fresh counters; yields each call with its decision."""
    ev = Evaluator(policy, windows=windows)
    programs = ev.programs
    decisions = ev.decisions
    clock = None
    for call in calls:
        prog = programs.get(call.tool)
        if prog is None:
            prog = ev.program(call.tool)
        ts = call.ts_ns if call.ts_ns is not None else seconds_to_ns(call.ts)
        if clock is not None and ts < clock:
            ts = clock  # the evaluation clock never runs backwards (read_trace already did this)
        clock = ts
        yield call, decisions[prog(ts, call.grant, call.args, bool(call.upstream_error))]


@dataclass(frozen=True, slots=True)
class ExpectationFailure:
    line: int
    id: object
    ts: object
    grant: str
    tool: str
    expect: str | None
    expect_rule: str | None
    decision: Decision


@dataclass(frozen=True, slots=True)
class CallResult:
    """One evaluated call as the per-call reporters (jsonl, junit) see it."""

    line: int
    id: object
    ts: object
    grant: str
    tool: str
    arg_keys: list[str]
    args: dict
    decision: Decision
    expect: str | None
    expect_rule: str | None
    ok: bool | None


def expectation_ok(decision: Decision, expect: str | None, expect_rule: str | None) -> bool:
    """A line is ok when every expectation it states holds (SPEC §3)."""
    if expect is not None and not decision.matches(expect):
        return False
    return expect_rule is None or expect_rule == decision.rule


@dataclass
class SimulationResult:
    """Everything the summary reporters need, independent of the trace's length."""

    windows: str
    evaluator: Evaluator
    tally: list[int]
    stats: TraceStats
    checked: int = 0
    failed: int = 0
    failures: list[ExpectationFailure] = field(default_factory=list)
    coverage: Any = None
    report: Any = None  # a policyctl.simulate.report.SimulationReport when run(report=True)

    @property
    def calls(self) -> int:
        return sum(self.tally)

    def by_tool(self) -> dict[str, dict[str, int]]:
        """tool → {"calls", "allowed", "hidden", "default_deny", "require", "deny_if", "rate_limited"}."""
        out: dict[str, dict[str, int]] = {}
        decisions, tools = self.evaluator.decisions, self.evaluator.tools
        for code, n in enumerate(self.tally):
            if not n:
                continue
            row = out.get(tools[code])
            if row is None:
                row = out[tools[code]] = {"calls": 0, **{r: 0 for r in self.reasons}}
            row["calls"] += n
            row[decisions[code].reason] += n
        return {t: out[t] for t in sorted(out)}

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons this run can report: SPEC §2's six, plus the dialect's own (Intercept's
        ``require_approval`` and ``policy_error``)."""
        return getattr(self.evaluator, "reasons", REASONS)

    def by_reason(self) -> dict[str, int]:
        out = {r: 0 for r in self.reasons}
        for code, n in enumerate(self.tally):
            if n:
                out[self.evaluator.decisions[code].reason] += n
        return out

    @property
    def allowed(self) -> int:
        return self.by_reason()["allowed"]

    @property
    def denied(self) -> int:
        return self.calls - self.allowed


def run(policy: Policy, path: str, *, windows: str = "fixed", skip_invalid: bool = False,
        on_call: Callable[[CallResult], None] | None = None,
        progress: Callable[[int], None] | None = None, coverage: bool = False,
        fh: IO[bytes] | None = None, parallel: bool | None = None, trace_input: Any = None,
        on_unchecked: Callable[[int, str], None] | None = None, report: bool = False) -> SimulationResult:
    """Simulate the trace at ``path`` (``-`` = stdin). Raises InputError on a bad line unless ``skip_invalid``.

    ``trace_input`` (a :class:`policyctl.traces.replay.TraceInput`) replays an imported source or a
    filtered trace instead; its calls go through the general loop (``line`` is then ``FILE:LINE``).

    ``on_unchecked(line, message)``: an invalid line skipped by ``skip_invalid`` stated an
    expectation, which was therefore never checked (the JUnit report shows it as an error).

    ``report``: also aggregate what ``simulate --report`` draws (``result.report``), on whichever
    path the run takes: every path hands each evaluated call to the collector's ``observe`` hook.

    ``parallel``: None (default) lets a summary-only run of a large regular file use two processes
    (see ``_parallel``); False never does; True does whenever it can (the tests use it on small files).
    """
    from policyctl.engine.interpret import make_evaluator

    ev = make_evaluator(policy, windows=windows)
    stats = TraceStats()
    result = SimulationResult(windows, ev, [], stats)
    cov = None
    if coverage:
        from policyctl.engine.coverage import ProgramCoverage

        if isinstance(policy, Policy):  # the compiled evaluator decides; coverage walks its program
            cov = ProgramCoverage(ev.ir, windows=windows)
        else:
            cov = ProgramCoverage(policy, ev)
    collector = None
    if report:
        from policyctl.simulate.report import ProgramReportCollector, ReportCollector

        collector = (ReportCollector if isinstance(ev, Evaluator) else ProgramReportCollector)(ev, result.tally)
    observe = collector.observe if collector is not None else None
    fast_path = collector.fast_path if collector is not None else None
    if trace_input is not None and not trace_input.plain:
        rows = trace_input.records(skip_invalid=skip_invalid, stats=stats, progress=progress)
        _general(ev, path, result, skip_invalid, progress, fh, on_call, cov, rows, observe=observe)
    elif on_call is None and cov is None and on_unchecked is None:
        if (parallel is not False and progress is None and fh is None and _parallel_ok(path, parallel)
                and _splits(ev)):  # last: it compiles every listed tool's program
            _parallel(ev, path, result, skip_invalid, observe, fast_path)
        else:
            _fast(ev, path, result, skip_invalid, progress, fh, observe=observe, fast_path=fast_path)
    else:
        _general(ev, path, result, skip_invalid, progress, fh, on_call, cov, on_unchecked=on_unchecked,
                 observe=observe)
    if cov is not None:
        result.coverage = cov.report(result)
    if collector is not None:
        result.report = collector.finish(result)
    return result


def _record_expectation(result: SimulationResult, line: int, rec: dict, msg: dict | None, grant: str,
                        tool: str, decision: Decision) -> bool | None:
    return _expectation(result, line, record_id(rec, msg), rec.get("ts"), grant, tool, rec.get("expect"),
                        rec.get("expect_rule"), decision)


def _expectation(result: SimulationResult, line: int, rid: object, ts_raw: object, grant: str, tool: str,
                 expect: str | None, expect_rule: str | None, decision: Decision) -> bool | None:
    if expect is None and expect_rule is None:  # "expect": null states nothing (as "grant": null)
        return None
    ok = expectation_ok(decision, expect, expect_rule)
    result.checked += 1
    if not ok:
        result.failed += 1
        if len(result.failures) < KEEP_FAILURES:
            result.failures.append(ExpectationFailure(line, rid, ts_raw, grant, tool, expect, expect_rule, decision))
    return ok


def _general(ev: Evaluator, path: str, result: SimulationResult, skip_invalid: bool,
             progress: Callable[[int], None] | None, fh: IO[bytes] | None,
             on_call: Callable[[CallResult], None] | None, cov: Any, rows: Iterable[tuple] | None = None,
             on_unchecked: Callable[[int, str], None] | None = None, observe: Observe | None = None) -> None:
    tally = result.tally
    programs = ev.programs
    decisions = ev.decisions
    if rows is None:
        rows = iter_records(path, skip_invalid=skip_invalid, stats=result.stats, fh=fh, progress=progress,
                            on_unchecked=on_unchecked)
    decide = cov.decide if cov is not None and cov.decides else None  # it walks each call itself, step by step
    count = cov.count if cov is not None and not cov.decides else None
    for line, ts, grant, tool, args, upstream, rec, msg in rows:
        if decide is not None:
            code = decide(ts, grant, tool, args, upstream)
        else:
            prog = programs.get(tool)
            if prog is None:
                prog = ev.program(tool)
            code = prog(ts, grant, args, upstream)
        if code >= len(tally):
            tally.extend([0] * (len(decisions) - len(tally)))
        tally[code] += 1
        if observe is not None:
            observe(ts, grant, code, bool(upstream))
        decision = decisions[code]
        ok = None
        if "expect" in rec or "expect_rule" in rec:
            ok = _record_expectation(result, line, rec, msg, grant, tool, decision)
        if count is not None:
            count(ts, grant, tool, args, upstream)
        if on_call is not None:
            on_call(CallResult(line, record_id(rec, msg), rec.get("ts"), grant, tool, sorted(args), args,
                               decision, rec.get("expect"), rec.get("expect_rule"), ok))


def _fast(ev: Evaluator, path: str, result: SimulationResult, skip_invalid: bool,
          progress: Callable[[int], None] | None, fh: IO[bytes] | None, end: int | None = None,
          observe: Observe | None = None, fast_path: Callable[[], Any] | None = None) -> int:
    """The hot loop: the reader's fast path and the evaluation inlined, tallies only.

    It must agree exactly with ``iter_records`` + ``_general`` (a test replays odd traces through
    both); anything unusual on a line goes through the same ``decode_record`` they use.

    With ``observe`` (``--report``), ``fast_path()`` may say that this loop need call it only at
    the edges it returns (``ReportCollector.fast_path``: the programs hand the collector the calls
    that matter): a Python call per call would cost more than everything the report does with most.
    """
    stats = result.stats
    name = display_name(path)
    own = fh is None
    if fh is None:
        fh = open_trace(path)
    src: ByteReader = fh if end is None else _Limited(fh, end)
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    tc = TimeCache()
    prefixes, suffixes = tc.prefixes, tc.suffixes
    last_prefix = ""
    last_base = 0
    prev_ns = _NO_TIME
    programs = ev.programs
    decisions = ev.decisions
    tally = result.tally
    lineno = 0
    backwards = 0
    base: int | None
    off: int
    upstream: bool | str
    rec: Any  # the line as orjson reads it (None while only plain.decode has read it)
    r: Any  # the line as plain.decode reads it, or None
    tally.extend([0] * (len(decisions) - len(tally)))  # programs compiled before this loop
    seen: Callable[[int], None] | None = None
    edge = _NO_TIME
    lim = _NO_TIME
    off = 0
    calls_at_message = 0  # (with seen) the calls before the first message line after the last of them
    clock_at_message = _NO_TIME
    if observe is not None and fast_path is not None:
        seen = fast_path()
    # policyctl.traces.plain from the second batch (1 MiB) on (PLAIN_AFTER_LINES): a small trace does
    # not pay its import
    plain: Callable[[bytes], Any] = loads
    plain_error: Any = decode_error
    plain_max = -1
    misses = 0
    try:
        for batch in iter_lines(src, name, progress):
            if plain_max == -1 and lineno >= PLAIN_AFTER_LINES and not misses:
                from policyctl.traces import plain as plain_module

                plain, plain_error, plain_max = plain_module.decode, plain_module.ERRORS, plain_module.MAX_BYTES
            for lineno, raw in enumerate(batch, lineno + 1):  # noqa: B020 - the start is read once
                # The common line (exactly ts/tool/args/grant, perhaps id, of the usual types) is read
                # straight into a struct (policyctl.traces.plain); any other goes through orjson and
                # the checks below, and anything unusual there through decode_record.
                r = None
                if len(raw) <= plain_max:
                    try:
                        r = plain(raw)
                    except plain_error:
                        misses += 1
                        if misses > 256 and misses * 4 > lineno:  # mostly other lines: stop trying
                            plain_max = -1
                rec = None
                if r is None:
                    try:
                        rec = loads(raw)
                    except decode_error:
                        if type(raw) is OverlongLine:
                            _bad(stats, name, lineno, overlong_message(), skip_invalid)
                        elif not raw.strip():
                            stats.blank_lines += 1
                        else:
                            _bad(stats, name, lineno, json_error(raw), skip_invalid)
                        continue
                # Fast path: a plain record whose ts/tool/args/grant have the usual types. Anything
                # else (a non-object line: rec["ts"] raises; an unusual timestamp: KeyError below)
                # goes through decode_record, which has every rule and every message.
                try:
                    if r is None:
                        tool = rec["tool"]  # missing: KeyError, as a wrong type below
                        args = rec["args"]
                        grant = rec["grant"]
                        if type(tool) is not str or type(args) is not dict or type(grant) is not str:
                            raise KeyError
                        ts = rec["ts"]
                        if len(rec) == 4:  # exactly ts/tool/args/grant: nothing else to look at
                            check = False
                            upstream = False
                        elif len(rec) == 5 and "id" in rec:  # the next most common shape: nothing to check
                            check = False
                            upstream = False
                        else:
                            if "message" in rec:
                                raise KeyError
                            upstream = check_extras(rec)  # BadRecord: reported below, like decode_record's
                            check = "expect" in rec or "expect_rule" in rec
                            if check:
                                check_expect(rec)  # BadRecord: reported below, like decode_record's
                    else:
                        ts = r.ts
                        tool = r.tool
                        args = r.args
                        grant = r.grant
                        check = False
                        upstream = False
                    p = ts[:19]
                    if p != last_prefix:
                        base = prefixes.get(p)
                        if base is None:
                            base = tc.prefix(p) if type(p) is str else None
                            if base is None:
                                raise KeyError
                        last_prefix = p
                        last_base = base
                        lim = _NO_TIME  # --report: check this call's time against the edge exactly
                    s = ts[19:]
                    try:  # subscripts, not .get: no method call on the common path
                        off = suffixes[s]
                    except KeyError:
                        got = tc.suffix(s)
                        if got is None:
                            raise
                        off = got
                    ts_ns = last_base + off
                    msg = None
                except (KeyError, TypeError, BadRecord):
                    lim = _NO_TIME
                    if rec is None:
                        rec = loads(raw)  # decode accepted it: so does orjson (policyctl.traces.plain)
                    try:
                        ts_ns, grant, tool, args, upstream, msg = decode_record(rec)
                    except BadRecord as exc:
                        _bad(stats, name, lineno, str(exc), skip_invalid)
                        continue
                    check = "expect" in rec or "expect_rule" in rec
                    if tool is None:
                        if seen is not None:  # the clock after the last call, before the messages after it
                            calls = sum(tally)
                            if calls != calls_at_message:
                                calls_at_message, clock_at_message = calls, prev_ns
                        if ts_ns < prev_ns:
                            backwards += 1
                            if stats.first_backwards_line is None:
                                stats.first_backwards_line = lineno
                        else:
                            prev_ns = ts_ns
                        stats.non_tool_messages += 1
                        continue
                if ts_ns < prev_ns:  # the clock never runs backwards: evaluate at the newest time
                    backwards += 1
                    if stats.first_backwards_line is None:
                        stats.first_backwards_line = lineno
                    ts_ns = prev_ns
                    lim = _NO_TIME
                else:
                    prev_ns = ts_ns
                try:
                    prog = programs[tool]
                except KeyError:
                    prog = ev.program(tool)
                    tally.extend([0] * (len(decisions) - len(tally)))
                code = prog(ts_ns, grant, args, upstream)
                tally[code] += 1
                if observe is not None:  # at its edges only when the programs do the rest (fast_path)
                    # ts_ns >= edge, compared in small ints: ts_ns is last_base + off here unless lim
                    # was reset (a new base, a clamped or unusual time); lim is edge - last_base, at
                    # most _SMALL, so an off at or above it is a call to check exactly
                    if off >= lim:
                        if ts_ns >= edge:  # an observe for every call returns a time before any call
                            edge = observe(ts_ns, grant, code, upstream)
                        lim = edge - last_base
                        if lim > _SMALL:
                            lim = _SMALL
                if check:  # the line states an expectation
                    _record_expectation(result, lineno, rec, msg, grant, tool, decisions[code])
    finally:
        stats.lines = lineno
        stats.calls = sum(tally)
        stats.backwards = backwards
        if own and hasattr(fh, "close") and fh.fileno() != 0:
            fh.close()
        if seen is not None and stats.calls:  # the time of the last call
            seen(clock_at_message if stats.calls == calls_at_message else prev_ns)
    return prev_ns


def _bad(stats: TraceStats, name: str, lineno: int, what: str, skip: bool) -> None:
    message = f"{name}:{lineno}: {what}"
    if not skip:
        raise InputError(message)
    stats.invalid_lines += 1
    if len(stats.invalid_messages) < 20:
        stats.invalid_messages.append(message)


# --- two processes for big files ----------------------------------------------------------------
#
# Most of a call's cost is stateless: decoding the line, checking it, the hide/default/require/
# deny_if rules. Only the limits carry state from call to call. For a large trace file, a forked
# worker takes the second half of the file through that stateless stage and writes one compact
# record per line (kind, time, tool, grant or decision code; expectations and bad lines on the side)
# to a temporary file, while this process simulates the first half completely; then it runs the
# limits of the second half from those records, in file order, on the same counters and clock. The
# results are identical to the single loop (a property test compares them on random traces); only
# the wall time differs. Used for summary output (json, text) of a regular file of 16 MiB or more
# on a machine with two or more CPUs and at least one of them idle (1-minute load average);
# POLICYCTL_WORKERS=1 turns it off, POLICYCTL_WORKERS=2 uses it whatever the load.

import os  # noqa: E402  (kept next to the only code that needs it)

PARALLEL_MIN_BYTES = 16 * 1024 * 1024
#: _fast offers lines to policyctl.traces.plain from the first batch after this many lines (the tests set 0)
PLAIN_AFTER_LINES = 1
_NO_TIME = -(1 << 80)
_SMALL = (1 << 30) - 1  # the largest int CPython compares without its generic (multi-digit) path
_BATCH = 65536
_K_MESSAGE, _K_DECIDED, _K_LIMITS, _K_LIMITS_FAILED = range(4)
#: a failed upstream call named by its kind (the Intercept dialect releases on some kinds only):
#: kind byte _K_UPSTREAM + its index here
_UPSTREAM_NAMED = ("jsonrpc_error", "tool_error", "no_response", "not_forwarded")
_K_UPSTREAM = 4


def _splits(ev: Any) -> bool:
    """Can the program be cut into a stateless rules stage and a limits stage (``ev.stages``)? Always
    for the compiled PolicyLayer evaluator; for an interpreter when every tool's program can be."""
    if isinstance(ev, Evaluator):
        return True
    return bool(getattr(ev, "splits", lambda: False)())


def _listed_tools(ev: Any) -> Iterable[str]:
    return ev.ir.tools


def _parallel_ok(path: str, forced: bool | None) -> bool:
    if path == "-" or not hasattr(os, "fork") or os.environ.get("POLICYCTL_WORKERS") == "1":
        return False
    try:
        import stat

        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    if forced:
        return True
    cpus = os.cpu_count() or 1
    if st.st_size < PARALLEL_MIN_BYTES or cpus < 2:
        return False
    if os.environ.get("POLICYCTL_WORKERS") == "2":
        return True
    try:  # a second process only pays off when a CPU is free; on a busy machine it costs time
        return os.getloadavg()[0] <= cpus - 1
    except OSError:
        return True


class _Limited:
    """A binary reader that stops at byte offset ``end`` of the underlying file."""

    def __init__(self, fh: IO[bytes], end: int) -> None:
        self.fh = fh
        self.left = end - fh.tell()

    def read(self, n: int) -> bytes:
        if self.left <= 0:
            return b""
        data = self.fh.read(min(n, self.left))
        self.left -= len(data)
        return data

    def fileno(self) -> int:
        return self.fh.fileno()

    def close(self) -> None:
        self.fh.close()


#: share of the file this process simulates itself, chosen so that it finishes its share when the worker
#: finishes the rest; the limits stage of the worker's lines runs here afterwards. Measured on the
#: benchmark trace (CPU seconds per million lines): this process 1.44 whole (its loop reads common lines
#: with policyctl.traces.plain), the worker 2.27 for the stateless stage, 0.81 replayed here:
#: 1.44 x = 2.27 (1 - x) at x = 0.61
SPLIT = 0.6


def _split_point(path: str) -> tuple[int, int]:
    """(offset of the first line starting at or after SPLIT of the file, file size)."""
    size = os.stat(path).st_size
    with open(path, "rb") as fh:
        fh.seek(int(size * SPLIT))
        fh.readline()
        return fh.tell(), size


def _parallel(ev: Evaluator, path: str, result: SimulationResult, skip_invalid: bool,
              observe: Observe | None = None, fast_path: Callable[[], Any] | None = None) -> None:
    import pickle
    import tempfile

    split, size = _split_point(path)
    if split <= 0 or split >= size:
        _fast(ev, path, result, skip_invalid, None, None, observe=observe, fast_path=fast_path)
        return
    for tool in _listed_tools(ev):  # codes of listed tools are fixed before the fork, identical in both
        ev.program(tool)
    known = len(ev.decisions)
    spool = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:  # the worker: never returns
        code = 0
        try:
            _stage_one(ev, path, split, size, skip_invalid, known, spool)
        except BaseException:  # noqa: BLE001 - reported to the parent as a failure
            code = 70
        finally:
            try:
                spool.flush()
            finally:
                os._exit(code)
    try:
        clock = _fast(ev, path, result, skip_invalid, None, None, end=split, observe=observe, fast_path=fast_path)
    except BaseException:
        _reap(pid, kill=True)
        spool.close()
        raise
    status = _reap(pid)
    try:
        if status != 0:
            raise RuntimeError(f"the simulator's worker process failed (status {status})")
        spool.seek(0)
        _stage_two(ev, result, spool, display_name(path), skip_invalid, known, clock, pickle, observe, fast_path)
    finally:
        spool.close()


def _reap(pid: int, kill: bool = False) -> int:
    if kill:
        import signal

        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _stage_one(ev: Evaluator, path: str, start: int, end: int, skip_invalid: bool, known: int, spool: Any) -> None:
    """Worker: the stateless stage of every line in ``[start, end)``, spooled as compact batches."""
    import pickle
    from array import array

    fh = open(path, "rb")
    fh.seek(start)
    stages: dict[str, tuple[int, Any, bool]] = {}  # tool -> (index, rules, has limits)
    grant_ix: dict[str, int] = {}
    new_tools: list[str] = []
    new_grants: list[str] = []
    kinds = bytearray()
    times: Any = array("q")
    a = array("i")  # tool index
    b = array("i")  # grant index (limits) or decision code (decided; -1: ask the parent)
    ln = array("i")  # line number, counted from the split
    side: list[tuple] = []  # (record index, payload) for lines with expectations
    bad_lines: list[tuple[int, str]] = []  # (line, what is wrong)
    counts = [0, 0]  # lines, blank lines
    dump = pickle.dump

    def flush() -> None:
        nonlocal kinds, times, a, b, ln, side, bad_lines, new_tools, new_grants
        dump((bytes(kinds), times, a, b, ln, side, bad_lines, new_tools, new_grants), spool,
             protocol=pickle.HIGHEST_PROTOCOL)
        kinds, times, a, b, ln, side, bad_lines = bytearray(), array("q"), array("i"), array("i"), array("i"), [], []
        new_tools, new_grants = [], []

    for lineno, ts_ns, grant, tool, args, upstream, rec, msg, bad in decode_lines(_Limited(fh, end), path,
                                                                                  None, counts):
        if bad is not None:
            bad_lines.append((lineno, bad))
            if not skip_invalid:
                flush()
                dump(("end", lineno, counts[1]), spool)
                return
            continue
        try:
            times.append(ts_ns)
        except OverflowError:  # beyond year 2262: keep exact Python ints for this batch
            times = list(times)
            times.append(ts_ns)
        ln.append(lineno)
        if tool is None:
            kinds.append(_K_MESSAGE)
            a.append(0)
            b.append(0)
        else:
            st = stages.get(tool)
            if st is None:
                rules, limits = ev.stages(tool)
                st = stages[tool] = (len(stages), rules, limits is not None)
                new_tools.append(tool)
            code = st[1](args)
            a.append(st[0])
            if code < 0:
                gi = grant_ix.get(grant)
                if gi is None:
                    gi = grant_ix[grant] = len(grant_ix)
                    new_grants.append(grant)
                if type(upstream) is str:  # a named failure (validated by the reader)
                    kinds.append(_K_UPSTREAM + _UPSTREAM_NAMED.index(upstream))
                else:
                    kinds.append(_K_LIMITS_FAILED if upstream else _K_LIMITS)
                b.append(gi)
            else:
                kinds.append(_K_DECIDED)
                b.append(code if code < known else -1)
            if "expect" in rec or "expect_rule" in rec:
                side.append((len(kinds) - 1, (record_id(rec, msg), rec.get("ts"), grant, rec.get("expect"),
                                              rec.get("expect_rule"))))
        if len(kinds) >= _BATCH:
            flush()
    flush()
    dump(("end", counts[0], counts[1]), spool)


def _stage_two(ev: Evaluator, result: SimulationResult, spool: Any, name: str, skip_invalid: bool, known: int,
               clock: int, pickle: Any, observe: Observe | None = None,
               fast_path: Callable[[], Any] | None = None) -> None:
    """Parent: replay the worker's records in file order through the limits, on the same clock."""
    stats = result.stats
    tally = result.tally
    decisions = ev.decisions
    first_line = stats.lines  # lines of the first half; the worker counts from 1 again
    backwards = stats.backwards
    tools: list[str] = []
    grants: list[str] = []
    stage_of: list[Any] = []
    load = pickle.load
    seen = fast_path() if observe is not None and fast_path is not None else None
    edge = _NO_TIME  # with ``seen``: observe only at the edges it returns, as in _fast
    last_call = _NO_TIME
    while True:
        item = load(spool)
        if item[0] == "end":
            _, lines, blank = item
            break
        kinds, times, a, b, ln, side, bad_lines, new_tools, new_grants = item
        for tool in new_tools:
            tools.append(tool)
            stage_of.append(ev.stages(tool))
        grants.extend(new_grants)
        # Bad lines first: without --skip-invalid the first one ends the run (every line of the
        # first half was fine, or we would not be here); with it, they are only counted.
        for line, what in bad_lines:
            _bad(stats, name, first_line + line, what, skip_invalid)
        si = 0
        next_side = side[0][0] if side else -1
        for i, (kind, t, ti, bi) in enumerate(zip(kinds, times, a, b)):
            if t < clock:  # the clock never runs backwards: evaluate at the newest time
                backwards += 1
                if stats.first_backwards_line is None:
                    stats.first_backwards_line = first_line + ln[i]
                t = clock
            else:
                clock = t
            if kind == _K_LIMITS:
                code = stage_of[ti][1](t, grants[bi], False)
            elif kind == _K_DECIDED:
                code = bi if bi >= 0 else stage_of[ti][0]({})  # -1: an unlisted tool, hidden or default deny
            elif kind == _K_LIMITS_FAILED:
                code = stage_of[ti][1](t, grants[bi], True)
            elif kind >= _K_UPSTREAM:
                code = stage_of[ti][1](t, grants[bi], _UPSTREAM_NAMED[kind - _K_UPSTREAM])
            else:  # _K_MESSAGE
                stats.non_tool_messages += 1
                continue
            if code >= len(tally):
                tally.extend([0] * (len(decisions) - len(tally)))
            tally[code] += 1
            if observe is not None:
                last_call = t
                if t >= edge:  # as in _fast; decided calls reserve nothing: their grant is not needed
                    up = _UPSTREAM_NAMED[kind - _K_UPSTREAM] if kind >= _K_UPSTREAM else kind == _K_LIMITS_FAILED
                    edge = observe(t, grants[bi] if kind != _K_DECIDED else "", code, up)
            if i == next_side:
                rid, ts_raw, grant, expect, expect_rule = side[si][1]
                _expectation(result, first_line + ln[i], rid, ts_raw, grant, tools[ti], expect, expect_rule,
                             decisions[code])
                si += 1
                next_side = side[si][0] if si < len(side) else -1
    if seen is not None and last_call != _NO_TIME:
        seen(last_call)
    stats.lines = first_line + lines
    stats.blank_lines += blank
    stats.calls = sum(tally)
    stats.backwards = backwards
