"""Counter state for limits. Times are integer nanoseconds since the Unix epoch (exact window edges).

A *bucket* is ``(grant, location, counter, window)`` (SPEC §2). Buckets are grouped in *families*
— ``(location, counter, window)`` — one per distinct limit key of the policy; each family has a
``count / reserve / release / resets_at`` view used by ``explain`` and the tests, while the
compiled programs of :mod:`policyctl.engine.evaluator` touch the same state directly.

Calls are evaluated on a clock that never runs backwards: the trace reader hands out, for a line
whose timestamp is earlier than one already seen, the newest time seen so far (and counts the line
in its "went backwards" warning) — a gateway processes requests in arrival order on a monotonic
clock. Every structure here relies on that order.

``fixed`` (default) — calendar-aligned UTC windows: a minute from ``hh:mm:00Z``, an hour from
``hh:00:00Z``, a day from ``00:00:00Z``, as in Intercept's store. Per grant the state is one flat
list: a window marker per window length the policy uses, then one count per family. When a call of
that grant falls in a newer window than the marker, the counts of that length start again from
zero (Intercept's "a counter reads 0 once the stored window start differs"), so a limit check is a
comparison and an increment.

``sliding`` — an exact sliding log: the count is the number of the bucket's reservations (made
earlier in the trace, not released) in the half-open interval ``(ts - length, ts]``; a reservation
exactly ``length`` old no longer counts.

Memory stays flat however long the trace is: fixed state of grants whose windows have all passed
is swept away, and sliding logs keep reservations at most two lengths old and forget quiet grants.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Hashable

NS = 1_000_000_000
_NEVER = -(1 << 62)  # marker of a window length a grant has not used yet

__all__ = ["NS", "LENGTHS", "FixedStore", "FixedFamily", "SlidingCounter", "CounterStore"]


LENGTHS = (60 * NS, 3600 * NS, 86400 * NS)  # the three windows: their markers sit in slots 0, 1, 2
WINDOW_NS = {"minute": LENGTHS[0], "hour": LENGTHS[1], "day": LENGTHS[2]}  # a window's name → its length


class FixedStore:
    """Fixed-window state: ``grants[grant]`` is ``[minute, hour, day markers, counts…]``.

    Counts are laid out grouped by window length (``layout``), so when a grant's minute turns, all
    its minute counts are zeroed by one slice assignment.
    """

    __slots__ = ("grants", "families", "slots", "spans", "template", "next_sweep", "longest")

    def __init__(self) -> None:
        self.grants: dict[str, list[int]] = {}
        self.families: list[int] = []  # family index -> its marker slot
        self.slots: list[int] = []  # family index -> its count slot (after layout)
        self.spans: dict[int, tuple[int, int]] = {}  # marker -> [start, end) of its count slots
        self.template: list[int] = []
        self.next_sweep: int | None = None
        self.longest = 0

    def add_family(self, length_ns: int) -> int:
        """Register a family (before ``layout``); returns its index."""
        if self.template:
            raise RuntimeError("families must be registered before the layout is fixed")
        self.families.append(LENGTHS.index(length_ns))
        self.longest = max(self.longest, length_ns)
        return len(self.families) - 1

    def layout(self) -> None:
        """Assign count slots grouped by window length; no family can be added afterwards."""
        if self.template:
            return
        order = sorted(range(len(self.families)), key=lambda f: (self.families[f], f))
        self.slots = [0] * len(self.families)
        pos = len(LENGTHS)
        for f in order:
            marker = self.families[f]
            self.slots[f] = pos
            start, _ = self.spans.get(marker, (pos, pos))
            self.spans[marker] = (start, pos + 1)
            pos += 1
        self.template = [_NEVER] * len(LENGTHS) + [0] * len(self.families)

    def pair_slots(self) -> dict[int, int]:
        """Lay the slots out again (before any grant has state) with a second slot per family right
        after its window length's counts, inside the span a turn of that window zeroes; returns
        count slot -> its second slot. ``simulate --report`` keeps a reference there
        (``Evaluator.watch``), which the window's turn clears with the counts."""
        if self.grants:
            raise RuntimeError("slots can only be paired before any grant has state")
        order = sorted(range(len(self.families)), key=lambda f: (self.families[f], f))
        self.slots = [0] * len(self.families)
        self.spans = {}
        paired: dict[int, int] = {}
        pos = len(LENGTHS)
        for marker in sorted(set(self.families)):
            mine = [f for f in order if self.families[f] == marker]
            start = pos
            for k, f in enumerate(mine):
                self.slots[f] = pos + k
                paired[pos + k] = pos + len(mine) + k
            pos += 2 * len(mine)
            self.spans[marker] = (start, pos)
        self.template = [_NEVER] * len(LENGTHS) + [0] * (pos - len(LENGTHS))
        return paired

    def state(self, grant: str, ts: int) -> list[int]:
        """The slot list of ``grant`` (created on first sight; sweeps idle grants now and then)."""
        gs = self.grants.get(grant)
        if gs is None:
            if not self.template:
                self.layout()
            if self.next_sweep is None:
                self.next_sweep = ts + 2 * self.longest
            elif ts >= self.next_sweep:
                self.sweep(ts)
            gs = self.grants[grant] = self.template.copy()
        return gs

    def sweep(self, now: int) -> None:
        """Forget grants whose every window has passed: their counts read 0 anyway."""
        stale = [g for g, gs in self.grants.items()
                 if all(gs[i] < now // length for i, length in enumerate(LENGTHS))]
        for grant in stale:
            del self.grants[grant]
        self.next_sweep = now + 2 * self.longest

    def advance(self, gs: list[int], marker: int, w: int) -> None:
        """Move ``gs``'s marker to window ``w``, zeroing that length's counts when the window changes."""
        if gs[marker] != w:
            gs[marker] = w
            start, end = self.spans[marker]
            gs[start:end] = [0] * (end - start)


class FixedFamily:
    """Read/write view of one fixed-window family (for explain, coverage and tests)."""

    __slots__ = ("store", "index", "marker", "length")

    def __init__(self, store: FixedStore, index: int, length_ns: int) -> None:
        self.store = store
        self.index = index
        self.marker = LENGTHS.index(length_ns)
        self.length = length_ns

    @property
    def slot(self) -> int:
        """Index of this family's count in a grant's slot list."""
        return self.store.slots[self.index]

    def count(self, grant: str, ts: int) -> int:
        gs = self.store.grants.get(grant)
        if gs is None or gs[self.marker] != ts // self.length:
            return 0
        return gs[self.slot]

    def reserve(self, grant: str, ts: int) -> None:
        gs = self.store.state(grant, ts)
        self.store.advance(gs, self.marker, ts // self.length)
        gs[self.slot] += 1

    def release(self, grant: str, ts: int) -> None:
        gs = self.store.grants.get(grant)
        if gs is not None and gs[self.marker] == ts // self.length and gs[self.slot] > 0:
            gs[self.slot] -= 1

    def window(self, ts: int) -> tuple[int, int]:
        """``[start, end)`` of the calendar window holding ``ts``."""
        start = ts // self.length * self.length
        return start, start + self.length

    def resets_at(self, grant: str, ts: int) -> int:
        """When this bucket next counts from zero: the end of the current window."""
        return self.window(ts)[1]


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
        """Log one reservation at ``ts``."""
        log = self._log(grant, ts)
        if log is None:
            self.logs[grant] = [ts]
            return
        if not log or log[-1] <= ts:
            log.append(ts)
            # Drop what can no longer matter (two lengths old), in batches: O(1) amortised.
            cut = bisect_right(log, ts - 2 * self.length)
            if cut > 32 or (cut and cut * 2 >= len(log)):
                del log[:cut]
        else:
            insort(log, ts)

    def try_reserve(self, grant: str, ts: int, limit: int) -> bool:
        """Log one reservation at ``ts`` unless ``(ts - length, ts]`` already holds ``limit`` (one pass)."""
        log = self._log(grant, ts)
        if not log:
            if limit <= 0:
                return False
            if log is None:
                self.logs[grant] = [ts]
            else:
                log.append(ts)
            return True
        if log[-1] <= ts:
            lo = bisect_right(log, ts - self.length)
            if len(log) - lo >= limit:
                return False
            log.append(ts)
            if lo > 32 or (lo and lo * 2 >= len(log)):
                # drop what can no longer matter (two lengths old), in batches: O(1) amortised
                del log[:bisect_right(log, ts - 2 * self.length)]
            return True
        if self.count(grant, ts) >= limit:
            return False
        insort(log, ts)
        return True

    def release(self, grant: str, ts: int) -> None:
        """Remove one reservation logged at ``ts``."""
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
        """When the oldest reservation counted at ``ts`` leaves the window (None when none is counted)."""
        log = self.logs.get(grant)
        if not log:
            return None
        i = bisect_right(log, ts - self.length)
        if i >= len(log) or log[i] > ts:
            return None
        return log[i] + self.length


class CounterStore:
    """All counter families of one evaluation, keyed ``(location kind, location, counter, window)``."""

    def __init__(self, windows: str = "fixed") -> None:
        if windows not in ("fixed", "sliding"):
            raise ValueError(f"unknown window mode {windows!r}")
        self.mode = windows
        self.fixed = FixedStore()
        self.families: dict[Hashable, FixedFamily | SlidingCounter] = {}

    def get(self, key: tuple[str, str, str, str], length_ns: int) -> FixedFamily | SlidingCounter:
        fam = self.families.get(key)
        if fam is None:
            if self.mode == "fixed":
                fam = FixedFamily(self.fixed, self.fixed.add_family(length_ns), length_ns)
            else:
                fam = SlidingCounter(length_ns)
            self.families[key] = fam
        return fam

    def grants_held(self) -> int:
        """How many grant states are held (a memory gauge for tests)."""
        if self.mode == "fixed":
            return len(self.fixed.grants)
        return sum(len(f.logs) for f in self.families.values() if isinstance(f, SlidingCounter))
