"""The lint output formats, chosen by name (flake8's formatter registry).

Each format lives in its own module (``text``, ``json``, ``sarif``, ``github``,
``junit``) with one function ``render(report, options) -> str``. Modules are imported only when
their format is asked for: ``policyctl lint`` runs on every commit through pre-commit, so the text
path must not pay for XML, SARIF or rich when it does not need them.

This module also holds what the formats share: the options they receive and the helpers that make
hostile text (control characters, terminal escapes, lone surrogates from undecodable file names)
safe to print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policyctl.diagnostics import LintReport

#: where users find policyctl (SARIF viewers link to it); one constant so outputs are reproducible
PROJECT_URI = "https://pypi.org/project/policyctl/"

#: format name → module under ``policyctl.reporters.lint`` (order = order shown in ``--help``)
FORMATS: dict[str, str] = {
    "text": "text",
    "json": "json",
    "sarif": "sarif",
    "github": "github",
    "junit": "junit",
}

@dataclass(frozen=True, slots=True)
class RuleMeta:
    """What a report may say about a rule besides its findings (SARIF's ``tool.driver.rules``)."""

    code: str
    name: str
    summary: str
    severity: str  # default severity: "error" | "warning"


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Everything a lint format may need besides the report itself."""

    fail_level: str = "error"
    color: bool = False
    rules: tuple[RuleMeta, ...] = ()
    tool_version: str = ""
    # SARIF's informationUri; rule help links are this plus "#pl101-invalid-regex" (the anchor GitHub
    # gives the rule's heading in docs/lint-rules.md when this points at that file)
    information_uri: str = PROJECT_URI


def names() -> tuple[str, ...]:
    return tuple(FORMATS)


def render(fmt: str, report: "LintReport", options: RenderOptions) -> str:
    """Render ``report`` in format ``fmt`` (a key of :data:`FORMATS`); KeyError for unknown names."""
    module = import_module(f"{__name__}.{FORMATS[fmt]}")
    return module.render(report, options)  # type: ignore[no-any-return]


# Characters that must never reach a terminal, a workflow-command line or an XML file raw:
# C0/C1 controls (ANSI escapes start with ESC), DEL, lone surrogates (undecodable file names),
# Unicode line/paragraph separators and bidirectional overrides ("trojan source"); bidi marks,
# zero-width characters, the BOM and tag characters (invisible: text smuggled past a reviewer).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060"
                          "\u2066-\u2069\ud800-\udfff\ufeff\ufffe\uffff\U000e0000-\U000e007f]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:
        return f"\\U{code:08x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """One safe line: unprintable characters become visible ``\\xNN`` / ``\\uNNNN`` escapes."""
    s = str(text)
    return _UNPRINTABLE.sub(_escape_char, s)


def printable_json(value: object) -> str:
    """``value`` as indented JSON in which every character :func:`printable` escapes is a JSON
    ``\\uXXXX`` escape: the same data for a program, nothing raw for a terminal or an editor.

    Non-ASCII text stays readable (``é``); json.dumps already escapes C0 controls inside strings,
    so the C0 characters left in its output (newlines of the indentation) are layout and kept.
    A float that JSON cannot hold (an Intercept policy's ``.nan``, ``.inf``) is written as the
    string of its YAML spelling, so the output stays JSON (``NaN`` is not).
    """
    import json

    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), indent=2, ensure_ascii=False, allow_nan=False)
    return _UNPRINTABLE.sub(_json_escape_char, text)


def _finite(value: object) -> object:
    if isinstance(value, float) and value != value:
        return ".nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    return ch if ch < " " else json_escape(ch)


def json_escape(ch: str) -> str:
    """One character as a JSON ``\\uXXXX`` escape (a surrogate pair above U+FFFF)."""
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates (undecodable file names) become U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
