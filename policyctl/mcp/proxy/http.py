"""``policyctl record --upstream URL --listen HOST:PORT``: a streamable-HTTP MCP proxy at ``/mcp``.

Every request to ``/mcp`` is relayed to the upstream URL with the client's own headers (its
``Authorization`` included; hop-by-hop headers excepted) plus ``--header`` values, and the answer
comes back as it arrives: a JSON body whole, an event stream event by event (never buffered whole),
``202``/``4xx`` and anything else as they are. POST, GET (the server's stream, ``Last-Event-ID``
passed on) and DELETE are relayed; ``Mcp-Session-Id`` and ``MCP-Protocol-Version`` travel both
ways untouched. The old HTTP+SSE transport (2024-11-05's ``/sse`` + ``/messages``) is not served.

Calls are paired with answers per session (``Mcp-Session-Id``), or per POST when there is no
session (the 2026-07-28 revision), so two stateless clients may use the same ids.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit

from policyctl.mcp.proxy.session import Recorder, encode
from policyctl.mcp.proxy.trace_writer import grant_from_secret

MAX_INSPECT = 16 * 1024 * 1024
_CHUNK = 64 * 1024
_PROBE = 4096  # bytes kept from each end of an answer too large to read
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length"}
UPSTREAM_TIMEOUT = 300.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: "HttpProxy") -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.proxy = proxy
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request is routine for a proxy: nothing to report."""


class HttpProxy:
    """One listening proxy; ``run`` serves until SIGINT/SIGTERM (or ``stop``)."""

    def __init__(self, upstream: str, recorder: Recorder, *, listen: tuple[str, int] = ("127.0.0.1", 8808),
                 headers: tuple[tuple[str, str], ...] = (), grant_header: str | None = None,
                 max_inspect: int = MAX_INSPECT) -> None:
        self.upstream = upstream
        self.parts = urlsplit(upstream)
        self.recorder = recorder
        self.listen = listen
        self.headers = headers
        self.grant_header = grant_header
        self.max_inspect = max_inspect
        self._stop = threading.Event()
        self.reason = ""
        self.url = ""

    def run(self, ready: Callable[[str], None] | None = None) -> int:
        import signal

        from policyctl.errors import UsageError

        try:
            server = _Server(self.listen, self)
        except OSError as exc:
            raise UsageError(f"--listen {self.listen[0]}:{self.listen[1]}: cannot listen there: "
                             f"{exc.strerror or exc}") from None
        host, port = str(server.server_address[0]), server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/mcp"
        previous = {}
        # Relay threads hand each message to one another: let a thread waiting for the GIL get it
        # within 0.5 ms rather than the default 5 ms (the p99 of a round trip under load).
        switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)

        def on_signal(signum: int, frame: object) -> None:
            self.reason = f"signal {signum}"
            self._stop.set()

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, on_signal)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                  name="record-http", daemon=True)
        thread.start()
        try:
            if ready is not None:
                ready(self.url)
            while not self._stop.wait(0.2):
                pass
        finally:
            server.shutdown()
            server.server_close()
            sys.setswitchinterval(switch)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def stop(self) -> None:
        self._stop.set()

    # -- upstream ----------------------------------------------------------------------------------
    def connect(self) -> http.client.HTTPConnection:
        parts = self.parts
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=UPSTREAM_TIMEOUT,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=UPSTREAM_TIMEOUT)

    def send(self, conn: http.client.HTTPConnection, verb: str, headers: Mapping[str, str],
             body: bytes | Iterator[bytes] | None, length: int | None) -> http.client.HTTPResponse:
        parts = self.parts
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.putrequest(verb, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if length is not None:
            conn.putheader("Content-Length", str(length))
        if isinstance(body, bytes):
            conn.endheaders(body)  # headers and a small body in one write
        else:
            conn.endheaders()
            for piece in body or ():
                conn.send(piece)
        if conn.sock is not None:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn.getresponse()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    _kept: http.client.HTTPConnection | None = None  # the upstream connection kept alive for this client

    def _open(self, verb: str, body: Any,
              length: int | None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send to the upstream on this client's kept-alive connection (or a new one). A kept one the
        upstream closed while idle is replaced once — only when nothing at all came back on it."""
        proxy = self.proxy
        headers = self._upstream_headers()
        kept, self._kept = self._kept, None
        if kept is not None and isinstance(body, (bytes, type(None))):
            try:
                return kept, proxy.send(kept, verb, headers, body, length)
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                kept.close()
        conn = proxy.connect()
        try:
            return conn, proxy.send(conn, verb, headers, body, length)
        except BaseException:
            conn.close()
            raise

    def _done_with(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        if resp.isclosed() and not resp.will_close and self._kept is None and not self.close_connection:
            self._kept = conn
        else:
            conn.close()

    def finish(self) -> None:
        if self._kept is not None:
            self._kept.close()
            self._kept = None
        super().finish()

    @property
    def proxy(self) -> HttpProxy:
        return self.server.proxy

    def _path_ok(self) -> bool:
        if self.path.split("?", 1)[0] != "/mcp":
            self._plain(404, b"policyctl record serves MCP at /mcp\n")
            return False
        return True

    def _plain(self, status: int, text: bytes) -> None:
        self._send(status, "text/plain; charset=utf-8", text)

    def _upstream_headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.headers.items():
            if name.lower() not in _HOP:
                out[name] = value
        if self.proxy.recorder.options.enforce:  # an answer must be readable to be checked
            for name in [k for k in out if k.lower() == "accept-encoding"]:
                del out[name]
            out["Accept-Encoding"] = "identity"
        for name, value in self.proxy.headers:
            for existing in [k for k in out if k.lower() == name.lower()]:
                del out[existing]
            out[name] = value
        netloc = self.proxy.parts.netloc.rsplit("@", 1)[-1]
        out["Host"] = netloc
        return out

    def _grant(self) -> str | None:
        name = self.proxy.grant_header
        if name is None:
            return None
        value = self.headers.get(name)
        return grant_from_secret(value) if value else None

    def _channel(self) -> Any:
        sid = self.headers.get("Mcp-Session-Id")
        return ("session", sid) if sid else ("post", object())

    # -- verbs -------------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if not self._path_ok():
            return
        recorder = self.proxy.recorder
        length_text = self.headers.get("Content-Length")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if length_text is None and not chunked:
            self._plain(411, b"a POST to /mcp needs a body with Content-Length\n")
            return
        length = int(length_text) if length_text and length_text.isdigit() else None
        channel = self._channel()
        calls: list = []
        local: bytes | None = None
        if length is not None and length > self.proxy.max_inspect:
            recorder.count_unread()
            if recorder.options.enforce:
                self.rfile.read(length)  # drain
                self._plain(413, b"policyctl record --enforce: message too large to check\n")
                return
            body_iter: Any = _counted(self.rfile, length)
            forward: Any = body_iter
        else:
            if length is not None:
                raw = self.rfile.read(length)
            else:
                raw, whole = _read_chunked(self.rfile, self.proxy.max_inspect)
                if not whole:  # the rest of the body is left unread: it must not be taken for a request
                    self.close_connection = True
                    recorder.count_unread()
                    if recorder.options.enforce:
                        self._plain(413, b"policyctl record --enforce: message too large to check\n")
                        return
            held: list = []
            decided: list[tuple[bytes | None, bytes | None]] = []
            done = threading.Event()

            def later(fwd: bytes | None, answer: bytes | None) -> None:
                decided.append((fwd, answer))
                if len(decided) >= len(held):
                    done.set()

            forward, local = recorder.from_client(raw, channel=channel, grant=self._grant(), calls=calls,
                                                  later=later, held=held)
            if held:
                done.wait()  # --enforce held a call until earlier answers came in (see session.Recorder)
                forward, local = _combine(raw, forward, local, decided)
            length = len(forward) if forward is not None else None
        if forward is None:
            self._json(200, local or b"")
            return
        try:
            conn, resp = self._open("POST", forward, length)
        except (OSError, http.client.HTTPException) as exc:
            recorder.unanswered(calls)
            self._plain(502, f"policyctl record: cannot reach the upstream: {exc}\n".encode())
            return
        try:
            self._relay(resp, channel, prepend=local)
        finally:
            self._done_with(conn, resp)
            if channel[0] == "post" or resp.status >= 300:
                recorder.unanswered(calls)

    def do_GET(self) -> None:  # noqa: N802
        if not self._path_ok():
            return
        conn = self.proxy.connect()  # a long-lived stream: never on the kept connection
        try:
            resp = self.proxy.send(conn, "GET", self._upstream_headers(), None, None)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._plain(502, f"policyctl record: cannot reach the upstream: {exc}\n".encode())
            return
        try:
            self._relay(resp, self._channel())
        finally:
            conn.close()

    def do_DELETE(self) -> None:  # noqa: N802
        if not self._path_ok():
            return
        try:
            conn, resp = self._open("DELETE", None, None)
        except (OSError, http.client.HTTPException) as exc:
            self._plain(502, f"policyctl record: cannot reach the upstream: {exc}\n".encode())
            return
        try:
            self._relay(resp, self._channel())
        finally:
            self._done_with(conn, resp)

    # -- answers -----------------------------------------------------------------------------------
    def _json(self, status: int, body: bytes) -> None:
        self._send(status, "application/json", body)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        """An answer of our own (not the upstream's), whole."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _head(self, resp: http.client.HTTPResponse, *, length: int | None) -> None:
        self.send_response(resp.status, resp.reason)
        for name, value in resp.getheaders():
            if name.lower() not in _HOP:
                self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _relay(self, resp: http.client.HTTPResponse, channel: Any, prepend: bytes | None = None) -> None:
        recorder = self.proxy.recorder
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        declared = resp.getheader("Content-Length")
        size = int(declared) if declared and declared.isdigit() else None
        try:
            if recorder.options.enforce and recorder.withhold_large(channel):
                # a client may read what the proxy cannot: a compressed body (fetch decompresses it),
                # or a type the TypeScript SDK takes by substring ("application/json+x") — not checked
                encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
                if encoding != "identity":
                    self._withheld(resp, b"", channel, prepend, what=f"Content-Encoding {encoding}")
                    return
                full = (resp.getheader("Content-Type") or "").lower()
                if (("text/event-stream" in full and ctype != "text/event-stream")
                        or ("application/json" in full and ctype != "application/json")):
                    self._withheld(resp, b"", channel, prepend, what=f"Content-Type {full.strip()}")
                    return
            if ctype == "text/event-stream":
                self._head(resp, length=None)
                if prepend:
                    self._chunk(b"event: message\ndata: " + prepend + b"\n\n")
                for piece in _events(resp, self.proxy.max_inspect, recorder, channel):
                    self._chunk(piece)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            if ctype == "application/json" and (size is None or size <= self.proxy.max_inspect):
                body = _read_limited(resp, self.proxy.max_inspect)
                if body is not None:
                    out = recorder.from_server(body, channel=channel)
                    if out is None:
                        out = b""
                    if prepend:
                        out = _merge(prepend, out)
                    self._head(resp, length=len(out))
                    self.wfile.write(out)
                    return
                recorder.count_unread()
                if recorder.withhold_large(channel):  # it may be the tools/list answer due: not passed on
                    self._withheld(resp, resp.peeked, channel, prepend)  # type: ignore[attr-defined]
                    return
                self._head(resp, length=None)
                self._chunk(resp.peeked)  # type: ignore[attr-defined]
            else:
                if ctype == "application/json":
                    recorder.count_unread()
                    if recorder.withhold_large(channel):  # it may be the tools/list answer due: not passed on
                        self._withheld(resp, b"", channel, prepend)
                        return
                if resp.status in (204, 304) or self.command == "HEAD":
                    self._head(resp, length=0)
                    return
                self._head(resp, length=size)
                if size is not None:
                    while True:
                        data = resp.read1(_CHUNK)
                        if not data:
                            return
                        self.wfile.write(data)
            while True:
                data = resp.read1(_CHUNK)
                if not data:
                    break
                self._chunk(data)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, http.client.HTTPException):
            self.close_connection = True  # either side went away mid-answer

    def _withheld(self, resp: http.client.HTTPResponse, head: bytes, channel: Any, prepend: bytes | None,
                  what: str = "too large to read") -> None:
        """Read an answer the proxy cannot check to its end, keeping only its first and last bytes,
        and answer what ``Recorder.large_refused`` says instead (--enforce, a tools/list answer due)."""
        tail = head[-_PROBE:]
        while True:
            data = resp.read1(_CHUNK)
            if not data:
                break
            if len(head) < _PROBE:
                head += data[:_PROBE - len(head)]
            tail = (tail + data)[-_PROBE:]
        out = self.proxy.recorder.large_refused(head[:_PROBE], tail.rstrip(), channel=channel, what=what) or b""
        if prepend:
            out = _merge(prepend, out)
        self.send_response(resp.status, resp.reason)
        for name, value in resp.getheaders():
            if name.lower() not in _HOP and name.lower() not in ("content-type", "content-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def _combine(raw: bytes, forward: bytes | None, local: bytes | None,
             decided: list[tuple[bytes | None, bytes | None]]) -> tuple[bytes | None, bytes | None]:
    """What to forward and answer once held calls are decided: one message stays one message; a
    batch gets its held members back (forwarded or answered)."""
    import orjson

    if not raw.lstrip().startswith(b"["):
        fwd, answer = decided[0]
        return fwd, answer
    keep = orjson.loads(forward) if forward else []
    mine = orjson.loads(local) if local else []
    for fwd, answer in decided:
        if fwd is not None:
            keep.append(orjson.loads(fwd))
        if answer is not None:
            mine.append(orjson.loads(answer))
    return (encode(keep) if keep else None), (encode(mine) if mine else None)


def _merge(local: bytes, upstream: bytes) -> bytes:
    """Local answers (denied calls of a batch) joined to the upstream's JSON answer."""
    import orjson

    mine = orjson.loads(local)
    try:
        theirs = orjson.loads(upstream) if upstream.strip() else []
    except orjson.JSONDecodeError:
        return upstream
    if not isinstance(theirs, list):
        theirs = [theirs]
    return encode(theirs + (mine if isinstance(mine, list) else [mine]))


def _counted(stream: Any, length: int) -> Iterator[bytes]:
    left = length
    while left > 0:
        data = stream.read(min(_CHUNK, left))
        if not data:
            return
        left -= len(data)
        yield data


def _read_chunked(stream: Any, limit: int) -> tuple[bytes, bool]:
    """A chunked body and whether it was read whole: reading stops once it passes ``limit`` bytes,
    never allocating more than that whatever size a chunk declares (a hostile chunk size of
    ``fffffffff`` must not make the proxy reserve 64 GiB)."""
    out = bytearray()
    while True:
        line = stream.readline(1024)
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            stream.readline(1024)
            return bytes(out), True
        room = limit + 1 - len(out)
        out += stream.read(min(size, room))
        if size >= room:
            return bytes(out), False
        stream.readline(1024)


def _read_limited(resp: http.client.HTTPResponse, limit: int) -> bytes | None:
    """The whole body if it is at most ``limit`` bytes, else None (what was read is in ``resp.peeked``)."""
    parts: list[bytes] = []
    total = 0
    while True:
        data = resp.read1(_CHUNK)
        if not data:
            return b"".join(parts)
        parts.append(data)
        total += len(data)
        if total > limit:
            resp.peeked = b"".join(parts)  # type: ignore[attr-defined]
            return None


def _events(resp: http.client.HTTPResponse, limit: int, recorder: Recorder, channel: Any) -> Iterator[bytes]:
    """The event stream, event by event, each event's data shown to the recorder (and rewritten
    when it changes a message). An event larger than ``limit`` passes through unread."""
    buf = b""
    event: list[bytes] = []  # raw lines of the current event (with their line endings)
    size = 0
    unread = False
    withheld: list[bytes] | None = None  # --enforce: [head, tail] of a large event kept back
    final = False
    while not final:
        data = resp.read1(_CHUNK)
        final = not data  # the stream ended: a CR last ends its line
        buf += data
        out = []
        while True:
            cut = _line_end(buf, final)
            if cut < 0:
                break
            line, buf = buf[:cut], buf[cut:]
            if unread:
                if withheld is None:
                    out.append(line)
                else:
                    withheld[1] = (withheld[1] + line)[-_PROBE:]
                if line in _BLANK:
                    unread = False
                    if withheld is not None:
                        answer = recorder.large_refused(withheld[0], withheld[1].strip(), channel=channel)
                        if answer is not None:
                            out.append(b"event: message\ndata: " + answer + b"\n\n")
                        withheld = None
                continue
            event.append(line)
            size += len(line)
            if line in _BLANK:
                out.append(_event(event, recorder, channel))
                event, size = [], 0
            elif size > limit:
                recorder.count_unread()
                if recorder.withhold_large(channel):  # it may be the tools/list answer due: not passed on
                    payload = b"".join(ln[5:].lstrip(b" ").rstrip(b"\r\n") for ln in event if ln.startswith(b"data:"))
                    withheld = [payload[:_PROBE], payload[-_PROBE:]]
                else:
                    out.append(b"".join(event))
                event, size, unread = [], 0, True
        if not unread and size + len(buf) > limit:  # a line with no end in sight: too large to read
            recorder.count_unread()
            event.append(buf)
            if recorder.withhold_large(channel):
                payload = b"".join(ln[5:].lstrip(b" ").rstrip(b"\r\n") for ln in event if ln.startswith(b"data:"))
                withheld = [payload[:_PROBE], payload[-_PROBE:]]
            else:
                out.append(b"".join(event))
            event, size, unread, buf = [], 0, True, b""
        if unread and buf:
            if withheld is None:
                out.append(buf)
            else:
                withheld[1] = (withheld[1] + buf)[-_PROBE:]
            buf = b""
        if out:
            yield b"".join(out)
    if withheld is not None:  # the stream ended inside a large event kept back
        answer = recorder.large_refused(withheld[0], withheld[1].strip(), channel=channel)
        if answer is not None:
            yield b"event: message\ndata: " + answer + b"\n\n"
    if event or buf:
        if recorder.options.enforce and not unread:  # a client may read an event the stream ended in
            yield _event([*event, buf] if buf else event, recorder, channel)
        else:
            yield b"".join(event) + buf


_BLANK = (b"\n", b"\r\n", b"\r")


def _line_end(buf: bytes, final: bool = False) -> int:
    """Where the first line of ``buf`` ends (after its end of line: LF, CRLF or a lone CR, as the
    event-stream format allows and clients read), or -1 while it may not be whole (a CR last may be
    followed by an LF in the next read, unless the stream has ended: ``final``)."""
    lf = buf.find(b"\n")
    cr = buf.find(b"\r", 0, lf if lf >= 0 else len(buf))
    if cr < 0:
        return lf + 1 if lf >= 0 else -1
    if cr + 1 == len(buf):
        return cr + 1 if final else -1
    return cr + 2 if buf[cr + 1] == 0x0A else cr + 1


def _event(lines: list[bytes], recorder: Recorder, channel: Any) -> bytes:
    data = [ln[5:].lstrip(b" ").rstrip(b"\r\n") if ln.startswith(b"data:") else None for ln in lines]
    payload = b"\n".join(d for d in data if d is not None)
    if not payload.strip():
        return b"".join(lines)
    out = recorder.from_server(payload, channel=channel)
    if out is payload:
        return b"".join(lines)
    rebuilt = [ln for ln, d in zip(lines, data) if d is None and ln not in _BLANK]
    return b"".join(rebuilt) + b"data: " + (out or b"") + b"\n\n"
