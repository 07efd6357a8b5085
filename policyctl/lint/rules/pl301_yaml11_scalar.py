"""An unquoted YAML scalar that a YAML 1.1 reader reads differently.

policyctl reads YAML with the YAML 1.2 core schema, as PolicyLayer's Go engine does: only
`true`/`false` are booleans and `1e6` is a number. Many other tools (PyYAML, older YAML
libraries, some editors and converters) follow YAML 1.1, where `yes`, `no`, `on`, `off`, `y`, `n`
are booleans, `0777` is octal, `1_000` and `1:30` are integers, `2024-01-01` is a date and `1e6`
is a string. The classic victim is Norway: `country: NO`. Quote such values so every reader agrees.

Failing example:

    version: "1"
    default: deny
    tools:
      create_shipment:
        deny_if:
          - conditions:
              - {path: args.country, op: eq, value: NO}
            on_deny: No shipments to Norway.

Passing example:

    version: "1"
    default: deny
    tools:
      create_shipment:
        deny_if:
          - conditions:
              - {path: args.country, op: eq, value: "NO"}
            on_deny: No shipments to Norway.
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding

CODE = "PL301"
NAME = "yaml11-scalar"
SEVERITY = "warning"


def check(ctx: Context) -> Iterable[Finding]:
    for item in ctx.document.yaml11:
        what = "key" if item.key else "value"
        yield Finding(f"unquoted {what} {item.text} is {item.yaml12} here (YAML 1.2) but "
                      f"{item.yaml11} for YAML 1.1 readers; quote it", item.pointer, key=item.key)
