"""Atomic output files: permissions like a plain write, clear refusals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from policyctl.errors import OutputExistsError
from policyctl.files import write_output

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@posix_only
def test_new_file_gets_umask_mode_not_mkstemp_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_output(tmp_path / "p.policy.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.policy.json").stat().st_mode) == 0o644


@posix_only
def test_forced_overwrite_keeps_the_replaced_files_mode(tmp_path: Path) -> None:
    target = tmp_path / "p.policy.json"
    target.write_text("old\n")
    target.chmod(0o640)
    write_output(target, "new\n", force=True)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_directory_is_named_as_such_even_without_force(tmp_path: Path) -> None:
    with pytest.raises(OutputExistsError, match="is a directory"):
        write_output(tmp_path, "x\n", force=False)
    assert [p.name for p in tmp_path.iterdir()] == []
