"""Loading JSON and YAML policies with positions, and every hostile input as a diagnostic."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from policyctl.documents.loader import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_NODES,
    detect_format,
    go_number,
    load_document,
    load_text,
    resolve_plain_yaml12,
)

JSON_POLICY = """{
  "version": "1",
  "default": "deny",
  "tools": {
    "a/b~c": {"limits": [{"counter": "x", "window": "minute", "max": 3, "scope": "grant"}]}
  }
}
"""

YAML_POLICY = """version: "1"
default: deny
tools:
  a/b~c:
    limits:
      - counter: x
        window: minute
        max: 3
        scope: grant
"""


def codes(result):
    return [(d.code, d.line, d.column, d.pointer) for d in result.diagnostics]


def test_json_positions_values_and_keys():
    r = load_text(JSON_POLICY, "p.policy.json")
    assert r.ok
    doc = r.document
    assert doc.format == "json"
    assert doc.data["tools"]["a/b~c"]["limits"][0]["max"] == 3
    assert doc.position("") == (1, 1)
    assert doc.position("/version") == (2, 14)
    assert doc.position("/version", key=True) == (2, 3)
    assert doc.position("/tools/a~1b~0c") == (5, 14)
    assert doc.position("/tools/a~1b~0c", key=True) == (5, 5)
    assert doc.position("/tools/a~1b~0c/limits/0") == (5, 26)
    assert doc.position("/tools/a~1b~0c/limits/0/max") == (5, 70)
    # a pointer that does not exist falls back to its nearest ancestor
    assert doc.position("/tools/a~1b~0c/limits/0/nope/deeper") == (5, 26)
    assert doc.position(None) == (1, 1)


def test_yaml_positions_values_and_keys():
    r = load_text(YAML_POLICY, "p.policy.yaml")
    assert r.ok
    doc = r.document
    assert doc.format == "yaml"
    assert doc.data == load_text(JSON_POLICY, "p.policy.json").document.data
    assert doc.position("/version") == (1, 10)
    assert doc.position("/default", key=True) == (2, 1)
    assert doc.position("/tools/a~1b~0c", key=True) == (4, 3)
    assert doc.position("/tools/a~1b~0c/limits/0") == (6, 9)
    assert doc.position("/tools/a~1b~0c/limits/0/max") == (8, 14)
    assert doc.position("/tools/a~1b~0c/limits/0/max", key=True) == (8, 9)


def test_unicode_columns_count_characters():
    j = load_text('{"é": "ü", "b": 1}', "x.json").document
    y = load_text('{"é": "ü", "b": 1}', "x.yaml").document
    assert j.position("/b") == y.position("/b") == (1, 17)


def test_json_syntax_error_has_line_and_column_and_no_pointer():
    r = load_text('{"version": "1",\n  "default": }\n', "p.json")
    assert r.document is None
    assert codes(r) == [("PL001", 2, 14, None)]
    assert r.diagnostics[0].message.startswith("invalid JSON: ")
    assert r.diagnostics[0].rule == "syntax-error"


def test_yaml_syntax_error():
    r = load_text("a: [1, 2\nb: 3\n", "p.yaml")
    assert r.document is None
    (d,) = r.diagnostics
    assert (d.code, d.pointer, d.line) == ("PL001", None, 2)
    assert "invalid YAML" in d.message


@pytest.mark.parametrize("text,name", [
    ('{"a": 1,\n "b": 2,\n "a": 3}', "p.json"),
    ("a: 1\nb: 2\na: 3\n", "p.yaml"),
])
def test_duplicate_keys(text, name):
    r = load_text(text, name)
    assert codes(r) == [("PL003", 3, 2 if name.endswith("json") else 1, "/a")]
    assert 'duplicate key "a" (first defined at line 1)' in r.diagnostics[0].message
    assert r.document.data["a"] == 3  # last one wins, as most readers do


def test_duplicate_keys_nested_json():
    r = load_text('{"t": {"x": {"c": 1, "c": 1}}, "u": [{"k": 1, "k": 2}]}', "p.json")
    assert [d.pointer for d in r.diagnostics] == ["/t/x/c", "/u/0/k"]


def test_bom_is_a_diagnostic():
    r = load_document(b"\xef\xbb\xbf" + JSON_POLICY.encode(), "p.json")
    assert r.document is None
    assert codes(r) == [("PL001", 1, 1, None)]
    assert "byte order mark" in r.diagnostics[0].message


def test_utf16_is_a_diagnostic():
    r = load_document(JSON_POLICY.encode("utf-16"), "p.json")
    assert codes(r) == [("PL001", 1, 1, None)]
    assert "UTF-16" in r.diagnostics[0].message


@pytest.mark.parametrize("encoding,message", [
    ("utf-16", "file is UTF-16 (byte order mark found); policies must be UTF-8"),
    ("utf-16-le", "file is UTF-16 (little-endian, without a byte order mark); policies must be UTF-8"),
    ("utf-16-be", "file is UTF-16 (big-endian, without a byte order mark); policies must be UTF-8"),
    ("utf-32", "file is UTF-32 (byte order mark found); policies must be UTF-8"),
    ("utf-32-le", "file is UTF-32 (little-endian, without a byte order mark); policies must be UTF-8"),
    ("utf-32-be", "file is UTF-32 (big-endian, without a byte order mark); policies must be UTF-8"),
])
@pytest.mark.parametrize("name,text", [("p.json", JSON_POLICY), ("p.yaml", 'version: "1"\ndefault: deny\n'),
                                       ("p.json", "{}"), ("p.yaml", "é: x\n")])
def test_wide_encodings_are_named_with_or_without_a_bom(encoding, message, name, text):
    # B3: UTF-16 without a BOM used to be "invalid JSON: Expecting property name …" at 1:2
    r = load_document(text.encode(encoding), name)
    assert r.document is None
    assert [(d.code, d.line, d.column, d.pointer, d.message) for d in r.diagnostics] == [
        ("PL001", 1, 1, None, message)]


@pytest.mark.parametrize("raw", [b"{}", b"\xc3\xa9: x\n", b"a", b"#\n"])
def test_utf8_is_not_mistaken_for_a_wide_encoding(raw):
    assert not any(d.message.startswith("file is UTF") for d in load_document(raw, "p.yaml").diagnostics)


def test_not_utf8_names_line_and_column():
    r = load_document(b'{"version": "1",\n "x": "ab\xff"}', "p.yaml")
    assert codes(r) == [("PL001", 2, 10, None)]
    assert "not valid UTF-8: byte 0xff" in r.diagnostics[0].message


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_syntax_errors(literal):
    # Not JSON (RFC 8259); Go's encoding/json rejects the whole document, so PL001 without a pointer.
    r = load_text('{"a": "NaN Infinity",\n "value": %s}' % literal, "p.json")
    assert r.document is None
    assert codes(r) == [("PL001", 2, 11, None)]
    assert r.diagnostics[0].message.startswith(f"{literal} is not JSON")


def test_json_syntax_messages_are_policyctls_own():
    # The wording comes from policyctl's table, whatever the Python release says.
    cases = {
        '{"a": 1 "b": 2}': ("invalid JSON: expected ',' or a closing bracket", 1, 9),
        '{"a" 1}': ("invalid JSON: expected ':' after the property name", 1, 6),
        '{"a": }': ("invalid JSON: expected a value (string, number, object, array, true, false or null)", 1, 7),
        '{"a": "x': ("invalid JSON: a string that is never closed", 1, 7),
        '{"a": 1} x': ("invalid JSON: more text after the JSON value", 1, 10),
    }
    for text, (message, line, column) in cases.items():
        (d,) = load_text(text, "p.json").diagnostics
        assert (d.code, d.message, d.line, d.column, d.pointer) == ("PL001", message, line, column, None), text


@pytest.mark.parametrize("text", [".nan", ".inf", "-.Inf"])
def test_yaml_nan_and_infinity(text):
    r = load_text(f"value: {text}\n", "p.yaml")
    assert codes(r) == [("PL004", 1, 8, "/value")]


@pytest.mark.parametrize("number,flagged", [
    ("9007199254740992", False), ("-9007199254740992", False),
    ("9007199254740993", True), ("-9007199254740993", True), ("1" * 5000, True),
    ("1e308", False), ("1e309", True), ("12345678901234567890.5", False),
])
def test_large_numbers(number, flagged):
    for text, name in ((f'{{"max": {number}}}', "p.json"), (f"max: {number}\n", "p.yaml")):
        r = load_text(text, name)
        assert [d.code for d in r.diagnostics] == (["PL004"] if flagged else []), (name, number)
        assert r.document is not None


@pytest.mark.parametrize("name", ["p.json", "p.yaml"])
def test_absurd_nesting(name):
    depth = 200_000
    r = load_text("[" * depth + "]" * depth, name)
    assert r.document is None
    (d,) = r.diagnostics
    assert d.code == "PL001" and f"nesting deeper than {MAX_DEPTH} levels" in d.message
    assert (d.line, d.column) == (1, MAX_DEPTH + 1)


@pytest.mark.parametrize("name", ["p.json", "p.yaml"])
def test_depth_just_inside_the_bound_loads(name):
    r = load_text("[" * MAX_DEPTH + "]" * MAX_DEPTH, name)
    assert r.ok


def test_block_yaml_nesting_bound():
    text = "".join(" " * i + "k:\n" for i in range(MAX_DEPTH + 5))
    r = load_text(text, "p.yaml")
    assert r.document is None and "nesting deeper" in r.diagnostics[0].message


def test_billion_laughs_fails_fast():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    start = time.perf_counter()
    r = load_text("\n".join(lines) + "\n", "bomb.yaml")
    assert time.perf_counter() - start < 1.0
    assert r.document is None
    (d,) = r.diagnostics
    assert d.code == "PL001" and f"more than {MAX_NODES} values" in d.message
    assert "alias" in d.message


def test_small_aliases_are_fine_and_positions_fall_back_to_the_alias():
    r = load_text("base: &b {counter: c, window: hour, max: 1, scope: grant}\nother: *b\n", "p.yaml")
    assert r.ok
    assert r.document.data["other"] == r.document.data["base"]
    assert r.document.position("/other/max") == (2, 8)


def test_recursive_alias():
    r = load_text("a: &a [1, *a]\n", "p.yaml")
    assert r.document is None and "alias" in r.diagnostics[0].message


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system ['true']\n",
    "a: !!python/name:os.system\n",
    "a: !custom 1\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!timestamp 2001-01-01\n",
    "a: !!set {x: null}\n",
    "!!python/object:collections.OrderedDict {}\n",
])
def test_object_building_tags_are_rejected(text):
    r = load_text(text, "p.yaml")
    assert r.document is None
    (d,) = r.diagnostics
    assert d.code == "PL001" and "is not allowed" in d.message


def test_core_tags_are_accepted():
    r = load_text('a: !!str 10\nb: !!int "7"\nc: !!float 1\nd: !!bool true\ne: !!null ""\n'
                  "f: !!map {x: 1}\ng: !!seq [1]\n", "p.yaml")
    assert r.ok, r.diagnostics
    assert r.document.data == {"a": "10", "b": 7, "c": 1.0, "d": True, "e": None,
                               "f": {"x": 1}, "g": [1]}


def test_bad_core_tag_value():
    r = load_text('b: !!int "seven"\n', "p.yaml")
    assert r.document is None and "not a valid !!int" in r.diagnostics[0].message


def test_yaml_12_core_scalars():
    r = load_text("a: yes\nb: no\nc: on\nd: off\ne: true\nf: False\ng: 1e6\nh: null\ni: ~\nj:\n"
                  "k: 0x1F\nl: 0o17\nm: 012\nn: 1_000\no: '1e6'\np: 2001-01-01\nq: 1.5\n", "p.yaml")
    assert r.ok
    assert r.document.data == {
        "a": "yes", "b": "no", "c": "on", "d": "off", "e": True, "f": False, "g": 1e6,
        "h": None, "i": None, "j": None, "k": 31, "l": 15, "m": 12, "n": "1_000", "o": "1e6",
        "p": "2001-01-01", "q": 1.5,
    }


@pytest.mark.parametrize("text,expected", [
    ("true", True), ("FALSE", False), ("Yes", "Yes"), ("NO", "NO"), ("y", "y"),
    ("1e6", 1e6), ("-2.5E-3", -2.5e-3), (".5", 0.5), ("+12", 12), ("", None), ("~", None),
    ("Null", None), ("nULL", "nULL"), ("0b11", "0b11"), ("1:30", "1:30"),
])
def test_resolve_plain_yaml12(text, expected):
    assert resolve_plain_yaml12(text) == expected
    assert type(resolve_plain_yaml12(text)) is type(expected)


def test_yaml11_differences_are_recorded():
    text = ("country: NO\nanswer: yes\nmode: on\nsci: 1e6\noct: 0777\nsexa: 1:30\nday: 2001-01-01\n"
            "bits: 0b101\nplain: hello\nnum: 12\nflt: 1.5\nquoted: 'NO'\ntrue_: true\n"
            "off: 1\nocto: 0o17\nhex: 0x1F\n")
    doc = load_text(text, "p.yaml").document
    got = {(y.pointer, y.key): (y.text, y.yaml12, y.yaml11) for y in doc.yaml11}
    assert got == {
        ("/country", False): ("NO", 'the string "NO"', "the boolean false"),
        ("/octo", False): ("0o17", "the integer 15", 'the string "0o17"'),
        ("/answer", False): ("yes", 'the string "yes"', "the boolean true"),
        ("/mode", False): ("on", 'the string "on"', "the boolean true"),
        ("/sci", False): ("1e6", "the number 1e+06", 'the string "1e6"'),
        ("/oct", False): ("0777", "the integer 777", "the integer 511"),
        ("/sexa", False): ("1:30", 'the string "1:30"', "the integer 90"),
        ("/day", False): ("2001-01-01", 'the string "2001-01-01"', "a date/timestamp"),
        ("/bits", False): ("0b101", 'the string "0b101"', "the integer 5"),
        ("/off", True): ("off", 'the string "off"', "the boolean false"),
    }


def test_json_document_has_no_yaml11_records():
    assert load_text('{"country": "NO"}', "p.json").document.yaml11 == ()


def test_multiple_yaml_documents():
    r = load_text("a: 1\n---\nb: 2\n", "p.yaml")
    assert codes(r) == [("PL001", 2, 1, None)]


def test_non_scalar_key():
    r = load_text("? [1, 2]\n: x\n", "p.yaml")
    assert r.document is None and "mapping keys must be strings" in r.diagnostics[0].message


def test_plain_keys_keep_their_text():
    r = load_text("tools:\n  1e3: {}\n  true: {}\n  007: {}\n", "p.yaml")
    assert list(r.document.data["tools"]) == ["1e3", "true", "007"]


def test_empty_files():
    assert load_text("", "p.yaml", empty_ok=True).document.data is None  # an empty configuration file
    assert load_text("", "p.yaml").diagnostics[0].code == "PL001"
    assert load_text("", "p.json").diagnostics[0].code == "PL001"


def test_huge_file():
    raw = b" " * (MAX_DOCUMENT_BYTES + 1)
    r = load_document(raw, "p.json")
    assert r.document is None and "limited to 4 MiB" in r.diagnostics[0].message


def test_too_many_values_json():
    text = "[" + ",".join(["0"] * (MAX_NODES + 1)) + "]"
    r = load_text(text, "p.json")
    assert r.document is None and f"more than {MAX_NODES} values" in r.diagnostics[0].message


def test_control_character_in_json_string():
    r = load_text('{"a": "x\ty"}', "p.json")
    assert r.diagnostics[0].code == "PL001"


@pytest.mark.parametrize("name,text,expected", [
    ("a.json", "x: 1", "json"), ("a.YAML", "{}", "yaml"), ("a.yml", "{}", "yaml"),
    ("<stdin>", '  {"a": 1}', "json"), ("<stdin>", "a: 1", "yaml"), ("policy", "[1]", "json"),
])
def test_detect_format(name, text, expected):
    assert detect_format(name, text) == expected


def test_json_path_does_not_import_yaml():
    code = ("import sys; from policyctl.documents.loader import load_text; "
            "r = load_text('{\"version\": \"1\"}', 'a.json'); assert r.ok; "
            "print('yaml' in sys.modules, 'pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_empty_and_comment_only_files_say_they_are_empty():
    from policyctl.documents.loader import load_document

    for raw, name in ((b"", "e.policy.yaml"), (b"  \n\n", "e.policy.json"), (b"# only a comment\n\n# more\n", "c.policy.yaml")):
        result = load_document(raw, name)
        assert result.document is None
        assert [(d.code, d.line, d.column, d.pointer) for d in result.diagnostics] == [("PL001", 1, 1, None)]
        assert "the file is empty" in result.diagnostics[0].message


@pytest.mark.parametrize(("value", "shown"), [
    (1e6, "1e+06"), (123456.0, "123456"), (1234567.0, "1.234567e+06"), (1.5, "1.5"), (-2.5e-7, "-2.5e-07"),
    (0.0001, "0.0001"), (0.00001, "1e-05"), (1e21, "1e+21"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (0.0, "0"), (-0.0, "-0"), (float("inf"), "+Inf"), (float("-inf"), "-Inf"), (float("nan"), "NaN"),
    (0.1, "0.1"), (100.0, "100"),
])
def test_numbers_are_written_the_way_go_writes_them(value, shown):
    # PL301 names what a YAML 1.2 (Go) reader sees; Python's repr (1000000.0) is not that
    assert go_number(value) == shown


def test_number_problem_names_each_kind_of_pl004():
    """The Intercept dialect and the policy loader tell PL004's kinds apart through
    ``number_problem``, never through the wording: every kind the loader reports is named."""
    from policyctl.documents.loader import load_document, number_problem

    cases = {
        (b'{"a": 9007199254740993}', "p.json"): "integer",
        (b'{"a": 1e400}', "p.json"): "overflow",
        (b"a: 9007199254740993\n", "p.yaml"): "integer",
        (b"a: 1e400\n", "p.yaml"): "overflow",
        (b"a: .nan\n", "p.yaml"): "nan",
        (b"a: -.inf\n", "p.yaml"): "infinity",
    }
    for (raw, name), kind in cases.items():
        diags = [d for d in load_document(raw, name).diagnostics if d.code == "PL004"]
        assert [number_problem(d) for d in diags] == [kind], (raw, diags)
    assert all(number_problem(d) is None for d in load_document(b'{"a": 1, "a": 2}', "p.json").diagnostics)
