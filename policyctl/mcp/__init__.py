"""policyctl's own MCP client (standard library only): stdio and streamable HTTP, both protocol eras.

``client.scan_stdio`` / ``client.scan_url`` return a ``Snapshot``; ``protocol`` negotiates and pages,
``stdio`` and ``http`` move bytes, ``jsonrpc`` validates every message, ``configs`` reads MCP client
configuration files (Claude Desktop, Cursor, VS Code, Claude Code).
"""
