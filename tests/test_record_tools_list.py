"""``record --enforce`` and a server's ``tools/list`` answers it cannot check: such an answer is
replaced by a JSON-RPC error for the same id (hidden tools must not reach the client), while shadow
mode passes every byte on unchanged. Exercised on the session core, then through the real proxy
with a hostile stdio server (a script written by the test) and over HTTP (JSON body and SSE)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from policyctl.mcp.proxy.session import Options, Recorder
from policyctl.mcp.proxy.shadow import PolicyGate
from policyctl.mcp.proxy.trace_writer import TraceFile

POLICY = {"version": "1", "default": "allow", "hide": ["secret"], "tools": {}}
PREFIX = "policyctl record --enforce: could not check the server's tools/list answer ("
SUFFIX = "); not forwarded"


def refused(ident: Any, what: str) -> dict:
    return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32603, "message": PREFIX + what + SUFFIX}}


def recorder(tmp_path: Path, enforce: bool = True) -> Recorder:
    policy = tmp_path / "p.policy.json"
    policy.write_text(json.dumps(POLICY))
    return Recorder(TraceFile(str(tmp_path / "t.jsonl")), options=Options(enforce=enforce),
                    gate=PolicyGate(str(policy)))


def listed(rec: Recorder, ident: Any = 7, channel: Any = None) -> None:
    forward, answer = rec.from_client(orjson.dumps({"jsonrpc": "2.0", "id": ident, "method": "tools/list"}),
                                      channel=channel)
    assert forward is not None and answer is None


SECRET = b'{"name":"secret","description":"wipes the disk"}'
OK = b'{"name":"echo"}'
# (what the server answers tools/list 7 with, the reason policyctl gives)
UNCHECKABLE = [
    (b'{"jsonrpc":"2.0","id":7,"result":{"tools":[' + OK + b',' + SECRET + b'],"x":NaN}}', "not valid JSON"),
    (b'{"jsonrpc":"2.0","id":7,"result":{"tools":[' + SECRET + b'],"d":"\xff"}}', "not valid JSON"),
    (b'\xef\xbb\xbf{"jsonrpc":"2.0","id":7,"result":{"tools":[' + SECRET + b']}}', "not valid JSON"),
    (b'{"jsonrpc":"2.0","id":7,"result":{"tools":[' + SECRET + b']},"result":{"tools":[]}}',
     'member name "result" appears twice'),
    (b'{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"secret","name":"echo"}]}}',
     'member name "name" appears twice'),
    (b'{"jsonrpc":"2.0","id":7,"Result":{"tools":[' + SECRET + b']}}', 'member name "Result" is not exact'),
    (b'{"jsonrpc":"2.0","id":7,"result":{"TOOLS":[' + SECRET + b'],"tools":[]}}',
     'member name "TOOLS" is not exact'),
    (b'{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"echo","NAME":"secret"}]}}',
     'member name "NAME" is not exact'),
    (b'{"jsonrpc":"2.0","id":7,"result":{"tools":[{"Name":"secret"}]}}', 'member name "Name" is not exact'),
    (b'{"jsonrpc":"2.0","id":7,"result":{"tools":{"secret":' + SECRET + b'}}}', "result.tools is not an array"),
    (b'{"jsonrpc":"2.0","id":7,"result":{"tools":[' + OK + b',"secret"]}}', "a tool is not an object"),
    (b'{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":["secret"]}]}}', "a tool's name is not a string"),
]


@pytest.mark.parametrize(("raw", "what"), UNCHECKABLE)
def test_enforce_refuses_a_tools_list_answer_it_cannot_check(tmp_path: Path, raw: bytes, what: str) -> None:
    rec = recorder(tmp_path)
    listed(rec)
    assert orjson.loads(rec.from_server(raw)) == refused(7, what)
    assert rec.stats.refused_from_server == 1
    # the id is free again: a next page (or a retry) is checked afresh
    listed(rec)
    good = b'{"jsonrpc":"2.0","id":7,"result":{"tools":[' + OK + b',' + SECRET + b']}}'
    assert orjson.loads(rec.from_server(good)) == {"jsonrpc": "2.0", "id": 7, "result": {"tools": [{"name": "echo"}]}}


@pytest.mark.parametrize(("raw", "what"), UNCHECKABLE)
def test_shadow_mode_passes_the_same_answers_on_unchanged(tmp_path: Path, raw: bytes, what: str) -> None:
    rec = recorder(tmp_path, enforce=False)
    listed(rec)
    assert rec.from_server(raw) is raw
    assert rec.stats.refused_from_server == 0


def test_a_tools_answer_a_client_may_pair_with_its_request_is_filtered_whatever_its_id(tmp_path: Path) -> None:
    # the TypeScript SDK pairs answers by Number(id): "7" answers request 7
    rec = recorder(tmp_path)
    listed(rec)
    out = rec.from_server(b'{"jsonrpc":"2.0","id":"7","result":{"tools":[' + OK + b',' + SECRET + b']}}')
    assert orjson.loads(out) == {"jsonrpc": "2.0", "id": "7", "result": {"tools": [{"name": "echo"}]}}
    out = rec.from_server(b'{"jsonrpc":"2.0","id":"7","result":{"tools":"secret"}}')
    assert orjson.loads(out) == refused("7", "result.tools is not an array")
    # a repeated id: the proxy reads the last (8), a first-wins parser 7 with the tools
    out = rec.from_server(b'{"jsonrpc":"2.0","id":7,"id":8,"result":{"tools":[' + SECRET + b']},"result":{}}')
    assert orjson.loads(out) == refused(7, 'member name "id" appears twice')
    assert rec.stats.refused_from_server == 2


def test_a_batch_keeps_its_other_answers_and_pages_are_checked_one_by_one(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    listed(rec, 1)
    assert orjson.loads(rec.from_server(b'{"jsonrpc":"2.0","id":1,"result":{"tools":[' + SECRET + b',' + OK
                                        + b'],"nextCursor":"p2"}}')) == {
        "jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "echo"}], "nextCursor": "p2"}}
    rec.from_client(orjson.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"cursor": "p2"}}))
    rec.from_client(orjson.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                                  "params": {"name": "echo", "arguments": {}}}))
    out = rec.from_server(b'[{"jsonrpc":"2.0","id":3,"result":{"content":[]}},'
                          b'{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"secret","name":"x"}]}}]')
    assert orjson.loads(out) == [refused(2, 'member name "name" appears twice'),
                                 {"jsonrpc": "2.0", "id": 3, "result": {"content": []}}]
    rec.finish()
    assert [(r["id"], r["upstream"]) for r in map(json.loads, (tmp_path / "t.jsonl").read_text().splitlines())] == [
        (3, "ok")]


def test_a_case_variant_of_a_hidden_name_is_another_tool(tmp_path: Path) -> None:
    # MCP tool names are case-sensitive and so is the policy: "Secret" is listed, and a call to it is
    # decided as "Secret" (denied only if the policy says so: default deny, or hide it by that name)
    rec = recorder(tmp_path)
    listed(rec)
    out = rec.from_server(b'{"jsonrpc":"2.0","id":7,"result":{"tools":[' + SECRET + b',{"name":"Secret"}]}}')
    assert orjson.loads(out)["result"]["tools"] == [{"name": "Secret"}]


def test_a_line_no_parser_reads_is_dropped_while_a_tools_list_answer_is_due(tmp_path: Path) -> None:
    # Go's json.Decoder reads values across lines: '{"jsonrpc":"2.0","id":7,' then
    # '"result":{"tools":[…]}}' is one answer to it, though neither line is JSON
    rec = recorder(tmp_path)
    assert rec.from_server(b"not json at all") == b"not json at all"  # no tools/list due: unchanged
    listed(rec, 7)
    listed(rec, 8)
    out = rec.from_server(b'{"jsonrpc":"2.0","id":7,')
    assert orjson.loads(out) == [refused(7, "not valid JSON"), refused(8, "not valid JSON")]
    assert rec.from_server(b'"result":{"tools":[' + SECRET + b']}}') == b'"result":{"tools":[' + SECRET + b']}}'
    listed(rec, 9)
    out = rec.from_server(b'{"jsonrpc":"2.0","id":9,"result":{"tools":[' + SECRET + b']' + b"]" * 3)
    assert orjson.loads(out) == refused(9, "not valid JSON")
    assert rec.stats.refused_from_server == 3 and rec.stats.malformed_from_server == 2


# -- through the real proxy ------------------------------------------------------------------------

HOSTILE = r'''
import json, sys
answer = open(sys.argv[1], "rb").read()
for line in sys.stdin.buffer:
    msg = json.loads(line)
    if msg.get("method") == "initialize":
        out = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {
            "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
            "serverInfo": {"name": "hostile", "version": "1"}}}).encode()
    elif msg.get("method") == "tools/list":
        out = answer.replace(b"@ID@", json.dumps(msg["id"]).encode())
    else:
        continue
    sys.stdout.buffer.write(out + b"\n")
    sys.stdout.buffer.flush()
'''
INIT = orjson.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
LIST = orjson.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})


def stdio_session(tmp_path: Path, answer: bytes, *flags: str) -> tuple[list[bytes], str]:
    """What a client reads from ``policyctl record`` after initialize and one tools/list, when the
    server answers the list with ``answer`` (``@ID@`` standing for the request's id)."""
    (tmp_path / "hostile.py").write_text(HOSTILE)
    (tmp_path / "answer").write_bytes(answer)
    policy = tmp_path / "p.policy.json"
    policy.write_text(json.dumps(POLICY))
    proc = subprocess.run(
        [sys.executable, "-m", "policyctl", "record", "-o", str(tmp_path / "t.jsonl"), "--policy", str(policy),
         *flags, "--", sys.executable, str(tmp_path / "hostile.py"), str(tmp_path / "answer")],
        input=INIT + b"\n" + LIST + b"\n", capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines(), proc.stderr.decode()


NAN_LIST = b'{"jsonrpc":"2.0","id":@ID@,"result":{"tools":[' + OK + b',' + SECRET + b'],"n":NaN}}'


@pytest.mark.slow
def test_stdio_enforce_answers_an_unparseable_tools_list_with_an_error(tmp_path: Path) -> None:
    out, err = stdio_session(tmp_path, NAN_LIST, "--enforce")
    assert len(out) == 2 and orjson.loads(out[1]) == refused(5, "not valid JSON")
    assert b"secret" not in b"".join(out)
    assert "refused 1 server answer that may list tools and could not be checked" in err


@pytest.mark.slow
def test_stdio_shadow_mode_relays_it_byte_for_byte(tmp_path: Path) -> None:
    out, err = stdio_session(tmp_path, NAN_LIST)
    assert out[1] == NAN_LIST.replace(b"@ID@", b"5")
    assert "refused" not in err


@pytest.mark.slow
def test_stdio_enforce_keeps_back_a_tools_list_too_large_to_read(tmp_path: Path) -> None:
    # the TypeScript SDK's order: the id comes last, after 17 MiB of tools
    big = (b'{"jsonrpc":"2.0","result":{"tools":[' + SECRET + b',{"name":"echo","description":"'
           + b"x" * (17 * 1024 * 1024) + b'"}]},"id":@ID@}')
    out, err = stdio_session(tmp_path, big, "--enforce")
    assert len(out) == 2 and orjson.loads(out[1]) == refused(5, "too large to read")
    assert "except the server answers refused below\n  refused 1 server answer" in err


# -- over HTTP: a JSON body and an event stream ----------------------------------------------------

class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answer = b""
    sse = False
    gzip = False
    ctype = ""
    eol = b"\n"
    end: bytes | None = None  # the blank line that ends the event (the line end by default)
    seen: list = []  # the Accept-Encoding of each request

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        msg = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = self.answer.replace(b"@ID@", json.dumps(msg["id"]).encode())
        if self.sse:
            eol = self.eol
            body = b"event: message" + eol + b"id: e1" + eol + b"data: " + body + eol + (eol if self.end is None else self.end)
        self.seen.append(self.headers.get("Accept-Encoding"))
        self.send_response(200)
        if self.gzip:  # whatever the client accepts
            import gzip

            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Type", self.ctype or ("text/event-stream" if self.sse else "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def http_session(tmp_path: Path, answer: bytes, sse: bool, *flags: str, **how: Any) -> tuple[bytes, str]:
    """The body a client gets from ``policyctl record --upstream`` for a tools/list POST."""
    import http.client

    handler = type("H", (_Hostile,), {"answer": answer, "sse": sse, **how})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    policy = tmp_path / "p.policy.json"
    policy.write_text(json.dumps(POLICY))
    proc = subprocess.Popen([sys.executable, "-m", "policyctl", "record", "-o", str(tmp_path / "t.jsonl"),
                             "--force", "--policy", str(policy), *flags, "--upstream",
                             f"http://127.0.0.1:{server.server_address[1]}/mcp", "--listen", "127.0.0.1:0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        url = proc.stderr.readline().decode().split("serving ", 1)[1].split(" ", 1)[0]
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/mcp", body=LIST, headers={"Content-Type": "application/json",
                                                         "Accept": "application/json, text/event-stream",
                                                         "Accept-Encoding": "gzip, deflate, br"})
        body = conn.getresponse().read()
        conn.close()
    finally:
        proc.send_signal(2)
        proc.wait(timeout=10)
        server.shutdown()
        server.server_close()
    return body, proc.stderr.read().decode()  # type: ignore[union-attr]


@pytest.mark.slow
@pytest.mark.parametrize("sse", [False, True], ids=["json", "sse"])
def test_http_enforce_answers_an_unparseable_tools_list_with_an_error(tmp_path: Path, sse: bool) -> None:
    body, err = http_session(tmp_path, NAN_LIST, sse, "--enforce")
    data = body.split(b"data: ", 1)[1].split(b"\n")[0] if sse else body
    assert orjson.loads(data) == refused(5, "not valid JSON")
    assert b"secret" not in body
    if sse:
        assert body.startswith(b"event: message\nid: e1\n")  # the event keeps its id
    assert "refused 1 server answer" in err
    body, _ = http_session(tmp_path, NAN_LIST, sse)  # shadow mode: unchanged
    assert NAN_LIST.replace(b"@ID@", b"5") in body


@pytest.mark.slow
@pytest.mark.parametrize("sse", [False, True], ids=["json", "sse"])
def test_http_enforce_keeps_back_a_tools_list_too_large_to_read(tmp_path: Path, sse: bool) -> None:
    big = (b'{"jsonrpc":"2.0","result":{"tools":[' + SECRET + b',{"name":"echo","description":"'
           + b"x" * (17 * 1024 * 1024) + b'"}]},"id":@ID@}')
    body, err = http_session(tmp_path, big, sse, "--enforce")
    data = body.split(b"data: ", 1)[1].split(b"\n")[0] if sse else body
    assert orjson.loads(data) == refused(5, "too large to read")
    assert len(body) < 1024


def test_a_large_answer_is_kept_back_only_while_a_tools_list_answer_is_due(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    assert rec.withhold_large() is False  # nothing due: large answers stream through unread
    rec.from_client(orjson.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                                  "params": {"name": "echo", "arguments": {}}}))
    listed(rec)
    assert rec.withhold_large() is True
    assert rec.withhold_large(channel="another session") is False
    # a call's answer with its id last (TypeScript SDK order) kept back while the list was due
    out = rec.large_refused(b'{"jsonrpc":"2.0","result":{"content":[{"type":"text","text":"xx',
                            b'xx"}],"isError":true},"id":3}')
    assert orjson.loads(out) == {"jsonrpc": "2.0", "id": 3, "error": {"code": -32603, "message": (
        "policyctl record --enforce: could not check the server's answer (too large to read while a "
        "tools/list answer is due); not forwarded")}}
    assert rec.withhold_large() is True
    out = rec.large_refused(b'{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"x', b'"}]}}')
    assert orjson.loads(out) == refused(7, "too large to read")
    assert rec.withhold_large() is False
    assert rec.large_refused(b"xxxx", b"yyyy") is None  # no id: dropped
    assert rec.finish().refused_from_server == 3
    assert [(r["id"], r["upstream"]) for r in map(json.loads, (tmp_path / "t.jsonl").read_text().splitlines())] == [
        (3, "tool_error")]


def test_shadow_mode_keeps_nothing_back(tmp_path: Path) -> None:
    rec = recorder(tmp_path, enforce=False)
    listed(rec)
    assert rec.withhold_large() is False


def test_a_cancelled_tools_list_frees_its_id_and_its_late_answer_is_still_filtered(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    listed(rec)
    again = orjson.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
    assert orjson.loads(rec.from_client(again)[1])["error"]["code"] == -32600  # in use
    rec.from_client(orjson.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                  "params": {"requestId": 7}}))
    assert rec.from_client(again) == (again, None)
    late = b'{"jsonrpc":"2.0","id":7,"result":{"tools":[' + SECRET + b',' + OK + b']}}'
    assert orjson.loads(rec.from_server(late))["result"]["tools"] == [{"name": "echo"}]
    assert orjson.loads(rec.from_server(late))["result"]["tools"] == [{"name": "echo"}]  # no longer awaited
    assert orjson.loads(rec.from_server(b'{"jsonrpc":"2.0","id":7,"result":{"tools":[{"Name":"secret"}]}}')) == (
        refused(7, 'member name "Name" is not exact'))


GOOD_LIST = b'{"jsonrpc":"2.0","id":@ID@,"result":{"tools":[' + OK + b',' + SECRET + b']}}'


@pytest.mark.slow
def test_http_enforce_asks_for_an_uncompressed_answer_and_refuses_a_compressed_one(tmp_path: Path) -> None:
    import gzip

    seen: list = []
    body, err = http_session(tmp_path, GOOD_LIST, False, "--enforce", gzip=True, seen=seen)
    assert orjson.loads(body) == refused(5, "Content-Encoding gzip")
    assert seen == ["identity"]
    body, _ = http_session(tmp_path, GOOD_LIST, False, gzip=True, seen=seen)  # shadow mode: as it came
    assert gzip.decompress(body) == GOOD_LIST.replace(b"@ID@", b"5")
    assert seen == ["identity", "gzip, deflate, br"]


@pytest.mark.slow
def test_http_enforce_refuses_a_tools_list_of_a_type_a_client_reads_by_substring(tmp_path: Path) -> None:
    body, err = http_session(tmp_path, GOOD_LIST, False, "--enforce", ctype="application/json+x")
    assert orjson.loads(body) == refused(5, "Content-Type application/json+x")
    body, _ = http_session(tmp_path, GOOD_LIST, False, ctype="application/json+x")
    assert body == GOOD_LIST.replace(b"@ID@", b"5")


@pytest.mark.slow
def test_the_sdk_client_reads_the_nan_answer_so_enforce_refuses_it(tmp_path: Path) -> None:
    """The ``mcp`` SDK's own client through the proxy to the hostile server: it reads the NaN answer
    the proxy's parser refuses, hidden tool included — so under --enforce it gets the error."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.shared.exceptions import MCPError

    (tmp_path / "hostile.py").write_text(HOSTILE)
    schema = b'"inputSchema":{"type":"object"}'
    (tmp_path / "answer").write_bytes(b'{"jsonrpc":"2.0","id":@ID@,"result":{"tools":[{"name":"echo",' + schema
                                      + b'},{"name":"secret",' + schema + b'}],"n":NaN}}')
    policy = tmp_path / "p.policy.json"
    policy.write_text(json.dumps(POLICY))

    async def names(*flags: str) -> Any:
        params = StdioServerParameters(command=sys.executable, args=[
            "-m", "policyctl", "record", "-o", str(tmp_path / "t.jsonl"), "--force", "--policy", str(policy),
            *flags, "--", sys.executable, str(tmp_path / "hostile.py"), str(tmp_path / "answer")])
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                try:
                    return [t.name for t in (await s.list_tools()).tools]
                except MCPError as exc:
                    return exc.error.code, exc.error.message

    assert anyio.run(names) == ["echo", "secret"]  # shadow mode: what the server sent
    assert anyio.run(names, "--enforce") == (-32603, PREFIX + "not valid JSON" + SUFFIX)


def test_a_calls_answer_with_result_tools_is_paired_and_filtered(tmp_path: Path) -> None:
    rec = recorder(tmp_path)
    rec.from_client(orjson.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                                  "params": {"name": "echo", "arguments": {}}}))
    out = rec.from_server(b'{"jsonrpc":"2.0","id":3,"result":{"content":[],"tools":[' + SECRET + b',' + OK + b']}}')
    assert orjson.loads(out) == {"jsonrpc": "2.0", "id": 3, "result": {"content": [], "tools": [{"name": "echo"}]}}
    rec.finish()
    assert [(r["id"], r["upstream"]) for r in map(json.loads, (tmp_path / "t.jsonl").read_text().splitlines())] == [
        (3, "ok")]


@pytest.mark.slow
def test_http_enforce_refuses_an_event_stream_labelled_json_with_a_parameter(tmp_path: Path) -> None:
    # the TypeScript SDK looks for "text/event-stream" first, anywhere in the header
    ctype = "application/json; profile=text/event-stream"
    body, err = http_session(tmp_path, GOOD_LIST, True, "--enforce", ctype=ctype)
    assert orjson.loads(body) == refused(5, "Content-Type " + ctype)


@pytest.mark.slow
def test_http_enforce_reads_event_streams_with_lone_cr_line_ends(tmp_path: Path) -> None:
    # the event-stream format ends lines with LF, CRLF or CR alone; clients read all three
    body, _ = http_session(tmp_path, GOOD_LIST, True, "--enforce", eol=b"\r")
    assert b"secret" not in body
    assert orjson.loads(body.split(b"data: ", 1)[1].split(b"\n")[0]) == {
        "jsonrpc": "2.0", "id": 5, "result": {"tools": [{"name": "echo"}]}}
    assert body.startswith(b"event: message\rid: e1\r")
    body, _ = http_session(tmp_path, NAN_LIST, True, "--enforce", eol=b"\r")
    assert orjson.loads(body.split(b"data: ", 1)[1].split(b"\n")[0]) == refused(5, "not valid JSON")
    shadow, _ = http_session(tmp_path, GOOD_LIST, True, eol=b"\r")
    assert shadow == b"event: message\rid: e1\rdata: " + GOOD_LIST.replace(b"@ID@", b"5") + b"\r\r"


@pytest.mark.slow
def test_http_enforce_checks_an_event_the_stream_ends_in(tmp_path: Path) -> None:
    body, _ = http_session(tmp_path, GOOD_LIST, True, "--enforce", end=b"")
    assert b"secret" not in body
    shadow, _ = http_session(tmp_path, GOOD_LIST, True, end=b"")
    assert shadow == b"event: message\nid: e1\ndata: " + GOOD_LIST.replace(b"@ID@", b"5") + b"\n"
