"""What the explain formats share: how an argument value is shown without leaking it."""

from __future__ import annotations

import json
from typing import Any

VALUE_WIDTH = 80


def redacted(value: Any, found: bool = True) -> str:
    """A value's shape without its content (the default: arguments carry secrets)."""
    if not found:
        return "not found"
    if value is None:
        return "<null>"
    t = type(value)
    if t is bool:
        return "<boolean>"
    if t is int or t is float:
        return "<number>"
    if t is str:
        return f"<string, {len(value)} chars>"
    if t is list:
        return f"<array of {len(value)}>"
    if t is dict:
        return f"<object with {len(value)} keys>"
    return f"<{t.__name__}>"


def shown(value: Any, found: bool = True, limit: int = VALUE_WIDTH) -> str:
    """The value itself, as compact JSON cut to ``limit`` characters (``--show-args``)."""
    if not found:
        return "not found"
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_type(value: Any, found: bool = True) -> str:
    if not found:
        return "missing"
    if value is None:
        return "null"
    t = type(value)
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        t, t.__name__)
