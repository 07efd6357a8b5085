"""The policy behind ``record --policy``: one evaluator (the one ``simulate`` runs), reloads, and
what the policy reads.

Calls are evaluated in the order they arrived, each at the ``ts`` its trace line records, with the
evaluator ``simulate`` uses; an allowed call whose upstream then fails has its reservations released
(``simulate`` releases them on ``upstream_error``). When the policy file changes on disk it is read
again: a valid new version replaces the old one and rebuilds its counters by replaying the trace
written so far (what ``simulate`` with the new policy would hold at that point); an invalid one is
refused and the old version stays in force.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from policyctl.engine.evaluator import Decision, Evaluator, seconds_to_ns
from policyctl.errors import PolicyctlError
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.policy.load import load_policy

RELOAD_CHECK_SECONDS = 0.1


@dataclass(frozen=True)
class ReplayCall:
    """What the evaluator needs to count a call again."""

    ts_ns: int
    grant: str
    tool: str
    args: dict
    upstream_error: bool


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


def _policylayer(loaded: Any) -> Policy:
    """The PolicyLayer model of a loaded policy; an Intercept policy is refused (not built yet)."""
    if loaded.policy is None:
        from policyctl.errors import UsageError

        raise UsageError(f"{loaded.path}: record --policy reads PolicyLayer policies only for now "
                         "(record the trace without --policy, then simulate it under the Intercept policy)")
    return loaded.policy


class PolicyGate:
    """A policy file, its evaluator and its reloads. Not thread-safe: the caller holds a lock."""

    def __init__(self, path: str, *, windows: str = "fixed",
                 notify: Callable[[str], None] = lambda message: None,
                 history: Callable[[], Iterable[ReplayCall]] = lambda: ()) -> None:
        self.path = path
        self.windows = windows
        self.notify = notify
        self.history = history
        self.policy = _policylayer(load_policy(path))
        self.evaluator = Evaluator(self.policy, windows=windows)
        self._stamp = self._stat()
        self._checked = time.monotonic()
        self.reloads = 0
        self.refused = 0

    def warm_up(self, calls: Iterable[ReplayCall]) -> None:
        """Count calls already in the trace (``--append``), as ``simulate`` would before the new ones."""
        for call in calls:
            self.evaluator.evaluate_ns(call.ts_ns, call.grant, call.tool, call.args,
                                       upstream_error=call.upstream_error)

    def decide(self, ts_ns: int, grant: str, tool: str, args: dict, *, upstream_error: bool = False) -> Decision:
        self.maybe_reload()
        return self.evaluator.evaluate_ns(ts_ns, grant, tool, args, upstream_error=upstream_error)

    def release(self, ts_ns: int, grant: str, tool: str) -> None:
        """Give back the reservations an allowed call made at ``ts_ns`` (its upstream failed)."""
        for _loc, _lim, family in self.evaluator.limits(tool):
            family.release(grant, ts_ns)

    def hidden(self, tool: str) -> bool:
        self.maybe_reload()
        return self.policy.is_hidden(tool)

    def paths(self, tool: str) -> tuple[tuple[str, ...], ...]:
        return condition_paths(self.policy, tool)

    # -- reloads ---------------------------------------------------------------------------------
    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def maybe_reload(self, *, now: float | None = None) -> bool:
        """Re-read the policy if its file changed (checked at most every RELOAD_CHECK_SECONDS)."""
        now = time.monotonic() if now is None else now
        if now - self._checked < RELOAD_CHECK_SECONDS:
            return False
        self._checked = now
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            policy = _policylayer(load_policy(self.path))
        except PolicyctlError as exc:
            self.refused += 1
            lines = [f"{self.path} changed but the new version is refused, the previous one stays in force: "
                     f"{exc.message}"]
            lines += [f"  {d}" for d in exc.details[:10]]
            self.notify("\n".join(lines))
            return False
        evaluator = Evaluator(policy, windows=self.windows)
        for call in self.history():
            evaluator.evaluate_ns(call.ts_ns, call.grant, call.tool, call.args, upstream_error=call.upstream_error)
        self.policy, self.evaluator = policy, evaluator
        self.reloads += 1
        self.notify(f"{self.path} changed: the new version is in force (counters rebuilt from the trace)")
        return True


def replay_calls(path: str) -> list[ReplayCall]:
    """The calls of an existing trace, in file order, at the times ``simulate`` evaluates them."""
    from policyctl.traces.reader import read_trace

    return [ReplayCall(c.ts_ns if c.ts_ns is not None else seconds_to_ns(c.ts), c.grant, c.tool, c.args,
                       c.upstream_error) for c in read_trace(path)]


def shadow_field(decision: Decision) -> dict[str, Any]:
    return {"decision": decision.decision, "reason": decision.reason, "rule": decision.rule}
