"""The policy behind ``record --policy``: one evaluator (the one ``simulate`` runs), reloads, and
what the policy reads.

Calls are evaluated in the order they arrived, each at the ``ts`` its trace line records, with the
evaluator ``simulate`` uses for the policy's dialect (:func:`policyctl.engine.interpret.make_evaluator`:
PolicyLayer's compiled evaluator, or the interpreter of an Intercept policy's program). An allowed
call whose upstream then fails has its reservations released when ``simulate`` would release them:
on any failure under PolicyLayer, on a JSON-RPC error under Intercept v1.1.0 (and on
``result.isError`` too with ``--rollback-on any``). When the policy file changes on disk it is read
again: a valid new version replaces the old one and rebuilds its counters by replaying the trace
written so far (what ``simulate`` with the new policy would hold at that point); an invalid one is
refused and the old version stays in force.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from policyctl.engine.evaluator import Decision, seconds_to_ns
from policyctl.errors import PolicyctlError
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.policy.load import LoadedPolicy, load_policy

RELOAD_CHECK_SECONDS = 0.1

#: how an enforcing Intercept proxy prefixes the text of a denied call (its ``buildDeniedResponse``)
INTERCEPT_DENIED = "[INTERCEPT POLICY DENIED] "


@dataclass(frozen=True)
class ReplayCall:
    """What the evaluator needs to count a call again. ``upstream_error``: false, or how the upstream
    failed — the trace's ``upstream`` kind (``jsonrpc_error``, ``tool_error``, ``no_response``, …)
    or true — as ``simulate`` reads it (PolicyLayer only asks whether it failed)."""

    ts_ns: int
    grant: str
    tool: str
    args: dict
    upstream_error: bool | str


def condition_paths(policy: Policy, tool: str) -> tuple[tuple[str, ...], ...]:
    """The argument paths the conditions of ``tool`` read (empty when none, e.g. a hidden tool)."""
    if policy.is_hidden(tool):
        return ()
    entry = policy.tools.get(tool)
    if entry is None:
        return ()
    paths = []
    for rule in entry.require + entry.deny_if:
        for cond in rule.conditions:
            paths.append(cond.segments)
    return tuple(paths)


def program_paths(program: Any, tool: str) -> tuple[tuple[str, ...], ...]:
    """The argument paths a program reads for ``tool``: its conditions on ``args`` and the amounts
    its reservations read from an argument (empty for a hidden or a default-denied tool)."""
    if program.hidden(tool) is not None or program.default_denied(tool) is not None:
        return ()
    paths = [c.path for check in program.checks(tool) for c in check.conditions if c.source == "args"]
    paths += [r.amount for r in program.reservations(tool) if type(r.amount) is tuple]
    return tuple(paths)


def _load(path: str, rollback_on: str, dialect: str | None = None) -> LoadedPolicy:
    return load_policy(path, dialect=dialect).with_rollback(rollback_on)


class PolicyGate:
    """A policy file, its evaluator and its reloads. Not thread-safe: the caller holds a lock."""

    def __init__(self, path: str, *, windows: str = "fixed",
                 notify: Callable[[str], None] = lambda message: None,
                 history: Callable[[], Iterable[ReplayCall]] = lambda: (),
                 rollback_on: str = "jsonrpc_error", dialect: str | None = None) -> None:
        from policyctl.engine.interpret import make_evaluator

        self.path = path
        self.windows = windows
        self.notify = notify
        self.history = history
        self.rollback_on = rollback_on
        self.forced_dialect = dialect
        self.loaded = self._refuse_unsupported(_load(path, rollback_on, dialect))
        self.evaluator = make_evaluator(self.loaded, windows=windows)
        self._stamp = self._stat()
        self._checked_at = time.monotonic()
        self.reloads = 0
        self.refused = 0

    def _refuse_unsupported(self, loaded: LoadedPolicy) -> LoadedPolicy:
        loaded.check_windows(self.windows)
        return loaded

    @property
    def dialect(self) -> str:
        return self.loaded.dialect

    @property
    def policy(self) -> Policy | None:
        """The PolicyLayer model (None for an Intercept policy)."""
        return self.loaded.policy

    def warm_up(self, calls: Iterable[ReplayCall]) -> None:
        """Count calls already in the trace (``--append``), as ``simulate`` would before the new ones."""
        for call in calls:
            self.evaluator.evaluate_ns(call.ts_ns, call.grant, call.tool, call.args,
                                       upstream_error=call.upstream_error)

    def decide(self, ts_ns: int, grant: str, tool: str, args: dict, *, upstream_error: bool | str = False) -> Decision:
        self.maybe_reload()
        return self.evaluator.evaluate_ns(ts_ns, grant, tool, args, upstream_error=upstream_error)

    def releases_on(self, upstream: str) -> bool:
        """Whether an allowed call whose upstream answered ``upstream`` gives its reservations back
        (as ``simulate`` replays the line ``record`` writes for it)."""
        if upstream == "ok":
            return False
        program = self.loaded.program
        if program is None or program.dialect == "policylayer":
            return True  # PolicyLayer: any failure
        return upstream in program.release_on

    def release(self, ts_ns: int, grant: str, tool: str, args: dict | None = None) -> None:
        """Give back the reservations an allowed call made at ``ts_ns`` (its upstream failed)."""
        if self.loaded.policy is None:
            self.evaluator.release_ns(ts_ns, grant, tool, args or {})
            return
        for _loc, _lim, family in self.evaluator.limits(tool):
            family.release(grant, ts_ns)

    def counter_bound(self, tool: str, decision: Decision) -> bool:
        """Whether ``decision`` (a denial) could change once an earlier call gives its reservations
        back: a refused reservation, or (Intercept) a rule whose conditions read a counter."""
        if decision.reason == "rate_limited":
            return True
        program = self.loaded.program
        if program is None or program.dialect == "policylayer" or decision.allowed:
            return False
        return any(check.denial(0).rule == decision.rule and any(c.source == "state" for c in check.conditions)
                   for check in program.checks(tool))

    def hidden(self, tool: str) -> bool:
        self.maybe_reload()
        if self.loaded.policy is None:
            return self.loaded.program.hidden(tool) is not None
        return self.loaded.policy.is_hidden(tool)

    def paths(self, tool: str) -> tuple[tuple[str, ...], ...]:
        if self.loaded.policy is None:
            return program_paths(self.loaded.program, tool)
        return condition_paths(self.loaded.policy, tool)

    def denied_text(self, decision: Decision) -> str:
        """The text an enforcing gateway answers a denied call with: the message as it is
        (PolicyLayer), or after Intercept's prefix."""
        if self.loaded.dialect == "intercept":
            message = decision.message or f'Denied by rule "{decision.rule}"'
            return INTERCEPT_DENIED + message
        return decision.message or "Denied by policy"

    # -- reloads ---------------------------------------------------------------------------------
    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def maybe_reload(self, *, now: float | None = None) -> bool:
        """Re-read the policy if its file changed (checked at most every RELOAD_CHECK_SECONDS)."""
        from policyctl.engine.interpret import make_evaluator

        now = time.monotonic() if now is None else now
        if now - self._checked_at < RELOAD_CHECK_SECONDS:
            return False
        self._checked_at = now
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            loaded = self._refuse_unsupported(_load(self.path, self.rollback_on, self.forced_dialect))
        except PolicyctlError as exc:
            self.refused += 1
            lines = [f"{self.path} changed but the new version is refused, the previous one stays in force: "
                     f"{exc.message}"]
            lines += [f"  {d}" for d in exc.details[:10]]
            self.notify("\n".join(lines))
            return False
        evaluator = make_evaluator(loaded, windows=self.windows)
        for call in self.history():
            evaluator.evaluate_ns(call.ts_ns, call.grant, call.tool, call.args, upstream_error=call.upstream_error)
        self.loaded, self.evaluator = loaded, evaluator
        self.reloads += 1
        self.notify(f"{self.path} changed: the new version is in force (counters rebuilt from the trace)")
        return True


def replay_calls(path: str) -> list[ReplayCall]:
    """The calls of an existing trace, in file order, at the times and with the upstream outcomes
    ``simulate`` evaluates them with."""
    from policyctl.traces.reader import read_trace

    out = []
    for c in read_trace(path):
        upstream: bool | str = c.upstream_error
        if c.upstream_error and type(c.upstream) is str and c.upstream != "ok":
            upstream = c.upstream
        out.append(ReplayCall(c.ts_ns if c.ts_ns is not None else seconds_to_ns(c.ts), c.grant, c.tool, c.args,
                              upstream))
    return out


def shadow_field(decision: Decision) -> dict[str, Any]:
    return {"decision": decision.decision, "reason": decision.reason, "rule": decision.rule}
