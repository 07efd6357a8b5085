"""The built-in catalog: every entry loads, sncro matches the real server, and its starter policy
lints clean (with and without the server-aware rules)."""

from __future__ import annotations

import json

import pytest

from policyctl.errors import InputError
from policyctl.lint.linter import lint_bytes
from policyctl.reporters.init import json as init_json
from policyctl.reporters.init import yaml as init_yaml
from policyctl.scan import catalog
from policyctl.scan.intercept_starter import build_intercept_starter, check_intercept_starter
from policyctl.scan.risk import classify_snapshot
from policyctl.scan.starter import build_starter

# SPEC §4: the real sncro server's 11 tools and their arguments (* = required).
SNCRO = {
    "create_session": "project_key* git_user brief",
    "get_console_logs": "key* secret*",
    "get_page_snapshot": "key* secret*",
    "check_session": "key* secret*",
    "end_session": "key* secret*",
    "query_element": "key* secret* selector* styles",
    "query_all": "key* secret* selector* limit",
    "get_network_log": "key* secret* limit type",
    "get_js_value": "key* secret* path* mode max_depth max_bytes",
    "get_feedback": "key* secret* category limit",
    "report_issue": "project_key* category* description* git_user",
}
# PolicyLayer's published classification (policylayer-notes §4.6); the rest are read.
SNCRO_VETTED = {"create_session": "write", "report_issue": "write", "end_session": "execute"}


def test_names() -> None:
    assert "sncro" in catalog.names()


@pytest.mark.parametrize("name", catalog.names())
def test_every_entry_loads_and_lints_clean(name: str) -> None:
    entry = catalog.load(name)
    assert entry.snapshot.source["kind"] == "catalog"
    assert entry.snapshot.source["upstream"]  # provenance recorded
    assert entry.snapshot.warnings == ()
    risks = classify_snapshot(entry.snapshot, entry.vetted)
    starter = build_starter(entry.snapshot, risks)
    tools = entry.snapshot
    from policyctl.reporters.init import intercept as init_intercept

    intercept = build_intercept_starter(entry.snapshot, risks)
    check_intercept_starter(intercept)
    for text, path in ((init_json.render(starter), f"{name}.policy.json"),
                       (init_yaml.render(starter), f"{name}.policy.yaml"),
                       (init_intercept.render(intercept), f"{name}.intercept.yaml")):
        for with_tools in (None, tools):
            report = lint_bytes(text.encode(), path, tools=with_tools)
            assert [d.message for d in report.diagnostics if d.severity == "error"] == []


def test_sncro_matches_the_real_server() -> None:
    entry = catalog.load("sncro")
    snap = entry.snapshot
    assert snap.server_name == "sncro"
    assert snap.protocol_version == "2025-11-25"
    assert snap.source["url"] == "https://relay.sncro.net/tools/mcp"
    assert snap.source["upstream"].endswith("@5429915710091e32f4343f9975a3e66e6ea741d9")
    got = {t.name: " ".join(p + ("*" if p in t.required else "") for p in t.property_names) for t in snap.tools}
    assert got == SNCRO
    assert all(t.annotations == {} for t in snap.tools)  # the real server sends none
    schema = snap.tool("query_element").input_schema  # exactly as the server lists it
    assert schema["properties"]["styles"] == {"anyOf": [{"items": {"type": "string"}, "type": "array"},
                                                        {"type": "null"}], "default": None, "title": "Styles"}
    assert schema["title"] == "query_elementArguments"


def test_sncro_descriptions_are_our_own_words() -> None:
    text = " ".join(t.description for t in catalog.load("sncro").snapshot.tools)
    for upstream_phrase in ("Finished With Engines", "ALWAYS ask the user", "Walks a strict property path",
                            "Returns bounding rect", "baseline data that the browser pushes"):
        assert upstream_phrase not in text


def test_sncro_vetted_categories() -> None:
    entry = catalog.load("sncro")
    risks = classify_snapshot(entry.snapshot, entry.vetted)
    assert {n: r.category for n, r in risks.items()} == {n: SNCRO_VETTED.get(n, "read") for n in SNCRO}
    assert all(r.vetted for r in risks.values())
    assert risks["end_session"].signals == ("secret",)


def test_unknown_entry_lists_what_exists() -> None:
    with pytest.raises(InputError, match=r"no catalog entry named 'nope' \(available: .*sncro"):
        catalog.load("nope")


def test_catalog_documents_are_validated() -> None:
    good = json.loads((catalog.resources.files("policyctl.scan.catalog") / "sncro.json").read_text(encoding="utf-8"))
    bad = dict(good, vetted={"no_such_tool": {"category": "read"}})
    with pytest.raises(InputError, match="vetted category for unknown tool 'no_such_tool'"):
        catalog.parse_entry(bad, origin="t")
    bad = dict(good, vetted={"end_session": {"category": "dangerous"}})
    with pytest.raises(InputError, match="needs a category"):
        catalog.parse_entry(bad, origin="t")
    with pytest.raises(InputError, match="not a policyctl catalog document"):
        catalog.parse_entry({"tools": []}, origin="t")
