"""Search for a call sequence that two policy versions decide differently (``diff --search``).

The search is property-based (hypothesis, imported only here): a call sequence is a list of steps,
each a time gap, a tool, arguments and a burst size. The pieces come from the two policies
themselves, so that differences are likely to be hit:

* tools: every tool either version lists or hides, the snapshot's tools (``--tools``), and one tool
  that neither version names (to see ``default``);
* arguments: for every condition path of the tool, "absent" or a value built from the conditions'
  own values — each threshold, the doubles next to it (``math.nextafter``: ± 1 and ± 0.5 round back
  to the threshold itself from 2**53 on), ± 1, ± 0.5 and a value well inside each side (0 or twice
  the threshold), each ``in``/``eq`` value and a non-member,
  present/absent/null for ``exists``, strings that match and miss each regex (and strings that tell
  two versions' regexes apart, found with ``hypothesis.find`` over ``from_regex`` and confirmed with
  RE2), substrings for ``contains`` — plus values of the right type for the snapshot's input schema;
* time: starts just before minute, hour and day edges, gaps of 0, ½ s, 1 s and one window ± 1 s;
* bursts: one call repeated ``max`` and ``max + 1`` times for every limit of either version.

Before searching, every rule of both versions is checked against the candidates: if no choice of
generated values satisfies all of a rule's conditions on some path, calls that need that rule to
hold are never generated, and the result lists the rule's condition as *unreached* and is not
``complete`` (rules that can never hold, such as ``lt "x"``, are not counted).

Intercept policies and mixed pairs are searched through the dialect-neutral form
(:meth:`SearchSpace.build_programs`): the same pieces, read from each program's checks and
reservations; between two dialects a difference of rule alone is not a difference.

Grants and ``upstream_error`` are not generated: the first call two versions decide differently can
always be reached with one grant and no upstream failure (calls of other grants touch other buckets;
a failed call is, for the counters, a call that was never made).

The search runs in phases, each a ``hypothesis.find`` with its own seed: a call that goes from deny
to allow (``loosened``), then one that goes from allow to deny (``tightened``), and, only when
neither exists, a change of reason or rule (``neutral``). hypothesis shrinks what it finds; a final
pass drops single calls and argument keys while the difference stays. Everything is deterministic
for a seed unless the time budget runs out.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from random import Random
from typing import Any, Callable, Iterable, Iterator, Sequence

from policyctl.diff.differ import Outcome, outcome
from policyctl.documents.gofmt import to_double
from policyctl.policy.dialects.policylayer.model import Condition, Policy
from policyctl.traces.timestamps import format_ts

NS = 1_000_000_000
#: The day-aligned instant every counterexample starts from (2026-01-01T00:00:00Z).
BASE_SECONDS = 1_767_225_600
DAY_NS = 86_400 * NS
MAX_STEPS = 8
MAX_BURST = 5_000
#: generated sequences per phase and second of budget (so a seed and a budget fix the search)
EXAMPLES_PER_SECOND = 100
UNLISTED_TOOL = "policyctl-unlisted-tool"
OTHER_VALUE = "policyctl-other"

_STARTS = (0, 59 * NS + NS // 2, 3599 * NS + NS // 2, 86_399 * NS + NS // 2)
_GAPS = (0, NS // 2, NS, 59 * NS, 60 * NS, 61 * NS, 3599 * NS, 3600 * NS, 3601 * NS,
         86_399 * NS, 86_400 * NS)
#: search classes in the order they are looked for
CLASSES = ("loosened", "tightened", "neutral")


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class SearchCall:
    """One generated call: nanoseconds after the start of the counterexample, tool, arguments."""

    offset_ns: int
    tool: str
    args: dict


@dataclass(frozen=True)
class Counterexample:
    """A call sequence on which the versions differ; ``old``/``new`` are per-call outcomes."""

    effect: str  # loosened | tightened | neutral
    calls: tuple[SearchCall, ...]
    old: tuple[Outcome, ...]
    new: tuple[Outcome, ...]
    found_after: float = 0.0  # seconds from the start of the search to the first (unshrunk) hit
    shrunk_after: float = 0.0  # seconds from the start of the search to the reported sequence

    def trace_records(self) -> list[dict[str, Any]]:
        """The sequence as trace lines (SPEC §3) whose ``expect`` fields hold the NEW version's
        decisions: ``simulate --policy NEW`` passes them, ``--policy OLD`` fails where they differ."""
        out = []
        for i, (call, new) in enumerate(zip(self.calls, self.new), start=1):
            rec: dict[str, Any] = {"ts": format_ts(BASE_SECONDS * NS + call.offset_ns, min_fraction_digits=3),
                                   "tool": call.tool, "args": call.args, "id": f"ce-{i}",
                                   "expect": "allow" if new.decision == "allow" else new.reason}
            if new.rule is not None:
                rec["expect_rule"] = new.rule
            out.append(rec)
        return out

    def to_jsonl(self) -> str:
        return "".join(json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) + "\n"
                       for r in self.trace_records())


@dataclass(frozen=True)
class SearchResult:
    seed: int
    budget: float
    examples: int
    complete: bool  # False when the budget ran out before every phase finished, or something is unreached
    counterexamples: tuple[Counterexample, ...]
    #: pointers to conditions no generated value satisfies together with the rest of their rule
    unreached: tuple[str, ...] = ()
    stopped_by_budget: bool = False

    @property
    def loosened(self) -> bool:
        return any(c.effect == "loosened" for c in self.counterexamples)

    @property
    def found(self) -> bool:
        return bool(self.counterexamples)


# ---------------------------------------------------------------------------------------------
# the search space


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else x


def _numbers_around(x: float) -> list[int | float]:
    """Arguments on both sides of threshold ``x`` and on it: the adjacent doubles (from 2**53 on,
    x ± 1 rounds back to x), ± 1 and ± 0.5, and one value well inside each side. Only finite ones: a
    Go decoder refuses a number it would have to make infinite."""
    if not math.isfinite(x):
        return [_number(y) for y in (math.nextafter(x, 0.0), 0.0) if math.isfinite(y)]
    far = max(1.0, abs(x))
    around = (x, math.nextafter(x, -math.inf), math.nextafter(x, math.inf), x - 1, x + 1, x - 0.5, x + 0.5,
              x - far, x + far)
    return [_number(y) for y in around if math.isfinite(y)]


def _key(value: Any) -> str:
    """Identity of a generated value: JSON text, so ``true``, ``1`` and ``1.0`` stay apart."""
    return json.dumps(value, sort_keys=True)


class _Slot:
    """The candidate values of one argument path of one tool."""

    def __init__(self, segments: tuple[str, ...]) -> None:
        self.segments = segments
        self.values: list[Any] = []
        self._seen: set[str] = set()

    def add(self, value: Any) -> None:
        k = _key(value)
        if k not in self._seen:
            self._seen.add(k)
            self.values.append(value)


def _condition_values(cond: Condition) -> list[Any]:
    op, v = cond.op, cond.value
    out: list[Any] = []
    if op in ("gt", "gte", "lt", "lte", "eq", "neq") and isinstance(v, (int, float)) and not isinstance(v, bool):
        out += _numbers_around(to_double(v))
    if op in ("eq", "neq"):
        out += [v, OTHER_VALUE]
    elif op in ("in", "not_in") and isinstance(v, (list, tuple)):
        out += list(v) + [OTHER_VALUE]
        nums = [to_double(x) for x in v if isinstance(x, (int, float)) and not isinstance(x, bool)]
        nums = [x for x in nums if math.isfinite(x)]
        if nums:  # a number that is none of them
            out += [_number(y) for y in (max(nums) + 1, math.nextafter(max(nums), math.inf)) if math.isfinite(y)]
    elif op == "exists":
        out += ["x", None]
    elif op == "contains":
        if isinstance(v, str):
            out += [v, f"x{v}x", [v], ""]
        else:
            out += [[v], []]
    elif op == "regex":
        out += [""]
    return out


def _schema_values(schema: Any) -> list[Any]:
    """A few values of the type a JSON Schema property asks for."""
    if not isinstance(schema, dict):
        return []
    out: list[Any] = []
    enum = schema.get("enum")
    if isinstance(enum, list):
        out += enum[:10]
    if "const" in schema:
        out.append(schema["const"])
    types = schema.get("type")
    samples: dict[str, list[Any]] = {"string": ["x"], "integer": [0, 1], "number": [0.5], "boolean": [True, False],
                                     "array": [[]], "object": [{}], "null": [None]}
    for t in types if isinstance(types, list) else [types]:
        out += samples.get(t, []) if isinstance(t, str) else []
    return out


@dataclass
class SearchSpace:
    """Everything the generator draws from (built once per search)."""

    tools: list[str]
    slots: dict[str, list[_Slot]]
    bursts: list[int]
    unreached: tuple[str, ...] = ()

    @classmethod
    def build(cls, old: Any, new: Any, *, tools: Iterable[Any] = (), seed: int = 0,
              deadline: float | None = None) -> "SearchSpace":
        """The space of two policies of any dialects, through their intermediate forms."""
        return cls.build_programs(_program(old), _program(new), tools=tools, seed=seed, deadline=deadline)

    @classmethod
    def build_programs(cls, old: Any, new: Any, *, tools: Iterable[Any] = (), seed: int = 0,
                       deadline: float | None = None) -> "SearchSpace":
        """The space of two dialect-neutral programs (:mod:`policyctl.policy.ir`, any dialect).

        As :meth:`build`, with what only programs have: the wildcard's checks apply to every tool
        (also the unlisted one); an ``increment_from`` argument gets amounts around the limit and a
        value that is not a number; a ``state`` condition's threshold adds bursts that bring its
        counter there."""
        names: set[str] = set()
        for prog in (old, new):
            names |= {t for t in prog.tools if t != prog.wildcard_name}
            names |= {h for h in prog.hide if h != "*"}
        schemas: dict[str, Any] = {}
        for tool in tools:
            names.add(tool.name)
            schemas[tool.name] = tool.input_schema
        unlisted = UNLISTED_TOOL
        while unlisted in names:
            unlisted += "-x"
        ordered = sorted(names) + [unlisted]

        bursts = {1, 2}
        slots: dict[str, list[_Slot]] = {}
        regexes: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for tool in ordered:
            by_path: dict[tuple[str, ...], _Slot] = {}
            for prog in (old, new):
                for check in prog.checks(tool):
                    for cond in check.conditions:
                        if cond.source == "state":
                            if isinstance(cond.value, (int, float)) and not isinstance(cond.value, bool) \
                                    and math.isfinite(cond.value) and cond.value >= 0:
                                bursts |= {min(int(cond.value) + k, MAX_BURST) for k in (0, 1, 2)}
                            continue
                        slot = by_path.setdefault(cond.path, _Slot(cond.path))
                        for v in _condition_values(cond):
                            slot.add(v)
                        if cond.op == "regex" and isinstance(cond.value, str):
                            pats = regexes.setdefault((tool, cond.path), [])
                            if cond.value not in pats:
                                pats.append(cond.value)
                for r in prog.reservations(tool):
                    if isinstance(r.amount, tuple):
                        slot = by_path.setdefault(r.amount, _Slot(r.amount))
                        top = r.limit if r.limit is not None and r.limit > 0 else 1
                        for v in (1, top // 2 + 1, top, top + 1, "x"):
                            slot.add(v)
            props = schemas.get(tool, {}).get("properties") if isinstance(schemas.get(tool), dict) else None
            if isinstance(props, dict):
                for name in sorted(props)[:32]:
                    slot = by_path.setdefault((name,), _Slot((name,)))
                    for v in _schema_values(props[name]):
                        slot.add(v)
            slots[tool] = [by_path[k] for k in sorted(by_path)]
        for (tool, segs), pats in regexes.items():
            slot = next(s for s in slots[tool] if s.segments == segs)
            for text in _regex_strings(pats, seed, deadline):
                slot.add(text)

        for prog in (old, new):
            for part in (*prog.tools.values(), prog.wildcard):
                for r in part.reservations:
                    if r.limit is not None and r.limit >= 0:
                        bursts |= {min(max(r.limit, 1), MAX_BURST), min(r.limit + 1, MAX_BURST)}
        return cls(ordered, slots, sorted(bursts), _unreached_programs(old, new, ordered, slots))


def _unreached_programs(old: Any, new: Any, names: Sequence[str], slots: dict[str, list[_Slot]]) -> tuple[str, ...]:
    """Conditions that no generated value satisfies together with the other conditions of their
    check on the same path (pointers into the version that has them, old first, each once).

    A check whose conditions cannot all hold for the candidates is never seen holding, so a
    difference that needs it is out of the search's reach. Checks that can never hold at all (a
    condition such as ``lt "x"`` or a regex RE2 rejects) are left out: there is nothing to reach.
    Only argument conditions count: a ``state`` condition is reached through bursts."""
    from policyctl.policy.operators import NOT_FOUND
    from policyctl.policy.operators import test as holds
    from policyctl.policy.values import never_holds

    out: list[str] = []
    for prog in (old, new):
        # numbered rules (PolicyLayer): the tools in document order, as that dialect lists them
        order = [*prog.tools, *(n for n in names if n not in prog.tools)] if prog.numbered_rules else names
        for tool in order:
            by_segments = {s.segments: s for s in slots.get(tool, ())}
            for check in prog.checks(tool):
                conds = [c for c in check.conditions if c.source == "args"]
                if any(never_holds(c.op, c.value) for c in conds):
                    continue
                groups: dict[tuple[str, ...], list[Any]] = {}
                for cond in conds:
                    groups.setdefault(cond.path, []).append(cond)
                for segments, group in groups.items():
                    slot = by_segments.get(segments)
                    candidates = [NOT_FOUND, *(slot.values if slot is not None else ())]
                    if not any(all(holds(c.op, c.value, v) for c in group) for v in candidates):
                        if group[0].pointer not in out:
                            out.append(group[0].pointer)
    return tuple(out)


#: Characters generated strings are made of. An explicit alphabet keeps hypothesis from building
#: its Unicode tables (over a second on first use, cached under ./.hypothesis otherwise).
REGEX_ALPHABET = "".join(chr(c) for c in range(32, 127)) + "\t\néüßΩж中🙂"


def _regex_strings(patterns: Sequence[str], seed: int, deadline: float | None) -> list[str]:
    """Strings that match and miss each pattern, and that tell each pair of patterns apart (RE2)."""
    import re

    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    from policyctl.policy.operators import compile_regex

    quick = settings(max_examples=150, database=None, deadline=None, verbosity=Verbosity.quiet,
                     phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
                     derandomize=False, print_blob=False)
    matchers = {p: compile_regex(p) for p in patterns}
    gens: dict[str, Any] = {}
    for p in patterns:
        try:
            re.compile(p)
            gens[p] = st.from_regex(p, alphabet=REGEX_ALPHABET)
        except (re.error, RecursionError, OverflowError):
            gens[p] = None  # RE2-only syntax: fall back to plain text
    out: list[str] = []

    def attempt(strategy: Any, cond: Callable[[str], bool], salt: int) -> None:
        if deadline is not None and time.monotonic() > deadline:
            return
        try:
            out.append(find(strategy, cond, settings=quick, random=Random(seed * 7919 + salt)))
        except NoSuchExample:
            pass
        except Exception:  # noqa: BLE001 - a pattern hypothesis cannot generate from: skip it
            pass

    text = st.text(alphabet=REGEX_ALPHABET, max_size=12)
    for n, p in enumerate(patterns):
        m = matchers[p]
        if m is None:
            continue
        attempt(gens[p] if gens[p] is not None else text, lambda s, m=m: m(s), 2 * n)  # type: ignore[misc]
        attempt(text, lambda s, m=m: not m(s), 2 * n + 1)  # type: ignore[misc]
    for a in range(len(patterns)):
        for b in range(a + 1, len(patterns)):
            ma, mb = matchers[patterns[a]], matchers[patterns[b]]
            if ma is None or mb is None:
                continue
            sources = [g for g in (gens[patterns[a]], gens[patterns[b]]) if g is not None] or [text]
            attempt(st.one_of(*sources), lambda s, ma=ma, mb=mb: ma(s) != mb(s),  # type: ignore[misc]
                    1000 + a * 100 + b)
    return out


def build_args(slots: Sequence[_Slot], choice: Sequence[Any]) -> dict:
    """Nested arguments from one value per slot (ABSENT leaves the path out)."""
    args: dict = {}
    for slot, value in zip(slots, choice):
        if value is ABSENT:
            continue
        node = args
        ok = True
        for seg in slot.segments[:-1]:
            nxt = node.get(seg)
            if nxt is None:
                nxt = node[seg] = {}
            if not isinstance(nxt, dict):
                ok = False
                break
            node = nxt
        if ok and slot.segments:
            leaf = slot.segments[-1]
            if not isinstance(node.get(leaf), dict):
                node[leaf] = value
    return args


def _strategy(space: SearchSpace) -> Any:
    from hypothesis import strategies as st

    def tool_calls(tool: str) -> Any:
        slots = space.slots[tool]
        choices = st.tuples(*[st.sampled_from([ABSENT, *s.values]) for s in slots])
        return st.tuples(st.just(tool), choices.map(lambda c, slots=slots: build_args(slots, c)))  # type: ignore[misc]

    # One draw for gap and burst together: hypothesis' cost is per draw.
    timing = st.sampled_from([(g, b) for b in space.bursts for g in _GAPS])
    step = st.tuples(timing, st.one_of(*[tool_calls(t) for t in space.tools]))
    return st.tuples(st.sampled_from(_STARTS), st.lists(step, min_size=1, max_size=MAX_STEPS))


def expand(sample: Any) -> list[SearchCall]:
    start, steps = sample
    t = start
    calls: list[SearchCall] = []
    for (gap, burst), (tool, args) in steps:
        t += gap
        calls.extend(SearchCall(t, tool, args) for _ in range(burst))
    return calls


# ---------------------------------------------------------------------------------------------
# running both versions


class _Runner:
    """Both evaluators, reused across examples: each run gets a fresh grant and a later day, which
    is the same as fresh counters (buckets are per grant; windows are day-aligned)."""

    def __init__(self, old: Any, new: Any, windows: str) -> None:
        from policyctl.engine.interpret import make_evaluator

        self.old = make_evaluator(old, windows=windows)
        self.new = make_evaluator(new, windows=windows)
        self.base = BASE_SECONDS * NS
        self.runs = 0

    def run(self, calls: Sequence[SearchCall]) -> tuple[list[Any], list[Any]]:
        self.runs += 1
        grant = f"search-{self.runs}"
        base = self.base
        ev_old, ev_new = self.old.evaluate_ns, self.new.evaluate_ns
        a, b = [], []
        last = base
        for c in calls:
            ts = base + c.offset_ns
            last = ts
            a.append(ev_old(ts, grant, c.tool, c.args))
            b.append(ev_new(ts, grant, c.tool, c.args))
        self.base = (last // DAY_NS + 2) * DAY_NS
        return a, b


def classify(a: Sequence[Any], b: Sequence[Any], rules: bool = True) -> set[str]:
    """Which search classes a pair of decision lists shows (``rules`` False: rules are not
    compared, as between two dialects, whose rule names are each their own)."""
    found: set[str] = set()
    for x, y in zip(a, b):
        if x.allowed != y.allowed:
            found.add("loosened" if y.allowed else "tightened")
        elif x.reason != y.reason or (rules and x.rule != y.rule):
            found.add("neutral")
    return found


class _OutOfTime(BaseException):
    """Stops hypothesis at once (a BaseException is not treated as a test failure)."""


def search(old: Any, new: Any, *, windows: str = "fixed", budget: float = 10.0, seed: int = 0,
           tools: Iterable[Any] = (), max_examples: int | None = None) -> SearchResult:
    """Look for call sequences the two versions decide differently (see the module doc).

    ``old`` and ``new`` are PolicyLayer models, or dialect-neutral programs of any dialect (an
    Intercept policy's; a PolicyLayer model beside a program is lowered into one). Between two
    dialects a difference of rule alone is no difference: rules are each dialect's own names.

    Each phase tries at most ``max_examples`` sequences (default: 100 per second of ``budget``, at
    least 100), so the outcome depends only on the seed and the budget unless time runs out first.
    """
    if max_examples is None:
        max_examples = max(100, int(budget * EXAMPLES_PER_SECOND))
    with _private_hypothesis_home():
        return _search(old, new, windows=windows, budget=budget, seed=seed, tools=tools,
                       max_examples=max_examples)


@contextmanager
def _private_hypothesis_home() -> Iterator[None]:
    """hypothesis keeps caches in ``./.hypothesis``; a diff must not leave that in the user's
    folder, so it gets a temporary home for the duration of the search."""
    import tempfile

    from hypothesis import configuration

    previous = configuration.__dict__.get("__hypothesis_home_directory")
    with tempfile.TemporaryDirectory(prefix="policyctl-search-") as home:
        configuration.set_hypothesis_home_dir(home)
        try:
            yield
        finally:
            configuration.set_hypothesis_home_dir(previous)


def _program(subject: Any) -> Any:
    if isinstance(subject, Policy):
        from policyctl.policy.dialects.policylayer.lower import lower

        return lower(subject)
    return subject


def _search(old: Any, new: Any, *, windows: str, budget: float, seed: int, tools: Iterable[Any],
            max_examples: int) -> SearchResult:
    from hypothesis import HealthCheck, Phase, Verbosity, find, settings
    from hypothesis.errors import NoSuchExample

    started = time.monotonic()
    deadline = started + budget
    p_old, p_new = _program(old), _program(new)
    rules = p_old.dialect == p_new.dialect
    space = SearchSpace.build_programs(p_old, p_new, tools=tools, seed=seed, deadline=started + budget * 0.25)
    strategy = _strategy(space)
    runner = _Runner(old, new, windows)
    # Every setting explicit: a hypothesis profile loaded by the caller must not change the search.
    conf = settings(max_examples=max_examples, database=None, deadline=None, verbosity=Verbosity.quiet,
                    phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
                    derandomize=False, print_blob=False, report_multiple_bugs=False)
    examples = 0
    complete = True
    found: dict[str, Counterexample] = {}
    hit_at: dict[str, float] = {}
    # Each phase may use its share of what is left; a phase that finds quickly leaves the rest.
    shares = {"loosened": 0.5, "tightened": 0.7, "neutral": 1.0}

    for n, cls in enumerate(CLASSES):
        if cls == "neutral" and found:
            break
        if time.monotonic() >= deadline:
            complete = False
            break
        phase_deadline = time.monotonic() + (deadline - time.monotonic()) * shares[cls]
        best: list[Any] = []

        def condition(sample: Any, cls: str = cls, phase_deadline: float = phase_deadline,
                      best: list[Any] = best) -> bool:
            nonlocal examples
            if time.monotonic() > phase_deadline:
                raise _OutOfTime
            examples += 1
            calls = expand(sample)
            a, b = runner.run(calls)
            if cls in classify(a, b, rules):
                if not best:
                    hit_at[cls] = time.monotonic() - started
                if not best or len(calls) <= len(best[0]):
                    best[:] = [calls]
                return True
            return False

        try:
            find(strategy, condition, settings=conf, random=Random(seed * 1_000_003 + n))
        except NoSuchExample:
            continue
        except _OutOfTime:
            complete = False
        if best:
            calls = _minimize(best[0], cls, runner, deadline, rules)
            a, b = runner.run(calls)
            found[cls] = Counterexample(cls, tuple(calls), tuple(outcome(x) for x in a),
                                        tuple(outcome(y) for y in b), hit_at.get(cls, 0.0),
                                        time.monotonic() - started)
    return SearchResult(seed, budget, examples, complete and not space.unreached,
                        tuple(found[c] for c in CLASSES if c in found), space.unreached, not complete)


def _minimize(calls: list[SearchCall], cls: str, runner: _Runner, deadline: float,
              rules: bool = True) -> list[SearchCall]:
    """Drop calls (after the last one that shows ``cls``, then one at a time, then argument keys)
    while the sequence still shows ``cls``; stop when the budget is spent."""

    def shows(cs: list[SearchCall]) -> bool:
        a, b = runner.run(cs)
        return cls in classify(a, b, rules)

    a, b = runner.run(calls)
    for i in range(len(calls) - 1, -1, -1):
        if cls in classify(a[i:i + 1], b[i:i + 1], rules):
            calls = calls[: i + 1]
            break
    if len(calls) <= 256:
        i = 0
        while i < len(calls) and time.monotonic() < deadline:
            trial = calls[:i] + calls[i + 1:]
            if trial and shows(trial):
                calls = trial
            else:
                i += 1
    # fewer argument keys, where the difference does not need them
    for i in range(len(calls)):
        for key in sorted(calls[i].args):
            if time.monotonic() > deadline:
                return _rebase(calls)
            args = {k: v for k, v in calls[i].args.items() if k != key}
            trial = [c if j != i and not _same(c, calls[i]) else SearchCall(c.offset_ns, c.tool, args)
                     for j, c in enumerate(calls)]
            if shows(trial):
                calls = trial
    return _rebase(calls)


def _same(a: SearchCall, b: SearchCall) -> bool:
    """Calls of one burst change together (they are copies)."""
    return a.tool == b.tool and a.offset_ns == b.offset_ns and _key(a.args) == _key(b.args)


def _rebase(calls: list[SearchCall]) -> list[SearchCall]:
    """Start the sequence within its first day but keep its position relative to window edges."""
    if not calls:
        return calls
    shift = calls[0].offset_ns // DAY_NS * DAY_NS
    return [SearchCall(c.offset_ns - shift, c.tool, c.args) for c in calls]


__all__ = ["ABSENT", "BASE_SECONDS", "CLASSES", "Counterexample", "SearchCall", "SearchResult",
           "SearchSpace", "build_args", "classify", "expand", "search"]
