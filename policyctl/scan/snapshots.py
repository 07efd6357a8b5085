"""Tool snapshots: one normalised document for every source of an MCP server's tool list.

A snapshot is what ``scan --format json`` prints, what the catalog ships and what ``lint --tools``
reads. ``parse_snapshot`` accepts four shapes (SPEC §4): a snapshot document, a JSON-RPC response
whose ``result.tools`` is the list, a bare ``{"tools": [...]}`` (MCP Inspector's output) and a bare
array of tools. A JSON array of ``{"tools": [...]}`` pages is accepted too (their tools are joined).

Validation policy (documented in docs/scan.md):

* errors (``InputError``, exit 2): a tool that is not an object, a missing/empty/non-string
  ``name``, a name longer than ``MAX_NAME_LENGTH``, an ``inputSchema`` that is missing or not an
  object, a non-string ``description``, a non-object ``annotations``, two tools with the same name
  (a policy keys tools by name, so which definition would it mean?), too many tools or text that is
  too large;
* warnings (kept on ``Snapshot.warnings``; the CLI prints them on stderr): names outside MCP's
  recommended ``[A-Za-z0-9_.-]{1,128}``, and an ``inputSchema`` whose ``type`` is not ``"object"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from policyctl.documents.jsonvalues import json_type_phrase as _json_type
from policyctl.errors import InputError

SNAPSHOT_VERSION = 1
SOURCE_KINDS = ("catalog", "file", "stdio", "url")

MAX_TOOLS = 10_000
MAX_NAME_LENGTH = 1024
MAX_DESCRIPTION_CHARS = 256 * 1024
MAX_DEPTH = 200

_RECOMMENDED_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
# Fields of a wire Tool that ToolInfo holds in typed form; everything else is kept in ``extra``.
_KNOWN_TOOL_KEYS = ("name", "title", "description", "inputSchema", "annotations")


@dataclass(frozen=True)
class ToolInfo:
    """One tool as the server lists it (``extra`` keeps other wire fields such as outputSchema)."""

    name: str
    description: str
    input_schema: dict
    annotations: dict
    title: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def property_names(self) -> tuple[str, ...]:
        """Top-level argument names from ``inputSchema.properties`` (in schema order)."""
        props = self.input_schema.get("properties")
        return tuple(k for k in props) if isinstance(props, dict) else ()

    @property
    def required(self) -> tuple[str, ...]:
        req = self.input_schema.get("required")
        return tuple(r for r in req if isinstance(r, str)) if isinstance(req, list) else ()

    def to_data(self) -> dict:
        """The wire form: name, title?, description, inputSchema, annotations, then other fields."""
        data: dict[str, Any] = {"name": self.name}
        if self.title is not None:
            data["title"] = self.title
        data["description"] = self.description
        data["inputSchema"] = self.input_schema
        data["annotations"] = self.annotations
        data.update(self.extra)
        return data


@dataclass(frozen=True)
class Snapshot:
    """A server's tool list plus where it came from."""

    server_name: str | None
    server_version: str | None
    source: dict
    protocol_version: str | None
    tools: tuple[ToolInfo, ...]
    warnings: tuple[str, ...] = ()
    # the server's own ``instructions`` (from initialize), which the risk classifier reads as context
    instructions: str | None = None

    def tool(self, name: str) -> ToolInfo | None:
        for t in self.tools:
            if t.name == name:
                return t
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tools)

    def _server_data(self) -> dict:
        data: dict = {"name": self.server_name, "version": self.server_version}
        if self.instructions is not None:
            data["instructions"] = self.instructions
        return data

    def to_data(self) -> dict:
        """The SPEC §4 snapshot document."""
        return {
            "policyctl_snapshot": SNAPSHOT_VERSION,
            "server": self._server_data(),
            "source": dict(self.source),
            "protocol_version": self.protocol_version,
            "tools": [t.to_data() for t in self.tools],
        }


def make_source(kind: str, *, command: list[str] | None = None, url: str | None = None,
                upstream: str | None = None, captured_at: str | None = None, **more: Any) -> dict:
    """A ``source`` object with the SPEC's keys in a stable order (extra keys after them)."""
    src: dict[str, Any] = {"kind": kind, "command": command, "url": url, "upstream": upstream,
                           "captured_at": captured_at}
    src.update(more)
    return src


# --------------------------------------------------------------------------------------------
# Parsing


def load_snapshot(path: str) -> Snapshot:
    """Read a snapshot (any accepted shape) from a JSON file; ``-`` reads stdin."""
    from policyctl.files import display_name, read_bytes

    name = display_name(path)
    return parse_snapshot(parse_json_bytes(read_bytes(path), origin=name), origin=name)


def parse_json_bytes(data: bytes, *, origin: str) -> object:
    """Strict JSON (RFC 8259: no NaN, no lone surrogates, UTF-8) → Python values, or InputError."""
    import orjson

    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        from policyctl.documents.jsonsyntax import describe_bytes

        problem = describe_bytes(data)
        raise InputError(f"{origin}:{problem.line}:{problem.column}: not valid JSON: {problem.what}") from None


def parse_snapshot(data: object, *, origin: str) -> Snapshot:
    """Normalise any accepted tool-list shape into a Snapshot; InputError names what is wrong."""
    if isinstance(data, dict) and "policyctl_snapshot" in data:
        return _from_snapshot_document(data, origin)
    if isinstance(data, dict) and "jsonrpc" in data:
        return _from_jsonrpc(data, origin)
    if isinstance(data, dict) and "tools" in data:
        tools = _tools(data.get("tools"), origin, "tools")
        return _file_snapshot(tools, origin)
    if isinstance(data, list):
        if data and all(isinstance(page, dict) and "tools" in page for page in data):
            joined: list[object] = []
            for i, page in enumerate(data):
                raw = page["tools"]
                if not isinstance(raw, list):
                    raise InputError(f"{origin}: [{i}].tools is not an array")
                joined.extend(raw)
            return _file_snapshot(_tools(joined, origin, "tools"), origin)
        return _file_snapshot(_tools(data, origin, ""), origin)
    raise InputError(
        f"{origin}: not a tool list: expected a policyctl snapshot, a JSON-RPC response with "
        "result.tools, an object with \"tools\", or an array of tools"
    )


def _file_snapshot(parsed: tuple[tuple[ToolInfo, ...], tuple[str, ...]], origin: str,
                   server: Mapping[str, Any] | None = None, protocol: str | None = None) -> Snapshot:
    tools, warnings = parsed
    server = server or {}
    return Snapshot(
        server_name=_opt_str(server.get("name")),
        server_version=_opt_str(server.get("version")),
        source=make_source("file", upstream=origin),
        protocol_version=protocol,
        tools=tools,
        warnings=warnings,
        instructions=_opt_str(server.get("instructions")),
    )


def _from_jsonrpc(data: dict, origin: str) -> Snapshot:
    if data.get("jsonrpc") != "2.0":
        raise InputError(f"{origin}: \"jsonrpc\" must be \"2.0\"")
    if "error" in data:
        e = data["error"]
        code = e.get("code") if isinstance(e, dict) else None
        msg = e.get("message") if isinstance(e, dict) else None
        raise InputError(f"{origin}: the JSON-RPC response is an error ({code}: {_clip(str(msg))}), "
                         "not a tool list")
    result = data.get("result")
    if not isinstance(result, dict) or "tools" not in result:
        raise InputError(f"{origin}: the JSON-RPC response has no result.tools")
    return _file_snapshot(_tools(result["tools"], origin, "result.tools"), origin)


def _from_snapshot_document(data: dict, origin: str) -> Snapshot:
    version = data.get("policyctl_snapshot")
    if version != SNAPSHOT_VERSION or isinstance(version, bool):
        raise InputError(f"{origin}: unsupported snapshot version {version!r} (this policyctl reads "
                         f"version {SNAPSHOT_VERSION})")
    known = {"policyctl_snapshot", "server", "source", "protocol_version", "tools"}
    unknown = sorted(k for k in data if k not in known)
    server = data.get("server") if data.get("server") is not None else {}
    if not isinstance(server, dict):
        raise InputError(f"{origin}: \"server\" must be an object")
    for key in ("name", "version", "instructions"):
        if server.get(key) is not None and not isinstance(server.get(key), str):
            raise InputError(f"{origin}: server.{key} must be a string or null")
    source = data.get("source") if data.get("source") is not None else {}
    if not isinstance(source, dict):
        raise InputError(f"{origin}: \"source\" must be an object")
    kind = source.get("kind", "file")
    if kind not in SOURCE_KINDS:
        raise InputError(f"{origin}: source.kind must be one of {', '.join(SOURCE_KINDS)}")
    protocol = data.get("protocol_version")
    if protocol is not None and not isinstance(protocol, str):
        raise InputError(f"{origin}: protocol_version must be a string or null")
    tools, warnings = _tools(data.get("tools"), origin, "tools")
    if unknown:
        warnings = (f"{origin}: ignoring unknown snapshot keys: {', '.join(unknown)}",) + warnings
    full_source = make_source(kind)
    full_source.update(source)
    full_source["kind"] = kind
    return Snapshot(
        server_name=server.get("name"),
        server_version=server.get("version"),
        source=full_source,
        protocol_version=protocol,
        tools=tools,
        warnings=warnings,
        instructions=server.get("instructions"),
    )


def parse_tools(raw: object, *, origin: str, where: str = "tools") -> tuple[tuple[ToolInfo, ...], tuple[str, ...]]:
    """Validate a wire ``tools`` array (used by the MCP client too); returns tools and warnings."""
    return _tools(raw, origin, where)


def _tools(raw: object, origin: str, where: str) -> tuple[tuple[ToolInfo, ...], tuple[str, ...]]:
    label = where or "the array"
    if not isinstance(raw, list):
        raise InputError(f"{origin}: {label} must be an array of tools")
    if len(raw) > MAX_TOOLS:
        raise InputError(f"{origin}: {label} has {len(raw)} tools; more than {MAX_TOOLS} is not accepted")
    tools: list[ToolInfo] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        at = f"{where}[{i}]" if where else f"[{i}]"
        tool = _tool(item, origin, at, warnings)
        if tool.name in seen:
            raise InputError(f"{origin}: {at}: duplicate tool name {_show(tool.name)} "
                             f"(also at index {seen[tool.name]})")
        seen[tool.name] = i
        tools.append(tool)
    return tuple(tools), tuple(warnings)


def _tool(item: object, origin: str, at: str, warnings: list[str]) -> ToolInfo:
    if not isinstance(item, dict):
        raise InputError(f"{origin}: {at}: a tool must be an object, not {_json_type(item)}")
    name = item.get("name")
    if not isinstance(name, str):
        raise InputError(f"{origin}: {at}: \"name\" must be a string"
                         + ("" if "name" in item else " (missing)"))
    if not name:
        raise InputError(f"{origin}: {at}: \"name\" is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InputError(f"{origin}: {at}: tool name is {len(name)} characters long "
                         f"(more than {MAX_NAME_LENGTH} is not accepted)")
    if not _RECOMMENDED_NAME.fullmatch(name):
        warnings.append(f"{origin}: {at}: tool name {_show(name)} is outside MCP's recommended "
                        "[A-Za-z0-9_.-]{1,128}")
    if "inputSchema" not in item:
        raise InputError(f"{origin}: {at} ({_show(name)}): \"inputSchema\" is missing")
    schema = item["inputSchema"]
    if not isinstance(schema, dict):
        raise InputError(f"{origin}: {at} ({_show(name)}): \"inputSchema\" must be an object, "
                         f"not {_json_type(schema)}")
    if schema.get("type") != "object":
        warnings.append(f"{origin}: {at} ({_show(name)}): inputSchema.type is not \"object\"")
    description = item.get("description")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise InputError(f"{origin}: {at} ({_show(name)}): \"description\" must be a string")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InputError(f"{origin}: {at} ({_show(name)}): description is {len(description)} "
                         f"characters long (more than {MAX_DESCRIPTION_CHARS} is not accepted)")
    annotations = item.get("annotations")
    if annotations is None:
        annotations = {}
    if not isinstance(annotations, dict):
        raise InputError(f"{origin}: {at} ({_show(name)}): \"annotations\" must be an object")
    title = item.get("title")
    if title is not None and not isinstance(title, str):
        raise InputError(f"{origin}: {at} ({_show(name)}): \"title\" must be a string")
    if _depth(schema) > MAX_DEPTH:
        raise InputError(f"{origin}: {at} ({_show(name)}): inputSchema is nested more than "
                         f"{MAX_DEPTH} levels deep")
    # "risk" is what `scan --format json` adds; it is policyctl's output, not part of the tool.
    extra = {k: v for k, v in item.items() if k not in _KNOWN_TOOL_KEYS and k != "risk"}
    return ToolInfo(name=name, description=description, input_schema=schema,
                    annotations=annotations, title=title, extra=extra)


def _depth(value: object) -> int:
    """Nesting depth, iteratively (a hostile document must not blow the stack)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, d = stack.pop()
        if d > deepest:
            deepest = d
            if deepest > MAX_DEPTH:
                return deepest
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(name: str) -> str:
    """A tool name for a message: quoted (JSON escapes for C0 controls and line breaks), long names
    shortened. The CLI's ``err()`` makes the rest printable (C1 controls, DEL, bidi overrides)."""
    import json

    shown = json.dumps(name, ensure_ascii=False)
    return shown if len(shown) <= 80 else shown[:76] + "…\""
