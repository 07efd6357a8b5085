"""The typed policy model (PolicyLayer hosted format, version "1").

Built only from documents that already passed the JSON Schema (:func:`Policy.from_data`), so the
checks here are a second line of defence, not the user-facing one: anything else raises
``ValueError`` naming where it is. Every later command (simulate, explain, diff, init) works on
these frozen values.

Plain frozen dataclasses, not pydantic models: the schema has already validated the document, and
importing pydantic and building its validators cost about 95 ms of every ``simulate``, ``explain``
and ``diff`` start-up (measured on the 2-CPU CI machine; ``bench/simulate_bench.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from policyctl.documents.pointers import escape_token
from policyctl.documents.pointers import pointer as pointer  # re-exported: the PolicyLayer code builds them here

OPERATORS: tuple[str, ...] = (
    "eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "regex", "contains",
)
WINDOWS: tuple[str, ...] = ("minute", "hour", "day")
WINDOW_SECONDS: dict[str, int] = {"minute": 60, "hour": 3600, "day": 86400}

Op = Literal["eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "regex", "contains"]
Window = Literal["minute", "hour", "day"]


@dataclass(frozen=True)
class Condition:
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


@dataclass(frozen=True)
class Rule:
    conditions: tuple[Condition, ...] = ()
    on_deny: str | None = None

    @property
    def message(self) -> str | None:
        """The deny message, with an empty ``on_deny`` counting as absent."""
        return self.on_deny or None


@dataclass(frozen=True)
class Limit:
    counter: str
    window: Window
    max: int
    scope: Literal["grant"] = "grant"

    @property
    def seconds(self) -> int:
        return WINDOW_SECONDS[self.window]

    @property
    def rate(self) -> float:
        """Allowance in calls per second of window, the unit diff compares limits in."""
        return self.max / self.seconds


@dataclass(frozen=True)
class ToolPolicy:
    require: tuple[Rule, ...] = ()
    deny_if: tuple[Rule, ...] = ()
    limits: tuple[Limit, ...] = ()


@dataclass(frozen=True)
class AllTools:
    limits: tuple[Limit, ...] = ()


@dataclass(frozen=True)
class Policy:
    version: Literal["1"]
    default: Literal["allow", "deny"]
    hide: tuple[str, ...] = ()
    all_tools: AllTools = AllTools()
    tools: Mapping[str, ToolPolicy] = field(default_factory=dict)

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
        """Build from schema-valid data (raises ``ValueError`` naming the place otherwise)."""
        doc = _object(data, "", ("version", "default", "hide", "all_tools", "tools"), ("version", "default"))
        if doc["version"] != "1":
            raise ValueError('/version: must be "1"')
        if doc["default"] not in ("allow", "deny"):
            raise ValueError('/default: must be "allow" or "deny"')
        hide = tuple(_string(v, pointer("hide", i)) for i, v in enumerate(_array(doc.get("hide", []), "/hide")))
        everything = _object(doc.get("all_tools", {}), "/all_tools", ("limits",))
        limits = _limits(everything, "/all_tools")
        tools: dict[str, ToolPolicy] = {}
        for name, entry in _object(doc.get("tools", {}), "/tools").items():
            at = pointer("tools", name)
            entry = _object(entry, at, ("require", "deny_if", "limits"))
            tools[name] = ToolPolicy(_rules(entry, "require", at), _rules(entry, "deny_if", at), _limits(entry, at))
        return cls(doc["version"], doc["default"], hide, AllTools(limits), tools)

    def to_data(self) -> dict[str, Any]:
        """The policy as a schema-valid document, omitting empty optional parts."""
        out: dict[str, Any] = {"version": self.version, "default": self.default}
        if self.hide:
            out["hide"] = list(self.hide)
        if self.all_tools.limits:
            out["all_tools"] = {"limits": [_limit_data(lim) for lim in self.all_tools.limits]}
        if self.tools:
            tools: dict[str, Any] = {}
            for name, entry in self.tools.items():
                data: dict[str, Any] = {}
                for key in ("require", "deny_if"):
                    rules = getattr(entry, key)
                    if rules:
                        data[key] = [_rule_data(rule) for rule in rules]
                if entry.limits:
                    data["limits"] = [_limit_data(lim) for lim in entry.limits]
                tools[name] = data
            out["tools"] = tools
        return out


def _object(value: Any, at: str, keys: tuple[str, ...] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{at or '/'}: must be an object")
    if keys is not None:
        for key in value:
            if key not in keys:
                raise ValueError(f"{at}/{escape_token(key)}: unknown key")
    for key in required:
        if key not in value:
            raise ValueError(f"{at}/{key}: missing")
    return value


def _array(value: Any, at: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{at}: must be an array")
    return value


def _string(value: Any, at: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{at}: must be a string")
    return value


def _rules(entry: dict[str, Any], key: str, at: str) -> tuple[Rule, ...]:
    out = []
    for i, rule in enumerate(_array(entry.get(key, []), f"{at}/{key}")):
        here = f"{at}/{key}/{i}"
        rule = _object(rule, here, ("conditions", "on_deny"), ("conditions",))
        conds = []
        for j, cond in enumerate(_array(rule["conditions"], f"{here}/conditions")):
            where = f"{here}/conditions/{j}"
            cond = _object(cond, where, ("path", "op", "value"), ("path", "op"))
            if cond["op"] not in OPERATORS:
                raise ValueError(f"{where}/op: unknown operator")
            conds.append(Condition(_string(cond["path"], f"{where}/path"), cond["op"], cond.get("value")))
        on_deny = rule.get("on_deny")
        if on_deny is not None:
            _string(on_deny, f"{here}/on_deny")
        out.append(Rule(tuple(conds), on_deny))
    return tuple(out)


def _limits(entry: dict[str, Any], at: str) -> tuple[Limit, ...]:
    out = []
    for k, lim in enumerate(_array(entry.get("limits", []), f"{at}/limits")):
        here = f"{at}/limits/{k}"
        lim = _object(lim, here, ("counter", "window", "max", "scope"), ("counter", "window", "max", "scope"))
        mx = lim["max"]
        if isinstance(mx, float) and mx.is_integer():  # JSON Schema's "integer" admits 5.0
            mx = int(mx)
        if not isinstance(mx, int) or isinstance(mx, bool) or mx < 1:
            raise ValueError(f"{here}/max: must be an integer of at least 1")
        if lim["window"] not in WINDOWS:
            raise ValueError(f"{here}/window: must be minute, hour or day")
        if lim["scope"] != "grant":
            raise ValueError(f'{here}/scope: must be "grant"')
        out.append(Limit(_string(lim["counter"], f"{here}/counter"), lim["window"], mx, "grant"))
    return tuple(out)


def _limit_data(lim: Limit) -> dict[str, Any]:
    return {"counter": lim.counter, "window": lim.window, "max": lim.max, "scope": lim.scope}


def _rule_data(rule: Rule) -> dict[str, Any]:
    conds = []
    for c in rule.conditions:
        conds.append({"path": c.path, "op": c.op, "value": c.value})  # every operator states a value
    out: dict[str, Any] = {"conditions": conds}
    if rule.on_deny is not None:
        out["on_deny"] = rule.on_deny
    return out


# pointers are built in one place (policyctl.documents.pointers); the names stay importable from here
escape_pointer_token = escape_token
