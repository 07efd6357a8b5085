"""The policy dialects policyctl reads, and how a document's dialect is recognised.

``policylayer`` is PolicyLayer's hosted-gateway JSON (SPEC §1); ``intercept`` is the YAML of its
open-source proxy Intercept (v1.1.0). :func:`detect` looks at the content, never the file name;
``--dialect`` overrides it.
"""

from __future__ import annotations

from typing import Any

DIALECTS = ("policylayer", "intercept")

_POLICYLAYER_TOOL_KEYS = ("require", "deny_if", "limits")


#: what ``--rollback-on`` takes: which upstream failures give an Intercept call's reservations back
ROLLBACK_ON = ("jsonrpc_error", "any")


def check_rollback_on(value: str) -> None:
    """Refuse a ``--rollback-on`` value that is not one of :data:`ROLLBACK_ON` (exit 2)."""
    if value not in ROLLBACK_ON:
        from policyctl.errors import UsageError

        raise UsageError(f"--rollback-on: unknown value {value!r} (choose jsonrpc_error or any)")


def check_dialect(dialect: str | None) -> None:
    """Refuse a ``--dialect`` that is not one of :data:`DIALECTS` (a usage error, exit 2)."""
    if dialect is not None and dialect not in DIALECTS:
        from policyctl.errors import UsageError

        raise UsageError(f"--dialect: unknown dialect {dialect!r} (choose from {', '.join(DIALECTS)})")


def detect(data: Any) -> str:
    """``intercept`` when the document has Intercept's shape, else ``policylayer``.

    In order: ``all_tools`` means PolicyLayer; a ``rules`` key under any tool means Intercept;
    ``require``/``deny_if``/``limits`` under any tool mean PolicyLayer; then a ``"*"`` tool or a
    top-level ``description`` mean Intercept. Without any mark (say ``{"version": "1", "default":
    "deny"}``) the document is read as PolicyLayer's.
    """
    if not isinstance(data, dict):
        return "policylayer"
    if "all_tools" in data:
        return "policylayer"
    tools = data.get("tools")
    entries = [e for e in tools.values() if isinstance(e, dict)] if isinstance(tools, dict) else []
    if any("rules" in e for e in entries):
        return "intercept"
    if any(k in e for e in entries for k in _POLICYLAYER_TOOL_KEYS):
        return "policylayer"
    if (isinstance(tools, dict) and "*" in tools) or "description" in data:
        return "intercept"
    return "policylayer"
