"""The eleven condition operators, with the semantics of PolicyLayer's open-source engine (Intercept).

Arguments are JSON, so every number is an IEEE-754 double (``int`` values from the JSON parser are
converted the way a Go decoder would, see :func:`policyctl.documents.gofmt.to_double`); booleans are never
numbers. A path that cannot be walked gives :data:`NOT_FOUND`, which makes every operator false except
``exists``.

=========  ==========================================================================================
``eq``     both numbers → numeric equality; otherwise Go ``%v`` strings equal (``"5" eq 5``,
           ``"true" eq true``, ``"1e+06" eq 1000000``)
``neq``    found and not ``eq``
``in``     found and ``eq`` to some element of the value list; ``not_in``: found and none
``lt`` …   ``lt lte gt gte``: both numbers, else false (no string-to-number coercion)
``exists`` (found and not null) == value
``regex``  actual is a string and the RE2 pattern matches somewhere in it (unanchored); a pattern
           the gateway cannot compile (:mod:`policyctl.policy.regex`) never matches
``contains`` string actual and string value → substring; array actual → some element ``eq`` value
=========  ==========================================================================================

Two entry points: :func:`test` (the readable reference, used by ``explain`` and the tests) and
:func:`compile_test` (a specialised closure per condition for the simulator's hot loop). Property
tests keep them in agreement.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from policyctl.documents.gofmt import go_v, to_double

__all__ = ["NOT_FOUND", "resolve", "eq", "test", "compile_test", "inline_expr", "compile_regex"]


class _NotFound:
    """Marker for a path that does not resolve (singleton)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_FOUND"

    def __bool__(self) -> bool:
        return False


NOT_FOUND: Any = _NotFound()

_MAX_EXACT = 2**53  # integers up to this magnitude compare the same as their float64 images
_MEMO_LIMIT = 4096  # per regex: results remembered for repeated argument values (agents repeat themselves)
_MEMO_MAX_CHARS = 256  # ...of texts up to this length: at most ~4 MiB per pattern, whatever the trace


def resolve(args: Any, segments: Sequence[str]) -> Any:
    """Walk ``segments`` through nested objects from ``args``; NOT_FOUND on a missing key or non-object."""
    value = args
    for seg in segments:
        if type(value) is not dict:
            return NOT_FOUND
        value = value.get(seg, NOT_FOUND)
        if value is NOT_FOUND:
            return NOT_FOUND
    return value


def _is_num(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


def eq(a: Any, b: Any) -> bool:
    """Intercept's equality: numeric when both sides are numbers, else Go ``%v`` strings."""
    if _is_num(a) and _is_num(b):
        return to_double(a) == to_double(b)
    return go_v(a) == go_v(b)


def _num_cmp(op: str, a: Any, b: Any) -> bool:
    if not (_is_num(a) and _is_num(b)):
        return False
    x, y = to_double(a), to_double(b)
    if op == "lt":
        return x < y
    if op == "lte":
        return x <= y
    if op == "gt":
        return x > y
    return x >= y


# --- regexes -----------------------------------------------------------------------------------

_REGEX_CACHE: dict[str, Any] = {}


def compile_regex(pattern: Any) -> Callable[[str], bool] | None:
    """A fast ``search(text) -> bool`` for a pattern, or None when the gateway cannot compile it.

    Compiled by :func:`policyctl.policy.regex.compile_gateway` (RE2 as Go's regexp reads it: a
    pattern only C++ RE2 accepts never matches, SPEC §3). Results for texts of up to
    ``_MEMO_MAX_CHARS`` characters are memoised per pattern, up to ``_MEMO_LIMIT`` of them (then the
    memo starts over), so repeated arguments — the common case in agent traces — cost a dict lookup
    instead of a trip into RE2, while memory stays bounded: a long text is searched every time
    rather than kept alive by the memo.
    """
    if not isinstance(pattern, str):
        return None
    if pattern in _REGEX_CACHE:
        return _REGEX_CACHE[pattern]
    from policyctl.policy.regex import compile_gateway

    compiled = compile_gateway(pattern)
    if compiled is None:
        _REGEX_CACHE[pattern] = None
        return None
    raw = _raw_matcher(compiled)
    memo: dict[str, bool] = {}
    longest = _MEMO_MAX_CHARS

    def search(text: str) -> bool:
        hit = memo.get(text)
        if hit is not None:
            return hit
        try:
            result = raw(text)
        except Exception:  # noqa: BLE001 - e.g. a string that cannot be UTF-8 encoded
            result = False
        if len(text) <= longest:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[text] = result
        return result

    search.memo = memo  # type: ignore[attr-defined]  # read directly by compiled programs
    _REGEX_CACHE[pattern] = search
    return search


def _raw_matcher(compiled: Any) -> Callable[[str], bool]:
    """The cheapest way into RE2 this google-re2 build offers, checked against the public API."""
    public = compiled.search

    def slow(text: str) -> bool:
        return public(text) is not None

    try:
        from re2 import _re2

        inner = compiled._regexp
        unanchored = _re2.RE2.Anchor.UNANCHORED
        match = inner.Match
        null = (-1, -1)

        def fast(text: str) -> bool:
            b = text.encode("utf-8")
            return match(unanchored, b, 0, len(b))[0] != null

        for probe in ("", "a", "x;y", "é ü", "npm test"):
            if fast(probe) != slow(probe):
                return slow
        return fast
    except Exception:  # noqa: BLE001 - private API changed: use the public one
        return slow


# --- reference semantics -----------------------------------------------------------------------

def test(op: str, expected: Any, actual: Any) -> bool:
    """Does ``actual`` (a resolved value or NOT_FOUND) satisfy ``op expected``? The reference semantics."""
    if op == "exists":
        present = actual is not NOT_FOUND and actual is not None
        return type(expected) is bool and present is expected
    if actual is NOT_FOUND:
        return False
    if op == "eq":
        return eq(actual, expected)
    if op == "neq":
        return not eq(actual, expected)
    if op in ("in", "not_in"):
        if not isinstance(expected, (list, tuple)):
            return False
        member = any(eq(actual, e) for e in expected)
        return member if op == "in" else not member
    if op in ("lt", "lte", "gt", "gte"):
        return _num_cmp(op, actual, expected)
    if op == "regex":
        search = compile_regex(expected)
        return search is not None and type(actual) is str and search(actual)
    if op == "contains":
        if type(actual) is str:
            return type(expected) is str and expected in actual
        if type(actual) is list:
            return any(eq(e, expected) for e in actual)
        return False
    return False


# --- compiled tests ----------------------------------------------------------------------------

def _false(_v: Any) -> bool:
    return False


def compile_test(op: str, expected: Any, show: Callable[[Any], str] = go_v) -> Callable[[Any], bool]:
    """A closure equivalent to ``lambda v: test(op, expected, v)``, specialised for speed.

    ``show`` prints the policy's value as Go's ``%v`` does for the dialect's Go type: a JSON number
    is a float64 (``1e+06``), an Intercept YAML integer an int (``1000000``). Argument values are
    JSON, so they are always shown as :func:`go_v` shows them.
    """
    nf = NOT_FOUND
    if op == "exists":
        if type(expected) is not bool:
            return _false
        if expected:
            return lambda v: v is not nf and v is not None
        return lambda v: v is nf or v is None

    if op in ("eq", "neq"):
        base = _compile_eq(expected, show)
        if op == "eq":
            return base
        return lambda v: v is not nf and not base(v)

    if op in ("in", "not_in"):
        if not isinstance(expected, (list, tuple)):
            return _false
        member = _compile_member(expected, show)
        if op == "in":
            return member
        return lambda v: v is not nf and not member(v)

    if op in ("lt", "lte", "gt", "gte"):
        if not _is_num(expected):
            return _false
        y = to_double(expected)
        cmp = {"lt": float.__lt__, "lte": float.__le__, "gt": float.__gt__, "gte": float.__ge__}[op]
        big = _MAX_EXACT

        def num(v: Any) -> bool:
            t = type(v)
            if t is float:
                return cmp(v, y)
            if t is int:
                # Small ints compare exactly as their doubles; big ones must be rounded first.
                return cmp(float(v), y) if -big <= v <= big else cmp(to_double(v), y)
            return False

        return num

    if op == "regex":
        search = compile_regex(expected)
        if search is None:
            return _false
        return lambda v: type(v) is str and search(v)

    if op == "contains":
        elem_eq = _compile_eq(expected, show)
        if type(expected) is str:
            s = expected

            def contains(v: Any) -> bool:
                t = type(v)
                if t is str:
                    return s in v
                if t is list:
                    return any(elem_eq(e) for e in v)
                return False

            return contains

        def contains_any(v: Any) -> bool:
            return type(v) is list and any(elem_eq(e) for e in v)

        return contains_any
    return _false


def _compile_eq(expected: Any, show: Callable[[Any], str] = go_v) -> Callable[[Any], bool]:
    """``lambda v: v is found and eq(v, expected)``."""
    nf = NOT_FOUND
    text = show(expected)
    if _is_num(expected):
        y = to_double(expected)

        def eq_num(v: Any) -> bool:
            t = type(v)
            if t is int or t is float:
                return to_double(v) == y
            if t is str:
                return v == text
            return v is not nf and go_v(v) == text

        return eq_num

    def eq_other(v: Any) -> bool:
        t = type(v)
        if t is str:
            return v == text
        return v is not nf and go_v(v) == text

    return eq_other


def _compile_member(values: Sequence[Any], show: Callable[[Any], str] = go_v) -> Callable[[Any], bool]:
    """``lambda v: v is found and any(eq(v, e) for e in values)``."""
    nf = NOT_FOUND
    texts = frozenset(show(e) for e in values)  # what a string (or bool, null, list…) must print as
    numbers = frozenset(to_double(e) for e in values if _is_num(e))
    other_texts = frozenset(show(e) for e in values if not _is_num(e))

    def member(v: Any) -> bool:
        t = type(v)
        if t is str:
            return v in texts
        if t is int or t is float:
            return to_double(v) in numbers or go_v(v) in other_texts
        return v is not nf and go_v(v) in texts

    return member


def inline_expr(op: str, expected: Any, bind: Callable[[str, Any], str],
                show: Callable[[Any], str] = go_v) -> str:
    """A Python expression over ``v`` (the resolved value, or ``NF``) equal to
    ``compile_test(op, expected, show)(v)`` (``test(op, expected, v)`` with the default ``show``).

    Used by the engines' code generators: the common cases (strings, small numbers, memoised regex
    hits) are decided without a function call; everything else defers to :func:`compile_test`.
    Every policy value is passed through ``bind(prefix, value) -> name``, never spliced into source.
    """
    fallback = bind("T", compile_test(op, expected, show)) if op not in ("eq", "neq") else ""
    small_num = f"type(v) is float or type(v) is int and -{_MAX_EXACT} <= v <= {_MAX_EXACT}"
    if op == "exists":
        if type(expected) is not bool:
            return "False"
        return "(v is not NF and v is not None)" if expected else "(v is NF or v is None)"
    if op in ("eq", "neq"):
        fallback = bind("T", compile_test("eq", expected, show))  # neq wraps the eq expression below
        if type(expected) is str:
            expr = f"(v == {bind('S', expected)} if type(v) is str else {fallback}(v))"
        elif _is_num(expected):
            expr = f"(v == {bind('X', to_double(expected))} if {small_num} else {fallback}(v))"
        else:
            expr = f"{fallback}(v)"
        return expr if op == "eq" else f"(v is not NF and not {expr})"
    if op in ("in", "not_in"):
        if not isinstance(expected, (list, tuple)):
            return "False"
        texts = bind("S", frozenset(show(e) for e in expected))
        word = "in" if op == "in" else "not in"
        return f"(v {word} {texts} if type(v) is str else {fallback}(v))"
    if op in ("lt", "lte", "gt", "gte"):
        if not _is_num(expected):
            return "False"
        sym = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[op]
        return f"(v {sym} {bind('X', to_double(expected))} if {small_num} else {fallback}(v))"
    if op == "regex":
        search = compile_regex(expected)
        if search is None:
            return "False"
        memo = bind("M", search.memo)  # type: ignore[attr-defined]
        fn = bind("R", search)
        return f"(type(v) is str and (r if (r := {memo}.get(v)) is not None else {fn}(v)))"
    if op == "contains" and type(expected) is str:
        return f"({bind('S', expected)} in v if type(v) is str else {fallback}(v))"
    return f"{fallback}(v)"
