"""The document does not match the policy JSON Schema.

The published schema (`schemas/policy.schema.json`, draft 2020-12) rejects unknown keys, missing
required keys, wrong types, unknown operators and windows, a `max` below 1, and values whose type
does not fit the operator (a number for `lt`/`lte`/`gt`/`gte`, an array for `in`/`not_in`, a
boolean for `exists`, a string for `regex`). An unknown key is reported at the key, a missing key
at the object that lacks it. Semantic rules (PL1xx and up) run only on schema-valid documents.

Failing example:

    version: "1"
    default: deny
    tools:
      create_charge:
        limts:
          - {counter: charges, window: hour, max: 10, scope: grant}

Passing example:

    version: "1"
    default: deny
    tools:
      create_charge:
        limits:
          - {counter: charges, window: hour, max: 10, scope: grant}
"""

CODE = "PL002"
NAME = "schema-violation"
SEVERITY = "error"
check = None
