"""Hypothesis strategies shared by the diff tests (small but complete policies and traces), and
checks that what they generate is what the product accepts."""

from __future__ import annotations

import copy
import random
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


def structural_diff(old: Any, new: Any) -> tuple:
    """The structural diff of two PolicyLayer models, as ``policyctl diff`` computes it: through
    their intermediate forms."""
    from policyctl.diff.ir_differ import Side, diff_programs
    from policyctl.policy.dialects.policylayer.lower import lower

    return diff_programs(Side(lower(old), old.to_data()), Side(lower(new), new.to_data()))


def edited(data: dict[str, Any], rnd: random.Random, draw: Any) -> dict[str, Any]:
    """``data`` with a few small edits: rules, conditions and limits changed, added, removed,
    reordered; messages, hide and default changed."""
    data = copy.deepcopy(data)
    for _ in range(rnd.randint(1, 4)):
        what = rnd.choices(range(6), weights=[1, 2, 10, 1, 2, 4])[0]
        tools = data.setdefault("tools", {})
        if what == 0:
            data["default"] = rnd.choice(["allow", "deny"])
        elif what == 1:
            hide = data.setdefault("hide", [])
            name = rnd.choice(TOOLS + ["*"])
            if name in hide:
                hide.remove(name)
            else:
                hide.insert(rnd.randint(0, len(hide)), name)
        elif what == 2 and tools:
            tool = rnd.choice(sorted(tools))
            if rnd.random() < 0.2:
                del tools[tool]
                continue
            entry = tools[tool]
            part = rnd.choice(["require", "deny_if", "limits"])
            items = entry.setdefault(part, [])
            op = rnd.randrange(4)
            if op == 0 or not items:
                items.insert(rnd.randint(0, len(items)), draw(limits() if part == "limits" else rules()))
            elif op == 1:
                items.pop(rnd.randrange(len(items)))
            elif op == 2:
                rnd.shuffle(items)
            else:
                item = items[rnd.randrange(len(items))]
                if part == "limits":
                    key = rnd.choice(["counter", "window", "max"])
                    item[key] = draw(limits())[key]
                else:
                    edit_rule(item, rnd, draw)
        elif what == 3:
            tools[rnd.choice(TOOLS)] = draw(st.fixed_dictionaries({}, optional={
                "require": st.lists(rules(), max_size=2), "deny_if": st.lists(rules(), max_size=2),
                "limits": st.lists(limits(), max_size=2)}))
        elif what == 4:
            items = data.setdefault("all_tools", {}).setdefault("limits", [])
            if items and rnd.random() < 0.5:
                item = items[rnd.randrange(len(items))]
                key = rnd.choice(["counter", "window", "max"])
                item[key] = draw(limits())[key]
            elif items and rnd.random() < 0.5:
                rnd.shuffle(items)
            else:
                items.append(draw(limits()))
        elif what == 5 and tools:
            entry = tools[rnd.choice(sorted(tools))]
            for part in ("require", "deny_if"):
                for rule in entry.get(part, []):
                    if rnd.random() < 0.5:
                        edit_rule(rule, rnd, draw)
    return data


def rich_policies() -> st.SearchStrategy[dict[str, Any]]:
    """Policies whose tools have several rules and limits each (for edits to pair up)."""
    entry = st.fixed_dictionaries({"require": st.lists(rules(), min_size=1, max_size=3),
                                   "deny_if": st.lists(rules(), min_size=1, max_size=3),
                                   "limits": st.lists(limits(), max_size=3)})
    return st.fixed_dictionaries(
        {"version": st.just("1"), "default": st.sampled_from(["allow", "deny"]),
         "tools": st.dictionaries(st.sampled_from(TOOLS), entry, min_size=1, max_size=2)},
        optional={"hide": st.lists(st.sampled_from(TOOLS + ["*"]), max_size=1, unique=True),
                  "all_tools": st.fixed_dictionaries({"limits": st.lists(limits(), max_size=3)})})


def edit_rule(rule: dict, rnd: random.Random, draw: Any) -> None:
    conds = rule.setdefault("conditions", [])
    op = rnd.randrange(6)
    if op == 0:
        rule["on_deny"] = rnd.choice(["", "no", "stop", "other"])
    elif op == 1 and "on_deny" in rule:
        del rule["on_deny"]
    elif op == 2 or not conds:
        conds.insert(rnd.randint(0, len(conds)), draw(conditions()))
    elif op == 3:
        conds.pop(rnd.randrange(len(conds)))
    elif op == 4:
        rnd.shuffle(conds)
    else:  # one condition changed: its value, its operator within its family, or all of it
        c = conds[rnd.randrange(len(conds))]
        family = next((f for f in (["gt", "gte", "lt", "lte"], ["eq", "neq"], ["in", "not_in"]) if c["op"] in f), None)
        how = rnd.randrange(3)
        if how == 0 and family is not None and family[0] != "in":
            c["value"] = rnd.choice(VALUES if family[0] == "eq" else [0, 1, 2, 5, 100, -1, 2.5])
        elif how == 1 and family is not None:
            c["op"] = rnd.choice(family)
        else:
            c.update(draw(conditions()))


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
