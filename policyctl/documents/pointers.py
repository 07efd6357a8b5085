"""JSON Pointers (RFC 6901): the one place that escapes, builds and splits them.

Import-light on purpose: the lint path and the document loader use it.
"""

from __future__ import annotations


def escape_token(token: str) -> str:
    """One reference token escaped: ``~`` → ``~0``, ``/`` → ``~1``."""
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


def unescape_token(token: str) -> str:
    """The inverse of :func:`escape_token`."""
    if "~" in token:
        return token.replace("~1", "/").replace("~0", "~")
    return token


def pointer(*tokens: object) -> str:
    """A pointer built from raw (unescaped) tokens: ``pointer("tools", "a/b", 0)`` → ``/tools/a~1b/0``."""
    return "".join("/" + escape_token(str(t)) for t in tokens)


def split(ptr: str) -> list[str]:
    """The raw tokens of a pointer (``""``, the whole document, has none)."""
    return [unescape_token(t) for t in ptr.split("/")[1:]]
