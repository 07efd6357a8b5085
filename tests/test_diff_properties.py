"""Properties of the structural diff over generated policies (hypothesis)."""

from __future__ import annotations

import random

from hypothesis import example, given, settings
from hypothesis import strategies as st

from policyctl.policy.dialects.policylayer.model import Policy
from tests.conftest import examples
from tests.test_diff_strategies import conditions, edited, policies, reorder, rich_policies, structural_diff


@settings(max_examples=examples(300))
@given(policies())
def test_a_policy_has_no_changes_against_itself(data: dict) -> None:
    p = Policy.from_data(data)
    assert structural_diff(p, p) == ()
    assert structural_diff(p, Policy.from_data(data)) == ()


@settings(max_examples=examples(200))
@given(policies(), st.integers(0, 2**32))
def test_key_order_and_in_list_order_are_not_changes(data: dict, seed: int) -> None:
    shuffled = reorder(data, random.Random(seed))
    assert structural_diff(Policy.from_data(data), Policy.from_data(shuffled)) == ()


@settings(max_examples=examples(200))
@given(policies(), policies())
def test_diff_never_raises_and_uses_the_closed_vocabulary(a: dict, b: dict) -> None:
    from policyctl.diff.differ import CHANGE_KINDS, EFFECTS

    for change in structural_diff(Policy.from_data(a), Policy.from_data(b)):
        assert change.kind in CHANGE_KINDS
        assert change.effect in EFFECTS
        assert change.pointer.startswith("/")


@settings(max_examples=examples(300))
@given(st.lists(conditions(), min_size=1, max_size=3), st.sampled_from(["require", "deny_if"]),
       conditions(), st.lists(st.fixed_dictionaries({}, optional={
           "x": st.sampled_from([0, 1, 2, 5, 100, -1, 2.5, "0", "1", "a", "b", "", True, None, [1], "ab"]),
           "y": st.sampled_from([0, 1, 2, 5, 100, "a", "b", None]),
       }), min_size=1, max_size=20))
@example(conds=[{"path": "args.x", "op": "eq", "value": 1}], kind="require",
         replacement={"path": "args.x", "op": "neq", "value": 0}, calls=[{"x": "1"}])
def test_effect_labels_are_sound_for_one_condition_change(conds: list, kind: str, replacement: dict,
                                                          calls: list) -> None:
    """Change one condition of one rule (no limits, so no quota interplay): a call the new version
    allows and the old one denied means the change cannot be 'tightened' or 'neutral', and the
    other way round."""
    from policyctl.engine.evaluator import Evaluator

    replacement = {**replacement, "path": conds[0]["path"]}
    old = Policy.from_data({"version": "1", "default": "deny", "tools": {"t": {kind: [{"conditions": conds}]}}})
    new = Policy.from_data({"version": "1", "default": "deny",
                            "tools": {"t": {kind: [{"conditions": [replacement, *conds[1:]]}]}}})
    effects = {c.effect for c in structural_diff(old, new)}
    ev_old, ev_new = Evaluator(old), Evaluator(new)
    for i, args in enumerate(calls):
        a = ev_old.evaluate(1795514400.0 + i, "g", "t", args)
        b = ev_new.evaluate(1795514400.0 + i, "g", "t", args)
        if b.allowed and not a.allowed:
            assert effects & {"loosened", "unknown"}, (effects, args)
            assert not effects <= {"tightened", "neutral"}
        if a.allowed and not b.allowed:
            assert effects & {"tightened", "unknown"}, (effects, args)
            assert not effects <= {"loosened", "neutral"}


def _without_limits(data: dict) -> dict:
    data = dict(data)
    data.pop("all_tools", None)
    data["tools"] = {t: {k: v for k, v in e.items() if k != "limits"} for t, e in data.get("tools", {}).items()}
    return data


_CALLS = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d/e", "zz"]), st.fixed_dictionaries(
    {}, optional={"x": st.sampled_from([0, 1, 2, 5, 100, -1, 2.5, "0", "1", "a", "b", "", True, None, [1], "ab"]),
                  "y": st.sampled_from([0, 1, 2, 5, 100, "a", "b", None])})), min_size=1, max_size=20)


@settings(max_examples=examples(300))
@given(policies(), policies(), _CALLS)
def test_effect_summary_is_sound_without_limits(a: dict, b: dict, calls: list) -> None:
    """Without limits a call's decision depends on nothing else, so: when no change is loosened or
    unknown, no call goes from deny to allow; when none is tightened or unknown, none goes the other
    way; when all are neutral, no decision changes at all."""
    _assert_sound(Policy.from_data(_without_limits(a)), Policy.from_data(_without_limits(b)), calls)


@settings(max_examples=examples(300))
@given(st.one_of(policies(), rich_policies()), st.randoms(use_true_random=False), st.data(), _CALLS)
def test_effect_summary_is_sound_for_small_edits_without_limits(a: dict, rnd: random.Random, data: st.DataObject,
                                                                 calls: list) -> None:
    """As above for a policy against small edits of itself, where rules and conditions pair up
    (changed, reordered, with a new message) rather than being added and removed whole."""
    b = edited(a, rnd, data.draw)
    _assert_sound(Policy.from_data(_without_limits(a)), Policy.from_data(_without_limits(b)), calls)


def _assert_sound(old: Policy, new: Policy, calls: list) -> None:
    from policyctl.engine.evaluator import Evaluator

    effects = {c.effect for c in structural_diff(old, new)}
    ev_old, ev_new = Evaluator(old), Evaluator(new)
    for i, (tool, args) in enumerate(calls):
        x = ev_old.evaluate(1795514400.0 + i, "g", tool, args)
        y = ev_new.evaluate(1795514400.0 + i, "g", tool, args)
        if y.allowed and not x.allowed:
            assert effects & {"loosened", "unknown"}, (effects, tool, args)
        if x.allowed and not y.allowed:
            assert effects & {"tightened", "unknown"}, (effects, tool, args)
        if effects <= {"neutral"}:
            assert x.allowed == y.allowed, (effects, tool, args)


_WINDOW_LEN = {"minute": 60, "hour": 3600, "day": 86400}


@settings(max_examples=examples(150))
@given(st.lists(st.tuples(st.sampled_from(["minute", "hour", "day"]), st.integers(1, 4)), min_size=1, max_size=4,
                unique_by=lambda x: x[0]),
       st.randoms(use_true_random=False), st.lists(st.integers(0, 4000), min_size=1, max_size=40))
def test_renaming_counters_changes_no_decision_and_is_neutral(shapes: list, rnd: random.Random,
                                                             gaps: list) -> None:
    """W2: counter names only name buckets (one window per name here, so none is shared); any
    permutation of them among the limits is neutral, and a call sequence gets the same allow/deny."""
    from policyctl.engine.evaluator import Evaluator

    names = [f"c{i}" for i in range(len(shapes))]
    renamed = names[:]
    rnd.shuffle(renamed)

    def version(counters: list[str]) -> Policy:
        limits = [{"counter": c, "window": w, "max": m, "scope": "grant"} for c, (w, m) in zip(counters, shapes)]
        return Policy.from_data({"version": "1", "default": "deny", "tools": {"t": {"limits": limits}}})

    old, new = version(names), version(renamed)
    assert {c.effect for c in structural_diff(old, new)} <= {"neutral"}
    ev_old, ev_new = Evaluator(old), Evaluator(new)
    ts = 1795514400.0
    for gap in gaps:
        ts += gap
        assert ev_old.evaluate(ts, "g", "t", {}).allowed == ev_new.evaluate(ts, "g", "t", {}).allowed
