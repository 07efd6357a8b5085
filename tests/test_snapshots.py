"""Snapshots: the four accepted input shapes, validation errors and warnings, round trips."""

from __future__ import annotations

import json

import pytest

from policyctl.errors import InputError
from policyctl.scan.snapshots import (
    MAX_NAME_LENGTH,
    Snapshot,
    ToolInfo,
    load_snapshot,
    parse_json_bytes,
    parse_snapshot,
)

TOOLS = [
    {"name": "get_current_time", "description": "Current time in a zone.",
     "inputSchema": {"type": "object", "properties": {"timezone": {"type": "string"}},
                     "required": ["timezone"]},
     "annotations": {"readOnlyHint": True}, "outputSchema": {"type": "object"}},
    {"name": "delete_note", "inputSchema": {"type": "object"}},
]


def _names(snap: Snapshot) -> list[str]:
    return [t.name for t in snap.tools]


def test_bare_array() -> None:
    snap = parse_snapshot(TOOLS, origin="t.json")
    assert _names(snap) == ["get_current_time", "delete_note"]
    assert snap.source == {"kind": "file", "command": None, "url": None, "upstream": "t.json",
                           "captured_at": None}
    assert snap.server_name is None and snap.protocol_version is None
    tool = snap.tool("get_current_time")
    assert isinstance(tool, ToolInfo)
    assert tool.property_names == ("timezone",)
    assert tool.required == ("timezone",)
    assert tool.annotations == {"readOnlyHint": True}
    assert tool.extra == {"outputSchema": {"type": "object"}}
    # a missing description/annotations normalise to "" and {}
    note = snap.tool("delete_note")
    assert note is not None and note.description == "" and note.annotations == {}
    assert snap.tool("nope") is None
    assert snap.warnings == ()


def test_bare_tools_object_and_jsonrpc_response_agree() -> None:
    a = parse_snapshot({"tools": TOOLS, "nextCursor": None}, origin="a")
    b = parse_snapshot({"jsonrpc": "2.0", "id": 2, "result": {"tools": TOOLS}}, origin="a")
    assert a.to_data() == b.to_data()


def test_array_of_pages_is_joined() -> None:
    snap = parse_snapshot([{"tools": TOOLS[:1], "nextCursor": "x"}, {"tools": TOOLS[1:]}], origin="p")
    assert _names(snap) == ["get_current_time", "delete_note"]


def test_snapshot_document_round_trip() -> None:
    doc = {
        "policyctl_snapshot": 1,
        "server": {"name": "mcp-time", "version": "2026.10.19"},
        "source": {"kind": "stdio", "command": ["python", "-m", "mcp_server_time"], "url": None,
                   "upstream": None, "captured_at": "2026-11-24T03:20:00Z"},
        "protocol_version": "2026-07-28",
        "tools": TOOLS,
    }
    snap = parse_snapshot(doc, origin="s.json")
    assert snap.server_name == "mcp-time" and snap.server_version == "2026.10.19"
    assert snap.protocol_version == "2026-07-28"
    assert snap.source["kind"] == "stdio"
    out = snap.to_data()
    assert list(out) == ["policyctl_snapshot", "server", "source", "protocol_version", "tools"]
    assert out["tools"][0] == {
        "name": "get_current_time", "description": "Current time in a zone.",
        "inputSchema": TOOLS[0]["inputSchema"], "annotations": {"readOnlyHint": True},
        "outputSchema": {"type": "object"},
    }
    # a snapshot parses back to the same snapshot
    assert parse_snapshot(out, origin="again").to_data() == out


def test_server_instructions_round_trip_and_are_checked() -> None:
    doc = {"policyctl_snapshot": 1, "server": {"name": "pay", "version": None, "instructions": "Take payments."},
           "tools": []}
    snap = parse_snapshot(doc, origin="s.json")
    assert snap.instructions == "Take payments."
    assert snap.to_data()["server"] == {"name": "pay", "version": None, "instructions": "Take payments."}
    # absent instructions stay absent (no null key in every snapshot)
    assert parse_snapshot({"policyctl_snapshot": 1, "tools": []}, origin="s").to_data()["server"] == \
        {"name": None, "version": None}
    with pytest.raises(InputError, match=r"^s\.json: server\.instructions must be a string or null$"):
        parse_snapshot({"policyctl_snapshot": 1, "server": {"instructions": 5}, "tools": []}, origin="s.json")


def test_snapshot_with_unknown_keys_warns() -> None:
    snap = parse_snapshot({"policyctl_snapshot": 1, "tools": [], "extra": 1}, origin="s")
    assert snap.warnings == ("s: ignoring unknown snapshot keys: extra",)
    assert snap.source["kind"] == "file"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"policyctl_snapshot": 2, "tools": []}, "s: unsupported snapshot version 2"),
        ({"policyctl_snapshot": 1, "tools": [], "source": {"kind": "ftp"}}, "s: source.kind must be one of"),
        ({"policyctl_snapshot": 1, "tools": {}}, "s: tools must be an array of tools"),
        ({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}},
         "s: the JSON-RPC response is an error (-32601: Method not found)"),
        ({"jsonrpc": "2.0", "id": 1, "result": {}}, "s: the JSON-RPC response has no result.tools"),
        ({"jsonrpc": "1.0", "result": {"tools": []}}, "s: \"jsonrpc\" must be \"2.0\""),
        ({"hello": 1}, "s: not a tool list"),
        ("tools", "s: not a tool list"),
        ([1], "s: [0]: a tool must be an object, not a number"),
        ([{"inputSchema": {}}], "s: [0]: \"name\" must be a string (missing)"),
        ([{"name": 5, "inputSchema": {}}], "s: [0]: \"name\" must be a string"),
        ([{"name": "", "inputSchema": {}}], "s: [0]: \"name\" is empty"),
        ([{"name": "a"}], "s: [0] (\"a\"): \"inputSchema\" is missing"),
        ([{"name": "a", "inputSchema": None}], "s: [0] (\"a\"): \"inputSchema\" must be an object, not null"),
        ([{"name": "a", "inputSchema": []}], "\"inputSchema\" must be an object, not an array"),
        ([{"name": "a", "inputSchema": {}, "description": 3}], "\"description\" must be a string"),
        ([{"name": "a", "inputSchema": {}, "annotations": []}], "\"annotations\" must be an object"),
        ({"tools": [{"name": "a", "inputSchema": {}}, {"name": "a", "inputSchema": {}}]},
         "s: tools[1]: duplicate tool name \"a\" (also at index 0)"),
        ([{"name": "x" * (MAX_NAME_LENGTH + 1), "inputSchema": {}}], "characters long (more than 1024"),
    ],
)
def test_bad_inputs_are_clear_errors(data: object, message: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_snapshot(data, origin="s")
    assert message in exc.value.message


def test_odd_names_and_non_object_schema_are_warnings() -> None:
    snap = parse_snapshot([
        {"name": "files/read ~me", "inputSchema": {"type": "object"}},
        {"name": "ok", "inputSchema": {"type": "string"}},
    ], origin="o")
    assert _names(snap) == ["files/read ~me", "ok"]
    assert snap.warnings == (
        "o: [0]: tool name \"files/read ~me\" is outside MCP's recommended [A-Za-z0-9_.-]{1,128}",
        "o: [1] (\"ok\"): inputSchema.type is not \"object\"",
    )


def test_deeply_nested_schema_is_rejected_without_recursion() -> None:
    schema: dict = {"type": "object"}
    node = schema
    for _ in range(500):
        node["properties"] = {"x": {}}
        node = node["properties"]["x"]
    with pytest.raises(InputError, match="nested more than 200 levels"):
        parse_snapshot([{"name": "deep", "inputSchema": schema}], origin="d")


def test_too_many_tools() -> None:
    tools = [{"name": f"t{i}", "inputSchema": {}} for i in range(10_001)]
    with pytest.raises(InputError, match="10001 tools; more than 10000"):
        parse_snapshot(tools, origin="m")


def test_json_parsing_is_strict_and_positions_errors() -> None:
    with pytest.raises(InputError, match=r"^f.json:2:\d+: not valid JSON"):
        parse_json_bytes(b'[\n  {"name": ,}]', origin="f.json")
    with pytest.raises(InputError, match="not valid JSON"):
        parse_json_bytes(b'{"a": NaN}', origin="f")
    with pytest.raises(InputError, match="not valid JSON"):
        parse_json_bytes(b'"\\ud800"', origin="f")  # a lone surrogate cannot be written out again
    assert parse_json_bytes(b'\xef\xbb\xbf[]', origin="bom") == []


def test_load_snapshot_from_file_and_stdin(tmp_path, monkeypatch) -> None:
    import io
    import sys

    path = tmp_path / "tools.json"
    path.write_text(json.dumps({"tools": TOOLS}), encoding="utf-8")
    snap = load_snapshot(str(path))
    assert _names(snap) == ["get_current_time", "delete_note"]
    assert snap.source["upstream"] == str(path)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(TOOLS).encode())))
    snap = load_snapshot("-")
    assert snap.source["upstream"] == "<stdin>"
    assert len(snap.tools) == 2

    with pytest.raises(InputError, match="no such file"):
        load_snapshot(str(tmp_path / "missing.json"))
