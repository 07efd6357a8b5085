"""Shared test settings: hypothesis profiles and a helper that runs the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"

# Hypothesis profiles (HYPOTHESIS_PROFILE): how many examples every property test runs comes from
# here. A test states only its relative weight with ``examples(n)``: n examples at the base of 100,
# scaled to the profile's max_examples.
#   default  100 per weight unit, random (what the README's test command runs)
#   ci       as default, derandomized: a run is reproducible from the commit alone (.ci/run)
#   dev      20: the quick loop, with -m "not slow"
_COMMON: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", max_examples=100, **_COMMON)
settings.register_profile("ci", max_examples=100, derandomize=True, print_blob=True, **_COMMON)
settings.register_profile("dev", max_examples=20, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

BASE_EXAMPLES = 100


def examples(weight: int) -> int:
    """The example count of a property test of relative ``weight`` under the loaded profile."""
    return max(1, round(weight * settings.default.max_examples / BASE_EXAMPLES))


GOLDEN = Path(__file__).resolve().parent / "golden"
#: the one switch that rewrites golden files instead of comparing with them
UPDATE_GOLDEN = os.environ.get("POLICYCTL_UPDATE_GOLDEN", "") not in ("", "0")


def assert_golden(path: Path, text: str) -> None:
    """``text`` equals the golden file at ``path`` (under tests/golden when relative); with
    POLICYCTL_UPDATE_GOLDEN=1 the file is rewritten first (review the diff before committing)."""
    path = path if path.is_absolute() else GOLDEN / path
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert path.exists(), f"missing golden file {path}; run with POLICYCTL_UPDATE_GOLDEN=1"
    with open(path, encoding="utf-8", newline="") as fh:
        assert text == fh.read()


def cli_env(**extra: str) -> dict[str, str]:
    """A pinned environment for golden output: no colour, fixed width, no debug."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLICYCTL_", "FORCE_COLOR"))}
    env.update({"NO_COLOR": "1", "POLICYCTL_WIDTH": "100", "COLUMNS": "100", "PYTHONIOENCODING": "utf-8"})
    env.update(extra)
    return env


def run_cli(*args: str, input: str | bytes | None = None, cwd: Path | str | None = None,
            env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m policyctl ARGS`` as a user would; returns text stdout/stderr and the exit code."""
    data = input.decode() if isinstance(input, bytes) else input
    return subprocess.run(
        [sys.executable, "-m", "policyctl", *args],
        input=data,
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env or cli_env(),
        timeout=timeout,
    )


@pytest.fixture
def cli():
    """The CLI runner as a fixture: ``cli("lint", path)``."""
    return run_cli


# ---- the fast loop: a test that starts a process is marked ``slow`` (and ``cli`` when the process is
# policyctl itself), found from its code: the names it calls, followed into the functions of its
# module up to three levels deep. ``-m "not slow"`` is the in-process suite; .ci/run's lowest-
# dependency run takes ``-m "not slow or cli"`` (everything but real servers and browsers).
_SPAWN = frozenset({"run_cli", "cli", "subprocess", "Popen", "check_output", "spawn", "fork", "openpty"})


def _spawned(fn: Any, module: Any, depth: int = 3, seen: dict[int, int] | None = None) -> set[str]:
    """The process-starting names ``fn`` calls, directly or through its module's functions (up to
    ``depth`` levels), nested functions, lambdas and comprehensions included."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return set()
    seen = {} if seen is None else seen
    if seen.get(id(code), -1) >= depth:  # already looked into at least this deep
        return set()
    seen[id(code)] = depth
    names: set[str] = set()
    todo = [code]
    runs_us = False  # a process started with "-m policyctl" by hand
    while todo:
        c = todo.pop()
        names.update(c.co_names)
        todo.extend(k for k in c.co_consts if hasattr(k, "co_names"))
        runs_us = runs_us or "policyctl" in c.co_consts
    found = names & _SPAWN
    if found and runs_us:
        found.add("run_cli")
    if depth > 0:
        for name in names - found:
            target = getattr(module, name, None)
            if callable(target) and getattr(target, "__module__", None) == module.__name__:
                found |= _spawned(target, module, depth - 1, seen)
    return found


_POLICYCTL = frozenset({"run_cli", "cli"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") is not None:
            continue  # marked by hand: real servers, browsers, big payloads (not in the lowest run)
        fn = getattr(item, "function", None)
        module = getattr(item, "module", None)
        if fn is None or module is None:
            continue
        found = _spawned(fn, module)
        fixtures = set(getattr(item, "fixturenames", ()))
        if "cli" in fixtures:
            found.add("cli")
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        for name in fixtures:  # the test's fixtures may start processes too (module-scoped runs)
            for fixture in defs.get(name, ()):
                fmod = sys.modules.get(getattr(fixture.func, "__module__", ""), None)
                if fmod is not None and fmod.__name__.startswith("tests."):
                    found |= _spawned(fixture.func, fmod)
        if found:
            item.add_marker(pytest.mark.slow)
            if found & _POLICYCTL:
                item.add_marker(pytest.mark.cli)
