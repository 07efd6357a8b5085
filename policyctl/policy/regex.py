"""Compiling a ``regex`` condition's pattern the way the gateway does: RE2 syntax as Go's ``regexp`` reads it.

PolicyLayer's engine is written in Go. policyctl compiles patterns with Google's C++ RE2 (the
``re2`` module), which accepts a few things Go's ``regexp`` rejects. A pattern the gateway cannot
compile never matches there, so it must never match here either — in ``simulate``, ``explain``,
coverage, ``diff`` and the counterexample search alike — and lint (PL101) reports it. Everything
that compiles a pattern goes through :func:`compile_gateway` or :func:`gateway_error`, so they
cannot disagree.

What C++ RE2 accepts and Go rejects (found by compiling generated patterns with both):

* ``\\C`` (any single byte) outside a character class and outside ``\\Q…\\E``;
* a named group whose name is not ``[A-Za-z0-9_]+`` (``(?P<名>…)``): C++ RE2 allows Unicode
  word characters in names, Go only ASCII letters, digits and ``_``.

Not modelled: Go's limits on a parse tree nested more than 1,000 levels deep or compiling to more
than about 3.3 million instructions (C++ RE2 has different limits); no policy gets near them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["GatewayRegexError", "go_rejects", "gateway_error", "compile_gateway", "class_end"]

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class GatewayRegexError:
    """Why the gateway cannot compile a pattern: RE2's own error, or constructs only C++ RE2 accepts."""

    re2_error: str | None  # RE2 rejects the pattern (Go's regexp then rejects it too)
    go_rejects: tuple[str, ...]  # RE2 in C++ accepts it, Go's regexp does not: each construct, described

    def __str__(self) -> str:
        if self.re2_error is not None:
            return self.re2_error
        return "; ".join(f"uses {what}, which Go's regexp rejects" for what in self.go_rejects)


def go_rejects(pattern: str) -> tuple[str, ...]:
    """Constructs in ``pattern`` that C++ RE2 accepts but Go's ``regexp`` rejects, described.

    A single pass that skips escapes, character classes and ``\\Q…\\E`` literals, the places where
    the same characters mean something else. Only meaningful for a pattern RE2 compiles.
    """
    found: list[str] = []
    n = len(pattern)
    i = 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1] if i + 1 < n else ""
            if nxt == "C":
                found.append("\\C (any single byte)")
            elif nxt == "Q":  # \Q…\E quotes literally (to the end when there is no \E)
                end = pattern.find("\\E", i + 2)
                i = n if end == -1 else end + 2
                continue
            i += 2
            continue
        if c == "[":
            i = class_end(pattern, i)
            continue
        if c == "(" and pattern.startswith(("(?P<", "(?<"), i):
            start = i + (4 if pattern[i + 2] == "P" else 3)
            close = pattern.find(">", start)
            if close != -1:
                name = pattern[start:close]
                if name and not set(name) <= _NAME_CHARS:
                    found.append(f"the group name {name!r} (Go allows only ASCII letters, digits and _)")
        i += 1
    return tuple(dict.fromkeys(found))


def class_end(pattern: str, i: int) -> int:
    """Index just after the character class that opens at ``pattern[i] == "["``."""
    n = len(pattern)
    j = i + 1
    if j < n and pattern[j] == "^":
        j += 1
    if j < n and pattern[j] == "]":  # a leading ] is a literal
        j += 1
    while j < n and pattern[j] != "]":
        if pattern[j] == "\\":
            j += 1
        elif pattern.startswith("[:", j):
            close = pattern.find(":]", j + 2)
            if close != -1:
                j = close + 1
        j += 1
    return j + 1


def _options() -> Any:
    import re2

    opts = re2.Options()
    opts.log_errors = False  # RE2 would print parse errors on stderr; lint reports them instead
    opts.never_capture = True  # only "does it match" matters (Go accepts duplicate group names too)
    return opts


def _compile(pattern: str) -> tuple[Any, GatewayRegexError | None]:
    import re2

    try:
        compiled = re2.compile(pattern, _options())
    except Exception as exc:  # noqa: BLE001 - re2.error (sometimes with bytes), or an encoding error
        msg = exc.args[0] if exc.args else str(exc)
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "replace")
        return None, GatewayRegexError(str(msg), ())
    rejected = go_rejects(pattern)
    if rejected:
        return None, GatewayRegexError(None, rejected)
    return compiled, None


def gateway_error(pattern: Any) -> GatewayRegexError | None:
    """Why the gateway cannot compile ``pattern`` (None when it can)."""
    if not isinstance(pattern, str):
        return GatewayRegexError("the value is not a string", ())
    return _compile(pattern)[1]


def compile_gateway(pattern: Any) -> Any:
    """The RE2 program of ``pattern``, or None when the gateway (Go's regexp) cannot compile it."""
    if not isinstance(pattern, str):
        return None
    return _compile(pattern)[0]
