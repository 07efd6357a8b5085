"""Hostile inputs to convert, init --dialect intercept and the Intercept paths of diff, explain and
simulate: each test is a finding of the hostile-input pass, kept as a regression test. Exit codes and
message fragments are policyctl's own; nothing here asserts a third-party library's text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr


# -- convert ------------------------------------------------------------------------------------

def test_convert_to_intercept_tool_name_longer_than_an_implicit_yaml_key(tmp_path: Path) -> None:
    """A tool name over YAML's 1024-character implicit-key limit was written as an implicit key: the
    output did not parse back and convert failed with exit 3."""
    long = "t" * 3000
    src = _write_json(tmp_path / "in.policy.json", {
        "version": "1", "default": "deny",
        "tools": {long: {"limits": [{"counter": "c", "window": "minute", "max": 5, "scope": "grant"}]},
                  "short": {}}})
    out = tmp_path / "out.policy.yaml"
    result = run_cli("convert", str(src), "--to", "intercept", "-o", str(out))
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert f'  ? "{long}"' in out.read_text(encoding="utf-8")
    back = run_cli("convert", str(out), "--to", "policylayer")
    assert back.returncode == 0, back.stderr
    tools = json.loads(back.stdout)["tools"]
    assert set(tools) == {long, "short"}
    assert tools[long]["limits"][0]["max"] == 5


def _lt_policy(tmp_path: Path, op: str, value: str) -> Path:
    path = tmp_path / "lt.policy.yaml"
    path.write_text(f'''version: "1"
default: deny
tools:
  t:
    rules:
      - name: lim
        conditions:
          - path: state.t.c
            op: {op}
            value: {value}
        state:
          counter: c
          window: hour
''', encoding="utf-8")
    return path


def test_convert_to_policylayer_limit_beyond_2_53_is_refused(tmp_path: Path) -> None:
    """An Intercept limit above PolicyLayer's largest max (2^53) crashed convert (exit 3: the
    converted policy failed its own schema check); now it is a refusal with its position."""
    src = _lt_policy(tmp_path, "lte", "1e17")
    result = run_cli("convert", str(src), "--to", "policylayer")
    _no_traceback(result)
    assert result.returncode == 1
    assert "lt.policy.yaml:8:13: limit 100000000000000000 in rule 'lim'" in result.stderr
    assert "PolicyLayer's max is at most 9007199254740992" in result.stderr
    assert result.stdout == ""


def test_intercept_lt_limit_wraps_like_go_int64(tmp_path: Path) -> None:
    """``lt 1e300``: Go converts 1e300 to MinInt64 and ``- 1`` wraps to MaxInt64, so Intercept allows
    the call; the simulator computed MinInt64 - 1 and rate-limited every call."""
    policy = _lt_policy(tmp_path, "lt", "1e300")
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"ts": "2026-01-01T00:00:00Z", "tool": "t"}\n', encoding="utf-8")
    result = run_cli("simulate", str(trace), "--policy", str(policy), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["decision"] == "allow"
    conv = run_cli("convert", str(policy), "--to", "policylayer")
    assert conv.returncode == 1
    assert "limit 9223372036854775807 in rule 'lim'" in conv.stderr


def test_convert_to_policylayer_empty_tool_name_is_refused(tmp_path: Path) -> None:
    """An Intercept tool named "" crashed convert (exit 3): PolicyLayer's schema forbids the name."""
    src = tmp_path / "e.policy.yaml"
    src.write_text('version: "1"\ndefault: deny\ntools:\n  "":\n    rules:\n      - name: lim\n'
                   '        rate_limit: 5/hour\n  ok:\n    rules: []\n', encoding="utf-8")
    out = tmp_path / "out.policy.json"
    result = run_cli("convert", str(src), "--to", "policylayer", "-o", str(out))
    _no_traceback(result)
    assert result.returncode == 1
    assert 'e.policy.yaml:4:3: tool "": PolicyLayer refuses an empty tool name' in result.stderr
    assert "nothing was written" in result.stderr
    assert not out.exists()


# -- Intercept on hostile traces ------------------------------------------------------------------

_BUDGET = '''version: "1"
default: deny
tools:
  pay:
    rules:
      - name: budget
        conditions:
          - path: state.pay.spent
            op: lte
            value: 500000
        state:
          counter: spent
          window: day
          increment_from: args.amount
        on_deny: "budget reached"
'''


def test_increment_from_huge_amounts_wrap_like_go_int64(tmp_path: Path) -> None:
    """Intercept converts a huge amount to MinInt64 and adds in int64: -5 + MinInt64 wraps to
    MaxInt64 - 4, over the budget. The simulator added Python integers and allowed the call. An
    integer beyond 2^53 counts as the float64 Go decoded (9223372036854775807 is 2^63: MinInt64)."""
    policy = tmp_path / "b.policy.yaml"
    policy.write_text(_BUDGET, encoding="utf-8")
    amounts = [1e308, -1e308, -5, 2**70, 0.5, 9223372036854775807, 9223372036854775807, 10]
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps({"ts": f"2026-12-03T09:0{i}:00Z", "tool": "pay", "args": {"amount": a}})
                             + "\n" for i, a in enumerate(amounts)), encoding="utf-8")
    result = run_cli("simulate", str(trace), "--policy", str(policy), "--format", "jsonl")
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    got = [(d["decision"], d["reason"]) for d in map(json.loads, result.stdout.splitlines())]
    allow, limited = ("allow", "allowed"), ("deny", "rate_limited")
    # counter: MinInt64, 0 (wrapped), -5, (refused), -5, then MinInt64 - 5 wraps: refused twice, -5 + 10
    assert got == [allow, allow, allow, limited, allow, limited, limited, allow]


def test_trace_number_beyond_float64_is_named(tmp_path: Path) -> None:
    """A trace line with 1e999 was "invalid JSON at column 1: not valid JSON"; now the message names
    the number and its column."""
    policy = tmp_path / "b.policy.yaml"
    policy.write_text(_BUDGET, encoding="utf-8")
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"ts": "2026-12-03T09:00:00Z", "tool": "pay", "args": {"note": "1e999", "amount": 1e999}}\n',
                     encoding="utf-8")
    result = run_cli("simulate", str(trace), "--policy", str(policy))
    _no_traceback(result)
    assert result.returncode == 2
    assert "t.jsonl:1: invalid JSON at column 83: the number 1e999 is too large for a 64-bit float" in result.stderr


# -- HTML reports -------------------------------------------------------------------------------

_RAW = ("\x1b", "\u202e")


def _intercept_policy(path: Path, names: list[str], limit: int) -> Path:
    lines = ['version: "1"', "default: deny", "tools:"]
    for name in names:
        quoted = json.dumps(name)  # JSON escapes are YAML double-quoted escapes
        lines += [f"  {quoted}:", "    rules:", f"      - name: {json.dumps('r ' + name)}",
                  f'        rate_limit: "{limit}/minute"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reports_never_carry_raw_escapes_or_bidi_overrides(tmp_path: Path) -> None:
    """A tool name with an ANSI escape and a bidi override reached the HTML pages of diff --report
    and simulate --report raw (the override reorders what a reviewer reads); now it shows escaped."""
    names = ["bidi\u202eevil", "a\x1b[31mred", "plain"]
    old = _intercept_policy(tmp_path / "old.policy.yaml", names, 5)
    new = _intercept_policy(tmp_path / "new.policy.yaml", names, 1)
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps({"ts": f"2026-12-03T09:00:0{i}Z", "tool": n, "args": {}}) + "\n"
                             for i, n in enumerate(names * 2)), encoding="utf-8")
    diff_page = tmp_path / "diff.html"
    result = run_cli("diff", str(old), str(new), "--trace", str(trace), "--report", str(diff_page))
    _no_traceback(result)
    sim_page = tmp_path / "sim.html"
    sim = run_cli("simulate", str(trace), "--policy", str(new), "--report", str(sim_page))
    _no_traceback(sim)
    for page in (diff_page, sim_page):
        html = page.read_text(encoding="utf-8")
        assert not any(ch in html for ch in _RAW), page.name
        assert "bidi\\u202eevil" in html and "a\\x1b[31mred" in html


def test_machine_json_outputs_escape_c1_controls_and_bidi_overrides(tmp_path: Path) -> None:
    """JSON escapes C0 controls but leaves C1 controls (U+009B is an 8-bit CSI) and bidi overrides
    raw; lint's JSON escaped them, simulate/explain/diff's JSON and JSONL did not."""
    names = ["bidi\u202eevil\x85\x9b"]
    policy = _intercept_policy(tmp_path / "p.policy.yaml", names, 5)
    other = _intercept_policy(tmp_path / "q.policy.yaml", names, 1)
    trace = tmp_path / "t.jsonl"
    trace.write_text(json.dumps({"ts": "2026-12-03T09:00:00Z", "tool": names[0], "id": "\u202eid",
                                 "args": {"k\u202e": 1}}) + "\n", encoding="utf-8")
    runs = [run_cli("simulate", str(trace), "--policy", str(policy), "--format", "json"),
            run_cli("simulate", str(trace), "--policy", str(policy), "--format", "jsonl"),
            run_cli("explain", "--policy", str(policy), "--trace", str(trace), "--line", "1", "--format", "json"),
            run_cli("diff", str(policy), str(other), "--trace", str(trace), "--format", "json")]
    for result in runs:
        _no_traceback(result)
        assert result.returncode in (0, 1), result.stderr
        assert not any(ch in result.stdout for ch in ("\u202e", "\x85", "\x9b")), result.args
    jsonl = json.loads(runs[1].stdout)
    assert jsonl["tool"] == names[0] and jsonl["id"] == "\u202eid" and jsonl["arg_keys"] == ["k\u202e"]
    assert '"bidi\\u202eevil\\u0085\\u009b"' in runs[1].stdout


# -- init --dialect intercept -----------------------------------------------------------------------

def test_init_intercept_hostile_snapshot_parses_back_and_hides_nothing(tmp_path: Path) -> None:
    """Descriptions and names that try to leave a comment (newlines, U+2028, NEL, CR, '---', '#')
    stay inside it; the file parses back to the tools it was written for; invisible characters (RLM,
    zero-width, BOM, tag characters: text smuggled past a reviewer) were written raw into the
    comments and printed raw on stderr, and now show as escapes."""
    sneaky = "Reads\u200f a\u200b note\ufeff\U000e0041\n---\nversion: 2\n\u2028default: allow\x85tools: {}\r\n#"
    names = ["read_note\u200f", "a: b", "---", "x\ny: 1", "# c", 'q"x', "emoji\U0001F600", "rtl\u202eevil"]
    snapshot = tmp_path / "s.json"
    _write_json(snapshot, {"tools": [
        {"name": n, "description": sneaky, "inputSchema": {"type": "object", "properties": {
            n: {"type": "string", "description": sneaky}}}} for n in names]})
    out = tmp_path / "p.policy.yaml"
    result = run_cli("init", "--dialect", "intercept", "--from", str(snapshot), "-o", str(out))
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    for raw in ("\u200f", "\u200b", "\ufeff", "\U000e0041", "\u2028", "\x85", "\r", "\u202e"):
        assert raw not in text and raw not in result.stderr, repr(raw)
    assert "read_note\\u200f" in result.stderr
    lint = run_cli("lint", str(out))
    assert lint.returncode == 0, lint.stdout
    back = run_cli("convert", str(out), "--to", "policylayer")
    assert back.returncode == 0, back.stderr
    data = json.loads(back.stdout)
    assert data["default"] == "deny" and set(data["tools"]) == set(names)


def test_intercept_nan_and_inf_values(tmp_path: Path) -> None:
    """An Intercept value .nan/.inf: convert --to policylayer crashed (exit 3, the JSON it wrote had
    -Infinity); explain and diff --format json printed NaN/-Infinity, which is not JSON."""
    policy = tmp_path / "n.policy.yaml"
    policy.write_text('version: "1"\ndefault: deny\ntools:\n  t:\n    rules:\n      - name: r\n'
                      "        conditions:\n          - path: args.a\n            op: lt\n"
                      "            value: -.inf\n", encoding="utf-8")
    conv = run_cli("convert", str(policy), "--to", "policylayer")
    _no_traceback(conv)
    assert conv.returncode == 1
    assert "n.policy.yaml:10:20: value '-Inf' in rule 'r' of tool 't': a YAML .nan or .inf" in conv.stderr
    assert conv.stdout == ""
    explain = run_cli("explain", "--policy", str(policy), "--call", '{"tool": "t", "args": {"a": 1}}',
                      "--at", "2026-01-01T00:00:00Z", "--format", "json")
    assert explain.returncode == 0, explain.stderr
    assert "-.inf" in explain.stdout
    json.loads(explain.stdout, parse_constant=lambda word: pytest.fail(f"{word} in JSON output"))
    other = tmp_path / "o.policy.yaml"
    other.write_text(policy.read_text(encoding="utf-8").replace("-.inf", ".nan"), encoding="utf-8")
    diff = run_cli("diff", str(policy), str(other), "--format", "json", "--fail-on", "never")
    assert diff.returncode == 0, diff.stderr
    data = json.loads(diff.stdout, parse_constant=lambda word: pytest.fail(f"{word} in JSON output"))
    assert data["changes"][0]["old"]["value"] == "-.inf"
    assert data["changes"][0]["new"]["value"] == ".nan"


def test_convert_to_intercept_blank_hide_entry_is_refused(tmp_path: Path) -> None:
    """A PolicyLayer hide entry " " (or a tab, U+2028) was converted, and Intercept's validation
    (which trims the entry) refused the output: convert failed with exit 3."""
    src = _write_json(tmp_path / "in.policy.json", {"version": "1", "default": "allow", "hide": [" "], "tools": {}})
    out = tmp_path / "out.policy.yaml"
    result = run_cli("convert", str(src), "--to", "intercept", "-o", str(out))
    _no_traceback(result)
    assert result.returncode == 1
    assert "hide entry ' ': Intercept refuses an empty or blank hide entry" in result.stderr
    assert not out.exists()


# -- lint on hostile Intercept policies (found by fuzzing convert's input) -----------------------

def test_duplicate_tool_key_over_a_yaml11_scalar_is_a_diagnostic(tmp_path: Path) -> None:
    """A tool key given twice, the first holding a value YAML 1.1 reads differently (a date): the
    record of that scalar named a node the second value had replaced, and lint, simulate and
    convert failed with exit 3 (KeyError/IndexError)."""
    for second in ("    rules: []\n", "    rules:\n      - name: b\n        rate_limit: 5/hour\n"):
        path = tmp_path / "dup.policy.yaml"
        path.write_text('version: "1"\ndefault: allow\ntools:\n  t:\n    rules:\n      - name: a\n'
                        "        conditions:\n          - path: args.x\n            op: eq\n"
                        "            value: 2026-01-01\n  t:\n" + second, encoding="utf-8")
        lint = run_cli("lint", str(path))
        _no_traceback(lint)
        assert lint.returncode == 1
        assert 'dup.policy.yaml:11:3: error[PL003] duplicate key "t" (first defined at line 4)' in lint.stdout
        conv = run_cli("convert", str(path), "--to", "policylayer")
        _no_traceback(conv)
        assert conv.returncode == 2
        assert "PL003" in conv.stderr


def test_lt_limit_rule_on_non_finite_value(tmp_path: Path) -> None:
    """PL505 (lt on a counter) computed int(.inf) and lint failed with exit 3."""
    for value in (".inf", ".nan", "1e300"):
        policy = _lt_policy(tmp_path, "lt", value)
        lint = run_cli("lint", str(policy))
        _no_traceback(lint)
        assert lint.returncode in (0, 1), lint.stdout  # 1: PL004 (.inf has no JSON form)
        assert "PL505" not in lint.stdout
    policy = _lt_policy(tmp_path, "lt", "10.5")
    lint = run_cli("lint", str(policy))
    assert lint.returncode == 0
    assert 'warning[PL505] "lt 10.5" on state.t.c allows 9 calls per hour' in lint.stdout


def test_convert_output_beyond_the_policy_size_limit_is_refused(tmp_path: Path) -> None:
    """A 3.8 MB PolicyLayer policy (under the 4 MiB limit) converts to 7 MB of Intercept YAML, which
    policyctl cannot read back: convert failed with exit 3; now it says so, exit 1, nothing written."""
    tools = {f"t{i:05d}" + "x" * 100: {"limits": [{"counter": "c", "window": "minute", "max": 5, "scope": "grant"}]}
             for i in range(20000)}
    src = _write_json(tmp_path / "big.policy.json", {"version": "1", "default": "deny", "tools": tools})
    out = tmp_path / "big.policy.yaml"
    result = run_cli("convert", str(src), "--to", "intercept", "-o", str(out))
    _no_traceback(result)
    assert result.returncode == 1
    assert "big.policy.json: not converted: the converted policy would be" in result.stderr
    assert "policies are limited to 4 MiB; nothing was written" in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [src]


def test_init_on_descriptions_built_to_backtrack_stays_fast(tmp_path: Path) -> None:
    """The classifier's tool-reference and blank-padding patterns were quadratic on a long run of
    letters, "a_a_a…", blanks or newlines: one 40,000-character description took 34 s (the snapshot
    limit, 256 KiB, took many minutes) — a hostile server could hang scan and init. Each run is now
    scanned once; the whole command takes well under the timeout."""
    texts = ["a" * 60000, "a_" * 30000, " " * 60000, "\n" * 60000, "\n " * 30000 + "\r"]
    snapshot = _write_json(tmp_path / "s.json", {"tools": [
        {"name": f"read_{i}", "description": text, "inputSchema": {"type": "object"}}
        for i, text in enumerate(texts)]})
    result = run_cli("init", "--dialect", "intercept", "--from", str(snapshot), timeout=30)
    _no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert '"read_0":' in result.stdout


def test_init_refuses_a_starter_policy_lint_would_reject_for_its_size(tmp_path: Path) -> None:
    """3,500 tools with 1,000-character names make a 4.8 MB starter policy; init wrote it although
    lint (and simulate) refuse a policy over 4 MiB. Now: exit 2, the size, nothing written."""
    snapshot = _write_json(tmp_path / "s.json", {"tools": [
        {"name": f"create_item_{i:04d}" + "x" * 1000, "description": "Creates an item.",
         "inputSchema": {"type": "object"}} for i in range(3500)]})
    out = tmp_path / "p.policy.yaml"
    schema = tmp_path / "schema.json"
    result = run_cli("init", "--dialect", "intercept", "--from", str(snapshot), "-o", str(out),
                     "--write-schema", str(schema))
    _no_traceback(result)
    assert result.returncode == 2
    assert "error: the starter policy for 3500 tools would be" in result.stderr
    assert "over the 4 MiB a policy may be; nothing was written" in result.stderr
    assert not out.exists() and not schema.exists()
