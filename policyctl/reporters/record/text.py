"""The few lines ``policyctl record`` prints on stderr when the session ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policyctl.mcp.proxy.record import RecordResult


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def render(result: "RecordResult", *, policy: bool, enforce: bool) -> str:
    s = result.stats
    lines = [f"policyctl record: {s.calls} tool call{'s' if s.calls != 1 else ''} recorded to {result.trace}"
             + (f" ({_counts(s.upstream)})" if s.upstream else "")]
    if policy:
        allowed = s.decisions.get("allowed", 0)
        denied = sum(v for k, v in s.decisions.items() if k != "allowed")
        verb = "denied" if enforce else "would deny"
        detail = _counts({k: v for k, v in s.decisions.items() if k != "allowed"})
        lines.append(f"  policy: allowed {allowed}, {verb} {denied}" + (f" ({detail})" if detail else ""))
        if result.policy_reloads or result.policy_refused:
            lines.append(f"  policy reloaded {result.policy_reloads}x, refused {result.policy_refused}x")
    odd = []
    if s.malformed_from_client:
        odd.append(f"{s.malformed_from_client} malformed from the client")
    if s.malformed_from_server:
        odd.append(f"{s.malformed_from_server} malformed from the server")
    if s.unread_large:
        odd.append(f"{s.unread_large} too large to read (relayed unread)")
    if odd:
        lines.append("  messages: " + ", ".join(odd) + " — all passed on unchanged"
                     + (" (too-large client messages refused under --enforce)" if enforce and s.unread_large else "")
                     + (" except the server answers refused below" if s.refused_from_server else ""))
    if s.refused_unchecked:
        lines.append(f"  refused {s.refused_unchecked} client message{'s' if s.refused_unchecked != 1 else ''} "
                     "it could not check (not valid JSON, a tools/call without an id or with unreadable "
                     "params, a member name that is not exact)")
    if s.refused_from_server:
        n = s.refused_from_server
        lines.append(f"  refused {n} server answer{'s' if n != 1 else ''} that may list tools and could not be "
                     "checked (answered with a JSON-RPC error: hidden tools are not shown)")
    return "\n".join(lines) + "\n"
