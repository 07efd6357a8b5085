"""A light reading of regex source text: constructs RE2/Go lack, and how a pattern is anchored.

Not a regex parser: it walks the pattern once, skipping escapes and character classes, which is
enough to name Python/PCRE-only syntax in a message and to see whether ``^…$`` really anchors the
whole pattern (a top-level ``|`` splits the anchors: ``^a|b$`` is ``^a`` or ``b$``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Group openers RE2 and Go reject, with what they are.
_GROUP_OPENERS: tuple[tuple[str, str], ...] = (
    ("(?<=", "a lookbehind (?<=…)"),
    ("(?<!", "a negative lookbehind (?<!…)"),
    ("(?=", "a lookahead (?=…)"),
    ("(?!", "a negative lookahead (?!…)"),
    ("(?>", "an atomic group (?>…)"),
    ("(?P=", "a named backreference (?P=name)"),
    ("(?P>", "a recursive pattern call (?P>name)"),
    ("(?(", "a conditional group (?(…)…)"),
    ("(?#", "an inline comment (?#…)"),
    ("(?R)", "a recursive pattern (?R)"),
)
_FLAG_NAMES = {"x": "the verbose flag (?x)", "a": "the ASCII flag (?a)", "L": "the locale flag (?L)",
               "u": "the unicode flag (?u)"}
_ESCAPES = {"Z": "\\Z (end of text before a final newline)", "G": "\\G", "h": "\\h", "e": "\\e",
            "K": "\\K", "R": "\\R", "X": "\\X"}


@dataclass(frozen=True)
class RegexShape:
    """What :func:`read` learned about a pattern."""

    unsupported: tuple[str, ...]  # Python/PCRE-only constructs, described
    differs: tuple[str, ...]  # valid in RE2/Go but meaning something else in Python
    starts_anchored: bool  # begins with ^ or \A (outside any group)
    ends_anchored: bool  # ends with $ or \z
    top_level_alternation: bool  # a | outside every group
    multiline: bool  # (?m) or (?s…m…) flag set: ^ and $ match at line breaks


def read(pattern: str) -> RegexShape:
    unsupported: list[str] = []
    differs: list[str] = []
    depth = 0
    top_alt = False
    multiline = False
    n = len(pattern)
    i = 0
    last_token_end = 0
    last_token = ""
    while i < n:
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1] if i + 1 < n else ""
            if nxt.isdigit() and nxt != "0":
                unsupported.append(f"a backreference \\{nxt}")
            elif nxt in _ESCAPES:
                unsupported.append(_ESCAPES[nxt])
            elif nxt == "Q":  # \Q…\E quotes literally: skip to \E
                end = pattern.find("\\E", i + 2)
                i = n if end == -1 else end + 2
                last_token, last_token_end = "literal", i
                continue
            last_token, last_token_end = "\\" + nxt, i + 2
            i += 2
            continue
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                if pattern[j] == "\\":
                    j += 1
                elif pattern.startswith("[:", j):
                    close = pattern.find(":]", j + 2)
                    if close != -1:
                        j = close + 1
                j += 1
            i = j + 1
            last_token, last_token_end = "class", i
            continue
        if c == "(":
            for opener, what in _GROUP_OPENERS:
                if pattern.startswith(opener, i):
                    unsupported.append(what)
                    break
            else:
                if pattern.startswith("(?", i) and not pattern.startswith(("(?P<", "(?<", "(?:"), i):
                    # inline flags: (?flags) or (?flags:…)
                    j = i + 2
                    while j < n and (pattern[j].isalpha() or pattern[j] == "-"):
                        j += 1
                    flags = pattern[i + 2:j]
                    on = flags.split("-", 1)[0]
                    for f in flags:
                        if f in _FLAG_NAMES:
                            unsupported.append(_FLAG_NAMES[f])
                    if "m" in on:
                        multiline = True
            depth += 1
            last_token, last_token_end = "(", i + 1
            i += 1
            continue
        if c == ")":
            depth = max(0, depth - 1)
            last_token, last_token_end = ")", i + 1
            i += 1
            continue
        if c == "|" and depth == 0:
            top_alt = True
        if c in "*+?}" and i + 1 < n and pattern[i + 1] == "+" and last_token not in ("", "(", "|"):
            unsupported.append(f"a possessive quantifier {c}+")
        if c == "{" and pattern.startswith("{,", i):
            j = i + 2
            while j < n and pattern[j].isdigit():
                j += 1
            if j > i + 2 and j < n and pattern[j] == "}":
                differs.append(f"{pattern[i:j + 1]} (a literal in RE2/Go; \"0 to {pattern[i + 2:j]} "
                               "repetitions\" in Python)")
        last_token, last_token_end = c, i + 1
        i += 1
    del last_token_end
    stripped_end = pattern
    ends = stripped_end.endswith("$") and not _escaped(stripped_end, len(stripped_end) - 1)
    ends = ends or (stripped_end.endswith("\\z") and not _escaped(stripped_end, len(stripped_end) - 2))
    return RegexShape(
        unsupported=tuple(dict.fromkeys(unsupported)),
        differs=tuple(dict.fromkeys(differs)),
        starts_anchored=_starts_anchored(pattern),
        ends_anchored=ends,
        top_level_alternation=top_alt,
        multiline=multiline,
    )


def _escaped(pattern: str, index: int) -> bool:
    """True when the character at ``index`` is escaped by an odd run of backslashes."""
    k = index - 1
    count = 0
    while k >= 0 and pattern[k] == "\\":
        count += 1
        k -= 1
    return count % 2 == 1


def _starts_anchored(pattern: str) -> bool:
    p = pattern
    # leading flag groups such as (?i) do not move the anchor
    while p.startswith("(?") and ")" in p and ":" not in p[: p.index(")")] and \
            all(ch.isalpha() or ch == "-" for ch in p[2: p.index(")")]):
        p = p[p.index(")") + 1:]
    return p.startswith("^") or p.startswith("\\A")
