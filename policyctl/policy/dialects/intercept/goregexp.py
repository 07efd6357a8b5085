"""Go's ``regexp.Compile`` error text for a pattern, as ``intercept validate`` prints it.

Go's regexp parser is a port of RE2's, so both stop at the same construct with the same offending
fragment; only the words differ. Google's RE2 (which policyctl uses) is asked whether the pattern
compiles, and its reason is re-worded the way Go words it: ``error parsing regexp: <what>:
`<fragment>```. ``\\C`` (any byte), which RE2 in C++ accepts and Go rejects, is added by hand.
"""

from __future__ import annotations

# RE2's message prefix → Go's ErrorCode text (regexp/syntax).
_GO_WORDS: tuple[tuple[str, str], ...] = (
    ("missing ]", "missing closing ]"),
    ("missing )", "missing closing )"),
    ("unexpected )", "unexpected )"),
    ("trailing \\", "trailing backslash at end of expression"),
    ("invalid perl operator", "invalid or unsupported Perl syntax"),
    ("bad repetition operator", "invalid nested repetition operator"),
    ("invalid repetition size", "invalid repeat count"),
    ("no argument for repetition operator", "missing argument to repetition operator"),
    ("invalid character class range", "invalid character class range"),
    ("invalid character class", "invalid character class"),
    ("invalid escape sequence", "invalid escape sequence"),
    ("invalid named capture group", "invalid named capture"),
    ("bad named capture group", "invalid named capture"),
    ("duplicate capture group name", "duplicate capture group name"),
    ("invalid UTF-8", "invalid UTF-8"),
    ("pattern too large", "expression too large"),
    ("bad anchor", "invalid or unsupported Perl syntax"),
)


def go_compile_error(pattern: str) -> str | None:
    """``error parsing regexp: …`` as Go's ``regexp.Compile`` reports it, or None if Go compiles it."""
    from policyctl.policy.regex import gateway_error

    error = gateway_error(pattern)
    if error is None:
        return None
    if error.re2_error is None:  # RE2 in C++ accepts it, Go does not
        what = error.go_rejects[0]
        if what.startswith("\\C"):
            return "error parsing regexp: invalid escape sequence: `\\C`"
        start = pattern.find("(?")
        return f"error parsing regexp: invalid named capture: `{pattern[start:pattern.find('>', start) + 1]}`"
    what, sep, fragment = error.re2_error.partition(": ")
    for prefix, words in _GO_WORDS:
        if what.startswith(prefix):
            if prefix == "trailing \\":
                return f"error parsing regexp: {words}: ``"
            return f"error parsing regexp: {words}: `{fragment if sep else ''}`"
    return f"error parsing regexp: {error.re2_error}"
