"""``--report FILE.html``: where it may be written, what never appears on it (without a browser)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import run_cli

SIM = ["simulate", "samples/traces/end-session-loop.jsonl", "--policy", "samples/sncro.policy.json"]
DIFF = ["diff", "samples/diff/v1.policy.json", "samples/diff/v2.policy.json", "--trace", "samples/diff/trace.jsonl",
        "--fail-on", "never"]


def test_simulate_report_is_written_and_the_summary_still_printed(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    res = run_cli(*SIM, "--report", str(page))
    assert res.returncode == 0, res.stderr
    assert "16 calls: 13 allowed, 3 denied." in res.stdout
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in html and "<script" not in html
    assert not [p for p in tmp_path.iterdir() if p.name != "r.html"]  # no temporary file left


def test_an_existing_report_is_kept_without_force(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    page.write_text("mine")
    res = run_cli(*SIM, "--report", str(page))
    assert res.returncode == 2
    assert f"{page}: already exists (use --force to overwrite)" in res.stderr
    assert page.read_text() == "mine"
    res = run_cli(*SIM, "--report", str(page), "--force")
    assert res.returncode == 0, res.stderr
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_report_never_replaces_an_input_or_another_output(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(Path("samples/traces/end-session-loop.jsonl").read_bytes())
    before = trace.read_bytes()
    res = run_cli("simulate", str(trace), "--policy", "samples/sncro.policy.json", "--report", str(trace), "--force")
    assert res.returncode == 2 and "refusing to overwrite an input" in res.stderr
    assert trace.read_bytes() == before
    res = run_cli(*SIM, "--report", str(tmp_path / "x.html"), "--output", str(tmp_path / "x.html"))
    assert res.returncode == 2 and "--report and --output name the same file" in res.stderr, res.stderr
    res = run_cli(*SIM, "--report", "-")
    assert res.returncode == 2 and "--report: give a file name" in res.stderr
    res = run_cli(*DIFF, "--report", "samples/diff/v2.policy.json", "--force")
    assert res.returncode == 2 and "refusing to overwrite an input" in res.stderr


def test_a_fifo_gets_the_page_in_place(tmp_path: Path) -> None:
    """The output rule: a FIFO is written in place, never replaced by a regular file."""
    import threading

    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    res = run_cli(*SIM, "--report", str(fifo), "--force")
    reader.join(timeout=60)
    assert res.returncode == 0, res.stderr
    assert fifo.is_fifo() and got and got[0].startswith(b"<!DOCTYPE html>")


def test_no_page_after_a_bad_trace(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"ts": "2026-11-24T10:00:00Z", "tool": "end_session"}\n{"ts": 5\n')
    page = tmp_path / "r.html"
    res = run_cli("simulate", str(trace), "--policy", "samples/sncro.policy.json", "--report", str(page))
    assert res.returncode == 2 and f"{trace}:2:" in res.stderr
    assert list(tmp_path.iterdir()) == [trace]


def test_argument_values_stay_off_the_pages(tmp_path: Path) -> None:
    """The traces carry secrets; the pages show argument keys, values only with --show-args."""
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps({"ts": f"2026-11-24T10:00:{i:02d}Z", "grant": "g", "tool": "end_session",
                                         "args": {"key": "k1", "secret": "hunter2-SECRET"}}) + "\n"
                             for i in range(12)))
    sim_page = tmp_path / "s.html"
    assert run_cli("simulate", str(trace), "--policy", "samples/sncro.policy.json", "--report",
                   str(sim_page), "--show-args").returncode == 0
    assert "hunter2-SECRET" not in sim_page.read_text()
    diff_page = tmp_path / "d.html"
    res = run_cli("diff", "samples/diff/v1.policy.json", "samples/diff/v2.policy.json", "--trace",
                  "samples/diff/trace.jsonl", "--report", str(diff_page), "--fail-on", "never")
    assert res.returncode == 0, res.stderr
    html = diff_page.read_text()
    assert "amount, api_key, currency, customer" in html
    api_keys = {json.loads(line)["args"].get("api_key") for line in Path("samples/diff/trace.jsonl").read_text().splitlines()
                if line.strip() and "args" in json.loads(line)} - {None}
    assert api_keys and not any(str(v) in html for v in api_keys)
    shown = tmp_path / "d2.html"
    assert run_cli("diff", "samples/diff/v1.policy.json", "samples/diff/v2.policy.json", "--trace",
                   "samples/diff/trace.jsonl", "--report", str(shown), "--fail-on", "never",
                   "--show-args").returncode == 0
    assert any(str(v) in shown.read_text() for v in api_keys)


def test_user_text_is_escaped(tmp_path: Path) -> None:
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"version": "1", "default": "allow", "tools": {
        "<b>x</b>": {"deny_if": [{"conditions": [], "on_deny": "<script>alert(1)</script>"}]}}}))
    trace = tmp_path / "t.jsonl"
    trace.write_text(json.dumps({"ts": 1795514400, "tool": "<b>x</b>", "grant": "<i>g</i>"}) + "\n")
    page = tmp_path / "r.html"
    assert run_cli("simulate", str(trace), "--policy", str(policy), "--report", str(page)).returncode == 0
    html = page.read_text()
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
