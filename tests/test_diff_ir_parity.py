"""The structural diff of two PolicyLayer policies through the intermediate form is exactly the
PolicyLayer-model diff's: the same changes, in the same order, with the same pointers, values and
effects (hypothesis, on generated pairs: unrelated policies, and a policy against small edits of
itself, where rules, conditions and limits pair up)."""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policyctl.diff import ir_differ
from policyctl.diff.differ import diff_policies
from policyctl.policy.dialects.policylayer.lower import lower
from policyctl.policy.dialects.policylayer.model import Policy
from tests.conftest import examples
from tests.test_diff_strategies import TOOLS, VALUES, conditions, limits, policies, rules


def _ir_diff(a: dict, b: dict) -> tuple:
    pa, pb = Policy.from_data(a), Policy.from_data(b)
    return ir_differ.diff_programs(ir_differ.Side(lower(pa), a), ir_differ.Side(lower(pb), b))


def _edit(data: dict[str, Any], rnd: random.Random, draw: Any) -> dict[str, Any]:
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
                    _edit_rule(item, rnd, draw)
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
                        _edit_rule(rule, rnd, draw)
    return data


def _rich_policies() -> st.SearchStrategy[dict[str, Any]]:
    """Policies whose tools have several rules and limits each (for edits to pair up)."""
    entry = st.fixed_dictionaries({"require": st.lists(rules(), min_size=1, max_size=3),
                                   "deny_if": st.lists(rules(), min_size=1, max_size=3),
                                   "limits": st.lists(limits(), max_size=3)})
    return st.fixed_dictionaries(
        {"version": st.just("1"), "default": st.sampled_from(["allow", "deny"]),
         "tools": st.dictionaries(st.sampled_from(TOOLS), entry, min_size=1, max_size=2)},
        optional={"hide": st.lists(st.sampled_from(TOOLS + ["*"]), max_size=1, unique=True),
                  "all_tools": st.fixed_dictionaries({"limits": st.lists(limits(), max_size=3)})})


def _edit_rule(rule: dict, rnd: random.Random, draw: Any) -> None:
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


@settings(max_examples=examples(300))
@given(policies(), policies())
def test_the_ir_diff_of_unrelated_policylayer_policies_is_the_policylayer_diff(a: dict, b: dict) -> None:
    assert _ir_diff(a, b) == diff_policies(Policy.from_data(a), Policy.from_data(b))


@settings(max_examples=examples(1000))
@given(st.one_of(policies(), _rich_policies()), st.randoms(use_true_random=False), st.data())
def test_the_ir_diff_of_an_edited_policylayer_policy_is_the_policylayer_diff(a: dict, rnd: random.Random,
                                                                           data: st.DataObject) -> None:
    b = _edit(a, rnd, data.draw)
    Policy.from_data(b)  # the edits keep it valid
    assert _ir_diff(a, b) == diff_policies(Policy.from_data(a), Policy.from_data(b))
    assert _ir_diff(b, a) == diff_policies(Policy.from_data(b), Policy.from_data(a))
