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

from policyctl.engine import REASONS, Decision, Evaluator, seconds_to_ns
from policyctl.errors import InputError
from policyctl.files import display_name
from policyctl.model import Policy
from policyctl.traces import (
    TimeCache, TraceCall, TraceStats, _Bad, _check_expect, _json_error, _lines, _Overlong, decode_record,
    iter_records, open_trace, overlong_message, record_id,
)

__all__ = ["simulate", "run", "SimulationResult", "CallResult", "ExpectationFailure", "KEEP_FAILURES"]

KEEP_FAILURES = 1000


def simulate(policy: Policy, calls: Iterable[TraceCall], *, windows: str = "fixed") -> Iterator[tuple[TraceCall, Decision]]:
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
                row = out[tools[code]] = {"calls": 0, **{r: 0 for r in REASONS}}
            row["calls"] += n
            row[decisions[code].reason] += n
        return {t: out[t] for t in sorted(out)}

    def by_reason(self) -> dict[str, int]:
        out = {r: 0 for r in REASONS}
        for code, n in enumerate(self.tally):
            if n:
                out[self.evaluator.decisions[code].reason] += n
        return out

    def by_rule(self) -> dict[str, int]:
        """rule id → number of calls it denied."""
        out: dict[str, int] = {}
        for code, n in enumerate(self.tally):
            rule = self.evaluator.decisions[code].rule
            if n and rule is not None:
                out[rule] = out.get(rule, 0) + n
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
        fh: IO[bytes] | None = None) -> SimulationResult:
    """Simulate the trace at ``path`` (``-`` = stdin). Raises InputError on a bad line unless ``skip_invalid``."""
    ev = Evaluator(policy, windows=windows)
    stats = TraceStats()
    result = SimulationResult(windows, ev, [], stats)
    cov = None
    if coverage:
        from policyctl.coverage import CoverageCollector

        cov = CoverageCollector(policy, ev)
    if on_call is None and cov is None:
        _fast(ev, path, result, skip_invalid, progress, fh)
    else:
        _general(ev, path, result, skip_invalid, progress, fh, on_call, cov)
    if cov is not None:
        result.coverage = cov.report(result)
    return result


def _record_expectation(result: SimulationResult, line: int, rec: dict, msg: dict | None, grant: str,
                        tool: str, decision: Decision) -> bool:
    expect = rec.get("expect")
    expect_rule = rec.get("expect_rule")
    ok = expectation_ok(decision, expect, expect_rule)
    result.checked += 1
    if not ok:
        result.failed += 1
        if len(result.failures) < KEEP_FAILURES:
            result.failures.append(ExpectationFailure(
                line, record_id(rec, msg), rec.get("ts"), grant, tool, expect, expect_rule, decision))
    return ok


def _general(ev: Evaluator, path: str, result: SimulationResult, skip_invalid: bool,
             progress: Callable[[int], None] | None, fh: IO[bytes] | None,
             on_call: Callable[[CallResult], None] | None, cov: Any) -> None:
    tally = result.tally
    programs = ev.programs
    decisions = ev.decisions
    for line, ts, grant, tool, args, upstream, rec, msg in iter_records(
            path, skip_invalid=skip_invalid, stats=result.stats, fh=fh, progress=progress):
        prog = programs.get(tool)
        if prog is None:
            prog = ev.program(tool)
        code = prog(ts, grant, args, upstream)
        if code >= len(tally):
            tally.extend([0] * (len(decisions) - len(tally)))
        tally[code] += 1
        decision = decisions[code]
        ok = None
        if "expect" in rec or "expect_rule" in rec:
            ok = _record_expectation(result, line, rec, msg, grant, tool, decision)
        if cov is not None:
            cov.observe(tool, args, code)
        if on_call is not None:
            on_call(CallResult(line, record_id(rec, msg), rec.get("ts"), grant, tool, sorted(args), args,
                               decision, rec.get("expect"), rec.get("expect_rule"), ok))


def _fast(ev: Evaluator, path: str, result: SimulationResult, skip_invalid: bool,
          progress: Callable[[int], None] | None, fh: IO[bytes] | None) -> None:
    """The hot loop: the reader's fast path and the evaluation inlined, tallies only.

    It must agree exactly with ``iter_records`` + ``_general`` (a test replays odd traces through
    both); anything unusual on a line goes through the same ``decode_record`` they use.
    """
    stats = result.stats
    name = display_name(path)
    own = fh is None
    if fh is None:
        fh = open_trace(path)
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    tc = TimeCache()
    prefixes, suffixes = tc.prefixes, tc.suffixes
    last_prefix = ""
    last_base = 0
    prev_ns = -(1 << 80)
    programs = ev.programs
    decisions = ev.decisions
    tally = result.tally
    lineno = 0
    calls = 0
    backwards = 0
    try:
        for batch in _lines(fh, name, progress):
            for raw in batch:
                lineno += 1
                try:
                    rec = loads(raw)
                except decode_error as exc:
                    if type(raw) is _Overlong:
                        _bad(stats, name, lineno, overlong_message(), skip_invalid)
                    elif not raw.strip():
                        stats.blank_lines += 1
                    else:
                        _bad(stats, name, lineno, _json_error(exc), skip_invalid)
                    continue
                ts_ns = None
                upstream = False
                check = True  # whether the line may carry expectations
                if type(rec) is dict:
                    ts = rec.get("ts")
                    tool = rec.get("tool")
                    args = rec.get("args")
                    grant = rec.get("grant")
                    if type(ts) is str and type(tool) is str and type(args) is dict and type(grant) is str:
                        p = ts[:19]
                        if p == last_prefix:
                            base = last_base
                        else:
                            base = prefixes.get(p)
                            if base is None:
                                base = tc.prefix(p)
                            if base is not None:
                                last_prefix = p
                                last_base = base
                        if base is not None:
                            s = ts[19:]
                            off = suffixes.get(s)
                            if off is None:
                                off = tc.suffix(s)
                            if off is not None:
                                ts_ns = base + off
                        # exactly ts/tool/args/grant: no other key to look at
                        check = len(rec) != 4
                        if ts_ns is not None and check:
                            up = rec.get("upstream_error")
                            if "message" in rec or (up is not None and up is not True and up is not False):
                                ts_ns = None
                            else:
                                upstream = up is True
                                if "expect" in rec or "expect_rule" in rec:
                                    try:
                                        _check_expect(rec)
                                    except _Bad as exc:
                                        _bad(stats, name, lineno, str(exc), skip_invalid)
                                        continue
                if ts_ns is None:
                    try:
                        ts_ns, grant, tool, args, upstream, msg = decode_record(rec)
                    except _Bad as exc:
                        _bad(stats, name, lineno, str(exc), skip_invalid)
                        continue
                    check = True
                    if tool is None:
                        if ts_ns < prev_ns:
                            backwards += 1
                            if stats.first_backwards_line is None:
                                stats.first_backwards_line = lineno
                        else:
                            prev_ns = ts_ns
                        stats.non_tool_messages += 1
                        continue
                else:
                    msg = None
                if ts_ns < prev_ns:  # the clock never runs backwards: evaluate at the newest time
                    backwards += 1
                    if stats.first_backwards_line is None:
                        stats.first_backwards_line = lineno
                    ts_ns = prev_ns
                else:
                    prev_ns = ts_ns
                calls += 1
                prog = programs.get(tool)
                if prog is None:
                    prog = ev.program(tool)
                    tally.extend([0] * (len(decisions) - len(tally)))
                code = prog(ts_ns, grant, args, upstream)
                tally[code] += 1
                if check and ("expect" in rec or "expect_rule" in rec):
                    _record_expectation(result, lineno, rec, msg, grant, tool, decisions[code])
    finally:
        stats.lines = lineno
        stats.calls = calls
        stats.backwards = backwards
        if own and hasattr(fh, "close") and fh.fileno() != 0:
            fh.close()


def _bad(stats: TraceStats, name: str, lineno: int, what: str, skip: bool) -> None:
    message = f"{name}:{lineno}: {what}"
    if not skip:
        raise InputError(message)
    stats.invalid_lines += 1
    if len(stats.invalid_messages) < 20:
        stats.invalid_messages.append(message)
