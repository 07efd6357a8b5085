"""Deciding calls by walking a :class:`policyctl.policy.ir.Program` (any dialect).

:class:`Interpreter` has the calling surface of :class:`policyctl.engine.evaluator.Evaluator` that
the simulator's loops use (``programs``, ``program(tool)``, ``decisions``, ``tools``, ``origins``,
``tick``, ``evaluate``, ``evaluate_ns``), so ``simulate`` runs either. It follows the steps of
:mod:`policyctl.policy.ir` one by one, with each condition compiled once into a test closure.

Counters: fixed windows are calendar-aligned UTC windows (a row per grant and bucket holding the
value and the start of the window it was written in; a row from an older window reads 0, as in
Intercept's store). Sliding windows (PolicyLayer only) count reservations in ``(ts - length, ts]``
exactly, through :class:`policyctl.engine.counters.SlidingCounter`.

``upstream`` (the fourth argument of a program) says how the upstream answered an allowed call:
false/None/``"ok"`` for success, ``True`` or ``"jsonrpc_error"`` for a JSON-RPC error (a bare
``upstream_error: true`` in a trace counts as one, SPEC §3), ``"tool_error"`` for a result with
``isError``. The program's ``release_on`` decides which of them release the call's reservations.
"""

from __future__ import annotations

from typing import Any, Callable

from policyctl.engine.counters import NS, SlidingCounter
from policyctl.engine.evaluator import ALLOWED, Decision, seconds_to_ns
from policyctl.policy import ir
from policyctl.policy.operators import compile_test, resolve

WINDOW_NS = {"minute": 60 * NS, "hour": 3600 * NS, "day": 86400 * NS}
_SWEEP_EVERY = 65536

Program = Callable[[int, str, dict, Any], int]


def upstream_kind(upstream: Any) -> str:
    if not upstream or upstream == ir.UPSTREAM_OK:
        return ir.UPSTREAM_OK
    if upstream is True or upstream == 1:
        return ir.UPSTREAM_JSONRPC_ERROR
    return str(upstream)


def _go_int64_amount(value: Any) -> int | None:
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
    """Counter rows: ``(grant, bucket) -> [value, window start (ns), window length (ns)]``."""

    def __init__(self, windows: str) -> None:
        self.windows = windows
        self.rows: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        self.sliding: dict[tuple[tuple[str, ...], int], SlidingCounter] = {}
        self.calls = 0

    def read(self, grant: str, bucket: tuple[str, ...], ts: int) -> int:
        """The counter's value now (0 when unused or written in an older window)."""
        row = self.rows.get((grant, bucket))
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
        key = (grant, bucket)
        row = self.rows.get(key)
        current = row[0] if row is not None and row[1] == start else 0
        total = _int64(current + amount)
        if total > limit:
            return False
        self.rows[key] = [total, start, length]
        return True

    def release(self, grant: str, bucket: tuple[str, ...], length: int, ts: int, amount: int) -> None:
        if self.windows == "sliding":
            self.sliding[(bucket, length)].release(grant, ts)
            return
        row = self.rows.get((grant, bucket))
        if row is not None:
            row[0] = max(0, _int64(row[0] - amount))

    def sweep(self, now: int) -> None:
        """Forget rows whose window has passed (they read 0 anyway): memory stays flat."""
        stale = [k for k, row in self.rows.items() if row[1] + row[2] <= now]
        for k in stale:
            del self.rows[k]


class Interpreter:
    """Evaluates calls in trace order against one program, keeping its own counters."""

    def __init__(self, program: ir.Program, *, windows: str = "fixed") -> None:
        if windows not in ("fixed", "sliding"):
            raise ValueError(f"windows must be 'fixed' or 'sliding', not {windows!r}")
        self.ir = program
        self.windows = windows
        self.store = _Store(windows)
        self.decisions: list[Decision] = []
        self.tools: list[str] = []
        self.origins: list[str | None] = []
        self._interned: dict[tuple[str, Decision, str | None], int] = {}
        self._programs: dict[str, Program] = {}
        self.clock: int | None = None
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
            amount = _go_int64_amount(resolve(args, r.amount)) if isinstance(r.amount, tuple) else r.amount
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
            return lambda ts, grant, args, upstream: code
        allowed = self._code(tool, ALLOWED, None)
        show = self._show
        store = self.store
        # checks: (mode, [(source, path, test)], denial codes)
        checks = []
        for check in program.checks(tool):
            conds = []
            for c in check.conditions:
                test = compile_test(c.op, c.value, show) if show is not None else compile_test(c.op, c.value)
                conds.append((c.source == "state", c.path, test, c.op))
            codes = [self._deny(tool, check.denial(i)) for i in range(max(1, len(check.conditions)))]
            checks.append((check.mode == "all_or_deny", conds, codes))
        reservations = []
        for r in program.reservations(tool):
            reservations.append((r.bucket, WINDOW_NS[r.window], r.limit, r.amount,
                                 self._deny(tool, r.refused),
                                 self._deny(tool, r.bad_amount) if r.bad_amount is not None else None))
        release_on = program.release_on

        def value(is_state: bool, path: tuple[str, ...], ts: int, grant: str, args: dict) -> Any:
            if is_state:
                # a counter always exists (0 when unused); window: the one it was last written in
                row = store.rows.get((grant, ("intercept", path[0])))
                return 0 if row is None or row[1] != ts - ts % row[2] else row[0]
            return resolve(args, path)

        def run(ts: int, grant: str, args: dict, upstream: Any) -> int:
            for all_or_deny, conds, codes in checks:
                if all_or_deny:
                    for i, (is_state, path, test, _op) in enumerate(conds):
                        v = value(is_state, path, ts, grant, args)
                        if not test(v):
                            return codes[i]
                else:
                    for is_state, path, test, _op in conds:
                        if not test(value(is_state, path, ts, grant, args)):
                            break
                    else:
                        return codes[0]
            taken: list[tuple[tuple[str, ...], int, int]] = []
            for bucket, length, limit, amount, refused, bad in reservations:
                if isinstance(amount, tuple):
                    n = _go_int64_amount(resolve(args, amount))
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
            store.calls += 1
            if store.calls % _SWEEP_EVERY == 0:
                store.sweep(ts)
            return allowed

        return run


def make_evaluator(loaded: Any, *, windows: str = "fixed") -> Any:
    """The evaluator for a loaded policy: the compiled :class:`Evaluator` for a PolicyLayer policy,
    the :class:`Interpreter` of its program for any other dialect."""
    program = getattr(loaded, "program", None)
    if program is None or program.dialect == "policylayer":
        from policyctl.engine.evaluator import Evaluator

        return Evaluator(loaded.policy, windows=windows)
    return Interpreter(program, windows=windows)
