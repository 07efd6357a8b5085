"""The HTML reports opened in a real browser (Debian's headless chromium), with the network blocked.

Assertions are on what the browser rendered — the DOM after load, its network log, a screenshot —
not on the HTML text policyctl wrote.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.test_simulate_report import POLICY, write_trace

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium")


def chromium(tmp: Path, page: Path, *extra: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
           f"--user-data-dir={tmp / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--proxy-server=127.0.0.1:9", "--hide-scrollbars", *extra, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def policyctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "policyctl", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)


class _Dom(HTMLParser):
    """The rendered DOM's numbers (``data-k`` elements) and its SVG marks."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self.marks: dict[str, int] = {}
        self.meta_csp: str | None = None
        self._open: list[tuple[str, str]] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if "mark" in (a.get("class") or "").split():
            key = f"{tag}:{a.get('data-series')}"
            self.marks[key] = self.marks.get(key, 0) + 1
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy":
            self.meta_csp = a.get("content")
        if a.get("data-k") is not None:
            self._open.append((tag, a["data-k"] or ""))
            self.values.setdefault(a["data-k"] or "", []).append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for _, key in self._open:
            self.values[key][-1] += data

    def number(self, key: str) -> int:
        (text,) = self.values[key]
        return int(text.strip())


def dom_of(tmp: Path, page: Path) -> _Dom:
    done = chromium(tmp, page, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<body" in done.stdout
    dom = _Dom()
    dom.feed(done.stdout)
    return dom


def requests_in_net_log(tmp: Path, page: Path) -> set[str]:
    """The URLs of the requests the page made, from chromium's network log.

    The browser itself also talks (component updates, network time, accounts; all blocked here):
    those requests have no initiating origin ("not an origin") and are left out; a request made by a
    page opened from disk is initiated by the opaque origin "null" in the "file://" isolation key.
    """
    log = tmp / "net.json"
    done = chromium(tmp, page, f"--log-net-log={log}", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    text = log.read_text(encoding="utf-8", errors="replace").rstrip()
    if not text.endswith("}"):  # chromium may leave the events list unclosed
        text = text.rstrip(",") + "]}"
    data = json.loads(text)
    types = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    urls: set[str] = set()
    for event in data.get("events", []):
        params = event.get("params") or {}
        if types.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if params.get("initiator") == "not an origin":
            continue
        urls.add(params["url"])
    return urls


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what chromium writes) into rows of raw pixel bytes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = depth = colour = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def assert_not_blank(path: Path) -> None:
    width, bpp, rows = png_pixels(path)
    colours: dict[bytes, int] = {}
    for row in rows[::3]:
        for x in range(0, width * bpp, bpp * 3):
            px = row[x:x + 3]
            colours[px] = colours.get(px, 0) + 1
    total = sum(colours.values())
    background = max(colours.values())
    assert len(colours) >= 12, f"only {len(colours)} colours"
    assert total - background >= total * 0.03, "almost every pixel is the background"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pages")
    policy = tmp / "limits.policy.json"
    policy.write_text(json.dumps(POLICY))
    trace = tmp / "trace.jsonl"
    write_trace(trace, 1500, seed=11)
    out = {"policy": policy, "trace": trace}
    sim = tmp / "simulate.html"
    done = policyctl("simulate", str(trace), "--policy", str(policy), "--report", str(sim), "--coverage")
    assert done.returncode == 0, done.stderr
    out["simulate"] = sim
    sim_json = policyctl("simulate", str(trace), "--policy", str(policy), "--format", "json")
    out["simulate_json"] = tmp / "simulate.json"
    out["simulate_json"].write_text(sim_json.stdout)
    d = tmp / "diff.html"
    done = policyctl("diff", "samples/diff/v1.policy.json", "samples/diff/v2.policy.json", "--trace",
                     "samples/diff/trace.jsonl", "--report", str(d), "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    out["diff"] = d
    diff_json = policyctl("diff", "samples/diff/v1.policy.json", "samples/diff/v2.policy.json", "--trace",
                          "samples/diff/trace.jsonl", "--format", "json", "--fail-on", "never")
    out["diff_json"] = tmp / "diff.json"
    out["diff_json"].write_text(diff_json.stdout)
    return out


def test_simulate_page_renders_the_json_reports_numbers_and_its_charts(pages, tmp_path: Path) -> None:
    dom = dom_of(tmp_path, pages["simulate"])
    want = json.loads(pages["simulate_json"].read_text())
    assert dom.number("calls") == want["calls"] == 1500
    assert dom.number("allowed") == want["allowed"]
    assert dom.number("denied") == want["denied"]
    for reason, n in want["by_reason"].items():
        assert dom.number(f"by_reason.{reason}") == n
    for tool, row in want["by_tool"].items():
        for col, n in row.items():
            assert dom.number(f"by_tool.{tool}.{col}") == n
    assert sum(int(v) for v in dom.values["rule.denied"]) == want["denied"]
    assert dom.number("bursts.count") > 0
    # the charts: a step line per bucket, denial and burst marks, stacked timeline bars per reason
    assert dom.marks["path:count"] == 9  # 3 grants × (all_tools, a, c) buckets
    assert dom.marks["path:denied"] > 0 and dom.marks["circle:burst"] > 0
    assert dom.marks["rect:allowed"] > 0 and dom.marks["rect:rate_limited"] > 0 and dom.marks["rect:deny_if"] > 0
    assert dom.meta_csp is not None and "default-src 'none'" in dom.meta_csp


def test_intercept_simulate_page_renders_the_json_reports_numbers(tmp_path: Path) -> None:
    """An Intercept run: its eight reasons, the buckets of its reservations and their charts."""
    args = ["samples/traces/intercept-payments.jsonl", "--policy", "samples/intercept/payments.policy.yaml"]
    page = tmp_path / "intercept.html"
    done = policyctl("simulate", *args, "--report", str(page))
    assert done.returncode == 0, done.stderr
    want = json.loads(policyctl("simulate", *args, "--format", "json").stdout)
    dom = dom_of(tmp_path, page)
    assert dom.number("calls") == want["calls"] == 13
    assert dom.number("allowed") == want["allowed"] and dom.number("denied") == want["denied"]
    assert set(want["by_reason"]) >= {"require_approval", "policy_error"}
    for reason, n in want["by_reason"].items():
        assert dom.number(f"by_reason.{reason}") == n
    for tool, row in want["by_tool"].items():
        for col, n in row.items():
            assert dom.number(f"by_tool.{tool}.{col}") == n
    assert sum(int(v) for v in dom.values["rule.denied"]) == want["denied"]
    assert [int(v) for v in dom.values["bucket.reserved"]] == [900000, 1, 5]
    assert dom.number("bursts.count") == 1
    assert dom.marks["path:count"] == 1 and dom.marks["path:denied"] == 1 and dom.marks["circle:burst"] == 1
    assert dom.marks["rect:policy_error"] == 1 and dom.marks["rect:rate_limited"] == 1
    assert requests_in_net_log(tmp_path, page) == set()


def test_diff_page_renders_the_json_reports_numbers_and_its_charts(pages, tmp_path: Path) -> None:
    dom = dom_of(tmp_path, pages["diff"])
    want = json.loads(pages["diff_json"].read_text())
    for effect, n in want["summary"].items():
        assert dom.number(f"summary.{effect}") == n
    behavior = want["behavior"]
    assert dom.number("behavior.calls") == behavior["calls"]
    assert dom.number("behavior.changed") == behavior["changed"] == 8
    for t, n in behavior["transitions"].items():
        assert dom.number(f"behavior.transitions.{t}") == n
    for tool, row in behavior["by_tool"].items():
        assert dom.number(f"behavior.by_tool.{tool}.changed") == row["changed"]
    assert [int(x) for x in dom.values["example.line"]] == [e["line"] for e in behavior["examples"]]
    assert dom.values["change.effect"] == [c["effect"] for c in want["changes"]]
    for t in ("allow->deny", "deny->allow", "deny->deny"):
        assert dom.marks[f"rect:{t}"] >= 2  # over time and per tool


@pytest.mark.parametrize("name", ["simulate", "diff"])
def test_no_request_leaves_the_page(pages, tmp_path: Path, name: str) -> None:
    assert requests_in_net_log(tmp_path, pages[name]) == set()


@pytest.mark.parametrize("name", ["simulate", "diff"])
def test_screenshot_is_not_blank(pages, tmp_path: Path, name: str) -> None:
    shot = tmp_path / "shot.png"
    done = chromium(tmp_path, pages[name], f"--screenshot={shot}", "--window-size=900,700")
    assert done.returncode == 0, done.stderr[-2000:]
    assert_not_blank(shot)


def test_a_blank_screenshot_is_told_apart(tmp_path: Path) -> None:
    """The pixel check can fail: an empty page's screenshot does."""
    page = tmp_path / "empty.html"
    page.write_text("<!DOCTYPE html><html><body></body></html>")
    shot = tmp_path / "shot.png"
    done = chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=900,700")
    assert done.returncode == 0, done.stderr[-2000:]
    with pytest.raises(AssertionError):
        assert_not_blank(shot)


def test_the_net_log_sees_a_request_when_a_page_makes_one(tmp_path: Path) -> None:
    """The network check can fail: a page without the policy's CSP that loads an image is logged."""
    page = tmp_path / "fetching.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://example.invalid/x.png"></body></html>')
    assert requests_in_net_log(tmp_path, page) == {"http://example.invalid/x.png"}
