"""Walking a tool's ``inputSchema`` along a condition path (for the ``--tools`` rules).

Handles what MCP servers actually publish: nested ``properties``, local ``$ref`` into ``$defs`` /
``definitions`` (pydantic and FastMCP emit these), and ``allOf``/``anyOf``/``oneOf`` branches
(``Optional[X]`` is ``anyOf: [X, {type: null}]``), whose properties, types and enums are united.
Anything it cannot read (remote refs, ``additionalProperties`` schemas, no ``properties`` at all)
makes it say "unknown" rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policyctl.documents.pointers import unescape_token

_MAX_BRANCHES = 64


@dataclass(frozen=True)
class Lookup:
    """Result of following a path: ``found`` schemas, or the segment where it stopped."""

    schemas: tuple[dict[str, Any], ...]  # the argument's schema branches ('' = unknown when empty)
    missing_at: int | None = None  # index of the segment the schema lacks
    known: tuple[str, ...] = ()  # property names available where it stopped
    not_object: str | None = None  # the type of the parent when it cannot have fields


def _branches(schema: Any, root: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and everything it refers to or combines, flattened (bounded)."""
    out: list[dict[str, Any]] = []
    todo = [schema]
    seen: set[int] = set()
    while todo and len(out) < _MAX_BRANCHES:
        s = todo.pop()
        if not isinstance(s, dict) or id(s) in seen:
            continue
        seen.add(id(s))
        out.append(s)
        ref = s.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            node: Any = root
            for part in ref[2:].split("/"):
                part = unescape_token(part)
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                todo.append(node)
        for key in ("allOf", "anyOf", "oneOf"):
            if isinstance(s.get(key), list):
                todo.extend(s[key])
    return out


def _open(branches: list[dict[str, Any]]) -> bool:
    """True when some branch accepts properties we cannot enumerate."""
    for b in branches:
        extra = b.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return True
        if extra is True:
            return True
        if b.get("patternProperties"):
            return True
        if b.get("$ref") and not str(b["$ref"]).startswith("#/"):
            return True
    return False


def types_of(branches: tuple[dict[str, Any], ...]) -> frozenset[str] | None:
    """JSON types the argument may have; None when some branch does not say."""
    types: set[str] = set()
    concrete = [b for b in branches if any(k in b for k in ("type", "enum", "const"))]
    if not concrete:
        return None
    for b in concrete:
        t = b.get("type")
        if isinstance(t, str):
            types.add(t)
        elif isinstance(t, list):
            types.update(x for x in t if isinstance(x, str))
        elif "enum" in b or "const" in b:
            values = b.get("enum", [b.get("const")]) if "enum" in b else [b["const"]]
            for v in values if isinstance(values, list) else []:
                types.add(_json_type(v))
    if "integer" in types:
        types.add("number")
    return frozenset(types)


def enum_of(branches: tuple[dict[str, Any], ...]) -> list[Any] | None:
    """Allowed values when every typed branch lists them (enum/const); None otherwise."""
    concrete = [b for b in branches if any(k in b for k in ("type", "enum", "const"))]
    if not concrete:
        return None
    values: list[Any] = []
    for b in concrete:
        if "const" in b:
            values.append(b["const"])
        elif isinstance(b.get("enum"), list):
            values.extend(b["enum"])
        elif b.get("type") == "null":
            values.append(None)
        else:
            return None
    return values


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def lookup(input_schema: dict[str, Any], segments: tuple[str, ...]) -> Lookup:
    """Follow ``segments`` (``args.a.b`` → ``("a", "b")``) through ``input_schema``."""
    current = _branches(input_schema, input_schema)
    for i, seg in enumerate(segments):
        props: dict[str, Any] = {}
        has_props = False
        for b in current:
            if isinstance(b.get("properties"), dict):
                has_props = True
                props.update(b["properties"])
        if seg in props:
            nxt: list[dict[str, Any]] = []
            for b in current:
                p = b.get("properties")
                if isinstance(p, dict) and seg in p:
                    nxt.extend(_branches(p[seg], input_schema))
            current = nxt
            continue
        if has_props and not _open(current):
            return Lookup((), missing_at=i, known=tuple(props))
        types = types_of(tuple(current))
        if not has_props and types is not None and "object" not in types:
            return Lookup((), missing_at=i, not_object=" or ".join(sorted(types)))
        return Lookup(())  # cannot tell
    return Lookup(tuple(current))
