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
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

from policyctl.diagnostics import Diagnostic
from policyctl.documents.jsonvalues import json_type_phrase as _json_type
from policyctl.documents.pointers import escape_token, unescape_token

SCHEMAS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "schemas")
SCHEMA_FILE = os.path.join(SCHEMAS_DIR, "policy.schema.json")
#: dialect → the packaged schema file (byte-identical to the published copy in schemas/)
SCHEMA_FILES = {"policylayer": SCHEMA_FILE, "intercept": os.path.join(SCHEMAS_DIR, "intercept.schema.json")}


def schema_text(dialect: str = "policylayer") -> str:
    """The published JSON Schema of ``dialect``, as text."""
    with open(SCHEMA_FILES[dialect], encoding="utf-8") as fh:
        return fh.read()
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
    key = id(schema)
    interpreter = _INTERPRETERS.get(key)
    if interpreter is None:
        if not _uses_only_known(schema):
            return list(_jsonschema_errors(data, schema))
        interpreter = _INTERPRETERS[key] = _Interpreter(schema)
    return interpreter.errors(data)


# Interpreters of schemas known to use only known keywords, by id (the policy schema is cached by
# load_schema, so this holds one entry in normal use; tests may add a few).
_INTERPRETERS: dict[int, "_Interpreter"] = {}


def schema_diagnostics(document: Any) -> tuple[Diagnostic, ...]:
    """PL002 diagnostics for a :class:`policyctl.documents.loader.Document`."""
    out = []
    for e in validate(document.data):
        line, column = document.position(e.pointer, key=e.key)
        out.append(Diagnostic(code="PL002", rule="schema-violation", severity="error",
                              message=e.message, path=document.path, line=line, column=column,
                              pointer=e.pointer))
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# Descriptions used in messages




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


class _Because:
    """`` when op is "gt"`` for an ``if`` that tests properties' values, rendered only if needed."""

    __slots__ = ("condition", "value")

    def __init__(self, condition: Any, value: Any) -> None:
        self.condition = condition
        self.value = value

    def __str__(self) -> str:
        if not isinstance(self.condition, dict) or not isinstance(self.value, dict):
            return ""
        said = [f"{k} is {_show(self.value[k])}" for k in self.condition.get("properties", {})
                if k in self.value]
        return f" when {' and '.join(said)}" if said else ""

    __format__ = lambda self, spec: str(self)  # noqa: E731 - f-strings render lazily


def _pointer(parts: tuple[str | int, ...]) -> str:
    return "".join("/" + escape_token(str(p)) for p in parts)


class _Interpreter:
    """Evaluates the keywords in :data:`KNOWN_KEYWORDS` the way ``jsonschema`` does.

    Like ``jsonschema.iter_errors`` it reports every failing keyword (no short-circuit); keywords
    that constrain one JSON type ignore instances of other types. Errors are appended to a list
    and pointers/messages are built only for failures: this runs once per linted file.
    """

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._refs: dict[str, Any] = {}
        self._string_enums: dict[int, frozenset[str] | None] = {}

    def _resolve(self, ref: str) -> Any:
        hit = self._refs.get(ref)
        if hit is not None:
            return hit
        if not ref.startswith("#"):
            raise ValueError(f"only local $ref is supported, got {ref}")
        node: Any = self.root
        for part in ref[1:].split("/")[1:]:
            node = node[unescape_token(part)]
        self._refs[ref] = node
        return node

    def errors(self, data: Any) -> list[SchemaError]:
        out: list[SchemaError] = []
        self._check(self.root, data, (), self.root, "", out)
        return out

    def is_valid(self, schema: Any, value: Any) -> bool:
        """Whether ``value`` is valid, without building messages (``if`` schemas run per value)."""
        if schema is True:
            return True
        if schema is False:
            return False
        if "$ref" in schema and not self.is_valid(self._resolve(schema["$ref"]), value):
            return False
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_is_type(value, t) for t in types):
                return False
        if "enum" in schema and not self._in_enum(schema, value):
            return False
        if "const" in schema and not _equal(value, schema["const"]):
            return False
        if isinstance(value, dict):
            if any(name not in value for name in schema.get("required", ())):
                return False
            props = schema.get("properties") or {}
            for name, sub in props.items():
                if name in value and not self.is_valid(sub, value[name]):
                    return False
            if "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                for k in value:
                    if k not in props and not self.is_valid(extra, value[k]):
                        return False
            if "propertyNames" in schema:
                if not all(self.is_valid(schema["propertyNames"], k) for k in value):
                    return False
        elif isinstance(value, (list, str)) or _is_type(value, "number"):
            # rarely reached from an ``if``: reuse the full check for the remaining keywords
            out: list[SchemaError] = []
            self._check({k: v for k, v in schema.items() if k not in ("allOf", "if", "then", "else",
                                                                     "$ref", "type", "enum", "const")},
                        value, (), schema, "", out)
            if out:
                return False
        for sub in schema.get("allOf", ()):
            if not self.is_valid(sub, value):
                return False
        if "if" in schema:
            branch = "then" if self.is_valid(schema["if"], value) else "else"
            if branch in schema and not self.is_valid(schema[branch], value):
                return False
        return True

    def _in_enum(self, schema: dict[str, Any], value: Any) -> bool:
        options = schema["enum"]
        key = id(options)
        if key not in self._string_enums:
            self._string_enums[key] = (frozenset(options) if all(isinstance(o, str) for o in options)
                                       else None)
        fast = self._string_enums[key]
        if fast is not None:
            return isinstance(value, str) and value in fast
        return any(_equal(value, o) for o in options)

    def _check(self, schema: Any, value: Any, parts: tuple[str | int, ...], owner: dict[str, Any],
               when: "str | _Because", out: list[SchemaError]) -> None:
        """``owner`` is the nearest schema with a title (names objects); ``when`` explains an if/then."""
        if schema is True:
            return
        if schema is False:
            ptr = _pointer(parts)
            out.append(SchemaError(ptr, ptr, False, f"{_human(parts)} is not allowed here{when}", "false"))
            return
        if "title" in schema:
            owner = schema
        if "$ref" in schema:
            self._check(self._resolve(schema["$ref"]), value, parts, owner, when, out)

        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_is_type(value, t) for t in types):
                want = " or ".join(_TYPE_WORDS.get(t) or str(t) for t in types)
                got = _json_type(value)
                if not isinstance(value, (dict, list)) and value is not None:
                    got += f" ({_show(value, 30)})"
                ptr = _pointer(parts)
                out.append(SchemaError(ptr, ptr, False, f"{_human(parts)} must be {want}, not {got}{when}",
                                       "type"))
        if "enum" in schema and not self._in_enum(schema, value):
            shown = ", ".join(_show(o) for o in schema["enum"])
            ptr = _pointer(parts)
            out.append(SchemaError(ptr, ptr, False,
                                   f"{_human(parts)} must be one of {shown} (got {_show(value)}){when}",
                                   "enum"))
        if "const" in schema and not _equal(value, schema["const"]):
            ptr = _pointer(parts)
            out.append(SchemaError(ptr, ptr, False, f"{_human(parts)} must be {_show(schema['const'])} "
                                   f"(got {_show(value)}){when}", "const"))

        if isinstance(value, dict):
            self._object(schema, value, parts, owner, when, out)
        elif isinstance(value, list):
            self._array(schema, value, parts, owner, when, out)
        elif isinstance(value, str):
            if "minLength" in schema and len(value) < schema["minLength"]:
                human = _human(parts)
                msg = (f"{human} must not be empty" if schema["minLength"] == 1 else
                       f"{human} must be at least {schema['minLength']} characters long")
                ptr = _pointer(parts)
                out.append(SchemaError(ptr, ptr, False, f"{msg}{when}", "minLength"))
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                ptr = _pointer(parts)
                out.append(SchemaError(ptr, ptr, False, f"{_human(parts)} must be at most "
                                       f"{schema['maxLength']} characters long{when}", "maxLength"))
            if "pattern" in schema:
                pattern = schema["pattern"]
                compiled = self._patterns.get(pattern)
                if compiled is None:
                    compiled = self._patterns[pattern] = re.compile(pattern)
                if not compiled.search(value):
                    hint = schema.get("description", "").split(":", 1)[-1].strip()
                    hint = f" ({hint})" if hint else ""
                    ptr = _pointer(parts)
                    out.append(SchemaError(ptr, ptr, False, f"{_human(parts)} {_show(value)} does not "
                                           f"match {pattern}{hint}{when}", "pattern"))
        elif _is_type(value, "number"):
            if "minimum" in schema and value < schema["minimum"]:
                ptr = _pointer(parts)
                out.append(SchemaError(ptr, ptr, False, f"{_human(parts)} must be at least "
                                       f"{schema['minimum']} (got {_show(value)}){when}", "minimum"))
            if "maximum" in schema and value > schema["maximum"]:
                ptr = _pointer(parts)
                out.append(SchemaError(ptr, ptr, False, f"{_human(parts)} must be at most "
                                       f"{schema['maximum']} (got {_show(value)}){when}", "maximum"))

        if "allOf" in schema:
            for sub in schema["allOf"]:
                self._check(sub, value, parts, owner, when, out)
        if "if" in schema:
            if self.is_valid(schema["if"], value):
                if "then" in schema:
                    self._check(schema["then"], value, parts, owner,
                                when or self._because(schema["if"], value), out)
            elif "else" in schema:
                self._check(schema["else"], value, parts, owner, when, out)

    @staticmethod
    def _because(condition: Any, value: Any) -> "_Because":
        return _Because(condition, value)

    def _object(self, schema: dict[str, Any], value: dict[str, Any], parts: tuple[str | int, ...],
                owner: dict[str, Any], when: "str | _Because", out: list[SchemaError]) -> None:
        if "required" in schema:
            for name in schema["required"]:
                if name not in value:
                    where = "the policy" if not parts else f"{_noun(owner)} {_human(parts)}"
                    ptr = _pointer(parts)
                    out.append(SchemaError(ptr, ptr, False,
                                           f'missing required key "{name}" in {where}{when}', "required"))
        props = schema.get("properties")
        if props:
            for name, sub in props.items():
                if name in value:
                    self._check(sub, value[name], parts + (name,), owner, when, out)
        else:
            props = {}
        if "additionalProperties" in schema:
            extra_schema = schema["additionalProperties"]
            extras = [k for k in value if k not in props]
            if extra_schema is False:
                if extras:
                    noun = "the policy" if not parts else _noun(owner)
                    ptr = _pointer(parts)
                    for k in extras:
                        out.append(SchemaError(ptr, ptr + "/" + escape_token(k), True,
                                               self._unknown_key(k, noun, list(props)),
                                               "additionalProperties"))
            else:
                for k in extras:
                    self._check(extra_schema, value[k], parts + (k,), owner, when, out)
        if "propertyNames" in schema:
            names = schema["propertyNames"]
            for k in value:
                found: list[SchemaError] = []
                self._check(names, k, (), names if isinstance(names, dict) else owner, "", found)
                if found:
                    ptr = _pointer(parts)
                    label = _noun(names) if isinstance(names, dict) and "title" in names else "key"
                    for e in found:
                        msg = e.message.replace("the policy", f"{label} {_show(k)}", 1)
                        out.append(SchemaError(ptr, ptr + "/" + escape_token(k), True, msg, e.keyword))

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
               owner: dict[str, Any], when: "str | _Because", out: list[SchemaError]) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            ptr = _pointer(parts)
            out.append(SchemaError(ptr, ptr, False, f"{_human(parts)} must have at least "
                                   f"{schema['minItems']} items{when}", "minItems"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            ptr = _pointer(parts)
            out.append(SchemaError(ptr, ptr, False, f"{_human(parts)} must have at most "
                                   f"{schema['maxItems']} items{when}", "maxItems"))
        if schema.get("uniqueItems") and len(value) > 1:
            for j, item in enumerate(value):
                first = next((i for i in range(j) if _equal(value[i], item)), None)
                if first is not None:
                    ptr = _pointer(parts)
                    out.append(SchemaError(ptr, f"{ptr}/{j}", False, f"{_human(parts)} lists "
                                           f"{_show(item)} twice (items {first} and {j}){when}",
                                           "uniqueItems"))
        if "items" in schema:
            items = schema["items"]
            for i, item in enumerate(value):
                self._check(items, item, parts + (i,), owner, when, out)


def _jsonschema_errors(data: Any, schema: dict[str, Any]) -> Iterator[SchemaError]:
    """Fallback for schemas using keywords the interpreter does not know."""
    from jsonschema import Draft202012Validator

    for e in Draft202012Validator(schema).iter_errors(data):
        ptr = "".join("/" + escape_token(str(p)) for p in e.absolute_path)
        yield SchemaError(ptr, ptr, False, f"{_human(tuple(e.absolute_path))}: {e.message}",
                          str(e.validator))
