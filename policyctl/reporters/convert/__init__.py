"""``policyctl convert``'s outputs: the converted policy (Intercept YAML or PolicyLayer JSON) and the
list of constructs that stopped a conversion."""

from __future__ import annotations

from typing import Any

from policyctl.reporters.init.yaml import comment, key_lines, quote
from policyctl.reporters.lint import printable, printable_json

_BARE_VALUES = ("op", "action", "default", "window")  # keys whose values are plain words


def render(conversion: Any, source: str) -> str:
    """The converted document as text (``source``: the input's display name, for the header)."""
    if conversion.target == "intercept":
        return render_intercept(conversion.data, source)
    return printable_json(conversion.data) + "\n"


def render_refusals(conversion: Any, source: str) -> list[str]:
    """One line per construct that has no exact form in the target, then a summary line."""
    target = "Intercept" if conversion.target == "intercept" else "PolicyLayer"
    lines = [f"{source}:{r.line}:{r.column}: {r.construct}: {r.why}" for r in conversion.refusals]
    count = len(conversion.refusals)
    lines.append(f"not converted: {count} construct{'s' if count != 1 else ''} without an exact {target} form; "
                 "nothing was written")
    return [printable(line) for line in lines]


def _number(value: float) -> str:
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exp = text.split("e")
        text = f"{mantissa}.0e{exp}"
    return text


def _flow(value: Any) -> str:
    """A value in YAML flow style that yaml.v3 and YAML 1.2 both read back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{quote(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"unexpected value {value!r}")


def _field(key: str, value: Any) -> str:
    if key in _BARE_VALUES and isinstance(value, str) and value.replace("_", "").isalpha():
        return f"{key}: {value}"
    return f"{key}: {_flow(value)}"


def render_intercept(data: dict[str, Any], source: str) -> str:
    out = [comment(f"Converted from {source} (PolicyLayer) by policyctl convert."),
           comment("Each rule's name is the PolicyLayer rule id it came from (docs/convert.md)."),
           'version: "1"', _field("default", data["default"])]
    if data.get("hide"):
        out.append("hide:")
        out.extend(f"  - {quote(name)}" for name in data["hide"])
    tools = data.get("tools") or {}
    if not tools:
        out.append("tools: {}")
    else:
        out.append("tools:")
    for name, tool in tools.items():
        out.extend(key_lines(quote(name), "  "))
        rules = tool["rules"]
        if not rules:
            out.append("    rules: []")
            continue
        out.append("    rules:")
        for rule in rules:
            first = True
            for key, value in rule.items():
                lead = "      - " if first else "        "
                first = False
                if key == "conditions":
                    out.append(f"{lead}conditions:")
                    for cond in value:
                        out.append(f"          - path: {quote(cond['path'])}")
                        out.append(f"            {_field('op', cond['op'])}")
                        out.append(f"            value: {_flow(cond['value'])}")
                elif key == "state":
                    out.append(f"{lead}state:")
                    out.extend(f"          {_field(k, v)}" for k, v in value.items())
                else:
                    out.append(lead + _field(key, value))
    return "\n".join(out) + "\n"
