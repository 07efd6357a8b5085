"""What ``simulate --report`` shows, aggregated during the run's single pass (no second read).

Public API::

    collector = ReportCollector(evaluator, tally)      # tally: the run's list of counts per decision code
    # (ProgramReportCollector for an Interpreter: an Intercept policy's program)
    collector.observe(ts_ns, grant, code, upstream)    # after each call is tallied, in trace order
                                                       # (fixed windows: only at the edges it returns)
    collector.finish(result) -> SimulationReport       # once, at the end

Memory is bounded per window, never per call:

* the timeline keeps at most ``MAX_BINS`` time bins (a bin is the difference of the run's tally
  between two bin edges, so a call costs nothing there); when the trace outgrows them, the bin width
  steps up a ladder of calendar-aligned widths (1 s, 5 s, 10 s, 30 s, 1 min, …) and old bins merge;
* a tracked limit bucket ``(grant, location, counter, window)`` keeps its current and previous
  window's reservation times (at most ``max`` each under fixed windows — what the window-edge burst
  check needs), a few totals and its count per window;
* at most ``KEEP_BURSTS`` window-edge bursts are kept (the largest), all are counted.

**Which buckets are tracked.** Under fixed windows (the default) a bucket is tracked from the first
moment the engine's own count for it reaches half its ``max`` (a slot comparison per limit per call
until then — the many quiet buckets of a big trace cost next to nothing and keep nothing). Its counts from
that window on are exact; its totals (``reserved``, windows active) start with that window. The
reservations of every grant within the policy's shortest window length are kept (``log``, in time
order; a call is logged only while one of its buckets of that length is not tracked — a tracked
bucket times its calls itself), so a bucket of that length is timed from its window's start and
every burst from that window's end on is exact. (The burst at the boundary where that window
begins can be missed: the window before it held less than half of max and is not read back from
the log, though the log still holds its last length of calls.)
For a longer window the reservations it held before tracking began are counted but not timed, so a
burst at the boundary before that window or the one after it can be missed, or reported with a
lower-bound sliding count (``Burst.exact`` False); every later burst is found with its exact sliding
count. A burst needs more than ``max`` reservations in two adjacent windows, so one of them holds more than
half: a bucket that is never tracked never bursts. Under ``--windows sliding`` (or with ``EXACT``)
every bucket is counted and timed here, exactly.

**The engine screens calls itself.** A Python call per evaluated call would cost more than
everything the report does with most calls, so under fixed windows the collector has the evaluator
compile its programs with hooks (``Evaluator.watch``): the program, which holds the counts, compares
an allowed call's counts with their thresholds (half the max; 0 for a tracked bucket of the grant)
and either logs the call or calls the collector; a call a limit refuses always goes to the
collector. ``observe`` then only has work at the *edges* it returns (the timeline's next bin, the
log's next trim), and the simulator's loops call it only there (``fast_path``).

A *window-edge burst* (fixed windows only, SPEC §2): more than ``max`` calls allowed in one window's
length across a calendar boundary. For each reservation in window W the sliding count at that moment
(reservations in ``(ts - length, ts]``: W's so far plus the tail of W-1) is computed whenever its upper
bound exceeds ``max``; the largest count per boundary is the burst. Under ``--windows sliding`` the
same count is each window's peak (never above ``max``).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import repeat
from operator import add, sub
from typing import Any, Callable, cast

from policyctl.engine.counters import NS
from policyctl.engine.evaluator import REASONS, Evaluator, counter_key
from policyctl.policy.dialects.policylayer.model import WINDOW_SECONDS

__all__ = ["ReportCollector", "ProgramReportCollector", "SimulationReport", "BucketView", "Burst", "Timeline",
           "DenyingRule", "MAX_BINS", "SHOW_BUCKETS", "KEEP_BURSTS", "LADDER"]

#: calendar-aligned bin widths in seconds; each divides the next, so bins merge exactly
LADDER = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800)
MAX_BINS = 96
SHOW_BUCKETS = 20
KEEP_BURSTS = 50
_NEVER = -(1 << 80)
_ROOMY = 1 << 80
#: count and time every reservation in the collector, also under fixed windows (tests compare the two)
EXACT = False


@dataclass(frozen=True, slots=True)
class Burst:
    """More than ``max`` calls allowed within one window length across the boundary at ``boundary_ns``."""

    grant: str
    location: str  # tool name, or "all_tools"
    counter: str
    window: str
    max: int
    boundary_ns: int
    at_ns: int  # the moment the sliding count peaked
    sliding: int  # allowed calls in (at - length, at]
    before: int  # the fixed count of the window that ended at the boundary
    after: int  # the fixed count of the window that began there (when the peak was reached)
    exact: bool = True  # False: ``sliding`` is a lower bound (see the module notes)


@dataclass(frozen=True)
class BucketView:
    """One limit bucket: its totals and, when notable, its count per window."""

    grant: str
    location: str  # tool name, or "all_tools"
    counter: str
    window: str
    max: int
    pointer: str  # the limit's rule id, e.g. /all_tools/limits/calls-per-minute
    origin: str  # the limit's place in the policy document, e.g. /all_tools/limits/0
    reserved: int  # calls counted (allowed, not rolled back)
    denied: int  # calls this bucket refused
    peak: int  # the largest count of one window
    windows_active: int
    windows_full: int  # windows that reached max
    bursts: int
    worst: Burst | None
    #: (window start ns, count, denied, sliding) per window with calls, from ``series_from_ns`` on;
    #: ``sliding`` is the window's largest sliding count under sliding windows, and under fixed
    #: windows the sliding count of a window-edge burst that peaked in it (0: none)
    series: tuple[tuple[int, int, int, int], ...]
    series_from_ns: int | None
    first_ns: int

    @property
    def length_ns(self) -> int:
        return WINDOW_SECONDS[self.window] * NS


@dataclass(frozen=True)
class Timeline:
    """Calls per tool and reason per time bin: ``rows[tool] = [(bin start ns, {reason: n}), …]``."""

    width_s: int
    rows: dict[str, list[tuple[int, dict[str, int]]]]
    start_ns: int | None
    end_ns: int | None


@dataclass(frozen=True)
class DenyingRule:
    rule: str
    reason: str
    message: str | None
    pointer: str | None  # where in the policy document the deciding part is
    denied: int
    tools: tuple[str, ...]


@dataclass(frozen=True)
class SimulationReport:
    windows: str
    first_ns: int | None
    last_ns: int | None
    buckets: tuple[BucketView, ...]  # the busiest, at most SHOW_BUCKETS
    other_buckets: dict[str, int]  # the rest summarised: buckets, reserved, denied, full, bursts
    bursts: tuple[Burst, ...]  # the largest, at most KEEP_BURSTS
    burst_count: int
    timeline: Timeline
    rules: tuple[DenyingRule, ...]


class _Family:
    """One ``(location, counter, window)`` of the policy: its buckets per grant."""

    __slots__ = ("location", "counter", "window", "max", "length", "pointer", "origin", "buckets", "slot", "half")

    def __init__(self, location: str, counter: str, window: str, mx: int, pointer: str, origin: str) -> None:
        self.location = location
        self.counter = counter
        self.window = window
        self.max = mx
        self.length = WINDOW_SECONDS[window] * NS
        self.pointer = pointer
        self.origin = origin
        self.buckets: dict[str, _Bucket] = {}
        self.slot = -1  # the engine's count slot of this family (fixed windows)
        self.half = (mx + 1) // 2  # a bucket is tracked from the first window where it reaches this


class _Bucket:
    __slots__ = ("fam", "grant", "w", "n", "d", "times", "peak", "pw", "pn", "ppeak", "ptimes", "pi", "unknown",
                 "punknown", "reserved", "denied", "top", "active", "full", "bursts", "worst", "cur_burst", "series",
                 "series_from", "first", "wt", "pwt", "end", "room")

    def __init__(self, fam: _Family, grant: str, w: int, ts: int) -> None:
        self.fam = fam
        self.grant = grant
        self.w = w  # current window index
        self.end = (w + 1) * fam.length  # when it ends
        self.room = _ROOMY  # n above this: the sliding count may exceed max (``_set_room``, ``_settle``)
        self.n = 0  # reservations in it
        self.d = 0  # denials in it
        self.times: list[int] = []
        self.peak = 0  # largest sliding count seen in it
        self.pw = _NEVER  # previous window index (with reservations)
        self.pn = 0
        self.ppeak = 0
        self.ptimes: list[int] = []
        self.pi = 0  # how many of times are settled (fixed-window hook, see ``_settle``)
        self.unknown = 0  # reservations of this window counted before tracking began (times not kept)
        self.punknown = 0
        self.reserved = 0
        self.denied = 0
        self.top = 0
        self.active = 0
        self.full = 0
        self.bursts = 0
        self.worst: tuple[Any, ...] | None = None  # a Burst's fields (made a Burst at the end)
        # (sliding, at, after, exact) of this window's boundary
        self.cur_burst: tuple[int, int, int, bool] | None = None
        self.series: list[tuple[int, int, int, int]] | None = None
        self.series_from: int | None = None
        self.first = ts
        self.wt: list[int] = []  # amounts (counters that count more than one per call): running sums of times'
        self.pwt: list[int] = []


class ReportCollector:
    """Aggregates a simulation for the HTML report; ``observe`` is called once per evaluated call."""

    def __init__(self, ev: Evaluator, tally: list[int]) -> None:
        self.ev = ev
        self.tally = tally
        self.fixed = ev.windows == "fixed"
        self.families: dict[tuple[str, str, str, str], _Family] = {}
        self.plans: list[Any] = []
        self.burst_heap: list[tuple[int, int, tuple[Any, ...]]] = []  # (over max, -seq, a Burst's fields)
        self.burst_count = 0
        self._seq = 0
        # timeline
        self.rung = 0
        self.width = LADDER[0] * NS
        self.bins: dict[int, list[int]] = {}
        self.bin = 0
        self.first_bin = 0
        self.last_snap: list[int] = []
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        #: fixed windows read the engine's own counts and time only the buckets that get busy (see
        #: the module notes); sliding windows, or EXACT, count and time every reservation here
        self.tracked_from_half = self.fixed and not EXACT
        self.hot: set[str] = set()  # grants with a tracked bucket
        # The (time, grant, code) of every reservation within the shortest window length the policy
        # uses (at least; trimmed at the next edge): when a bucket of that length starts being
        # tracked, its window's earlier reservations are timed from here, so its bursts are exact
        # from the first boundary on.
        # (A call all of whose buckets of that length are tracked is not logged: they time it.)
        self.log: list[Any] = []  # flat: time, grant, code, time, … (no tuple kept per reservation)
        self.log_length = min(self._lengths(), default=60 * NS)
        self.watched: Any = None  # where the evaluator's programs keep the report's slots (``Evaluator.watch``)
        self.observe: Callable[[int, str, int, bool], int] = self._make_observer()

    def _lengths(self) -> list[int]:
        """The window lengths (ns) the policy's limits use."""
        ev = self.ev
        parts = (*ev.ir.tools.values(), ev.ir.wildcard)
        return [WINDOW_SECONDS[r.window] * NS for part in parts for r in part.reservations]

    def _make_observer(self) -> Callable[[int, str, int, bool], int]:
        return self._make_observe_fixed() if self.tracked_from_half else self._make_observe()

    def fast_path(self) -> Callable[[int], None] | None:
        """Under fixed windows, ``seen``: the run's loop calls ``observe`` only for a call at or after
        the edge ``observe`` last returned (the programs hand every call that matters to the
        collector themselves, see ``_make_observe_fixed``), and ``seen(ts)`` with the time of the
        last call at the end. None: call ``observe`` for every call.
        """
        return self._seen if self.tracked_from_half else None

    # -- the per-call hook ----------------------------------------------------------------------

    def _make_observe(self) -> Callable[[int, str, int, bool], int]:
        """The exact hook (``--windows sliding``, ``EXACT``, an Intercept program): every bucket is
        counted and timed here; ``_reserver`` says what an allowed call reserves in a bucket."""
        plans = self.plans
        extend = self._extend_plans
        roll = self._roll_timeline
        new_bucket = self._new_bucket
        close = self._close
        reserve = self._reserver()
        upstream_counts = self.upstream_counts
        edge = _NEVER
        last = _NEVER

        def observe(ts: int, grant: str, code: int, upstream: Any) -> int:
            nonlocal edge, last
            last = ts
            if ts >= edge:
                edge = roll(ts, code)
            try:
                plan = plans[code]
            except IndexError:
                plan = extend(code)
            if plan is None:
                return _NEVER
            if type(plan) is tuple:  # an allowed call: one reservation per limit it passed
                if upstream and not upstream_counts:
                    return _NEVER  # rolled back after the call
                for fam in plan:
                    b = fam.buckets.get(grant)
                    w = ts // fam.length
                    if b is None:
                        b = new_bucket(fam, grant, w, ts)
                    elif b.w != w:
                        close(b, w)
                    reserve(b, fam, grant, ts, w)
                return _NEVER
            # a call refused by the limit of family ``plan``
            b = plan.buckets.get(grant)
            w = ts // plan.length
            if b is None:
                b = new_bucket(plan, grant, w, ts)
            elif b.w != w:
                close(b, w)
            b.d += 1
            return _NEVER

        def newest() -> int | None:
            return None if last == _NEVER else last

        self._newest = newest
        return observe

    #: whether an allowed call whose upstream failed goes to the reserver (it reads what is left)
    upstream_counts = False

    def _reserver(self) -> Callable[[_Bucket, _Family, str, int, int], None]:
        """One reservation of an allowed call in bucket ``b`` (already in window ``w``)."""
        fixed = self.fixed
        sliding_count = self._sliding

        def reserve(b: _Bucket, fam: _Family, grant: str, ts: int, w: int) -> None:
            n = b.n = b.n + 1
            b.times.append(ts)
            bound = n + b.pn if b.pw == w - 1 else n  # the sliding count is at most this
            if fixed:
                if bound > fam.max and (b.cur_burst is None or bound > b.cur_burst[0]):
                    sliding_count(b, ts, n, fam)
            elif bound > b.peak:
                sliding_count(b, ts, n, fam)

        return reserve

    def _make_observe_fixed(self) -> Callable[[int, str, int, bool], int]:
        """The fixed-window hook: a bucket costs a slot comparison until it first holds half its max.

        The engine's compiled programs do the per-call part (``Evaluator.watch``): an allowed call's
        counts against their thresholds (half the max, 0 once its bucket is tracked) and the log
        entry in the program, ``allowed`` when a threshold is reached, ``refused`` for a call a limit
        refused. ``observe`` itself only moves the timeline and trims the log; it returns the next
        *edge* (a time): until then, calls need not be handed to it (``fast_path``).
        """
        plans = self.plans
        extend = self._extend_plans
        roll = self._roll_timeline
        track = self._track
        close = self._close
        # the grant of a call just decided always has its counter slots
        grants_get = cast("Callable[[str], list[int]]", self.ev.store.fixed.grants.get)
        hot = self.hot
        log = self.log
        log_extend = log.extend
        log_length = self.log_length
        edge = _NEVER  # the earlier of the timeline's next bin and the log's next trim
        bin_edge = _NEVER
        last = _NEVER

        def observe(ts: int, grant: str, code: int, upstream: bool) -> int:
            nonlocal edge, bin_edge, last
            last = ts
            if ts >= edge:
                if ts >= bin_edge:
                    bin_edge = roll(ts, code)
                if log and log[0] <= ts - log_length:  # keep the reservations after ts - length
                    del log[:3 * bisect_right(log[::3], ts - log_length)]
                edge = min(bin_edge, ts + log_length)
            return edge

        def allowed(ts: int, grant: str, code: int) -> int:
            """An allowed call (its upstream did not fail) with a count at its threshold: one of its
            grant's buckets is tracked, or is to be from this call on."""
            try:
                plan = plans[code]
            except IndexError:
                plan = extend(code)
            log_extend((ts, grant, code))
            gs = grants_get(grant)
            if grant in hot:
                for slot, half, fam in plan:
                    b = fam.buckets.get(grant)
                    if b is None:  # not tracked yet: is the engine's count at half of max?
                        c = gs[slot]
                        if c >= half:
                            track(fam, grant, ts, c - [f for _, _, f in plan].count(fam) + 1, 1)
                        continue
                    if ts >= b.end:
                        close(b, ts // fam.length)
                    b.times.append(ts)  # its count and sliding count: when the window closes (``_settle``)
                    gs[times_at[slot]] = b.times  # the program appends the window's next ones
                return code
            for slot, half, fam in plan:
                c = gs[slot]
                if c >= half:
                    # a bucket twice in the plan (two limits, one counter) is counted once
                    # here from the engine's count and once more by its second turn
                    track(fam, grant, ts, c - [f for _, _, f in plan].count(fam) + 1, 1)
            return code

        def refused(ts: int, grant: str, code: int) -> int:
            """A call refused by a limit (the program has given back its other reservations)."""
            try:
                plan = plans[code]
            except IndexError:
                plan = extend(code)
            b = plan.buckets.get(grant)
            if b is None:
                b = track(plan, grant, ts, grants_get(grant)[plan.slot], 0)
            if ts >= b.end:
                close(b, ts // plan.length)
                grants_get(grant)[times_at[plan.slot]] = b.times
            b.d += 1
            return code

        families = self.families

        def fresh(grant: str, gs: list[int]) -> None:
            """A grant's slot list was created (again): its tracked buckets' thresholds are 0."""
            if grant in hot:
                gs[watched.hot] = 1
                for fam in families.values():
                    if grant in fam.buckets:
                        gs[watched.threshold[fam.slot]] = 0

        def newest() -> int | None:
            return None if last == _NEVER else last

        def seen(ts: int) -> None:
            nonlocal last
            if ts > last:
                last = ts

        watched = self.watched = self.ev.watch(self._halves(), allowed, refused, fresh, log, log_length)
        times_at = watched.times
        self._newest = newest
        self._seen = seen
        return observe

    def _halves(self) -> dict[int, int]:
        """Engine family index -> half the smallest max of the limits counted there (what ``_family``
        keeps)."""
        ev = self.ev
        least: dict[int, int] = {}
        for tool in (*ev.ir.tools, ""):
            for _, lim, engine_family in ev.limits(tool):
                index = engine_family.index
                least[index] = min(least.get(index, int(lim.max)), int(lim.max))
        return {index: (mx + 1) // 2 for index, mx in least.items()}

    def _track(self, fam: _Family, grant: str, ts: int, count: int, own: int) -> _Bucket:
        """Start tracking a bucket whose window already holds ``count`` (``own`` of them this call's)."""
        w = ts // fam.length
        b = fam.buckets[grant] = _Bucket(fam, grant, w, ts)
        self.hot.add(grant)
        gs = self.ev.store.fixed.grants[grant]  # the programs hand this bucket's calls over from now on
        gs[self.watched.hot] = 1
        gs[self.watched.threshold[fam.slot]] = 0
        b.n = count
        b.times = [ts] * own
        b.unknown = count - own
        if own and fam.length == self.log_length:
            start = w * fam.length
            times: list[int] = []
            plans = self.plans
            if len(plans) < len(self.ev.decisions):  # the log may hold codes no hook has met yet
                self._extend_plans(0)
            log = self.log
            i = 3 * bisect_left(log[::3], start)  # the window's entries (in time order); the last is this call
            grants = log[i + 1:-3:3]
            k = -1
            while True:  # the grant's entries, found by C loops
                try:
                    k = grants.index(grant, k + 1)
                except ValueError:
                    break
                t, code = log[i + 3 * k], log[i + 3 * k + 2]
                times.extend([t] * sum(1 for _, _, f in plans[code] if f is fam))
            times.extend([ts] * own)
            if len(times) == count:
                b.times = times
                b.unknown = 0
        b.series = []
        b.series_from = w * fam.length
        if own and count > fam.max:  # cannot happen under fixed windows; kept for clarity
            self._sliding(b, ts, count, fam)
        gs[self.watched.times[fam.slot]] = b.times
        return b

    def _new_bucket(self, fam: _Family, grant: str, w: int, ts: int) -> _Bucket:
        b = fam.buckets[grant] = _Bucket(fam, grant, w, ts)
        return b

    def _sliding(self, b: _Bucket, ts: int, n: int, fam: _Family) -> None:
        """The sliding count at ``ts``: this window's ``n`` plus the previous window's tail."""
        tail = 0
        exact = True
        if b.pw == b.w - 1:
            pt = b.ptimes
            since = ts - fam.length
            tail = len(pt) - bisect_right(pt, since)
            if b.punknown and (not pt or since < pt[0]):
                exact = False  # some of the previous window's untimed reservations may count too
        count = n + tail
        if count > b.peak:  # under fixed windows only counts above max get here: the burst's size
            b.peak = count
        if count > fam.max and self.fixed:
            cur = b.cur_burst
            if cur is None or count > cur[0]:
                b.cur_burst = (count, ts, n, exact)

    def _settle(self, b: _Bucket) -> None:
        """The window-edge burst among ``b``'s reservations of this window not settled yet (fixed
        windows, a bucket tracked from half its max; ``b.pi`` of ``b.times`` are settled).

        For the k-th reservation of the window (``n`` = k), the sliding count is ``n`` plus the
        previous window's reservations after its time less the length; only those with ``n``
        above ``room`` (max less the previous window's count) can exceed max. The burst is the
        first reservation with the largest count above max (or above the burst found so far) —
        what checking each reservation as it came would find, done in C loops when the window
        closes: a tracked bucket's call costs an append (its count is ``unknown`` + ``len(times)``).
        """
        times = b.times
        m = len(times)
        unknown = b.unknown  # reserved before tracking began, not timed: the window's first ones
        lo = max(b.pi, b.room - unknown)  # times[i] is reservation n = unknown + i + 1
        b.pi = m
        if lo >= m:
            return
        fam = b.fam
        length = fam.length
        pt = b.ptimes
        cur = b.cur_burst
        best = fam.max if cur is None else cur[0]  # what a (bigger) burst must exceed
        base = unknown + 1 + len(pt)
        if pt:  # count(i) = base + i - j(i), where pt[j(i):] are still in the sliding window at times[i]
            # from pt[-1] + length on the previous window adds nothing: the count is at most n, not
            # above max (fixed windows), so those reservations cannot beat best
            hi = bisect_left(times, pt[-1] + length, lo)
            if base + hi - 1 - bisect_right(pt, times[lo] - length) <= best:
                return  # j only grows with i: no count can beat best
            rel = list(map(sub, range(lo, hi), map(bisect_right, repeat(pt), map(sub, times[lo:hi], repeat(length)))))
            top = max(rel)
            at = lo + rel.index(top)  # the first of the largest
        else:
            top = at = m - 1
        if base + top > best:
            best = base + top
            ts = times[at]
            exact = not (b.punknown and (not pt or ts - length < pt[0]))
            b.cur_burst = (best, ts, unknown + at + 1, exact)
            if best > b.peak:
                b.peak = best

    def _close(self, b: _Bucket, w: int) -> None:
        """End ``b``'s current window; ``w`` is the new one."""
        if self.tracked_from_half:
            m = len(b.times)
            if b.pi < m and b.room - b.unknown < m:  # as _settle's first test, without its call
                self._settle(b)
            b.n = b.unknown + m
        fam = b.fam
        n, d = b.n, b.d
        start = b.w * fam.length
        if n or d:
            b.active += 1
            b.reserved += n
            b.denied += d
            if n > b.top:
                b.top = n
            if n >= fam.max:
                b.full += 1
            if b.series is None and (d or 2 * n >= fam.max):
                b.series = []
                b.series_from = start
                if b.pw == b.w - 1 and b.pn:
                    b.series.append(((b.w - 1) * fam.length, b.pn, 0, b.ppeak))
                    b.series_from = (b.w - 1) * fam.length
            if b.series is not None:
                b.series.append((start, n, d, b.peak))
        if b.cur_burst is not None:
            sliding, at, after, exact = b.cur_burst
            burst = (b.grant, fam.location, fam.counter, fam.window, fam.max, start, at, sliding, b.pn, after, exact)
            b.bursts += 1
            if b.worst is None or sliding > b.worst[7]:
                b.worst = burst
            self._keep_burst(burst)
            b.cur_burst = None
        if n:
            b.pw, b.pn, b.ppeak, b.ptimes, b.punknown = b.w, n, b.peak, b.times, b.unknown
            b.times = []
        elif b.times:
            b.times = []
        b.unknown = 0
        b.pi = 0
        b.w = w
        b.end = (w + 1) * fam.length
        b.room = fam.max - b.pn if b.pw == w - 1 else _ROOMY  # as _set_room
        b.n = b.d = b.peak = 0

    def _keep_burst(self, burst: tuple[Any, ...]) -> None:
        """Count ``burst`` (a :class:`Burst`'s fields) and keep it when it is among the largest."""
        self.burst_count += 1
        self._seq += 1
        item = (burst[7] - burst[4], -self._seq, burst)
        if len(self.burst_heap) < KEEP_BURSTS:
            heapq.heappush(self.burst_heap, item)
        elif item > self.burst_heap[0]:
            heapq.heapreplace(self.burst_heap, item)

    def _extend_plans(self, code: int) -> Any:
        """What each decision code does to the buckets: None (nothing), a tuple of families (an
        allowed call reserves in each), or one family (the limit that refused the call)."""
        ev = self.ev
        while len(self.plans) < len(ev.decisions):
            c = len(self.plans)
            d = ev.decisions[c]
            tool = ev.tools[c]
            plan: Any = None
            if d.allowed:
                fams = tuple(self._family(loc, lim, fam) for loc, lim, fam in ev.limits(tool))
                if self.tracked_from_half:
                    plan = tuple((f.slot, f.half, f) for f in fams) or None
                else:
                    plan = fams or None
            elif d.reason == "rate_limited":
                origin = ev.origins[c]
                loc, lim, engine_family = next(item for item in ev.limits(tool) if item[1].pointer == origin)
                plan = self._family(loc, lim, engine_family)
            self.plans.append(plan)
        return self.plans[code]

    def _family(self, loc: str | None, lim: Any, engine_family: Any) -> _Family:
        key = counter_key(loc, lim)
        fam = self.families.get(key)
        if fam is None:
            # the first limit that writes the bucket names it (a tool's own limits come before all_tools)
            fam = self.families[key] = _Family("all_tools" if loc is None else loc, lim.counter, lim.window,
                                               int(lim.max), lim.refused.rule or "", lim.pointer)
            if self.fixed:
                fam.slot = engine_family.slot
        elif lim.max < fam.max:  # two limits sharing one bucket: the smaller max is the one that bites
            if self.tracked_from_half:
                for b in fam.buckets.values():
                    self._settle(b)  # the reservations so far were checked against the larger max
            fam.max = int(lim.max)
            fam.half = (fam.max + 1) // 2
            for b in fam.buckets.values():
                _set_room(b)
        return fam

    # -- the timeline ---------------------------------------------------------------------------

    def _roll_timeline(self, ts: int, code: int) -> int:
        """Called on the first call at or after the current bin's end; returns the next edge."""
        tally = self.tally
        snap = tally.copy()
        snap[code] -= 1  # this call belongs to the new bin
        if self.first_ns is None:
            self.first_ns = ts
            self.bin = self.first_bin = ts // self.width
        else:
            self._add_bin(self.bin, snap)
        self.last_snap = snap
        self.bin = ts // self.width
        while self.bin - self.first_bin >= MAX_BINS and self.rung + 1 < len(LADDER):
            self._coarsen()
        return (self.bin + 1) * self.width

    def _add_bin(self, index: int, snap: list[int]) -> None:
        last = self.last_snap
        if len(last) < len(snap):
            last = last + [0] * (len(snap) - len(last))
        diff = list(map(sub, snap, last))  # C loops: a bin edge costs next to nothing
        if any(diff):
            have = self.bins.get(index)
            if have is None:
                self.bins[index] = diff
            else:
                _add_into(have, diff)

    def _coarsen(self) -> None:
        self.rung += 1
        factor = LADDER[self.rung] // LADDER[self.rung - 1]
        self.width = LADDER[self.rung] * NS
        merged: dict[int, list[int]] = {}
        for index, counts in self.bins.items():
            have = merged.get(index // factor)
            if have is None:
                merged[index // factor] = counts
            else:
                _add_into(have, counts)
        self.bins = merged
        self.bin //= factor
        self.first_bin //= factor

    # -- the end --------------------------------------------------------------------------------

    def finish(self, result: Any) -> SimulationReport:
        ev = self.ev
        if self.first_ns is not None:
            self._add_bin(self.bin, self.tally.copy())
        self.last_ns = self._newest()
        buckets: list[_Bucket] = []
        for fam in self.families.values():
            for b in fam.buckets.values():
                self._close(b, b.w + 1)
                if b.reserved or b.denied:
                    buckets.append(b)
        last = self.last_ns
        buckets.sort(key=lambda b: (-b.denied, -b.bursts, -b.full, -b.top / b.fam.max, -b.reserved,
                                    b.fam.location, b.fam.counter, b.grant))
        shown = tuple(_view(b) for b in buckets[:SHOW_BUCKETS])
        rest = buckets[SHOW_BUCKETS:]
        other = {"buckets": len(rest), "reserved": sum(b.reserved for b in rest),
                 "denied": sum(b.denied for b in rest), "full": sum(1 for b in rest if b.full),
                 "bursts": sum(b.bursts for b in rest)}
        bursts = tuple(Burst(*item[2]) for item in sorted(self.burst_heap, reverse=True))
        return SimulationReport(ev.windows, self.first_ns, last, shown, other, bursts, self.burst_count,
                                self._timeline(last), _rules(ev, self.tally))

    def _timeline(self, last: int | None) -> Timeline:
        ev = self.ev
        reasons = getattr(ev, "reasons", REASONS)  # SPEC §2's six, plus Intercept's own
        rows: dict[str, dict[int, dict[str, int]]] = {}
        for index in sorted(self.bins):
            for code, n in enumerate(self.bins[index]):
                if n:
                    per_bin = rows.setdefault(ev.tools[code], {})
                    cell = per_bin.get(index)
                    if cell is None:
                        cell = per_bin[index] = dict.fromkeys(reasons, 0)
                    cell[ev.decisions[code].reason] += n
        out = {tool: [(i * self.width, cell) for i, cell in sorted(per.items())] for tool, per in sorted(rows.items())}
        start = self.first_bin * self.width if self.first_ns is not None else None
        return Timeline(LADDER[self.rung], out, start, last)


class ProgramReportCollector(ReportCollector):
    """The report of a run under :class:`policyctl.engine.interpret.Interpreter` (an Intercept policy).

    The limit buckets are the program's reservations that have a limit: one family per scope (the
    tool, or ``_global`` for the ``"*"`` rules), counter and window, per grant; its ``max`` is the
    reservation's limit, its rule id the rule's name and its origin the rule's ``state`` block. A
    counter may count more than one per call (``increment``, ``increment_from``), so a bucket's
    count is the engine's own counter after each call (what it reserved, less what a failed upstream
    gave back) and every count and burst is in the counter's units. Every bucket is counted and
    timed exactly (there are no slots to read as under PolicyLayer's fixed windows).
    """

    def __init__(self, ev: Any, tally: list[int]) -> None:
        self.bucket_of: dict[int, tuple[str, ...]] = {}  # id(family) -> the engine's counter bucket
        super().__init__(ev, tally)

    def _lengths(self) -> list[int]:
        from policyctl.engine.counters import WINDOW_NS

        ev: Any = self.ev
        program = ev.ir
        parts = (*program.tools.values(), program.wildcard)
        return [WINDOW_NS[r.window] for part in parts for r in part.reservations if r.limit is not None]

    upstream_counts = True

    def _make_observer(self) -> Callable[[int, str, int, bool], int]:
        self.tracked_from_half = False
        return self._make_observe()

    def _reserver(self) -> Callable[[_Bucket, _Family, str, int, int], None]:
        """The engine's counter after the call, less what the bucket held: what the call reserved
        (0: nothing, or given back because the upstream failed), in the counter's units."""
        ev: Any = self.ev
        read = ev.store.read
        bucket_of = self.bucket_of
        sliding_count = self._sliding

        def reserve(b: _Bucket, fam: _Family, grant: str, ts: int, w: int) -> None:
            n = read(grant, bucket_of[id(fam)], ts)
            amount = n - b.n
            if amount == 0:
                return
            b.n = n
            b.times.append(ts)
            b.wt.append((b.wt[-1] if b.wt else 0) + amount)
            bound = n + b.pn if b.pw == w - 1 else n
            if bound > fam.max and (b.cur_burst is None or bound > b.cur_burst[0]):
                sliding_count(b, ts, n, fam)

        return reserve

    def _sliding(self, b: _Bucket, ts: int, n: int, fam: _Family) -> None:
        """The sliding count at ``ts`` in the counter's units: this window's ``n`` plus what the
        previous window reserved after ``ts - length``."""
        tail = 0
        if b.pw == b.w - 1 and b.pwt:
            i = bisect_right(b.ptimes, ts - fam.length)
            tail = b.pwt[-1] - (b.pwt[i - 1] if i else 0)
        count = n + tail
        if count > b.peak:
            b.peak = count
        if count > fam.max:
            cur = b.cur_burst
            if cur is None or count > cur[0]:
                b.cur_burst = (count, ts, n, True)

    def _close(self, b: _Bucket, w: int) -> None:
        n, wt = b.n, b.wt
        super()._close(b, w)
        if n:
            b.pwt = wt
        b.wt = []

    def _extend_plans(self, code: int) -> Any:
        ev: Any = self.ev
        program = ev.ir
        while len(self.plans) < len(ev.decisions):
            c = len(self.plans)
            d = ev.decisions[c]
            tool = ev.tools[c]
            plan: Any = None
            if d.allowed:
                plan = tuple(self._program_family(tool, r) for r in program.reservations(tool)
                             if r.limit is not None) or None
            elif d.reason == "rate_limited":
                for r in program.reservations(tool):
                    if r.limit is not None and (r.refused.rule, r.refused.message, r.refused.origin) == \
                            (d.rule, d.message, ev.origins[c]):
                        plan = self._program_family(tool, r)
                        break
            self.plans.append(plan)
        return self.plans[code]

    def _program_family(self, tool: str, r: Any) -> _Family:
        """The family of reservation ``r`` (met on a call to ``tool``): its scope is ``_global`` for
        the wildcard's rules, else the tool (whose name may hold a dot: the key is split by scope)."""
        ev: Any = self.ev
        program = ev.ir
        scope = "_global" if any(r is x for x in program.wildcard.reservations) else tool
        counter = r.bucket[-1][len(scope) + 1:]
        key = (scope, counter, r.window, "")
        fam = self.families.get(key)
        if fam is None:
            fam = self.families[key] = _Family(scope, counter, r.window, int(r.limit), r.refused.rule or "",
                                               r.pointer)
            self.bucket_of[id(fam)] = r.bucket
        elif r.limit < fam.max:
            fam.max = int(r.limit)
        return fam


def _set_room(b: _Bucket) -> None:
    """``b.room``: the count of the current window above which the sliding count (this window's plus
    the previous adjacent window's tail) may exceed max: ``_settle`` looks at the reservations above it."""
    b.room = b.fam.max - b.pn if b.pw == b.w - 1 else _ROOMY


def _add_into(have: list[int], more: list[int]) -> None:
    if len(have) < len(more):
        have.extend([0] * (len(more) - len(have)))
    have[:len(more)] = map(add, have, more)


def _view(b: _Bucket) -> BucketView:
    fam = b.fam
    return BucketView(b.grant, fam.location, fam.counter, fam.window, fam.max, fam.pointer, fam.origin, b.reserved,
                      b.denied, b.top, b.active, b.full, b.bursts, None if b.worst is None else Burst(*b.worst),
                      tuple(b.series or ()), b.series_from,
                      b.first)


def _rules(ev: Evaluator, tally: list[int]) -> tuple[DenyingRule, ...]:
    """Rules by the number of calls they denied (most first)."""
    acc: dict[tuple[str, str | None], list[Any]] = {}
    for code, n in enumerate(tally):
        d = ev.decisions[code]
        if not n or d.allowed or d.rule is None:
            continue
        # hidden / default deny messages name the tool: one row per rule and message
        key = (d.rule, d.message)
        row = acc.get(key)
        if row is None:
            row = acc[key] = [d.reason, ev.origins[code], 0, set()]
        row[2] += n
        row[3].add(ev.tools[code])
    out = [DenyingRule(rule, row[0], message, row[1], row[2], tuple(sorted(row[3])))
           for (rule, message), row in acc.items()]
    out.sort(key=lambda r: (-r.denied, r.rule, r.message or ""))
    return tuple(out)
