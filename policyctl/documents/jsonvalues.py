"""How error messages name the JSON type of a value ("a string", "an array", "null")."""

from __future__ import annotations

from typing import Any


def json_type_phrase(value: Any) -> str:
    """The JSON type of a decoded value, with its article, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
