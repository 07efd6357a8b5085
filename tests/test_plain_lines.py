"""The simulator's one-step reader of the common trace line (policyctl.traces.plain) against orjson:

* whatever line it accepts (up to ``MAX_BYTES``), orjson accepts too and reads the same members, the
  same strings and the same argument values — except integers outside the 64-bit range, which orjson
  makes floats and it keeps as integers;
* those integers decide exactly as their float64 images, in both dialects' programs;
* the fast loop gives the same tallies, expectations and statistics with it and without it, on
  traces of common lines mixed with hostile ones.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyctl.engine.evaluator import Evaluator
from policyctl.engine.interpret import Interpreter
from policyctl.simulate import run as run_module
from policyctl.simulate.run import run
from policyctl.traces import plain
from tests.conftest import examples
from tests.test_engine_properties import BASE, policies
from tests.test_intercept_compiled import _programs

NS = 10**9
I64_MIN, U64_MAX = -(2**63), 2**64 - 1

# --- lines: mostly the common shape, with the things the two parsers read differently -----------

HUGE = st.one_of(st.integers(2**64, 10**40), st.integers(-(10**40), -(2**63) - 1),
                 st.sampled_from([2**64, -(2**63) - 1, 10**100, 10**300, 10**308 + 1, -(10**308)]))
NUMBER_TEXT = st.one_of(
    HUGE.map(str), st.integers(-5, 2**64).map(str), st.sampled_from([str(10**309), str(-(10**309))]),
    st.sampled_from(["1.5", "-0", "-0.0", "1e400", "1E+2", "5e-324", "1e-400", "01", "1.", ".5", "NaN", "-",
                     "0.30000000000000004441", "9007199254740993", "1" * 330]))
STRING_TEXT = st.one_of(
    st.text(max_size=6).map(json.dumps),
    st.text(max_size=6).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.sampled_from(['"\\ud800"', '"\\ud800\\udc00"', '"a\\u0000b"', '"\\u12"', '"\\x41"', "'a'"]),
)
RAW_STRING = st.sampled_from([b'"\xff"', b'"\xc0\x80"', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b'"a\tb"',
                              b'"a\x00b"', b'"\xef\xbf\xbe"', b'"caf\xc3\xa9"'])


def _value(depth: int = 2) -> st.SearchStrategy[bytes]:
    scalar = st.one_of(NUMBER_TEXT.map(str.encode), STRING_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")),
                       RAW_STRING, st.sampled_from([b"true", b"false", b"null", b"tru", b"Infinity"]))
    if depth == 0:
        return scalar
    inner = _value(depth - 1)
    return st.one_of(
        scalar, scalar,
        st.lists(inner, max_size=3).map(lambda xs: b"[" + b",".join(xs) + b"]"),
        st.lists(st.tuples(st.sampled_from([b'"a"', b'"b"', b'"a"', b'"\\u0061"', b'"\xff"']), inner),
                 max_size=3).map(lambda kv: b"{" + b",".join(k + b":" + v for k, v in kv) + b"}"))


KEY = st.sampled_from([b'"ts"', b'"tool"', b'"args"', b'"grant"', b'"id"', b'"t\\u0073"', b'"ID"', b'"extra"',
                       b'"\xff"', b'"expect"'])
GOOD = {
    b'"ts"': st.sampled_from([b'"2026-11-24T10:00:00.250Z"', b'"2026-11-24T10:00:01Z"', b"1795514400"]),
    b'"tool"': st.sampled_from([b'"a"', b'"b"', b'"x/y"', b'"all_tools"']),
    b'"grant"': st.sampled_from([b'"g1"', b'"g2"']),
}


@st.composite
def lines(draw: Any) -> bytes:
    members = []
    for key in (b'"ts"', b'"tool"', b'"grant"'):
        if draw(st.integers(0, 12)):
            members.append((key, draw(GOOD[key]) if draw(st.integers(0, 8)) else draw(_value(0))))
    if draw(st.integers(0, 12)):
        args = draw(st.lists(st.tuples(st.sampled_from([b'"a"', b'"b"', b'"c"']), _value()), max_size=3))
        members.append((b'"args"', b"{" + b",".join(k + b":" + v for k, v in args) + b"}"))
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else 0):
        members.append((draw(KEY), draw(_value(1))))
    if draw(st.integers(0, 4)) == 0:
        members.append((b'"id"', draw(_value(1))))
    draw(st.randoms()).shuffle(members)
    body = b"{" + b",".join(k + draw(st.sampled_from([b":", b" : "])) + v for k, v in members) + b"}"
    return body + draw(st.sampled_from([b"", b"", b" ", b"\r", b"\t"]))


def _as_orjson_reads(value: Any) -> Any:
    """``value`` with every integer outside the 64-bit range made the float orjson makes of it."""
    if type(value) is int and not I64_MIN <= value <= U64_MAX:
        return float(value)
    if type(value) is dict:
        return {k: _as_orjson_reads(v) for k, v in value.items()}
    if type(value) is list:
        return [_as_orjson_reads(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1 != 1.0 here, -0.0 != 0.0)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is float:
        return repr(a) == repr(b)
    return bool(a == b)


@settings(max_examples=examples(1000))
@given(lines())
def test_what_plain_accepts_orjson_reads_the_same(raw):
    if len(raw) > plain.MAX_BYTES:
        return
    try:
        rec = plain.decode(raw)
    except plain.ERRORS:
        return
    got = orjson.loads(raw)  # must not raise: plain accepted the line
    assert type(got) is dict and set(got) <= {"ts", "tool", "args", "grant", "id"}
    assert {"ts", "tool", "args", "grant"} <= set(got)
    assert (got["ts"], got["tool"], got["grant"]) == (rec.ts, rec.tool, rec.grant)
    assert all(type(x) is str for x in (rec.ts, rec.tool, rec.grant))
    assert _same(_as_orjson_reads(rec.args), got["args"])


def test_plain_refuses_what_it_cannot_read_as_orjson_does():
    good = b'{"ts":"2026-11-24T10:00:00Z","tool":"a","args":{"n":1},"grant":"g"}'
    assert plain.decode(good).args == {"n": 1}
    for raw in [
        good[:-1] + b',"expect":"allow"}',  # another member: orjson and the full checks decide
        good[:-1] + b',"extra":"\xff"}',  # unknown member with invalid UTF-8 (orjson refuses the line)
        good.replace(b'"g"', b"null"),  # a grant of another type
        good.replace(b'{"n":1}', b"[]"),
        b'{"ts":"2026-11-24T10:00:00Z","tool":"a","grant":"g"}',  # no args
        good.replace(b'"n":1', b'"n":1e400'),
        good[:-1] + b',"ts":5}',  # a repeated member of another type
        b"[1]", b"", b"{bad",
    ]:
        try:
            plain.decode(raw)
        except plain.ERRORS:
            continue
        raise AssertionError(f"plain accepted {raw!r}")
    # an integer too large for a float64: orjson refuses the line, and it is longer than MAX_BYTES
    raw = good.replace(b'"n":1', b'"n":' + b"1" * 309)
    assert len(raw) > plain.MAX_BYTES


# --- integers beyond the 64-bit range decide as their float64 -----------------------------------

ARGS = st.dictionaries(st.sampled_from(["a", "b", "c", "n"]),
                       st.one_of(HUGE, st.integers(-3, 12), st.dictionaries(st.sampled_from(["a", "b"]), HUGE,
                                                                             max_size=2), st.lists(HUGE, max_size=2)),
                       max_size=3)
CALLS = st.lists(st.tuples(st.integers(0, 200), st.sampled_from(["g1", "g2"]),
                           st.sampled_from(["a", "b", "x/y", "all_tools", "t", "u", "x"]), ARGS,
                           st.sampled_from([False, False, True])), max_size=25)


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(policies(), CALLS, st.sampled_from(["fixed", "sliding"]))
def test_huge_integers_decide_as_their_float64_policylayer(policy, calls, windows):
    kept, floats = Evaluator(policy, windows=windows), Evaluator(policy, windows=windows)
    for step, grant, tool, args, up in calls:
        ts = BASE + step * 7 * NS
        a = kept.evaluate_ns(ts, grant, tool, args, upstream_error=up)
        b = floats.evaluate_ns(ts, grant, tool, _as_orjson_reads(args), upstream_error=up)
        assert a == b, (tool, args)


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(_programs(), CALLS)
def test_huge_integers_decide_as_their_float64_intercept(program, calls):
    kept, floats = Interpreter(program), Interpreter(program)
    for step, grant, tool, args, up in calls:
        ts = BASE + step * 7 * NS
        a = kept.evaluate_ns(ts, grant, tool, args, upstream_error=up)
        b = floats.evaluate_ns(ts, grant, tool, _as_orjson_reads(args), upstream_error=up)
        assert a == b, (tool, args)
        assert kept.store.rows == floats.store.rows


# --- the fast loop with and without it ---------------------------------------------------------

def _run_both(policy: Any, path: str, windows: str = "fixed") -> None:
    without = run(policy, path, windows=windows, skip_invalid=True, parallel=False)
    saved, run_module.PLAIN_AFTER_LINES = run_module.PLAIN_AFTER_LINES, 0
    try:
        with_plain = run(policy, path, windows=windows, skip_invalid=True, parallel=False)
    finally:
        run_module.PLAIN_AFTER_LINES = saved
    assert with_plain.tally == without.tally
    assert (with_plain.checked, with_plain.failed, with_plain.failures) == (
        without.checked, without.failed, without.failures)
    assert vars(with_plain.stats) == vars(without.stats)


def _trace(calls: list[tuple], hostile: list[bytes]) -> bytes:
    out = []
    for (step, grant, tool, args, up), bad in zip(calls, hostile + [b""] * len(calls)):
        ts = BASE // NS + step * 7
        stamp = "2026-11-24T%02d:%02d:%02d.5Z" % (ts // 3600 % 24, ts // 60 % 60, ts % 60)
        rec: dict[str, Any] = {"ts": stamp, "tool": tool, "args": args, "grant": grant}
        if up:
            rec["upstream_error"] = True
        out.append(json.dumps(rec).encode())
        if bad:
            out.append(bad)
    return b"\n".join(out) + b"\n"


@settings(max_examples=examples(100), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(policies(), CALLS, st.lists(lines(), max_size=8), st.sampled_from(["fixed", "sliding"]))
def test_fast_loop_agrees_with_and_without_plain_policylayer(tmp_path, policy, calls, hostile, windows):
    path = tmp_path / "t.jsonl"
    path.write_bytes(_trace(calls, hostile))
    _run_both(policy, str(path), windows)


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_programs(), CALLS, st.lists(lines(), max_size=8))
def test_fast_loop_agrees_with_and_without_plain_intercept(tmp_path, program, calls, hostile):
    path = tmp_path / "t.jsonl"
    path.write_bytes(_trace(calls, hostile))
    _run_both(program, str(path))


def test_a_trace_of_other_lines_stops_offering_them(tmp_path):
    """Lines that are never plain (here: each has "upstream") stop being offered to plain.decode after
    a while, so such a trace does not pay two parsers per line; the result is the same."""
    trace = [json.dumps({"ts": "2026-11-24T10:00:%02d.%03dZ" % (i // 1000 % 60, i % 1000), "tool": "a",
                                "args": {}, "grant": "g", "upstream": "ok"}) for i in range(3000)]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(trace) + "\n")
    calls = []
    real = plain.decode

    def counting(raw: bytes) -> Any:
        calls.append(1)
        return real(raw)

    from policyctl.policy.dialects.policylayer.model import Policy

    policy = Policy.from_data({"version": "1", "default": "allow"})
    saved = plain.decode, run_module.PLAIN_AFTER_LINES
    plain.decode, run_module.PLAIN_AFTER_LINES = counting, 0
    try:
        result = run(policy, str(path), parallel=False)
    finally:
        plain.decode, run_module.PLAIN_AFTER_LINES = saved
    assert result.calls == 3000 and result.allowed == 3000
    assert 256 < len(calls) < 1100


# --- integers of 65 bits just above 2**64 (msgspec before 0.19: msgspec/msgspec#701) ------------

WRAPPING = [2**64 + 10**18 + 1, 19_999_999_999_999_999_999, -(2**64 + 10**18 + 1), -19_999_999_999_999_999_999,
            19_933_688_932_870_350_000]


def test_integers_just_beyond_64_bits_read_as_orjson_reads_them():
    """msgspec before 0.19 (why 0.19.0 is the lowest declared) wraps an integer between 2**64 + 10**18 + 1 and
    19999999999999999999 modulo 2**64 (19999999999999999999 reads as 1553255926290448383), where
    orjson reads the float64 nearest to it: the same line would decide differently with plain."""
    for n in WRAPPING:
        raw = b'{"ts":"2026-11-24T10:00:00Z","tool":"t","args":{"n":%d},"grant":"g"}' % n
        assert _same(_as_orjson_reads(plain.decode(raw).args), orjson.loads(raw)["args"]), n


def test_integers_just_beyond_64_bits_decide_the_same_with_and_without_plain(tmp_path):
    from policyctl.policy.dialects.policylayer.model import Policy

    policy = Policy.from_data({"version": "1", "default": "allow", "tools": {"t": {"deny_if": [
        {"conditions": [{"path": "args.n", "op": "gt", "value": 1e19}]}]}}})
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"".join(b'{"ts":"2026-11-24T10:00:%02dZ","tool":"t","args":{"n":%d},"grant":"g"}\n' % (i, n)
                              for i, n in enumerate(WRAPPING)))
    _run_both(policy, str(path))
    assert run(policy, str(path), parallel=False).denied == 3  # the three above 1e19
