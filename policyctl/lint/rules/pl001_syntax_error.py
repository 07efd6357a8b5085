"""The file cannot be read as a policy document.

Reported by the loader, before any other rule: text that is not valid JSON or YAML, a file that is
not UTF-8 or starts with a byte order mark, a UTF-16 or UTF-32 file (named as such, with or
without a byte order mark), `NaN`, `Infinity` or `-Infinity` in a JSON file (not
JSON under RFC 8259; Go's `encoding/json`, which the gateways use, rejects the whole document), nesting deeper than 64 levels, more than 200,000
values (YAML aliases expanded, so an alias bomb fails fast), a file over 4 MiB, YAML tags other
than the core schema's (`!!python/object`, custom `!tags`), several YAML documents in one file, or
a mapping key that is not a scalar. The diagnostic has a line and column but no pointer. The
message is policyctl's own, whatever parser release is installed; for YAML it adds the parser's
own description of the problem. Other
rules do not run on such a file.

Failing example:

    version: "1"
    default: deny
    tools: [

Passing example:

    version: "1"
    default: deny
    tools: {}
"""

CODE = "PL001"
NAME = "syntax-error"
SEVERITY = "error"
check = None
