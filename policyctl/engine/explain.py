"""What ``policyctl explain`` and coverage report about one call: the steps and their values.

The steps are taken by :func:`policyctl.engine.walk.walk_call` on a policy's intermediate form
(:mod:`policyctl.policy.ir`), whatever its dialect: the hide check, the default, every rule and
condition (with the value the path resolved to), every limit with its bucket count before and after
and when its window resets. ``explain --trace FILE --line N`` replays lines 1..N-1 through the
interpreter's programs and then walks line N against exactly the state the simulator had. Tests
hold the walker, the interpreter and the compiled PolicyLayer evaluator to the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policyctl.engine.evaluator import ALLOWED, Decision

__all__ = ["ConditionStep", "RuleStep", "LimitStep", "Explanation", "explain_call", "explain_trace_line",
           "explain_json_call"]


@dataclass(frozen=True)
class ConditionStep:
    pointer: str
    path: str
    op: str
    expected: Any
    found: bool
    value: Any  # the resolved argument value (None when not found)
    result: bool


@dataclass(frozen=True)
class RuleStep:
    kind: str  # "require" | "deny_if"
    index: int
    pointer: str
    on_deny: str | None
    conditions: tuple[ConditionStep, ...]  # the ones evaluated (evaluation stops at the first that decides)
    skipped: int  # conditions not evaluated because an earlier one settled the rule
    holds: bool  # all evaluated conditions held (an empty rule holds)
    denies: bool
    name: str | None = None  # the rule's id in dialects that name rules (Intercept's ``name``)


@dataclass(frozen=True)
class LimitStep:
    pointer: str
    location: str  # "/tools/<tool>" or "/all_tools"
    counter: str
    window: str
    max: int
    before: int | None  # None: the call never reached this limit
    after: int | None
    window_start: int | None  # ns; fixed: [start, end); sliding: (start, end]
    window_end: int | None
    resets_at: int | None  # ns: fixed → end of window; sliding → when the oldest counted call leaves
    outcome: str  # "reserved" | "full" | "released" | "not reached"
    final: int | None = None  # count after a release (rollback or upstream_error)
    amount: int | None = None  # what this call adds (None: PolicyLayer's 1, or an amount not read)
    rule: str | None = None  # the rule the counter belongs to (Intercept)
    unlimited: bool = False  # a counter with no limit to reserve against (Intercept: no lt/lte on it)


@dataclass
class Explanation:
    tool: str
    grant: str
    ts_ns: int
    ts_raw: object
    args: dict
    upstream_error: bool
    windows: str
    hidden_by: str | None  # pointer of the hide entry that hid the tool
    listed: bool
    default: str
    rules: list[RuleStep] = field(default_factory=list)
    rules_not_reached: int = 0
    limits: list[LimitStep] = field(default_factory=list)
    decision: Decision = ALLOWED
    origin: str | None = None  # JSON Pointer of the deciding part of the policy
    released_after: bool = False  # upstream_error released the reservations
    line: int | None = None
    replayed: int = 0  # calls replayed before this one (``--trace`` mode)
    late: bool = False  # stamped earlier than a call already seen: evaluated at the newest time (ts_ns)
    dialect: str = "policylayer"
    upstream: str = "ok"  # how the upstream answered (ok, jsonrpc_error, tool_error, …)


def explain_call(it: Any, ts_ns: int, grant: str, tool: str, args: dict, *,
                 upstream_error: Any = False, ts_raw: object = None) -> Explanation:
    """Evaluate one call step by step, updating the interpreter ``it``'s counters exactly as
    ``it.evaluate_ns`` would (any dialect: :func:`policyctl.engine.walk.walk_call`)."""
    from policyctl.engine.walk import walk_call

    return walk_call(it, ts_ns, grant, tool, args, upstream_error=upstream_error, ts_raw=ts_raw)


def _matches(row_line: object, want: tuple[str, int]) -> bool:
    file, _, num = str(row_line).rpartition(":")
    return num == str(want[1]) and (file == want[0] or file.endswith("/" + want[0]))


def explain_trace_line(ev: Any, ti: Any, line: Any, skip_invalid: bool) -> tuple[Explanation, object]:
    """Explain one call of a trace (``line``: N of a policyctl trace, or ``(file, N)`` of an imported
    source, as simulate's ``line`` names it) after replaying the calls before it through ``ev``'s
    programs; returns the explanation and the call's id. ``ti``: a path or a ``TraceInput``."""
    from policyctl.errors import InputError
    from policyctl.files import display_name
    from policyctl.traces.reader import TraceStats, parse_ts, record_id

    if isinstance(ti, str):  # a policyctl trace file
        from policyctl.traces.replay import TraceInput

        ti = TraceInput(ti, "policyctl")
    trace = ti.path
    name = display_name(trace)
    stats = TraceStats()
    programs = ev.programs
    replayed = 0
    if not isinstance(line, int):
        for n, ts, grant, tool, args, upstream, rec, msg in ti.records(skip_invalid=skip_invalid, stats=stats):
            if not _matches(n, line):
                prog = programs.get(tool) or ev.program(tool)
                prog(ts, grant, args, upstream)
                replayed += 1
                continue
            ex = explain_call(ev, ts, grant, tool, args, upstream_error=upstream, ts_raw=rec.get("ts"))
            ex.line = n
            ex.replayed = replayed
            ex.late = False
            return ex, record_id(rec, msg)
        raise InputError(f"{name}: no imported call at {line[0]}:{line[1]} (the \"line\" values simulate "
                         "--format jsonl shows name the calls)")
    for n, ts, grant, tool, args, upstream, rec, msg in ti.records(skip_invalid=skip_invalid, stats=stats):
        if n < line:
            prog = programs.get(tool) or ev.program(tool)
            prog(ts, grant, args, upstream)
            replayed += 1
            continue
        if n > line:
            break
        ex = explain_call(ev, ts, grant, tool, args, upstream_error=upstream, ts_raw=rec.get("ts"))
        ex.line = line
        ex.replayed = replayed
        ex.late = parse_ts(rec.get("ts")) != ts  # the reader moved it up to the newest time seen
        return ex, record_id(rec, msg)
    if stats.lines < line:
        raise InputError(f"{name}: has only {stats.lines} line{'s' if stats.lines != 1 else ''}, no line {line}")
    raise InputError(f"{name}:{line}: not a tool call (a blank line, an MCP message other than tools/call, "
                     "or a skipped invalid line)")


def explain_json_call(ev: Any, call: str, at: str | None, grant: str | None,
                      upstream_error: bool) -> tuple[Explanation, object]:
    """Explain one call given as JSON text (``--call``), at ``at`` or its own ``ts``, with ``grant``
    and ``upstream_error`` overriding its own; raises UsageError with what is wrong."""
    import orjson

    from policyctl.errors import UsageError
    from policyctl.traces.reader import BadRecord, decode_record, parse_ts, record_id

    try:
        rec = orjson.loads(call)
    except orjson.JSONDecodeError:
        from policyctl.documents.jsonsyntax import describe_bytes

        problem = describe_bytes(call.encode("utf-8", "surrogatepass"))
        raise UsageError(f"--call: not valid JSON at column {problem.column}: {problem.what}") from None
    if not isinstance(rec, dict):
        raise UsageError("--call: expected a JSON object such as {\"tool\": \"t\", \"args\": {}}")
    rec = dict(rec)
    if at is not None:
        ts_raw: Any = at
        try:
            # epoch seconds are a JSON number (ASCII digits); anything else is read as RFC 3339
            ts_raw = orjson.loads(at) if at.strip()[:1] in "0123456789" and "T" not in at and "t" not in at else at
        except orjson.JSONDecodeError:
            ts_raw = at
        try:
            parse_ts(ts_raw)
        except ValueError as exc:
            raise UsageError(f"--at: {exc}") from None
        rec["ts"] = ts_raw
    elif "ts" not in rec:
        raise UsageError("--call needs a time: give --at TS or a \"ts\" in the JSON")
    if grant is not None:
        rec["grant"] = grant
    if upstream_error:
        rec["upstream_error"] = True
    try:
        ts, g, tool, args, upstream, msg = decode_record(rec)
    except BadRecord as exc:
        raise UsageError(f"--call: {exc}") from None
    if tool is None:
        raise UsageError("--call: the MCP message is not a tools/call request")
    ex = explain_call(ev, ts, g, tool, args, upstream_error=upstream, ts_raw=rec.get("ts"))
    return ex, record_id(rec, msg)
