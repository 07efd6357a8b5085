"""Loading a policy file for the commands that use it (simulate, explain, diff).

A policy is read (``-`` = stdin), parsed with positions, checked for syntax errors, duplicate keys
and unportable numbers (NaN, infinities, overflowing floats; an integer beyond 2^53 is accepted and
compared as a double, as a Go gateway would), validated against the JSON Schema, and only then built into the typed
:class:`policyctl.policy.dialects.policylayer.model.Policy`. Anything wrong raises :class:`InvalidPolicyError` carrying the
same diagnostics ``policyctl lint`` would print, so commands refuse the policy with exit code 2.
Semantic lint rules (PL1xx…) are not applied here: a policy with a warning still simulates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from policyctl.diagnostics import Diagnostic, format_diagnostic
from policyctl.documents.loader import Document, load_document
from policyctl.errors import InvalidPolicyError
from policyctl.files import display_name, read_bytes
from policyctl.policy.dialects.policylayer.model import Policy


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with the document (and source map) it came from."""

    policy: Policy
    document: Document
    path: str


def load_policy(path: str) -> LoadedPolicy:
    """Read, parse and validate the policy at ``path``; raise InvalidPolicyError when it is not usable.

    Missing or unreadable files raise :class:`policyctl.errors.InputError` (exit 2) as well.
    """
    name = display_name(path)
    raw = read_bytes(path)
    return policy_from_bytes(raw, name)


def policy_from_bytes(raw: bytes, name: str) -> LoadedPolicy:
    """Like :func:`load_policy` for bytes already read (``name`` is used in messages)."""
    from policyctl.documents.schema import schema_diagnostics

    result = load_document(raw, name)
    diagnostics = list(result.diagnostics)
    document = result.document
    if document is not None and not any(d.code == "PL001" for d in diagnostics):
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
    except Exception as exc:  # pydantic.ValidationError: the schema should have caught it
        raise InvalidPolicyError(f"{name}: not a valid policy: {exc}", ()) from None
    return LoadedPolicy(policy=policy, document=document, path=name)


def _lossy_integer(d: Diagnostic) -> bool:
    return d.code == "PL004" and d.message.startswith("integer ") and "2^53" in d.message


def format_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[str]:
    """One ``path:line:col: severity[CODE] message`` line per diagnostic."""
    return [format_diagnostic(d) for d in diagnostics]
