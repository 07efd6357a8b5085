"""What ``diff --report`` draws beyond the diff itself: changed calls over time and per tool.

Public API::

    tl = ChangeTimeline()
    behavior_diff_trace(old, new, path, observer=tl)   # tl.change(...) per changed call, tl.span(...) once
    tl.first_ns, tl.last_ns, tl.width_s, tl.bins       # bins: {bin start ns: {transition: n}}
    tl.by_tool                                         # {tool: {transition: n}}

Bounded memory: at most ``MAX_BINS`` time bins, whose width steps up the same calendar-aligned
ladder as ``simulate --report`` when the changes outgrow them.
"""

from __future__ import annotations

from policyctl.diff.differ import TRANSITIONS
from policyctl.engine.counters import NS
from policyctl.simulate.report import LADDER, MAX_BINS

__all__ = ["ChangeTimeline"]


class ChangeTimeline:
    def __init__(self) -> None:
        self.rung = 0
        self._bins: dict[int, dict[str, int]] = {}
        self._first_bin: int | None = None
        self.by_tool: dict[str, dict[str, int]] = {}
        self.first_ns: int | None = None
        self.last_ns: int | None = None

    @property
    def width_s(self) -> int:
        return LADDER[self.rung]

    @property
    def bins(self) -> dict[int, dict[str, int]]:
        """{bin start ns: {transition: n}}, in time order."""
        width = self.width_s * NS
        return {i * width: dict(cell) for i, cell in sorted(self._bins.items())}

    def change(self, ts: int, tool: str, transition: str) -> None:
        width = self.width_s * NS
        index = ts // width
        if self._first_bin is None:
            self._first_bin = index
        while index - self._first_bin >= MAX_BINS and self.rung + 1 < len(LADDER):
            self._coarsen()
            width = self.width_s * NS
            index = ts // width
        cell = self._bins.get(index)
        if cell is None:
            cell = self._bins[index] = {t: 0 for t in TRANSITIONS}
        cell[transition] = cell.get(transition, 0) + 1
        row = self.by_tool.get(tool)
        if row is None:
            row = self.by_tool[tool] = {t: 0 for t in TRANSITIONS}
        row[transition] = row.get(transition, 0) + 1

    def span(self, first_ns: int | None, last_ns: int | None) -> None:
        self.first_ns, self.last_ns = first_ns, last_ns

    def _coarsen(self) -> None:
        factor = LADDER[self.rung + 1] // LADDER[self.rung]
        self.rung += 1
        merged: dict[int, dict[str, int]] = {}
        for index, cell in self._bins.items():
            have = merged.get(index // factor)
            if have is None:
                merged[index // factor] = cell
            else:
                for k, v in cell.items():
                    have[k] = have.get(k, 0) + v
        self._bins = merged
        assert self._first_bin is not None
        self._first_bin //= factor
