"""Iterating over the parts of schema-valid policy data, with their JSON Pointers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from policyctl.documents.pointers import escape_token

# as policyctl.policy.dialects.policylayer.model (kept import-light)
WINDOW_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RuleRef:
    tool: str
    kind: str  # "require" | "deny_if"
    index: int
    rule: dict[str, Any]
    pointer: str

    @property
    def conditions(self) -> list[dict[str, Any]]:
        return self.rule.get("conditions", [])

    @property
    def label(self) -> str:
        return f"{self.kind} rule {self.index} of tool \"{self.tool}\""


@dataclass(frozen=True)
class LimitRef:
    location: str  # tool name, or "all_tools"
    is_all_tools: bool
    index: int
    limit: dict[str, Any]
    pointer: str

    @property
    def seconds(self) -> int:
        return WINDOW_SECONDS[self.limit["window"]]

    @property
    def label(self) -> str:
        where = "all_tools" if self.is_all_tools else f'tool "{self.location}"'
        return f"{where} limit {self.index} ({self.limit['max']} per {self.limit['window']}, " \
               f"counter \"{self.limit['counter']}\")"


# Every rule walks the same document; the walks are computed once per document (the cache holds
# the data object itself, so its id cannot be reused while the entry lives).
_memo: list[Any] = [None, {}]


def _cached(data: dict[str, Any], kind: str, build: Any) -> list[Any]:
    if _memo[0] is not data:
        _memo[0] = data
        _memo[1] = {}
    hit = _memo[1].get(kind)
    if hit is None:
        hit = _memo[1][kind] = build(data)
    return hit


def _tools(data: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    return [(name, entry, "/tools/" + escape_token(name))
            for name, entry in (data.get("tools") or {}).items()]


def _rules(data: dict[str, Any]) -> list[RuleRef]:
    return [RuleRef(name, kind, i, rule, f"{at}/{kind}/{i}")
            for name, entry, at in tools(data)
            for kind in ("require", "deny_if")
            for i, rule in enumerate(entry.get(kind, ()))]


def _conditions(data: dict[str, Any]) -> list[tuple[RuleRef, int, dict[str, Any], str]]:
    return [(ref, j, cond, f"{ref.pointer}/conditions/{j}")
            for ref in rules(data) for j, cond in enumerate(ref.conditions)]


def _limits(data: dict[str, Any]) -> list[LimitRef]:
    out = [LimitRef("all_tools", True, i, limit, f"/all_tools/limits/{i}")
           for i, limit in enumerate((data.get("all_tools") or {}).get("limits", ()))]
    out += [LimitRef(name, False, i, limit, f"{at}/limits/{i}")
            for name, entry, at in tools(data) for i, limit in enumerate(entry.get("limits", ()))]
    return out


def tools(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(name, entry, pointer) for each tool entry."""
    return iter(_cached(data, "tools", _tools))


def rules(data: dict[str, Any]) -> Iterator[RuleRef]:
    """Every require and deny_if rule, tool by tool."""
    return iter(_cached(data, "rules", _rules))


def conditions(data: dict[str, Any]) -> Iterator[tuple[RuleRef, int, dict[str, Any], str]]:
    """(rule, index, condition, pointer) for every condition."""
    return iter(_cached(data, "conditions", _conditions))


def limits(data: dict[str, Any]) -> Iterator[LimitRef]:
    """all_tools limits first, then each tool's."""
    return iter(_cached(data, "limits", _limits))


def show(value: Any, limit: int = 50) -> str:
    """A JSON rendering of a value for messages, shortened."""
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_condition(cond: dict[str, Any]) -> str:
    return f"{cond['path']} {cond['op']} {show(cond.get('value'), 30)}"
