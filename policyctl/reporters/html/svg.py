"""Inline SVG charts for the HTML reports, written as text (no charting library, nothing fetched).

Every mark carries a class the page's CSS colours (light and dark) and, where colour alone would
carry meaning, a fill pattern and a text label too; every mark has a ``<title>`` with its numbers.
Text is escaped here: the results are safe to insert into the page as they are.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape as html_escape
from typing import Iterable, Sequence

from policyctl.reporters.lint import printable


def escape(text: str) -> str:
    """``text`` for the page: made printable first (a tool name's ANSI escape or bidi override
    shows as ``\\x1b`` / ``\\u202e`` instead of reordering what the reader sees), then HTML-escaped."""
    return html_escape(printable(text))

NS = 1_000_000_000

#: decision reasons (and diff transitions) → (css class, pattern shape or None, short label)
MARKS = {
    "allowed": ("m-allowed", None, "A"),
    "hidden": ("m-hidden", "dots", "H"),
    "default_deny": ("m-default", "cross", "D"),
    "require": ("m-require", "diag", "Rq"),
    "deny_if": ("m-denyif", "back", "Di"),
    "rate_limited": ("m-rate", "vert", "RL"),
    "allow->deny": ("m-default", "diag", "A→D"),
    "deny->allow": ("m-allowed", None, "D→A"),
    "deny->deny": ("m-hidden", "dots", "D→D"),
    # Intercept's own reasons: on a page only when the run can report them (their patterns too)
    "require_approval": ("m-require", "dots", "RA"),
    "policy_error": ("m-hidden", "vert", "PE"),
}
#: the marks whose fill patterns every page carries
BASE_MARKS = ("allowed", "hidden", "default_deny", "require", "deny_if", "rate_limited", "allow->deny",
              "deny->allow", "deny->deny")

_SHAPES = {
    "dots": '<circle class="{fg}" cx="3" cy="3" r="1.4"/>',
    "diag": '<rect class="{fg}" width="2.2" height="6"/>',
    "back": '<rect class="{fg}" width="2.2" height="6"/>',
    "vert": '<rect class="{fg}" width="2.2" height="6"/>',
    "cross": '<path class="{fg}-ln" d="M0 0L6 6M6 0L0 6"/>',
}
_ROTATE = {"diag": 45, "back": -45}


def _pattern_id(key: str) -> str:
    return "p-" + "".join(ch if ch.isalnum() else "-" for ch in key)


def fmt_time(ns: int | None) -> str:
    """RFC 3339 UTC with the precision the value needs."""
    if ns is None:
        return ""
    sec, frac = divmod(ns, NS)
    text = datetime.fromtimestamp(sec, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += ("." + f"{frac:09d}".rstrip("0"))[:4]
    return text + "Z"


def fmt_span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"


def defs(extra: Iterable[str] = ()) -> str:
    """One hidden SVG holding the fill pattern of every patterned mark (each in its mark's colour):
    the base marks, and the ``extra`` ones a page uses besides."""
    parts = ['<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false"><defs>']
    keys = (*BASE_MARKS, *(k for k in extra if k not in BASE_MARKS))
    for key in keys:
        cls, shape, _ = MARKS[key]
        if shape is None:
            continue
        rot = _ROTATE.get(shape)
        transform = f' patternTransform="rotate({rot})"' if rot else ""
        parts.append(f'<pattern id="{_pattern_id(key)}" width="6" height="6" patternUnits="userSpaceOnUse"{transform}>'
                     f'<rect class="{cls}-bg" width="6" height="6"/>{_SHAPES[shape].format(fg=cls)}</pattern>')
    parts.append("</defs></svg>")
    return "".join(parts)


def _fill(key: str) -> str:
    shape = MARKS[key][1]
    return f' style="fill:url(#{_pattern_id(key)})"' if shape else ""


def swatch(key: str) -> str:
    """A legend square with the mark's colour and pattern."""
    return (f'<svg class="swatch" width="14" height="14" aria-hidden="true">'
            f'<rect class="{MARKS[key][0]}" width="14" height="14"{_fill(key)}/></svg>')


def _rect(x: float, y: float, w: float, h: float, key: str, title: str) -> str:
    return (f'<rect class="mark {MARKS[key][0]}" data-series="{escape(key)}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{w:.1f}" height="{h:.1f}"{_fill(key)}><title>{escape(title)}</title></rect>')


def stacked_bars(cells: Sequence[tuple[int, dict[str, int]]], keys: Sequence[str], start_ns: int, end_ns: int,
                 width_ns: int, *, ymax: int | None = None, height: int = 56, width: int = 720,
                 label: str = "") -> str:
    """One row of stacked bars over time: ``cells`` are (bin start, {key: n}), ``keys`` the stack order."""
    left, bottom = 44, 14
    span = max(end_ns - start_ns, width_ns)
    plot_w = width - left - 4
    plot_h = height - bottom - 4
    top = ymax or max((sum(c.values()) for _, c in cells), default=1) or 1
    bw = max(plot_w * width_ns / span - 1, 1.0)
    parts = [f'<svg class="chart bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(label)}">',
             f'<text class="axis" x="{left - 4}" y="{4 + 8}" text-anchor="end">{top}</text>',
             f'<line class="base" x1="{left}" y1="{height - bottom}" x2="{width - 4}" y2="{height - bottom}"/>']
    for bin_start, cell in cells:
        x = left + plot_w * (bin_start - start_ns) / span
        y: float = height - bottom
        for key in keys:
            n = cell.get(key, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(_rect(x, y, bw, h, key, f"{fmt_time(bin_start)} +{fmt_span(width_ns / NS)}: {n} {key}"))
    parts.append(f'<text class="axis" x="{left}" y="{height - 2}">{escape(fmt_time(start_ns))}</text>')
    parts.append(f'<text class="axis" x="{width - 4}" y="{height - 2}" text-anchor="end">'
                 f'{escape(fmt_time(end_ns))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def step_chart(series: Sequence[tuple[int, int, int, int]], *, limit: int, length_ns: int, start_ns: int,
               end_ns: int, bursts: Iterable[tuple[int, int]] = (), label: str = "", width: int = 720,
               height: int = 150, max_columns: int = 720) -> str:
    """Count per window against ``limit`` as a step line; denials as triangles, bursts as circles.

    ``series``: (window start, count, denied, sliding) for windows with calls (others are 0).
    ``bursts``: (moment, sliding count) of window-edge bursts.
    """
    left, right, top_pad, bottom = 44, 8, 14, 18
    start_ns = start_ns // length_ns * length_ns
    end_ns = max(end_ns, start_ns + length_ns)
    windows = (end_ns - start_ns) // length_ns + 1
    group = max(1, -(-windows // max_columns))  # windows per column: many windows draw as their maximum
    col_ns = group * length_ns
    columns = -(-windows // group)
    counts = [0] * columns
    denied = [0] * columns
    for w_start, n, d, _s in series:
        c = (w_start - start_ns) // col_ns
        if 0 <= c < columns:
            counts[c] = max(counts[c], n)
            denied[c] += d
    burst_list = list(bursts)
    ymax = max([limit] + counts + [s for _, s in burst_list]) or 1
    ymax = int(ymax * 1.15) + 1
    plot_w = width - left - right
    plot_h = height - top_pad - bottom
    span = columns * col_ns

    def xpos(ns: int) -> float:
        return left + plot_w * (ns - start_ns) / span

    def ypos(v: float) -> float:
        return top_pad + plot_h * (1 - v / ymax)

    parts = [f'<svg class="chart step" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(label)}">',
             f'<line class="base" x1="{left}" y1="{ypos(0):.1f}" x2="{width - right}" y2="{ypos(0):.1f}"/>',
             f'<line class="limit" x1="{left}" y1="{ypos(limit):.1f}" x2="{width - right}" y2="{ypos(limit):.1f}">'
             f'<title>max {limit}</title></line>',
             f'<text class="axis limit-label" x="{left - 4}" y="{ypos(limit) + 4:.1f}" '
             f'text-anchor="end">max {limit}</text>',
             f'<text class="axis" x="{left - 4}" y="{ypos(0) + 4:.1f}" text-anchor="end">0</text>']
    path = [f"M{left},{ypos(counts[0]):.1f}"]
    for c in range(columns):
        y = ypos(counts[c])
        if c:
            path.append(f"V{y:.1f}")
        path.append(f"H{xpos(start_ns + (c + 1) * col_ns):.1f}")
    grouped = f" (maximum of {group} windows per step)" if group > 1 else ""
    parts.append(f'<path class="mark line" data-series="count" d="{"".join(path)}"><title>count per '
                 f'{escape(fmt_span(length_ns / NS))} window{grouped}</title></path>')
    for c in range(columns):
        if denied[c]:
            x = xpos(start_ns + c * col_ns) + plot_w / columns / 2
            y = ypos(limit) - 3
            parts.append(f'<path class="mark deny" data-series="denied" d="M{x - 4:.1f},{y - 7:.1f}h8l-4,7z">'
                         f'<title>{denied[c]} denied in the window from {fmt_time(start_ns + c * col_ns)}'
                         '</title></path>')
    for at, sliding in burst_list:
        x, y = xpos(at), ypos(sliding)
        parts.append(f'<circle class="mark burst" data-series="burst" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                     f'<title>window-edge burst: {sliding} allowed in the {fmt_span(length_ns / NS)} ending '
                     f'{fmt_time(at)} (max {limit})</title></circle>'
                     f'<text class="axis burst-label" x="{x + 6:.1f}" y="{y - 4:.1f}">{sliding}</text>')
    parts.append(f'<text class="axis" x="{left}" y="{height - 4}">{escape(fmt_time(start_ns))}</text>')
    parts.append(f'<text class="axis" x="{width - right}" y="{height - 4}" text-anchor="end">'
                 f'{escape(fmt_time(start_ns + span))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hbars(rows: Sequence[tuple[str, dict[str, int]]], keys: Sequence[str], *, width: int = 720,
          label: str = "") -> str:
    """Horizontal stacked bars, one per row (e.g. transitions per tool), with the numbers written."""
    row_h, left = 22, 200
    height = row_h * len(rows) + 6
    top = max((sum(c.get(k, 0) for k in keys) for _, c in rows), default=1) or 1
    plot_w = width - left - 60
    parts = [f'<svg class="chart hbars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(label)}">']
    for i, (name, cell) in enumerate(rows):
        y = 3 + i * row_h
        shown = name if len(name) <= 28 else name[:27] + "…"
        parts.append(f'<text class="axis" x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(shown)}</text>')
        x = float(left)
        for key in keys:
            n = cell.get(key, 0)
            if not n:
                continue
            w = max(plot_w * n / top, 1.0)
            parts.append(_rect(x, y + 2, w, row_h - 6, key, f"{name}: {n} {key}"))
            x += w
        parts.append(f'<text class="axis" x="{x + 4:.1f}" y="{y + 14}">{sum(cell.get(k, 0) for k in keys)}</text>')
    parts.append("</svg>")
    return "".join(parts)
