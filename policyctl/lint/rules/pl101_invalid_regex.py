"""A `regex` condition that RE2 (Go's regexp) rejects or reads differently from Python.

PolicyLayer's engine is written in Go, whose `regexp` package implements RE2 syntax. A pattern RE2
cannot compile never matches, so a `require` rule using it denies every call and a `deny_if` rule
never fires. policyctl compiles each pattern with Google's RE2 (Perl-style syntax, as Go's `regexp`
reads it) and names the construct when it is Python/PCRE-only: lookahead and
lookbehind, backreferences (`\\1`, `(?P=name)`), possessive quantifiers (`a*+`) and atomic groups
(`(?>…)`), conditionals, inline comments, the verbose/ASCII/locale flags, and escapes such as
`\\Z`, `\\G`, `\\h`. It also reports what RE2 in C++ accepts but Go rejects — `\\C` and a
non-ASCII group name such as `(?P<名>…)` — and `{,n}`, which Python reads as "0 to n repetitions" but
RE2 and Go read as literal text. simulate, explain and diff compile patterns the same way: a
pattern reported here as not compiling never matches there.

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

from policyctl.lint.rules import Context, Finding, walk
from policyctl.lint.rules.regex_syntax import read

CODE = "PL101"
NAME = "invalid-regex"
SEVERITY = "error"


def check(ctx: Context) -> Iterable[Finding]:
    for _ref, _j, cond, at in walk.conditions(ctx.data):
        if cond["op"] != "regex":
            continue
        from policyctl.policy.regex import gateway_error  # only for policies with a regex (start-up)

        pattern = cond["value"]
        shape = read(pattern)
        problem = gateway_error(pattern)  # the same compile as simulate, explain and diff
        if problem is not None and problem.re2_error is not None:
            msg = f"regex {walk.show(pattern)} does not compile with RE2 (Go's regexp): {problem.re2_error}"
            if shape.unsupported:
                msg += f"; {', '.join(shape.unsupported)} is Python/PCRE-only syntax"
            msg += "; a pattern that does not compile never matches"
            yield Finding(msg, at + "/value")
            continue
        for what in problem.go_rejects if problem is not None else ():
            yield Finding(f"regex {walk.show(pattern)} uses {what}, which RE2 in C++ accepts but "
                          "Go's regexp rejects; the gateway cannot compile it", at + "/value")
        for what in shape.differs:
            yield Finding(f"regex {walk.show(pattern)} contains {what}; write {{0,n}} for a "
                          "repetition", at + "/value")
