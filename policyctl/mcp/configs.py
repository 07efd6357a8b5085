"""MCP servers named in MCP client configuration files (Claude Desktop, Cursor, VS Code, Claude Code).

``policyctl scan --server NAME`` looks here when NAME is not a catalog entry. Files are read as
JSON with comments and trailing commas (VS Code writes them). The shapes understood are
``{"mcpServers": {...}}`` (Claude Desktop, Cursor, ``.mcp.json``), ``{"servers": {...}}`` (VS Code
``mcp.json``), ``{"mcp": {"servers": {...}}}`` (VS Code ``settings.json``) and Claude Code's
``~/.claude.json`` (top-level ``mcpServers`` plus ``projects[<dir>].mcpServers`` for the current
directory and its parents).

Variables such as ``${input:token}`` or ``${env:TOKEN}`` are never expanded: an ``env`` or header
value that uses one is left out with a warning (pass it with ``--env``/``--header``), and a
command, argument or URL that uses one is an error when that server is scanned.

``POLICYCTL_MCP_CONFIG`` replaces the search list with its own (``os.pathsep``-separated files);
set it to an empty string to read no configuration at all.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

ENV_VAR = "POLICYCTL_MCP_CONFIG"
MAX_CONFIG_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ConfiguredServer:
    """One server entry: a stdio command or a remote URL, and the file it came from."""

    name: str
    path: str
    transport: str  # "stdio", "http" or "sse"
    command: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    url: str | None = None
    headers: dict = field(default_factory=dict)
    unresolved: tuple[str, ...] = ()  # fields that use ${...} placeholders
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Discovery:
    servers: dict  # name → ConfiguredServer (first definition wins)
    files: tuple[str, ...]  # files that were read
    warnings: tuple[str, ...]


def default_paths(home: Path | None = None, cwd: Path | None = None) -> list[Path]:
    """Where the common MCP clients keep their configuration, for this platform."""
    home = home or Path.home()
    cwd = cwd or Path.cwd()
    paths = [cwd / ".mcp.json", cwd / ".cursor" / "mcp.json", cwd / ".vscode" / "mcp.json"]
    if sys.platform == "darwin":
        support = home / "Library" / "Application Support"
        paths += [support / "Claude" / "claude_desktop_config.json",
                  support / "Code" / "User" / "mcp.json", support / "Code" / "User" / "settings.json"]
    elif os.name == "nt":  # pragma: no cover - exercised on Windows only
        roaming = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
        paths += [roaming / "Claude" / "claude_desktop_config.json",
                  roaming / "Code" / "User" / "mcp.json", roaming / "Code" / "User" / "settings.json"]
    else:
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        paths += [config / "Claude" / "claude_desktop_config.json",
                  config / "Code" / "User" / "mcp.json", config / "Code" / "User" / "settings.json"]
    paths += [home / ".cursor" / "mcp.json", home / ".claude.json"]
    return paths


def search_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    environ = os.environ if environ is None else environ
    if ENV_VAR in environ:
        return [Path(p) for p in environ[ENV_VAR].split(os.pathsep) if p]
    return default_paths()


def discover(paths: list[Path] | None = None, *, cwd: Path | None = None) -> Discovery:
    """Read every existing configuration file; unreadable ones become warnings, never errors."""
    paths = search_paths() if paths is None else paths
    cwd = (cwd or Path.cwd()).resolve()
    servers: dict[str, ConfiguredServer] = {}
    read: list[str] = []
    warnings: list[str] = []
    for path in paths:
        try:
            if not path.is_file():
                continue
            raw = path.read_bytes()[: MAX_CONFIG_BYTES + 1]
        except OSError as exc:
            warnings.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        if len(raw) > MAX_CONFIG_BYTES:
            warnings.append(f"{path}: larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB; skipped")
            continue
        try:
            data = json.loads(strip_jsonc(raw.decode("utf-8-sig")))
        except UnicodeDecodeError:
            warnings.append(f"{path}: not valid UTF-8 text; skipped")
            continue
        except ValueError:
            from policyctl.documents.jsonsyntax import json_syntax_error

            problem = json_syntax_error(strip_jsonc(raw.decode("utf-8-sig")))
            what = f"line {problem.line}, column {problem.column}: {problem.what}" if problem else "unreadable"
            warnings.append(f"{path}: not valid JSON ({what}); skipped")
            continue
        read.append(str(path))
        for name, entry in _entries(data, cwd):
            if name in servers:
                continue
            server = _server(name, entry, str(path))
            if server is None:
                warnings.append(f"{path}: server {name!r} has neither a command nor a url; skipped")
                continue
            servers[name] = server
    return Discovery(servers=servers, files=tuple(read), warnings=tuple(warnings))


def _entries(data: object, cwd: Path) -> list[tuple[str, object]]:
    if not isinstance(data, dict):
        return []
    found: list[tuple[str, object]] = []

    def take(block: object) -> None:
        if isinstance(block, dict):
            found.extend((str(k), v) for k, v in block.items())

    take(data.get("mcpServers"))
    take(data.get("servers"))
    mcp = data.get("mcp")
    if isinstance(mcp, dict):
        take(mcp.get("servers"))
    projects = data.get("projects")
    if isinstance(projects, dict):
        chain = [cwd, *cwd.parents]
        for directory in chain:  # the closest project first
            block = projects.get(str(directory))
            if isinstance(block, dict):
                take(block.get("mcpServers"))
    return found


def _has_placeholder(value: str) -> bool:
    return "${" in value


def _server(name: str, entry: object, path: str) -> ConfiguredServer | None:
    if not isinstance(entry, dict):
        return None
    warnings: list[str] = []
    unresolved: list[str] = []
    url = entry.get("url") or entry.get("serverUrl") or entry.get("httpUrl")
    kind = str(entry.get("type") or "").lower()
    if isinstance(url, str) and url:
        transport = "sse" if kind == "sse" else "http"
        headers: dict[str, str] = {}
        raw_headers = entry.get("headers")
        if isinstance(raw_headers, dict):
            for key, value in raw_headers.items():
                if not isinstance(value, str):
                    continue
                if _has_placeholder(value):
                    warnings.append(f"header {key} uses a ${{...}} placeholder and was not sent "
                                    "(pass it with --header)")
                    continue
                headers[str(key)] = value
        if _has_placeholder(url):
            unresolved.append("url")
        return ConfiguredServer(name=name, path=path, transport=transport, url=url, headers=headers,
                                unresolved=tuple(unresolved), warnings=tuple(warnings))
    command = entry.get("command")
    if not isinstance(command, str) or not command.strip():
        return None
    args = entry.get("args") or []
    argv = [command] if not isinstance(args, list) else [command, *(str(a) for a in args)]
    if " " in command and not args:
        argv = command.split()  # clients accept "npx -y server" as one string
    if any(_has_placeholder(a) for a in argv):
        unresolved.append("command/args")
    env: dict[str, str] = {}
    raw_env = entry.get("env")
    if isinstance(raw_env, dict):
        for key, value in raw_env.items():
            value = str(value) if isinstance(value, (str, int, float, bool)) else None
            if value is None:
                continue
            if _has_placeholder(value):
                warnings.append(f"env {key} uses a ${{...}} placeholder and was not passed (use --env {key}=…)")
                continue
            env[str(key)] = value
    return ConfiguredServer(name=name, path=path, transport="stdio", command=tuple(argv), env=env,
                            unresolved=tuple(unresolved), warnings=tuple(warnings))


def strip_jsonc(text: str) -> str:
    """JSON with ``//`` and ``/* */`` comments and trailing commas → plain JSON (strings untouched)."""
    # trailing commas go in a second pass: only once comments are gone is "a comma followed by
    # whitespace and a closing bracket" a fact about the text (inside strings it cannot occur)
    return _outside_strings(_outside_strings(text, _skip_comment), _skip_trailing_comma)


def _outside_strings(text: str, skip: Callable[[str, int], int]) -> str:
    """``text`` with what ``skip`` drops outside JSON strings: ``skip(text, i)`` returns where to
    resume after dropping something at ``i``, or ``i`` to keep the character."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
            continue
        if ch == '"':
            in_string = True
        else:
            resume = skip(text, i)
            if resume != i:
                i = resume
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _skip_comment(text: str, i: int) -> int:
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end == -1 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end == -1 else end + 2
    return i


def _skip_trailing_comma(text: str, i: int) -> int:
    if text[i] != ",":
        return i
    j, n = i + 1, len(text)
    while j < n and text[j] in " \t\r\n":
        j += 1
    return i + 1 if j < n and text[j] in "}]" else i
