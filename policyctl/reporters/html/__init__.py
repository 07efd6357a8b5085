"""Self-contained HTML pages (``simulate --report``, ``diff --report``): Jinja2 templates, inline SVG.

The pages load nothing: a Content-Security-Policy meta (``default-src 'none'``; inline styles and
``data:`` images only) keeps a browser from fetching anything, and there is no script. Tables read
without any script; charts are SVG written by :mod:`policyctl.reporters.html.svg`.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from policyctl.reporters.lint import printable

__all__ = ["render_page"]


def render_page(template: str, *, marks: tuple[str, ...] = (), **context: Any) -> str:
    """Render ``templates/<template>`` with autoescaping (every value is text unless marked safe);
    ``marks``: the marks the page uses besides the base ones (their fill patterns are added)."""
    import jinja2

    from policyctl import __version__
    from policyctl.reporters.html.svg import defs

    env = jinja2.Environment(loader=jinja2.PackageLoader("policyctl.reporters.html", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, finalize=_printable)
    return env.get_template(template).render(version=__version__, defs=Markup(defs(marks)),
                                             **context)


def _printable(value: Any) -> Any:
    """Every text the templates print, made printable (policy and trace text is hostile: an ANSI
    escape or a bidi override in a tool name must show, not act); markup written by :mod:`svg` is
    already escaped and made printable there."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def safe(text: str) -> Any:
    """Mark SVG written (and escaped) by :mod:`svg` as safe to insert."""
    return Markup(text)
