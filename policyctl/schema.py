"""JSON Schema validation of policy data, as ``PL002`` diagnostics with pointers.

The packaged ``policyctl/schemas/policy.schema.json`` (a byte-identical copy of the published
``schemas/policy.schema.json``) is the single source of truth. Importing ``jsonschema`` costs about
100 ms, too much for a pre-commit hook that lints one file, so this module walks the schema itself
with a small interpreter of exactly the draft 2020-12 keywords the schema uses (see
:data:`KNOWN_KEYWORDS`). Should the schema ever use another keyword, validation falls back to
``jsonschema.Draft202012Validator``. A property test checks that both agree on validity and on the
set of failing instance locations.

Pointers follow SPEC §3: an unknown key points at that key (``key=True``: the key's position), a
missing required key at the object that lacks it, a wrong type or value at the value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from policyctl.diagnostics import Diagnostic

SCHEMA_FILE = Path(__file__).with_name("schemas") / "policy.schema.json"
SCHEMA_ID = "https://policyctl.dev/schemas/policy.schema.json"

# Keywords the interpreter evaluates, plus annotations it may ignore.
KNOWN_KEYWORDS = frozenset({
    "type", "enum", "const", "required", "properties", "additionalProperties", "propertyNames",
    "items", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern",
    "minimum", "maximum", "allOf", "if", "then", "else", "$ref",
    # annotations and structure
    "$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default",
    "deprecated", "readOnly", "writeOnly",
})


@dataclass(frozen=True)
class SchemaError:
    """One schema violation.

    ``instance`` is the JSON Schema instance location (what ``jsonschema`` reports); ``pointer``
    and ``key`` say where a user should look (an unknown key rather than the object holding it).
    """

    instance: str
    pointer: str
    key: bool
    message: str
    keyword: str


@lru_cache(maxsize=None)
def load_schema(path: str | None = None) -> dict[str, Any]:
    """The policy schema as data (the packaged copy unless ``path`` is given)."""
    with open(path or SCHEMA_FILE, encoding="utf-8") as fh:
        return json.load(fh)


def _uses_only_known(schema: Any) -> bool:
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    if not set(schema) <= KNOWN_KEYWORDS:
        return False
    subs: list[Any] = []
    for k in ("properties", "$defs"):
        subs.extend(schema.get(k, {}).values())
    for k in ("additionalProperties", "propertyNames", "items", "if", "then", "else"):
        if k in schema:
            subs.append(schema[k])
    subs.extend(schema.get("allOf", []))
    return all(_uses_only_known(s) for s in subs)


def validate(data: Any, schema: dict[str, Any] | None = None) -> list[SchemaError]:
    """All violations of ``schema`` (the policy schema by default) by ``data``."""
    schema = load_schema() if schema is None else schema
    if _uses_only_known(schema):
        return list(_Interpreter(schema).errors(data))
    return list(_jsonschema_errors(data, schema))


def schema_diagnostics(document: Any) -> tuple[Diagnostic, ...]:
    """PL002 diagnostics for a :class:`policyctl.documents.Document`."""
    out = []
    for e in validate(document.data):
        line, column = document.position(e.pointer, key=e.key)
        out.append(Diagnostic(code="PL002", rule="schema-violation", severity="error",
                              message=e.message, path=document.path, line=line, column=column,
                              pointer=e.pointer))
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# Descriptions used in messages


def _token(t: str) -> str:
    return t.replace("~", "~0").replace("/", "~1")


def _human(parts: tuple[str | int, ...]) -> str:
    """``("tools", "x", "limits", 0, "max")`` → ``tools.x.limits[0].max``."""
    if not parts:
        return "the policy"
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out


def _json_type(value: Any) -> str:
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


_TYPE_WORDS = {"object": "an object", "array": "an array", "string": "a string",
               "number": "a number", "integer": "an integer", "boolean": "a boolean", "null": "null"}


def _show(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _noun(schema: dict[str, Any]) -> str:
    title = schema.get("title")
    if not title:
        return "object"
    return title[0].lower() + title[1:]


# --------------------------------------------------------------------------------------------------
# JSON equality and types as JSON Schema defines them (booleans are not numbers; 1 == 1.0)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a is None and b is None


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, (int, float))
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return False


class _Interpreter:
    """Evaluates the keywords in :data:`KNOWN_KEYWORDS` the way ``jsonschema`` does.

    Like ``jsonschema.iter_errors`` it reports every failing keyword (no short-circuit); keywords
    that constrain one JSON type ignore instances of other types.
    """

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self._patterns: dict[str, re.Pattern[str]] = {}

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported, got {ref}")
        node: Any = self.root
        for part in ref[1:].split("/")[1:]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def errors(self, data: Any) -> Iterator[SchemaError]:
        yield from self._check(self.root, data, (), self.root, "")

    def is_valid(self, schema: Any, value: Any) -> bool:
        for _ in self._check(schema, value, (), schema, ""):
            return False
        return True

    def _check(self, schema: Any, value: Any, parts: tuple[str | int, ...], owner: dict[str, Any],
               when: str) -> Iterator[SchemaError]:
        """``owner`` is the nearest schema with a title (names objects); ``when`` explains an if/then."""
        if schema is True:
            return
        ptr = "".join("/" + _token(str(p)) for p in parts)
        human = _human(parts)
        if schema is False:
            yield SchemaError(ptr, ptr, False, f"{human} is not allowed here{when}", "false")
            return
        if "title" in schema:
            owner = schema
        if "$ref" in schema:
            yield from self._check(self._resolve(schema["$ref"]), value, parts, owner, when)

        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_is_type(value, t) for t in types):
                want = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
                got = _json_type(value)
                if not isinstance(value, (dict, list)) and value is not None:
                    got += f" ({_show(value, 30)})"
                yield SchemaError(ptr, ptr, False, f"{human} must be {want}, not {got}{when}", "type")
        if "enum" in schema:
            options = schema["enum"]
            if not any(_equal(value, o) for o in options):
                shown = ", ".join(_show(o) for o in options)
                yield SchemaError(ptr, ptr, False,
                                  f"{human} must be one of {shown} (got {_show(value)}){when}", "enum")
        if "const" in schema and not _equal(value, schema["const"]):
            yield SchemaError(ptr, ptr, False,
                              f"{human} must be {_show(schema['const'])} (got {_show(value)}){when}",
                              "const")

        if isinstance(value, dict):
            yield from self._object(schema, value, parts, ptr, owner, when)
        elif isinstance(value, list):
            yield from self._array(schema, value, parts, ptr, owner, when)
        elif isinstance(value, str):
            if "minLength" in schema and len(value) < schema["minLength"]:
                msg = (f"{human} must not be empty" if schema["minLength"] == 1 else
                       f"{human} must be at least {schema['minLength']} characters long")
                yield SchemaError(ptr, ptr, False, msg + when, "minLength")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                yield SchemaError(ptr, ptr, False, f"{human} must be at most {schema['maxLength']} "
                                  f"characters long{when}", "maxLength")
            if "pattern" in schema:
                pattern = schema["pattern"]
                compiled = self._patterns.get(pattern)
                if compiled is None:
                    compiled = self._patterns[pattern] = re.compile(pattern)
                if not compiled.search(value):
                    hint = schema.get("description", "").split(":", 1)[-1].strip()
                    hint = f" ({hint})" if hint else ""
                    yield SchemaError(ptr, ptr, False, f"{human} {_show(value)} does not match "
                                      f"{pattern}{hint}{when}", "pattern")
        elif _is_type(value, "number"):
            if "minimum" in schema and value < schema["minimum"]:
                yield SchemaError(ptr, ptr, False, f"{human} must be at least {schema['minimum']} "
                                  f"(got {_show(value)}){when}", "minimum")
            if "maximum" in schema and value > schema["maximum"]:
                yield SchemaError(ptr, ptr, False, f"{human} must be at most {schema['maximum']} "
                                  f"(got {_show(value)}){when}", "maximum")

        for sub in schema.get("allOf", ()):
            yield from self._check(sub, value, parts, owner, when)
        if "if" in schema:
            if self.is_valid(schema["if"], value):
                if "then" in schema:
                    yield from self._check(schema["then"], value, parts, owner,
                                           when or self._because(schema["if"], value))
            elif "else" in schema:
                yield from self._check(schema["else"], value, parts, owner, when)

    @staticmethod
    def _because(condition: Any, value: Any) -> str:
        """`` when op is "gt"`` for an ``if`` that tests properties' values."""
        if not isinstance(condition, dict) or not isinstance(value, dict):
            return ""
        said = [f'{k} is {_show(value[k])}' for k in condition.get("properties", {}) if k in value]
        return f" when {' and '.join(said)}" if said else ""

    def _object(self, schema: dict[str, Any], value: dict[str, Any], parts: tuple[str | int, ...],
                ptr: str, owner: dict[str, Any], when: str) -> Iterator[SchemaError]:
        noun = "the policy" if not parts else _noun(owner)
        for name in schema.get("required", ()):
            if name not in value:
                where = "the policy" if not parts else f"{noun} {_human(parts)}"
                yield SchemaError(ptr, ptr, False,
                                  f'missing required key "{name}" in {where}{when}', "required")
        props = schema.get("properties", {})
        for name, sub in props.items():
            if name in value:
                yield from self._check(sub, value[name], parts + (name,), owner, when)
        if "additionalProperties" in schema:
            extra_schema = schema["additionalProperties"]
            extras = [k for k in value if k not in props]
            if extra_schema is False:
                for k in extras:
                    yield SchemaError(ptr, ptr + "/" + _token(k), True,
                                      self._unknown_key(k, noun, list(props)), "additionalProperties")
            else:
                for k in extras:
                    yield from self._check(extra_schema, value[k], parts + (k,), owner, when)
        if "propertyNames" in schema:
            names = schema["propertyNames"]
            for k in value:
                for e in self._check(names, k, (), names if isinstance(names, dict) else owner, ""):
                    label = _noun(names) if isinstance(names, dict) and "title" in names else "key"
                    msg = e.message.replace("the policy", f"{label} {_show(k)}", 1)
                    yield SchemaError(ptr, ptr + "/" + _token(k), True, msg, e.keyword)

    @staticmethod
    def _unknown_key(key: str, noun: str, allowed: list[str]) -> str:
        where = "at the top level of the policy" if noun == "the policy" else f"in {noun}"
        msg = f"unknown key {_show(key)} {where}"
        if allowed:
            msg += f" (expected one of {', '.join(allowed)})"
            import difflib

            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.7)
            if close:
                msg += f'; did you mean "{close[0]}"?'
        return msg

    def _array(self, schema: dict[str, Any], value: list[Any], parts: tuple[str | int, ...],
               ptr: str, owner: dict[str, Any], when: str) -> Iterator[SchemaError]:
        human = _human(parts)
        if "minItems" in schema and len(value) < schema["minItems"]:
            yield SchemaError(ptr, ptr, False, f"{human} must have at least {schema['minItems']} "
                              f"items{when}", "minItems")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            yield SchemaError(ptr, ptr, False, f"{human} must have at most {schema['maxItems']} "
                              f"items{when}", "maxItems")
        if schema.get("uniqueItems"):
            for j, item in enumerate(value):
                first = next((i for i in range(j) if _equal(value[i], item)), None)
                if first is not None:
                    yield SchemaError(ptr, f"{ptr}/{j}", False, f"{human} lists {_show(item)} "
                                      f"twice (items {first} and {j}){when}", "uniqueItems")
        if "items" in schema:
            for i, item in enumerate(value):
                yield from self._check(schema["items"], item, parts + (i,), owner, when)


def _jsonschema_errors(data: Any, schema: dict[str, Any]) -> Iterator[SchemaError]:
    """Fallback for schemas using keywords the interpreter does not know."""
    from jsonschema import Draft202012Validator

    for e in Draft202012Validator(schema).iter_errors(data):
        ptr = "".join("/" + _token(str(p)) for p in e.absolute_path)
        yield SchemaError(ptr, ptr, False, f"{_human(tuple(e.absolute_path))}: {e.message}",
                          str(e.validator))
