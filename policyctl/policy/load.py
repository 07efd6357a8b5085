"""Loading a policy file for the commands that use it (simulate, explain, diff).

A policy is read (``-`` = stdin), parsed with positions, checked for syntax errors, duplicate keys
and unportable numbers (NaN, infinities, overflowing floats; an integer beyond 2^53 is accepted and
compared as a double, as a Go gateway would), validated against the JSON Schema, and only then built
into the typed :class:`policyctl.policy.dialects.policylayer.model.Policy`. Anything wrong raises
:class:`InvalidPolicyError` carrying the same diagnostics ``policyctl lint`` would print, so commands
refuse the policy with exit code 2.
Semantic lint rules (PL1xx…) are not applied here: a policy with a warning still simulates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from policyctl.diagnostics import Diagnostic, format_diagnostic
from policyctl.documents.loader import Document, load_document
from policyctl.errors import InvalidPolicyError
from policyctl.files import display_name, read_bytes
from policyctl.policy.dialects import check_dialect, check_rollback_on
from policyctl.policy.dialects.policylayer.model import Policy


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with the document (and source map) it came from.

    ``policy`` is the PolicyLayer model (None for another dialect); ``program`` the dialect-neutral
    form (:mod:`policyctl.policy.ir`) of an Intercept policy (None for PolicyLayer's, which the
    compiled evaluator reads directly).
    """

    policy: Policy | None
    document: Document
    path: str
    dialect: str = "policylayer"
    program: Any = None

    def with_rollback(self, rollback_on: str) -> "LoadedPolicy":
        """The policy with Intercept's rollback rule: ``jsonrpc_error`` (v1.1.0, the default) or
        ``any`` (later releases also release a call's reservations on ``result.isError``)."""
        check_rollback_on(rollback_on)
        if self.program is None or self.program.dialect != "intercept" or rollback_on == "jsonrpc_error":
            return self
        from dataclasses import replace

        from policyctl.policy import ir

        release = frozenset({ir.UPSTREAM_JSONRPC_ERROR, ir.UPSTREAM_TOOL_ERROR})
        return replace(self, program=replace(self.program, release_on=release))

    def check_windows(self, windows: str) -> None:
        """Refuse ``--windows sliding`` for a dialect that counts in fixed calendar windows only."""
        if self.dialect == "intercept" and windows != "fixed":
            from policyctl.errors import UsageError

            raise UsageError(f"--windows {windows}: Intercept counts in fixed calendar windows only")

    @property
    def lowered(self) -> Any:
        """The policy's intermediate form (:mod:`policyctl.policy.ir`) whatever its dialect: the
        program of an Intercept policy, a PolicyLayer model lowered on first use."""
        if self.program is not None:
            return self.program
        cached = self.__dict__.get("_lowered")
        if cached is None:
            from policyctl.policy.dialects.policylayer.lower import lower

            assert self.policy is not None  # a PolicyLayer policy: the model is there
            cached = lower(self.policy)
            object.__setattr__(self, "_lowered", cached)  # a cache: the value never changes
        return cached

    @property
    def subject(self) -> Any:
        """What an evaluator is built from: the PolicyLayer model, or the program."""
        return self.policy if self.policy is not None else self.program


def load_policy(path: str, *, dialect: str | None = None) -> LoadedPolicy:
    """Read, parse and validate the policy at ``path``; raise InvalidPolicyError when it is not usable.

    Missing or unreadable files raise :class:`policyctl.errors.InputError` (exit 2) as well.
    """
    check_dialect(dialect)
    name = display_name(path)
    raw = read_bytes(path)
    return policy_from_bytes(raw, name, dialect=dialect)



def policy_from_bytes(raw: bytes, name: str, *, dialect: str | None = None) -> LoadedPolicy:
    """Like :func:`load_policy` for bytes already read (``name`` is used in messages)."""
    from policyctl.documents.schema import schema_diagnostics
    from policyctl.policy.dialects import detect

    result = load_document(raw, name)
    diagnostics = list(result.diagnostics)
    document = result.document
    if document is not None and not any(d.code == "PL001" for d in diagnostics):
        if (dialect or detect(document.data)) == "intercept":
            return _intercept(document, diagnostics, name)
        diagnostics.extend(schema_diagnostics(document))
    # An integer beyond 2^53 is a lint error (PL004) but not a reason to refuse the policy here: a Go
    # gateway decodes it into a double, and the engine compares it as one (SPEC §3).
    if document is None or not all(_lossy_integer(d) for d in diagnostics):
        diagnostics.sort(key=Diagnostic.sort_key)
        count = len(diagnostics)
        error = InvalidPolicyError(
            f"{name}: not a valid policy ({count} problem{'s' if count != 1 else ''})",
            tuple(diagnostics))
        error.details = tuple(format_diagnostics(diagnostics))  # printed by the CLI under the message
        raise error
    try:
        policy = Policy.from_data(document.data)
    except ValueError as exc:  # the schema should have caught it
        raise InvalidPolicyError(f"{name}: not a valid policy: {exc}", ()) from None
    return LoadedPolicy(policy=policy, document=document, path=name)


def _intercept(document: Document, diagnostics: list[Diagnostic], name: str) -> LoadedPolicy:
    """An Intercept policy: refused when Intercept would refuse it (load or validation errors,
    PL501) or when it holds keys Intercept ignores (PL502: the policy would not mean what it says)."""
    from policyctl.lint.linter import lint_document
    from policyctl.policy.dialects.intercept.lower import lower
    from policyctl.policy.dialects.intercept.model import build_document

    problems = [d for d in diagnostics if d.code in ("PL001", "PL003")]
    problems += [d for d in lint_document(document, "intercept", only=("PL501", "PL502")).diagnostics
                 if d.code in ("PL501", "PL502")]
    if problems:
        problems.sort(key=Diagnostic.sort_key)
        count = len(problems)
        error = InvalidPolicyError(f"{name}: not a valid Intercept policy ({count} problem{'s' if count != 1 else ''})",
                                   tuple(problems))
        error.details = tuple(format_diagnostics(problems))
        raise error
    program = lower(build_document(document))
    return LoadedPolicy(policy=None, document=document, path=name, dialect="intercept", program=program)


def _lossy_integer(d: Diagnostic) -> bool:
    from policyctl.documents.loader import number_problem

    return number_problem(d) == "integer"


def format_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[str]:
    """One ``path:line:col: severity[CODE] message`` line per diagnostic."""
    return [format_diagnostic(d) for d in diagnostics]
