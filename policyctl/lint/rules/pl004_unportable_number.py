"""A number that JSON consumers cannot represent.

PolicyLayer's gateway and engine are Go programs that decode numbers as 64-bit floats. YAML's
`.nan` and `.inf` have no JSON form at all (in a JSON file, `NaN` and `Infinity` are not JSON and
are a PL001 syntax error instead), a float literal beyond about 1.8e308 overflows, and an integer beyond ±2^53 (9007199254740992) is
silently rounded, so `max: 9007199254740993` would not mean what it says. The semantic rules
(PL1xx and up) do not run on a file with such a number.

Failing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        deny_if:
          - conditions: [{path: args.amount, op: gt, value: .inf}]

Passing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        deny_if:
          - conditions: [{path: args.amount, op: gt, value: 1000000}]
"""

CODE = "PL004"
NAME = "unportable-number"
SEVERITY = "error"
check = None
