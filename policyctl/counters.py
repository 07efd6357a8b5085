"""Counter state for limits: one counter object per (location, counter name, window), one bucket per grant.

Times are integer nanoseconds since the Unix epoch (exact window edges, no float rounding).

``FixedCounter`` — calendar-aligned UTC windows (a minute from ``hh:mm:00Z``, an hour from
``hh:00:00Z``, a day from ``00:00:00Z``), as in Intercept's store. A bucket's count is the number of
reservations, made earlier in the trace and not released, whose timestamp falls in the call's window.

``SlidingCounter`` — an exact sliding log: the count is the number of such reservations in the
half-open interval ``(ts - length, ts]``; a reservation exactly ``length`` old is out.

Memory stays flat however long the trace is: a fixed counter keeps the current and the previous
window only (older windows are dropped as time moves on), a sliding counter keeps reservations up to
two lengths old and periodically forgets grants that have gone quiet. Lines whose timestamps go
backwards are evaluated against what is kept: exact up to one window (fixed) or one length (sliding)
behind the newest timestamp seen, from an empty counter beyond that.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Hashable

NS = 1_000_000_000

__all__ = ["NS", "FixedCounter", "SlidingCounter", "CounterStore"]


class FixedCounter:
    """Calendar-aligned windows of ``length_ns``; ``cur`` holds the counts of window ``w``."""

    __slots__ = ("length", "w", "cur", "prev", "older")

    def __init__(self, length_ns: int) -> None:
        self.length = length_ns
        self.w: int | None = None
        self.cur: dict[str, int] = {}
        self.prev: dict[str, int] = {}
        self.older: dict[int, dict[str, int]] = {}  # windows further back, kept until time moves on

    def table(self, w: int) -> dict[str, int]:
        """The grant → count table of window index ``w`` (advancing time when ``w`` is newer)."""
        cw = self.w
        if cw is None or w > cw:
            self.prev = self.cur if cw is not None and w == cw + 1 else {}
            self.cur = {}
            self.w = w
            if self.older:
                self.older = {}
            return self.cur
        if w == cw:
            return self.cur
        if w == cw - 1:
            return self.prev
        t = self.older.get(w)
        if t is None:
            t = self.older[w] = {}
        return t

    def count(self, grant: str, ts: int) -> int:
        w = ts // self.length
        if w == self.w:
            return self.cur.get(grant, 0)
        if self.w is None or w > self.w:
            return 0
        return self.table(w).get(grant, 0)

    def reserve(self, grant: str, ts: int) -> None:
        t = self.table(ts // self.length)
        t[grant] = t.get(grant, 0) + 1

    def release(self, grant: str, ts: int) -> None:
        t = self.table(ts // self.length)
        n = t.get(grant, 0)
        if n > 1:
            t[grant] = n - 1
        elif n == 1:
            del t[grant]

    def window(self, ts: int) -> tuple[int, int]:
        """``[start, end)`` of the window holding ``ts``."""
        start = ts // self.length * self.length
        return start, start + self.length

    def resets_at(self, grant: str, ts: int) -> int:
        """When this bucket next counts from zero (the end of the current window)."""
        return self.window(ts)[1]

    def buckets(self) -> int:
        return len(self.cur) + len(self.prev) + sum(len(t) for t in self.older.values())


class SlidingCounter:
    """Exact sliding log of reservation times per grant (sorted lists)."""

    __slots__ = ("length", "logs", "newest", "next_sweep")

    def __init__(self, length_ns: int) -> None:
        self.length = length_ns
        self.logs: dict[str, list[int]] = {}
        self.newest: int | None = None
        self.next_sweep: int | None = None

    def _log(self, grant: str, ts: int) -> list[int] | None:
        newest = self.newest
        if newest is None or ts > newest:
            self.newest = ts
            if self.next_sweep is None:
                self.next_sweep = ts + 2 * self.length
            elif ts >= self.next_sweep:
                self._sweep(ts)
        return self.logs.get(grant)

    def _sweep(self, now: int) -> None:
        horizon = now - 2 * self.length
        stale = [g for g, log in self.logs.items() if not log or log[-1] <= horizon]
        for g in stale:
            del self.logs[g]
        self.next_sweep = now + 2 * self.length

    def count(self, grant: str, ts: int) -> int:
        log = self._log(grant, ts)
        if not log:
            return 0
        hi = len(log) if log[-1] <= ts else bisect_right(log, ts)
        return hi - bisect_right(log, ts - self.length, 0, hi)

    def reserve(self, grant: str, ts: int) -> None:
        log = self._log(grant, ts)
        if log is None:
            self.logs[grant] = [ts]
            return
        if not log or log[-1] <= ts:
            log.append(ts)
            # Drop what can no longer matter (older than two lengths), in batches to stay O(1) amortised.
            cut = bisect_right(log, ts - 2 * self.length)
            if cut > 32 or (cut and cut * 2 >= len(log)):
                del log[:cut]
        else:
            insort(log, ts)

    def try_reserve(self, grant: str, ts: int, limit: int) -> bool:
        """Reserve one unit unless the bucket already holds ``limit`` in ``(ts - length, ts]``."""
        if self.count(grant, ts) >= limit:
            return False
        self.reserve(grant, ts)
        return True

    def release(self, grant: str, ts: int) -> None:
        log = self.logs.get(grant)
        if not log:
            return
        i = bisect_left(log, ts)
        if i < len(log) and log[i] == ts:
            del log[i]

    def window(self, ts: int) -> tuple[int, int]:
        """``(start, end]`` of the sliding interval ending at ``ts``."""
        return ts - self.length, ts

    def resets_at(self, grant: str, ts: int) -> int | None:
        """When the oldest reservation counted at ``ts`` leaves the window (None when nothing is counted)."""
        log = self.logs.get(grant)
        if not log:
            return None
        i = bisect_right(log, ts - self.length)
        if i >= len(log) or log[i] > ts:
            return None
        return log[i] + self.length

    def buckets(self) -> int:
        return len(self.logs)


class CounterStore:
    """All counters of one simulation; a key is ``(location kind, location, counter, window)``."""

    def __init__(self, windows: str = "fixed") -> None:
        if windows not in ("fixed", "sliding"):
            raise ValueError(f"unknown window mode {windows!r}")
        self.mode = windows
        self.counters: dict[Hashable, FixedCounter | SlidingCounter] = {}

    def get(self, key: tuple[str, str, str, str], length_ns: int) -> FixedCounter | SlidingCounter:
        c = self.counters.get(key)
        if c is None:
            c = FixedCounter(length_ns) if self.mode == "fixed" else SlidingCounter(length_ns)
            self.counters[key] = c
        return c
