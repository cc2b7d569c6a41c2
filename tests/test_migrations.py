"""Migrations: fresh database, applied twice, and upgrade from the previous step."""

import sqlite3
from datetime import datetime, timezone

from fieldlog import db as db_mod

# 006_followup_indexes.sql as it first landed (commit 0be6cda), before it was edited in place.
ORIGINAL_006 = """\
CREATE INDEX events_notice_no ON events(json_extract(data, '$.notice_no'))
  WHERE json_extract(data, '$.notice_no') IS NOT NULL;

CREATE INDEX events_review_notice ON events(json_extract(data, '$.notice_event_id'))
  WHERE kind = 'rectification_review';
"""


def _schema(path) -> list[tuple]:
    conn = sqlite3.connect(str(path))
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                        "ORDER BY name").fetchall()
    conn.close()
    return rows


def test_fresh_database_gets_every_migration_recorded(tmp_path):
    db = db_mod.connect(tmp_path / "f.db")
    applied = db_mod.migrate(db)
    files = [f.stem for f in db_mod.migration_files()]
    assert applied == files and files[0] == "001_core"
    recorded = [r["name"] for r in db.query("SELECT name FROM _sqlite_migrations WHERE migration_set = 'fieldlog' ORDER BY rowid")]
    assert recorded == files


def test_applying_twice_changes_nothing(tmp_path):
    path = tmp_path / "t.db"
    db = db_mod.connect(path)
    db_mod.migrate(db)
    before = _schema(path)
    assert db_mod.migrate(db) == []
    assert _schema(path) == before


def test_upgrade_from_previous_step_keeps_data(tmp_path):
    files = db_mod.migration_files()
    path = tmp_path / "u.db"
    db = db_mod.connect(path)
    db_mod.migrate(db, files[:1])
    db.execute("INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES ('x', 'X', 'admin', 'h', 'now')")
    applied = db_mod.migrate(db, files)
    assert applied == [f.stem for f in files[1:]]
    assert db.execute("SELECT username FROM users").fetchall() == [("x",)]


def test_failed_migration_rolls_back_and_stays_pending(tmp_path):
    bad = tmp_path / "999_bad.sql"
    bad.write_text("CREATE TABLE half (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n")
    db = db_mod.connect(tmp_path / "b.db")
    db_mod.migrate(db)
    try:
        db_mod.migrate(db, db_mod.migration_files() + [bad])
    except sqlite3.OperationalError:
        pass
    else:
        raise AssertionError("a broken migration must raise")
    assert "half" not in db.table_names()
    assert "999_bad" not in {r["name"] for r in db.query("SELECT name FROM _sqlite_migrations")}


def test_connection_pragmas(tmp_path):
    db = db_mod.connect(tmp_path / "p.db")
    conn = db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_split_statements_keeps_trigger_bodies_whole():
    sql = "CREATE TABLE a (x);\n-- comment\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\n  SELECT 2;\nEND;\n"
    statements = db_mod.split_statements(sql)
    assert len(statements) == 2 and statements[1].endswith("END;")


def _built_with_original_006(path, files: list) -> list[str]:
    """001–005 by the loader, 006 in its first landed text by hand (recorded as the loader records it), then the
    rest of `files` by the loader; returns the names the loader applied after 006."""
    db = db_mod.connect(path)
    db_mod.migrate(db, [f for f in files if f.stem[:3] < "006"])
    with db.atomic():
        for statement in db_mod.split_statements(ORIGINAL_006):
            db.execute(statement)
        db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
                   [db_mod.MIGRATION_SET, "006_followup_indexes", str(datetime.now(timezone.utc))])
    assert "events_review_notice" in {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    applied = db_mod.migrate(db, files)
    db.close()
    return applied


def test_database_built_with_the_first_006_ends_with_the_same_schema(tmp_path):
    fresh = tmp_path / "fresh.db"
    db = db_mod.connect(fresh)
    db_mod.migrate(db)
    db.close()
    old = tmp_path / "old.db"
    files = db_mod.migration_files()
    assert _built_with_original_006(old, files) == [f.stem for f in files if f.stem[:3] > "006"]
    assert _schema(old) == _schema(fresh)
    assert "events_review_notice" not in {row[1] for row in _schema(old)}


def test_without_008_the_first_006_leaves_an_extra_index(tmp_path):
    """What 008 repairs: stop before it and the two databases differ by exactly that index."""
    files = [f for f in db_mod.migration_files() if f.stem[:3] < "008"]
    fresh = tmp_path / "fresh.db"
    db = db_mod.connect(fresh)
    db_mod.migrate(db, files)
    db.close()
    old = tmp_path / "old.db"
    _built_with_original_006(old, files)
    extra = set(_schema(old)) - set(_schema(fresh))
    assert [row[1] for row in extra] == ["events_review_notice"] and not set(_schema(fresh)) - set(_schema(old))


def test_contracts_list_every_migration():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "contracts.md").read_text(encoding="utf-8")
    section = text.split("## Migration numbers", 1)[1].split("\n## ", 1)[0]
    listed = [line.split("`")[0].strip("- ") + "_" + line.split("`")[1] for line in section.splitlines()
              if line.startswith("- ")]
    assert listed == [f.stem for f in db_mod.migration_files()]
