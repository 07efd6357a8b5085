"""The lint rule registry, keyed by stable codes (never reused) and kebab-case names.

Families: ``PL0xx`` loading (syntax, schema, duplicate keys, numbers), ``PL1xx`` correctness (the
policy cannot do what it says), ``PL2xx`` security posture, ``PL3xx`` maintainability, ``PL5xx``
the Intercept dialect (Intercept's own validation, and its traps). Rules declare the ``DIALECT``
they apply to (``policylayer`` by default, ``intercept``, or ``any``).

Each rule lives in its own module ``policyctl/lint/rules/plNNN_<name>.py`` with

* ``CODE``, ``NAME``, ``SEVERITY`` (the default; configuration may change it), ``NEEDS_TOOLS``
  (the rule runs only with ``lint --tools SNAPSHOT``);
* ``check(ctx) -> Iterable[Finding]`` (``None`` for the PL0xx rules, which the loader reports);
* a module docstring that is the rule's user documentation: a summary line, an explanation, and a
  failing and a passing example (``Failing example:`` / ``Passing example:`` followed by an
  indented YAML policy). ``docs/lint-rules.md`` and the README's rule table are generated from
  these docstrings (:func:`rules_markdown`, :func:`rule_table_markdown`), and a test lints every
  example.

Rules yield :class:`Finding` values (message, pointer, key); the linter stamps code, severity
and position.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

if TYPE_CHECKING:
    from policyctl.documents.loader import Document

# code → module name (in this package). Order = documentation order.
_MODULES: dict[str, str] = {
    "PL001": "pl001_syntax_error",
    "PL002": "pl002_schema_violation",
    "PL003": "pl003_duplicate_key",
    "PL004": "pl004_unportable_number",
    "PL101": "pl101_invalid_regex",
    "PL102": "pl102_hidden_and_configured",
    "PL103": "pl103_duplicate_counter",
    "PL104": "pl104_empty_require",
    "PL105": "pl105_empty_in_list",
    "PL106": "pl106_contradictory_conditions",
    "PL107": "pl107_unreachable_limit",
    "PL108": "pl108_counter_name_reused",
    "PL109": "pl109_unknown_tool",
    "PL110": "pl110_unknown_argument",
    "PL111": "pl111_argument_type_mismatch",
    "PL201": "pl201_unanchored_allowlist",
    "PL202": "pl202_fully_open",
    "PL301": "pl301_yaml11_scalar",
    "PL501": "pl501_intercept_invalid",
    "PL502": "pl502_intercept_unknown_key",
    "PL503": "pl503_intercept_newer_release",
    "PL504": "pl504_intercept_state_never_counts",
    "PL505": "pl505_intercept_lt_limit",
    "PL506": "pl506_intercept_foreign_counter",
    "PL507": "pl507_intercept_increment_from_type",
    "PL508": "pl508_intercept_negative_increment",
    "PL509": "pl509_intercept_unreachable_rule",
    "PL510": "pl510_intercept_limit_out_of_range",
}

FAMILIES = {"PL0": "loading", "PL1": "correctness", "PL2": "security posture",
            "PL3": "maintainability", "PL5": "Intercept dialect"}


@dataclass(frozen=True)
class Finding:
    """What a rule reports: a message and where (``key=True``: at the key named by ``pointer``)."""

    message: str
    pointer: str
    key: bool = False


class ToolLike(Protocol):
    """What rules need from a tool of a snapshot (``policyctl.scan.snapshots.ToolInfo``)."""

    name: str
    description: str
    input_schema: dict[str, Any]
    annotations: dict[str, Any]


class ToolsLike(Protocol):
    """What rules need from a snapshot (``policyctl.scan.snapshots.Snapshot``)."""

    @property
    def tools(self) -> tuple[Any, ...]: ...

    def tool(self, name: str) -> Any: ...


@dataclass(frozen=True)
class Context:
    """What a rule sees: one schema-valid document and, with ``--tools``, the server's tools."""

    document: "Document"
    tools: ToolsLike | None = None

    @property
    def data(self) -> Any:
        return self.document.data


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str  # default severity
    summary: str
    doc: str  # the module docstring (markdown-ish text)
    needs_tools: bool
    check: Callable[[Context], Iterable[Finding]] | None
    dialect: str = "policylayer"  # the dialect the rule applies to: policylayer, intercept or any

    @property
    def family(self) -> str:
        return FAMILIES[self.code[:3]]


def _load(code: str) -> Rule:
    module = import_module(f"{__name__}.{_MODULES[code]}")
    doc = textwrap.dedent(module.__doc__ or "").strip()
    summary = doc.splitlines()[0].strip() if doc else ""
    assert module.CODE == code, module.__name__
    return Rule(code=code, name=module.NAME, severity=module.SEVERITY, summary=summary, doc=doc,
                needs_tools=getattr(module, "NEEDS_TOOLS", False), check=getattr(module, "check", None),
                dialect=getattr(module, "DIALECT", "policylayer"))


@lru_cache(maxsize=None)
def all_rules() -> tuple[Rule, ...]:
    """Every registered rule, in code order."""
    return tuple(_load(code) for code in _MODULES)


def selected(codes: Iterable[str]) -> tuple[Rule, ...]:
    """The rules with these codes, in code order, importing only their modules (the Intercept
    loader needs two rules and should not pay for importing every one)."""
    wanted = set(codes)
    return tuple(_load(code) for code in _MODULES if code in wanted)


@lru_cache(maxsize=None)
def _by_code() -> dict[str, Rule]:
    return {r.code: r for r in all_rules()}


@lru_cache(maxsize=None)
def _by_name() -> dict[str, Rule]:
    return {r.name: r for r in all_rules()}


def get(code_or_name: str) -> Rule:
    """The rule with this code (``PL101``) or name (``invalid-regex``); KeyError otherwise."""
    key = code_or_name.strip()
    rule = _by_code().get(key.upper()) or _by_name().get(key.lower())
    if rule is None:
        raise KeyError(code_or_name)
    return rule


def codes() -> tuple[str, ...]:
    return tuple(_MODULES)


def load_codes() -> tuple[str, ...]:
    """The load diagnostics: always run, always reported, always errors.

    PL0xx, and for Intercept files PL501 (Intercept refuses the policy) and PL502 (a key it would
    ignore): a file with one of them is refused by simulate, explain and diff, so no configuration
    may make lint call such a file clean.
    """
    return tuple(c for c in _MODULES if c.startswith("PL0")) + ("PL501", "PL502")


_SELECTOR = re.compile(r"PL[0-9]{0,3}\Z")


def expand(selector: str) -> tuple[str, ...]:
    """Codes a selector stands for: a code, a name, a code prefix (``PL2``, ``PL10``) or ``ALL``.

    Raises KeyError for a selector that matches no rule.
    """
    key = selector.strip()
    if key.upper() == "ALL":
        return codes()
    try:
        return (get(key).code,)
    except KeyError:
        pass
    upper = key.upper()
    if _SELECTOR.match(upper):
        hits = tuple(c for c in _MODULES if c.startswith(upper))
        if hits:
            return hits
    raise KeyError(selector)


def rule_table_markdown() -> str:
    """The README rule table: code, name, default severity, summary."""
    lines = ["| Code | Name | Default severity | Summary |", "|---|---|---|---|"]
    for r in all_rules():
        summary = r.summary.replace("|", "\\|")
        extra = " *(needs `--tools`)*" if r.needs_tools else ""
        lines.append(f"| `{r.code}` | `{r.name}` | {r.severity} | {summary}{extra} |")
    return "\n".join(lines) + "\n"


RULES_START = "<!-- rules:start (generated by policyctl.lint.rules.rules_markdown(); do not edit) -->"
RULES_END = "<!-- rules:end -->"


def rules_markdown() -> str:
    """Every rule's documentation as markdown: the block between the markers of docs/lint-rules.md."""
    out = [RULES_START, "", rule_table_markdown().rstrip()]
    for r in all_rules():
        out += ["", f"### {r.code} `{r.name}`", "",
                f"*Family:* {r.family}. *Default severity:* {r.severity}."
                + (" *Runs only with* `--tools SNAPSHOT`." if r.needs_tools else ""), ""]
        body = r.doc.split("\n", 1)[1].strip() if "\n" in r.doc else ""
        out.append(f"**{r.summary}**")
        out.append("")
        out.append(_markdown_body(body))
    out.append(RULES_END)
    return "\n".join(out).rstrip() + "\n"


def _markdown_body(body: str) -> str:
    """Turn indented example blocks (after a line ending in ':') into fenced code blocks."""
    lines = body.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("example:") or line.rstrip().endswith("snapshot:"):
            out.append(f"*{line.strip()}*")
            out.append("")
            i += 1
            block: list[str] = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                block.append(lines[i][4:] if lines[i].startswith("    ") else "")
                i += 1
            while block and not block[-1].strip():
                block.pop()
            while block and not block[0].strip():
                block.pop(0)
            lang = "json" if block and block[0].lstrip().startswith(("{", "[")) else "yaml"
            out.append(f"```{lang}")
            out.extend(block)
            out.append("```")
            out.append("")
            continue
        out.append(line)
        i += 1
    return "\n".join(out).rstrip() + "\n"


def examples(rule: Rule) -> dict[str, str]:
    """The rule's example texts by label (``failing``, ``passing``, ``snapshot``) from its doc."""
    found: dict[str, str] = {}
    lines = rule.doc.splitlines()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip().lower()
        label = None
        for name in ("failing example:", "passing example:", "snapshot:"):
            if stripped.endswith(name):
                label = name.split()[0].rstrip(":")
        i += 1
        if label is None:
            continue
        block: list[str] = []
        while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
            block.append(lines[i][4:] if lines[i].startswith("    ") else "")
            i += 1
        found.setdefault(label, "\n".join(block).strip() + "\n")
    return found
