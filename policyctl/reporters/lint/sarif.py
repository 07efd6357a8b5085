"""SARIF 2.1.0 format, for GitHub code scanning and other SARIF viewers.

One run; ``tool.driver.rules`` lists every known rule (so viewers can show help for rules that did
not fire) plus any code that appears in a result without being registered. Each result carries its
rule id and index, level, message, the file as a URI (relative under the working directory, else
``file://``) with line and column, and the JSON
Pointer of the offending value both as a logical location and in the result's property bag. A test
validates the output against the official OASIS schema.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from policyctl.reporters.lint import RenderOptions, RuleMeta, encodable

if TYPE_CHECKING:
    from policyctl.diagnostics import Diagnostic, LintReport

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning"}


def artifact_uri(path: str, *, cwd: str | None = None) -> str:
    """A URI reference for ``path``, percent-encoded exactly once.

    A file under the working directory gets a relative, ``/``-separated reference (``a%20b/x.json``);
    any other file (an absolute path elsewhere, or ``../x.json``) an absolute ``file://`` URI.
    Either decodes back to the file's path: the bytes of the name are encoded (``é`` is ``%C3%A9``,
    an undecodable byte stays that byte), and nothing is quoted twice.
    """
    if path == "<stdin>":
        return quote(path, safe="")
    here = os.path.abspath(cwd if cwd is not None else os.getcwd())
    full = os.path.normpath(os.path.join(here, path))
    try:
        inside = os.path.commonpath([here, full]) == here
    except ValueError:  # another drive on Windows
        inside = False
    if inside and full != here:
        relative = PurePath(os.path.relpath(full, here)).as_posix()
        return quote(os.fsencode(relative), safe="/")
    absolute = PurePath(full).as_posix()
    if not absolute.startswith("/"):  # C:/x on Windows: file:///C:/x
        absolute = "/" + absolute
    return "file://" + quote(os.fsencode(absolute), safe="/:")


def help_uri(base: str, rule: RuleMeta) -> str:
    return f"{base.rstrip('#')}#{quote(rule.code.lower())}-{quote(rule.name, safe='-')}"


def _rules(report: "LintReport", options: RenderOptions) -> list[RuleMeta]:
    known = {r.code: r for r in options.rules}
    for d in report.diagnostics:
        if d.code not in known:
            known[d.code] = RuleMeta(code=d.code, name=d.rule, summary=d.rule.replace("-", " "),
                                     severity=d.severity)
    return sorted(known.values(), key=lambda r: r.code)


def _descriptor(rule: RuleMeta, options: RenderOptions) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": encodable(rule.summary)},
        "helpUri": help_uri(options.information_uri, rule),
        "defaultConfiguration": {"level": _LEVEL.get(rule.severity, "warning")},
    }


def _fingerprint(d: "Diagnostic") -> str:
    # Stable when lines move: code + file + pointer (syntax errors have no pointer: use position).
    where = d.pointer if d.pointer is not None else f"@{d.line}:{d.column}"
    raw = "\x1f".join((d.code, d.path, where)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:32]


def _result(d: "Diagnostic", index: int, uri: str) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": uri},
            "region": {"startLine": max(1, d.line), "startColumn": max(1, d.column)},
        }
    }
    if d.pointer:
        location["logicalLocations"] = [{"fullyQualifiedName": encodable(d.pointer), "kind": "object"}]
    return {
        "ruleId": d.code,
        "ruleIndex": index,
        "level": _LEVEL.get(d.severity, "warning"),
        "message": {"text": encodable(d.message)},
        "locations": [location],
        "partialFingerprints": {"policyctl/v1": _fingerprint(d)},
        "properties": {
            "rule": d.rule,
            "pointer": None if d.pointer is None else encodable(d.pointer),
        },
    }


def document(report: "LintReport", options: RenderOptions) -> dict[str, Any]:
    rules = _rules(report, options)
    index = {r.code: i for i, r in enumerate(rules)}
    cwd = os.getcwd()
    uris: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    for f in report.files:
        uri = uris.setdefault(f.path, artifact_uri(f.path, cwd=cwd))
        results.extend(_result(d, index[d.code], uri) for d in f.diagnostics)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "policyctl",
                "version": options.tool_version,
                "informationUri": options.information_uri,
                "rules": [_descriptor(r, options) for r in rules],
            }},
            # uris keeps first-seen order and one entry per path (SARIF wants unique artifacts)
            "artifacts": [{"location": {"uri": uri}} for uri in dict.fromkeys(uris.values())],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render(report: "LintReport", options: RenderOptions) -> str:
    return json.dumps(document(report, options), indent=2, ensure_ascii=False) + "\n"
