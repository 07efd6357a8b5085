"""The dialect-neutral form of a policy: what a gateway does with a call, step by step.

Every dialect lowers into a :class:`Program`. A call to ``tool`` goes through, in order:

1. **hide** — a hidden tool is denied (``hidden``);
2. **default** — under default deny, a tool that is not listed is denied (``default_deny``); the
   wildcard never rescues an unlisted tool;
3. **checks** — the tool's own, then the wildcard's (:meth:`Program.checks`): each either denies
   unless all its conditions hold (``all_or_deny``: PolicyLayer's ``require``, Intercept's
   ``evaluate``) or denies when they all hold (``deny_if_all``: PolicyLayer's ``deny_if``; no
   conditions means always, which is also Intercept's ``deny``). The first denial wins. Conditions
   read the call's arguments, or (Intercept) a counter's value before this call;
4. **reservations** — the tool's own, then the wildcard's: each takes ``amount`` from a counter
   bucket unless that would pass ``limit`` in the current window, which denies the call and
   releases what it reserved before; an ``amount`` read from an argument that is missing or not a
   number denies with ``bad_amount`` (and releases too);
5. **allow** — and when the upstream answers with a failure listed in ``release_on``, the call's
   reservations are released.

Every denial is an :class:`Outcome` carrying the reason, the rule id and the message exactly as the
dialect's gateway logs them, and the JSON Pointer of the part of the document that decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

#: reasons of a decision; ``require_approval`` (Intercept after 1.1.0) is a deny a person can lift,
#: ``policy_error`` is Intercept's "Internal policy error" (an increment it could not read)
REASONS: tuple[str, ...] = ("allowed", "hidden", "default_deny", "require", "deny_if", "rate_limited",
                            "require_approval", "policy_error")

#: what the upstream answered: releases reservations when listed in Program.release_on
UPSTREAM_OK, UPSTREAM_JSONRPC_ERROR, UPSTREAM_TOOL_ERROR = "ok", "jsonrpc_error", "tool_error"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A denial as the gateway reports it."""

    reason: str
    rule: str | None
    message: str | None
    origin: str | None  # JSON Pointer of the deciding part of the document


@dataclass(frozen=True, slots=True)
class Condition:
    """One test. ``source`` ``args``: ``path`` walks the call's arguments (missing → not found);
    ``state``: ``path`` is ``(counter key,)`` and the value is that counter before this call (0 when
    unused or in an older window). ``text`` is the value as Go's ``%v`` prints it where the dialect's
    Go type differs from a JSON number's (Intercept's YAML integers print as integers)."""

    source: str
    path: tuple[str, ...]
    op: str
    value: Any
    pointer: str
    text: str | None = None
    label: str | None = None  # the path as the document writes it (explain, coverage), when it differs


@dataclass(frozen=True, slots=True)
class Check:
    mode: str  # "all_or_deny" | "deny_if_all"
    conditions: tuple[Condition, ...]
    # all_or_deny: the denial when condition i fails is denials[i] (or denials[0] when there is one);
    # deny_if_all: denials[0]
    denials: tuple[Outcome, ...]
    pointer: str
    kind: str = ""  # the dialect's word for the rule (require, deny_if; evaluate, deny, require_approval)
    index: int | None = None  # its place among the rules of its kind, where the dialect numbers them so
    on_deny: str | None = None  # the message as the rule states it (None: it states none)

    def denial(self, failed: int = 0) -> Outcome:
        return self.denials[failed] if len(self.denials) > 1 else self.denials[0]


@dataclass(frozen=True, slots=True)
class Reservation:
    """Take ``amount`` from the counter ``bucket`` (per grant) in the current ``window``.

    ``limit`` None: nothing is reserved (Intercept's stateful rule without an ``lt``/``lte`` on its
    own counter) but an ``amount`` read from an argument is still read, and can still fail."""

    bucket: tuple[str, ...]
    window: str  # minute | hour | day
    limit: int | None
    amount: int | tuple[str, ...]  # a constant, or an argument path
    refused: Outcome
    bad_amount: Outcome | None
    pointer: str


@dataclass(frozen=True, slots=True)
class ToolProgram:
    checks: tuple[Check, ...] = ()
    reservations: tuple[Reservation, ...] = ()


EMPTY = ToolProgram()


@dataclass(frozen=True)
class Program:
    dialect: str
    hide: tuple[str, ...]
    hide_pointers: tuple[str, ...]
    default_deny: bool
    tools: Mapping[str, ToolProgram]
    wildcard: ToolProgram = EMPTY
    wildcard_name: str | None = None  # a listed tool that *is* the wildcard (Intercept's "*")
    release_on: frozenset[str] = frozenset({UPSTREAM_JSONRPC_ERROR, UPSTREAM_TOOL_ERROR})
    quote_names: bool = False  # tool names in messages quoted as Go's %q (Intercept) or as they are
    hide_star_first: bool = True  # the deciding hide entry: "*" wherever it is, or the first match
    tool_pointers: Mapping[str, str] = field(default_factory=dict)  # each listed tool's JSON Pointer
    # Rules are known by their list and place in it (PolicyLayer's require #0: Check.index), not by a
    # name of their own; a limit by its bucket. The structural diff pairs such rules by meaning.
    numbered_rules: bool = False

    def tool_pointer(self, tool: str) -> str:
        at = self.tool_pointers.get(tool)
        if at is None:
            from policyctl.documents.pointers import escape_token

            at = "/tools/" + escape_token(tool)
        return at

    def _name(self, tool: str) -> str:
        if self.quote_names:
            from policyctl.policy.dialects.intercept.model import go_quote

            return go_quote(tool)
        return f'"{tool}"'

    def hidden(self, tool: str) -> Outcome | None:
        """The hide denial of ``tool``, or None."""
        entries = list(zip(self.hide, self.hide_pointers))
        if self.hide_star_first:
            entries.sort(key=lambda e: e[0] != "*")
        for name, at in entries:
            if name == "*" or name == tool:
                return Outcome("hidden", "(hidden)", f"Tool {self._name(tool)} is hidden by policy", at)
        return None

    def default_denied(self, tool: str) -> Outcome | None:
        if self.default_deny and tool not in self.tools:
            return Outcome("default_deny", "(default deny)", f"Tool {self._name(tool)} is not permitted by policy",
                           "/default")
        return None

    def _parts(self, tool: str) -> tuple[ToolProgram, ...]:
        own = self.tools.get(tool, EMPTY)
        if self.wildcard_name is not None and tool == self.wildcard_name:
            return (own,)  # the wildcard's rules are this tool's own: never twice
        return (own, self.wildcard)

    def checks(self, tool: str) -> tuple[Check, ...]:
        """The checks a call to ``tool`` passes through, in order (the tool's, then the wildcard's)."""
        return tuple(c for part in self._parts(tool) for c in part.checks)

    def reservations(self, tool: str) -> tuple[Reservation, ...]:
        return tuple(r for part in self._parts(tool) for r in part.reservations)

    def buckets(self) -> tuple[tuple[tuple[str, ...], str], ...]:
        """Every (bucket, window) any call can reserve in, in a stable order."""
        seen: dict[tuple[tuple[str, ...], str], None] = {}
        for part in (*self.tools.values(), self.wildcard):
            for r in part.reservations:
                seen.setdefault((r.bucket, r.window), None)
        return tuple(seen)
