"""A number that JSON consumers cannot represent.

PolicyLayer's gateway and engine are Go programs that decode numbers as 64-bit floats. YAML's
`.nan` and `.inf` have no JSON form at all (in a JSON file, `NaN` and `Infinity` are not JSON and
are a PL001 syntax error instead), a float literal beyond about 1.8e308 overflows, and an integer beyond ±2^53 (9007199254740992) is
silently rounded, so `max: 9007199254740993` would not mean what it says. The semantic rules
(PL1xx and up) do not run on a file with such a number.

Intercept policies are YAML read by Go's yaml.v3, never JSON, so there only the integer beyond
±2^53 is reported (Intercept compares numbers as float64, so it is rounded there too). yaml.v3
reads `.inf`, `-.inf` and `.nan` (and their `.Inf`, `.INF`, `.NaN`, `.NAN` spellings) as float64
infinities and NaN, which Intercept v1.1.0 accepts as numbers and compares as IEEE floats (NaN
compares false); a float literal that overflows (`1e400`) is a string to yaml.v3, which PL501
reports where Intercept needs a number.

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
