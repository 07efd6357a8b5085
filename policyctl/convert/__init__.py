"""Converting a policy between the PolicyLayer and Intercept dialects, only where the meaning is kept.

:func:`convert` takes a loaded policy and the target dialect and returns a :class:`Conversion`: the
target document as plain data, or the constructs that have no exact form in the target (each with
its position and why). Nothing is approximated: a converted policy makes the same decision (allow or
deny, and the same reason) as the original on every call, with rule ids and messages mapped as
``Conversion.rule_map`` records (docs/convert.md has the table). The core returns values only; the
text of the output is :mod:`policyctl.convert.render`'s job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from policyctl.documents.gofmt import go_v, go_v_yaml
from policyctl.policy.dialects import DIALECTS
from policyctl.policy.dialects.intercept.lower import limit_of
from policyctl.policy.dialects.intercept.model import GLOBAL_SCOPE, WILDCARD, go_quote
from policyctl.policy.dialects.policylayer.model import escape_pointer_token, pointer

TARGETS = DIALECTS
_NAMES = {"policylayer": "PolicyLayer", "intercept": "Intercept"}
_MAX_LIMIT = 2**53  # the schema's bound on a limit's max
_STRING_OPS = ("eq", "neq", "in", "not_in", "contains")  # ops that may compare Go %v texts


@dataclass(frozen=True)
class Refusal:
    """A construct with no exact form in the target dialect."""

    pointer: str
    line: int
    column: int
    construct: str
    why: str


@dataclass(frozen=True)
class Conversion:
    """The outcome of :func:`convert`.

    ``data`` is the target document (None when anything was refused). ``rule_map`` maps each denial
    the target can report, ``(rule, message)``, to the source's ``(rule, message)`` for the same
    decision; hidden and default-deny denials keep their fixed rule and text. ``notes`` say what was
    left out because it can never change a decision (an unreachable rule, a duplicate hide entry).
    """

    source_dialect: str
    target: str
    data: dict[str, Any] | None
    refusals: tuple[Refusal, ...] = ()
    notes: tuple[str, ...] = ()
    rule_map: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.refusals


class _Run:
    def __init__(self, loaded: Any) -> None:
        self.document = loaded.document
        self.refusals: list[Refusal] = []
        self.notes: list[str] = []
        self.rule_map: dict[tuple[str, str], tuple[str, str]] = {}

    def refuse(self, at: str, construct: str, why: str, *, key: bool = False) -> None:
        line, column = self.document.position(at, key=key)
        self.refusals.append(Refusal(at, line, column, construct, why))

    def note(self, at: str, text: str) -> None:
        line, column = self.document.position(at)
        self.notes.append(f"{self.document.path}:{line}:{column}: {text}")

    def map(self, target: tuple[str, str], source: tuple[str, str], at: str) -> None:
        known = self.rule_map.get(target)
        if known is not None and known != source:
            self.refuse(at, f"rule {source[0]!r}",
                        f"the target would report it exactly as it reports {known[0]!r} (rule {target[0]!r}, "
                        "same message): the log could not tell which rule decided")
            return
        self.rule_map[target] = source


def check_target(to: str) -> None:
    """Refuse a ``--to`` that is not a dialect (a usage error, exit 2)."""
    if to not in TARGETS:
        from policyctl.errors import UsageError

        raise UsageError(f"--to: unknown dialect {to!r} (choose from {', '.join(TARGETS)})")


def convert(loaded: Any, to: str) -> Conversion:
    """Convert a loaded policy (:func:`policyctl.policy.load.load_policy`) to dialect ``to``."""
    from policyctl.errors import UsageError

    check_target(to)
    source = loaded.dialect
    if source == to:
        raise UsageError(f"{loaded.path} is already a {_NAMES[to]} policy")
    run = _Run(loaded)
    if to == "intercept":
        data = _pl_to_intercept(run, loaded.policy)
    else:
        data = _intercept_to_pl(run, loaded)
    refusals = tuple(sorted(run.refusals, key=lambda r: (r.line, r.column, r.construct)))
    return Conversion(source, to, None if refusals else data, refusals, tuple(run.notes),
                      {} if refusals else run.rule_map)


# -- PolicyLayer → Intercept ---------------------------------------------------------------------

def _pl_value(value: Any) -> Any:
    """A PolicyLayer (JSON, every number a Go float64) value for YAML that yaml.v3 decodes into a
    value with the same Go ``%v``: an integer whose ``%v`` as a float differs (``1e+06``) becomes a
    float."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if go_v_yaml(value) == go_v(value) else float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [_pl_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _pl_value(v) for k, v in value.items()}
    return value


def _pl_to_intercept(run: _Run, policy: Any) -> dict[str, Any]:
    from policyctl.policy.dialects.intercept.goregexp import go_compile_error

    hide: list[str] = []
    for i, name in enumerate(policy.hide):
        at = pointer("hide", i)
        if not name.strip():  # Intercept trims the entry (strings.TrimSpace) and refuses an empty one
            run.refuse(at, f"hide entry {name!r}", "Intercept refuses an empty or blank hide entry")
        elif name in hide:
            run.note(at, f"duplicate hide entry {name!r} left out (Intercept refuses duplicates; it hid "
                         "nothing more)")
        else:
            hide.append(name)
    global_limits = policy.all_tools.limits
    tools: dict[str, Any] = {}
    for name, entry in policy.tools.items():
        tat = pointer("tools", name)
        if name == WILDCARD:
            run.refuse(tat, f"tool {name!r}", "a PolicyLayer tool named \"*\" is one tool; in Intercept \"*\" holds "
                                        "the rules of every tool", key=True)
            continue
        if name == GLOBAL_SCOPE and global_limits:
            run.refuse(tat, f"tool {name!r}", "Intercept keeps the counters of the \"*\" rules under the scope "
                                              "_global: a tool of that name would share them", key=True)
            continue
        rules: list[dict[str, Any]] = []
        for i, rule in enumerate(entry.require):
            rat = pointer("tools", name, "require", i)
            if not rule.conditions:
                run.note(rat, "require rule without conditions left out (it always holds)")
                continue
            for j, cond in enumerate(rule.conditions):
                rid = f"/tools/{escape_pointer_token(name)}/require/{cond.ident}"
                message = rule.message or f'Denied by rule "{rid}"'
                error = go_compile_error(cond.value) if cond.op == "regex" and isinstance(cond.value, str) else None
                if error is not None:
                    run.refuse(f"{rat}/conditions/{j}/value", f"regex {cond.value!r}",
                               f"Go's regexp (Intercept) refuses it: {error}")
                out: dict[str, Any] = {"name": rid,
                                       "conditions": [{"path": cond.path, "op": cond.op,
                                                       "value": _pl_value(cond.value)}]}
                if rule.message or go_quote(rid) != f'"{rid}"':
                    out["on_deny"] = message
                rules.append(out)
                run.map((rid, message), (rid, message), rat)
        denied = False
        for i, rule in enumerate(entry.deny_if):
            rat = pointer("tools", name, "deny_if", i)
            if rule.conditions:
                run.refuse(rat + "/conditions", f"deny_if rule {i} of tool {name!r}",
                           "Intercept has no conditional deny: a deny rule takes no conditions, and an evaluate "
                           "rule denies when a condition fails (reason require, not deny_if)")
                continue
            if denied:
                run.note(rat, "deny_if rule after an unconditional one left out (never reached)")
                continue
            denied = True
            rid = f"/tools/{escape_pointer_token(name)}/deny_if/{i}"
            message = rule.message or f'Denied by rule "{rid}"'
            out = {"name": rid, "action": "deny"}
            if rule.message or go_quote(rid) != f'"{rid}"':
                out["on_deny"] = message
            rules.append(out)
            run.map((rid, message), (rid, message), rat)
        if denied and entry.limits:
            run.note(pointer("tools", name, "limits"), "limits of a tool that is always denied left out "
                                                         "(never reached)")
        elif entry.limits:
            rules.extend(_pl_limits(run, name, entry.limits, pointer("tools", name, "limits")))
        tools[name] = {"rules": rules}
    if global_limits:
        tools[WILDCARD] = {"rules": _pl_limits(run, None, global_limits, pointer("all_tools", "limits"))}
    data: dict[str, Any] = {"version": "1", "default": policy.default}
    if hide:
        data["hide"] = hide
    data["tools"] = tools
    return data


def _pl_limits(run: _Run, tool: str | None, limits: Any, at: str) -> list[dict[str, Any]]:
    if tool is not None and "." in tool:
        run.refuse(at, f"limits of tool {tool!r}",
                   "Intercept reads a counter as state.<tool>.<counter> up to the first dot: a tool whose "
                   "name has a dot cannot keep a counter")
        return []
    where = "/all_tools" if tool is None else f"/tools/{escape_pointer_token(tool)}"
    scope = GLOBAL_SCOPE if tool is None else tool
    seen: set[tuple[str, str]] = set()
    for k, lim in enumerate(limits):
        if (lim.counter, lim.window) in seen:
            run.refuse(f"{at}/{k}", f"limit {lim.counter!r} per {lim.window}",
                       "two limits in one bucket (same counter and window): each call counts twice, and "
                       "Intercept refuses two rules on one counter")
        seen.add((lim.counter, lim.window))
    windows = [lim.window for lim in limits]
    shorthand = len(set(windows)) == len(windows)
    used: set[str] = set()
    rules: list[dict[str, Any]] = []
    for k, lim in enumerate(limits):
        rid = f"{where}/limits/{lim.counter}"
        message = f'Rate limit of {lim.max} per {lim.window} reached (counter "{lim.counter}")'
        run.map((rid, message), (rid, message), f"{at}/{k}")
        if shorthand:
            rules.append({"name": rid, "rate_limit": f"{lim.max}/{lim.window}", "on_deny": message})
            continue
        counter = lim.counter
        n = 1
        while counter in used:
            n += 1
            counter = f"{lim.counter}_{lim.window}" if n == 2 else f"{lim.counter}_{lim.window}_{n}"
        used.add(counter)
        rules.append({"name": rid,
                      "conditions": [{"path": f"state.{scope}.{counter}", "op": "lte", "value": lim.max}],
                      "on_deny": message,
                      "state": {"counter": counter, "window": lim.window}})
    return rules


# -- Intercept → PolicyLayer ---------------------------------------------------------------------

def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    return False


def _has_time(value: Any) -> bool:
    from policyctl.policy.dialects.intercept.model import GoTime

    if isinstance(value, GoTime):
        return True
    if isinstance(value, list):
        return any(_has_time(v) for v in value)
    if isinstance(value, dict):
        return any(_has_time(v) for v in value.values())
    return False


def _ic_condition(run: _Run, cond: Any, what: str) -> dict[str, Any] | None:
    segments = cond.path[len("args."):].split(".") if cond.path.startswith("args.") else []
    if not segments or not all(segments):
        run.refuse(cond.pointer + "/path", f"path {cond.path!r} in {what}",
                   "PolicyLayer paths are args.<field>[.<field>...] with no empty field")
        return None
    value = cond.value
    if _non_finite(value):
        run.refuse(cond.pointer + "/value", f"value {go_v_yaml(value)!r} in {what}",
                   "a YAML .nan or .inf, which Intercept compares as a Go float64: JSON has no NaN or Infinity")
        return None
    if _has_time(value):
        run.refuse(cond.pointer + "/value", f"value {go_v_yaml(value)!r} in {what}",
                   "a YAML timestamp, which Intercept compares as a Go time.Time: JSON has no such value")
        return None
    if cond.op in _STRING_OPS and go_v_yaml(value) != go_v(value):
        run.refuse(cond.pointer + "/value", f"value {go_v_yaml(value)!r} in {what}",
                   f"Intercept compares it as the text {go_v_yaml(value)!r} (a YAML integer or timestamp), "
                   f"PolicyLayer as {go_v(value)!r} (a JSON number); write it as a string or a float to keep "
                   "one meaning")
        return None
    return {"path": cond.path, "op": cond.op, "value": value}


def _pl_counter(tool: str | None, counter: str, used: set[str]) -> str:
    """A PolicyLayer counter name for Intercept's ``counter`` of ``tool``: prefixed with the tool's
    name, since in PolicyLayer one counter name on several tools reads as one budget (PL108)."""
    base = counter if tool is None else tool + (counter if counter.startswith("_") else "_" + counter)
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


def _intercept_to_pl(run: _Run, loaded: Any) -> dict[str, Any]:
    from policyctl.policy.dialects.intercept.model import build_document

    cfg = build_document(loaded.document)
    if cfg.description:
        run.note("/description", "description left out (PolicyLayer's document has no such field)")
    keys: dict[str, str] = {}  # Intercept counter key -> the rule that reserves in it
    tools: dict[str, Any] = {}
    all_limits: list[dict[str, Any]] = []
    hidden = set(cfg.hide)
    for name, rules in cfg.tools.items():
        wildcard = name == WILDCARD
        if not wildcard and (name in hidden or WILDCARD in hidden):
            run.note(cfg.tool_pointers[name], f"the hidden tool {name!r} left out of tools (hidden before "
                                              "anything else is checked)")
            continue
        if name == "":
            run.refuse(cfg.tool_pointers[name], 'tool ""', "PolicyLayer refuses an empty tool name", key=True)
            continue
        counters: set[str] = set()
        require: list[dict[str, Any]] = []
        deny_if: list[dict[str, Any]] = []
        limits: list[dict[str, Any]] = []
        tool_ptr = "/all_tools" if wildcard else f"/tools/{escape_pointer_token(name)}"
        for rule in rules:
            what = f"rule {rule.name!r} of tool {name!r}"
            if deny_if:
                run.note(rule.pointer, f"{what} left out: it follows an unconditional deny (never reached)")
                continue
            message = rule.on_deny or f"Denied by rule {go_quote(rule.name)}"
            if rule.action == "require_approval":
                run.refuse(rule.pointer + "/action", what, "require_approval (a later Intercept release) has no "
                                                           "PolicyLayer form")
                continue
            if rule.action == "deny":
                if wildcard:
                    run.refuse(rule.pointer, what, 'PolicyLayer\'s all_tools holds only limits: a "*" deny rule '
                                                   "has no form there")
                    continue
                rid = f"{tool_ptr}/deny_if/0"
                deny_if.append({"conditions": [], "on_deny": message})
                run.map((rid, message), (rule.name, message), rule.pointer)
                continue
            limit, limit_cond = (None, None) if rule.state is None else limit_of(rule)
            args = []
            ok = True
            for cond in rule.conditions:
                if cond is limit_cond:
                    continue
                if cond.path.startswith("state."):
                    own = rule.state is not None and cond.path == f"state.{rule.scope}.{rule.state.counter}"
                    run.refuse(cond.pointer, f"condition on {cond.path} in {what}",
                               ("a condition on the rule's own counter other than its limit"
                                if own else "a condition that reads a counter (cross-tool or another rule's)")
                               + ": PolicyLayer's conditions read arguments only")
                    ok = False
                    continue
                if wildcard:
                    run.refuse(cond.pointer, f"condition on {cond.path} in {what}",
                               'a "*" rule with conditions on arguments: PolicyLayer\'s all_tools holds only '
                               "limits")
                    ok = False
                    continue
                converted = _ic_condition(run, cond, what)
                if converted is None:
                    ok = False
                else:
                    args.append(converted)
            st = rule.state
            if st is not None:
                if st.increment_from:
                    run.refuse(st.pointer + "/increment_from", f"increment_from in {what}",
                               "a counter that adds an argument's value (a spend budget): PolicyLayer counts "
                               "calls, one each")
                    ok = False
                elif limit is not None and st.increment != 1:
                    run.refuse(st.pointer + "/increment", f"increment {st.increment} in {what}",
                               "PolicyLayer's limits count one per call")
                    ok = False
                elif limit is not None and limit < 1:
                    at = limit_cond.pointer if limit_cond is not None else rule.pointer
                    run.refuse(at, f"limit {limit} in {what}",
                               "it refuses every call; PolicyLayer's max is at least 1")
                    ok = False
                elif limit is not None and limit > _MAX_LIMIT:
                    at = limit_cond.pointer if limit_cond is not None else rule.pointer
                    run.refuse(at, f"limit {limit} in {what}",
                               f"PolicyLayer's max is at most {_MAX_LIMIT} (2^53, the largest integer a JSON "
                               "number keeps exactly)")
                    ok = False
                elif limit is None:
                    run.note(st.pointer, f"state of {what} left out: it has no lt/lte limit on its own counter, "
                                         "so Intercept never counts it")
            if not ok:
                continue
            if args:
                require.append({"conditions": args, "on_deny": message})
                for arg in args:
                    rid = f"{tool_ptr}/require/{arg['path']}-{arg['op']}"
                    run.map((rid, message), (rule.name, message), rule.pointer)
            if st is not None and limit is not None:
                key = f"{rule.scope}.{st.counter}"
                if key in keys:
                    run.refuse(st.pointer, f"counter {key!r} of {what}",
                               f"Intercept counts it in one bucket with {keys[key]}; PolicyLayer keeps a bucket "
                               "per tool")
                    continue
                keys[key] = what
                counter = _pl_counter(None if wildcard else name, st.counter, counters)
                rid = f"{tool_ptr}/limits/{counter}"
                lim_msg = f'Rate limit of {limit} per {st.window} reached (counter "{counter}")'
                limits.append({"counter": counter, "window": st.window, "max": limit, "scope": "grant"})
                run.map((rid, lim_msg), (rule.name, rule.on_deny or f"Rate limit exceeded for {rule.name}"),
                        st.pointer)
        if wildcard:
            all_limits = limits
            if cfg.default == "deny" and WILDCARD not in hidden:
                tools[name] = {}  # the "*" tool is listed in Intercept: a call to it is not default-denied
            continue
        entry: dict[str, Any] = {}
        if require:
            entry["require"] = require
        if deny_if:
            entry["deny_if"] = deny_if
        if limits:
            entry["limits"] = limits
        tools[name] = entry
    data: dict[str, Any] = {"version": "1", "default": cfg.default}
    if cfg.hide:
        data["hide"] = list(cfg.hide)
    if all_limits:
        data["all_tools"] = {"limits": all_limits}
    data["tools"] = tools
    return data


def too_large(text: str) -> str | None:
    """Why the converted ``text`` is beyond what policyctl reads back as a policy (the loader's size
    and value-count limits; the target's form can be larger than the source's), or None."""
    from policyctl.documents.loader import MAX_DOCUMENT_BYTES

    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        return (f"the converted policy would be {size} bytes, and policies are limited to "
                f"{MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    return None


def verify(text: str, name: str, to: str) -> str | None:
    """Load the converted text back as a ``to`` policy: None when it loads; the reason when it is
    beyond the loader's limits (a policy too large to convert); any other failure is a bug in the
    converter."""
    from policyctl.documents.loader import MAX_NODES
    from policyctl.errors import InvalidPolicyError
    from policyctl.policy.load import policy_from_bytes

    reason = too_large(text)
    if reason is not None:
        return reason
    try:
        policy_from_bytes(text.encode("utf-8"), f"{name} (converted)", dialect=to)
    except InvalidPolicyError as exc:
        if any(f"more than {MAX_NODES} values" in d for d in exc.details):
            return f"the converted policy would hold more than {MAX_NODES} values, the most a policy may hold"
        # a converter bug, reported as one
        raise RuntimeError(f"the converted policy does not load: {exc.message}; {list(exc.details)}") from None
    return None
