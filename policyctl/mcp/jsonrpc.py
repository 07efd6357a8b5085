"""JSON-RPC 2.0 messages from an MCP server, treated as hostile input.

Everything a server sends goes through ``decode``: strict JSON, bounded size, and the shape of a
request, notification or response — anything else is a ``MalformedMessage`` (exit 2), so a broken
or malicious server can never make the client loop, crash or guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policyctl.errors import ServerError

# Largest single message (one stdio line, one HTTP body, one SSE event) we accept.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# Largest total a server may send us during one scan.
MAX_TOTAL_BYTES = 64 * 1024 * 1024
# Largest JSON-RPC batch (2025-03-26 allowed batches) we look into.
MAX_BATCH = 64

PARSE_ERROR = -32700
METHOD_NOT_FOUND = -32601
UNSUPPORTED_PROTOCOL_VERSION = -32022


class MalformedMessage(ServerError):
    """The server sent bytes that are not a JSON-RPC 2.0 message."""


class RpcError(ServerError):
    """The server answered a request with a JSON-RPC error object."""

    def __init__(self, method: str, code: object, message: object, data: object = None) -> None:
        self.method = method
        self.code = code if isinstance(code, int) and not isinstance(code, bool) else None
        self.rpc_message = clip(str(message)) if message is not None else ""
        self.data = data
        super().__init__(f"the server answered {method} with error {self.code}: {self.rpc_message}")


@dataclass(frozen=True)
class Message:
    """One decoded message: ``kind`` is "request", "notification" or "response"."""

    kind: str
    id: Any = None
    method: str | None = None
    params: Any = None
    result: Any = None
    error: Any = None


def clip(text: str, limit: int = 200) -> str:
    """One line of server-provided text, shortened, safe to show in a terminal."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def decode(raw: bytes, *, where: str) -> list[Message]:
    """Decode one transport unit (a line, a body, an SSE event) into messages; batches are opened."""
    import orjson

    if len(raw) > MAX_MESSAGE_BYTES:
        raise MalformedMessage(f"{where}: a message larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MiB")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        preview = clip(raw[:120].decode("utf-8", errors="replace"), 80)
        raise MalformedMessage(f"{where}: the server sent something that is not JSON: {preview!r}") from None
    if isinstance(data, list):
        if not data or len(data) > MAX_BATCH:
            raise MalformedMessage(f"{where}: a JSON-RPC batch must hold 1 to {MAX_BATCH} messages")
        return [_message(item, where) for item in data]
    return [_message(data, where)]


def _message(data: object, where: str) -> Message:
    if not isinstance(data, dict):
        raise MalformedMessage(f"{where}: a JSON-RPC message must be an object")
    if data.get("jsonrpc") != "2.0":
        raise MalformedMessage(f"{where}: not a JSON-RPC 2.0 message (\"jsonrpc\" is not \"2.0\")")
    has_id = "id" in data
    ident = data.get("id")
    if has_id and not _valid_id(ident, allow_null=True):
        raise MalformedMessage(f"{where}: a JSON-RPC id must be a string or an integer")
    if "method" in data:
        method = data["method"]
        if not isinstance(method, str) or not method:
            raise MalformedMessage(f"{where}: a JSON-RPC method must be a non-empty string")
        params = data.get("params")
        if params is not None and not isinstance(params, (dict, list)):
            raise MalformedMessage(f"{where}: JSON-RPC params must be an object or an array")
        if has_id and ident is not None:
            return Message("request", id=ident, method=method, params=params)
        return Message("notification", method=method, params=params)
    if not has_id:
        raise MalformedMessage(f"{where}: a JSON-RPC message has neither \"method\" nor \"id\"")
    if ("result" in data) == ("error" in data):
        raise MalformedMessage(f"{where}: a JSON-RPC response must have exactly one of result and error")
    if "error" in data:
        error = data["error"]
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            raise MalformedMessage(f"{where}: a JSON-RPC error must be an object with an integer code")
        return Message("response", id=ident, error=error)
    return Message("response", id=ident, result=data["result"])


def _valid_id(value: object, *, allow_null: bool) -> bool:
    if value is None:
        return allow_null
    if isinstance(value, bool):
        return False
    return isinstance(value, (str, int))


def encode(message: dict) -> bytes:
    """Compact UTF-8 JSON with no newline inside (stdio framing is one message per line)."""
    import orjson

    return orjson.dumps(message)


def request(ident: int, method: str, params: dict | None) -> dict:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def notification(method: str, params: dict | None = None) -> dict:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return msg


def reply_to(msg: Message) -> dict:
    """Our minimal answer to a server→client request: ping and roots/list succeed, the rest -32601."""
    if msg.method == "ping":
        return {"jsonrpc": "2.0", "id": msg.id, "result": {}}
    if msg.method == "roots/list":
        return {"jsonrpc": "2.0", "id": msg.id, "result": {"roots": []}}
    return {"jsonrpc": "2.0", "id": msg.id,
            "error": {"code": METHOD_NOT_FOUND, "message": f"policyctl does not handle {clip(msg.method or '', 60)}"}}


def check_result(method: str, msg: Message) -> dict:
    """The result object of a response, or RpcError / MalformedMessage."""
    if msg.error is not None:
        e = msg.error
        raise RpcError(method, e.get("code"), e.get("message"), e.get("data"))
    if not isinstance(msg.result, dict):
        raise MalformedMessage(f"the server's answer to {method} is not an object")
    return msg.result
