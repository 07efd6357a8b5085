"""MCP over streamable HTTP with the standard library (``http.client``).

Each JSON-RPC message is one POST. The answer is ``application/json`` or a ``text/event-stream``
whose events carry messages (empty "priming" events are skipped; server→client requests met on
the stream are answered with another POST). In the handshake era the ``Mcp-Session-Id`` from
``initialize`` and ``MCP-Protocol-Version`` go on every later request and the session is DELETEd at
the end; in the 2026-07-28 era there is no session and each POST says ``Mcp-Method``.

Every read is bounded in size and by one deadline per request (the socket timeout is re-armed
before each read), so a server that trickles bytes cannot hold the client past ``--timeout``.
Redirects (sncro answers ``/tools/mcp/`` with 307) are followed for the same method and body, at
most five times; user headers are dropped when a redirect leaves the origin, and an https → http
downgrade is refused.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from typing import Iterator, Mapping
from urllib.parse import urljoin, urlsplit, urlunsplit

from policyctl.errors import ServerError, UsageError
from policyctl.mcp import jsonrpc
from policyctl.mcp.protocol import AuthRequired, ProbeRejected, RequestTimeout, ServerGone

MAX_REDIRECTS = 5
_READ_CHUNK = 64 * 1024
_PROTOCOL_HEADERS = {"content-type", "accept", "mcp-session-id", "mcp-protocol-version", "mcp-method",
                     "content-length", "host"}


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` from ``--header`` → (name, value); UsageError on anything else."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name:
        raise UsageError(f"--header {text!r}: expected 'Name: value'")
    if any(ch in text for ch in "\r\n\0"):
        raise UsageError("--header: a header may not contain line breaks")
    if not all(33 <= ord(ch) <= 126 and ch not in "()<>@,;:\\\"/[]?={}" for ch in name):
        raise UsageError(f"--header {name!r}: not a valid header name")
    if name.lower() in _PROTOCOL_HEADERS:
        raise UsageError(f"--header {name}: policyctl sets this header itself")
    return name, value.strip()


def redact_url(url: str) -> str:
    """The URL without credentials: userinfo dropped, values of secret-looking query keys hidden."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    query = parts.query
    if query:
        from urllib.parse import parse_qsl, urlencode

        pairs = []
        for key, value in parse_qsl(query, keep_blank_values=True):
            secret = any(w in key.lower() for w in ("key", "token", "secret", "password", "auth", "sig"))
            pairs.append((key, "***" if secret else value))
        query = urlencode(pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class HttpConnection:
    """One streamable-HTTP endpoint; use as a context manager so the session is deleted."""

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> None:
        self.url = check_url(url)
        self.user_headers = dict(headers or {})
        self.session_id: str | None = None
        self.protocol: str | None = None
        self.modern = False
        self.warnings: list[str] = []
        self._next_id = 0
        self._received = 0
        self._timeout = timeout  # for notifications; requests bring their own
        self._close_timeout = min(timeout, 5.0)

    def __enter__(self) -> "HttpConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- Connection protocol ---------------------------------------------------------------------
    def use_protocol(self, version: str, *, modern: bool) -> None:
        self.protocol = version
        self.modern = modern

    def notify(self, method: str, params: dict | None = None) -> None:
        body = jsonrpc.encode(jsonrpc.notification(method, params))
        deadline = time.monotonic() + self._timeout
        with self._send("POST", body, method, deadline) as resp:
            if resp.status not in (200, 202, 204):
                raise self._http_error(resp, method)

    def request(self, method: str, params: dict | None, *, timeout: float) -> dict:
        self._next_id += 1
        rid = self._next_id
        body = jsonrpc.encode(jsonrpc.request(rid, method, params))
        deadline = time.monotonic() + timeout
        probe = method == "server/discover"
        with self._send("POST", body, method, deadline) as resp:
            if resp.status in (200, 201):
                if method == "initialize":
                    self._take_session(resp)
                return self._answer(resp, rid, method, deadline, timeout)
            if resp.status in (202, 204):
                raise ServerError(f"the server accepted {method} (HTTP {resp.status}) but sent no answer")
            if probe and resp.status not in (401, 403):
                raise ProbeRejected(f"HTTP {resp.status} to server/discover")
            raise self._http_error(resp, method)

    def close(self) -> None:
        """DELETE the session (handshake era); failures here are not the user's problem."""
        if not self.session_id:
            return
        deadline = time.monotonic() + self._close_timeout
        try:
            with self._send("DELETE", None, "", deadline) as resp:
                _drain(resp, deadline, 64 * 1024)
        except (ServerError, OSError, http.client.HTTPException):
            pass
        self.session_id = None

    # -- plumbing --------------------------------------------------------------------------------
    def _headers(self, method_name: str, has_body: bool) -> dict[str, str]:
        headers = dict(self.user_headers)
        headers["Accept"] = "application/json, text/event-stream"
        if has_body:
            headers["Content-Type"] = "application/json"
        # initialize goes without a version header: the version is what it negotiates.
        if self.protocol and method_name != "initialize":
            headers["MCP-Protocol-Version"] = self.protocol
        if self.modern and method_name:
            headers["Mcp-Method"] = method_name
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        return headers

    def _send(self, verb: str, body: bytes | None, method_name: str, deadline: float) -> "_Response":
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            resp = _Response.open(verb, url, body, self._headers(method_name, body is not None), deadline)
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.header("location")
                resp.close()
                if not location:
                    raise ServerError(f"HTTP {resp.status} redirect without a Location header from {redact_url(url)}")
                try:
                    target = urljoin(url, location)
                except ValueError:
                    target = location
                problem = url_problem(target)
                if problem is not None:
                    raise ServerError(f"HTTP {resp.status} redirect from {redact_url(url)} to an unusable "
                                      f"URL: {problem}")
                old, new = urlsplit(url), urlsplit(target)
                if old.scheme == "https" and new.scheme == "http":
                    raise ServerError(f"refusing a redirect from https to http ({redact_url(target)})")
                if (old.scheme, old.hostname, old.port) != (new.scheme, new.hostname, new.port) and self.user_headers:
                    self.warnings.append(f"the server redirected to another origin ({redact_url(target)}); "
                                         "--header values were not sent there")
                    self.user_headers = {}
                url = target
                self.url = target  # later requests go straight to the final endpoint
                continue
            return resp
        raise ServerError(f"more than {MAX_REDIRECTS} redirects from {redact_url(self.url)}")

    def _take_session(self, resp: "_Response") -> None:
        sid = resp.header("mcp-session-id")
        if sid is None:
            return
        if not sid or len(sid) > 1024 or not all(0x21 <= ord(c) <= 0x7E for c in sid):
            raise jsonrpc.MalformedMessage("the server sent an invalid Mcp-Session-Id header")
        self.session_id = sid

    def _answer(self, resp: "_Response", rid: int, method: str, deadline: float, timeout: float) -> dict:
        ctype = (resp.header("content-type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
            raw = resp.read_body(deadline, jsonrpc.MAX_MESSAGE_BYTES, method, timeout)
            self._count(len(raw))
            for msg in jsonrpc.decode(raw, where=f"the answer to {method}"):
                if msg.kind == "response" and (msg.id == rid or (msg.id is None and msg.error is not None)):
                    return jsonrpc.check_result(method, msg)
            raise jsonrpc.MalformedMessage(f"the server's answer to {method} holds no response to it")
        if ctype == "text/event-stream":
            for data in resp.events(deadline, method, timeout):
                self._count(len(data))
                for msg in jsonrpc.decode(data, where=f"the event stream of {method}"):
                    if msg.kind == "response" and (msg.id == rid or (msg.id is None and msg.error is not None)):
                        return jsonrpc.check_result(method, msg)
                    if msg.kind == "request":
                        self._reply(jsonrpc.reply_to(msg), deadline)
            raise ServerGone(f"the server's event stream ended before it answered {method}")
        raise jsonrpc.MalformedMessage(f"the server answered {method} with content type "
                                       f"{jsonrpc.clip(ctype or 'none', 60)!r}, not JSON or an event stream")

    def _reply(self, message: dict, deadline: float) -> None:
        with self._send("POST", jsonrpc.encode(message), "", deadline) as resp:
            _drain(resp, deadline, 64 * 1024)

    def _count(self, n: int) -> None:
        self._received += n
        if self._received > jsonrpc.MAX_TOTAL_BYTES:
            raise jsonrpc.MalformedMessage(f"the server sent more than "
                                           f"{jsonrpc.MAX_TOTAL_BYTES // (1024 * 1024)} MiB")

    def _http_error(self, resp: "_Response", method: str) -> ServerError:
        try:
            snippet = resp.read_body(time.monotonic() + 2.0, 4096, method, 2.0, allow_cut=True)
        except ServerError:
            snippet = b""
        text = jsonrpc.clip(snippet.decode("utf-8", errors="replace"), 160)
        status = f"HTTP {resp.status} {jsonrpc.clip(resp.reason, 40)}".strip()
        where = redact_url(self.url)
        if resp.status in (401, 403):
            return AuthRequired(f"{status} from {where} for {method}: the server wants credentials "
                                "(pass --header 'Authorization: Bearer …')")
        if resp.status == 404 and self.session_id:
            return ServerError(f"{status} from {where} for {method}: the server forgot the session")
        return ServerError(f"{status} from {where} for {method}" + (f": {text}" if text else ""))


def check_url(url: str, where: str = "--url") -> str:
    """``url`` when policyctl can connect to it; a UsageError naming the problem otherwise.

    Nothing is resolved or contacted. ``where`` says where the URL came from (``--url``, or a
    server of an MCP client configuration file). The message shows the URL without its user
    info (credentials) and with secret-looking query values hidden.
    """
    problem = url_problem(url)
    if problem is not None:
        raise UsageError(f"{where} {shown_url(url)!r}: {problem}")
    return url


_HOST_PUNCTUATION = frozenset("-._~!$&'()*+,;=")
_DIGITS = frozenset("0123456789")


def url_problem(url: str) -> str | None:
    """What makes ``url`` unusable as a streamable-HTTP endpoint, or None.

    Checked by hand, part by part, because ``urlsplit`` accepts much that the connection then
    chokes on (an unclosed ``[``, a port of 99999 or ``abc``, a space in the host).
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        return "expected an http:// or https:// URL"
    if scheme.lower() not in ("http", "https"):
        return f"unsupported scheme {scheme[:20]!r}; expected an http:// or https:// URL"
    end = min([i for i in (rest.find(c) for c in "/?#") if i != -1] or [len(rest)])
    netloc, tail = rest[:end], rest[end:]
    userinfo, _at, hostport = netloc.rpartition("@")
    for part, text in (("user info", userinfo), ("host", hostport), ("path or query", tail)):
        for ch in text:
            if ch.isspace() or not ch.isprintable():
                what = "a space" if ch == " " else f"the character U+{ord(ch):04X}"
                hint = " (write it as %20)" if part == "path or query" and ch == " " else ""
                return f"the {part} contains {what}{hint}"
    if not hostport:
        return "no host"
    if hostport.startswith("["):
        close = hostport.find("]")
        if close == -1:
            return "the host has an unclosed [ (an IPv6 address is written [::1])"
        address, after = hostport[1:close], hostport[close + 1:]
        import ipaddress

        try:
            ipaddress.IPv6Address(address.split("%", 1)[0])
        except ValueError:
            return "the host in [ ] is not an IPv6 address"
        if after and not after.startswith(":"):
            return "unexpected text after the IPv6 address in [ ]"
        port = after[1:]
    else:
        if "[" in hostport or "]" in hostport:
            return "the host has a [ or ] outside an IPv6 address"
        if hostport.count(":") > 1:
            return "the host has more than one ':' (an IPv6 address goes in brackets: http://[::1]:8080/)"
        host, _colon, port = hostport.partition(":")
        if not host:
            return "no host"
        odd = next((ch for ch in host if not (ch.isalnum() or ch in _HOST_PUNCTUATION)), None)
        if odd is not None:
            return f"the host contains {odd!r}"
    if port:  # an empty port after ':' means the scheme's default (RFC 3986)
        if not set(port) <= _DIGITS:
            return f"the port {port[:20]!r} is not a number"
        if len(port) > 5 or not 1 <= int(port) <= 65535:
            return f"the port {port[:20]} is out of range (1-65535)"
    try:
        _ = urlsplit(url).port  # what the connection will use must agree (it raises on a bad port)
    except ValueError:
        return "malformed URL"
    return None


def shown_url(url: str) -> str:
    """A URL, possibly malformed, as an error message shows it: the text as given up to its query,
    without the user info (credentials); the query is left out (it may hold a token)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.partition("?")[0].partition("#")[0]
    end = min([i for i in (rest.find(c) for c in "/?#") if i != -1] or [len(rest)])
    netloc = rest[:end].rpartition("@")[2]
    path = rest[end:].partition("?")[0].partition("#")[0]
    return f"{scheme}{sep}{netloc}{path}"


def _drain(resp: "_Response", deadline: float, limit: int) -> None:
    try:
        resp.read_body(deadline, limit, "", 0, allow_cut=True)
    except ServerError:
        pass


class _Response:
    """An open HTTP response whose every read honours one deadline and one size limit."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self.conn = conn
        self.resp = resp
        self.status = resp.status
        self.reason = resp.reason or ""

    @classmethod
    def open(cls, verb: str, url: str, body: bytes | None, headers: dict[str, str],
             deadline: float) -> "_Response":
        parts = urlsplit(url)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTimeout(f"no answer from {redact_url(url)} in time")
        host = parts.hostname or ""
        port = parts.port
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=remaining,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=remaining)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        if parts.username or parts.password:
            import base64
            from urllib.parse import unquote

            token = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
            headers = {**headers, "Authorization": "Basic " + base64.b64encode(token).decode()}
        try:
            conn.request(verb, path, body=body, headers=headers)
            _arm(conn, deadline, redact_url(url), remaining)
            resp = conn.getresponse()
        except (socket.timeout, TimeoutError):
            conn.close()
            raise RequestTimeout(f"no answer from {redact_url(url)} within the timeout") from None
        except ssl.SSLError as exc:
            conn.close()
            raise ServerError(f"TLS error talking to {redact_url(url)}: {exc.reason or exc}") from None
        except (ConnectionError, OSError, http.client.HTTPException) as exc:
            conn.close()
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ServerError(f"cannot reach {redact_url(url)}: {jsonrpc.clip(reason, 120)}") from None
        return cls(conn, resp)

    def header(self, name: str) -> str | None:
        return self.resp.getheader(name)

    def __enter__(self) -> "_Response":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass

    def _chunks(self, deadline: float, what: str, timeout: float) -> Iterator[bytes]:
        while True:
            _arm(self.conn, deadline, what, timeout)
            try:
                chunk = self.resp.read1(_READ_CHUNK)
            except (socket.timeout, TimeoutError):
                raise RequestTimeout(f"no complete answer to {what} within {timeout:g} s") from None
            except (ConnectionError, OSError, http.client.HTTPException) as exc:
                raise ServerGone(f"the connection broke while reading the answer to {what}: "
                                 f"{jsonrpc.clip(str(exc) or type(exc).__name__, 80)}") from None
            if not chunk:
                return
            yield chunk

    def read_body(self, deadline: float, limit: int, what: str, timeout: float, *,
                  allow_cut: bool = False) -> bytes:
        buf = bytearray()
        for chunk in self._chunks(deadline, what, timeout):
            buf += chunk
            if len(buf) > limit:
                if allow_cut:
                    return bytes(buf[:limit])
                raise jsonrpc.MalformedMessage(f"the answer to {what} is larger than "
                                               f"{limit // (1024 * 1024)} MiB")
        return bytes(buf)

    def events(self, deadline: float, what: str, timeout: float) -> Iterator[bytes]:
        """The ``data`` of each non-empty ``message`` event of a text/event-stream body."""
        pending = bytearray()
        data: list[bytes] = []
        size = 0
        event_type = b""
        for chunk in self._chunks(deadline, what, timeout):
            pending += chunk
            while True:
                cut = _line_end(pending)
                if cut is None:
                    if len(pending) > jsonrpc.MAX_MESSAGE_BYTES:
                        raise jsonrpc.MalformedMessage(f"an event in the stream of {what} is too large")
                    break
                end, skip = cut
                line = bytes(pending[:end])
                del pending[: end + skip]
                if not line:  # blank line: dispatch the event
                    if data and event_type in (b"", b"message"):
                        payload = b"\n".join(data)
                        if payload.strip():
                            yield payload
                    data, size, event_type = [], 0, b""
                    continue
                if line.startswith(b":"):
                    continue  # a comment (keep-alive)
                field, _, value = line.partition(b":")
                if value.startswith(b" "):
                    value = value[1:]
                if field == b"data":
                    size += len(value)
                    if size > jsonrpc.MAX_MESSAGE_BYTES:
                        raise jsonrpc.MalformedMessage(f"an event in the stream of {what} is too large")
                    data.append(value)
                elif field == b"event":
                    event_type = value
                # "id" and "retry" need no handling: we never resume a stream
        if data and event_type in (b"", b"message"):
            payload = b"\n".join(data)
            if payload.strip():
                yield payload


def _line_end(buf: bytearray) -> tuple[int, int] | None:
    """Position and width of the first line ending (CRLF, LF or CR) in ``buf``."""
    lf = buf.find(b"\n")
    cr = buf.find(b"\r")
    if cr == -1 and lf == -1:
        return None
    if cr != -1 and (lf == -1 or cr < lf):
        if cr + 1 == len(buf):
            return None  # a CR at the very end may be half of a CRLF
        return (cr, 2) if buf[cr + 1: cr + 2] == b"\n" else (cr, 1)
    return lf, 1


def _arm(conn: http.client.HTTPConnection, deadline: float, what: str, timeout: float) -> None:
    """Re-arm the socket timeout to what is left of the deadline before each blocking call."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise RequestTimeout(f"no complete answer to {what} within {timeout:g} s")
    if conn.sock is not None:
        conn.sock.settimeout(remaining)
