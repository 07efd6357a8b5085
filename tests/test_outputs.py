"""Every file a command writes (``--output``/``-o``, ``--junit``) follows one rule.

* never over an input, however it is named: ``./x``, a symlink, a hard link, a file found by
  searching a folder, or stdin redirected from the file;
* a regular file (or a new path) is replaced atomically; a FIFO, a device or a ``/dev/fd/N`` path is
  written in place and never replaced by a regular file;
* a failed write — to a file, a device or stdout — is a clean exit 2 with one line, not exit 3;
* text written to a file never carries colour, even when the command runs in a terminal.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import REPO, cli_env
from tests.test_scan import run

SNCRO = REPO / "samples" / "sncro.policy.json"
LOOP = REPO / "samples" / "traces" / "end-session-loop.jsonl"
V1 = REPO / "samples" / "diff" / "v1.policy.json"
V2 = REPO / "samples" / "diff" / "v2.policy.json"
SNAP = REPO / "samples" / "snapshots" / "mcp-server-time.snapshot.json"

REFUSED = "refusing to overwrite an input"
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices and /dev/fd are POSIX")


def _copy_inputs(folder: Path) -> dict[str, Path]:
    """Private copies of the inputs every command reads (a test may try to overwrite them)."""
    names = {"policy": SNCRO, "trace": LOOP, "old": V1, "new": V2, "snap": SNAP}
    out = {}
    for key, source in names.items():
        target = folder / source.name
        shutil.copyfile(source, target)
        out[key] = target
    return out


# --- one table of every command that writes ---------------------------------------------------------
# name → (argument list with {policy}, {trace}, ... and {out}, exit status, check of what was written)

def _json(check: Callable[[dict], bool]) -> Callable[[str], bool]:
    return lambda text: check(json.loads(text))


WRITERS: dict[str, tuple[list[str], int, Callable[[str], bool]]] = {
    "lint": (["lint", "{policy}", "-f", "json", "-o", "{out}"], 0,
             _json(lambda d: d["summary"] == {"files": 1, "errors": 0, "warnings": 0})),
    "simulate": (["simulate", "{trace}", "-p", "{policy}", "-f", "json", "-o", "{out}"], 0,
                 _json(lambda d: (d["calls"], d["allowed"], d["denied"]) == (16, 13, 3))),
    "simulate-jsonl": (["simulate", "{trace}", "-p", "{policy}", "-f", "jsonl", "-o", "{out}"], 0,
                       lambda t: [json.loads(x)["line"] for x in t.splitlines()][:2] == [3, 4]
                       and len(t.splitlines()) == 16),
    "simulate-junit": (["simulate", "{trace}", "-p", "{policy}", "-f", "json", "--junit", "{out}"], 0,
                       lambda t: t.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="policyctl '
                                              'simulate" tests="16" failures="0"')),
    "explain": (["explain", "-p", "{policy}", "--trace", "{trace}", "--line", "3", "-f", "json", "-o", "{out}"], 0,
                _json(lambda d: (d["call"]["line"], d["call"]["tool"]) == (3, "end_session"))),
    "diff": (["diff", "{old}", "{new}", "-f", "json", "-o", "{out}"], 1,
             _json(lambda d: d["summary"] == {"loosened": 4, "tightened": 1, "neutral": 3, "unknown": 1})),
    "scan": (["scan", "--from", "{snap}", "-f", "json", "-o", "{out}"], 0,
             _json(lambda d: [t["name"] for t in d["tools"]] == ["get_current_time", "convert_time"])),
    "init": (["init", "--from", "{snap}", "-o", "{out}"], 0,
             _json(lambda d: d == {"version": "1", "default": "deny",
                                   "tools": {"get_current_time": {}, "convert_time": {}}})),
    "init-intercept": (["init", "--from", "{snap}", "--dialect", "intercept", "-o", "{out}"], 0,
                       lambda t: '    "convert_time":\n        rules: []\n' in t),
    "init-write-schema": (["init", "--from", "{snap}", "-f", "yaml", "--write-schema", "{out}"], 0,
                          _json(lambda d: d["title"] == "Policy")),
}
# the fast loop keeps one streaming and one whole-payload writer; the rest run with the slow tests
FAST = ("lint", "simulate-jsonl")


def _writers() -> list:
    return [pytest.param(name, marks=() if name in FAST else pytest.mark.slow) for name in WRITERS]


def _argv(name: str, inputs: dict[str, Path], out: str) -> list[str]:
    args, _, _ = WRITERS[name]
    values = {k: str(v) for k, v in inputs.items()} | {"out": out}
    return [a.format(**values) for a in args]


def _spawn(argv: list[str], **kw) -> subprocess.Popen:  # noqa: ANN003
    return subprocess.Popen([sys.executable, "-m", "policyctl", *argv], cwd=REPO, env=kw.pop("env", cli_env()),
                            **kw)


# --- never over an input ------------------------------------------------------------------------------

# (command, the input it is pointed at, extra flags): each writes its --output over that input
OVERWRITES = [
    ("lint", "policy", ["lint", "{policy}", "-o", "{alias}"]),
    ("lint --tools", "snap", ["lint", "{policy}", "--tools", "{snap}", "-o", "{alias}"]),
    ("simulate --output", "policy", ["simulate", "{trace}", "-p", "{policy}", "-o", "{alias}"]),
    ("simulate --junit", "trace", ["simulate", "{trace}", "-p", "{policy}", "--junit", "{alias}"]),
    ("explain", "trace", ["explain", "-p", "{policy}", "--trace", "{trace}", "--line", "3", "-o", "{alias}"]),
    ("diff OLD", "old", ["diff", "{old}", "{new}", "-o", "{alias}"]),
    ("diff NEW", "new", ["diff", "{old}", "{new}", "-f", "markdown", "-o", "{alias}"]),
    ("scan", "snap", ["scan", "--from", "{snap}", "-o", "{alias}"]),
    ("init --force", "snap", ["init", "--from", "{snap}", "-o", "{alias}", "--force"]),
    ("init --write-schema", "snap", ["init", "--from", "{snap}", "-f", "yaml", "--write-schema", "{alias}", "--force"]),
]


def _alias(kind: str, target: Path) -> str:
    """Another name of ``target`` (the cwd is its folder); the input itself is named by its plain name."""
    if kind == "dot":
        return f"./{target.name}"
    link = target.with_name(f"alias-{kind}-{target.name}")
    if kind == "symlink":
        link.symlink_to(target.name)
    else:
        os.link(target, link)
    return link.name


@posix_only
@pytest.mark.parametrize("kind", ["dot", "symlink", "hardlink"])
@pytest.mark.parametrize(("command", "victim", "args"), OVERWRITES, ids=[o[0] for o in OVERWRITES])
def test_no_command_writes_over_an_input_through_an_alias(capsys, monkeypatch, tmp_path: Path, command: str,
                                                           victim: str, args: list[str], kind: str) -> None:
    inputs = _copy_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = {k: p.read_bytes() for k, p in inputs.items()}
    alias = _alias(kind, inputs[victim])
    values = {k: p.name for k, p in inputs.items()} | {"alias": alias}
    code, out, err = run(capsys, monkeypatch, *[a.format(**values) for a in args])
    assert code == 2, err
    assert err.splitlines()[0].endswith(f"{alias}: {REFUSED}"), err
    assert {k: p.read_bytes() for k, p in inputs.items()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in inputs.values()] + ([alias] if kind != "dot" else []))


def test_lint_never_writes_over_a_policy_it_found_in_a_folder(capsys, monkeypatch, tmp_path: Path) -> None:
    # C1: `lint DIR -o DIR/x.policy.json` used to replace the policy with the report
    (tmp_path / "policies" / "team").mkdir(parents=True)
    found = tmp_path / "policies" / "team" / "sncro.policy.json"
    shutil.copyfile(SNCRO, found)
    monkeypatch.chdir(tmp_path)
    for target in ("policies/team/sncro.policy.json", "./policies/team/../team/sncro.policy.json"):
        code, out, err = run(capsys, monkeypatch, "lint", "policies", "-f", "sarif", "-o", target)
        assert (code, out) == (2, "")
        assert err == f"error: --output {target}: {REFUSED}\n"
        assert found.read_bytes() == SNCRO.read_bytes()
    (tmp_path / "report.sarif").symlink_to("policies/team/sncro.policy.json")
    code, _, err = run(capsys, monkeypatch, "lint", ".", "-o", "report.sarif")
    assert code == 2 and REFUSED in err
    assert found.read_bytes() == SNCRO.read_bytes()
    # a report next to the policies that is not itself a policy is fine
    code, out, err = run(capsys, monkeypatch, "lint", "policies", "-f", "json", "-o", "policies/report.json")
    assert (code, out, err) == (0, "", "")
    assert json.loads((tmp_path / "policies" / "report.json").read_text())["summary"]["files"] == 1


@posix_only
def test_stdin_redirected_from_the_output_file_is_an_input(tmp_path: Path) -> None:
    policy = tmp_path / "p.policy.json"
    shutil.copyfile(SNCRO, policy)
    with policy.open("rb") as stdin:
        r = subprocess.run([sys.executable, "-m", "policyctl", "lint", "-", "-o", str(policy)], stdin=stdin,
                           capture_output=True, text=True, cwd=tmp_path, env=cli_env(), timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"error: --output {policy}: {REFUSED}\n"
    assert policy.read_bytes() == SNCRO.read_bytes()


def test_two_outputs_naming_one_file_through_a_link_are_refused(capsys, monkeypatch, tmp_path: Path) -> None:
    inputs = _copy_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    Path("report.json").write_text("old\n")
    Path("same.json").symlink_to("report.json")
    code, _, err = run(capsys, monkeypatch, "simulate", inputs["trace"].name, "-p", inputs["policy"].name,
                       "-o", "report.json", "--junit", "same.json")
    assert code == 2
    assert err == "error: --junit and --output name the same file\n"
    assert Path("report.json").read_text() == "old\n"


# --- FIFOs, devices, /dev/fd: written in place, never replaced -----------------------------------------

@posix_only
@pytest.mark.parametrize("name", _writers())
def test_a_fifo_is_written_in_place_and_its_reader_gets_the_payload(tmp_path: Path, name: str) -> None:
    # C2: the FIFO was replaced by a regular file; its reader got nothing and waited forever
    inputs = _copy_inputs(tmp_path)
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    r = subprocess.run([sys.executable, "-m", "policyctl", *_argv(name, inputs, str(fifo))], capture_output=True,
                       text=True, cwd=REPO, env=cli_env(), timeout=60)
    thread.join(timeout=10)
    _, code, check = WRITERS[name]
    assert r.returncode == code, r.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert got and check(got[0].decode("utf-8")), got
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([p.name for p in inputs.values()] + [fifo.name])


@posix_only
@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")
@pytest.mark.parametrize("name", _writers())
def test_a_dev_fd_path_is_written_to_that_descriptor(tmp_path: Path, name: str) -> None:
    # C2: `-o >(cmd)` and `-o /dev/fd/N` were "internal error: FileNotFoundError", exit 3
    inputs = _copy_inputs(tmp_path)
    read_end, write_end = os.pipe()
    try:
        proc = _spawn(_argv(name, inputs, f"/dev/fd/{write_end}"), pass_fds=(write_end,),
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(write_end)
        write_end = -1
        chunks = []
        with os.fdopen(read_end, "rb") as fh:
            read_end = -1
            chunks.append(fh.read())
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
    _, code, check = WRITERS[name]
    assert proc.returncode == code, stderr.decode()
    if "-o" in WRITERS[name][0]:
        assert stdout == b""
    assert check(chunks[0].decode("utf-8")), chunks


@posix_only
def test_a_symlink_to_the_own_stdout_descriptor_stays_a_link(tmp_path: Path) -> None:
    # /dev/stdout is a symlink to /proc/self/fd/1; a copy of it in tmp_path behaves the same way
    # without risking the machine's /dev (as root the old code replaced /dev/stdout itself)
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd")
    inputs = _copy_inputs(tmp_path)
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    r = subprocess.run([sys.executable, "-m", "policyctl", *_argv("lint", inputs, str(link))],
                       capture_output=True, text=True, cwd=REPO, env=cli_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["summary"]["files"] == 1
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"


def _full_device(tmp_path: Path) -> str:
    """A node behaving as /dev/full: a private copy when root (so no test can replace the real one)."""
    if os.geteuid() == 0:
        node = tmp_path / "full"
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))
        return str(node)
    return "/dev/full"


@posix_only
@pytest.mark.skipif(sys.platform != "linux", reason="/dev/full is Linux's")
@pytest.mark.parametrize("name", _writers())
def test_a_device_is_written_in_place_and_a_write_error_is_exit_2(tmp_path: Path, name: str) -> None:
    inputs = _copy_inputs(tmp_path)
    full = _full_device(tmp_path)
    r = subprocess.run([sys.executable, "-m", "policyctl", *_argv(name, inputs, full)], capture_output=True,
                       text=True, cwd=REPO, env=cli_env(), timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: cannot write {full}: ") and len(r.stderr.splitlines()) == 1, r.stderr
    assert stat.S_ISCHR(os.stat(full).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in inputs.values()] + (["full"] if full.startswith(str(tmp_path)) else []))


# --- a failed write to stdout --------------------------------------------------------------------------

STDOUT_WRITERS = [
    ["lint", str(SNCRO)],
    ["scan", "--server", "sncro"],
    ["init", "--server", "sncro"],
    ["simulate", str(LOOP), "-p", str(SNCRO)],
    ["simulate", str(LOOP), "-p", str(SNCRO), "-f", "jsonl"],
    ["explain", "-p", str(SNCRO), "--trace", str(LOOP), "--line", "3"],
    ["diff", str(V1), str(V2)],
    ["--version"],
]


def _ids(argvs: list[list[str]]) -> list[str]:
    return [" ".join(a if not a.startswith("/") else Path(a).name for a in argv) for argv in argvs]


def _stdout_writers() -> list:
    fast = ("lint", "--version")  # and jsonl, the streaming writer
    return [pytest.param(argv, id=name, marks=() if argv[0] in fast or "jsonl" in argv else pytest.mark.slow)
            for argv, name in zip(STDOUT_WRITERS, _ids(STDOUT_WRITERS))]


@pytest.mark.skipif(sys.platform != "linux", reason="/dev/full is Linux's")
@pytest.mark.parametrize("argv", _stdout_writers())
def test_stdout_to_a_full_device_is_a_clean_exit_2(argv: list[str]) -> None:
    # C6: "internal error: OSError: [Errno 28] No space left on device ... please report it", exit 3
    with open("/dev/full", "wb") as full:  # opening it for writing never replaces anything
        r = subprocess.run([sys.executable, "-m", "policyctl", *argv], stdout=full, stderr=subprocess.PIPE,
                           text=True, cwd=REPO, env=cli_env(), timeout=60)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert lines[-1].startswith("error: cannot write standard output: "), r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr and "Exception" not in r.stderr


@posix_only
def test_stdout_closed_by_its_reader_is_a_clean_exit_2() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write is EPIPE
    try:
        r = subprocess.run([sys.executable, "-m", "policyctl", "simulate", str(LOOP), "-p", str(SNCRO),
                            "-f", "jsonl"], stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=REPO,
                           env=cli_env(), timeout=60)
    finally:
        os.close(write_end)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: cannot write standard output: ") and len(r.stderr.splitlines()) == 1, r.stderr


# --- colour: decided for the stream actually written ---------------------------------------------------

def _in_terminal(argv: list[str], *, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a real pseudo-terminal; its exit status and terminal output."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "policyctl", *argv], stdin=subprocess.DEVNULL, stdout=slave,
                                stderr=slave, cwd=REPO, env=env)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                proc.kill()
                raise AssertionError("no output from the terminal in 60 s")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=60)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    return code, b"".join(chunks).decode("utf-8", "replace")


def _colour_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in cli_env().items() if k != "NO_COLOR"}
    env.update({"TERM": "xterm-256color"}, **extra)
    return env


TEXT_COMMANDS = {
    "simulate": ["simulate", str(LOOP), "-p", str(SNCRO)],
    "explain": ["explain", "-p", str(SNCRO), "--trace", str(LOOP), "--line", "3"],
    "scan": ["scan", "--server", "sncro"],
    "lint": ["lint", str(REPO / "samples" / "shell-exec.policy.json"), "--fail-level", "error"],
    "diff": ["diff", str(V1), str(V2)],
}


@posix_only
@pytest.mark.parametrize("name", [pytest.param(name, marks=() if name in ("simulate", "explain", "scan")
                                               else pytest.mark.slow) for name in TEXT_COMMANDS])
def test_output_file_has_no_colour_when_run_in_a_terminal(tmp_path: Path, name: str) -> None:
    # issue 9: in a terminal, simulate, explain and scan wrote ANSI codes into the -o file
    env = _colour_env()
    code, screen = _in_terminal(TEXT_COMMANDS[name], env=env)
    assert "\x1b[" in screen  # the terminal itself does get colour: the test can see it
    out = tmp_path / "report.txt"
    code_to_file, screen_with_file = _in_terminal([*TEXT_COMMANDS[name], "-o", str(out)], env=env)
    assert code_to_file == code
    written = out.read_text(encoding="utf-8")
    assert "\x1b" not in written
    assert "\x1b" not in screen_with_file  # nothing else went to the terminal either
    assert written.strip() and written.split()[0] in screen


@posix_only
def test_no_color_turns_the_terminal_colour_off() -> None:
    code, screen = _in_terminal(TEXT_COMMANDS["scan"], env=_colour_env(NO_COLOR="1"))
    assert code == 0 and "get_js_value" in screen
    assert "\x1b" not in screen
