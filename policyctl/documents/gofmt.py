"""Go's ``%v`` formatting of JSON-decoded values, which Intercept's ``eq``/``neq`` compare.

A Go engine decodes JSON into ``interface{}``: every number becomes a ``float64``, objects become
``map[string]interface{}``, arrays ``[]interface{}``, ``null`` is ``nil``. When ``eq`` does not see
two numbers, it compares ``fmt.Sprintf("%v", x)`` of both sides, so policyctl has to print values
exactly as Go does:

* ``float64``: ``%v`` is ``strconv.FormatFloat(x, 'g', -1, 64)`` — the shortest decimal digits that
  read back as the same double (Python's ``repr`` finds the same digits), written in exponent form
  when the decimal exponent is below -4 or at least 6 (with the shortest precision Go uses 6 for
  this decision, not the digit count). The exponent has a sign and at least two digits. So ``5`` →
  ``5``, ``100000`` → ``100000``, ``1000000`` → ``1e+06``, ``1234567`` → ``1.234567e+06``,
  ``0.0001`` → ``0.0001``, ``0.00001`` → ``1e-05``, ``1e21`` → ``1e+21``, ``-0.0`` → ``-0``.
  JSON integers are doubles too: ``2**53 + 1`` prints as ``9.007199254740992e+15``.
* ``bool``: ``true`` / ``false``; ``nil``: ``<nil>``; ``string``: itself, unquoted.
* ``[]interface{}``: ``[`` + elements joined by one space + ``]`` (``[a 1 true]``).
* ``map[string]interface{}``: ``map[k1:v1 k2:v2]`` with keys sorted (fmt sorts map keys).
"""

from __future__ import annotations

from typing import Any

__all__ = ["format_float", "go_v", "to_double"]


def to_double(x: int | float) -> float:
    """The float64 a Go JSON decoder makes of a number (huge integers saturate to ±Inf as Go would refuse them)."""
    try:
        return float(x)
    except OverflowError:
        return float("inf") if x > 0 else float("-inf")


def format_float(x: float) -> str:
    """``fmt.Sprintf("%v", float64(x))``."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0.0:
        return "-0" if str(x).startswith("-") else "0"
    # repr() gives the shortest round-trip digits (same digit string as Go's Ryu shortest).
    r = repr(x)
    neg = r.startswith("-")
    if neg:
        r = r[1:]
    mant, _, exp_s = r.partition("e")
    exp10 = int(exp_s) if exp_s else 0
    int_part, _, frac_part = mant.partition(".")
    if frac_part == "0":
        frac_part = ""
    digits = (int_part + frac_part).lstrip("0")
    # Position of the decimal point relative to the start of ``digits`` (Go's ``dp``).
    lead_zeros = len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    dp = len(int_part) - lead_zeros + exp10
    digits = digits.rstrip("0") or "0"
    exp = dp - 1
    if exp < -4 or exp >= 6:
        head, tail = digits[0], digits[1:]
        body = head + ("." + tail if tail else "")
        sign = "-" if exp < 0 else "+"
        e = abs(exp)
        text = f"{body}e{sign}{e:02d}"
    elif dp <= 0:
        text = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        text = digits + "0" * (dp - len(digits))
    else:
        text = digits[:dp] + "." + digits[dp:]
    return "-" + text if neg else text


def go_v(value: Any) -> str:
    """``fmt.Sprintf("%v", v)`` for a value decoded from JSON (or a YAML 1.2 core-schema document)."""
    t = type(value)
    if t is str:
        return value
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        return format_float(to_double(value))
    if value is None:
        return "<nil>"
    if t is list or t is tuple:
        return "[" + " ".join(go_v(v) for v in value) + "]"
    if t is dict:
        return "map[" + " ".join(f"{k}:{go_v(value[k])}" for k in sorted(value, key=str)) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_float(to_double(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_v(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_v(value[k])}" for k in sorted(value, key=str)) + "]"
    return str(value)


def go_v_yaml(value: Any) -> str:
    """``%v`` of a value that Go's yaml.v3 decoded into ``any``: integers are Go ``int`` and print
    as integers (``1000000``, not ``1e+06``); a timestamp is a ``time.Time``."""
    t = type(value)
    if t is int:
        return str(value)
    if t is list or t is tuple:
        return "[" + " ".join(go_v_yaml(v) for v in value) + "]"
    if t is dict:
        return "map[" + " ".join(f"{k}:{go_v_yaml(value[k])}" for k in sorted(value, key=str)) + "]"
    if hasattr(value, "go_v"):
        return str(value.go_v())
    return go_v(value)
