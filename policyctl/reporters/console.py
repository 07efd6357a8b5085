"""Rich consoles configured the same way for every command.

Payloads are rendered with the colour the command decided for the stream they will be written to
(``cli.common.colour_for``); the stderr console follows rich's own rules for stderr.
``POLICYCTL_WIDTH`` pins the width, which the golden tests use.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def _width() -> int | None:
    raw = os.environ.get("POLICYCTL_WIDTH")
    if raw and raw.isdigit():
        return max(40, int(raw))
    return None


def stderr_console() -> "Console":
    from rich.console import Console

    return Console(file=sys.stderr, width=_width(), highlight=False, soft_wrap=False)


def render(draw, *, color: bool = False) -> str:  # draw: Callable[[Console], None]
    """Render with rich into a string for stdout or --output; ANSI colour only when ``color``."""
    from rich.console import Console

    buf = io.StringIO()
    width = _width() or (None if color else 100)
    console = Console(
        file=buf,
        width=width,
        force_terminal=bool(color),
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=False,
        emoji=False,
    )
    draw(console)
    return buf.getvalue()


def escape(text: object) -> str:
    """Escape user text (policy content is full of ``[...]``) before rich markup sees it."""
    from rich.markup import escape as _escape

    return _escape(str(text))
