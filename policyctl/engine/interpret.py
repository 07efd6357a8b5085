"""Deciding calls by walking a :class:`policyctl.policy.ir.Program` (any dialect).

:class:`Interpreter` has the calling surface of :class:`policyctl.engine.evaluator.Evaluator` that
the simulator's loops use (``programs``, ``program(tool)``, ``decisions``, ``tools``, ``origins``,
``tick``, ``evaluate``, ``evaluate_ns``, and ``stages`` when :meth:`Interpreter.splits`), so
``simulate`` runs either, on its fast, general and two-process paths. With fixed windows each
tool's steps of :mod:`policyctl.policy.ir` are compiled once into straight-line Python
(:func:`_compile_tool`); the step-by-step closures (each condition compiled into a test closure)
are the reference the tests hold them to, and run sliding windows.

Counters: fixed windows are calendar-aligned UTC windows (a row per grant and bucket holding the
value, the start of the window it was written in and its length; a row from an older window reads
0, as in Intercept's store). Sliding windows (PolicyLayer only) count reservations in ``(ts - length, ts]``
exactly, through :class:`policyctl.engine.counters.SlidingCounter`.

``upstream`` (the fourth argument of a program) says how the upstream answered an allowed call:
false/None/``"ok"`` for success, ``True`` or ``"jsonrpc_error"`` for a JSON-RPC error (a bare
``upstream_error: true`` in a trace counts as one, SPEC §3), ``"tool_error"`` for a result with
``isError``. The program's ``release_on`` decides which of them release the call's reservations.
"""

from __future__ import annotations

from typing import Any, Callable

from policyctl.documents.gofmt import to_double
from policyctl.engine.counters import WINDOW_NS, SlidingCounter
from policyctl.engine.evaluator import ALLOWED, Decision, seconds_to_ns
from policyctl.policy import ir
from policyctl.policy.operators import NOT_FOUND, compile_test, inline_expr, resolve

_SWEEP_EVERY = 65536

Program = Callable[[int, str, dict, Any], int]


def upstream_kind(upstream: Any) -> str:
    if not upstream or upstream == ir.UPSTREAM_OK:
        return ir.UPSTREAM_OK
    if upstream is True or upstream == 1:
        return ir.UPSTREAM_JSONRPC_ERROR
    return str(upstream)


def go_int64_amount(value: Any) -> int | None:
    """Intercept's ``conv.ToInt64`` of an argument: a number truncated toward zero, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        if -(2**53) <= value <= 2**53:
            return value
        try:
            value = float(value)  # Go decoded the JSON number into a float64
        except OverflowError:
            return -(2**63)
    if value != value or value >= 2**63 or value < -(2**63):
        return -(2**63)
    return int(value)


def _int64(n: int) -> int:
    """``n`` wrapped as Go's int64 arithmetic wraps it: Intercept's store adds an ``increment_from``
    amount to the counter in int64, so two huge amounts (each converted to MinInt64) add up to 0."""
    return n if -(2**63) <= n < 2**63 else (n + 2**63) % 2**64 - 2**63


class _Store:
    """Counter rows, one table per bucket: ``buckets[bucket][grant] -> [value, window start (ns),
    window length (ns)]`` (``rows`` is the same as one flat mapping, for reading).

    A row is updated in place and only ever removed by ``sweep``, so the compiled programs hold
    each bucket's table (created once, never replaced) and look rows up by grant alone. Every
    ``_SWEEP_EVERY`` new rows, the allowed call that created the last of them sweeps the rows of
    passed windows away once it is decided (a program holds the rows it read until then).
    """

    def __init__(self, windows: str) -> None:
        self.windows = windows
        self.buckets: dict[tuple[str, ...], dict[str, list[int]]] = {}
        self.sliding: dict[tuple[tuple[str, ...], int], SlidingCounter] = {}
        self.due = [_SWEEP_EVERY]  # rows still to create before the next sweep (a cell: programs share it)

    @property
    def rows(self) -> dict[tuple[str, tuple[str, ...]], list[int]]:
        """Every row as ``(grant, bucket) -> [value, window start, window length]``."""
        return {(grant, bucket): row for bucket, table in self.buckets.items() for grant, row in table.items()}

    def table(self, bucket: tuple[str, ...]) -> dict[str, list[int]]:
        """The rows of ``bucket`` by grant (the same dict for the store's whole life)."""
        table = self.buckets.get(bucket)
        if table is None:
            table = self.buckets[bucket] = {}
        return table

    def read(self, grant: str, bucket: tuple[str, ...], ts: int) -> int:
        """The counter's value now (0 when unused or written in an older window)."""
        table = self.buckets.get(bucket)
        row = table.get(grant) if table is not None else None
        if row is None:
            return 0
        return row[0] if row[1] == ts - ts % row[2] else 0

    def reserve(self, grant: str, bucket: tuple[str, ...], length: int, ts: int, amount: int,
                limit: int) -> bool:
        if self.windows == "sliding":
            counter = self.sliding.get((bucket, length))
            if counter is None:
                counter = self.sliding[(bucket, length)] = SlidingCounter(length)
            return counter.try_reserve(grant, ts, limit)
        start = ts - ts % length
        table = self.table(bucket)
        row = table.get(grant)
        current = row[0] if row is not None and row[1] == start else 0
        total = _int64(current + amount)
        if total > limit:
            return False
        if row is None:
            table[grant] = [total, start, length]
            self.due[0] -= 1
        else:
            row[0], row[1], row[2] = total, start, length
        return True

    def release(self, grant: str, bucket: tuple[str, ...], length: int, ts: int, amount: int) -> None:
        if self.windows == "sliding":
            self.sliding[(bucket, length)].release(grant, ts)
            return
        table = self.buckets.get(bucket)
        row = table.get(grant) if table is not None else None
        if row is not None:
            row[0] = max(0, _int64(row[0] - amount))

    def sweep(self, now: int) -> None:
        """Forget rows whose window has passed (they read 0 anyway): memory stays flat. Called
        between calls only: a program holds the rows it read until its call ends."""
        for table in self.buckets.values():
            stale = [grant for grant, row in table.items() if row[1] + row[2] <= now]
            for grant in stale:
                del table[grant]
        self.due[0] = _SWEEP_EVERY


class Interpreter:
    """Evaluates calls in trace order against one program, keeping its own counters."""

    def __init__(self, program: ir.Program, *, windows: str = "fixed", compiled: bool = True) -> None:
        if windows not in ("fixed", "sliding"):
            raise ValueError(f"windows must be 'fixed' or 'sliding', not {windows!r}")
        self.ir = program
        self.windows = windows
        self.store = _Store(windows)
        # fixed windows: each tool's steps compiled to straight-line Python (the hot path); False
        # keeps the step-by-step closures, the reference the tests hold the compiled programs to
        self.compiled = compiled and windows == "fixed"
        self.decisions: list[Decision] = []
        self.tools: list[str] = []
        self.origins: list[str | None] = []
        self._interned: dict[tuple[str, Decision, str | None], int] = {}
        self._programs: dict[str, Program] = {}
        # tool -> (rules(args) -> code or -1, limits(ts, grant, upstream) -> code, or None when the
        # rules always decide), or None when the program cannot be cut so (see ``splits``)
        self._stages: dict[str, tuple[Callable[[dict], int], Callable[[int, str, Any], int] | None] | None] = {}
        self.clock: int | None = None
        # the walker's (engine.walk) compiled conditions, and per tool: hide and default denials, checks,
        # reservations
        self.walk_tests: dict[int, Callable[[Any], bool]] = {}
        self.walk_plans: dict[str, tuple[Any, Any, tuple, tuple]] = {}
        # SPEC §2's reasons, plus the dialect's own where it has any
        self.reasons = ir.REASONS if program.dialect == "intercept" else ir.REASONS[:6]
        show = None
        if program.dialect == "intercept":
            from policyctl.documents.gofmt import go_v_yaml

            show = go_v_yaml
        self._show = show

    # -- the Evaluator surface the simulator uses ------------------------------------------------

    @property
    def programs(self) -> dict[str, Program]:
        return self._programs

    def tick(self, ts_ns: int) -> int:
        if self.clock is not None and ts_ns < self.clock:
            return self.clock
        self.clock = ts_ns
        return ts_ns

    def evaluate(self, ts: float, grant: str, tool: str, args: dict, *, upstream_error: Any = False) -> Decision:
        return self.evaluate_ns(seconds_to_ns(ts), grant, tool, args, upstream_error=upstream_error)

    def evaluate_ns(self, ts_ns: int, grant: str, tool: str, args: dict, *, upstream_error: Any = False) -> Decision:
        ts_ns = self.tick(ts_ns)
        prog = self._programs.get(tool) or self.program(tool)
        return self.decisions[prog(ts_ns, grant, args, upstream_error)]

    def release_ns(self, ts_ns: int, grant: str, tool: str, args: dict) -> None:
        """Give back what an allowed call to ``tool`` at ``ts_ns`` reserved (``record --enforce``
        decides a call before its upstream answers; ``simulate`` does this inside the call)."""
        program = self.ir
        if program.hidden(tool) is not None or program.default_denied(tool) is not None:
            return
        taken: list[tuple[tuple[str, ...], int, int]] = []
        for r in program.reservations(tool):
            amount = go_int64_amount(resolve(args, r.amount)) if isinstance(r.amount, tuple) else r.amount
            if amount is None:
                return  # the call was refused (policy_error): it holds nothing
            if r.limit is not None:
                taken.append((r.bucket, WINDOW_NS[r.window], amount))
        for bucket, length, amount in reversed(taken):
            self.store.release(grant, bucket, length, ts_ns, amount)

    def _code(self, tool: str, decision: Decision, origin: str | None) -> int:
        key = (tool, decision, origin)
        code = self._interned.get(key)
        if code is None:
            code = self._interned[key] = len(self.decisions)
            self.decisions.append(decision)
            self.tools.append(tool)
            self.origins.append(origin)
        return code

    def _deny(self, tool: str, outcome: ir.Outcome) -> int:
        return self._code(tool, Decision(False, outcome.reason, outcome.rule, outcome.message), outcome.origin)

    def stages(self, tool: str) -> tuple[Callable[[dict], int], Callable[[int, str, Any], int] | None]:
        """``program(tool)`` cut after its stateless part, as :meth:`Evaluator.stages` (the
        simulator's two-process path); only when :meth:`splits`."""
        self.program(tool)
        stages = self._stages[tool]
        if stages is None:
            raise ValueError(f"the program of {tool!r} reads arguments after its first counter")
        return stages

    def splits(self) -> bool:
        """Can every tool's program be cut into a stateless rules stage (checks on arguments) and a
        limits stage (counters only)? Yes when compiled, every check that reads a counter always
        holds (a rate limit's own bound), no amount is read from an argument, and an unlisted
        tool's program (the wildcard's rules, under default allow) reads no argument either: the
        parent decides unlisted tools itself from their rules stage with no arguments."""
        if not self.compiled:
            return False
        for tool in self.ir.tools:
            self.program(tool)
            if self._stages[tool] is None:
                return False
        if self.ir.default_deny:
            return True
        ceilings = self._ceilings()
        wildcard = self.ir.wildcard
        return (all(type(r.amount) is int for r in wildcard.reservations)
                and all(c.source == "state" and _always(c.path, c.op, c.value, ceilings)
                        for check in wildcard.checks for c in check.conditions)
                and all(check.mode == "all_or_deny" and check.conditions for check in wildcard.checks))

    def _lengths(self) -> dict[tuple[str, ...], set[int]]:
        """bucket -> the window lengths (ns) any reservation of the program writes it with."""
        lengths: dict[tuple[str, ...], set[int]] = {}
        for bucket, window in self.ir.buckets():
            lengths.setdefault(bucket, set()).add(WINDOW_NS[window])
        return lengths

    def _ceilings(self) -> dict[tuple[str, ...], int]:
        """bucket -> a bound no value of its counter ever passes, for the buckets that have one: every
        reservation writing it adds a constant amount >= 0 and admits at most its limit, so a value
        (0 in a new window) never exceeds the largest limit, nor drops below 0 when released."""
        bounds: dict[tuple[str, ...], int] = {}
        unbounded: set[tuple[str, ...]] = set()
        for part in (*self.ir.tools.values(), self.ir.wildcard):
            for r in part.reservations:
                if r.limit is None:
                    continue
                if type(r.amount) is not int or r.amount < 0:
                    unbounded.add(r.bucket)
                bounds[r.bucket] = max(bounds.get(r.bucket, 0), r.limit)
        return {b: n for b, n in bounds.items() if b not in unbounded}

    def _int_counters(self) -> bool:
        """Does every reservation add an int (a constant int, or an argument read as one)?"""
        parts = (*self.ir.tools.values(), self.ir.wildcard)
        return all(type(r.amount) is int or isinstance(r.amount, tuple) for p in parts for r in p.reservations)

    def program(self, tool: str) -> Program:
        prog = self._programs.get(tool)
        if prog is None:
            prog = self._programs[tool] = self._build(tool)
        return prog

    # -- building one tool's program ---------------------------------------------------------------

    def _build(self, tool: str) -> Program:
        program = self.ir
        stop = program.hidden(tool) or program.default_denied(tool)
        if stop is not None:
            code = self._deny(tool, stop)
            self._stages[tool] = (lambda args: code, None)
            return lambda ts, grant, args, upstream: code
        allowed = self._code(tool, ALLOWED, None)
        show = self._show
        store = self.store
        # checks: (mode, [(source, path, test, op, value)], denial codes)
        checks = []
        for check in program.checks(tool):
            conds = []
            for c in check.conditions:
                test = compile_test(c.op, c.value, show) if show is not None else compile_test(c.op, c.value)
                conds.append((c.source == "state", c.path, test, c.op, c.value))
            codes = [self._deny(tool, check.denial(i)) for i in range(max(1, len(check.conditions)))]
            checks.append((check.mode == "all_or_deny", conds, codes))
        reservations = []
        for r in program.reservations(tool):
            reservations.append((r.bucket, WINDOW_NS[r.window], r.limit, r.amount,
                                 self._deny(tool, r.refused),
                                 self._deny(tool, r.bad_amount) if r.bad_amount is not None else None))
        release_on = program.release_on
        if self.compiled:
            prog, stages = _compile_tool(tool, checks, reservations, allowed, store, release_on, show,
                                         self._lengths(), self._int_counters(), self._ceilings())
            self._stages[tool] = stages
            return prog
        self._stages[tool] = None

        def value(is_state: bool, path: tuple[str, ...], ts: int, grant: str, args: dict) -> Any:
            if is_state:
                # a counter always exists (0 when unused); window: the one it was last written in
                return store.read(grant, ("intercept", path[0]), ts)
            return resolve(args, path)

        def run(ts: int, grant: str, args: dict, upstream: Any) -> int:
            for all_or_deny, conds, codes in checks:
                if all_or_deny:
                    for i, (is_state, path, test, _op, _value) in enumerate(conds):
                        v = value(is_state, path, ts, grant, args)
                        if not test(v):
                            return codes[i]
                else:
                    for is_state, path, test, _op, _value in conds:
                        if not test(value(is_state, path, ts, grant, args)):
                            break
                    else:
                        return codes[0]
            taken: list[tuple[tuple[str, ...], int, int]] = []
            due = store.due[0]
            for bucket, length, limit, amount, refused, bad in reservations:
                if isinstance(amount, tuple):
                    n = go_int64_amount(resolve(args, amount))
                    if n is None:
                        for b, ln, a in reversed(taken):
                            store.release(grant, b, ln, ts, a)
                        return bad if bad is not None else refused
                else:
                    n = amount
                if limit is None:
                    continue
                if not store.reserve(grant, bucket, length, ts, n, limit):
                    for b, ln, a in reversed(taken):
                        store.release(grant, b, ln, ts, a)
                    return refused
                taken.append((bucket, length, n))
            if taken and upstream and upstream_kind(upstream) in release_on:
                for b, ln, a in reversed(taken):
                    store.release(grant, b, ln, ts, a)
            if store.due[0] < due and store.due[0] <= 0:  # this call created rows, and a sweep is due
                store.sweep(ts)
            return allowed

        return run


def _compile_tool(tool: str, checks: list, reservations: list, allowed: int, store: _Store,
                  release_on: frozenset[str], show: Callable[[Any], str] | None,
                  lengths: dict[tuple[str, ...], set[int]], int_counters: bool,
                  ceilings: dict[tuple[str, ...], int]) -> tuple[Program, Any]:
    """One tool's steps (fixed windows) as straight-line Python, compiled once.

    The same steps as the closure ``run`` of :meth:`Interpreter._build` (the reference, kept for
    sliding windows and the tests), in the same order and on the same counter rows, with every
    loop unrolled: conditions become inline expressions
    (:func:`policyctl.policy.operators.inline_expr`); a counter is one lookup by grant in its
    bucket's table; the window start of each length is computed once per call. A counter read by
    a check that always runs is not looked up again by the reservation of the same bucket (checks
    write nothing); when every reservation of the program writes that bucket with one window length
    (``lengths``: the usual case), the value read is the value reserved on. ``int_counters``: every
    amount is an integer, so a counter's value is an ``int`` and a comparison with a number needs
    no type test. Nothing from the policy is spliced into the source: keys, values and tables are
    bound as names (``K3``, ``X4``, ``B5``); only integers (codes, limits, window lengths, constant
    amounts) are written as literals. A check that a counter's value is ``lte``/``lt`` a number no
    value of that counter can reach (``ceilings``: Intercept's rate limits test exactly that before
    reserving) always holds: only the value is read, for the reservation.
    """
    ns: dict[str, Any] = {"NF": NOT_FOUND, "AMOUNT": go_int64_amount, "KIND": upstream_kind, "WRAP": _int64,
                          "RELEASE_ON": release_on, "DUE": store.due, "SWEEP": store.sweep}
    lines = ["def prog(ts, grant, args, upstream):"]
    counter = [0]

    def bind(prefix: str, value: Any) -> str:
        counter[0] += 1
        name = f"{prefix}{counter[0]}"
        ns[name] = value
        return name

    # each line's stage when the program is cut in two: checks on arguments only, or the rest
    stage_of_line: list[str] = []
    stage = ["rules"]
    splittable = True

    def emit(depth: int, text: str) -> None:
        lines.append("    " * depth + text)
        stage_of_line.append(stage[0])

    tables: dict[tuple[str, ...], str] = {}

    def table(bucket: tuple[str, ...]) -> str:
        name = tables.get(bucket)
        if name is None:
            name = tables[bucket] = bind("B", store.table(bucket))
        return name

    # bucket -> (row variable, value variable or "") of a counter read by a check that always runs
    # (depth 1): later reads, and the first reservation in that bucket, reuse them
    read_rows: dict[tuple[str, ...], tuple[str, str]] = {}
    starts: dict[int, str] = {}  # window length -> the variable holding this call's window start

    def start_of(depth: int, length: int) -> str:
        """The window start of ``length`` now: computed once per call (when first needed at depth 1)."""
        start = starts.get(length)
        if start is None:
            start = f"s{len(starts)}"
            if depth == 1:
                starts[length] = start
            else:
                start += "_"
            emit(depth, f"{start} = ts - ts % {int(length)}")
        return start

    def emit_counter(depth: int, bucket: tuple[str, ...], need_v: bool) -> None:
        """``v`` = the counter of ``bucket`` before this call (0 when unused or in an older window).
        ``need_v`` False (the check always holds): only what a reservation reuses is read."""
        written = lengths.get(bucket, set())
        if not written:  # no reservation ever writes it
            if need_v:
                emit(depth, "v = 0")
            return
        row = read_rows.get(bucket)
        if row is not None and row[1]:
            if need_v:
                emit(depth, f"v = {row[1]}")
            return
        single = len(written) == 1
        if row is None:
            if not need_v and not (depth == 1 and single):
                return
            n = len(read_rows)
            row = (f"q{n}", f"c{n}" if depth == 1 and single else "")
            emit(depth, f"{row[0]} = {table(bucket)}.get(grant)")
            if depth == 1:
                read_rows[bucket] = row
        elif not need_v:
            return
        q = row[0]
        if single:
            start = start_of(depth, next(iter(written)))
            target = (f"v = {row[1]}" if need_v else row[1]) if row[1] else "v"
            emit(depth, f"{target} = 0 if {q} is None or {q}[1] != {start} else {q}[0]")
        else:
            emit(depth, f"v = 0 if {q} is None or {q}[1] != ts - ts % {q}[2] else {q}[0]")

    def emit_value(depth: int, is_state: bool, path: tuple[str, ...], need_v: bool = True) -> None:
        if is_state:
            emit_counter(depth, ("intercept", path[0]), need_v)
            return
        if not path:
            emit(depth, "v = args")
            return
        emit(depth, f"v = args.get({bind('K', path[0])}, NF)")
        for seg in path[1:]:
            emit(depth, f"v = v.get({bind('K', seg)}, NF) if type(v) is dict else NF")

    def always(cond: tuple) -> bool:
        is_state, path, _test, op, value = cond
        return is_state and _always(path, op, value, ceilings)

    def expr(is_state: bool, op: str, value: Any) -> str:
        if is_state and int_counters and op in _NUMERIC and type(value) in (int, float) and type(value) is not bool:
            # an int counter against a number: exact as a double within 2**53 (Python compares
            # int and float exactly); beyond, the general test rounds as Go does
            fallback = bind("T", compile_test(op, value, show) if show is not None else compile_test(op, value))
            return f"(v {_NUMERIC[op]} {bind('X', to_double(value))} if -{2**53} <= v <= {2**53} else {fallback}(v))"
        return inline_expr(op, value, bind, show) if show is not None else inline_expr(op, value, bind)

    def literal(n: Any) -> str:
        return str(n) if type(n) is int else bind("N", n)

    # reservations made so far: (row variable, amount expression, whether int64 wrap-around can occur)
    taken: list[tuple[str, str, bool]] = []

    def release(depth: int) -> None:
        """Give back this call's reservations, the latest first."""
        for r, amt, wrap in reversed(taken):
            emit(depth, f"{r}[0] = max(0, WRAP({r}[0] - {amt}))" if wrap else f"{r}[0] = max(0, {r}[0] - {amt})")

    def refuse(depth: int, code: int) -> None:
        release(depth)
        emit(depth, f"return {code}")

    for all_or_deny, conds, codes in checks:
        if all(not c[0] for c in conds):
            stage[0] = "rules"
        elif all_or_deny and all(always(c) for c in conds):
            stage[0] = "limits"  # reads counters for the reservations; never denies
        else:
            splittable = False
        if all_or_deny:
            for i, (is_state, path, _test, op, value) in enumerate(conds):
                holds = always(conds[i])
                emit_value(1, is_state, path, need_v=not holds)
                if not holds:
                    emit(1, f"if not {expr(is_state, op, value)}: return {codes[i]}")
        elif not conds:
            emit(1, f"return {codes[0]}")
            break
        elif len(conds) == 1:
            is_state, path, _test, op, value = conds[0]
            emit_value(1, is_state, path)
            emit(1, f"if {expr(is_state, op, value)}: return {codes[0]}")
        else:  # every condition must hold: a one-pass block the first failing condition leaves
            emit(1, "while True:")
            for is_state, path, _test, op, value in conds:
                emit_value(2, is_state, path)
                emit(2, f"if not {expr(is_state, op, value)}: break")
            emit(2, f"return {codes[0]}")
    else:
        stage[0] = "limits"
        if any(isinstance(r[3], tuple) for r in reservations):
            splittable = False  # an amount read from an argument
        if any(r[2] is not None for r in reservations):
            emit(1, "new = 0")  # rows created by this call: a sweep may be due once it ends
        for k, (bucket, length, limit, amount, refused, bad) in enumerate(reservations):
            if isinstance(amount, tuple):
                emit_value(1, False, amount)
                emit(1, f"n{k} = AMOUNT(v)")
                emit(1, f"if n{k} is None:")
                refuse(2, bad if bad is not None else refused)
                amt = f"n{k}"
            else:
                amt = literal(amount)
            if limit is None:
                continue
            # Intercept adds in Go's int64. A sum stays in range when this amount is a small constant
            # and the bucket has a small ceiling (every reservation writing it adds a constant >= 0
            # under its limit); otherwise (an amount read from an argument here or in another
            # reservation of the bucket, numbers near 2^63) the wrap-around is written out.
            wrap = isinstance(amount, tuple) or abs(amount) > 2**52 or ceilings.get(bucket, 2**63) > 2**52
            start = start_of(1, length)
            rows = table(bucket)
            new_row = f"[cur, {start}, {int(length)}]"
            row = read_rows.pop(bucket, None)  # a reservation writes: later ones look the row up again
            if row is not None and row[1]:  # the counter's value now is known: reserve on it
                q, c = row
                emit(1, f"cur = WRAP({c} + {amt})" if wrap else f"cur = {c} + {amt}")
                emit(1, f"if cur > {literal(limit)}:")
                refuse(2, refused)
                emit(1, f"if {q} is None:")
                emit(2, f"{q} = {rows}[grant] = {new_row}")
                emit(2, "DUE[0] -= 1")
                emit(2, "new = 1")
                emit(1, "else:")
                emit(2, f"{q}[0] = cur")
                emit(2, f"{q}[1] = {start}")
                taken.append((q, amt, wrap))
                continue
            else:
                emit(1, f"r{k} = {row[0]}" if row is not None else f"r{k} = {rows}.get(grant)")
                emit(1, f"if r{k} is None:")
                emit(2, f"cur = {amt}")
                emit(2, f"if cur > {literal(limit)}:")
                refuse(3, refused)
                emit(2, f"r{k} = {rows}[grant] = {new_row}")
                emit(2, "DUE[0] -= 1")
                emit(2, "new = 1")
                emit(1, "else:")
                total = f"WRAP(r{k}[0] + {amt})" if wrap else f"r{k}[0] + {amt}"
                emit(2, f"cur = {total} if r{k}[1] == {start} else {amt}")
                emit(2, f"if cur > {literal(limit)}:")
                refuse(3, refused)
                emit(2, f"r{k}[0] = cur")
                emit(2, f"r{k}[1] = {start}")
                if lengths.get(bucket) != {length}:
                    emit(2, f"r{k}[2] = {int(length)}")
            taken.append((f"r{k}", amt, wrap))
        if taken:
            emit(1, "if upstream and KIND(upstream) in RELEASE_ON:")
            release(2)
            emit(1, "if new and DUE[0] <= 0: SWEEP(ts)")
        emit(1, f"return {allowed}")
    src = prog_src = "\n".join(lines) + "\n"
    decided = stage[0] == "rules"  # the checks end in an unconditional deny: the rules always decide
    if splittable:
        body = list(zip(lines[1:], stage_of_line))
        src += "\n".join(["def rules(args):"] + [text for text, st in body if st == "rules"] + ["    return -1"]) + "\n"
        if not decided:
            src += "\n".join(["def limits(ts, grant, upstream):"] + [text for text, st in body if st == "limits"])
            src += "\n"
    exec(compile(src, f"<intercept program {tool!r}>", "exec"), ns)  # noqa: S102 - see the docstring
    prog: Program = ns["prog"]
    prog.__doc__ = prog_src  # kept for debugging and the tests
    return prog, ((ns["rules"], ns.get("limits")) if splittable else None)


_NUMERIC = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _always(path: tuple[str, ...], op: str, value: Any, ceilings: dict[tuple[str, ...], int]) -> bool:
    """Does a condition on the counter ``path[0]`` hold whatever the call (its values stay below)?"""
    if op not in ("lt", "lte") or type(value) not in (int, float):
        return False
    ceiling = ceilings.get(("intercept", path[0]))
    if ceiling is None or ceiling >= 2**53:
        return False
    bound = to_double(value)
    return ceiling <= bound if op == "lte" else ceiling < bound


def make_evaluator(subject: Any, *, windows: str = "fixed") -> Any:
    """The evaluator of a policy: the compiled :class:`Evaluator` of a PolicyLayer model (it is the
    fastest; a property test ties it to the interpreter of the lowered program), the
    :class:`Interpreter` of a program of any other dialect. ``subject`` is a loaded policy, a
    PolicyLayer model or a program."""
    from policyctl.engine.evaluator import Evaluator
    from policyctl.policy.dialects.policylayer.model import Policy

    if not isinstance(subject, (Policy, ir.Program)):  # a LoadedPolicy
        subject = subject.subject
    if isinstance(subject, Policy):
        return Evaluator(subject, windows=windows)
    return Interpreter(subject, windows=windows)
