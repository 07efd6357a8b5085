#!/usr/bin/env python3
"""Generate a large, realistic Claude Code projects folder for benchmarking `policyctl import`.

    python bench/import_gen.py OUT_DIR [--mb 1024] [--seed 7] [--huge-line-mb 0] [--hostile]

Stdlib only. Writes OUT_DIR/projects/<encoded-cwd>/<session>.jsonl (plus subagent files in the
three layouts: <project>/agent-<short>.jsonl, <project>/<session>/agent-<id>.jsonl and
<project>/<session>/subagents/agent-<id>.jsonl) shaped like Claude Code 2.1.x transcripts, see
docs/import.md. By bytes the folder is mostly what an importer must skip cheaply:

  * large tool results (Read/Bash/Grep output, 4 KiB - 400 KiB each, some MCP results too),
  * assistant text and thinking, user prompts, file-history-snapshot / system / attachment lines,
  * built-in tool_use lines (Bash, Read, Edit, Grep, Agent): they contain "tool_use" but are not MCP,
  * text that *mentions* "tool_use" and "mcp__" (so a raw-byte prefilter alone is not proof),

and, roughly one line in 40, an MCP tool_use with its tool_result (servers sncro, github, linear,
plus a plugin server), some of them errors, rejections or gateway denials. One session in five is
a resumed/forked copy that repeats a prefix of an earlier session (same tool_use ids) — the
duplicates the importer must drop.

OUT_DIR/manifest.json states what a correct import must report (distinct calls per server,
duplicates, not executed, upstream errors, observed denied), so a benchmark can check its answer.

--huge-line-mb N adds one tool_result line of N MiB (memory must stay flat);
--hostile adds a truncated last line, a line of invalid UTF-8 and an empty file.
Generation speed is roughly 100-200 MB/s (it slices a pre-escaped pool of text).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

UTC = timezone.utc
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
WORDS = ("the cart checkout button handler promise await fetch render state reducer module import export "
         "const function return value error retry timeout session browser console network request response "
         "json parse string number boolean object array index length buffer stream chunk file path line "
         "column token model tool_use mcp__sncro__get_console_logs result content text assistant user").split()

SERVERS = {
    "sncro": [("create_session", lambda r: {"project_key": f"pk_live_{r.randrange(10**6):06d}", "git_user": "dana"}),
              ("get_console_logs", lambda r: {"key": f"k-{r.randrange(16**4):04x}", "secret": f"sec-{r.randrange(16**4):04x}"}),
              ("query_element", lambda r: {"key": f"k-{r.randrange(16**4):04x}", "secret": "sec-91ab",
                                           "selector": r.choice(["#checkout", "button.primary", "li.cart-item"])}),
              ("get_network_log", lambda r: {"key": "k-5f1c", "secret": "sec-91ab", "limit": r.choice([20, 50, 100])}),
              ("end_session", lambda r: {"key": "k-5f1c", "secret": "sec-91ab"})],
    "github": [("list_issues", lambda r: {"owner": "dana-shop", "repo": "shopfront", "state": "open"}),
               ("create_issue", lambda r: {"owner": "dana-shop", "repo": "shopfront",
                                           "title": f"Bug {r.randrange(10000)}", "body": "found while testing"})],
    "claude_ai_Linear": [("list_issues", lambda r: {"team": "WEB", "limit": 25})],
    "plugin_claude-mem_mcp-search": [("save_memory", lambda r: {"text": "remember the z-index fix", "project": "shop"})],
}
SERVER_REPORTED = {"plugin_claude-mem_mcp-search": "plugin:claude-mem:mcp-search"}


class Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        # a pool of pre-escaped JSON string content; slicing it is what makes generation fast
        words = [self.r.choice(WORDS) for _ in range(400_000)]
        for i in range(0, len(words), 13):
            words[i] += "\n"
        for i in range(7, len(words), 97):
            words[i] = '"' + words[i] + '"'
        raw = " ".join(words)
        self.pool = json.dumps(raw)[1:-1]  # escaped, without the quotes
        self.counts = {"calls_per_server": {}, "duplicates_removed": 0, "not_executed": 0,
                       "upstream_errors": 0, "observed_denied": 0, "no_result": 0}

    def text(self, n: int) -> str:
        """n characters of escaped JSON string content (never ends inside an escape)."""
        p = self.pool
        start = self.r.randrange(0, len(p) - n - 2)
        s = p[start:start + n]
        while s.endswith("\\"):
            s = s[:-1]
        # do not start in the middle of an escape either
        while s[:1] in ("n", '"') and start > 0 and p[start - 1] == "\\":
            s = s[1:]
            start += 1
        return s

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def b58(self, n: int) -> str:
        return "".join(self.r.choice(B58) for _ in range(n))


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class Session:
    def __init__(self, g: Gen, sid: str, cwd: str, agent: str | None = None):
        self.g, self.sid, self.cwd, self.agent = g, sid, cwd, agent
        self.parent: str | None = None
        self.head = ('"isSidechain":%s,"userType":"external","cwd":%s,"sessionId":"%s","version":"2.1.231",'
                     '"gitBranch":"main"%s' % ("true" if agent else "false", json.dumps(cwd), sid,
                                               f',"agentId":"{agent}"' if agent else ""))

    def _env(self, t: datetime, kind: str, body: str, extra: str = "") -> str:
        u = self.g.uuid()
        parent = f'"{self.parent}"' if self.parent else "null"
        self.parent = u
        return ('{"parentUuid":%s,%s,%s,"type":"%s","uuid":"%s","timestamp":"%s"%s}'
                % (parent, self.head, body, kind, u, iso(t), extra))

    def user_text(self, t, n):
        return self._env(t, "user", '"message":{"role":"user","content":"%s"}' % self.g.text(n))

    def assistant_block(self, t, block: str):
        g = self.g
        body = ('"message":{"model":"claude-opus-4-6","id":"msg_01%s","type":"message","role":"assistant",'
                '"content":[%s],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":6,'
                '"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,"output_tokens":%d,'
                '"service_tier":"standard"}},"requestId":"req_011C%s"'
                % (g.b58(22), block, g.r.randrange(3000), g.r.randrange(200000), g.r.randrange(2000), g.b58(20)))
        return self._env(t, "assistant", body)

    def tool_use(self, t, tid, name, inp: dict):
        return self.assistant_block(t, '{"type":"tool_use","id":"%s","name":"%s","input":%s}'
                                    % (tid, name, json.dumps(inp, separators=(",", ":"))))

    def tool_result(self, t, tid, content_json: str, is_error=False, tur: str | None = None, extra=""):
        if is_error:
            block = '{"type":"tool_result","content":%s,"is_error":true,"tool_use_id":"%s"}' % (content_json, tid)
        else:
            block = '{"tool_use_id":"%s","type":"tool_result","content":%s}' % (tid, content_json)
        ext = (',"toolUseResult":%s' % tur if tur else "") + extra
        return self._env(t, "user", '"message":{"role":"user","content":[%s]}' % block, ext)


def write_session(g: Gen, path: Path, sess: Session, target_bytes: int, start: datetime, mcp_every: int,
                  ledger: dict, copy_prefix: list[tuple[str, str | None]] | None, huge_line_mb: int) -> list:
    """Write one transcript of about target_bytes. Returns its MCP lines (for later copies)."""
    r = g.r
    t = start
    written = 0
    mine: list[tuple[str, str | None]] = []   # (tool_use line, result line) for MCP calls
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        def put(line: str):
            nonlocal written
            f.write(line)
            f.write("\n")
            written += len(line) + 1

        if copy_prefix:  # a resumed / forked session: the earlier history again, same ids and timestamps
            for use, res in copy_prefix:
                put(use)
                g.counts["duplicates_removed"] += 1
                if res:
                    put(res)
        put('{"type":"file-history-snapshot","messageId":"%s","snapshot":{"messageId":"%s","trackedFileBackups":{},'
            '"timestamp":"%s"},"isSnapshotUpdate":false}' % (g.uuid(), g.uuid(), iso(t)))
        i = 0
        while written < target_bytes:
            i += 1
            t += timedelta(milliseconds=r.randrange(200, 20000))
            roll = r.random()
            if i % mcp_every == 0:
                server = r.choice(list(SERVERS))
                tool, mk = r.choice(SERVERS[server])
                tid = "toolu_01" + g.b58(22)
                use = sess.tool_use(t, tid, f"mcp__{server}__{tool}", mk(r))
                put(use)
                t += timedelta(milliseconds=r.randrange(100, 3000))
                fate = r.random()
                reported = SERVER_REPORTED.get(server, server)
                res = None
                if fate < 0.70:
                    body = json.dumps([{"type": "text", "text": "x"}])[:-4] + g.text(r.randrange(200, 60000)) + '"}]'
                    res = sess.tool_result(t, tid, body, tur=body)
                    ledger["calls"][tid] = reported
                elif fate < 0.80:
                    res = sess.tool_result(t, tid, '[{"type":"text","text":"Error: upstream said no"}]', is_error=True)
                    ledger["calls"][tid] = reported
                    g.counts["upstream_errors"] += 1
                elif fate < 0.87:
                    msg = ("The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if "
                           "it was a file edit, the new_string was NOT written to the file). STOP what you are "
                           "doing and wait for the user to tell you how to proceed.")
                    res = sess.tool_result(t, tid, json.dumps(msg), is_error=True, tur='"User rejected tool use"')
                    g.counts["not_executed"] += 1
                elif fate < 0.92:
                    res = sess.tool_result(t, tid, '"[INTERCEPT POLICY DENIED] Rate limit of 10 per minute reached"',
                                           is_error=True)
                    ledger["calls"][tid] = reported
                    g.counts["observed_denied"] += 1
                elif fate < 0.96:
                    res = sess.tool_result(t, tid, '"MCP error -32603: Internal error"', is_error=True,
                                           tur='"Error: MCP error -32603: Internal error"')
                    ledger["calls"][tid] = reported
                    g.counts["upstream_errors"] += 1
                else:
                    ledger["calls"][tid] = reported      # no result: the session ended first
                    g.counts["no_result"] += 1
                if res:
                    put(res)
                mine.append((use, res))
            elif roll < 0.30:   # built-in tool with a large result (the bulk of the bytes)
                tid = "toolu_01" + g.b58(22)
                name = r.choice(["Read", "Bash", "Grep", "Edit"])
                put(sess.tool_use(t, tid, name, {"file_path": "/home/dana/src/shopfront/src/cart/Checkout.tsx"}
                                  if name != "Bash" else {"command": "npm test -- --silent"}))
                t += timedelta(milliseconds=r.randrange(50, 5000))
                n = int(r.paretovariate(1.2) * 4096)
                n = min(n, 400_000)
                put(sess.tool_result(t, tid, '"%s"' % g.text(n),
                                     tur='{"stdout":"%s","stderr":"","interrupted":false,"isImage":false}'
                                         % g.text(min(n, 2000))))
            elif roll < 0.55:
                put(sess.assistant_block(t, '{"type":"text","text":"%s"}' % g.text(r.randrange(200, 6000))))
            elif roll < 0.70:
                put(sess.assistant_block(t, '{"type":"thinking","thinking":"%s","signature":"Eu%s"}'
                                         % (g.text(r.randrange(300, 8000)), g.b58(120))))
            elif roll < 0.85:
                put(sess.user_text(t, r.randrange(30, 1500)))
            elif roll < 0.95:
                put('{"parentUuid":"%s",%s,"type":"system","subtype":"turn_duration","durationMs":%d,"isMeta":false,'
                    '"uuid":"%s","timestamp":"%s"}' % (sess.parent, sess.head, r.randrange(1000, 900000), g.uuid(), iso(t)))
            else:
                put('{"type":"summary","summary":"%s","leafUuid":"%s"}' % (g.text(60), g.uuid()))
        if huge_line_mb:
            tid = "toolu_01" + g.b58(22)
            put(sess.tool_use(t, tid, "Read", {"file_path": "/var/log/huge.log"}))
            chunk = g.text(1 << 20)
            line = sess.tool_result(t + timedelta(seconds=1), tid, '"' + chunk * huge_line_mb + '"')
            put(line)
    return mine


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--mb", type=float, default=1024.0, help="total size in MB (10^6 bytes), default 1024")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--huge-line-mb", type=int, default=0)
    ap.add_argument("--hostile", action="store_true")
    a = ap.parse_args(argv)

    g = Gen(a.seed)
    r = g.r
    root = a.out / "projects"
    if root.exists():
        print(f"{root} exists; refusing to overwrite", file=sys.stderr)
        return 2
    total = int(a.mb * 1_000_000)
    n_projects = max(1, int((a.mb / 40) ** 0.5 * 3))
    ledger = {"calls": {}}
    written = 0
    files = 0
    started = time.perf_counter()
    t0 = datetime(2026, 10, 20, 8, 0, 0, tzinfo=UTC)
    previous: list | None = None
    huge_pending = a.huge_line_mb
    while written < total:
        p = r.randrange(n_projects)
        cwd = f"/home/dana/src/project-{p:02d}"
        proj = root / cwd.replace("/", "-")
        sid = g.uuid()
        size = min(total - written, int(r.lognormvariate(14.2, 1.0)))  # median ~1.5 MB per session
        size = max(size, 20_000)
        t0 += timedelta(minutes=r.randrange(5, 600))
        copy = None
        if previous and r.random() < 0.2:
            copy = previous[: r.randrange(1, len(previous) + 1)]
        kind = r.random()
        sess = Session(g, sid, cwd)
        path = proj / f"{sid}.jsonl"
        if kind < 0.15:     # a subagent transcript, in one of the three layouts
            agent = "a" + "".join(r.choice("0123456789abcdef") for _ in range(16))
            sess = Session(g, sid, cwd, agent=agent)
            layout = r.randrange(3)
            if layout == 0:
                short = "".join(r.choice("0123456789abcdef") for _ in range(7))
                sess = Session(g, sid, cwd, agent=short)
                path = proj / f"agent-{short}.jsonl"
            elif layout == 1:
                path = proj / sid / f"agent-{agent}.jsonl"
            else:
                path = proj / sid / "subagents" / f"agent-{agent}.jsonl"
                path.parent.mkdir(parents=True, exist_ok=True)
                (path.parent / f"agent-{agent}.meta.json").write_text(json.dumps(
                    {"agentType": "general-purpose", "description": "bench", "toolUseId": "toolu_01" + g.b58(22),
                     "spawnDepth": 1}))
        mine = write_session(g, path, sess, size, t0, mcp_every=40, ledger=ledger, copy_prefix=copy,
                             huge_line_mb=huge_pending if huge_pending else 0)
        huge_pending = 0
        previous = mine or previous
        written += path.stat().st_size
        files += 1
    if a.hostile:
        bad = root / "-home-dana-src-hostile"
        bad.mkdir(parents=True, exist_ok=True)
        (bad / f"{g.uuid()}.jsonl").write_bytes(b'{"type":"user","message":{"role":"user","content":"caf\xe9 \xff"}}\n'
                                               b'{"type":"assistant","message":{"content":[{"type":"tool_use","id":"toolu_01')
        (bad / f"{g.uuid()}.jsonl").write_bytes(b"")
        files += 2
    per_server: dict[str, int] = {}
    for s in ledger["calls"].values():
        per_server[s] = per_server.get(s, 0) + 1
    elapsed = time.perf_counter() - started
    manifest = {
        "generator": "bench/import_gen.py", "seed": a.seed, "requested_mb": a.mb, "bytes": written, "files": files,
        "calls": len(ledger["calls"]),
        "calls_per_server": dict(sorted(per_server.items())),
        "duplicates_removed": g.counts["duplicates_removed"],
        "not_executed": g.counts["not_executed"],
        "upstream_errors": g.counts["upstream_errors"],
        "observed_denied": g.counts["observed_denied"],
        "no_result": g.counts["no_result"],
        "huge_line_mb": a.huge_line_mb, "hostile": a.hostile,
        "note": "upstream_errors counts distinct calls; copies of a call (resumed sessions) are duplicates only",
    }
    (a.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {written / 1e6:.1f} MB in {files} files in {elapsed:.1f} s "
          f"({written / 1e6 / max(elapsed, 1e-9):.0f} MB/s); {len(ledger['calls'])} MCP calls", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
