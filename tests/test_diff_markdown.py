"""Markdown cells: policy text stays one literal code span whatever backticks and pipes it holds."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from policyctl.reporters.diff.markdown import code


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
