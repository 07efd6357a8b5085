"""When two policy values mean the same thing: the evaluator's semantics, not Python's ``==``.

Python says ``True == 1``, ``False == 0`` and ``1 == 1.0``; the gateway does not. ``eq true``
matches the boolean ``true`` and the string ``"true"``, while ``eq 1`` matches the number 1 and the
string ``"1"`` (see :mod:`policyctl.policy.operators`). Everything that compares values *taken from
policies* — the structural diff, lint rules that relate two conditions — goes through this module,
so that two values count as the same exactly when no call can tell them apart.

Each function reduces a value to a **key**: a string (never a bool or a number, so that a key can
meet another key in a tuple, set or dict without Python's numeric equality joining them).

* :func:`eq_key` — the class of a value under ``eq``. A number other than zero is in the class of
  its Go ``%v`` form (``5`` and ``"5"`` match exactly the same arguments, and so do ``1000000`` and
  ``"1e+06"``, ``true`` and ``"true"``). Zero is special: the number ``0`` equals ``-0.0``
  numerically, yet ``%v`` prints them as ``0`` and ``-0``, so ``0``, ``-0.0``, ``"0"`` and ``"-0"``
  are four classes, of which some overlap (see :func:`may_both_eq`).
* :func:`value_key` — what a condition's value means for its operator, e.g. ``lt 1`` and
  ``lt 1.0`` are the same, ``contains "true"`` and ``contains true`` are not, and every value that
  makes a condition never hold (``lt "x"``, ``in 5``, a regex RE2 cannot compile) is one key.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from policyctl.documents.gofmt import go_v, to_double

__all__ = ["NEVER", "eq_key", "keys_overlap", "may_both_eq", "never_holds", "same_value", "value_key"]

#: The key of every value that makes its condition false for every call.
NEVER = "\x00never"
_ZERO = "\x00zero:"  # + "0" or "-0": the numbers zero and minus zero
_ZEROS = frozenset({_ZERO + "0", _ZERO + "-0"})
_NUMERIC_OPS = frozenset({"lt", "lte", "gt", "gte"})


def _is_number(value: Any) -> bool:
    t = type(value)
    return t is int or t is float


def eq_key(value: Any) -> str:
    """The class of ``value`` under ``eq``: two values with the same key match the same arguments."""
    if _is_number(value):
        x = to_double(value)
        if x == 0:
            return _ZERO + go_v(x)
        return go_v(x)
    return go_v(value)


def _overlaps(key: str) -> frozenset[str]:
    """The ``eq`` classes that share at least one argument with ``key``'s class."""
    if key in _ZEROS:
        # the number 0 is in both numeric classes and in "0"; -0.0 in both and in "-0"
        return _ZEROS | {"0", "-0"}
    if key == "0":
        return _ZEROS | {"0"}
    if key == "-0":
        return _ZEROS | {"-0"}
    return frozenset({key})


def may_both_eq(a: Any, b: Any) -> bool:
    """Whether some argument is ``eq`` to both ``a`` and ``b`` (policy values)."""
    return eq_key(b) in _overlaps(eq_key(a))


def keys_overlap(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether some argument is in an ``eq`` class of ``a`` and in one of ``b`` (sets of keys)."""
    b = frozenset(b)
    return any(_overlaps(k) & b for k in a)


def never_holds(op: str, value: Any) -> bool:
    """The condition ``op value`` is false for every call (whatever the arguments)."""
    return value_key(op, value) == NEVER


def value_key(op: str, value: Any) -> str:
    """What ``value`` means as the value of a condition with operator ``op``, as one string.

    Two conditions on one path with the same operator and the same key hold for exactly the same
    calls. (The converse is not claimed: ``eq 5`` and ``in [5]`` get different keys.)
    """
    if op in ("eq", "neq"):
        return "=" + eq_key(value)
    if op in ("in", "not_in"):
        if type(value) is not list and type(value) is not tuple:
            return NEVER
        if not value and op == "in":
            return NEVER
        # a set of classes (JSON keeps the members apart whatever they contain)
        return "{" + json.dumps(sorted({eq_key(x) for x in value}), ensure_ascii=False)
    if op in _NUMERIC_OPS:
        if not _is_number(value):
            return NEVER
        x = to_double(value) + 0.0  # -0.0 and 0.0 bound the same numbers
        if (op == "lt" and x == float("-inf")) or (op == "gt" and x == float("inf")):
            return NEVER
        return "#" + repr(x)
    if op == "exists":
        return ("true" if value else "false") if type(value) is bool else NEVER
    if op == "regex":
        if type(value) is not str:
            return NEVER
        from policyctl.policy.operators import compile_regex

        return "~" + value if compile_regex(value) is not None else NEVER
    if op == "contains":
        # a string is looked for as a substring of a string argument (and as an element of an
        # array); anything else only as an element, compared with eq
        return ("s" + value) if type(value) is str else ("e" + eq_key(value))
    return NEVER


def same_value(op: str, a: Any, b: Any) -> bool:
    """Whether ``op a`` and ``op b`` hold for exactly the same calls (as far as keys tell)."""
    return value_key(op, a) == value_key(op, b)
