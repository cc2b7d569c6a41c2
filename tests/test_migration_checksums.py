"""Landed migrations are never edited: migrations/CHECKSUMS holds the sha256 of each, checked here."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from fieldlog import db as db_mod
from fieldlog.resources import resource_dir

MIGRATIONS = resource_dir("migrations")


@pytest.fixture
def folder(tmp_path):
    """A copy of the migrations folder to spoil."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy)
    return copy


def test_every_migration_has_its_landed_checksum():
    assert db_mod.checksum_problems() == []


def test_the_copy_checks_clean(folder):
    assert db_mod.checksum_problems(folder) == []
    assert len([line for line in (folder / "CHECKSUMS").read_text().splitlines() if line[:1].isalnum()]) == len(
        db_mod.migration_files(folder)) >= 8


def test_one_changed_byte_in_a_landed_migration_fails(folder):
    path = folder / "005_indicator_tallies.sql"
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"-1000000")] = ord("+")
    path.write_bytes(bytes(raw))
    problems = db_mod.checksum_problems(folder)
    assert len(problems) == 1 and problems[0].startswith("005_indicator_tallies.sql changed after it landed")


def test_a_migration_without_a_line_fails_until_its_line_is_added(folder):
    new = folder / "009_more.sql"
    new.write_text("CREATE TABLE more (x INTEGER);\n", encoding="utf-8")
    assert db_mod.checksum_problems(folder) == [
        "009_more.sql has no line in CHECKSUMS: add `sha256sum 009_more.sql` in the commit that adds it"]
    with (folder / "CHECKSUMS").open("a", encoding="utf-8") as f:
        f.write(f"{hashlib.sha256(new.read_bytes()).hexdigest()}  009_more.sql\n")
    assert db_mod.checksum_problems(folder) == []


def test_the_line_sha256sum_prints_is_accepted(folder):
    sha256sum = shutil.which("sha256sum")
    if not sha256sum:
        pytest.skip("no sha256sum here")
    new = folder / "009_more.sql"
    new.write_text("SELECT 1;\n", encoding="utf-8")
    line = subprocess.run([sha256sum, new.name], cwd=folder, capture_output=True, text=True, check=True).stdout
    with (folder / "CHECKSUMS").open("a", encoding="utf-8") as f:
        f.write(line)
    assert db_mod.checksum_problems(folder) == []


def test_a_removed_line_a_removed_file_and_a_bad_line_fail(folder):
    sums = folder / "CHECKSUMS"
    lines = sums.read_text(encoding="utf-8").splitlines()
    sums.write_text("\n".join([l for l in lines if "002_photos.sql" not in l] + ["not a checksum line"]) + "\n",
                    encoding="utf-8")
    (folder / "004_surveys.sql").unlink()
    assert sorted(db_mod.checksum_problems(folder)) == [
        "002_photos.sql has no line in CHECKSUMS: add `sha256sum 002_photos.sql` in the commit that adds it",
        "004_surveys.sql is listed in CHECKSUMS but the file is gone",
        "CHECKSUMS line %d is not `sha256  file name`: not a checksum line" % len(lines),
    ]
    sums.unlink()
    assert db_mod.checksum_problems(folder) == [f"CHECKSUMS is missing from {folder}"]


def test_006_is_listed_with_its_edited_text():
    """The edit of 006 is what landed on main; 008 repairs the databases built with its first text."""
    text = (MIGRATIONS / "006_followup_indexes.sql").read_bytes()
    assert b"events_review_notice" not in text
    assert f"{hashlib.sha256(text).hexdigest()}  006_followup_indexes.sql" in (
        MIGRATIONS / "CHECKSUMS").read_text(encoding="utf-8").splitlines()
