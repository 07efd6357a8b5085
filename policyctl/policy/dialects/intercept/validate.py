"""What ``intercept validate`` (v1.1.0) reports about a policy, in its words and order.

Each error carries Intercept's exact message (its users search for it) and the JSON Pointer of
the part it is about, so lint can add line and column. The order is Intercept's: version,
default, the hide list, then each tool in byte order of its name — first the duplicate state
counters of its rules, then each rule's own checks.

Differences from Intercept, by design: ``action: require_approval`` (a later release's action) is
not reported here as an invalid action but by lint as a newer-release feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policyctl.policy.dialects.intercept.model import (
    GLOBAL_SCOPE,
    NEWER_ACTIONS,
    OPERATORS,
    WILDCARD,
    WINDOWS,
    Config,
    Rule,
    go_quote,
    parse_rate_limit,
)


@dataclass(frozen=True)
class ValidationError:
    message: str
    pointer: str


def _numeric(value: Any) -> bool:
    # Go int / int64 / float32 / float64 (yaml.v3 decodes integers beyond int64 as uint64: not numeric)
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and not (isinstance(value, int) and not -(2**63) <= value < 2**63))


def validate(cfg: Config) -> list[ValidationError]:
    """Every validation error of ``cfg``, in Intercept's order (empty: the policy is valid)."""
    out: list[ValidationError] = []
    if cfg.version != "1":
        out.append(ValidationError(f'version must be "1", got {go_quote(cfg.version)}', "/version"))
    if cfg.default not in ("allow", "deny"):
        out.append(ValidationError(f'default must be "allow" or "deny", got {go_quote(cfg.default)}',
                                   "/default"))
    seen: set[str] = set()
    for i, (entry, at) in enumerate(zip(cfg.hide, cfg.hide_pointers)):
        if not entry.strip():
            out.append(ValidationError(f"hide[{i}]: entry must not be empty", at))
            continue
        if entry in seen:
            out.append(ValidationError(f"hide: duplicate entry {go_quote(entry)}", at))
        seen.add(entry)
    for tool in sorted(cfg.tools, key=lambda t: t.encode("utf-8", "surrogatepass")):
        rules = cfg.tools[tool]
        first: dict[str, int] = {}
        for rule in rules:
            if rule.state is None:
                continue
            counter = rule.state.counter
            if counter in first:
                out.append(ValidationError(
                    f"tools.{tool}.rules[{rule.index}]: duplicate state counter {go_quote(counter)} "
                    f"(also used by rules[{first[counter]}])", rule.state.pointer))
            else:
                first[counter] = rule.index
        for rule in rules:
            out.extend(_rule(cfg, rule))
    return out


def _rule(cfg: Config, rule: Rule) -> list[ValidationError]:
    p = f"tools.{rule.tool}.rules[{rule.index}]"
    out: list[ValidationError] = []
    if rule.rate_limit:
        parsed = parse_rate_limit(rule.rate_limit)
        if isinstance(parsed, str):
            out.append(ValidationError(f"{p}: {parsed}", rule.pointer + "/rate_limit"))
        if rule.conditions or rule.state is not None:
            out.append(ValidationError(
                f"{p}: rate_limit cannot be combined with conditions or state; use separate rules or "
                "the full syntax instead", rule.pointer + "/rate_limit"))
        if rule.action == "deny":
            out.append(ValidationError(f'{p}: rate_limit cannot be used with action "deny"',
                                       rule.pointer + "/action"))
        return out
    if not rule.name:
        out.append(ValidationError(f"{p}: rule must have a name", rule.pointer))
    if rule.action not in ("evaluate", "deny") and rule.action not in NEWER_ACTIONS:
        out.append(ValidationError(f'{p}: action must be "evaluate" or "deny", got {go_quote(rule.action)}',
                                   rule.pointer + "/action"))
    if rule.action == "deny" and rule.conditions:
        out.append(ValidationError(f"{p}: deny rules must not have conditions", rule.pointer + "/conditions"))
    if rule.action == "evaluate" and not rule.conditions:
        out.append(ValidationError(f"{p}: evaluate rules must have at least one condition", rule.pointer))
    for j, cond in enumerate(rule.conditions):
        cp = f"{p}.conditions[{j}]"
        at = cond.pointer
        if not (cond.path.startswith("args.") or cond.path.startswith("state.")):
            out.append(ValidationError(f'{cp}: path must start with "args." or "state.", got '
                                       f"{go_quote(cond.path)}", at + "/path"))
        if cond.op not in OPERATORS:
            out.append(ValidationError(f"{cp}: unknown operator {go_quote(cond.op)}", at + "/op"))
        value = cond.value
        vat = at + "/value" if cond.has_value else at
        if cond.op in ("in", "not_in") and not isinstance(value, list):
            out.append(ValidationError(f"{cp}: operator {go_quote(cond.op)} requires a list value", vat))
        if cond.op in ("lt", "lte", "gt", "gte") and not _numeric(value):
            out.append(ValidationError(f"{cp}: operator {go_quote(cond.op)} requires a numeric value", vat))
        if cond.op == "exists" and not isinstance(value, bool):
            out.append(ValidationError(f'{cp}: operator "exists" requires a boolean value', vat))
        if cond.op == "regex":
            if not isinstance(value, str):
                out.append(ValidationError(f"{cp}: regex value must be a string", vat))
            else:
                from policyctl.policy.dialects.intercept.goregexp import go_compile_error

                error = go_compile_error(value)
                if error is not None:
                    out.append(ValidationError(f"{cp}: invalid regex {go_quote(value)}: {error}", vat))
    if rule.state is not None:
        st = rule.state
        if st.counter == "":
            out.append(ValidationError(f"{p}.state: counter must not be empty", st.pointer + "/counter"))
        if st.window not in WINDOWS:
            out.append(ValidationError(f'{p}.state: window must be "minute", "hour", or "day", got '
                                       f"{go_quote(st.window)}", st.pointer + "/window"))
        if st.increment_from and not st.increment_from.startswith("args."):
            out.append(ValidationError(f'{p}.state: increment_from must start with "args.", got '
                                       f"{go_quote(st.increment_from)}", st.pointer + "/increment_from"))
    for cond in rule.conditions:
        if not cond.path.startswith("state."):
            continue
        parts = cond.path.split(".", 2)
        if len(parts) < 3:
            continue
        if not has_counter(cfg, parts[1], parts[2]):
            out.append(ValidationError(f"{p}: condition references state.{parts[1]}.{parts[2]} but no "
                                       "matching state block found", cond.pointer + "/path"))
    return out


def has_counter(cfg: Config, tool: str, counter: str) -> bool:
    """Does a ``state.<tool>.<counter>`` path name a counter some rule keeps (Intercept's check)?"""
    rules = cfg.tools.get(tool)
    if rules is None and tool == GLOBAL_SCOPE:
        rules = cfg.tools.get(WILDCARD)
    return any(r.state is not None and r.state.counter == counter for r in rules or ())
