"""Hypothesis strategies shared by the diff tests (small but complete policies and traces), and
checks that what they generate is what the product accepts."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples

TOOLS = ["a", "b", "c", "d/e"]
PATHS = ["args.x", "args.y", "args.n.m"]
VALUES = [0, 1, 2, 5, 100, -1, 2.5, "0", "1", "a", "b", "", True, False, None, [1], {"k": 1}]


def conditions() -> st.SearchStrategy[dict[str, Any]]:
    num = st.sampled_from([0, 1, 2, 5, 100, -1, 2.5])
    scalar = st.sampled_from(VALUES)
    path = st.sampled_from(PATHS)
    return st.one_of(
        st.builds(lambda p, o, v: {"path": p, "op": o, "value": v}, path, st.sampled_from(["gt", "gte", "lt", "lte"]), num),
        st.builds(lambda p, o, v: {"path": p, "op": o, "value": v}, path, st.sampled_from(["eq", "neq", "contains"]), scalar),
        st.builds(lambda p, o, v: {"path": p, "op": o, "value": v}, path, st.sampled_from(["in", "not_in"]),
                  st.lists(scalar, max_size=3)),
        st.builds(lambda p, v: {"path": p, "op": "exists", "value": v}, path, st.booleans()),
        st.builds(lambda p, v: {"path": p, "op": "regex", "value": v}, path,
                  st.sampled_from(["^a", "b$", "^(a|b)$", "[0-9]+", ""])),
    )


def rules() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda cs, msg: {"conditions": cs, **({"on_deny": msg} if msg is not None else {})},
                     st.lists(conditions(), max_size=2), st.sampled_from([None, "", "no", "stop"]))


def limits() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda c, w, m: {"counter": c, "window": w, "max": m, "scope": "grant"},
                     st.sampled_from(["c1", "c2"]), st.sampled_from(["minute", "hour", "day"]),
                     st.integers(1, 4))


def tool_entries() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={
        "require": st.lists(rules(), max_size=2),
        "deny_if": st.lists(rules(), max_size=2),
        "limits": st.lists(limits(), max_size=2),
    })


def policies() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"version": st.just("1"), "default": st.sampled_from(["allow", "deny"])},
        optional={
            "hide": st.lists(st.sampled_from(TOOLS + ["*"]), max_size=2, unique=True),
            "all_tools": st.fixed_dictionaries({}, optional={"limits": st.lists(limits(), max_size=2)}),
            "tools": st.dictionaries(st.sampled_from(TOOLS), tool_entries(), max_size=3),
        })


def args() -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.sampled_from(VALUES + ["ab", "ba", "a1", 99, 101, 3])
    return st.fixed_dictionaries({}, optional={"x": leaf, "y": leaf, "n": st.one_of(
        leaf, st.fixed_dictionaries({}, optional={"m": leaf}))})


def traces() -> st.SearchStrategy[list[dict[str, Any]]]:
    call = st.fixed_dictionaries({
        "gap": st.sampled_from([0, 0.5, 1, 30, 59.5, 60, 3600]),
        "tool": st.sampled_from(TOOLS + ["zz"]),
        "args": args(),
        "grant": st.sampled_from(["g1", "g2"]),
        "upstream_error": st.booleans(),
    })
    return st.lists(call, max_size=25)


def trace_lines(calls: list[dict[str, Any]], start: float = 1795514400.0) -> list[dict[str, Any]]:
    """Turn generated calls into trace records with increasing numeric timestamps."""
    out, t = [], start
    for c in calls:
        t += c["gap"]
        out.append({"ts": t, "grant": c["grant"], "tool": c["tool"], "args": c["args"],
                    "upstream_error": c["upstream_error"]})
    return out


def reorder(policy: dict[str, Any], rnd: Any) -> dict[str, Any]:
    """The same policy with object keys and `in` lists shuffled (behaviour unchanged)."""
    def shuffle_dict(d: dict) -> dict:
        items = list(d.items())
        rnd.shuffle(items)
        return {k: walk(v, k) for k, v in items}

    def walk(v: Any, key: str = "") -> Any:
        if isinstance(v, dict):
            if {"path", "op"} <= set(v) and v.get("op") in ("in", "not_in") and isinstance(v.get("value"), list):
                vals = list(v["value"])
                rnd.shuffle(vals)
                return shuffle_dict({**v, "value": vals})
            return shuffle_dict(v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(policy)


@settings(max_examples=examples(100))
@given(policies())
def test_generated_policies_pass_the_schema(data: dict[str, Any]) -> None:
    from policyctl.documents.schema import validate
    from policyctl.policy.dialects.policylayer.model import Policy

    assert validate(data) == []
    Policy.from_data(data)


@settings(max_examples=examples(50))
@given(traces())
def test_generated_traces_are_valid_traces(calls: list[dict[str, Any]]) -> None:
    import json
    import os
    import tempfile

    from policyctl.traces.reader import read_trace

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.jsonl")
        with open(path, "w", encoding="utf-8") as fh:
            for rec in trace_lines(calls):
                fh.write(json.dumps(rec) + "\n")
        assert len(list(read_trace(path))) == len(calls)
