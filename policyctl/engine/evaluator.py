"""One call's decision under a PolicyLayer policy: the compiled evaluator of SPEC §2.

It reads only the policy's intermediate form (:mod:`policyctl.policy.ir`, the lowered PolicyLayer
program; given the model it lowers it first) and compiles each tool's checks and reservations into a
small Python function with PolicyLayer's per-grant counter layout — the fastest way to run that
dialect. :class:`policyctl.engine.interpret.Interpreter` runs the same programs (any dialect) and a
property test holds the two to the same decision on every call.

Public API (other modules — ``simulator``, ``differ``, ``explainer`` — build on exactly this)::

    @dataclass(frozen=True, slots=True)
    class Decision:
        allowed: bool
        reason: str        # "allowed" | "hidden" | "default_deny" | "require" | "deny_if" | "rate_limited"
        rule: str | None   # "(hidden)", "(default deny)", "/tools/<tool>/deny_if/args.amount-gt",
                           # "/tools/<tool>/limits/<counter>", "/all_tools/limits/<counter>"; None if allowed
        message: str | None
        decision -> "allow" | "deny"           (property)

    class Evaluator:
        Evaluator(program_or_policy, *, windows: str = "fixed")   # or "sliding"; a PolicyLayer program
        evaluate(ts: float, grant: str, tool: str, args: dict, *, upstream_error: bool = False) -> Decision
        evaluate_ns(ts_ns: int, grant, tool, args, *, upstream_error=False) -> Decision  # exact times
        program(tool) -> Callable[[int, str, dict, bool], int]    # hot path: (ts_ns, grant, args, upstream) -> code
        programs: dict[str, program]                              # the compiled ones so far (for .get in loops)
        stages(tool) -> (rules(args) -> code | -1, limits(ts_ns, grant, upstream) -> code | None)
        watch(halves, allowed, refused, fresh, log, length) -> Watched     # simulate --report's hooks (fixed windows)
        tick(ts_ns) -> int                                        # the evaluation time (clock never goes back)
        limits(tool) -> [(tool | None, LimitView, counter family)]  # what a call to tool passes, in order
        ir: policyctl.policy.ir.Program                           # what it was compiled from
        decisions: list[Decision]; tools: list[str]               # code -> Decision, code -> tool name
        origins: list[str | None]                                 # code -> JSON Pointer of the deciding part
        store: CounterStore                                       # the counters (read by explain/coverage)

An Evaluator holds counter state: feed it calls in trace order. ``ts`` is seconds since the Unix
epoch (UTC); ``evaluate`` converts it to integer nanoseconds through its shortest decimal form, so
``evaluate(call.ts, ...)`` and ``evaluate_ns(call.ts_ns, ...)`` agree for any ``TraceCall`` whose
timestamp has at most microsecond precision (use ``evaluate_ns`` to be exact). The evaluation clock
never runs backwards: ``evaluate``/``evaluate_ns`` evaluate a call stamped earlier than the newest
call so far at that newest time (``read_trace`` already hands out such times in ``ts_ns``). The
compiled ``program(tool)`` functions skip that step: give them non-decreasing times.

Steps, in order: hidden → default deny → each ``require`` rule (deny when one of its conditions does
not hold; the rule id names the first failing condition) → each ``deny_if`` rule (deny when all its
conditions hold; an empty rule always holds; the id names its first condition, or its index when it
has none) → the tool's limits then ``all_tools.limits`` (bucket per grant, location, counter and
window; a full bucket denies and releases this call's earlier reservations) → allow. Denied calls
never consume quota; ``upstream_error`` releases an allowed call's reservations afterwards.

Each tool's steps are compiled once into a small Python function (conditions become inlined
expressions, fixed-window counting is a few list operations) because the simulator runs hundreds
of thousands of calls a second; :mod:`policyctl.engine.walk` walks the same steps one by one (explain,
coverage), and the tests hold them in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from policyctl.engine.counters import LENGTHS, NS, WINDOW_NS, CounterStore, FixedFamily
from policyctl.policy import ir
from policyctl.policy.operators import NOT_FOUND, inline_expr

__all__ = ["Decision", "Evaluator", "Watched", "ALLOWED", "REASONS", "EXPECT_VALUES", "LimitView",
           "limit_decision", "counter_key", "seconds_to_ns"]

REASONS: tuple[str, ...] = ("allowed", "hidden", "default_deny", "require", "deny_if", "rate_limited")
# a trace may expect any reason of any dialect (Intercept adds require_approval and policy_error)
EXPECT_VALUES: tuple[str, ...] = ("allow", "deny") + REASONS[1:] + ("require_approval", "policy_error")

Program = Callable[[int, str, dict, Any], int]  # upstream: a bool (failed) or the kind of failure


@dataclass(frozen=True, slots=True)
class Decision:
    """What the gateway does with one call, with PolicyLayer's log vocabulary."""

    allowed: bool
    reason: str
    rule: str | None
    message: str | None

    @property
    def decision(self) -> str:
        return "allow" if self.allowed else "deny"

    def matches(self, expect: str) -> bool:
        """``expect: allow|deny`` compares the decision, any other value the reason."""
        if expect == "allow" or expect == "deny":
            return (expect == "allow") == self.allowed
        return expect == self.reason


ALLOWED = Decision(True, "allowed", None, None)


def outcome_decision(outcome: ir.Outcome) -> Decision:
    """The decision a denial of the intermediate form reports."""
    return Decision(False, outcome.reason, outcome.rule, outcome.message)


@dataclass(frozen=True, slots=True)
class LimitView:
    """A PolicyLayer limit as a reservation of the intermediate form states it (``limits(tool)``)."""

    counter: str
    window: str
    max: int
    pointer: str
    refused: ir.Outcome


def limit_decision(tool: str | None, limit: LimitView) -> Decision:
    """The decision of a full bucket (the reservation's own denial)."""
    return outcome_decision(limit.refused)


def counter_key(tool: str | None, limit: Any) -> tuple[str, str, str, str]:
    """Bucket family of a limit: the ``all_tools`` location never merges with a tool named ``all_tools``
    (the bucket of :func:`policyctl.policy.dialects.policylayer.lower.lower`'s reservations)."""
    if tool is None:
        return ("all_tools", "", limit.counter, limit.window)
    return ("tool", tool, limit.counter, limit.window)


def seconds_to_ns(ts: float | int) -> int:
    """Seconds since the epoch → integer nanoseconds, reading a float as its shortest decimal form."""
    if type(ts) is int:
        return ts * NS
    r = repr(float(ts))
    if "e" not in r and "n" not in r:
        neg = r.startswith("-")
        whole, _, frac = r.lstrip("-").partition(".")
        if len(frac) <= 9:
            ns = int(whole) * NS + int((frac + "000000000")[:9])
            return -ns if neg else ns
    from decimal import Decimal  # rare path (exponent notation or > 9 fraction digits): import lazily

    return int(Decimal(r).scaleb(9).to_integral_value())


class _Codes:
    """Interns (tool, Decision) pairs as small integers for cheap tallying.

    ``origins[code]`` says which part of the policy decided, as a JSON Pointer into the document:
    ``/hide``, ``/default``, ``/tools/<t>/require/<i>/conditions/<j>``, ``/tools/<t>/deny_if/<i>``,
    ``/tools/<t>/limits/<k>``, ``/all_tools/limits/<k>``, or ``None`` for an allowed call.
    """

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.tools: list[str] = []
        self.origins: list[str | None] = []

    def add(self, tool: str, decision: Decision, origin: str | None = None) -> int:
        self.decisions.append(decision)
        self.tools.append(tool)
        self.origins.append(origin)
        return len(self.decisions) - 1


class Watched:
    """Where ``Evaluator.watch`` put its slots in a grant's slot list (keyed by count slot). A plain
    class: a dataclass would cost every run its creation at import, for ``--report`` only."""

    __slots__ = ("hot", "threshold", "times", "half")

    def __init__(self, hot: int, threshold: dict[int, int], times: dict[int, int], half: dict[int, int]) -> None:
        self.hot = hot  # the grant's flag: some bucket of it is followed call by call
        self.threshold = threshold  # count slot -> its threshold's slot
        self.times = times  # count slot -> its times slot (in the span its window's turn zeroes)
        self.half = half  # count slot -> the threshold of a grant without the flag


class Evaluator:
    """Evaluates calls in trace order against one policy, keeping its own counters."""

    def __init__(self, policy: Any, *, windows: str = "fixed") -> None:
        if windows not in ("fixed", "sliding"):
            raise ValueError(f"windows must be 'fixed' or 'sliding', not {windows!r}")
        if not isinstance(policy, ir.Program):  # a PolicyLayer model: its intermediate form
            from policyctl.policy.dialects.policylayer.lower import lower

            policy = lower(policy)
        if policy.dialect != "policylayer":
            raise ValueError(f"the compiled evaluator runs PolicyLayer programs, not {policy.dialect!r} ones")
        self.ir: ir.Program = policy
        self.windows = windows
        self.store = CounterStore(windows)
        self._codes = _Codes()
        self.decisions = self._codes.decisions
        self.tools = self._codes.tools
        self.origins = self._codes.origins
        self._programs: dict[str, Program] = {}
        # The same program split in two stages (for the simulator's parallel path): the stateless
        # rules stage (hide, default, require, deny_if) returns a code or -1 ("go on to the limits"),
        # the limits stage takes it from there. Both share the full program's codes.
        self._stages: dict[str, tuple[Callable[[dict], int], Callable[[int, str, bool], int] | None]] = {}
        self.clock: int | None = None  # newest time evaluated by evaluate / evaluate_ns
        #: set by ``watch``: (count slot -> threshold slot, allowed hook, refused hook, new grant state,
        #: the log, the window length whose counters it covers)
        self._watch: tuple[Watched, Callable[[int, str, int], int], Callable[[int, str, int], int],
                           Callable[[str, int], list[int]], list[Any], int] | None = None
        # Register every counter family now: fixed-window state is laid out per grant up front.
        for name in policy.tools:
            self.limits(name)
        self.limits(_UNLISTED)
        self.store.fixed.layout()  # the per-grant slot layout is fixed from here on

    # -- public -------------------------------------------------------------------------------

    def evaluate(self, ts: float, grant: str, tool: str, args: dict, *, upstream_error: bool = False) -> Decision:
        return self.evaluate_ns(seconds_to_ns(ts), grant, tool, args, upstream_error=upstream_error)

    def evaluate_ns(self, ts_ns: int, grant: str, tool: str, args: dict, *,
                    upstream_error: bool = False) -> Decision:
        ts_ns = self.tick(ts_ns)
        prog = self._programs.get(tool)
        if prog is None:
            prog = self.program(tool)
        return self.decisions[prog(ts_ns, grant, args, bool(upstream_error))]

    def tick(self, ts_ns: int) -> int:
        """The evaluation time of a call stamped ``ts_ns``: the clock never runs backwards, so a call
        stamped earlier than one already evaluated is evaluated at the newest time seen."""
        if self.clock is not None and ts_ns < self.clock:
            return self.clock
        self.clock = ts_ns
        return ts_ns

    def program(self, tool: str) -> Program:
        """The compiled decision function of ``tool`` (built on first use, then cached)."""
        prog = self._programs.get(tool)
        if prog is None:
            prog, rules, limits = self._compile(tool)
            self._programs[tool] = prog
            self._stages[tool] = (rules, limits)
        return prog

    def stages(self, tool: str) -> tuple[Callable[[dict], int], Callable[[int, str, bool], int] | None]:
        """``(rules(args) -> code or -1, limits(ts_ns, grant, upstream) -> code)`` of ``tool``:
        ``program(tool)`` cut after its stateless part. ``limits`` is None when rules always decide."""
        if tool not in self._stages:
            self.program(tool)
        return self._stages[tool]

    def watch(self, halves: dict[int, int], allowed: Callable[[int, str, int], int],
              refused: Callable[[int, str, int], int], fresh: Callable[[str, list[int]], None],
              log: list[Any], log_length: int) -> Watched:
        """Compile the programs with hooks for ``simulate --report`` (fixed windows only; before any
        program is compiled): the programs, which hold the counts, screen the calls for the report.

        ``halves``: per counter family (``FixedFamily.index``) the count from which the watcher
        wants to hear of a grant's calls. Each grant's slot list gets a flag (``Watched.hot``: the
        watcher follows some bucket of the grant call by call), per count slot a threshold
        (``Watched.threshold``: the half to begin with, 0 once the bucket is followed) and a times
        slot (``Watched.times``: the list of the followed bucket's reservation times in its current
        window, or 0; the window's turn clears it with the counts). A program calls ``refused(ts,
        grant, code)`` for a call a limit refuses. For an allowed call whose upstream did not fail
        it calls ``allowed(ts, grant, code)`` when one of its counts has reached its threshold with
        no list in its times slot, else appends ``ts`` to the lists in its times slots and, when
        one of its counters of window length ``log_length`` (ns) has no list in its times slot,
        extends the flat list ``log`` with ``ts, grant, code``. Each hook returns the code.
        ``fresh(grant, slots)`` is called when a grant's slot list is created (again after a sweep
        forgot the grant). A run that does not call ``watch`` compiles none of this.
        """
        if self.windows != "fixed":
            raise ValueError("only fixed windows can be watched")
        if self._programs or self._watch is not None:
            raise RuntimeError("watch() must come before any program is compiled")
        store = self.store.fixed
        times = store.pair_slots()  # the count slots move: ``halves`` is keyed by family index
        hot = len(store.template)
        store.template.append(0)
        threshold: dict[int, int] = {}
        for index in sorted(halves):
            threshold[store.slots[index]] = len(store.template)
            store.template.append(halves[index])

        def new_state(grant: str, ts: int) -> list[int]:
            gs = store.state(grant, ts)
            fresh(grant, gs)
            return gs

        watched = Watched(hot, threshold, times, {store.slots[index]: half for index, half in halves.items()})
        self._watch = (watched, allowed, refused, new_state, log, log_length)
        return watched

    @property
    def programs(self) -> dict[str, Program]:
        """tool → program, for callers that look programs up themselves in a hot loop."""
        return self._programs

    def limits(self, tool: str) -> list[tuple[str | None, LimitView, Any]]:
        """The limits a call to ``tool`` passes through, in order: (tool or None for all_tools, limit, counter)."""
        out: list[tuple[str | None, LimitView, Any]] = []
        for r in self.ir.reservations(tool):
            loc = None if r.bucket[0] == "all_tools" else r.bucket[1]
            assert r.limit is not None and r.amount == 1  # PolicyLayer's reservations
            view = LimitView(r.bucket[2], r.window, r.limit, r.pointer, r.refused)
            out.append((loc, view, self.store.get(r.bucket, WINDOW_NS[r.window])))  # type: ignore[arg-type]
        return out

    # -- compilation --------------------------------------------------------------------------

    def _compile(self, tool: str) -> tuple[Program, Callable[[dict], int], Callable[[int, str, bool], int] | None]:
        codes = self._codes
        stop = self.ir.hidden(tool) or self.ir.default_denied(tool)
        if stop is not None:
            return _constant(codes.add(tool, outcome_decision(stop), stop.origin))
        return _ProgramBuilder(self, tool).build()


#: a tool name no policy lists (its program is the wildcard's: all_tools limits only)
_UNLISTED = ""


def _constant(code: int) -> tuple[Program, Callable[[dict], int], None]:
    def prog(ts: int, grant: str, args: dict, upstream: bool) -> int:
        return code

    def rules(args: dict) -> int:
        return code

    return prog, rules, None


class _ProgramBuilder:
    """Writes one tool's checks as straight-line Python and compiles it.

    Nothing from the policy is spliced into the source: keys, values, closures and codes are bound
    as names in the function's namespace (``K3``, ``T3``, ``C3``), so hostile tool names, paths or
    patterns cannot change the program.
    """

    def __init__(self, ev: Evaluator, tool: str) -> None:
        self.ev = ev
        self.tool = tool
        self.ns: dict[str, Any] = {"NF": NOT_FOUND}
        self.lines: list[str] = ["def prog(ts, grant, args, upstream):"]
        self.n = 0

    def bind(self, prefix: str, value: Any) -> str:
        self.n += 1
        name = f"{prefix}{self.n}"
        self.ns[name] = value
        return name

    def emit(self, depth: int, text: str) -> None:
        for part in text.split("\n"):
            self.lines.append("    " * depth + part)

    def emit_value(self, depth: int, segments: tuple[str, ...]) -> None:
        """``v`` = the argument at ``segments`` (or NF), walking nested objects."""
        if not segments:
            self.emit(depth, "v = args")
            return
        self.emit(depth, f"v = args.get({self.bind('K', segments[0])}, NF)")
        for seg in segments[1:]:
            self.emit(depth, f"v = v.get({self.bind('K', seg)}, NF) if type(v) is dict else NF")

    def build(self) -> tuple[Program, Callable[[dict], int], Callable[[int, str, bool], int] | None]:
        tool, codes = self.tool, self.ev._codes
        rules_end: int | None = None
        for check in self.ev.ir.checks(tool):
            if check.mode == "all_or_deny":  # require: deny naming the first condition that fails
                for j, cond in enumerate(check.conditions):
                    denial = check.denial(j)
                    code = codes.add(tool, outcome_decision(denial), denial.origin)
                    self.emit_value(1, cond.path)
                    self.emit(1, f"if not {inline_expr(cond.op, cond.value, self.bind)}: return {code}")
                continue
            denial = check.denials[0]  # deny_if: deny when every condition holds
            code = codes.add(tool, outcome_decision(denial), denial.origin)
            if not check.conditions:
                self.emit(1, f"return {code}")
                break  # an empty deny_if always denies: nothing after it can run
            if len(check.conditions) == 1:
                cond = check.conditions[0]
                self.emit_value(1, cond.path)
                self.emit(1, f"if {inline_expr(cond.op, cond.value, self.bind)}: return {code}")
                continue
            # Every condition must hold. A one-pass block that the first failing condition leaves
            # keeps the source two levels deep however many conditions there are (one nested `if`
            # per condition hit Python's limit of 100 indentation levels at 99 conditions).
            self.emit(1, "while True:")
            for cond in check.conditions:
                self.emit_value(2, cond.path)
                self.emit(2, f"if not {inline_expr(cond.op, cond.value, self.bind)}: break")
            self.emit(2, f"return {code}")
        else:
            rules_end = len(self.lines)
            self.build_limits(codes)
        body = self.lines[1:]
        sources = ["\n".join(self.lines)]
        if rules_end is None:  # an empty deny_if: the rules stage always decides
            sources.append("\n".join(["def rules(args):"] + body))
        else:
            sources.append("\n".join(["def rules(args):"] + self.lines[1:rules_end] + ["    return -1"]))
            sources.append("\n".join(["def limits(ts, grant, upstream):"] + self.lines[rules_end:]))
        src = "\n".join(sources) + "\n"
        exec(compile(src, f"<policy program {tool!r}>", "exec"), self.ns)  # noqa: S102 - see class doc
        prog: Program = self.ns["prog"]
        prog.__doc__ = sources[0] + "\n"  # kept for debugging and the tests
        return prog, self.ns["rules"], self.ns.get("limits")

    def build_limits(self, codes: _Codes) -> None:
        tool = self.tool
        limits = self.ev.limits(tool)
        allowed = codes.add(tool, ALLOWED)
        if not limits:
            self.emit(1, f"return {allowed}")
            return
        taken: list[str] = []  # how to release each earlier reservation
        watch = self.ev._watch
        if self.ev.windows == "fixed":
            store = self.ev.store.fixed
            # a subscript in a try (free in CPython 3.11+ until it raises) costs less than .get()
            self.emit(1, "try:")
            self.emit(2, f"gs = {self.bind('G', store.grants)}[grant]")
            self.emit(1, "except KeyError:")
            if watch is None:
                self.emit(2, f"gs = {self.bind('S', store)}.state(grant, ts)")
            else:
                self.emit(2, f"gs = {self.bind('S', watch[3])}(grant, ts)")
            # One window index per window length the call needs; longer windows derive from the
            # shortest (floor(floor(t/a)/b) == floor(t/(a*b))), so one costly division per call.
            # When the grant's marker for a length is behind, that length's counts restart at zero.
            first = None
            for length in sorted({fam.length for _, _, fam in limits}):
                marker = LENGTHS.index(length)
                if first is not None:
                    self.emit(1, f"w{marker} = w{LENGTHS.index(first)} // {int(length // first)}")
                else:
                    self.emit(1, f"w{marker} = ts // {int(length)}")
                    first = length
                start, end = store.spans[marker]
                self.emit(1, f"if gs[{marker}] != w{marker}:")
                self.emit(2, f"gs[{marker}] = w{marker}")
                self.emit(2, f"gs[{start}:{end}] = {self.bind('Z', [0] * (end - start))}")
            for loc, lim, fam in limits:
                deny = codes.add(tool, limit_decision(loc, lim), lim.pointer)
                assert isinstance(fam, FixedFamily)
                self.emit(1, f"if gs[{fam.slot}] >= {int(lim.max)}:")
                for rel in reversed(taken):
                    self.emit(2, rel)
                if watch is None:
                    self.emit(2, f"return {deny}")
                else:
                    self.emit(2, f"return {self.bind('R', watch[2])}(ts, grant, {deny})")
                self.emit(1, f"gs[{fam.slot}] += 1")
                taken.append(f"gs[{fam.slot}] -= 1")
        else:
            for loc, lim, fam in limits:
                deny = codes.add(tool, limit_decision(loc, lim), lim.pointer)
                c = self.bind("Q", fam)
                self.emit(1, f"if not {c}.try_reserve(grant, ts, {int(lim.max)}):")
                for rel in reversed(taken):
                    self.emit(2, rel)
                self.emit(2, f"return {deny}")
                taken.append(f"{c}.release(grant, ts)")
        self.emit(1, "if upstream:")
        for rel in reversed(taken):
            self.emit(2, rel)
        if watch is not None and self.ev.windows == "fixed":
            # --report (Evaluator.watch): a grant with a followed bucket: its times slots take the
            # call (when every counter of the call has a list there, nothing else is to do), unless a
            # count at its threshold has no list there (the hook starts or turns it); the log takes
            # the call when a counter of the log's length has none. Any other grant: its counts
            # against half their max, else the log.
            w, hook, log = watch[0], self.bind("W", watch[1]), self.bind("L", watch[4])
            # three appends: CPython runs ``list.append`` inline, and a tuple per call (one append of
            # ``(ts, grant, code)``) costs more time than it saves in byte codes (allocation, GC)
            logged = f"{log}.append(ts); {log}.append(grant); {log}.append({allowed})"
            self.emit(2, f"return {allowed}")
            slots = list(dict.fromkeys(fam.slot for _, _, fam in limits))
            short = [k for k, slot in enumerate(slots)
                     if any(fam.slot == slot and fam.length == watch[5] for _, _, fam in limits)]
            self.emit(1, f"if gs[{w.hot}]:")
            for k, slot in enumerate(slots):
                self.emit(2, f"t{k} = gs[{w.times[slot]}]")
            self.emit(2, "if " + " and ".join(f"t{k}" for k in range(len(slots))) + ":")
            for _, _, fam in limits:  # a counter two limits share takes the call twice
                self.emit(3, f"t{slots.index(fam.slot)}.append(ts)")
            self.emit(3, f"return {allowed}")
            reached = " or ".join(f"not t{k} and gs[{slot}] >= gs[{w.threshold[slot]}]" for k, slot in enumerate(slots))
            self.emit(2, f"if {reached}: return {hook}(ts, grant, {allowed})")
            if short:  # some list is missing here: one of the log's length may be
                if len(short) == len(slots):
                    self.emit(2, logged)
                else:
                    self.emit(2, "if " + " or ".join(f"not t{k}" for k in short) + f": {logged}")
            for _, _, fam in limits:
                k = slots.index(fam.slot)
                self.emit(2, f"if t{k}: t{k}.append(ts)")
            self.emit(2, f"return {allowed}")
            reached = " or ".join(f"gs[{slot}] >= {w.half[slot]}" for slot in slots)
            self.emit(1, f"if {reached}: return {hook}(ts, grant, {allowed})")
            if short:
                self.emit(1, logged)
        self.emit(1, f"return {allowed}")
