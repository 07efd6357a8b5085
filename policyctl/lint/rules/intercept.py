"""What the Intercept-dialect rules (PL5xx) share: the document decoded as Intercept decodes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the model is imported by the rules' first Intercept document only
    from policyctl.policy.dialects.intercept.model import Config, Rule

_memo: list[Any] = [None, None]


def config(ctx: Any) -> Config:
    """The Intercept view of ``ctx.document`` (built once per document)."""
    if _memo[0] is not ctx.document:
        _memo[0] = ctx.document
        from policyctl.policy.dialects.intercept.model import build_document

        _memo[1] = build_document(ctx.document)
    return _memo[1]  # type: ignore[no-any-return]


def all_rules(cfg: Config) -> list[Rule]:
    return [rule for rules in cfg.tools.values() for rule in rules]


def own_counter_path(rule: Rule) -> str | None:
    """``state.<scope>.<counter>``: the path a condition must read for the rule's state to reserve."""
    if rule.state is None:
        return None
    return f"state.{rule.scope}.{rule.state.counter}"


def limit_condition(rule: Rule) -> Any:
    """The condition Intercept takes the rule's limit from: the first ``lt``/``lte`` with a number
    on the rule's own counter (None: the rule never reserves, so its counter never counts)."""
    path = own_counter_path(rule)
    for cond in rule.conditions:
        if cond.path != path:
            continue
        if isinstance(cond.value, bool) or not isinstance(cond.value, (int, float)):
            continue
        if cond.op in ("lt", "lte"):
            return cond
    return None
