"""Hypothesis strategies for policy documents: valid ones, and mutations of them."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

OPS_NUMBER = ("lt", "lte", "gt", "gte")
OPS = ("eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "regex", "contains")

names = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=6),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(names, inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def conditions(draw: Any) -> dict[str, Any]:
    op = draw(st.sampled_from(OPS))
    path = "args." + ".".join(draw(st.lists(names, min_size=1, max_size=3)))
    if op in OPS_NUMBER:
        value: Any = draw(st.one_of(st.integers(-10**6, 10**6),
                                    st.floats(allow_nan=False, allow_infinity=False, width=32)))
    elif op in ("in", "not_in"):
        value = draw(st.lists(scalars, max_size=3))
    elif op == "exists":
        value = draw(st.booleans())
    elif op == "regex":
        value = draw(st.sampled_from(["^a$", "b+", "^(x|y)$", "[0-9]{3}", "\\bfoo\\b"]))
    else:
        value = draw(json_values)
    return {"path": path, "op": op, "value": value}


@st.composite
def rules(draw: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"conditions": draw(st.lists(conditions(), max_size=3))}
    if draw(st.booleans()):
        rule["on_deny"] = draw(st.text(max_size=10))
    return rule


limits = st.fixed_dictionaries({
    "counter": names, "window": st.sampled_from(["minute", "hour", "day"]),
    "max": st.integers(1, 100), "scope": st.just("grant"),
})


@st.composite
def tool_entries(draw: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for key, strategy in (("require", rules()), ("deny_if", rules()), ("limits", limits)):
        if draw(st.booleans()):
            entry[key] = draw(st.lists(strategy, max_size=2))
    return entry


@st.composite
def policies(draw: Any) -> dict[str, Any]:
    """Schema-valid policy data."""
    data: dict[str, Any] = {"version": "1", "default": draw(st.sampled_from(["allow", "deny"]))}
    if draw(st.booleans()):
        data["hide"] = draw(st.lists(st.one_of(names, st.just("*")), unique=True, max_size=3))
    if draw(st.booleans()):
        data["all_tools"] = {"limits": draw(st.lists(limits, max_size=2))} if draw(st.booleans()) else {}
    if draw(st.booleans()):
        data["tools"] = draw(st.dictionaries(names, tool_entries(), max_size=3))
    return data


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, prefix + (i,)))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        value = value[p]
    return value


@st.composite
def mutated_policies(draw: Any) -> Any:
    """Valid policies with one to three random changes: replaced values, deleted or extra keys."""
    import copy

    data: Any = copy.deepcopy(draw(policies()))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            if kind == "replace":
                data = draw(json_values)
            continue
        parent = _get(data, path[:-1])
        if kind == "replace":
            parent[path[-1]] = draw(st.one_of(json_values, st.sampled_from(
                ["", "*", "args", "args.a", "week", 0, -1, 1.5, "1", "gt", "regex", "in"])))
        elif kind == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif kind == "add":
            target = _get(data, path)
            if isinstance(target, dict):
                target[draw(st.sampled_from(["extra", "limts", "value", "op", "$schema"]))] = draw(json_values)
    return data
