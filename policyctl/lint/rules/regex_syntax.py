"""A light reading of regex source text: constructs RE2/Go lack, and how a pattern is anchored.

Not a regex parser: it walks the pattern once, skipping escapes and character classes, which is
enough to name Python/PCRE-only syntax in a message and to see whether ``^…$`` really anchors the
whole pattern (a top-level ``|`` splits the anchors: ``^a|b$`` is ``^a`` or ``b$``). An anchor
counts only at the top level and only when it must match: ``^?``, ``^*``, ``^{0,3}`` or ``(^)?``
anchor nothing, so ``^?(npm test)$`` is a search for ``npm test`` at the end of any text.
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
            i = _class_end(pattern, i)
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
    atoms = _top_level_atoms(pattern)
    return RegexShape(
        unsupported=tuple(dict.fromkeys(unsupported)),
        differs=tuple(dict.fromkeys(differs)),
        starts_anchored=_anchored(atoms, ("^", "\\A")),
        ends_anchored=_anchored(atoms[::-1], ("$", "\\z")),
        top_level_alternation=top_alt,
        multiline=multiline,
    )


@dataclass(frozen=True)
class _Atom:
    """One top-level item of a pattern: its text and the least number of times it must match."""

    text: str  # "^", "\\A", "$", "\\z", "|", "(?i)", or any other atom (a group is one atom)
    min_count: int  # product of its quantifiers' minimums (1 without a quantifier)


def _top_level_atoms(pattern: str) -> list[_Atom]:
    """The pattern's top-level atoms with their quantifiers, in order; groups are not entered.

    Anchors are only recognised at the top level: an anchor inside a group (``(^)``, ``(?:$|x)``)
    counts as "something else", which makes PL201 report the pattern rather than trust it.
    """
    atoms: list[_Atom] = []
    n = len(pattern)
    i = 0
    while i < n:
        start = i
        c = pattern[i]
        if c == "\\":
            if pattern.startswith("\\Q", i):  # literal up to \E (or the end)
                end = pattern.find("\\E", i + 2)
                i = n if end == -1 else end + 2
                atoms.append(_Atom("\\Q", 1))
                continue
            i += 2
        elif c == "[":
            i = _class_end(pattern, i)
        elif c == "(":
            i = _group_end(pattern, i)
        else:
            i += 1
        text = pattern[start:i]
        if text == "|":
            atoms.append(_Atom(text, 1))
            continue
        if text.startswith("(?") and _is_flags(text[2:-1]) and text.endswith(")"):
            atoms.append(_Atom("(?flags)", 1))
            continue
        min_count, i = _quantifiers(pattern, i)
        atoms.append(_Atom(text, min_count))
    return atoms


def _is_flags(body: str) -> bool:
    return all(ch.isalpha() or ch == "-" for ch in body)


def _class_end(pattern: str, i: int) -> int:
    """Index just past the character class opening at ``i`` (never past the end)."""
    from policyctl.policy.regex import class_end

    return min(len(pattern), class_end(pattern, i))


def _group_end(pattern: str, i: int) -> int:
    """Index just past the group opening at ``i`` (the end of the pattern when it is unclosed)."""
    n = len(pattern)
    depth = 0
    j = i
    while j < n:
        c = pattern[j]
        if c == "\\":
            if pattern.startswith("\\Q", j):
                end = pattern.find("\\E", j + 2)
                j = n if end == -1 else end + 2
                continue
            j += 2
            continue
        if c == "[":
            j = _class_end(pattern, j)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return n


def _quantifiers(pattern: str, i: int) -> tuple[int, int]:
    """The least repetition count of the quantifiers at ``i`` (1 if none) and the index after them.

    ``*``, ``?`` and ``{0}``/``{0,}``/``{0,n}`` allow zero; ``+`` and ``{m…}`` with m ≥ 1 do not; a lazy
    ``?`` after a quantifier changes nothing. ``{,n}`` or ``{x}`` are literals in RE2/Go, not
    quantifiers. A chain (``^?+``, invalid anyway) multiplies.
    """
    n = len(pattern)
    least = 1
    while i < n:
        c = pattern[i]
        if c in "*?":
            least, i = 0, i + 1
        elif c == "+":
            i += 1
        elif c == "{":
            j = i + 1
            while j < n and pattern[j].isdigit():
                j += 1
            if j == i + 1 or j >= n:
                break
            low = int(pattern[i + 1:j])
            if pattern[j] == ",":
                j += 1
                while j < n and pattern[j].isdigit():
                    j += 1
            if j >= n or pattern[j] != "}":
                break
            least, i = least * low, j + 1
        else:
            break
        if i < n and pattern[i] == "?":  # lazy
            i += 1
    return least, i


def _anchored(atoms: list[_Atom], anchors: tuple[str, ...]) -> bool:
    """True when an anchor in ``anchors`` must match before any other atom (walking ``atoms``).

    Flag groups such as ``(?i)`` are zero-width and do not move the anchor; an anchor that may
    match zero times (``^?``, ``\\A*``, ``${0}``, ``^{0,3}``) anchors nothing, but a later one still can.
    """
    for atom in atoms:
        if atom.text == "(?flags)":
            continue
        if atom.text not in anchors:
            return False
        if atom.min_count >= 1:
            return True
    return False
