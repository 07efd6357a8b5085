"""Where the ``yaml-language-server`` modeline of an ``init`` policy points, if anywhere.

policyctl publishes no schema on the web, so ``init`` writes no URL of its own: a link must
resolve, and only the user knows a place that serves the schema (``--schema-url``) — or ``init``
writes the schema file itself (``--write-schema``) and links to it by a path relative to the
policy, which is how the YAML language server resolves a modeline path.
"""

from __future__ import annotations

import os
from pathlib import Path

from policyctl.errors import UsageError
from policyctl.files import is_stdout


def _check(link: str, flag: str, *, fragment_ok: bool) -> str:
    """A link the modeline can carry: editors take ``$schema=`` up to the first blank, and a
    control character would end the comment line and start YAML of its own."""
    if not link:
        raise UsageError(f"{flag}: the link is empty")
    for ch in link:
        if ch.isspace() or not ch.isprintable():
            raise UsageError(f"{flag} {link!r}: a schema link cannot contain blanks or control characters "
                             "(editors end the link at the first blank); write a space as %20")
    if not fragment_ok and "#" in link:
        raise UsageError(f"{flag} {link!r}: a schema path cannot contain '#' (editors read what follows "
                         "as a fragment)")
    return link


def user_link(url: str) -> str:
    """``--schema-url``: the user's URL (or path), checked to fit on the modeline."""
    return _check(url, "--schema-url", fragment_ok=True)


def relative_link(schema_path: str, output: str | None) -> str:
    """``--write-schema``: the path of ``schema_path`` relative to the folder of ``output`` (the
    current folder when the policy goes to stdout), with ``/`` separators."""
    base = os.getcwd() if is_stdout(output) else os.path.dirname(os.path.abspath(str(output)))
    target = os.path.abspath(schema_path)
    try:
        link = Path(os.path.relpath(target, base)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        link = Path(target).as_uri()
    return _check(link, "--write-schema", fragment_ok=False)
