"""RFC 3339 timestamps of traces: reading them (ASCII digits only) and writing any nanosecond instant.

Reading: ``YYYY-MM-DDTHH:MM:SS`` (``T`` or ``t``), an optional fraction, then ``Z``/``z`` or an
offset ``±HH:MM``. Every digit is an ASCII digit, as RFC 3339's ``DIGIT`` (RFC 5234: ``%x30-39``)
and Go's ``time.Parse`` require; Arabic-Indic, fullwidth or other Unicode digits, which Python's
``\\d`` and ``int()`` would accept, make the timestamp invalid. Traces accept the years 1 to 9999.

Writing (:func:`format_ts`): UTC with ``Z``, a four-digit year, and only as many fraction digits as
needed (none, 3, or up to 9). It is exact for any integer number of nanoseconds, including window
bounds that ``explain`` computes just outside the years a trace can hold: a window starting before
0001-01-01 shows year ``0000`` (the proleptic Gregorian year before 1, still four digits), a window
ending after 9999 shows an ISO 8601 expanded year with its sign, ``+10000-01-01T00:00:00Z``.
Nothing is clamped, so a bound is never shown earlier or later than it is.
"""

from __future__ import annotations

import re

from policyctl.engine.counters import NS

__all__ = ["MIN_NS", "MAX_NS", "prefix_ns", "suffix_ns", "lacks_timezone", "format_ts", "TimeCache"]

#: Years 0001..9999, as RFC 3339 allows: the range a trace's timestamps must fall in.
MIN_NS = -62135596800 * NS
MAX_NS = 253402300800 * NS

# [0-9], never \d: \d matches every Unicode decimal digit ("٢٠٢٦", "２０２６").
_PREFIX = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})\Z")
_SUFFIX = re.compile(r"(?:\.([0-9]{1,9})[0-9]*)?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))\Z")
_NO_TZ = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?\Z")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_CACHE_LIMIT = 8192


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days from 1970-01-01 to the proleptic Gregorian date y-m-d."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """The proleptic Gregorian (year, month, day) ``days`` after 1970-01-01, for any integer."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def prefix_ns(prefix: str) -> int:
    """ns since the epoch of ``YYYY-MM-DDTHH:MM:SS`` read as UTC; ValueError when it is not one."""
    m = _PREFIX.match(prefix)
    if m is None:
        raise ValueError
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    if s == 60:
        raise ValueError("leap seconds (:60) are not supported")
    if y < 1 or not 1 <= mo <= 12 or h > 23 or mi > 59 or s > 59:
        raise ValueError
    if not 1 <= d <= _MONTH_DAYS[mo - 1] + (mo == 2 and _leap(y)):
        raise ValueError
    return ((_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 * NS + s * NS


def suffix_ns(suffix: str) -> int:
    """Fraction minus offset, in ns, of the part after ``YYYY-MM-DDTHH:MM:SS``; ValueError if invalid."""
    m = _SUFFIX.match(suffix)
    if m is None:
        raise ValueError
    frac, _z, sign, oh, om = m.groups()
    ns = int((frac + "000000000")[:9]) if frac else 0
    if sign:
        h, mi = int(oh), int(om)
        if h > 23 or mi > 59:
            raise ValueError("offset out of range")
        off = (h * 3600 + mi * 60) * NS
        ns += -off if sign == "+" else off
    return ns


def lacks_timezone(text: str) -> bool:
    """True for a date and time without ``Z`` or an offset (for a clearer message)."""
    return _NO_TZ.match(text) is not None


def format_ts(ns: int, *, min_fraction_digits: int = 0) -> str:
    """RFC 3339 UTC text of an instant in ns since the epoch: four-digit year (``+`` and more digits
    past 9999), ``Z``, and at least ``min_fraction_digits`` (else only the needed) fraction digits."""
    sec, frac = divmod(ns, NS)
    days, rem = divmod(sec, 86400)
    y, mo, d = _civil_from_days(days)
    hh, rem = divmod(rem, 3600)
    mi, ss = divmod(rem, 60)
    year = f"{y:04d}" if 0 <= y <= 9999 else (f"+{y}" if y > 9999 else f"-{-y:04d}")
    text = f"{year}-{mo:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}"
    if frac or min_fraction_digits:
        digits = f"{frac:09d}".rstrip("0")
        if len(digits) <= 3:
            digits = digits.ljust(3, "0")
        text += "." + digits.ljust(min_fraction_digits, "0")
    return text + "Z"


_SECONDS = {f":{s:02d}": s * NS for s in range(60)}


class TimeCache:
    """Cheapest correct RFC 3339 parsing for streams: the ``YYYY-MM-DDTHH:MM:SS`` prefix and the
    ``.fff…Z``/offset suffix are each parsed once and remembered (bounded), so a typical line costs
    two slices and two dict lookups; a new second within a known minute costs one more lookup and
    a two-digit parse. Prefixes in years 1 and 9999 are never cached, so an offset can never push
    a cached result out of range unnoticed."""

    __slots__ = ("prefixes", "suffixes", "minutes")

    def __init__(self) -> None:
        self.prefixes: dict[str, int] = {}
        self.suffixes: dict[str, int] = {}
        self.minutes: dict[str, int] = {}

    def prefix(self, p: str) -> int | None:
        """ns of ``YYYY-MM-DDTHH:MM:SS`` (None when it is not one, or in year 1 or 9999)."""
        minute = self.minutes.get(p[:16])
        sec = _SECONDS.get(p[16:]) if minute is not None else None  # ":00".. ":59" (so len(p) == 19)
        if minute is not None and sec is not None:
            base = minute + sec
        else:
            try:
                base = prefix_ns(p)
            except ValueError:
                return None
            if p.startswith(("0001", "9999")):
                return None
            if len(self.minutes) >= _CACHE_LIMIT:
                self.minutes.clear()
            self.minutes[p[:16]] = base - int(p[17:19]) * NS
        if len(self.prefixes) >= _CACHE_LIMIT:
            self.prefixes.clear()
        self.prefixes[p] = base
        return base

    def suffix(self, s: str) -> int | None:
        try:
            off = suffix_ns(s)
        except ValueError:
            return None
        if len(self.suffixes) >= _CACHE_LIMIT:
            self.suffixes.clear()
        self.suffixes[s] = off
        return off
