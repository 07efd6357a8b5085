"""Lint configuration: files, discovery, validation, and command-line overrides."""

from __future__ import annotations

import pytest

from policyctl.errors import InputError, UsageError
from policyctl.lint.config import LintConfig, load_config, parse_config
from policyctl.lint.rules import codes


def test_defaults():
    cfg = LintConfig()
    assert cfg.enabled_codes() == frozenset(codes())
    assert cfg.fail_level == "error"
    assert cfg.severity_of("PL202", "warning") == "warning"


def test_parse_all_keys_codes_names_prefixes():
    cfg = parse_config({
        "select": ["PL1", "unanchored-allowlist", "PL0"],
        "ignore": "PL108, yaml11-scalar",
        "severity": {"PL201": "error", "counter-name-reused": "error", "PL3": "error"},
        "per-file-ignores": {"legacy/*.yaml": ["PL2"], "*.policy.json": "PL106"},
        "fail_level": "warning",
    }, source="cfg.yaml", base_dir="/proj")
    assert set(cfg.select) == {*(c for c in codes() if c.startswith(("PL1", "PL0"))), "PL201"}
    assert cfg.ignore == ("PL108", "PL301")
    assert dict(cfg.severity) == {"PL201": "error", "PL108": "error", "PL301": "error"}
    assert cfg.per_file_ignores == (("legacy/*.yaml", ("PL201", "PL202")), ("*.policy.json", ("PL106",)))
    assert cfg.fail_level == "warning"
    enabled = cfg.enabled_codes()
    assert "PL202" not in enabled and "PL201" in enabled and "PL108" not in enabled
    assert "PL201" not in cfg.enabled_codes("legacy/old.yaml")
    assert "PL106" not in cfg.enabled_codes("deep/dir/x.policy.json")  # name-only pattern
    assert "PL106" in cfg.enabled_codes("x.policy.yaml")


@pytest.mark.parametrize("data,message", [
    ({"selct": ["PL1"]}, "unknown setting 'selct'"),
    ({"select": ["PL999"]}, "unknown rule 'PL999'"),
    ({"ignore": ["no-such-rule"]}, "unknown rule 'no-such-rule'"),
    ({"select": 5}, "select must be a list of rules"),
    ({"severity": {"PL101": "fatal"}}, "'fatal' is not error or warning"),
    ({"severity": {"PL1x": "error"}}, "unknown rule 'PL1x'"),
    ({"severity": ["PL101"]}, "severity must map rules"),
    ({"fail-level": "info"}, "fail-level 'info' is not error or warning"),
    ({"per-file-ignores": ["x"]}, "per-file-ignores must map glob patterns"),
    ({"per-file-ignores": {"x": 3}}, "must map to a list of rules"),
    (["select"], "configuration must be a mapping"),
])
def test_bad_config_names_the_file(data, message):
    with pytest.raises(InputError) as info:
        parse_config(data, source="my.yaml")
    assert info.value.message.startswith("my.yaml")
    assert message in info.value.message


@pytest.mark.parametrize("data,message", [
    ({"select": []}, "select is empty"),
    ({"select": ""}, "select is empty"),
    ({"select": " , "}, "select is empty"),
    ({"ignore": ["PL001"]}, "'PL001' cannot be ignored: PL001 is a load diagnostic"),
    ({"ignore": ["PL1", "schema-violation"]}, "'schema-violation' cannot be ignored: PL002 is a load"),
    ({"ignore": "PL0"}, "'PL0' cannot be ignored: PL001, PL002, PL003, PL004 are load diagnostics"),
    ({"per-file-ignores": {"legacy/*": ["PL00"]}}, "per-file-ignores 'legacy/*': 'PL00' cannot be ignored"),
    ({"severity": {"PL003": "warning"}}, "severity: 'PL003' cannot be made a warning"),
    ({"severity": {"unportable-number": "warning"}}, "'unportable-number' cannot be made a warning"),
])
def test_load_diagnostics_cannot_be_configured_away(data, message):
    # S2: PL001-PL004 mean "the gateway (and simulate) refuse this file"; no setting hides them
    with pytest.raises(InputError) as info:
        parse_config(data, source="my.yaml")
    assert info.value.message.startswith("my.yaml: ")
    assert message in info.value.message


def test_load_codes_stay_enabled_and_errors_whatever_the_settings():
    load = {"PL001", "PL002", "PL003", "PL004", "PL501", "PL502"}
    cfg = parse_config({"select": ["PL2"], "ignore": ["ALL"], "severity": {"ALL": "warning", "PL001": "error"},
                        "per-file-ignores": {"*": ["PL"]}}, source="c")
    assert cfg.enabled_codes() == frozenset(load)
    assert cfg.enabled_codes("x.policy.json") == frozenset(load)
    assert {cfg.severity_of(code, "error") for code in load} == {"error"}
    assert cfg.severity_of("PL201", "warning") == "warning"  # only the load codes are exempt
    assert LintConfig().with_cli(select=["PL2"]).enabled_codes() == frozenset(load | {"PL201", "PL202"})
    with pytest.raises(UsageError, match="--ignore: 'syntax-error' cannot be ignored"):
        LintConfig().with_cli(ignore=["syntax-error"])


def test_empty_select_in_a_config_file_names_the_file(tmp_path):
    (tmp_path / ".policyctl.yaml").write_text("select: []\n")
    with pytest.raises(InputError) as info:
        load_config(start=str(tmp_path))
    assert info.value.message.startswith(f"{tmp_path / '.policyctl.yaml'}: select is empty")
    (tmp_path / ".policyctl.yaml").unlink()
    (tmp_path / "pyproject.toml").write_text("[tool.policyctl]\nselect = []\n")
    with pytest.raises(InputError) as info:
        load_config(start=str(tmp_path))
    assert info.value.message.startswith(f"{tmp_path / 'pyproject.toml'} [tool.policyctl]: select is empty")


def test_with_cli_overrides():
    cfg = parse_config({"select": ["PL1"], "ignore": ["PL201", "PL106"], "fail-level": "warning"},
                       source="c")
    merged = cfg.with_cli(select=["PL2", "PL106"], ignore=["PL202"], fail_level="error")
    assert merged.select == ("PL201", "PL202", "PL106")
    assert merged.ignore == ("PL201", "PL202")  # PL106 named exactly on the CLI: un-ignored
    assert merged.fail_level == "error"
    assert merged.enabled_codes() == frozenset({"PL106", "PL001", "PL002", "PL003", "PL004", "PL501", "PL502"})
    assert cfg.with_cli() == cfg
    assert cfg.with_cli(ignore=["fully-open"]).ignore == ("PL201", "PL106", "PL202")


def test_with_cli_errors_are_usage_errors():
    with pytest.raises(UsageError, match="--select: unknown rule 'PL77'"):
        LintConfig().with_cli(select=["PL77"])
    with pytest.raises(UsageError, match="--ignore"):
        LintConfig().with_cli(ignore=["nope"])
    with pytest.raises(UsageError, match="--fail-level"):
        LintConfig().with_cli(fail_level="info")


def test_discovers_policyctl_yaml_upward(tmp_path):
    (tmp_path / ".policyctl.yaml").write_text("ignore: [PL202]\nfail-level: warning\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    cfg = load_config(start=str(deep))
    assert cfg.ignore == ("PL202",) and cfg.fail_level == "warning"
    assert cfg.source == str(tmp_path / ".policyctl.yaml")
    assert cfg.base_dir == str(tmp_path)


def test_discovers_pyproject_table_and_skips_pyproject_without_it(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.policyctl]\nselect = ["PL1"]\n'
        '[tool.policyctl.per-file-ignores]\n"old/*" = ["PL106"]\n')
    inner = tmp_path / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    cfg = load_config(start=str(inner))
    assert cfg.select == tuple(c for c in codes() if c.startswith("PL1"))
    assert cfg.per_file_ignores == (("old/*", ("PL106",)),)
    assert cfg.source.endswith("pyproject.toml [tool.policyctl]")


def test_nearest_config_wins(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.policyctl]\nignore = ["PL1"]\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / ".policyctl.yml").write_text("ignore: [PL2]\n")
    assert load_config(start=str(inner)).ignore == ("PL201", "PL202")


def test_no_config_anywhere(tmp_path):
    assert load_config(start=str(tmp_path)) == LintConfig()


def test_explicit_config_files(tmp_path):
    y = tmp_path / "lint.yaml"
    y.write_text("severity: {fully-open: error}\n")
    assert dict(load_config(str(y)).severity) == {"PL202": "error"}
    t = tmp_path / "lint.toml"
    t.write_text('ignore = ["PL3"]\n')
    assert load_config(str(t)).ignore == ("PL301",)
    p = tmp_path / "pyproject.toml"
    p.write_text('[tool.other]\nx = 1\n')
    with pytest.raises(InputError, match="has no \\[tool.policyctl\\] table"):
        load_config(str(p))
    with pytest.raises(InputError, match="configuration file not found"):
        load_config(str(tmp_path / "missing.yaml"))


def test_explicit_config_that_is_not_a_regular_file(tmp_path):
    # the path exists, so "not found" would send the user looking in the wrong place
    with pytest.raises(InputError) as info:
        load_config(str(tmp_path))
    assert info.value.message == f"{tmp_path}: is a directory, not a configuration file"
    with pytest.raises(InputError) as info:
        load_config("/dev/null")
    assert info.value.message == "/dev/null: not a regular file (--config needs a configuration file)"


def test_broken_config_files(tmp_path):
    y = tmp_path / ".policyctl.yaml"
    y.write_text("select: [PL1\n")
    with pytest.raises(InputError) as info:
        load_config(start=str(tmp_path))
    assert info.value.message.startswith(f"{y}:2:")
    y.unlink()
    (tmp_path / "pyproject.toml").write_text("[tool.policyctl\n")
    with pytest.raises(InputError, match="invalid TOML"):
        load_config(start=str(tmp_path))


def test_empty_config_file(tmp_path):
    (tmp_path / ".policyctl.yaml").write_text("# nothing yet\n")
    cfg = load_config(start=str(tmp_path))
    assert cfg.enabled_codes() == frozenset(codes())
