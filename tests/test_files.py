"""Output files: permissions like a plain write, clear refusals, the output rule unit by unit."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from policyctl.errors import OutputError, OutputExistsError, UsageError
from policyctl.files import OutputFile, check_outputs, refuse_overwrite, same_output, write_output

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


# --- the output rule, unit by unit (the CLI-level tests are in test_outputs.py) --------------------

def test_refuse_overwrite_compares_files_not_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("in.json").write_text("{}\n")
    Path("sym.json").symlink_to("in.json")
    os.link("in.json", "hard.json")
    for alias in ("in.json", "./in.json", "sub/../in.json", "sym.json", "hard.json", str(tmp_path / "in.json")):
        Path("sub").mkdir(exist_ok=True)
        with pytest.raises(UsageError, match=r"^-o .*: refusing to overwrite an input$"):
            refuse_overwrite("-o", alias, ["other.json", None, "in.json"])
    refuse_overwrite("-o", "new.json", ["in.json"])  # a new path is no input
    refuse_overwrite("-o", "-", ["in.json", "-"])  # stdout


@posix_only
def test_a_fifo_or_device_is_never_refused_as_an_input(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f")
    refuse_overwrite("-o", tmp_path / "f", [tmp_path / "f"])  # writing into it replaces nothing
    assert same_output("/dev/null", "/dev/null") is False  # two reports may both go to /dev/null


def test_two_outputs_naming_one_file(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("")
    (tmp_path / "link.json").symlink_to(tmp_path / "r.json")
    assert same_output(tmp_path / "r.json", tmp_path / "link.json")
    assert same_output(tmp_path / "new.xml", tmp_path / "." / "new.xml")  # neither exists yet
    assert not same_output(tmp_path / "r.json", tmp_path / "other.json")
    with pytest.raises(UsageError, match="^--junit and --output name the same file$"):
        check_outputs([("--output", str(tmp_path / "r.json")), ("--junit", str(tmp_path / "link.json"))], [])


@posix_only
def test_a_symlinked_output_stays_a_symlink_and_its_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("old\n")
    (tmp_path / "report.txt").symlink_to("real.txt")
    write_output(tmp_path / "report.txt", "new\n")
    assert (tmp_path / "report.txt").is_symlink()
    assert (tmp_path / "real.txt").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real.txt", "report.txt"]


def test_no_force_never_replaces_a_file_that_appeared_during_the_write(tmp_path: Path) -> None:
    target = tmp_path / "p.policy.json"
    out = OutputFile(target, force=False)
    out.write("{}\n")
    target.write_text("someone else's\n")  # created between the check and the rename
    with pytest.raises(OutputExistsError, match="already exists"):
        out.commit()
    assert target.read_text() == "someone else's\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.policy.json"]


def test_abort_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with OutputFile(tmp_path / "r.jsonl") as out:
            out.write(b'{"line": 1}\n' * 10_000)  # more than one chunk: some of it reached the disk
            raise RuntimeError("the run failed")
    assert list(tmp_path.iterdir()) == []


@posix_only
def test_a_fifo_is_opened_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so opening for writing does not block
    try:
        write_output(fifo, "payload\n", force=False)  # a stream is not "an existing file"
        assert os.read(reader, 100) == b"payload\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_a_missing_descriptor_is_an_output_error() -> None:
    if not Path("/dev/fd").is_dir():
        pytest.skip("needs /dev/fd")
    fd = os.open(os.devnull, os.O_RDONLY)
    os.close(fd)  # a descriptor number that is certainly closed now
    with pytest.raises(OutputError, match=f"^cannot write /dev/fd/{fd}: "):
        write_output(f"/dev/fd/{fd}", "x\n")
