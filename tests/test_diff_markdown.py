"""`diff --format markdown`: cells stay one literal code span whatever backticks and pipes they hold,
and the comment fits GitHub's limit whatever the input, giving up the least important rows first."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from policyctl.diff.differ import BehaviorDiff, CallChange, Change, DiffReport, Outcome
from policyctl.diff.search import Counterexample, SearchCall, SearchResult
from policyctl.reporters.diff.markdown import MAX_CHARS, code, render
from tests.conftest import examples, run_cli


def _cell_code(cell: str) -> list[str]:
    """The inline code contents of a one-row GFM table whose single cell is ``cell``."""
    tokens = MarkdownIt("commonmark").enable("table").parse(f"| h |\n|---|\n| {cell} |\n")
    inline = [t for t in tokens if t.type == "inline" and t.map and t.map[0] == 2]
    assert len(inline) == 1
    return [c.content for c in inline[0].children or [] if c.type == "code_inline"]


@pytest.mark.parametrize("text", [
    "plain_tool", "a|b", "x`y", "a|b`c``d", "``", "`edge`", "run ```sh``` now", "a`b``c```d|e",
])
def test_code_span_holds_the_whole_text(text: str) -> None:
    assert _cell_code(code(text)) == [text]


# B4: the comment must stay under MAX_CHARS whatever the input, and give up the least important
# rows first (a flipped default or a loosening is never the row left out).

def comment_length(text: str) -> int:
    """As GitHub may count: UTF-16 code units (never fewer than characters)."""
    return len(text.encode("utf-16-le")) // 2


DENY = Outcome("deny", "default_deny", "(default deny)")
ALLOW = Outcome("allow", "allowed", None)


def _tables(text: str) -> int:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    return sum(1 for t in tokens if t.type == "table_open")


def test_default_flip_with_4000_tools_in_the_trace_fits_and_keeps_the_flip(tmp_path: Path) -> None:
    old, new = tmp_path / "old.policy.json", tmp_path / "new.policy.json"
    old.write_text(json.dumps({"version": "1", "default": "deny"}), encoding="utf-8")
    new.write_text(json.dumps({"version": "1", "default": "allow"}), encoding="utf-8")
    trace = tmp_path / "calls.jsonl"
    trace.write_text("".join(json.dumps({"ts": 1795514400 + i, "tool": f"tool_{i}", "args": {}}) + "\n"
                             for i in range(4000)), encoding="utf-8")
    r = run_cli("diff", str(old), str(new), "--trace", str(trace), "-f", "markdown")
    assert r.returncode == 1, r.stderr
    assert comment_length(r.stdout) <= MAX_CHARS and len(r.stdout) <= 60_000
    assert "| **loosened** | default-changed | `/default` | `deny` | `allow` |" in r.stdout
    assert "more changes" not in r.stdout
    assert "| **deny->allow** | 4000 |" in r.stdout
    m = re.search(r"… and (\d+) more tools with changed calls, left out to fit a comment", r.stdout)
    assert m and r.stdout.count("| `tool_") - 20 == 4000 - int(m.group(1))  # 20 example rows besides
    assert "</details>" in r.stdout and r.stdout.rstrip().endswith(
        "**FAIL (--fail-on loosened): 1 loosened change, 4000 trace calls deny->allow**")


def _report(changes: list[Change], behavior: BehaviorDiff | None = None, search: SearchResult | None = None,
            old: str = "old.json") -> DiffReport:
    return DiffReport(old, "new.json", tuple(changes), behavior, search)


def test_loosened_rows_come_first_and_survive_thousands_of_neutral_ones() -> None:
    neutral = [Change("on_deny-changed", f"/tools/t{i:05d}/deny_if/0/on_deny", "a" * 60, "b" * 60, "neutral")
               for i in range(3000)]
    loose = [Change("rule-removed", f"/tools/z{i}/deny_if/0", {"conditions": []}, None, "loosened") for i in range(3)]
    flip = Change("default-changed", "/default", "allow", "deny", "tightened")
    text = render(_report(neutral + loose + [flip]))
    assert comment_length(text) <= MAX_CHARS
    rows = [line for line in text.splitlines() if line.startswith("| ") and "/" in line]
    assert rows[0].startswith("| tightened | default-changed | `/default` |")
    assert [r.split(" | ")[1] for r in rows[1:4]] == ["rule-removed"] * 3
    m = re.search(r"… and (\d+) more changes, left out to fit a comment", text)
    assert m and len(rows) - 4 == 3000 - int(m.group(1))


def test_hostile_lengths_everywhere_stay_bounded() -> None:
    long_tool = "t" * 20_000
    wide = "🙂" * 5_000  # outside the BMP: two UTF-16 units each
    changes = [Change("tool-added", f"/tools/{wide}{i}", None, {}, "loosened") for i in range(50)]
    examples = tuple(CallChange(i, long_tool + str(i), None, None, {f"k{j}" * 50: 1 for j in range(40)}, DENY, ALLOW)
                     for i in range(20))
    behavior = BehaviorDiff(5000, 5000, {"allow->deny": 0, "deny->allow": 5000, "deny->deny": 0},
                            {f"{long_tool}{i}": 1 for i in range(2000)}, examples)
    calls = tuple(SearchCall(0, long_tool, {"a": "x" * 10_000}) for _ in range(40))
    ce = Counterexample("loosened", calls, (DENY,) * 40, (ALLOW,) * 40)
    search = SearchResult(0, 10.0, 500, False, (ce,), tuple(f"/tools/{long_tool}/require/{i}/conditions/0"
                                                            for i in range(9)))
    text = render(_report(changes, behavior, search, old="p/" * 10_000))
    assert comment_length(text) <= MAX_CHARS
    assert _tables(text) >= 2  # the change table and the transitions at least
    assert "| **deny->allow** | 5000 |" in text
    assert text.rstrip().endswith("**FAIL (--fail-on loosened): 50 loosened changes, 5000 trace calls deny->allow, "
                                  "a loosening counterexample**")


@settings(max_examples=examples(40), deadline=None)
@given(st.integers(0, 400), st.integers(0, 3000), st.integers(0, 3000), st.integers(1, 300))
def test_any_size_fits_and_loosenings_go_last(n_loose: int, n_other: int, n_tools: int, width: int) -> None:
    changes = [Change("limit-changed", f"/tools/{'n' * width}{i}/limits/0", {"counter": "c", "window": "minute", "max": 1},
                      {"counter": "c", "window": "minute", "max": 2}, "tightened") for i in range(n_other)]
    changes += [Change("condition-changed", f"/tools/{'l' * width}{i}/require/0/conditions/0",
                       {"path": "args.a", "op": "eq", "value": True}, {"path": "args.a", "op": "eq", "value": 1},
                       "unknown") for i in range(n_loose)]
    behavior = BehaviorDiff(n_tools, n_tools, {"allow->deny": 0, "deny->allow": n_tools, "deny->deny": 0},
                            {f"{'x' * width}{i}": 1 for i in range(n_tools)}, ())
    text = render(_report(changes, behavior))
    assert comment_length(text) <= MAX_CHARS
    shown = [line for line in text.splitlines() if line.startswith(("| tightened |", "| **unknown** |"))]
    first_tight = next((i for i, line in enumerate(shown) if line.startswith("| tightened")), len(shown))
    assert all(line.startswith("| **unknown**") for line in shown[:first_tight])
    if first_tight < n_loose:  # an unknown change left out: nothing less important is shown
        assert first_tight == len(shown)
        assert n_tools == 0 or f"… and {n_tools} more tools" in text


def test_a_burst_is_folded_only_when_the_arguments_are_the_same_json() -> None:
    from policyctl.reporters.diff.text import call_runs

    calls = (SearchCall(0, "t", {"force": True}), SearchCall(0, "t", {"force": 1}), SearchCall(0, "t", {"force": 1}))
    ce = Counterexample("neutral", calls, (DENY,) * 3, (DENY,) * 3)
    assert [(first, last, rec["args"]) for first, last, rec, _, _ in call_runs(ce)] == [
        (1, 1, {"force": True}), (2, 3, {"force": 1})]
