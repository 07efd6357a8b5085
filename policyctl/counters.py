"""Counter state for limits. Times are integer nanoseconds since the Unix epoch (exact window edges).

A *bucket* is ``(grant, location, counter, window)`` (SPEC §2). Buckets are grouped in *families*
— ``(location, counter, window)`` — one per distinct limit key of the policy; each family has a
``count / reserve / release / resets_at`` view used by ``explain`` and the tests, while the
compiled programs of :mod:`policyctl.engine` touch the same state directly.

``fixed`` (default) — calendar-aligned UTC windows: a minute from ``hh:mm:00Z``, an hour from
``hh:00:00Z``, a day from ``00:00:00Z``. Each bucket stores ``(window index, count)`` exactly like
Intercept's store: a call in a different window than the stored one finds the count at zero.
Per grant the state is one flat list (two slots per family), so a limit check is a few list
operations.

``sliding`` — an exact sliding log: the count is the number of the bucket's reservations (made
earlier in the trace, not released) in the half-open interval ``(ts - length, ts]``; a reservation
exactly ``length`` old no longer counts.

Memory stays flat however long the trace is: fixed state of grants whose windows have all passed
is swept away, and sliding logs keep reservations at most two lengths old and forget quiet grants.

Lines whose timestamps go backwards (the reader counts and warns about them) are evaluated against
this state as it stands: under ``fixed``, a line in an older window than its bucket's finds the count
at zero and, if allowed, moves the bucket to its window (what a gateway whose clock stepped back
would do); a denied or released call restores the bucket exactly. Under ``sliding`` the count is
exact as long as the line is at most one length behind the newest one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import Hashable

NS = 1_000_000_000
_NEVER = -(1 << 62)  # window index of a slot that has never been used

__all__ = ["NS", "FixedStore", "FixedFamily", "SlidingCounter", "CounterStore"]


class FixedStore:
    """Fixed-window state of every family: ``grants[grant]`` is ``[w0, n0, w1, n1, …]``."""

    __slots__ = ("grants", "lengths", "template", "next_sweep", "longest")

    def __init__(self) -> None:
        self.grants: dict[str, list[int]] = {}
        self.lengths: list[int] = []  # per family
        self.template: list[int] = []
        self.next_sweep: int | None = None
        self.longest = 0

    def add_family(self, length_ns: int) -> int:
        """Register a family; returns the index of its window slot (its count slot is index + 1)."""
        if self.grants:
            raise RuntimeError("families must be registered before the first call")
        self.lengths.append(length_ns)
        self.template += [_NEVER, 0]
        self.longest = max(self.longest, length_ns)
        return len(self.template) - 2

    def state(self, grant: str, ts: int) -> list[int]:
        """The slot list of ``grant`` (created on first sight; sweeps idle grants now and then)."""
        gs = self.grants.get(grant)
        if gs is None:
            if self.next_sweep is None:
                self.next_sweep = ts + 2 * self.longest
            elif ts >= self.next_sweep:
                self.sweep(ts)
            gs = self.grants[grant] = self.template.copy()
        return gs

    def sweep(self, now: int) -> None:
        """Forget grants whose every window ended before the previous one: their counts read 0 anyway."""
        lengths = self.lengths
        stale = []
        for grant, gs in self.grants.items():
            for i, length in enumerate(lengths):
                if gs[2 * i] >= now // length - 1:
                    break
            else:
                stale.append(grant)
        for grant in stale:
            del self.grants[grant]
        self.next_sweep = now + 2 * self.longest


class FixedFamily:
    """Read/write view of one fixed-window family (for explain, coverage and tests)."""

    __slots__ = ("store", "slot", "length")

    def __init__(self, store: FixedStore, slot: int, length_ns: int) -> None:
        self.store = store
        self.slot = slot
        self.length = length_ns

    def count(self, grant: str, ts: int) -> int:
        gs = self.store.grants.get(grant)
        if gs is None or gs[self.slot] != ts // self.length:
            return 0
        return gs[self.slot + 1]

    def reserve(self, grant: str, ts: int) -> tuple[int, int] | None:
        """Take one unit; returns what :meth:`release` needs to undo it exactly."""
        gs = self.store.state(grant, ts)
        w = ts // self.length
        token = None
        if gs[self.slot] != w:
            token = (gs[self.slot], gs[self.slot + 1])
            gs[self.slot] = w
            gs[self.slot + 1] = 0
        gs[self.slot + 1] += 1
        return token

    def release(self, grant: str, ts: int, token: tuple[int, int] | None = None) -> None:
        """Give back a unit taken by :meth:`reserve` (restoring the slot it had reset, if any)."""
        gs = self.store.grants.get(grant)
        if gs is None:
            return
        if token is not None:
            gs[self.slot], gs[self.slot + 1] = token
        elif gs[self.slot + 1] > 0:
            gs[self.slot + 1] -= 1

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

    def release(self, grant: str, ts: int, token: object = None) -> None:
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
