"""A fixture MCP server built with the official ``mcp`` SDK (test extra): 25 annotated tools,
10 per page, over stdio or streamable HTTP on 127.0.0.1.

    python sdk_server.py stdio
    python sdk_server.py http PORT [--json]

The tool set mixes categories so the classifier and the starter policy see every kind; the
annotations are deliberately partial (as real servers emit them).
"""

from __future__ import annotations

import sys

import mcp_types as types
from mcp.server.lowlevel import Server

PAGE = 10


def _tool(name: str, description: str, props: dict, **hints: bool) -> types.Tool:
    schema = {"type": "object", "properties": {k: {"type": v} for k, v in props.items()}}
    annotations = types.ToolAnnotations(**hints) if hints else None
    return types.Tool(name=name, description=description, input_schema=schema, annotations=annotations)


TOOLS = [
    _tool("list_notes", "List the notes in a folder.", {"folder": "string"}, readOnlyHint=True),
    _tool("read_note", "Return the text of one note.", {"note_id": "string"}, readOnlyHint=True,
          openWorldHint=False),
    _tool("search_notes", "Search notes by keyword.", {"query": "string", "limit": "integer"},
          readOnlyHint=True),
    _tool("create_note", "Create a note with a title and body.", {"title": "string", "body": "string"},
          readOnlyHint=False, destructiveHint=False),
    _tool("update_note", "Change the body of an existing note.", {"note_id": "string", "body": "string"},
          readOnlyHint=False, destructiveHint=False, idempotentHint=True),
    _tool("delete_note", "Delete a note permanently.", {"note_id": "string", "force": "boolean"},
          readOnlyHint=False, destructiveHint=True, idempotentHint=True),
    _tool("run_shell", "Run a shell command on the notes host.", {"command": "string", "cwd": "string"}),
    _tool("send_email", "Send a note by e-mail.", {"to": "string", "note_id": "string"},
          destructiveHint=False, openWorldHint=True),
    _tool("create_refund", "Refund a paid note subscription to the customer's card.",
          {"charge_id": "string", "amount": "integer"}, readOnlyHint=False),
    _tool("fetch_page", "Fetch a web page into a note.", {"url": "string"}, readOnlyHint=True,
          openWorldHint=True),
] + [
    _tool(f"tool_{i:02d}", f"Return statistic number {i} about the notes.", {}, readOnlyHint=True)
    for i in range(15)
]


async def list_tools(ctx, params) -> types.ListToolsResult:  # noqa: ANN001 - SDK callback shape
    start = int(params.cursor) if params is not None and params.cursor else 0
    end = start + PAGE
    return types.ListToolsResult(tools=TOOLS[start:end], next_cursor=str(end) if end < len(TOOLS) else None)


async def call_tool(ctx, params) -> types.CallToolResult:  # noqa: ANN001 - SDK callback shape
    """Every tool answers with its name and arguments as text; ``create_refund`` with an amount
    over 1000 answers ``isError`` (a tool error); ``send_email`` to nobody fails as a JSON-RPC
    error; ``fetch_page`` reports progress first (a notification on the same stream)."""
    import json

    args = params.arguments or {}
    if params.name == "send_email" and not args.get("to"):
        raise ValueError("no recipient")
    if params.name == "fetch_page":
        await ctx.session.send_log_message(level="info", data="fetching", related_request_id=ctx.request_id)
    error = params.name == "create_refund" and isinstance(args.get("amount"), int) and args["amount"] > 1000
    text = json.dumps({"tool": params.name, "arguments": args}, sort_keys=True)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=error)


server = Server("policyctl-fixture", version="0.3.0", on_list_tools=list_tools, on_call_tool=call_tool)


def main(argv: list[str]) -> None:
    if argv[:1] == ["stdio"]:
        import anyio
        from mcp.server.stdio import stdio_server

        async def run() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        anyio.run(run)
    elif argv[:1] == ["http"]:
        import uvicorn

        port = int(argv[1])
        app = server.streamable_http_app(host="127.0.0.1", json_response="--json" in argv)
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    else:
        raise SystemExit("usage: sdk_server.py stdio | http PORT [--json]")


if __name__ == "__main__":
    main(sys.argv[1:])
