"""Intercept v1.1.0 policies: the document as Intercept's Go structs see it.

Intercept (PolicyLayer's open-source proxy) decodes its YAML with ``gopkg.in/yaml.v3`` into plain
structs, with unknown keys silently ignored, then applies defaults (``default`` → ``allow``,
``action`` → ``evaluate``, ``increment`` 0 → 1) and rewrites the ``rate_limit: "N/window"``
shorthand into a full stateful rule. :func:`build` does the same to the data policyctl loaded (with
positions), and records what Intercept would have refused to load (a value of the wrong type),
what it would have ignored (unknown keys) and what only later Intercept releases understand.

Everything keeps a JSON Pointer into the document, so lint can give line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from policyctl.documents.pointers import pointer as ptr
from policyctl.documents.pointers import split as split_pointer

WINDOWS = ("minute", "hour", "day")
OPERATORS = ("eq", "neq", "in", "not_in", "lt", "lte", "gt", "gte", "regex", "contains", "exists")
GLOBAL_SCOPE = "_global"
WILDCARD = "*"

# Keys of later Intercept releases (known from their documentation): accepted, reported as needing
# a newer Intercept than 1.1.0 rather than as unknown keys.
NEWER_TOP_KEYS = ("approvals", "spend")
NEWER_RULE_KEYS = ("approval_timeout", "spend")
NEWER_ACTIONS = ("require_approval",)

TOP_KEYS = ("version", "description", "default", "hide", "tools")
TOOL_KEYS = ("rules",)
RULE_KEYS = ("name", "action", "rate_limit", "conditions", "on_deny", "state")
CONDITION_KEYS = ("path", "op", "value")
STATE_KEYS = ("counter", "window", "increment", "increment_from")


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    value: Any
    has_value: bool
    pointer: str


@dataclass(frozen=True)
class State:
    counter: str
    window: str
    increment: int
    increment_from: str
    pointer: str


@dataclass(frozen=True)
class Rule:
    tool: str
    index: int
    name: str
    action: str  # after defaulting: "evaluate" when absent
    conditions: tuple[Condition, ...]
    on_deny: str
    state: State | None
    rate_limit: str  # non-empty only when the shorthand could not be rewritten
    desugared: bool  # written as ``rate_limit`` and rewritten into conditions and state
    pointer: str

    @property
    def scope(self) -> str:
        """The counter scope of this rule's state: its tool, or ``_global`` for the wildcard."""
        return GLOBAL_SCOPE if self.tool == WILDCARD else self.tool


@dataclass(frozen=True)
class Problem:
    """Something found while decoding: ``kind`` is ``type`` (Intercept refuses to load the file),
    ``unknown`` (a key Intercept ignores) or ``newer`` (a later Intercept release's key)."""

    kind: str
    message: str
    pointer: str
    key: bool = False


@dataclass(frozen=True)
class Config:
    version: str
    description: str
    default: str
    hide: tuple[str, ...]
    hide_pointers: tuple[str, ...]
    tools: dict[str, tuple[Rule, ...]]  # insertion order = document order
    tool_pointers: dict[str, str]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def loads(self) -> bool:
        """False when Intercept would refuse to load the file at all (a value of the wrong type)."""
        return not any(p.kind == "type" for p in self.problems)


_GO_TYPE = {dict: "!!map", list: "!!seq", str: "!!str", bool: "!!bool", int: "!!int", float: "!!float"}


def _tag(value: Any) -> str:
    if value is None:
        return "!!null"
    return _GO_TYPE.get(type(value), "!!str")


class _Builder:
    def __init__(self, texts: Mapping[str, str] | None = None) -> None:
        self.problems: list[Problem] = []
        self.texts = texts or {}

    def wrong(self, value: Any, go_type: str, at: str) -> None:
        # yaml.v3's own wording, which Intercept prints after "parsing config file: "
        shown = ""
        if isinstance(value, bool):
            shown = f" `{'true' if value else 'false'}`"
        elif isinstance(value, (str, int, float)):
            text = str(value).encode()
            # yaml.v3 shortens a scalar of more than 10 bytes to its first 7 and "..."
            shown = f" `{text[:7].decode(errors='replace')}...`" if len(text) > 10 else f" `{text.decode()}`"
        self.problems.append(Problem("type", f"cannot unmarshal {_tag(value)}{shown} into {go_type}", at))

    def unknown(self, obj: dict[str, Any], known: tuple[str, ...], newer: tuple[str, ...], at: str,
                where: str) -> None:
        for key in obj:
            if key in known:
                continue
            if key in newer:
                self.problems.append(Problem(
                    "newer", f'"{key}" is a feature of Intercept releases after 1.1.0; Intercept '
                    "1.1.0 ignores it", at + ptr(key), key=True))
            else:
                self.problems.append(Problem(
                    "unknown", f'unknown key "{key}" in {where}: Intercept ignores it silently, so '
                    "whatever it was meant to do does not happen", at + ptr(key), key=True))

    def string(self, value: Any, at: str) -> str:
        """A Go ``string`` field: a scalar's text whatever its tag (``version: 01`` is "01"); null is empty."""
        if value is None:
            return ""
        if not isinstance(value, (str, dict, list)) and at in self.texts:
            return self.texts[at]
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value) if isinstance(value, float) else str(value)
        if isinstance(value, str):
            return value
        self.wrong(value, "string", at)
        return ""

    def integer(self, value: Any, at: str) -> int:
        """A Go ``int`` field: integers as they are, floats truncated toward zero (yaml.v3)."""
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.wrong(value, "int", at)
            return 0
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                self.wrong(value, "int", at)
                return 0
            return int(value)
        return value

    def mapping(self, value: Any, go_type: str, at: str) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.wrong(value, go_type, at)
            return None
        return value

    def sequence(self, value: Any, go_type: str, at: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.wrong(value, go_type, at)
            return []
        return value


def parse_rate_limit(text: str) -> tuple[int, str] | str:
    """``(count, window)`` of ``"N/window"``, or Intercept's error message."""
    parts = text.split("/", 1)
    if len(parts) < 2:
        return f'rate_limit must be in the format "N/window" (e.g. "5/hour"), got {go_quote(text)}'
    count = _go_atoi(parts[0])
    if count is None or count <= 0:
        return f"rate_limit count must be a positive integer, got {go_quote(parts[0])}"
    if parts[1] not in WINDOWS:
        return f'rate_limit window must be "minute", "hour", or "day", got {go_quote(parts[1])}'
    return count, parts[1]


def _go_atoi(text: str) -> int | None:
    """Go's ``strconv.Atoi``: an optional sign, ASCII digits, no spaces, within int64."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not all("0" <= c <= "9" for c in body):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (what ``%q`` prints for a string)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif 0xD800 <= code <= 0xDFFF:  # an undecodable byte smuggled in as a lone surrogate
            out.append("\\ufffd")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def build_document(document: Any) -> Config:
    """:func:`build` of a loaded document, string fields taking the scalars' source text."""
    return build(yaml_v3_data(document), getattr(document, "scalar_texts", None),
                 getattr(document, "null_keys", frozenset()))


def build(data: Any, texts: Mapping[str, str] | None = None,
          null_keys: frozenset[str] | set[str] = frozenset()) -> Config:
    """Decode loaded YAML data the way Intercept v1.1.0 does, then apply its defaults. ``texts``
    (pointer → source text of the plain scalars that are not strings) gives string fields the text
    yaml.v3 gives them; without it they take the value written back as text. ``null_keys`` names
    the entries whose key is a YAML null (``null:``, ``~:``): yaml.v3 drops them (below).

    yaml.v3 (v3.0.1, ``decode.go``) cannot put a null into a Go string, a struct or a number: its
    ``null()`` only sets interfaces, pointers, maps and slices and reports failure otherwise. So an
    entry of ``tools`` (``map[string]ToolDef``) whose key is null is skipped, value and all (its
    value is never even decoded), and a null element of ``hide``, ``rules`` or ``conditions`` is left
    out of the list, the later elements moving up (``rules[1]`` in Intercept's messages may be the
    document's third item). A null in ``value`` (``any``) stays a nil."""
    b = _Builder(texts)
    top = b.mapping(data, "config.Config", "") if data is not None else {}
    top = top or {}
    b.unknown(top, TOP_KEYS, NEWER_TOP_KEYS, "", "the policy")
    version = b.string(top.get("version"), "/version")
    description = b.string(top.get("description"), "/description")
    default = b.string(top.get("default"), "/default") or "allow"
    hide: list[str] = []
    hide_ptrs: list[str] = []
    for i, entry in enumerate(b.sequence(top.get("hide"), "[]string", "/hide")):
        if entry is None:  # yaml.v3 leaves a null out of a []string
            continue
        hide.append(b.string(entry, ptr("hide", i)))
        hide_ptrs.append(ptr("hide", i))
    tools: dict[str, tuple[Rule, ...]] = {}
    tool_ptrs: dict[str, str] = {}
    for name, entry in (b.mapping(top.get("tools"), "map[string]config.ToolDef", "/tools") or {}).items():
        at = ptr("tools", name)
        if at in null_keys:
            shown = name if name else "(empty)"
            b.problems.append(Problem(
                "unknown", f"tool key {shown} is a YAML null, not a name: Intercept's YAML library "
                "(yaml.v3) drops the entry with everything under it, so its rules apply to no tool "
                "(quote the key to name a tool)", at, key=True))
            continue
        tool_ptrs[name] = at
        body = b.mapping(entry, "config.ToolDef", at) or {}
        b.unknown(body, TOOL_KEYS, (), at, f'tool "{name}"')
        rules: list[Rule] = []
        for i, raw in enumerate(b.sequence(body.get("rules"), "[]config.Rule", at + "/rules")):
            if raw is None:  # yaml.v3 leaves a null out of a []config.Rule
                continue
            rules.append(_rule(b, name, len(rules), raw, f"{at}/rules/{i}"))
        tools[name] = tuple(rules)
    return Config(version, description, default, tuple(hide), tuple(hide_ptrs), tools, tool_ptrs,
                  tuple(b.problems))


def _rule(b: _Builder, tool: str, index: int, raw: Any, at: str) -> Rule:
    body = b.mapping(raw, "config.Rule", at) or {}
    b.unknown(body, RULE_KEYS, NEWER_RULE_KEYS, at, f"rule {index} of tool \"{tool}\"")
    name = b.string(body.get("name"), at + "/name")
    action = b.string(body.get("action"), at + "/action")
    rate_limit = b.string(body.get("rate_limit"), at + "/rate_limit")
    on_deny = b.string(body.get("on_deny"), at + "/on_deny")
    conditions = []
    for j, c in enumerate(b.sequence(body.get("conditions"), "[]config.Condition", at + "/conditions")):
        if c is None:  # yaml.v3 leaves a null out of a []config.Condition
            continue
        cat = f"{at}/conditions/{j}"
        cbody = b.mapping(c, "config.Condition", cat) or {}
        b.unknown(cbody, CONDITION_KEYS, (), cat, f"condition {j} of rule \"{name}\"")
        conditions.append(Condition(b.string(cbody.get("path"), cat + "/path"),
                                    b.string(cbody.get("op"), cat + "/op"),
                                    cbody.get("value"), "value" in cbody, cat))
    state = None
    sbody = b.mapping(body.get("state"), "config.StateDef", at + "/state")
    if sbody is not None or ("state" in body and body["state"] is not None):
        sbody = sbody or {}
        b.unknown(sbody, STATE_KEYS, (), at + "/state", f"the state of rule \"{name}\"")
        state = State(b.string(sbody.get("counter"), at + "/state/counter"),
                      b.string(sbody.get("window"), at + "/state/window"),
                      b.integer(sbody.get("increment"), at + "/state/increment"),
                      b.string(sbody.get("increment_from"), at + "/state/increment_from"),
                      at + "/state")
    desugared = False
    if rate_limit:
        can = not conditions and state is None and action != "deny"
        parsed = parse_rate_limit(rate_limit) if can else None
        if isinstance(parsed, tuple):
            count, window = parsed
            scope = GLOBAL_SCOPE if tool == WILDCARD else tool
            counter = f"_rate_{window}"
            if action in NEWER_ACTIONS:  # 1.1.0 rewrites the rule; later releases refuse the pair
                b.problems.append(Problem(
                    "newer", f'action "{action}" with rate_limit: Intercept 1.1.0 rewrites the rule into '
                    "a plain rate limit and drops the action; later releases reject the combination",
                    at + "/action"))
            action = "evaluate"
            conditions = [Condition(f"state.{scope}.{counter}", "lte", count, True, at + "/rate_limit")]
            state = State(counter, window, 1, "", at + "/rate_limit")
            if not on_deny:
                on_deny = f"Rate limit of {count} per {window} reached. Try again later."
            rate_limit = ""
            desugared = True
    if not action:
        action = "evaluate"
    if state is not None and state.increment == 0:
        state = State(state.counter, state.window, 1, state.increment_from, state.pointer)
    return Rule(tool, index, name, action, tuple(conditions), on_deny, state, rate_limit, desugared, at)


@dataclass(frozen=True)
class GoTime:
    """A YAML timestamp, which yaml.v3 decodes as a Go ``time.Time``: not a number, not a string."""

    text: str

    def __str__(self) -> str:
        return self.text

    def go_v(self) -> str:
        """Go's ``%v`` of the time.Time (a bare date is midnight UTC)."""
        import re

        m = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", self.text)
        if m:
            return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d} 00:00:00 +0000 UTC"
        return self.text


def yaml_v3_data(document: Any) -> Any:
    """The document's data as yaml.v3 (Intercept's YAML library) decodes untyped values.

    policyctl reads YAML with YAML 1.2 core scalars; yaml.v3 agrees on booleans and floats but keeps
    YAML 1.1's integers (``010`` is 8, ``1_000`` is 1000, ``0b101``) and timestamps. The loader
    recorded every plain scalar where the two families disagree; those values are re-read here.
    """
    import copy
    import re

    data = document.data
    changes = []
    for s in getattr(document, "yaml11", ()):
        if s.key:
            continue
        text = s.text.replace("_", "")
        sign = -1 if text.startswith("-") else 1
        body = text.lstrip("+-")
        value: Any = None
        if re.fullmatch(r"0b[01]+", body):
            value = sign * int(body[2:], 2)
        elif re.fullmatch(r"0o?[0-7]+", body):
            value = sign * int(body.lstrip("0o") or "0", 8)
        elif re.fullmatch(r"0x[0-9a-fA-F]+", body):
            value = sign * int(body[2:], 16)
        elif re.fullmatch(r"[0-9]+", body):
            value = sign * int(body)
        elif re.fullmatch(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?", s.text):
            value = GoTime(s.text)
        if value is not None:
            changes.append((s.pointer, value))
    # A float literal beyond float64's range (1e400, or an integer of hundreds of digits) fails
    # strconv.ParseFloat with a range error, and yaml.v3 (resolve.go) then keeps the scalar as the
    # string it is written as; YAML's own .inf / .nan spellings are float64 infinities and NaN.
    for pointer, text in getattr(document, "scalar_texts", {}).items():
        if _overflows(text):
            changes.append((pointer, text))
    if changes:
        data = copy.deepcopy(data)
    for pointer, value in changes:
        tokens = split_pointer(pointer)
        node = data
        for t in tokens[:-1]:
            node = node[int(t)] if isinstance(node, list) else node[t]
        last = tokens[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return _merge_keys(data) if _has_merge_key(data) else data


def _overflows(text: str) -> bool:
    import re

    from policyctl.documents.loader import resolve_plain_yaml12

    if re.fullmatch(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", text):
        return False
    value = resolve_plain_yaml12(text)
    return isinstance(value, float) and value in (float("inf"), float("-inf"))


MERGE_KEY = "<<"


def _has_merge_key(node: Any) -> bool:
    if isinstance(node, dict):
        return MERGE_KEY in node or any(_has_merge_key(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_merge_key(v) for v in node)
    return False


def _merge_keys(node: Any) -> Any:
    """yaml.v3's merge keys: ``<<: *anchor`` (or a list of anchors) adds the entries of those
    mappings that the mapping does not set itself, the first mapping of a list winning. A ``<<``
    whose value is not a mapping or a list of them is left as it is (yaml.v3 refuses to load it)."""
    if isinstance(node, list):
        return [_merge_keys(v) for v in node]
    if not isinstance(node, dict):
        return node
    merged = {k: _merge_keys(v) for k, v in node.items() if k != MERGE_KEY}
    if MERGE_KEY in node:
        sources = node[MERGE_KEY] if isinstance(node[MERGE_KEY], list) else [node[MERGE_KEY]]
        if not all(isinstance(src, dict) for src in sources):
            merged[MERGE_KEY] = node[MERGE_KEY]
            return merged
        for src in sources:
            for k, v in _merge_keys(src).items():
                merged.setdefault(k, v)
    return merged
