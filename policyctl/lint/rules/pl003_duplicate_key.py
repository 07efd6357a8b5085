"""A key appears twice in the same object.

JSON and YAML readers disagree about duplicate keys: most keep the last value, some keep the
first, some refuse the document. The policy a reviewer reads is then not necessarily the policy
the gateway enforces. policyctl keeps the last value (and lints it) but reports the duplicate at
its second occurrence.

Failing example:

    version: "1"
    default: deny
    default: allow

Passing example:

    version: "1"
    default: deny
"""

CODE = "PL003"
NAME = "duplicate-key"
SEVERITY = "error"
check = None
