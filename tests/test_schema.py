"""The published JSON Schema and the PL002 diagnostics built from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from policyctl.documents.loader import load_text
from policyctl.documents.schema import (
    KNOWN_KEYWORDS,
    SCHEMA_ID,
    _uses_only_known,
    load_schema,
    schema_diagnostics,
    validate,
)
from tests.conftest import examples
from tests.rules.strategies import mutated_policies, policies

REPO = Path(__file__).resolve().parent.parent
PUBLISHED = REPO / "schemas" / "policy.schema.json"
PACKAGED = REPO / "policyctl" / "schemas" / "policy.schema.json"


def test_packaged_copy_is_byte_identical():
    assert PUBLISHED.read_bytes() == PACKAGED.read_bytes()


def test_schema_passes_the_draft_2020_12_metaschema():
    exe = Path(sys.executable).with_name("check-jsonschema")
    out = subprocess.run([str(exe), "--check-metaschema", str(PUBLISHED)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_schema_header():
    schema = json.loads(PUBLISHED.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"] and schema["description"]


def _property_schemas(schema, where=""):
    if not isinstance(schema, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        yield f"{where}/{name}", sub
        yield from _property_schemas(sub, f"{where}/{name}")
    for name, sub in schema.get("$defs", {}).items():
        yield f"#/$defs/{name}", sub
        yield from _property_schemas(sub, f"#/$defs/{name}")
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), dict) and "$ref" not in schema[key]:
            yield f"{where}/{key}", schema[key]
            yield from _property_schemas(schema[key], f"{where}/{key}")


def test_every_property_has_title_and_description():
    schema = load_schema()
    found = list(_property_schemas(schema))
    assert len(found) > 20
    for where, sub in found:
        assert sub.get("title") and sub.get("description"), where


def test_every_object_rejects_unknown_keys():
    schema = load_schema()
    objects = [schema] + [s for _, s in _property_schemas(schema) if s.get("type") == "object"]
    for obj in objects:
        assert "additionalProperties" in obj, obj.get("title")
        if obj.get("title") != "Tools":  # the tools map admits any tool name, as entries
            assert obj["additionalProperties"] is False, obj.get("title")


def test_interpreter_covers_the_schema():
    assert _uses_only_known(load_schema())
    assert not _uses_only_known({"anyOf": [{"type": "string"}]})
    assert "anyOf" not in KNOWN_KEYWORDS


SAMPLE = """version: "1"
defualt: deny
hide: [a, a, ""]
tools:
  "": {}
  t:
    limts: []
    require:
      - conditions:
          - {path: amount, op: gt, value: "10"}
          - {path: args.a, op: foo}
          - {path: args.a, op: in}
    limits:
      - {counter: c, window: week, max: 0}
      - {counter: c, window: hour, max: 1.5, scope: grant}
all_tools: {limits: [x]}
"""


def test_diagnostics_messages_pointers_positions():
    doc = load_text(SAMPLE, "p.policy.yaml").document
    got = sorted((d.line, d.column, d.pointer, d.message) for d in schema_diagnostics(doc))
    assert got == sorted([
        (1, 1, "", 'missing required key "default" in the policy'),
        (2, 1, "/defualt", 'unknown key "defualt" at the top level of the policy (expected one '
                           'of version, default, hide, all_tools, tools); did you mean "default"?'),
        (3, 11, "/hide/1", 'hide lists "a" twice (items 0 and 1)'),
        (3, 14, "/hide/2", "hide[2] must not be empty"),
        (5, 3, "/tools/", 'tool name "" must not be empty'),
        (7, 5, "/tools/t/limts", 'unknown key "limts" in tool entry (expected one of require, '
                                 'deny_if, limits); did you mean "limits"?'),
        (10, 20, "/tools/t/require/0/conditions/0/path",
         'tools.t.require[0].conditions[0].path "amount" does not match ^args\\.[^.]+(\\.[^.]+)*$ '
         '("args." followed by one or more dot-separated keys, e.g. args.amount or '
         'args.metadata.key.)'),
        (10, 43, "/tools/t/require/0/conditions/0/value",
         'tools.t.require[0].conditions[0].value must be a number, not a string ("10") when op is "gt"'),
        (11, 32, "/tools/t/require/0/conditions/1/op",
         'tools.t.require[0].conditions[1].op must be one of "eq", "neq", "lt", "lte", "gt", '
         '"gte", "in", "not_in", "exists", "regex", "contains" (got "foo")'),
        (12, 13, "/tools/t/require/0/conditions/2",
         'missing required key "value" in condition tools.t.require[0].conditions[2] when op is "in"'),
        (14, 9, "/tools/t/limits/0", 'missing required key "scope" in limit tools.t.limits[0]'),
        (14, 30, "/tools/t/limits/0/window",
         'tools.t.limits[0].window must be one of "minute", "hour", "day" (got "week")'),
        (14, 41, "/tools/t/limits/0/max", "tools.t.limits[0].max must be at least 1 (got 0)"),
        (15, 41, "/tools/t/limits/1/max", "tools.t.limits[1].max must be an integer, not a number (1.5)"),
        (16, 22, "/all_tools/limits/0", 'all_tools.limits[0] must be an object, not a string ("x")'),
    ])
    assert {d.code for d in schema_diagnostics(doc)} == {"PL002"}
    assert {d.rule for d in schema_diagnostics(doc)} == {"schema-violation"}


@pytest.mark.parametrize("data,message", [
    ([], "the policy must be an object, not an array"),
    ({"version": "1", "default": "deny", "tools": {"t": {"deny_if": [{"conditions": [
        {"path": "args.x", "op": "exists", "value": "yes"}]}]}}},
     'tools.t.deny_if[0].conditions[0].value must be a boolean, not a string ("yes") when op is "exists"'),
    ({"version": "1", "default": "deny", "tools": {"t": {"deny_if": [{"on_deny": "x"}]}}},
     'missing required key "conditions" in rule tools.t.deny_if[0]'),
    ({"version": "1", "default": "deny", "tools": {"t": []}},
     "tools.t must be an object, not an array"),
    ({"version": "1", "default": "deny", "all_tools": {"limits": [], "x": 1}},
     'unknown key "x" in all-tools settings (expected one of limits)'),
])
def test_messages(data, message):
    assert [e.message for e in validate(data)] == [message]


def test_float_integers_and_booleans_follow_json_schema():
    base = {"version": "1", "default": "deny", "all_tools": {"limits": [
        {"counter": "c", "window": "hour", "max": 2.0, "scope": "grant"}]}}
    assert validate(base) == []
    base["all_tools"]["limits"][0]["max"] = True
    assert [e.keyword for e in validate(base)] == ["type"]


def _jsonschema_instances(data):
    validator = Draft202012Validator(load_schema())
    return {"".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in e.absolute_path)
            for e in validator.iter_errors(data)}


@settings(max_examples=examples(150))
@given(policies())
def test_valid_policies_agree_with_jsonschema(data):
    assert validate(data) == []
    assert _jsonschema_instances(data) == set()


@settings(max_examples=examples(400))
@given(mutated_policies())
def test_mutated_policies_agree_with_jsonschema(data):
    mine = {e.instance for e in validate(data)}
    assert mine == _jsonschema_instances(data)


def test_fallback_to_jsonschema_for_unknown_keywords():
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert [e.instance for e in validate(1.5, schema)] == [""]
    assert validate("x", schema) == []


def test_lint_path_does_not_import_jsonschema():
    code = ("import sys; from policyctl.documents.loader import load_text; from policyctl.documents.schema import "
            "schema_diagnostics; d = load_text('{\"version\": \"1\", \"x\": 1}', 'a.json').document; "
            "print(len(schema_diagnostics(d)), 'jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "False"]
