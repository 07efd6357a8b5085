"""A PolicyLayer policy → the dialect-neutral :class:`policyctl.policy.ir.Program`.

Rule ids and messages are PolicyLayer's proxy log's (SPEC §2): ``/tools/<tool>/require/<path>-<op>``
naming the first failing condition, ``/tools/<tool>/deny_if/<path>-<op>`` (or the rule's index when
it has no conditions), ``/tools/<tool>/limits/<counter>``, ``/all_tools/limits/<counter>``.
"""

from __future__ import annotations

from policyctl.policy import ir
from policyctl.policy.dialects.policylayer.model import Limit, Policy, Rule, escape_pointer_token, pointer


def _rule_id(tool: str, kind: str, rule: Rule, index: int, failed: int | None = None) -> str:
    if rule.conditions:
        ident = rule.conditions[failed if failed is not None else 0].ident
    else:
        ident = str(index)
    return f"/tools/{escape_pointer_token(tool)}/{kind}/{ident}"


def _denial(tool: str, kind: str, rule: Rule, index: int, origin: str, failed: int | None = None) -> ir.Outcome:
    rid = _rule_id(tool, kind, rule, index, failed)
    return ir.Outcome(kind, rid, rule.message or f'Denied by rule "{rid}"', origin)


def _conditions(rule: Rule, at: str) -> tuple[ir.Condition, ...]:
    return tuple(ir.Condition("args", c.segments, c.op, c.value, f"{at}/conditions/{j}", label=c.path)
                 for j, c in enumerate(rule.conditions))


def _reservation(location: str | None, lim: Limit, at: str) -> ir.Reservation:
    where = "/all_tools" if location is None else f"/tools/{escape_pointer_token(location)}"
    bucket = ("all_tools", "", lim.counter, lim.window) if location is None else \
        ("tool", location, lim.counter, lim.window)
    refused = ir.Outcome("rate_limited", f"{where}/limits/{lim.counter}",
                         f'Rate limit of {lim.max} per {lim.window} reached (counter "{lim.counter}")', at)
    return ir.Reservation(bucket, lim.window, int(lim.max), 1, refused, None, at)


def lower(policy: Policy) -> ir.Program:
    tools: dict[str, ir.ToolProgram] = {}
    for name, entry in policy.tools.items():
        checks: list[ir.Check] = []
        for i, rule in enumerate(entry.require):
            at = pointer("tools", name, "require", i)
            # an empty require always holds: kept, so that explain and coverage show it as written
            denials = tuple(_denial(name, "require", rule, i, f"{at}/conditions/{j}", j)
                            for j in range(len(rule.conditions))) or (_denial(name, "require", rule, i, at),)
            checks.append(ir.Check("all_or_deny", _conditions(rule, at), denials, at, "require", i, rule.message))
        for i, rule in enumerate(entry.deny_if):
            at = pointer("tools", name, "deny_if", i)
            checks.append(ir.Check("deny_if_all", _conditions(rule, at), (_denial(name, "deny_if", rule, i, at),), at,
                                   "deny_if", i, rule.message))
        reservations = tuple(_reservation(name, lim, pointer("tools", name, "limits", k))
                             for k, lim in enumerate(entry.limits))
        tools[name] = ir.ToolProgram(tuple(checks), reservations)
    wildcard = ir.ToolProgram((), tuple(_reservation(None, lim, pointer("all_tools", "limits", k))
                                        for k, lim in enumerate(policy.all_tools.limits)))
    # PolicyLayer releases on every upstream failure (SPEC §2: upstream_error true)
    # (every failure a trace can state: a bare upstream_error true, and each upstream kind that comes
    # with it — not_forwarded and no_response keep upstream_error as written)
    release = frozenset({ir.UPSTREAM_JSONRPC_ERROR, ir.UPSTREAM_TOOL_ERROR, "no_response", "not_forwarded"})
    return ir.Program("policylayer", tuple(policy.hide), tuple(pointer("hide", i) for i in range(len(policy.hide))),
                      policy.default == "deny", tools, wildcard, release_on=release,
                      numbered_rules=True)
