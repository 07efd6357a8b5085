"""A `regex` condition that RE2 (Go's regexp) rejects or reads differently from Python.

PolicyLayer's engine is written in Go, whose `regexp` package implements RE2 syntax. A pattern RE2
cannot compile never matches, so a `require` rule using it denies every call and a `deny_if` rule
never fires. policyctl compiles each pattern with Google's RE2 (default options, the same syntax
as Go's Perl-style flags) and names the construct when it is Python/PCRE-only: lookahead and
lookbehind, backreferences (`\\1`, `(?P=name)`), possessive quantifiers (`a*+`) and atomic groups
(`(?>…)`), conditionals, inline comments, the verbose/ASCII/locale flags, and escapes such as
`\\Z`, `\\G`, `\\h`. It also reports `\\C`, which RE2 in C++ accepts but Go rejects, and `{,n}`,
which Python reads as "0 to n repetitions" but RE2 and Go read as literal text.

Failing example:

    version: "1"
    default: deny
    tools:
      fetch:
        require:
          - conditions:
              - {path: args.url, op: regex, value: "^https://(?!internal\\\\.)[a-z.]+/.*$"}
            on_deny: Only public hosts.

Passing example:

    version: "1"
    default: deny
    tools:
      fetch:
        require:
          - conditions:
              - {path: args.url, op: regex, value: "^https://(api|docs)\\\\.example\\\\.com/[^ ]*$"}
            on_deny: Only the example.com API and docs.
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules import walk
from policyctl.lint.rules.regex_syntax import read

CODE = "PL101"
NAME = "invalid-regex"
SEVERITY = "error"


def re2_error(pattern: str) -> str | None:
    """RE2's reason for rejecting ``pattern`` (None when it compiles)."""
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print to stderr; the message goes into the diagnostic
    try:
        re2.compile(pattern, options)
    except Exception as exc:  # noqa: BLE001 - re2.error, or an encoding error for lone surrogates
        msg = exc.args[0] if exc.args else str(exc)
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "replace")
        return str(msg)
    return None


def check(ctx: Context) -> Iterable[Finding]:
    for _ref, _j, cond, at in walk.conditions(ctx.data):
        if cond["op"] != "regex":
            continue
        pattern = cond["value"]
        shape = read(pattern)
        error = re2_error(pattern)
        if error is not None:
            msg = f"regex {walk.show(pattern)} does not compile with RE2 (Go's regexp): {error}"
            if shape.unsupported:
                msg += f"; {', '.join(shape.unsupported)} is Python/PCRE-only syntax"
            msg += "; a pattern that does not compile never matches"
            yield Finding(msg, at + "/value")
            continue
        for what in shape.go_rejects:
            yield Finding(f"regex {walk.show(pattern)} uses {what}, which RE2 in C++ accepts but "
                          "Go's regexp rejects; the gateway cannot compile it", at + "/value")
        for what in shape.differs:
            yield Finding(f"regex {walk.show(pattern)} contains {what}; write {{0,n}} for a "
                          "repetition", at + "/value")
