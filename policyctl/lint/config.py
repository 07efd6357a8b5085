"""Lint configuration: which rules run, at which severity, and what fails the run.

Sources, first found wins: ``--config FILE``; otherwise, searching upward from the current
directory, ``.policyctl.yaml`` (or ``.policyctl.yml``) or a ``pyproject.toml`` with a
``[tool.policyctl]`` table. Keys (``-`` and ``_`` are interchangeable)::

    select: [PL1, PL201]          # rules to run (codes, names, code prefixes, ALL); default: all
    ignore: [yaml11-scalar]       # rules not to run
    severity: {PL108: error, fully-open: error}   # per-rule severity: error | warning
    per-file-ignores:             # glob (matched against the path as given, the path relative
      "legacy/*.yaml": [PL2]      #  to the config file's folder, and the file name) -> rules
    fail-level: warning           # lowest severity that makes the exit status 1 (default error)

Command-line flags win: ``--select`` replaces the configured selection (and un-ignores what it
names exactly), ``--ignore`` adds to the ignored rules, ``--fail-level`` replaces the level.
Unknown keys, unknown rules and bad values are errors (exit 2) naming the file.

The load diagnostics PL001–PL004, and PL501/PL502 for Intercept files (a file that cannot be read
as a valid policy) are outside the configuration: they always run and are always errors, whatever
``select`` says. Naming only load codes in ``ignore``, ``per-file-ignores`` or as a ``warning`` in
``severity`` is refused (exit 2); a wider selector there (``ALL``, ``PL``) covers the other rules only.
``select: []`` is refused like an empty ``--select``: it would otherwise read as "no rule at all".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any, Iterable, Mapping

from policyctl.errors import InputError, UsageError

SEVERITIES = ("error", "warning")
CONFIG_NAMES = (".policyctl.yaml", ".policyctl.yml")
_KEYS = ("select", "ignore", "severity", "per_file_ignores", "fail_level")


@dataclass(frozen=True)
class LintConfig:
    """Resolved configuration (all rule references expanded to codes)."""

    select: tuple[str, ...] | None = None  # None: every rule
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    fail_level: str = "error"
    source: str | None = None  # the file this came from, for messages
    base_dir: str | None = None  # per-file-ignores patterns are relative to this folder

    def enabled_codes(self, path: str | None = None) -> frozenset[str]:
        """Codes that run for ``path`` (None: ignoring per-file ignores)."""
        from policyctl.lint.rules import codes, load_codes

        chosen = set(codes() if self.select is None else self.select) - set(self.ignore)
        if path is not None:
            for pattern, ignored in self.per_file_ignores:
                if _path_matches(path, pattern, self.base_dir):
                    chosen -= set(ignored)
        # Whatever was selected, a file that cannot be loaded is never reported clean.
        return frozenset(chosen | set(load_codes()))

    def severity_of(self, code: str, default: str) -> str:
        from policyctl.lint.rules import load_codes

        if code in load_codes():
            return "error"
        return self.severity.get(code, default)

    def with_cli(self, *, select: Iterable[str] = (), ignore: Iterable[str] = (),
                 fail_level: str | None = None) -> "LintConfig":
        """This configuration with command-line flags applied (flags win)."""
        select = tuple(select)
        ignore = tuple(ignore)
        new_select = self.select
        new_ignore = list(self.ignore)
        if select:
            new_select = _expand_all(select, "--select", UsageError)
            exact = {_expand_one(s, "--select", UsageError)[0] for s in select
                     if len(_expand_one(s, "--select", UsageError)) == 1}
            new_ignore = [c for c in new_ignore if c not in exact]
        if ignore:
            new_ignore.extend(c for c in _expand_but_load(ignore, "--ignore", UsageError, "ignored")
                              if c not in new_ignore)
        level = self.fail_level
        if fail_level is not None:
            if fail_level not in SEVERITIES:
                raise UsageError(f"--fail-level: unknown level {fail_level!r} (choose error or warning)")
            level = fail_level
        return replace(self, select=new_select, ignore=tuple(new_ignore), fail_level=level)


def _path_matches(path: str, pattern: str, base_dir: str | None) -> bool:
    candidates = {_clean(path)}
    if base_dir is not None and path != "-" and not path.startswith("<"):
        try:
            candidates.add(_clean(os.path.relpath(os.path.abspath(path), base_dir)))
        except ValueError:  # another drive on Windows
            pass
    if "/" not in pattern:
        candidates.add(os.path.basename(_clean(path)))
    pat = pattern.replace("\\", "/")
    return any(fnmatchcase(c, pat) for c in candidates)


def _clean(path: str) -> str:
    p = os.path.normpath(path).replace(os.sep, "/")
    return p[2:] if p.startswith("./") else p


def _expand_one(selector: str, where: str, error: type[Exception]) -> tuple[str, ...]:
    from policyctl.lint.rules import expand

    if not isinstance(selector, str) or not selector.strip():
        raise error(f"{where}: rule references must be non-empty strings, got {selector!r}")
    try:
        return expand(selector)
    except KeyError:
        raise error(f"{where}: unknown rule {selector.strip()!r} (use a code such as PL101, a "
                    "prefix such as PL1, a rule name, or ALL; `policyctl lint --help` lists "
                    "where rules are documented)") from None


def _expand_all(selectors: Iterable[str], where: str, error: type[Exception]) -> tuple[str, ...]:
    out: list[str] = []
    for s in selectors:
        for code in _expand_one(s, where, error):
            if code not in out:
                out.append(code)
    return tuple(out)


def _expand_but_load(selectors: Iterable[str], where: str, error: type[Exception],
                     verb: str) -> tuple[str, ...]:
    """Like :func:`_expand_all` for settings that turn rules off: never the load codes.

    A selector standing only for load codes (``PL001``, ``syntax-error``, ``PL0``) is refused, so the
    user learns it has no effect; a wider one (``ALL``, ``PL``) covers the other rules.
    """
    from policyctl.lint.rules import load_codes

    load = set(load_codes())
    out: list[str] = []
    for s in selectors:
        expanded = _expand_one(s, where, error)
        if all(code in load for code in expanded):
            raise error(f"{where}: {s.strip()!r} cannot be {verb}: {', '.join(expanded)} "
                        f"{'is a load diagnostic' if len(expanded) == 1 else 'are load diagnostics'} "
                        "(the file cannot be read as a valid policy), always reported as an error")
        out.extend(code for code in expanded if code not in load and code not in out)
    return tuple(out)


def parse_config(data: Any, *, source: str, base_dir: str | None = None) -> LintConfig:
    """Validate configuration data (already parsed from YAML or TOML)."""
    if data is None:
        return LintConfig(source=source, base_dir=base_dir)
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: configuration must be a mapping of settings, not "
                         f"{type(data).__name__}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        norm = str(key).replace("-", "_")
        if norm not in _KEYS:
            raise InputError(f"{source}: unknown setting {key!r} (known: "
                             f"{', '.join(k.replace('_', '-') for k in _KEYS)})")
        values[norm] = value

    def codes_list(key: str) -> list[Any]:
        raw = values[key]
        if isinstance(raw, str):
            raw = [part for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list):
            raise InputError(f"{source}: {key.replace('_', '-')} must be a list of rules")
        return raw

    select = None
    if "select" in values:
        chosen = codes_list("select")
        if not chosen:
            raise InputError(f"{source}: select is empty; name at least one rule code, prefix or name "
                             "(to run every rule, leave select out or use [ALL])")
        select = _expand_all(chosen, f"{source}: select", InputError)
    ignore = (_expand_but_load(codes_list("ignore"), f"{source}: ignore", InputError, "ignored")
              if "ignore" in values else ())
    severity: dict[str, str] = {}
    if "severity" in values:
        raw = values["severity"]
        if not isinstance(raw, Mapping):
            raise InputError(f"{source}: severity must map rules to error or warning")
        for ref, level in raw.items():
            if level not in SEVERITIES:
                raise InputError(f"{source}: severity of {ref}: {level!r} is not error or warning")
            where = f"{source}: severity"
            if level == "error":  # load codes are errors already: naming them changes nothing
                chosen_codes = _expand_one(str(ref), where, InputError)
            else:
                chosen_codes = _expand_but_load([str(ref)], where, InputError, "made a warning")
            for code in chosen_codes:
                severity[code] = level
    per_file: list[tuple[str, tuple[str, ...]]] = []
    if "per_file_ignores" in values:
        raw = values["per_file_ignores"]
        if not isinstance(raw, Mapping):
            raise InputError(f"{source}: per-file-ignores must map glob patterns to lists of rules")
        for pattern, refs in raw.items():
            if isinstance(refs, str):
                refs = [part for part in refs.split(",") if part.strip()]
            if not isinstance(pattern, str) or not pattern or not isinstance(refs, list):
                raise InputError(f"{source}: per-file-ignores: {pattern!r} must map to a list of rules")
            per_file.append((pattern, _expand_but_load(refs, f"{source}: per-file-ignores {pattern!r}",
                                                       InputError, "ignored")))
    level = values.get("fail_level", "error")
    if level not in SEVERITIES:
        raise InputError(f"{source}: fail-level {level!r} is not error or warning")
    return LintConfig(select=select, ignore=ignore, severity=severity,
                      per_file_ignores=tuple(per_file), fail_level=level, source=source,
                      base_dir=base_dir)


def _read_yaml_config(path: str) -> Any:
    from policyctl.documents.loader import load_document
    from policyctl.files import read_bytes

    result = load_document(read_bytes(path, limit=1024 * 1024), path, "yaml", empty_ok=True)
    if result.document is None or result.diagnostics:
        d = result.diagnostics[0]
        raise InputError(f"{path}:{d.line}:{d.column}: {d.message}")
    return result.document.data


def _read_toml(path: str) -> Any:
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef]
    from policyctl.files import read_bytes

    try:
        return tomllib.loads(read_bytes(path, limit=4 * 1024 * 1024).decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: invalid TOML: {exc}") from None


def _pyproject_table(path: str) -> Any:
    """The ``[tool.policyctl]`` table, or ``_MISSING`` when the file has none."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4 * 1024 * 1024)
    except OSError:
        return _MISSING
    if b"policyctl" not in head:  # cheap: most pyproject files never mention us
        return _MISSING
    data = _read_toml(path)
    tool = data.get("tool", {})
    if not isinstance(tool, dict) or "policyctl" not in tool:
        return _MISSING
    return tool["policyctl"]


_MISSING = object()


def load_config(explicit: str | None = None, *, start: str | None = None) -> LintConfig:
    """The configuration from ``explicit`` (``--config``) or found upward from ``start`` (cwd)."""
    if explicit is not None:
        if not os.path.isfile(explicit):
            if os.path.isdir(explicit):
                raise InputError(f"{explicit}: is a directory, not a configuration file")
            if os.path.exists(explicit):
                raise InputError(f"{explicit}: not a regular file (--config needs a configuration file)")
            raise InputError(f"{explicit}: configuration file not found")
        base = os.path.dirname(os.path.abspath(explicit))
        name = os.path.basename(explicit)
        if name == "pyproject.toml":
            table = _pyproject_table(explicit)
            if table is _MISSING:
                raise InputError(f"{explicit}: has no [tool.policyctl] table")
            return parse_config(table, source=f"{explicit} [tool.policyctl]", base_dir=base)
        if name.endswith(".toml"):
            return parse_config(_read_toml(explicit), source=explicit, base_dir=base)
        return parse_config(_read_yaml_config(explicit), source=explicit, base_dir=base)
    folder = os.path.abspath(start or os.getcwd())
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                return parse_config(_read_yaml_config(candidate), source=candidate, base_dir=folder)
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            table = _pyproject_table(candidate)
            if table is not _MISSING:
                return parse_config(table, source=f"{candidate} [tool.policyctl]", base_dir=folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            return LintConfig()
        folder = parent
