"""Policy documents: JSON or YAML text → plain data plus a source map (JSON Pointer → line, column).

Every value and every mapping key of a loaded document has a 1-based ``(line, column)``, so lint
diagnostics can point at the exact spot. Loading never raises on bad input: it returns a
:class:`LoadResult` holding the document (when there is one) and load diagnostics:

* ``PL001`` syntax error — not UTF-8, a byte order mark, invalid JSON/YAML, nesting deeper than
  :data:`MAX_DEPTH`, more than :data:`MAX_NODES` values (after YAML alias expansion, so a
  "billion laughs" file fails fast), a file larger than :data:`MAX_DOCUMENT_BYTES`, YAML tags that
  are not core-schema tags, several YAML documents in one file, non-scalar mapping keys;
* ``PL003`` duplicate key (JSON and YAML);
* ``PL001`` also for ``NaN``, ``Infinity`` and ``-Infinity`` in JSON: they are not JSON (RFC 8259)
  and Go's ``encoding/json`` rejects the whole document;
* ``PL004`` a number JSON consumers cannot represent: a float that overflows, YAML's ``.nan`` and
  ``.inf``, or an integer beyond ±2^53 (:data:`MAX_SAFE_INTEGER`; Go and JavaScript engines lose precision
  there, so ``max: 9007199254740993`` would not mean what it says).

JSON is parsed by the standard library (strict) and positions come from a small scanner over the
already-validated text; the JSON path never imports ``yaml``. YAML is read event by event from
libyaml when available (PyYAML's pure-Python parser otherwise) and built with **YAML 1.2 core
schema** scalars — only ``true``/``false`` are booleans, ``yes``/``no``/``on``/``off`` stay strings,
``1e6`` is a number, ``null``/``~``/empty are null — the way Go's YAML library reads it. Plain scalars
that a YAML 1.1 reader would read differently are recorded in :attr:`Document.yaml11` for the
maintainability rule.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, cast

from policyctl.diagnostics import Diagnostic
from policyctl.documents.pointers import escape_token

Format = Literal["json", "yaml"]
Position = tuple[int, int]

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_SAFE_INTEGER = 2**53

LOAD_RULES: dict[str, str] = {
    "PL001": "syntax-error",
    "PL003": "duplicate-key",
    "PL004": "unportable-number",
}


@dataclass(frozen=True)
class Yaml11Scalar:
    """A plain YAML scalar that YAML 1.1 readers (PyYAML, older tools) resolve differently."""

    pointer: str
    key: bool  # the scalar is a mapping key (pointer names the entry)
    text: str
    yaml12: str  # how policyctl / YAML 1.2 reads it, e.g. 'the string "NO"'
    yaml11: str  # how a YAML 1.1 reader reads it, e.g. "the boolean false"


@dataclass(frozen=True)
class Document:
    """A loaded policy document with its source map."""

    path: str
    format: Format
    data: Any
    values: Mapping[str, Position] = field(repr=False, default_factory=dict)
    keys: Mapping[str, Position] = field(repr=False, default_factory=dict)
    yaml11: tuple[Yaml11Scalar, ...] = ()
    #: the source text of each plain scalar value that is not a string (``1e3``, ``True``) or that
    #: YAML 1.1 reads otherwise (``010``, ``1_0``), by pointer: readers that take any scalar's text
    #: as a string (Go's yaml.v3) need it
    scalar_texts: Mapping[str, str] = field(repr=False, default_factory=dict)
    #: the pointers of the mapping entries whose key is a YAML null (``null:``, ``~:``, ``? :``,
    #: ``!!null``): the data keeps the key's text, but Go's yaml.v3 cannot decode a null into a
    #: string key and drops such an entry when it decodes into a map or struct with string keys
    null_keys: frozenset[str] = field(repr=False, default=frozenset())

    def position(self, pointer: str | None, *, key: bool = False) -> Position:
        """``(line, column)`` of the value at ``pointer`` (of its key with ``key=True``).

        Falls back to the nearest ancestor that has a position (an alias in YAML, a pointer that
        does not exist), and finally to ``(1, 1)``.
        """
        if pointer is None:
            return (1, 1)
        if key:
            hit = self.keys.get(pointer)
            if hit is not None:
                return hit
        p = pointer
        while True:
            hit = self.values.get(p)
            if hit is not None:
                return hit
            if not p:
                return (1, 1)
            p = p[: p.rfind("/")]


@dataclass(frozen=True)
class LoadResult:
    """A document (``None`` when the text could not be read) and the problems found loading it."""

    document: Document | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        return self.document is not None and not self.diagnostics




def number_problem(d: Diagnostic) -> str | None:
    """What a PL004 diagnostic made here reports: ``"integer"`` (an integer beyond ±2^53),
    ``"overflow"`` (a literal beyond the float64 range), ``"nan"`` or ``"infinity"`` (YAML's ``.nan``,
    ``.inf``); None for any other diagnostic. The callers that treat these differently (the
    Intercept dialect, the policy loader) ask here rather than reading the wording themselves."""
    if d.code != "PL004":
        return None
    message = d.message
    if message.startswith("integer ") and message.endswith(_LOSSY):
        return "integer"
    if message.endswith(_OVERFLOWS_JSON) or message.endswith(" is a number that overflows" + _UNREPRESENTABLE):
        return "overflow"
    if message.endswith(" is NaN" + _UNREPRESENTABLE):
        return "nan"
    if message.endswith(" is infinity" + _UNREPRESENTABLE):
        return "infinity"
    return None


_LOSSY = " is beyond ±2^53; JSON consumers (Go, JavaScript) lose precision"
_OVERFLOWS_JSON = " overflows a 64-bit float"
_UNREPRESENTABLE = ", which JSON cannot represent"


def _diag(code: str, message: str, path: str, pos: Position, pointer: str | None) -> Diagnostic:
    return Diagnostic(code=code, rule=LOAD_RULES[code], severity="error", message=message,
                      path=path, line=pos[0], column=pos[1], pointer=pointer)


def detect_format(path: str, text: str) -> Format:
    """By extension; for other names (and stdin) JSON when the text starts like a JSON object/array."""
    lower = path.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    head = text.lstrip(" \t\r\n")[:1]
    return "json" if head in ("{", "[") else "yaml"


def load_document(raw: bytes, path: str, fmt: Format | None = None, *, empty_ok: bool = False) -> LoadResult:
    """Decode and parse ``raw`` (the bytes of ``path``); never raises on bad input.

    A file with no document at all (only blank lines or comments) is a PL001 finding unless
    ``empty_ok`` (configuration files may be empty; policies may not).
    """
    if len(raw) > MAX_DOCUMENT_BYTES:
        return LoadResult(None, (_diag(
            "PL001", f"file is {len(raw)} bytes; policies are limited to "
            f"{MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB", path, (1, 1), None),))
    text, problem = _decode(raw, path)
    if problem is not None:
        return LoadResult(None, (problem,))
    assert text is not None
    if not empty_ok and _is_blank(text):
        return LoadResult(None, (_diag("PL001", "the file is empty: it holds no policy document "
                                                "(only blank lines or comments)", path, (1, 1), None),))
    kind = fmt or detect_format(path, text)
    if kind == "json":
        return _load_json(text, path)
    return _load_yaml(text, path)


def _is_blank(text: str) -> bool:
    """True for a file with nothing but white space and ``#`` comment lines (no document at all)."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def load_text(text: str, path: str, fmt: Format | None = None, *, empty_ok: bool = False) -> LoadResult:
    """Like :func:`load_document` for text that is already decoded (tests, generated policies)."""
    return load_document(text.encode("utf-8", "surrogatepass"), path, fmt, empty_ok=empty_ok)


# --------------------------------------------------------------------------------------------------
# Decoding


def _decode(raw: bytes, path: str) -> tuple[str | None, Diagnostic | None]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return None, _diag("PL001", "file starts with a UTF-8 byte order mark (BOM); save it "
                                    "as UTF-8 without BOM", path, (1, 1), None)
    wide = _wide_encoding(raw)
    if wide is not None:
        return None, _diag("PL001", f"file is {wide}; policies must be UTF-8", path, (1, 1), None)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", "replace")) + 1
        return None, _diag("PL001", f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset "
                                    f"{exc.start} cannot be decoded", path, (line, column), None)


# Byte order marks of the wide encodings; UTF-32LE's starts like UTF-16LE's, so it comes first.
_WIDE_BOMS = ((b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"),
              (b"\xfe\xff", "UTF-16"), (b"\xff\xfe", "UTF-16"))


def _wide_encoding(raw: bytes) -> str | None:
    """``UTF-16 (…)`` / ``UTF-32 (…)`` when ``raw`` is in a wide encoding, else None.

    With a byte order mark that says it all. Without one, the NUL bytes among the first four give
    it away (the detection of RFC 4627 §3 and YAML 1.2 §5.2): a policy starts with an ASCII
    character, which UTF-16 pads with one NUL and UTF-32 with three, while UTF-8 JSON or YAML
    never holds a NUL there.
    """
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            return f"{name} (byte order mark found)"
    head = raw[:4]
    if len(head) == 4 and head[:3] == b"\x00\x00\x00" and head[3]:
        return "UTF-32 (big-endian, without a byte order mark)"
    if len(head) == 4 and head[0] and head[1:] == b"\x00\x00\x00":
        return "UTF-32 (little-endian, without a byte order mark)"
    if len(head) >= 2 and not head[0] and head[1]:
        return "UTF-16 (big-endian, without a byte order mark)"
    if len(head) >= 2 and head[0] and not head[1]:
        return "UTF-16 (little-endian, without a byte order mark)"
    return None


# --------------------------------------------------------------------------------------------------
# JSON

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = {"t": 4, "f": 5, "n": 4}  # true false null


class _Stop(Exception):
    """Raised inside the scanner when a problem makes the document unusable."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _line_starts(text: str) -> list[int]:
    starts = [0]
    find = text.find
    i = find("\n")
    while i != -1:
        starts.append(i + 1)
        i = find("\n", i + 1)
    return starts


def _offset_position(starts: list[int], offset: int) -> Position:
    line = bisect_right(starts, offset)
    return (line, offset - starts[line - 1] + 1)


def _parse_int(token: str) -> int:
    # Python refuses to convert integers of more than 4,300 digits (ValueError, not a JSON error);
    # such numbers are reported by the scanner as PL004, so any placeholder will do here.
    return int(token) if len(token) < 1000 else 0


def _load_json(text: str, path: str) -> LoadResult:
    from policyctl.documents.jsonsyntax import JsonSyntaxError, json_syntax_error

    problem: JsonSyntaxError | None = None
    try:
        data = json.loads(text, parse_int=_parse_int, parse_constant=_reject_constant)
    except (ValueError, _Constant):  # JSONDecodeError is a ValueError
        problem = json_syntax_error(text) or JsonSyntaxError("not valid JSON", 1, 1, 0)
    except RecursionError:
        starts = _line_starts(text)
        offset = _too_deep_offset(text)
        return LoadResult(None, (_diag("PL001", f"nesting deeper than {MAX_DEPTH} levels", path,
                                       _offset_position(starts, offset), None),))
    if problem is not None:
        what = problem.what if problem.what.startswith(NON_JSON_WORDS) else f"invalid JSON: {problem.what}"
        return LoadResult(None, (_diag("PL001", what, path, (problem.line, problem.column), None),))
    try:
        values, keys, problems = _scan_json(text, path)
    except _Stop as stop:
        return LoadResult(None, (stop.diagnostic,))
    doc = Document(path=path, format="json", data=data, values=values, keys=keys)
    return LoadResult(doc, tuple(problems))


NON_JSON_WORDS = ("NaN ", "Infinity ", "-Infinity ")


class _Constant(Exception):
    pass


def _reject_constant(word: str) -> Any:
    raise _Constant(word)


def _too_deep_offset(text: str) -> int:
    """Offset of the bracket that first exceeds :data:`MAX_DEPTH` (strings skipped)."""
    from policyctl.documents.jsonsyntax import outside_strings

    depth = 0
    for i, c in outside_strings(text):
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return i
        elif c in "]}":
            depth -= 1
    return 0


def _scan_json(text: str, path: str) -> tuple[dict[str, Position], dict[str, Position], list[Diagnostic]]:
    """Walk JSON text that ``json.loads`` accepted, recording where each value and key starts.

    Also finds what ``json.loads`` lets through: duplicate keys, NaN/Infinity, integers beyond
    ±2^53, floats that overflow, and nesting deeper than :data:`MAX_DEPTH`.
    """
    from json.decoder import scanstring  # type: ignore[attr-defined]  # public in CPython, absent from typeshed

    starts = _line_starts(text)
    values: dict[str, Position] = {}
    keys: dict[str, Position] = {}
    problems: list[Diagnostic] = []
    # _WS matches the empty string too, so its match never fails
    ws = cast("Callable[[str, int], re.Match[str]]", _WS.match)
    number = _NUMBER.match

    def pos(offset: int) -> Position:
        return _offset_position(starts, offset)

    # Each frame: [is_object, pointer, index, seen_keys (object: key -> offset)]
    stack: list[list[Any]] = []
    count = 0
    i = ws(text, 0).end()
    ptr = ""
    while True:
        # ---- at the start of a value whose pointer is ``ptr``
        values[ptr] = pos(i)
        count += 1
        if count > MAX_NODES:
            raise _Stop(_diag("PL001", f"more than {MAX_NODES} values in one document", path,
                              pos(i), None))
        c = text[i]
        if c == "{" or c == "[":
            if len(stack) >= MAX_DEPTH:
                raise _Stop(_diag("PL001", f"nesting deeper than {MAX_DEPTH} levels", path,
                                  pos(i), None))
            j = ws(text, i + 1).end()
            if text[j] in "}]":
                i = j + 1
            else:
                if c == "{":
                    key, end = scanstring(text, j + 1)
                    frame: list[Any] = [True, ptr, 0, {key: j}]
                    stack.append(frame)
                    ptr = ptr + "/" + escape_token(key)
                    keys[ptr] = pos(j)
                    i = ws(text, ws(text, end).end() + 1).end()  # skip ':'
                else:
                    stack.append([False, ptr, 0, None])
                    ptr = ptr + "/0"
                    i = j
                continue
        elif c == '"':
            i = scanstring(text, i + 1)[1]
        elif c in _LITERALS and text.startswith(("true", "false", "null"), i):
            i += _LITERALS[c]
        else:
            # json.loads accepted the text (NaN and Infinity refused), so this is a number
            m = number(text, i)
            assert m is not None
            token = m.group()
            if m.group(1) is None and m.group(2) is None:
                if len(token) > 15 and abs(int(token) if len(token) < 1000 else 10**20) > MAX_SAFE_INTEGER:
                    problems.append(_diag("PL004", f"integer {_abbrev(token)}{_LOSSY}", path, pos(i), ptr))
            elif float(token) in (float("inf"), float("-inf")):
                problems.append(_diag("PL004", f"number {_abbrev(token)}{_OVERFLOWS_JSON}", path, pos(i), ptr))
            i = m.end()
        # ---- after a value: close containers, or move to the next member
        while True:
            i = ws(text, i).end()
            if not stack:
                return values, keys, problems
            frame = stack[-1]
            if text[i] == ",":
                j = ws(text, i + 1).end()
                if frame[0]:
                    key, end = scanstring(text, j + 1)
                    seen = frame[3]
                    ptr = frame[1] + "/" + escape_token(key)
                    if key in seen:
                        first = pos(seen[key])
                        problems.append(_diag(
                            "PL003", f'duplicate key "{_abbrev(key)}" (first defined at line '
                            f"{first[0]}); JSON readers disagree on which one wins", path, pos(j), ptr))
                    else:
                        seen[key] = j
                    keys[ptr] = pos(j)
                    i = ws(text, ws(text, end).end() + 1).end()
                else:
                    frame[2] += 1
                    ptr = frame[1] + "/" + str(frame[2])
                    i = j
                break
            stack.pop()
            i += 1  # the closing bracket


def _abbrev(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------------
# YAML

_CORE = "tag:yaml.org,2002:"
_CORE_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq"))

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_Y12_NULL = re.compile(r"(?:null|Null|NULL|~|)\Z")
_Y12_BOOL = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")
_Y12_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_Y12_INT8 = re.compile(r"0o[0-7]+\Z")
_Y12_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_Y12_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_Y12_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_Y12_NAN = re.compile(r"\.(?:nan|NaN|NAN)\Z")

# YAML 1.1 types (https://yaml.org/type/), only what differs from 1.2 matters.
_Y11_BOOL = re.compile(r"(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
                       r"|on|On|ON|off|Off|OFF)\Z")
_Y11_TRUE = frozenset(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"))
_Y11_INT = re.compile(r"[-+]?(?:0b[0-1_]+|0[0-7_]+|(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+"
                      r"|[1-9][0-9_]*(?::[0-5]?[0-9])+)\Z")
_Y11_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?\Z"
                        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*\Z"
                        r"|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
_Y11_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}"
                            r":[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?\Z")


def resolve_plain_yaml12(text: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar under the YAML 1.2 core schema."""
    if _Y12_NULL.match(text):
        return None
    if _Y12_BOOL.match(text):
        return text[0] in "tT"
    if _Y12_INT10.match(text):
        return int(text) if len(text) < 1000 else float("inf")
    if _Y12_INT8.match(text):
        return int(text[2:], 8) if len(text) < 1000 else float("inf")
    if _Y12_INT16.match(text):
        return int(text[2:], 16) if len(text) < 1000 else float("inf")
    if _Y12_FLOAT.match(text):
        return float(text)
    if _Y12_INF.match(text):
        return float("-inf") if text[0] == "-" else float("inf")
    if _Y12_NAN.match(text):
        return float("nan")
    return text


def _yaml11_reading(text: str) -> tuple[str, Any] | None:
    """(kind, value) under YAML 1.1 for scalars whose 1.1 reading might differ; None = same rules."""
    if _Y11_BOOL.match(text):
        return ("bool", text in _Y11_TRUE)
    if _Y11_INT.match(text):
        t = text.replace("_", "")
        sign = -1 if t.startswith("-") else 1
        t = t.lstrip("+-")
        if ":" in t:
            total = 0
            for part in t.split(":"):
                total = total * 60 + int(part)
            return ("int", sign * total)
        if t.startswith("0b"):
            return ("int", sign * int(t[2:] or "0", 2))
        if t.startswith("0x"):
            return ("int", sign * int(t[2:] or "0", 16))
        if len(t) > 1 and t.startswith("0"):
            return ("int", sign * int(t, 8))
        return ("int", sign * int(t)) if len(t) < 1000 else None
    if _Y11_FLOAT.match(text):
        return ("float", None)  # same rules as 1.2 where both match; compared by kind below
    if _Y11_TIMESTAMP.match(text):
        return ("timestamp", None)
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {go_number(value)}"
    return f'the string "{_abbrev(str(value))}"'


def go_number(value: float) -> str:
    """A float written as Go's ``%v`` writes it (``1e+06``, ``123456``, ``1.5e-05``, ``+Inf``).

    The engine and Go YAML tooling show numbers this way; Python's ``1000000.0`` reads as a
    different value to someone who wrote ``1e6``. Shortest round-trip digits, exponent form when
    the decimal exponent is below -4 or at least 6, exponent with a sign and two digits or more.
    """
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    from decimal import Decimal

    dec = Decimal(repr(value)).normalize()
    sign, digits, exponent = dec.as_tuple()
    assert isinstance(exponent, int)  # finite
    sci = len(digits) - 1 + exponent
    neg = "-" if sign else ""
    if digits == (0,):
        return neg + "0"
    if sci < -4 or sci >= 6:
        mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
        return f"{neg}{mantissa}e{'-' if sci < 0 else '+'}{abs(sci):02d}"
    return format(dec, "f")


def _yaml11_difference(text: str, value12: Any) -> tuple[str, str] | None:
    """How 1.2 and 1.1 read a plain scalar, when they disagree."""
    reading = _yaml11_reading(text)
    if reading is None:
        if isinstance(value12, float) and not isinstance(value12, bool) and "." not in text \
                and not _Y12_INF.match(text) and not _Y12_NAN.match(text):
            # 1e6: a float for YAML 1.2, a string for YAML 1.1 (whose floats need a dot)
            return (_describe(value12), f'the string "{text}"')
        if isinstance(value12, int) and not isinstance(value12, bool):
            # 0o17: an integer for YAML 1.2, a string for YAML 1.1 (whose octal is 017)
            return (_describe(value12), f'the string "{text}"')
        return None
    kind, value11 = reading
    if kind == "bool":
        if isinstance(value12, bool) and value12 == value11:
            return None
        return (_describe(value12), _describe(value11))
    if kind == "int":
        if isinstance(value12, int) and not isinstance(value12, bool) and value12 == value11:
            return None
        return (_describe(value12), _describe(value11))
    if kind == "float":
        if isinstance(value12, float):
            return None
        return (_describe(value12), "a number")
    return (_describe(value12), "a date/timestamp")


class _YamlStop(Exception):
    def __init__(self, message: str, pos: Position, pointer: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.pointer = pointer


def _event_source(text: str) -> Any:
    """An object with ``get_event()``: libyaml's parser when installed, else PyYAML's."""
    try:
        from yaml._yaml import CParser

        return CParser(text)
    except ImportError:  # pragma: no cover - PyYAML without libyaml
        import yaml

        return yaml.BaseLoader(text)


def _load_yaml(text: str, path: str) -> LoadResult:
    import yaml

    builder = _YamlBuilder(path)
    parser = _event_source(text)
    try:
        data = builder.build(parser)
    except _YamlStop as stop:
        return LoadResult(None, (_diag("PL001", stop.message, path, stop.pos, stop.pointer),))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        deep = _flow_too_deep(text, mark.index if mark is not None else len(text))
        if deep is not None:
            # Some PyYAML releases stop deep flow nesting themselves, looking ahead before the
            # builder sees the 65th level; policyctl's own limit is what the user is told.
            return LoadResult(None, (_diag("PL001", f"nesting deeper than {MAX_DEPTH} levels", path,
                                           _offset_position(_line_starts(text), deep), None),))
        parts = [p for p in (exc.context, exc.problem) if p]
        return LoadResult(None, (_diag("PL001", "invalid YAML: " + ", ".join(parts), path, pos, None),))
    except yaml.YAMLError as exc:
        return LoadResult(None, (_diag("PL001", f"invalid YAML: {exc}", path, (1, 1), None),))
    finally:
        dispose = getattr(parser, "dispose", None)
        if dispose is not None:
            dispose()
    doc = Document(path=path, format="yaml", data=data, values=builder.values,
                   keys=builder.keys, yaml11=tuple(builder.yaml11), scalar_texts=builder.scalar_texts,
                   null_keys=frozenset(builder.null_keys))
    return LoadResult(doc, tuple(builder.problems))


def _flow_too_deep(text: str, end: int) -> int | None:
    """Offset of the flow bracket that first exceeds :data:`MAX_DEPTH` before ``end``, if any.

    A plain scan (quoted strings and comments skipped); used only once the parser has already
    refused the text, to tell a nesting bomb from other syntax errors.
    """
    depth = 0
    i = 0
    n = min(end + 1, len(text))
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            close = text.find(c, i + 1)
            while c == '"' and close != -1 and text[close - 1] == "\\":
                close = text.find(c, close + 1)
            if close == -1:
                return None
            i = close + 1
            continue
        if c == "#" and (i == 0 or text[i - 1] in " \t\n"):
            nl = text.find("\n", i)
            i = n if nl == -1 else nl + 1
            continue
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return i
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


class _YamlBuilder:
    """Builds plain data from parser events (iteratively: depth is bounded, not the C stack)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.values: dict[str, Position] = {}
        self.keys: dict[str, Position] = {}
        self.problems: list[Diagnostic] = []
        self.yaml11: list[Yaml11Scalar] = []
        self.scalar_texts: dict[str, str] = {}
        self.null_keys: set[str] = set()
        # anchor -> (value, expanded node count)
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.count = 0

    def _count(self, n: int, pos: Position) -> None:
        self.count += n
        if self.count > MAX_NODES:
            raise _YamlStop(f"more than {MAX_NODES} values after expanding aliases (an alias bomb "
                            "such as \"billion laughs\"?)", pos)

    def build(self, parser: Any) -> Any:
        from yaml import events as ev

        get = parser.get_event
        event = get()  # StreamStart
        event = get()
        if isinstance(event, ev.StreamEndEvent):
            self.values[""] = (1, 1)
            return None  # an empty file: null (the schema says what is wrong with that)
        data = self._document(get, ev)
        event = get()
        if not isinstance(event, ev.StreamEndEvent):
            m = event.start_mark
            raise _YamlStop("expected one YAML document, found several (a second '---')",
                            (m.line + 1, m.column + 1))
        return data

    def _scalar_value(self, event: Any, pointer: str, pos: Position, is_key: bool) -> Any:
        """The scalar's value; records YAML 1.1 differences (``pointer`` names the key or value)."""
        tag = event.tag
        text = event.value
        plain = event.style in (None, "") and (tag is None or tag == "!") and event.implicit[0]
        if tag is not None and tag != "!" and tag not in _CORE_TAGS:
            raise _YamlStop(f"YAML tag {tag} is not allowed (only the core schema tags !!str, "
                            "!!int, !!float, !!bool, !!null, !!map and !!seq)", pos, pointer)
        if plain:
            value = resolve_plain_yaml12(text)
            diff = _yaml11_difference(text, value)
            if diff is not None:
                self.yaml11.append(Yaml11Scalar(pointer, is_key, text, diff[0], diff[1]))
            if is_key:
                if value is None:
                    self.null_keys.add(pointer)
                return text  # keys are text in JSON: `1e3: x` names the key "1e3"
            if (value is not None and not isinstance(value, str)) or diff is not None:
                self.scalar_texts[pointer] = text
        elif tag is None or tag == "!" or tag == _CORE + "str":
            value = text
        else:
            value = resolve_plain_yaml12(text)
            want = tag[len(_CORE):]
            ok = (
                (want == "null" and value is None)
                or (want == "bool" and isinstance(value, bool))
                or (want == "int" and isinstance(value, int) and not isinstance(value, bool))
                or (want == "float" and isinstance(value, (int, float)) and not isinstance(value, bool))
            )
            if not ok:
                raise _YamlStop(f'"{_abbrev(text)}" is not a valid !!{want} value', pos, pointer)
            if want == "float":
                value = float(value)
            if is_key:
                if want == "null":
                    self.null_keys.add(pointer)
                return text
        if not is_key:
            self._check_number(value, text, pos, pointer)
        return value

    def _forget(self, pointer: str) -> None:
        """Drop what was recorded about the value at ``pointer``: a duplicate key replaces it, and a
        record of a scalar inside the old value would name a node that is no longer there."""
        inside = pointer + "/"
        self.yaml11 = [s for s in self.yaml11
                       if not (s.pointer.startswith(inside) or (s.pointer == pointer and not s.key))]
        for p in [p for p in self.scalar_texts if p == pointer or p.startswith(inside)]:
            del self.scalar_texts[p]

    def _check_number(self, value: Any, text: str, pos: Position, pointer: str) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                self.problems.append(_diag("PL004", f"integer {_abbrev(text)}{_LOSSY}", self.path, pos, pointer))
        elif isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            what = "NaN" if value != value else ("infinity" if _Y12_INF.match(text) or
                                                 _Y12_NAN.match(text) else "a number that overflows")
            self.problems.append(_diag("PL004", f"{_abbrev(text)} is {what}{_UNREPRESENTABLE}", self.path, pos,
                                       pointer))

    def _document(self, get: Any, ev: Any) -> Any:
        # Stack frames: [container, pointer, is_mapping, pending_key, seen_keys, start_count, anchor]
        stack: list[list[Any]] = []
        result: Any = None
        event = get()  # first node event after DocumentStart
        ptr = ""
        while True:
            m = event.start_mark
            pos = (m.line + 1, m.column + 1)
            frame = stack[-1] if stack else None
            # Is this event a mapping key?
            if frame is not None and frame[2] and frame[3] is None and not isinstance(event, ev.MappingEndEvent):
                if not isinstance(event, ev.ScalarEvent):
                    if isinstance(event, ev.AliasEvent):
                        raise _YamlStop("an alias cannot be used as a mapping key", pos, frame[1])
                    raise _YamlStop("mapping keys must be strings, not collections", pos, frame[1])
                if event.anchor is not None:
                    raise _YamlStop("anchors on mapping keys are not supported", pos, frame[1])
                key = event.value
                child = frame[1] + "/" + escape_token(key)
                self._scalar_value(event, child, pos, True)
                seen = frame[4]
                if key in seen:
                    first = seen[key]
                    self.problems.append(_diag(
                        "PL003", f'duplicate key "{_abbrev(key)}" (first defined at line {first[0]}); '
                        "readers disagree on which one wins", self.path, pos, child))
                    self._forget(child)
                else:
                    seen[key] = pos
                self.keys[child] = pos
                frame[3] = key
                event = get()
                continue
            is_end = isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent))
            if frame is None:
                ptr = ""
            elif not is_end:
                ptr = frame[1] + "/" + (escape_token(frame[3]) if frame[2] else str(len(frame[0])))
            if is_end:
                assert frame is not None
                stack.pop()
                container = frame[0]
                if frame[6] is not None:
                    self.anchors[frame[6]] = (container, self.count - frame[5])
                value = container
                ptr = frame[1]
                event = None
            elif isinstance(event, ev.AliasEvent):
                hit = self.anchors.get(event.anchor)
                if hit is None:
                    raise _YamlStop(f'alias "*{_abbrev(event.anchor)}" refers to an unknown or '
                                    "enclosing anchor", pos, ptr)
                self.values[ptr] = pos
                self._count(hit[1], pos)
                value = hit[0]
            elif isinstance(event, ev.ScalarEvent):
                self.values[ptr] = pos
                self._count(1, pos)
                value = self._scalar_value(event, ptr, pos, False)
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1)
            elif isinstance(event, (ev.MappingStartEvent, ev.SequenceStartEvent)):
                tag = event.tag
                is_map = isinstance(event, ev.MappingStartEvent)
                if tag is not None and tag != "!" and tag not in _CORE_TAGS:
                    raise _YamlStop(f"YAML tag {tag} is not allowed (only the core schema tags "
                                    "!!str, !!int, !!float, !!bool, !!null, !!map and !!seq)", pos, ptr)
                if tag in (_CORE + "map", _CORE + "seq") and (tag == _CORE + "map") != is_map:
                    raise _YamlStop(f"tag {tag} does not fit this node", pos, ptr)
                if len(stack) >= MAX_DEPTH:
                    raise _YamlStop(f"nesting deeper than {MAX_DEPTH} levels", pos, None)
                self.values[ptr] = pos
                self._count(1, pos)
                stack.append([{} if is_map else [], ptr, is_map, None, {}, self.count - 1, event.anchor])
                event = get()
                continue
            else:  # pragma: no cover - the parser guarantees node events here
                raise _YamlStop(f"unexpected YAML event {type(event).__name__}", pos, ptr)
            # Attach ``value`` to its parent (or finish).
            if not stack:
                result = value
                end = get()  # DocumentEnd
                if not isinstance(end, ev.DocumentEndEvent):  # pragma: no cover
                    raise _YamlStop("expected the end of the document", pos, None)
                return result
            parent = stack[-1]
            if parent[2]:
                parent[0][parent[3]] = value
                parent[3] = None
            else:
                parent[0].append(value)
            event = get()
