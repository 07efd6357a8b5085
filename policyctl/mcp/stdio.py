"""MCP over stdio: spawn the server, exchange one JSON-RPC message per line, never leave it behind.

The child runs in its own process group (session) with a minimal environment. Closing follows the
MCP shutdown sequence — close its stdin, wait, SIGTERM, wait, SIGKILL — applied to the whole group,
so helpers the server started (``npx`` → ``node``, a shell wrapper) go too.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any, Mapping

from policyctl.errors import ServerError
from policyctl.mcp import jsonrpc
from policyctl.mcp.protocol import RequestTimeout, ServerGone

# Environment variables a server may need to start; nothing that usually carries credentials.
_ENV_ALLOW = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TMPDIR", "TZ", "LANG", "LANGUAGE")
_ENV_ALLOW_WINDOWS = ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP",
                      "USERPROFILE", "APPDATA", "LOCALAPPDATA", "PROGRAMDATA", "PROGRAMFILES")
STDERR_TAIL_LINES = 20
_STDERR_LINE_CHARS = 400
_POSIX = os.name == "posix"


def child_environment(extra: Mapping[str, str] | None = None,
                      base: Mapping[str, str] | None = None) -> dict[str, str]:
    """PATH, HOME, user, terminal and locale variables from ``base`` (default: ours), plus ``extra``."""
    source = os.environ if base is None else base
    allow = _ENV_ALLOW + (_ENV_ALLOW_WINDOWS if os.name == "nt" else ())
    env = {k: v for k, v in source.items() if k in allow or k.startswith("LC_")}
    env.update(extra or {})
    return env


def start_server(argv: list[str], **popen: Any) -> subprocess.Popen:
    """``subprocess.Popen(argv, **popen)`` in a process group of its own (so that all of the server
    can be signalled); a server that cannot start is a :class:`ServerError` naming the command."""
    if _POSIX:
        popen["start_new_session"] = True
    else:  # pragma: no cover - exercised on Windows only
        popen["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    try:
        return subprocess.Popen(argv, **popen)
    except FileNotFoundError:
        raise ServerError(f"cannot start the server: command not found: {argv[0]}") from None
    except PermissionError:
        raise ServerError(f"cannot start the server: permission denied: {argv[0]}") from None
    except OSError as exc:
        raise ServerError(f"cannot start the server {argv[0]}: {exc.strerror or exc}") from None


class StdioConnection:
    """One spawned server; use as a context manager so it is always shut down."""

    def __init__(self, argv: list[str], *, env: Mapping[str, str], cwd: str | None = None,
                 grace: float = 2.0) -> None:
        if not argv:
            raise ServerError("no server command given after --")
        self.argv = list(argv)
        self.grace = grace
        self._next_id = 0
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._lines: queue.Queue[tuple[str, bytes | None]] = queue.Queue()
        self.proc = start_server(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=dict(env), cwd=cwd)
        self.pid = self.proc.pid
        self._out = threading.Thread(target=self._read_stdout, name="mcp-stdout", daemon=True)
        self._err = threading.Thread(target=self._read_stderr, name="mcp-stderr", daemon=True)
        self._out.start()
        self._err.start()

    # -- context manager -------------------------------------------------------------------------
    def __enter__(self) -> "StdioConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        total = 0
        refused = False
        try:
            while True:
                line = _readline(stream, jsonrpc.MAX_MESSAGE_BYTES + 1)
                if not line:
                    break
                if refused:
                    continue  # keep draining so the server never blocks on a full pipe
                total += len(line)
                if len(line) > jsonrpc.MAX_MESSAGE_BYTES:
                    self._lines.put(("too-long", None))
                    refused = True
                elif total > jsonrpc.MAX_TOTAL_BYTES:
                    self._lines.put(("too-much", None))
                    refused = True
                else:
                    self._lines.put(("line", line))
        except (OSError, ValueError):
            pass
        self._lines.put(("eof", None))

    def _read_stderr(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        try:
            while True:
                line = _readline(stream, 64 * 1024)
                if not line:
                    return
                text = line.decode("utf-8", errors="replace").rstrip("\r\n")
                self._stderr.append(text[:_STDERR_LINE_CHARS])
        except (OSError, ValueError):
            return

    def stderr_tail(self) -> tuple[str, ...]:
        return tuple(self._stderr)

    def _fail(self, cls: type[ServerError], message: str) -> ServerError:
        tail = self.stderr_tail()
        details = (("the server's stderr ended with:",) + tuple("  " + jsonrpc.clip(t, 300) for t in tail)
                   if tail else ("the server wrote nothing on stderr",))
        return cls(message, details=details)

    # -- writing ---------------------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(jsonrpc.encode(message) + b"\n")
            stdin.flush()
        except (BrokenPipeError, ConnectionResetError, ValueError, OSError):
            raise self._gone("while policyctl was writing to it") from None

    def _gone(self, during: str) -> ServerError:
        code = None
        try:
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        self._err.join(timeout=0.5)  # let the last stderr lines arrive
        status = f" (exit code {code})" if code is not None else ""
        return self._fail(ServerGone, f"the server exited{status} {during}")

    # -- Connection protocol ---------------------------------------------------------------------
    def use_protocol(self, version: str, *, modern: bool) -> None:
        """stdio carries no per-era headers."""

    def notify(self, method: str, params: dict | None = None) -> None:
        self._send(jsonrpc.notification(method, params))

    def request(self, method: str, params: dict | None, *, timeout: float) -> dict:
        self._next_id += 1
        rid = self._next_id
        self._send(jsonrpc.request(rid, method, params))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._fail(RequestTimeout, f"no answer to {method} within {timeout:g} s")
            try:
                kind, raw = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if kind == "eof":
                self._lines.put(("eof", None))  # later requests see it too
                raise self._gone(f"before answering {method}")
            if kind == "too-long":
                raise self._fail(jsonrpc.MalformedMessage,
                                 f"the server sent a line longer than "
                                 f"{jsonrpc.MAX_MESSAGE_BYTES // (1024 * 1024)} MiB on stdout")
            if kind == "too-much":
                raise self._fail(jsonrpc.MalformedMessage,
                                 f"the server sent more than {jsonrpc.MAX_TOTAL_BYTES // (1024 * 1024)} "
                                 "MiB on stdout")
            assert raw is not None
            if not raw.strip():
                continue
            try:
                messages = jsonrpc.decode(raw, where="stdout")
            except jsonrpc.MalformedMessage as exc:
                raise self._fail(jsonrpc.MalformedMessage,
                                 f"while waiting for {method}: {exc.message}") from None
            for msg in messages:
                if msg.kind == "request":
                    self._send(jsonrpc.reply_to(msg))
                elif msg.kind == "response" and (msg.id == rid or (msg.id is None and msg.error is not None)):
                    # an error with a null id: the server could not read our request at all
                    return jsonrpc.check_result(method, msg)
                # notifications and stale responses (a late probe answer) are ignored

    # -- shutdown --------------------------------------------------------------------------------
    def close(self) -> None:
        """Close stdin, wait, terminate, wait, kill — the whole process group; reap the child."""
        proc = self.proc
        shutdown(proc, self.grace)
        # The readers see end-of-file once the group is gone. Close the pipes only after they have
        # stopped: closing a buffered pipe that another thread is reading would block on its lock
        # (a process that left our group could hold the pipe open forever).
        for thread, stream in ((self._out, proc.stdout), (self._err, proc.stderr)):
            thread.join(timeout=0.5)
            if not thread.is_alive() and stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

def shutdown(proc: subprocess.Popen, grace: float) -> None:
    """The MCP shutdown sequence for a child started in its own process group: close its stdin,
    wait ``grace``, SIGTERM the group, wait, SIGKILL it; then whatever the child left in its group
    gets the same treatment. The child is reaped."""
    try:
        if proc.stdin is not None:
            proc.stdin.close()
    except OSError:
        pass
    if not _wait(proc, grace):
        signal_group(proc, signal.SIGTERM)
        if not _wait(proc, grace):
            signal_group(proc, signal.SIGKILL if _POSIX else signal.SIGTERM)
            _wait(proc, 5.0)
    # The leader is gone; anything it left in its group gets the same treatment.
    if _POSIX and _group_alive(proc.pid):
        signal_group(proc, signal.SIGTERM)
        end = time.monotonic() + grace
        while _group_alive(proc.pid) and time.monotonic() < end:
            time.sleep(0.02)
        if _group_alive(proc.pid):
            signal_group(proc, signal.SIGKILL)


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the child's process group (the child itself on Windows)."""
    try:
        if _POSIX:
            os.killpg(proc.pid, sig)
        elif sig == signal.SIGTERM:  # pragma: no cover - Windows
            proc.terminate()
        else:  # pragma: no cover - Windows
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _readline(stream, limit: int) -> bytes:
    """One line of at most ``limit`` bytes (a longer line comes back cut, without its newline)."""
    return stream.readline(limit)


def _wait(proc: subprocess.Popen, seconds: float) -> bool:
    try:
        proc.wait(timeout=seconds)
        return True
    except subprocess.TimeoutExpired:
        return False


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies waiting for a reaper do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a foreign process reused the id
        return False
    return live_group_members(pgid) != ()


def live_group_members(pgid: int) -> tuple[int, ...] | None:
    """Pids of non-zombie processes in a group, from /proc (None where /proc is unavailable)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    members = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("ascii", errors="replace")
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..." — comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 3 and fields[2] == str(pgid) and fields[0] != "Z":
            members.append(int(entry))
    return tuple(members)


if sys.platform == "win32":  # pragma: no cover
    def _group_alive(pgid: int) -> bool:  # noqa: F811 - no process groups to check on Windows
        return False
