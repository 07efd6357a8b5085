"""schemas/intercept.schema.json: published, packaged, valid, documented, and true to Intercept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.conftest import REPO, SAMPLES, run_cli

PUBLISHED = REPO / "schemas" / "intercept.schema.json"
PACKAGED = REPO / "policyctl" / "schemas" / "intercept.schema.json"
SCHEMA = json.loads(PUBLISHED.read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA)
CASES = yaml.safe_load((Path(__file__).parent / "data" / "intercept" / "cases.yaml").read_text(encoding="utf-8"))


def test_packaged_copy_is_byte_identical():
    assert PUBLISHED.read_bytes() == PACKAGED.read_bytes()


def test_passes_the_draft_2020_12_metaschema():
    exe = Path(sys.executable).with_name("check-jsonschema")
    out = subprocess.run([str(exe), "--check-metaschema", str(PUBLISHED)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def _walk(node, at="#"):
    if isinstance(node, dict):
        yield at, node
        for k, v in node.items():
            if k in ("properties", "$defs"):
                for name, sub in v.items():
                    yield from _walk(sub, f"{at}/{k}/{name}")
            elif k in ("items", "additionalProperties") and isinstance(v, dict):
                yield from _walk(v, f"{at}/{k}")


def test_every_property_has_a_title_and_a_description():
    for at, node in _walk(SCHEMA):
        if "$ref" in node or at.endswith(("/items", "/additionalProperties")):
            continue
        assert node.get("title") and node.get("description"), at


@pytest.mark.parametrize("path", sorted((SAMPLES / "intercept").glob("*.policy.yaml")), ids=lambda p: p.name)
def test_samples_are_schema_valid(path):
    assert list(VALIDATOR.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))) == []


def test_every_policy_intercept_accepts_fits_the_schema():
    """The schema is no stricter than Intercept, except where it warns an editor on purpose:
    `increment: 2.5`, which Intercept silently truncates to 2, is not an integer."""
    from policyctl.documents.loader import load_text

    misfits, checked = [], 0
    for case in CASES:
        if case.get("validate_errors") == [] or "calls" in case:
            data = load_text(case["policy"], "p.yaml").document.data
            checked += 1
            if list(VALIDATOR.iter_errors(data)):
                misfits.append(case["name"])
    assert checked >= 65
    assert misfits == ["increment: 2.5 in YAML decodes as 2"]


@pytest.mark.parametrize("text", [
    'version: "1"\ntools:\n  t:\n    rules:\n      - name: r\n        conditons: []\n',  # misspelt key
    'version: "1"\ntools:\n  t:\n    rules:\n      - {name: r, conditions: [{path: args.n, op: lt, value: "5"}]}\n',
    'version: "1"\ntools:\n  t:\n    rules:\n      - {name: r, rate_limit: 5/week}\n',
    'version: "2"\n',
])
def test_schema_rejects_what_intercept_or_lint_rejects(text):
    assert list(VALIDATOR.iter_errors(yaml.safe_load(text)))


def test_schema_command_prints_each_dialect(tmp_path):
    r = run_cli("schema", "--dialect", "intercept")
    assert r.returncode == 0 and json.loads(r.stdout) == SCHEMA
    r = run_cli("schema")
    assert r.returncode == 0 and json.loads(r.stdout)["$id"].endswith("/policy.schema.json")
    out = tmp_path / "intercept.schema.json"
    assert run_cli("schema", "--dialect", "intercept", "-o", str(out)).returncode == 0
    assert out.read_bytes() == PUBLISHED.read_bytes()
    assert run_cli("schema", "--dialect", "intercept", "-o", str(out)).returncode == 2  # exists: --force
    assert run_cli("schema", "--dialect", "rego").returncode == 2
