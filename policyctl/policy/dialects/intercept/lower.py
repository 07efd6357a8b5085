"""An Intercept v1.1.0 policy → the dialect-neutral :class:`policyctl.policy.ir.Program`.

How Intercept's behaviour maps (``internal/engine``, ``internal/proxy/handler.go``):

- rules are the tool's then the ``"*"`` rules (not twice for a tool named ``"*"``); ``deny`` →
  a ``deny_if_all`` check without conditions (reason ``deny_if``); ``evaluate`` → ``all_or_deny``
  (reason ``require``); ``require_approval`` (later releases) → ``deny_if_all`` on its conditions
  with reason ``require_approval``. The logged rule is the rule's ``name``; the message is
  ``on_deny`` or ``Denied by rule "<name>"``.
- a ``state.<key>`` condition reads counter ``<key>`` (verbatim: ``state.a.b.c`` is key ``a.b.c``)
  as it was before the call.
- every rule with a ``state`` block reserves, after all checks, in rule order (tool's, then
  ``_global``): bucket ``<scope>.<counter>``, amount ``increment`` or the ``increment_from``
  argument truncated toward zero, limit from the first ``lt``/``lte`` with a number on the rule's
  own counter (``lte N`` → N, ``lt N`` → N−1, truncated toward zero), none → nothing reserved.
  Refused: ``on_deny`` or ``Rate limit exceeded for <name>``; Intercept logs no rule there, so the
  rule reported is the name of the rule whose reservation failed. An unreadable amount: ``Internal
  policy error`` (reason ``policy_error``).
- reservations are released when the upstream answers with a JSON-RPC error only (v1.1.0; a
  ``result.isError`` keeps them): ``release_on`` is ``{jsonrpc_error}`` unless told otherwise.
"""

from __future__ import annotations

from typing import Any

from policyctl.documents.gofmt import go_v_yaml
from policyctl.policy import ir
from policyctl.policy.dialects.intercept.model import WILDCARD, Config, Rule, go_quote


def _show_needed(value: object) -> str | None:
    text = go_v_yaml(value)
    from policyctl.documents.gofmt import go_v

    return text if text != go_v(value) else None


def _condition(cond: object) -> ir.Condition:
    path = cond.path  # type: ignore[attr-defined]
    if path.startswith("state."):
        source, segments = "state", (path[len("state."):],)
    else:
        source, segments = "args", tuple(path[len("args."):].split("."))
    value = cond.value  # type: ignore[attr-defined]
    return ir.Condition(source, segments, cond.op, value, cond.pointer, _show_needed(value))  # type: ignore[attr-defined]


def limit_of(rule: Rule) -> tuple[int | None, Any]:
    """A stateful rule's limit as Intercept computes it, and the condition it comes from: the first
    ``lte N`` (N) or ``lt N`` (N - 1, in int64) with a number on the rule's own counter; (None, None)
    when there is none (the rule then counts nothing)."""
    assert rule.state is not None
    own = f"state.{rule.scope}.{rule.state.counter}"
    for cond in rule.conditions:
        value = cond.value
        if cond.path != own or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if cond.op == "lte":
            return _go_int64(value), cond
        if cond.op == "lt":
            return _go_wrap64(_go_int64(value) - 1), cond
    return None, None


def _go_wrap64(n: int) -> int:
    """``n`` as Go's int64 arithmetic leaves it (two's complement wrap-around): ``lt`` on a value
    whose conversion gives the minimum (NaN, 1e300) makes the limit ``MinInt64 - 1``, which is
    ``MaxInt64``."""
    return (n + 2**63) % 2**64 - 2**63


def _go_int64(value: int | float) -> int:
    if isinstance(value, float):
        if value != value:
            return -(2**63)
        if value >= 2**63 or value < -(2**63):
            return -(2**63)  # Go on amd64: an out-of-range conversion gives the minimum
        return int(value)
    return value


def _checks(rule: Rule) -> list[ir.Check]:
    message = rule.on_deny or f"Denied by rule {go_quote(rule.name)}"
    at = rule.pointer
    if rule.action == "deny":
        return [ir.Check("deny_if_all", (), (ir.Outcome("deny_if", rule.name, message, at),), at, "deny",
                         on_deny=message)]
    if rule.action == "require_approval":
        return [ir.Check("deny_if_all", tuple(_condition(c) for c in rule.conditions),
                         (ir.Outcome("require_approval", rule.name, message, at),), at, "require_approval",
                         on_deny=message)]
    return [ir.Check("all_or_deny", tuple(_condition(c) for c in rule.conditions),
                     (ir.Outcome("require", rule.name, message, at),), at, "evaluate", on_deny=message)]


def _reservation(rule: Rule) -> ir.Reservation:
    st = rule.state
    assert st is not None
    key = f"{rule.scope}.{st.counter}"
    amount: int | tuple[str, ...] = st.increment
    if st.increment_from:
        amount = tuple(st.increment_from[len("args."):].split("."))
    refused = ir.Outcome("rate_limited", rule.name, rule.on_deny or f"Rate limit exceeded for {rule.name}",
                         st.pointer)
    bad = ir.Outcome("policy_error", rule.name, "Internal policy error", st.pointer + "/increment_from")
    return ir.Reservation(("intercept", key), st.window, limit_of(rule)[0], amount, refused, bad, st.pointer)


def _tool(rules: tuple[Rule, ...]) -> ir.ToolProgram:
    checks = [c for rule in rules for c in _checks(rule)]
    reservations = tuple(_reservation(r) for r in rules if r.state is not None and r.action != "deny")
    return ir.ToolProgram(tuple(checks), reservations)


def lower(cfg: Config, *, rollback_on: str = "jsonrpc_error") -> ir.Program:
    """``rollback_on``: ``jsonrpc_error`` (v1.1.0) or ``any`` (later releases also roll back on
    ``result.isError``)."""
    tools = {name: _tool(rules) for name, rules in cfg.tools.items()}
    wildcard = tools.get(WILDCARD, ir.EMPTY)
    release = {ir.UPSTREAM_JSONRPC_ERROR} | ({ir.UPSTREAM_TOOL_ERROR} if rollback_on == "any" else set())
    return ir.Program("intercept", cfg.hide, cfg.hide_pointers, cfg.default == "deny", tools, wildcard,
                      wildcard_name=WILDCARD, release_on=frozenset(release), quote_names=True,
                      hide_star_first=False, tool_pointers=dict(cfg.tool_pointers))
