"""The linter: discovery, per-file isolation, configuration, hostile inputs, properties."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
import yaml
from hypothesis import given, settings

from policyctl.documents.loader import _yaml11_reading, resolve_plain_yaml12
from policyctl.documents.schema import validate
from policyctl.errors import InputError
from policyctl.lint.config import LintConfig, parse_config
from policyctl.lint.linter import discover, is_policy_name, lint, lint_bytes
from policyctl.policy.dialects.policylayer.model import Policy
from tests.conftest import examples
from tests.rules.strategies import mutated_policies, policies

CLEAN = '{"version": "1", "default": "deny", "tools": {"read_file": {}}}\n'
OPEN = 'version: "1"\ndefault: allow\n'


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("name,ok", [
    ("a.policy.json", True), ("a.policy.yaml", True), ("a.policy.yml", True), ("policy.json", True),
    ("policy.yaml", True), ("POLICY.YML", True), ("x.Policy.Json", True), ("policy.txt", False),
    ("apolicy.json", False), ("a.policy.json.bak", False), ("settings.json", False),
])
def test_policy_names(name, ok):
    assert is_policy_name(name) == ok


def test_discover_recurses_sorted_and_skips_hidden_and_dependency_dirs(tmp_path):
    for rel in ("b/policy.yaml", "a/x.policy.json", "a/notes.json", ".git/y.policy.json",
                "node_modules/z.policy.json", "a/.venv/q.policy.yaml", "a/deeper/w.policy.yml"):
        write(tmp_path / rel, CLEAN)
    found = discover([str(tmp_path)])
    rel = [p[len(str(tmp_path)) + 1:] for p in found]
    assert rel == ["a/x.policy.json", "a/deeper/w.policy.yml", "b/policy.yaml"]


def test_explicit_files_are_linted_whatever_their_name(tmp_path):
    p = write(tmp_path / "odd-name.txt", OPEN)
    report = lint([p])
    assert [d.code for d in report.diagnostics] == ["PL202"]


def test_missing_path_is_an_input_error_before_linting(tmp_path):
    good = write(tmp_path / "a.policy.json", CLEAN)
    with pytest.raises(InputError, match="nope.policy.json: no such file or directory"):
        lint([good, str(tmp_path / "nope.policy.json")])


def test_broken_file_does_not_stop_the_others(tmp_path):
    a = write(tmp_path / "a.policy.json", '{"version": ')
    b = write(tmp_path / "b.policy.yaml", OPEN)
    c = write(tmp_path / "c.policy.json", CLEAN)
    report = lint([a, b, c])
    assert [f.path for f in report.files] == [a, b, c]
    assert [[d.code for d in f.diagnostics] for f in report.files] == [["PL001"], ["PL202"], []]
    assert report.errors == 1 and report.warnings == 1
    assert report.failed("error") and report.failed("warning")


def test_duplicates_are_deduplicated(tmp_path):
    a = write(tmp_path / "a.policy.json", CLEAN)
    assert [f.path for f in lint([a, str(tmp_path), a]).files] == [a]


def test_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(OPEN.encode())))
    report = lint(["-"])
    (f,) = report.files
    assert f.path == "<stdin>"
    assert [(d.code, d.path, d.line, d.column) for d in f.diagnostics] == [("PL202", "<stdin>", 2, 10)]


def test_diagnostics_are_sorted_and_stamped():
    text = ('version: "1"\ndefault: allow\ntools:\n  t:\n    require:\n      - conditions: []\n'
            "    limits:\n      - {counter: c, window: hour, max: 1, scope: grant}\n"
            "      - {counter: c, window: hour, max: 2, scope: grant}\n")
    report = lint_bytes(text.encode(), "x.policy.yaml")
    got = [(d.line, d.column, d.code, d.rule, d.severity) for d in report.diagnostics]
    assert got == [(6, 21, "PL104", "empty-require", "error"),
                   (9, 19, "PL103", "duplicate-counter", "error")]


def test_config_severity_select_and_per_file_ignores():
    cfg = parse_config({"severity": {"fully-open": "error", "ALL": "error"},
                        "per-file-ignores": {"legacy/*": ["PL2"]}}, source="c")
    assert [(d.code, d.severity) for d in lint_bytes(OPEN.encode(), "new/a.yaml", config=cfg).diagnostics] \
        == [("PL202", "error")]
    assert lint_bytes(OPEN.encode(), "legacy/a.yaml", config=cfg).diagnostics == ()
    only = LintConfig().with_cli(select=["PL1"])
    assert lint_bytes(OPEN.encode(), "a.yaml", config=only).diagnostics == ()
    ignored = LintConfig().with_cli(ignore=["PL202"])
    assert lint_bytes(OPEN.encode(), "a.yaml", config=ignored).diagnostics == ()


# A document of every load diagnostic's kind: (bytes, file name, the code it must always get)
BROKEN = [
    (b'{"version": "2", "default": "maybe", "bogus": 1\n', "a.policy.json", "PL001"),
    (b'{"version": "2", "default": "maybe", "bogus": 1}', "a.policy.json", "PL002"),
    (b'{"version": "1", "version": "1", "default": "deny"}', "a.policy.json", "PL003"),
    (b"version: '1'\ndefault: deny\nall_tools:\n  limits:\n"
     b"    - {counter: c, window: hour, max: .inf, scope: grant}\n", "a.policy.yaml", "PL004"),
]


@pytest.mark.parametrize("raw,name,code", BROKEN, ids=[c for _, _, c in BROKEN])
@pytest.mark.parametrize("settings", [
    {"select": ["PL1", "PL201"]},  # docs/lint-rules.md's configuration example
    {"select": ["PL2"]},
    {"select": ["yaml11-scalar"]},
    {"ignore": ["ALL"]},
    {"per-file-ignores": {"*.policy.*": ["ALL"]}},
    {"severity": {"ALL": "warning"}},
    {"select": ["PL3"], "ignore": ["PL"], "severity": {"PL": "warning"},
     "per-file-ignores": {"a.*": ["ALL"]}},
])
def test_load_diagnostics_are_always_reported_as_errors(raw, name, code, settings):
    # S2: a selection without PL0 used to make a broken policy lint clean (exit 0)
    cfg = parse_config(settings, source="c")
    got = lint_bytes(raw, name, config=cfg).diagnostics
    assert code in {d.code for d in got}
    assert {d.severity for d in got if d.code.startswith("PL0")} == {"error"}
    assert lint_bytes(raw, name, config=cfg) == lint_bytes(raw, name)  # nothing else to report here
    assert lint_bytes(raw, name, config=LintConfig().with_cli(select=["PL2"])) == lint_bytes(raw, name)


def test_unreadable_file_found_in_a_folder_is_reported_whatever_the_selection(tmp_path):
    (tmp_path / "gone.policy.json").symlink_to(tmp_path / "nowhere.json")
    report = lint([str(tmp_path)], config=parse_config({"select": ["PL2"]}, source="c"))
    assert [(d.code, d.severity) for f in report.files for d in f.diagnostics] == [("PL001", "error")]


def test_tools_rules_need_a_snapshot():
    from policyctl.scan.snapshots import parse_snapshot

    text = b'{"version": "1", "default": "deny", "tools": {"ghost": {}}}'
    assert lint_bytes(text, "a.json").diagnostics == ()
    snap = parse_snapshot([{"name": "real", "description": "", "inputSchema": {"type": "object"}}],
                          origin="t")
    assert [d.code for d in lint_bytes(text, "a.json", tools=snap).diagnostics] == ["PL109"]


HOSTILE = [
    ("bom", "a.policy.json", b"\xef\xbb\xbf" + CLEAN.encode(), "PL001", "byte order mark"),
    ("not-utf8", "a.policy.yaml", b"version: '1'\ndefault: d\xe9ny\n", "PL001", "not valid UTF-8"),
    ("nan", "a.policy.json", b'{"version": "1", "default": "deny", "x": NaN}', "PL001", "NaN is not JSON"),
    ("huge-int", "a.policy.yaml", b"version: '1'\ndefault: deny\nall_tools:\n  limits:\n"
     b"    - {counter: c, window: hour, max: 123456789012345678901234567890, scope: grant}\n",
     "PL004", "beyond"),
    ("deep-json", "a.policy.json", b"[" * 50_000 + b"]" * 50_000, "PL001", "nesting deeper"),
    ("deep-yaml", "a.policy.yaml", b"[" * 50_000 + b"]" * 50_000, "PL001", "nesting deeper"),
    ("dup-json", "a.policy.json", b'{"version": "1", "version": "1", "default": "deny"}', "PL003", "duplicate"),
    ("dup-yaml", "a.policy.yaml", b"version: '1'\ndefault: deny\nversion: '1'\n", "PL003", "duplicate"),
    ("tag", "a.policy.yaml", b"version: !!python/object/new:os.system [ls]\n", "PL001", "not allowed"),
    ("custom-tag", "a.policy.yaml", b"version: !env HOME\n", "PL001", "not allowed"),
    ("laughs", "a.policy.yaml", ("x: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"x{i}: &a{i} [{', '.join(['*a' if i == 0 else f'*a{i - 1}'] * 10)}]\n" for i in range(8))
     ).encode(), "PL001", "aliases"),
    ("binary", "a.policy.json", bytes(range(256)), "PL001", "UTF-8"),
    ("empty", "a.policy.json", b"", "PL001", "the file is empty"),
    ("empty-yaml", "a.policy.yaml", b"", "PL001", "the file is empty"),
    ("null-yaml", "a.policy.yaml", b"null\n", "PL002", "must be an object, not null"),
    ("array", "a.policy.json", b"[]", "PL002", "must be an object"),
]


@pytest.mark.parametrize("name,path,raw,code,text", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_inputs_become_diagnostics(tmp_path, name, path, raw, code, text):
    p = write(tmp_path / path, raw)
    report = lint([p])
    hits = [d for d in report.diagnostics if d.code == code]
    assert hits, report.diagnostics
    assert text in hits[0].message
    assert all(d.line >= 1 and d.column >= 1 for d in report.diagnostics)


def test_lint_imports_only_what_it_needs(tmp_path):
    plain = write(tmp_path / "a.policy.json", CLEAN)
    regex = write(tmp_path / "r.policy.json", json.dumps({"version": "1", "default": "deny", "tools": {
        "t": {"deny_if": [{"conditions": [{"path": "args.a", "op": "regex", "value": "x"}]}]}}}))
    code = ("import sys; from policyctl.lint.linter import lint; r = lint([sys.argv[1]]); "
            "print(*(m in sys.modules for m in ('yaml', 're2', 'jsonschema', 'pydantic', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code, plain], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] * 5
    out = subprocess.run([sys.executable, "-c", code, regex], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "False", "False", "False"]


class _Yaml12Dumper(yaml.SafeDumper):
    """Quotes every string a YAML 1.2 or 1.1 reader would not read back as that string."""


def _str(dumper, value):
    style = '"' if resolve_plain_yaml12(value) != value or _yaml11_reading(value) is not None else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Yaml12Dumper.add_representer(str, _str)


def _findings(text: str, name: str):
    return sorted((d.code, d.pointer) for d in lint_bytes(text.encode(), name).diagnostics)


@settings(max_examples=examples(150))
@given(policies())
def test_json_and_yaml_forms_give_the_same_findings(data):
    as_json = json.dumps(data, indent=2)
    as_yaml = yaml.dump(data, Dumper=_Yaml12Dumper, allow_unicode=True, sort_keys=False)
    assert _findings(as_json, "p.policy.json") == _findings(as_yaml, "p.policy.yaml")


@settings(max_examples=examples(150))
@given(mutated_policies())
def test_json_and_yaml_forms_agree_on_broken_policies_too(data):
    as_json = json.dumps(data)
    as_yaml = yaml.dump(data, Dumper=_Yaml12Dumper, allow_unicode=True, default_flow_style=True)
    assert _findings(as_json, "p.policy.json") == _findings(as_yaml, "p.policy.yaml")


@settings(max_examples=examples(300))
@given(mutated_policies())
def test_schema_valid_means_the_model_loads(data):
    if validate(data):
        return
    policy = Policy.from_data(data)
    assert policy.version == "1"


@settings(max_examples=examples(100))
@given(policies())
def test_valid_policies_load_into_the_model(data):
    assert validate(data) == []
    Policy.from_data(data)


from hypothesis import strategies as st  # noqa: E402

from tests.rules.strategies import json_values  # noqa: E402

_YAMLISH = st.text(alphabet="ab01 :-[]{},&*!|>'\"#?\n\t.~%@`eE+", max_size=80)


@settings(max_examples=examples(300))
@given(st.one_of(st.binary(max_size=200), _YAMLISH.map(str.encode)),
       st.sampled_from(["x.policy.json", "x.policy.yaml", "<stdin>"]))
def test_arbitrary_bytes_never_raise(raw, name):
    report = lint_bytes(raw, name)
    for d in report.diagnostics:
        assert d.line >= 1 and d.column >= 1
        assert d.code in {"PL001", "PL002", "PL003", "PL004"} or d.pointer is not None


@settings(max_examples=examples(200))
@given(json_values)
def test_arbitrary_json_values_never_raise(value):
    for text, name in ((json.dumps(value), "v.json"),
                       (yaml.dump(value, Dumper=_Yaml12Dumper), "v.yaml")):
        lint_bytes(text.encode(), name)


@settings(max_examples=examples(200))
@given(mutated_policies())
def test_mutated_policies_never_raise_and_point_into_the_document(data):
    report = lint_bytes(json.dumps(data, indent=1).encode(), "m.policy.json")
    for d in report.diagnostics:
        assert d.pointer is not None and (d.pointer == "" or d.pointer.startswith("/"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs and symlinks")
def test_directory_search_takes_regular_files_and_reports_unreadable_ones(tmp_path):
    good = write(tmp_path / "a.policy.json", CLEAN)
    os.mkfifo(tmp_path / "b.policy.json")  # reading it would block forever
    os.symlink(tmp_path / "gone.json", tmp_path / "c.policy.json")  # dangling
    os.mkdir(tmp_path / "d.policy.json")  # a folder, not a file
    report = lint([str(tmp_path)])
    assert [f.path for f in report.files] == [good, str(tmp_path / "c.policy.json")]
    assert report.files[0].diagnostics == ()
    (d,) = report.files[1].diagnostics
    assert (d.code, d.line, d.column, d.pointer) == ("PL001", 1, 1, None)
    assert d.message == "cannot read the file: no such file (a broken symbolic link?)"


def test_a_dangling_symlink_named_on_the_command_line_is_still_exit_2(tmp_path):
    os.symlink(tmp_path / "gone.json", tmp_path / "c.policy.json")
    with pytest.raises(InputError, match="no such file or directory"):
        lint([str(tmp_path / "c.policy.json")])
