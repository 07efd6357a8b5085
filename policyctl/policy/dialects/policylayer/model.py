"""The typed policy model (PolicyLayer hosted format, version "1").

Built only from documents that already passed the JSON Schema, so validation here is a second line
of defence, not the user-facing one. Every later command (simulate, explain, diff, init) works on
these frozen values. ``dialect`` leaves room for Intercept's YAML format later.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from policyctl.documents.pointers import escape_token
from policyctl.documents.pointers import pointer as pointer  # re-exported: the PolicyLayer code builds them here

OPERATORS: tuple[str, ...] = (
    "eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "regex", "contains",
)
WINDOWS: tuple[str, ...] = ("minute", "hour", "day")
WINDOW_SECONDS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}

Op = Literal["eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "regex", "contains"]
Window = Literal["minute", "hour", "day"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Condition(_Frozen):
    path: str
    op: Op
    value: Any = None

    @property
    def segments(self) -> tuple[str, ...]:
        """The argument keys walked from ``args`` (``args.a.b`` → ``("a", "b")``)."""
        parts = self.path.split(".")
        return tuple(parts[1:]) if parts and parts[0] == "args" else tuple(parts)

    @property
    def ident(self) -> str:
        """``<path>-<op>``: how PolicyLayer's log names the condition that decided."""
        return f"{self.path}-{self.op}"


class Rule(_Frozen):
    conditions: tuple[Condition, ...] = ()
    on_deny: str | None = None

    @property
    def message(self) -> str | None:
        """The deny message, with an empty ``on_deny`` counting as absent."""
        return self.on_deny or None


class Limit(_Frozen):
    counter: str
    window: Window
    max: int = Field(ge=1)
    scope: Literal["grant"]

    @property
    def seconds(self) -> int:
        return WINDOW_SECONDS[self.window]

    @property
    def rate(self) -> float:
        """Allowance in calls per second of window, the unit diff compares limits in."""
        return self.max / self.seconds


class ToolPolicy(_Frozen):
    require: tuple[Rule, ...] = ()
    deny_if: tuple[Rule, ...] = ()
    limits: tuple[Limit, ...] = ()


class AllTools(_Frozen):
    limits: tuple[Limit, ...] = ()


class Policy(_Frozen):
    version: Literal["1"]
    default: Literal["allow", "deny"]
    hide: tuple[str, ...] = ()
    all_tools: AllTools = AllTools()
    tools: Mapping[str, ToolPolicy] = Field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return "policylayer-v1"

    @property
    def hides_all(self) -> bool:
        return "*" in self.hide

    def is_hidden(self, tool: str) -> bool:
        return "*" in self.hide or tool in self.hide

    @classmethod
    def from_data(cls, data: Any) -> "Policy":
        """Build from schema-valid data (raises pydantic.ValidationError otherwise)."""
        return cls.model_validate(data)

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data, omitting empty optional parts."""
        return self.model_dump(mode="json", exclude_defaults=True)


# pointers are built in one place (policyctl.documents.pointers); the names stay importable from here
escape_pointer_token = escape_token
