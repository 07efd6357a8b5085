"""``policyctl record -- CMD ARGS…``: relay an MCP stdio session line by line, both ways.

Three threads move bytes: client → server (our stdin to the child's), server → client (the
child's stdout to ours), and the main thread, which waits for the end — the child closing its
stdout, the client closing our stdin (the child then gets the MCP shutdown sequence), the client
going away, or SIGINT/SIGTERM — then stops the child's whole process group, lets the last answers
through, writes the trace's last lines and returns the child's exit status. The child's stderr is
ours (inherited), so it passes through untouched.

Every line is forwarded as it came unless ``--enforce`` changes it (a denied call is answered
here, hidden tools are dropped from ``tools/list`` answers). A line longer than ``max_inspect``
bytes is streamed through in pieces without being read (memory stays bounded); it is counted.
Under ``--enforce`` a server line that long is read to its end and never passed on while a
``tools/list`` answer is due (it may be that answer): the client gets a JSON-RPC error instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Iterator, Mapping

from policyctl.errors import ServerError
from policyctl.mcp.proxy.session import Recorder, encode
from policyctl.mcp.stdio import shutdown, start_server

MAX_INSPECT = 16 * 1024 * 1024
_PROBE = 4096  # bytes kept from each end of a message too large to read


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the server gets SIGKILL if the proxy itself is killed (kill -9 leaves no orphan)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; stdin EOF still stops well-behaved servers
        pass


class StdioProxy:
    """One proxied stdio session."""

    def __init__(self, argv: list[str], recorder: Recorder, *, env: Mapping[str, str], cwd: str | None = None,
                 grace: float = 2.0, client_in: int = 0, client_out: int = 1,
                 max_inspect: int = MAX_INSPECT) -> None:
        if not argv:
            raise ServerError("no server command given after --")
        self.argv = list(argv)
        self.recorder = recorder
        self._inspect_failed = False
        self.env = dict(env)
        self.cwd = cwd
        self.grace = grace
        self.client_in = client_in
        self.client_out = client_out
        self.max_inspect = max_inspect
        self._out_lock = threading.Lock()
        self._in_lock = threading.Lock()
        self._done = threading.Event()
        self.reason = ""

    def _spawn(self) -> subprocess.Popen:
        kwargs: dict = {}
        if sys.platform.startswith("linux"):
            kwargs["preexec_fn"] = _die_with_parent
        return start_server(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
                            env=self.env, cwd=self.cwd, bufsize=0, **kwargs)

    def run(self) -> int:
        """Relay until the session ends; returns the server's exit status (128+N for signal N)."""
        self.proc = proc = self._spawn()
        stopping = {"signal": 0}

        def on_signal(signum: int, frame: object) -> None:
            stopping["signal"] = signum
            self.reason = f"signal {signum}"
            self._done.set()

        previous = {}
        # Relay threads hand each message to one another: let a thread waiting for the GIL get it
        # within 0.5 ms rather than the default 5 ms (the p99 of a round trip under load).
        switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, on_signal)
        try:
            c2s = threading.Thread(target=self._client_to_server, name="record-c2s", daemon=True)
            s2c = threading.Thread(target=self._server_to_client, name="record-s2c", daemon=True)
            c2s.start()
            s2c.start()
            while not self._done.wait(0.2):
                pass
            shutdown(proc, self.grace)
            s2c.join(timeout=2.0)  # the child's last answers reach the client
        finally:
            sys.setswitchinterval(switch)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        code = proc.returncode
        if code is None:  # pragma: no cover - shutdown always reaps
            code = proc.wait()
        return 128 - code if code < 0 else code

    def _lines(self, fd: int) -> Iterator[tuple[bytes, int]]:
        """``(line, piece)`` for each line read from ``fd``: ``piece`` 0 for a whole line to read;
        a line of ``max_inspect`` bytes or more comes in pieces instead, 1 for the first, 2 for each
        next (the last ends with a newline, unless the stream ends first), counted once as unread."""
        readline = open(fd, "rb", buffering=1 << 16, closefd=False).readline  # noqa: SIM115
        max_inspect = self.max_inspect
        streaming = False  # inside a line too long to read
        while True:
            line = readline(max_inspect)
            if not line:
                return
            whole = line.endswith(b"\n")
            if streaming:
                streaming = not whole
                yield line, 2
            elif not whole and len(line) >= max_inspect:
                self.recorder.count_unread()
                streaming = True
                yield line, 1
            else:
                yield line, 0

    # -- client → server ---------------------------------------------------------------------------
    def _client_to_server(self) -> None:
        proc = self.proc
        assert proc.stdin is not None
        child_in = proc.stdin.fileno()
        try:
            for line, piece in self._lines(self.client_in):
                if piece:  # a line too long to read: pass its pieces on unread
                    if self.recorder.options.enforce:
                        if line.endswith(b"\n"):  # refused whole: say so once, at its end
                            self._to_client(encode({"jsonrpc": "2.0", "id": None, "error": {
                                "code": -32600, "message": "policyctl record --enforce: message too large "
                                                           "to check; not forwarded"}}) + b"\n")
                        continue
                    self._to_server(child_in, line)
                    continue
                forward, answer = self.recorder.from_client(line, later=self._later)
                if forward is not None:
                    self._to_server(child_in, line if forward is line else forward + b"\n")
                if answer is not None:
                    self._to_client(answer + b"\n")
        except (OSError, ValueError):
            pass
        finally:
            try:
                proc.stdin.close()  # the client is done: the server sees end of input
            except OSError:
                pass
        # The client closed our stdin: the shutdown sequence starts (the server's stdin is closed
        # already; it gets its grace period to answer what it still owes and exit).
        self.reason = self.reason or "the client closed the connection"
        self._done.set()

    def _to_server(self, fd: int, data: bytes) -> None:
        try:
            with self._in_lock:
                _write_all(fd, data)
        except OSError:
            pass  # the server is gone; its end of stdout ends the session

    def _later(self, forward: bytes | None, answer: bytes | None) -> None:
        """A call --enforce held back has been decided: pass it on, or answer it."""
        if forward is not None and self.proc.stdin is not None:
            try:
                self._to_server(self.proc.stdin.fileno(), forward + b"\n")
            except ValueError:
                pass  # stdin already closed
        if answer is not None:
            self._to_client(answer + b"\n")

    # -- server → client ---------------------------------------------------------------------------
    def _server_to_client(self) -> None:
        assert self.proc.stdout is not None
        head = tail = b""
        withheld = False  # --enforce keeps a large message back while a tools/list answer is due
        try:
            for line, piece in self._lines(self.proc.stdout.fileno()):
                if piece:
                    if piece == 1:
                        head = line[:_PROBE]
                        tail = line[-_PROBE:]
                        withheld = self.recorder.withhold_large()
                    else:
                        tail = (tail + line[-_PROBE:])[-_PROBE:]
                    if not withheld:
                        self._to_client(line)
                    if line.endswith(b"\n"):
                        if withheld:
                            answer = self.recorder.large_refused(head, tail.rstrip(b"\r\n"))
                            if answer is not None:
                                self._to_client(answer + b"\n")
                        else:
                            self.recorder.large_from_server(head, tail.rstrip(b"\r\n"))
                    continue
                try:
                    out = self.recorder.from_server(line)
                except Exception as exc:  # noqa: BLE001 - a relay must not stop: pass the line on as it is
                    if not self._inspect_failed:
                        self._inspect_failed = True
                        sys.stderr.write(f"policyctl record: a server message could not be inspected "
                                         f"({type(exc).__name__}: {exc}); relaying unchanged\n")
                    out = line
                if out is not None:
                    self._to_client(line if out is line else out + b"\n")
        except BrokenPipeError:
            self.reason = self.reason or "the client stopped reading"
        except (OSError, ValueError):
            pass
        self.reason = self.reason or "the server closed its output"
        self._done.set()

    def _to_client(self, data: bytes) -> None:
        with self._out_lock:
            _write_all(self.client_out, data)
