"""Why a text is not JSON, in policyctl's own words, with the line and column.

Parsers (the standard library's ``json``, orjson) word their errors differently and change the
wording between releases (Python 3.13 added a message for trailing commas, orjson rewords its own).
Everything that reports a JSON syntax error to a user goes through :func:`json_syntax_error`, so the
message a user sees, and that tests pin, depends on policyctl only. The parsers decide *whether* a
text is JSON; this module only decides how to say why not.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterator

# The standard library's message prefixes → policyctl's wording. Matched by prefix; a message not in
# the table (a new Python) still gets a correct, if general, description.
_STDLIB_WORDING: tuple[tuple[str, str], ...] = (
    ("Expecting value", "expected a value (string, number, object, array, true, false or null)"),
    ("Expecting property name enclosed in double quotes", "expected a property name in double quotes"),
    ("Illegal trailing comma", "a trailing comma before the closing bracket"),
    ("Expecting ',' delimiter", "expected ',' or a closing bracket"),
    ("Expecting ':' delimiter", "expected ':' after the property name"),
    ("Unterminated string", "a string that is never closed"),
    ("Invalid control character", "a control character inside a string (it must be escaped)"),
    ("Invalid \\uXXXX escape", "an invalid \\u escape in a string"),
    ("Invalid \\escape", "an invalid escape in a string"),
    ("Extra data", "more text after the JSON value"),
)

NON_JSON_CONSTANTS = ("NaN", "Infinity", "-Infinity")


@dataclass(frozen=True)
class JsonSyntaxError:
    """What is wrong (policyctl's words), where (1-based line and column), and the character offset."""

    what: str
    line: int
    column: int
    offset: int


class _Constant(Exception):
    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def _reject_constant(word: str) -> object:
    raise _Constant(word)


def _position(text: str, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


def outside_strings(text: str) -> Iterator[tuple[int, str]]:
    """``(offset, character)`` of every character of JSON text outside strings (quotes left out)."""
    in_string = escaped = False
    for i, c in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        else:
            yield i, c


def constant_offset(text: str, word: str) -> int:
    """Offset of the first ``word`` (NaN, Infinity, -Infinity) outside strings, or 0."""
    for i, c in outside_strings(text):
        if c == word[0] and text.startswith(word, i):
            if word == "Infinity" and i > 0 and text[i - 1] == "-":
                continue
            return i
    return 0


def constant_message(word: str) -> str:
    return (f"{word} is not JSON (RFC 8259 has no NaN or Infinity; Go's encoding/json rejects "
            "the whole document)")


def json_syntax_error(text: str) -> JsonSyntaxError | None:
    """Why ``text`` is not strict JSON (RFC 8259), or ``None`` when it is.

    Strict means: no ``NaN``/``Infinity`` literals and no lone surrogate escapes, which the
    standard library accepts but Go's and orjson's readers refuse.
    """
    try:
        json.loads(text, parse_constant=_reject_constant)
    except _Constant as exc:
        offset = constant_offset(text, exc.word)
        return JsonSyntaxError(constant_message(exc.word), *_position(text, offset), offset)
    except json.JSONDecodeError as exc:
        what = next((ours for prefix, ours in _STDLIB_WORDING if exc.msg.startswith(prefix)),
                    "not valid JSON here")
        if exc.pos >= len(text.rstrip()) and what.startswith("expected"):
            what = "unexpected end of the text; " + what
        return JsonSyntaxError(what, *_position(text, exc.pos), exc.pos)
    except RecursionError:
        return JsonSyntaxError("nested too deeply", 1, 1, 0)
    except ValueError:  # a number the float parser refuses
        return JsonSyntaxError("a number that cannot be read", 1, 1, 0)
    lone = _lone_surrogate_offset(text)
    if lone is not None:
        return JsonSyntaxError("a \\u escape of a lone UTF-16 surrogate (not a character)",
                               *_position(text, lone), lone)
    return None


def _lone_surrogate_offset(text: str) -> int | None:
    i = text.find("\\u")
    while i != -1:
        # count the backslashes before: an even number means this one is an escape
        j = i
        while j > 0 and text[j - 1] == "\\":
            j -= 1
        if (i - j) % 2 == 0:
            code = text[i + 2:i + 6]
            try:
                value = int(code, 16)
            except ValueError:
                value = -1
            if 0xD800 <= value <= 0xDBFF:
                if not (text.startswith("\\u", i + 6) and _is_low(text[i + 8:i + 12])):
                    return i
                i = text.find("\\u", i + 12)
                continue
            if 0xDC00 <= value <= 0xDFFF:
                return i
        i = text.find("\\u", i + 2)
    return None


def _is_low(code: str) -> bool:
    try:
        return 0xDC00 <= int(code, 16) <= 0xDFFF
    except ValueError:
        return False


def describe_bytes(data: bytes) -> JsonSyntaxError:
    """Why ``data`` (which a parser refused) is not JSON: never ``None``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", errors="replace")
        return JsonSyntaxError("not valid UTF-8 text", *_position(prefix, len(prefix)), len(prefix))
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return JsonSyntaxError("empty: expected a JSON value", 1, 1, 0)
    found = json_syntax_error(text) or _infinite_number(text)
    return found if found is not None else JsonSyntaxError("not valid JSON", 1, 1, 0)


class _Infinite(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _refuse_infinite(token: str) -> object:
    try:
        infinite = math.isinf(float(token))
    except (ValueError, OverflowError):
        infinite = True
    if infinite:
        raise _Infinite(token)
    return 0


def _infinite_number(text: str) -> JsonSyntaxError | None:
    """A number too large for a 64-bit float (``1e999``, a 400-digit integer): the standard
    library reads it (as infinity, or as a Python int), orjson and Go's encoding/json refuse it."""
    try:
        json.loads(text, parse_float=_refuse_infinite, parse_int=_refuse_infinite)
    except _Infinite as exc:
        offset = _number_offset(text, exc.token)
        shown = exc.token if len(exc.token) <= 40 else exc.token[:20] + "…" + exc.token[-8:]
        return JsonSyntaxError(f"the number {shown} is too large for a 64-bit float (Go's encoding/json "
                               "refuses it)", *_position(text, offset), offset)
    except (ValueError, RecursionError):
        return None
    return None


def _number_offset(text: str, token: str) -> int:
    """Offset of the first number ``token`` outside strings, or 0."""
    for i, c in outside_strings(text):
        if (c == token[0] and text.startswith(token, i) and (i == 0 or text[i - 1] not in "0123456789.eE+-")
              and text[i + len(token): i + len(token) + 1] not in tuple("0123456789.eE+-")):
            return i
    return 0
