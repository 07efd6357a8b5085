"""The lint output formats, on hand-made reports (the CLI golden tests cover them end to end)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

import policyctl.reporters.lint as lint_formats
from policyctl.diagnostics import Diagnostic, FileReport, LintReport
from policyctl.reporters.lint import RenderOptions, RuleMeta, printable
from policyctl.reporters.lint import github as lint_github
from policyctl.reporters.lint import sarif as lint_sarif
from policyctl.reporters.lint import text as lint_text

DATA = Path(__file__).parent / "data"


def diag(path: str, line: int, col: int, code: str, rule: str, severity: str, message: str,
         pointer: str | None) -> Diagnostic:
    return Diagnostic(code=code, rule=rule, severity=severity, message=message, path=path,  # type: ignore[arg-type]
                      line=line, column=col, pointer=pointer)


BAD = "policies/bad.policy.json"
REPORT = LintReport(files=(
    FileReport(path="policies/clean.policy.yaml"),
    FileReport(path=BAD, diagnostics=(
        diag(BAD, 7, 22, "PL101", "invalid-regex", "error",
             "regex '(?=x)[a-z]' is not RE2 syntax: lookahead is Python-only", "/tools/run/require/0/conditions/0/value"),
        diag(BAD, 12, 5, "PL202", "unanchored-allowlist", "warning",
             "require regex is not anchored with ^...$", "/tools/run/require/1/conditions/0/value"),
    )),
    FileReport(path="broken.policy.yaml", diagnostics=(
        diag("broken.policy.yaml", 3, 1, "PL001", "syntax-error", "error", "expected ':' after a key", None),
    )),
))
CLEAN = LintReport(files=(FileReport(path="a.policy.json"), FileReport(path="b.policy.json")))
RULES = (
    RuleMeta("PL001", "syntax-error", "The file is not valid JSON or YAML.", "error"),
    RuleMeta("PL101", "invalid-regex", "A regex RE2 cannot compile.", "error"),
    RuleMeta("PL202", "unanchored-allowlist", "A require regex without ^...$.", "warning"),
    RuleMeta("PL301", "yaml11-scalar", "A YAML 1.1 surprise.", "warning"),
)


def opts(**kw) -> RenderOptions:
    return RenderOptions(**{"tool_version": "9.9.9", **kw})


# --- registry -----------------------------------------------------------------------------------

def test_registry_names_every_format_and_renders_each():
    assert lint_formats.names() == ("text", "json", "sarif", "github", "junit")
    for name in lint_formats.names():
        assert lint_formats.render(name, REPORT, opts()).endswith("\n")


def test_registry_rejects_unknown_format():
    with pytest.raises(KeyError):
        lint_formats.render("yaml", REPORT, opts())


def test_printable_escapes_terminal_controls_and_bidi():
    assert printable("a\x1b[31mred\x1b[0m") == "a\\x1b[31mred\\x1b[0m"
    assert printable("line\nnext\tx") == "line\\x0anext\\x09x"
    assert printable("abc\u202edef") == "abc\\u202edef"
    assert printable("caf\u00e9 \u2603") == "caf\u00e9 \u2603"  # ordinary non-ASCII is kept
    assert printable("bad\udcff.json") == "bad\\udcff.json"


# --- text ---------------------------------------------------------------------------------------

def test_text_lines_and_summary():
    assert lint_text.render(REPORT, opts()) == (
        "policies/bad.policy.json:7:22: error[PL101] regex '(?=x)[a-z]' is not RE2 syntax: lookahead is Python-only\n"
        "policies/bad.policy.json:12:5: warning[PL202] require regex is not anchored with ^...$\n"
        "broken.policy.yaml:3:1: error[PL001] expected ':' after a key\n"
        "3 files checked: 2 errors, 1 warning\n"
    )


def test_text_summary_when_clean_and_singular():
    assert lint_text.render(CLEAN, opts()) == "2 files checked: no problems\n"
    one = LintReport(files=(FileReport("x.json", (diag("x.json", 1, 1, "PL002", "schema", "error", "m", ""),)),))
    assert lint_text.render(one, opts()).splitlines()[-1] == "1 file checked: 1 error, 0 warnings"


def test_text_rich_rendering_without_colour_is_identical_to_plain(monkeypatch):
    monkeypatch.setenv("POLICYCTL_WIDTH", "40")  # narrower than the lines: they must not wrap
    assert lint_text.render_rich(REPORT, color=False) == lint_text.render(REPORT, opts())


def test_text_colour_uses_ansi_and_never_interprets_policy_text_as_markup(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    hostile = LintReport(files=(FileReport("[bold]x[/bold].json", (
        diag("[bold]x[/bold].json", 2, 3, "PL101", "invalid-regex", "error",
             "bad regex [/] and [red]text[/red] and \x1b]0;title\x07", "/a"),)),))
    out = lint_text.render(hostile, opts(color=True))
    assert "\x1b[" in out  # styled
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert plain == lint_text.render(hostile, opts())
    assert "[bold]x[/bold].json:2:3: error[PL101] bad regex [/] and [red]text[/red] and \\x1b]0;title\\x07" in plain


# --- json ---------------------------------------------------------------------------------------

def test_json_shape_is_exactly_the_spec():
    doc = json.loads(lint_formats.render("json", REPORT, opts()))
    assert list(doc) == ["version", "files", "summary"]
    assert doc["version"] == 1
    assert doc["summary"] == {"files": 3, "errors": 2, "warnings": 1}
    assert [f["path"] for f in doc["files"]] == ["policies/clean.policy.yaml", BAD, "broken.policy.yaml"]
    assert doc["files"][0] == {"path": "policies/clean.policy.yaml", "diagnostics": []}
    assert doc["files"][1]["diagnostics"][0] == {
        "code": "PL101", "rule": "invalid-regex", "severity": "error",
        "message": "regex '(?=x)[a-z]' is not RE2 syntax: lookahead is Python-only",
        "line": 7, "column": 22, "pointer": "/tools/run/require/0/conditions/0/value",
    }
    assert doc["files"][2]["diagnostics"][0]["pointer"] is None


def test_json_survives_undecodable_file_names():
    name = "bad\udcff.policy.json"
    r = LintReport(files=(FileReport(name, (diag(name, 1, 1, "PL001", "syntax-error", "error", "x", None),)),))
    text = lint_formats.render("json", r, opts())
    text.encode("utf-8")  # would raise on a lone surrogate
    assert json.loads(text)["files"][0]["path"] == "bad\ufffd.policy.json"


# --- sarif --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def _valid(validator: jsonschema.Draft4Validator, doc: dict) -> None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_vendored_sarif_schema_is_the_official_one():
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"] == lint_sarif.SCHEMA_URI
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_sarif_is_valid_against_the_official_schema(sarif_validator):
    doc = json.loads(lint_formats.render("sarif", REPORT, opts(rules=RULES)))
    _valid(sarif_validator, doc)
    _valid(sarif_validator, json.loads(lint_formats.render("sarif", CLEAN, opts(rules=RULES))))


def test_a_broken_sarif_document_is_caught_by_the_schema(sarif_validator):
    # guards the validation itself: the schema must reject what SARIF forbids
    doc = json.loads(lint_formats.render("sarif", REPORT, opts(rules=RULES)))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    assert list(sarif_validator.iter_errors(doc))


def test_sarif_content(sarif_validator):
    doc = json.loads(lint_formats.render("sarif", REPORT, opts(rules=RULES[:2])))
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "policyctl" and driver["version"] == "9.9.9"
    assert driver["informationUri"].startswith("https://")
    # registered rules plus PL202, which fired without being in the list
    assert [r["id"] for r in driver["rules"]] == ["PL001", "PL101", "PL202"]
    assert driver["rules"][1] == {
        "id": "PL101", "name": "invalid-regex",
        "shortDescription": {"text": "A regex RE2 cannot compile."},
        "helpUri": "https://pypi.org/project/policyctl/#pl101-invalid-regex",
        "defaultConfiguration": {"level": "error"},
    }
    assert driver["rules"][2]["defaultConfiguration"] == {"level": "warning"}
    results = run["results"]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in results] == [
        ("PL101", 1, "error"), ("PL202", 2, "warning"), ("PL001", 0, "error")]
    first = results[0]
    assert first["message"]["text"].startswith("regex '(?=x)[a-z]'")
    loc = first["locations"][0]
    assert loc["physicalLocation"] == {"artifactLocation": {"uri": "policies/bad.policy.json"},
                                       "region": {"startLine": 7, "startColumn": 22}}
    assert loc["logicalLocations"] == [{"fullyQualifiedName": "/tools/run/require/0/conditions/0/value",
                                        "kind": "object"}]
    assert first["properties"] == {"rule": "invalid-regex", "pointer": "/tools/run/require/0/conditions/0/value"}
    assert "logicalLocations" not in results[2]["locations"][0]  # syntax error: no pointer
    assert results[2]["properties"]["pointer"] is None
    assert [a["location"]["uri"] for a in run["artifacts"]] == [
        "policies/clean.policy.yaml", "policies/bad.policy.json", "broken.policy.yaml"]


def test_sarif_uris_are_relative_and_encoded(tmp_path):
    cwd = str(tmp_path)
    assert lint_sarif.artifact_uri("a b/c#d.policy.json", cwd=cwd) == "a%20b/c%23d.policy.json"
    assert lint_sarif.artifact_uri(os.path.join(cwd, "sub", "p.json"), cwd=cwd) == "sub/p.json"
    assert lint_sarif.artifact_uri("/elsewhere/p.json", cwd=cwd) == "file:///elsewhere/p.json"
    assert lint_sarif.artifact_uri("c:x.json", cwd=cwd) == "c%3Ax.json"  # not mistaken for a scheme
    assert lint_sarif.artifact_uri("<stdin>", cwd=cwd) == "%3Cstdin%3E"
    assert lint_sarif.artifact_uri("./a/../b.json", cwd=cwd) == "b.json"


def test_sarif_uris_outside_the_cwd_are_file_uris_encoded_once(tmp_path):
    # B1: an absolute path used to be quoted twice (%2520), and ../ stayed a relative reference
    from urllib.parse import unquote, urlsplit

    cwd = tmp_path / "sub"
    real = tmp_path / "sp ace dir" / "é x.policy.json"
    expected = "file://" + str(tmp_path).replace(" ", "%20") + "/sp%20ace%20dir/%C3%A9%20x.policy.json"
    for given in (str(real), "../sp ace dir/é x.policy.json"):
        uri = lint_sarif.artifact_uri(given, cwd=str(cwd))
        assert uri == expected
        assert "%25" not in uri
        parts = urlsplit(uri)
        assert (parts.scheme, parts.netloc, unquote(parts.path)) == ("file", "", str(real))
    inside = lint_sarif.artifact_uri(str(cwd / "dé j/a b.json"), cwd=str(cwd))
    assert inside == "d%C3%A9%20j/a%20b.json"
    assert unquote(inside) == "dé j/a b.json"
    # an undecodable byte in a file name stays that byte, so the URI still names the file
    assert lint_sarif.artifact_uri("/x/bad\udcff.json", cwd=str(cwd)) == "file:///x/bad%FF.json"


def test_sarif_with_hostile_paths_stays_valid(sarif_validator):
    names = ["we ird%/x.json", "/abs/ü.json", "<stdin>", "bad\udcff.json", "dup.json", "dup.json"]
    files = tuple(FileReport(n, (diag(n, 1, 1, "PL001", "syntax-error", "error", "m\x00", None),)) for n in names)
    text = lint_formats.render("sarif", LintReport(files=files), opts())
    text.encode("utf-8")
    doc = json.loads(text)
    _valid(sarif_validator, doc)
    assert len(doc["runs"][0]["artifacts"]) == 5


# --- github -------------------------------------------------------------------------------------

def test_github_commands():
    assert lint_formats.render("github", REPORT, opts()).splitlines() == [
        "::error file=policies/bad.policy.json,line=7,col=22,title=PL101 invalid-regex::"
        "regex '(?=x)[a-z]' is not RE2 syntax: lookahead is Python-only",
        "::warning file=policies/bad.policy.json,line=12,col=5,title=PL202 unanchored-allowlist::"
        "require regex is not anchored with ^...$",
        "::error file=broken.policy.yaml,line=3,col=1,title=PL001 syntax-error::expected ':' after a key",
    ]
    assert lint_formats.render("github", CLEAN, opts()) == ""


def test_github_escaping_keeps_one_command_per_line():
    d = diag("a,b:c%d\n.json", 1, 2, "PL002", "schema", "error", "100% bad\r\nsecond line\n::error::x\x1b", "/")
    out = lint_github.command(d)
    assert out == ("::error file=a%2Cb%3Ac%25d\\x0a.json,line=1,col=2,title=PL002 schema::"
                   "100%25 bad%0Asecond line%0A::error::x\\x1b")
    assert "\n" not in out and "\r" not in out
    assert lint_github.escape_property("x:y,z%") == "x%3Ay%2Cz%25"
    assert lint_github.escape_data("a:b,c") == "a:b,c"


# --- junit --------------------------------------------------------------------------------------

def test_junit_parses_back_with_one_case_per_file():
    root = ET.fromstring(lint_formats.render("junit", REPORT, opts()))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "policyctl lint"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "2", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["policies/clean.policy.yaml", BAD, "broken.policy.yaml"]
    assert cases[0].find("failure") is None
    bad = cases[1].findall("failure")
    assert [(f.get("type"), f.get("message")) for f in bad] == [
        ("PL101 invalid-regex", "regex '(?=x)[a-z]' is not RE2 syntax: lookahead is Python-only")]
    assert bad[0].text == ("policies/bad.policy.json:7:22: error[PL101] regex '(?=x)[a-z]' "
                           "is not RE2 syntax: lookahead is Python-only")
    # the warning is below the default fail level: reported, not a failure
    assert cases[1].find("system-out").text == (
        "policies/bad.policy.json:12:5: warning[PL202] require regex is not anchored with ^...$")


def test_junit_fail_level_warning_makes_warnings_failures():
    root = ET.fromstring(lint_formats.render("junit", REPORT, opts(fail_level="warning")))
    suite = root.find("testsuite")
    assert suite.get("failures") == "2"
    assert len(suite.findall("testcase")[1].findall("failure")) == 2
    assert suite.findall("testcase")[1].find("system-out") is None


def test_junit_escapes_xml_and_controls():
    d = diag('<x&"y">.json', 1, 1, "PL002", "schema", "error", "a <b> & \x00\x1b \ufffe", "/")
    text = lint_formats.render("junit", LintReport(files=(FileReport(d.path, (d,)),)), opts())
    case = ET.fromstring(text).find("testsuite/testcase")
    assert case.get("name") == '<x&"y">.json'
    assert case.find("failure").get("message") == "a <b> & \\x00\\x1b \\ufffe"


def test_printable_json_escapes_what_printable_escapes_and_round_trips():
    value = {"tools": {"safe_read\u202e\u009b2J\u007f": {}, "é\u2028x": ["\u001b[2J", "\ud800"]}}
    text = lint_formats.printable_json(value)
    assert text == ('{\n  "tools": {\n    "safe_read\\u202e\\u009b2J\\u007f": {},\n'
                    '    "é\\u2028x": [\n      "\\u001b[2J",\n      "\\ud800"\n    ]\n  }\n}')
    assert json.loads(text) == value
    assert all(lint_formats.printable(line) == line for line in text.split("\n"))  # nothing raw left
