"""The fieldlog command line: help on every command, users, tokens, backup, migrate, demo."""

import shutil
import sqlite3

import click
import pytest
from click.testing import CliRunner

from fieldlog import accounts, db as db_mod
from fieldlog.cli import main


def _all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


def test_every_command_has_help_text():
    commands = list(_all_commands(main))
    names = {" ".join(path) for path, _ in commands}
    assert {"serve", "migrate", "user add", "user passwd", "user list", "token create", "token revoke",
            "backup", "demo"} <= names
    for path, command in commands:
        assert command.help, f"fieldlog {' '.join(path)} has no help text"
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and "用法" in result.output


@pytest.fixture
def env(tmp_path):
    return {"FIELDLOG_DATA_DIR": str(tmp_path / "data"), "FIELDLOG_SECRET_KEY": "k"}


def run(env, *args, input=None):
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def test_user_add_list_passwd(env, tmp_path):
    result = run(env, "user", "add", "zhang", "--name", "张三", "--role", "inspector", "--password", "long-enough-pw")
    assert result.exit_code == 0, result.output
    assert "zhang" in run(env, "user", "list").output
    bad = run(env, "user", "add", "li", "--name", "李四", "--role", "chief", "--password", "short")
    assert bad.exit_code == 1 and "密码至少" in bad.output
    assert run(env, "user", "passwd", "zhang", "--password", "another-long-pw").exit_code == 0
    db = db_mod.open_db(tmp_path / "data" / "fieldlog.db")
    user, _ = accounts.authenticate(db, "zhang", "another-long-pw", "cli")
    assert user is not None


def test_token_create_and_revoke(env, tmp_path):
    run(env, "user", "add", "chief", "--name", "站长", "--role", "chief", "--password", "long-enough-pw")
    token = run(env, "token", "create", "chief", "--name", "ci").output.strip()
    assert token.startswith("fl_")
    db = db_mod.open_db(tmp_path / "data" / "fieldlog.db")
    assert accounts.token_user(db, token)["username"] == "chief"
    token_id = accounts.list_tokens(db)[0]["id"]
    assert run(env, "token", "revoke", str(token_id)).exit_code == 0
    assert accounts.token_user(db, token) is None
    assert run(env, "token", "revoke", str(token_id)).exit_code == 1


def test_backup_while_a_connection_is_writing(env, tmp_path):
    run(env, "migrate")
    live = db_mod.connect(tmp_path / "data" / "fieldlog.db")
    live.execute("INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES ('a', 'A', 'admin', 'h', 'x')")
    live.conn.execute("BEGIN")
    live.conn.execute("INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES ('b', 'B', 'admin', 'h', 'x')")
    target = tmp_path / "backup" / "copy.db"
    result = run(env, "backup", str(target))
    assert result.exit_code == 0, result.output
    live.conn.execute("COMMIT")
    copy = sqlite3.connect(str(target))
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r[0] for r in copy.execute("SELECT username FROM users")] == ["a"]  # committed data only
    assert run(env, "backup", str(target)).exit_code == 1  # never overwrites


def test_backup_copies_the_photo_files_too(env, tmp_path):
    run(env, "migrate")
    photo = tmp_path / "data" / "media" / "2021" / "03" / "abc.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"jpeg bytes")
    target = tmp_path / "b" / "fieldlog.db"
    assert run(env, "backup", str(target)).exit_code == 0
    assert (tmp_path / "b" / "fieldlog.db-media" / "2021" / "03" / "abc.jpg").read_bytes() == b"jpeg bytes"
    assert not (tmp_path / "c-media").exists()
    assert run(env, "backup", "--no-media", str(tmp_path / "c")).exit_code == 0
    assert not (tmp_path / "c-media").exists()


def test_migrate_is_idempotent(env):
    assert "已应用" in run(env, "migrate").output
    assert "已是最新" in run(env, "migrate").output


def test_demo_builds_registry_and_logins(demo_database, env, tmp_path):
    # conftest.demo_database ran `fieldlog demo --out FILE` once for the run; this test reads its result.
    built, output = demo_database
    assert "chief" in output
    out = tmp_path / "demo.db"
    shutil.copyfile(built, out)
    db = db_mod.open_db(out)
    assert db.execute("SELECT count(*) FROM sites").fetchone()[0] >= 40
    assert db.execute("SELECT count(*) FROM plants").fetchone()[0] == 5
    roles = dict(db.execute("SELECT role, count(*) FROM users GROUP BY role").fetchall())
    assert roles == {"admin": 1, "chief": 1, "inspector": 10}
    # The chief's year-end entries, so the self-evaluation of the demo year is complete.
    from fieldlog.demo import DEMO_MANUAL

    assert db.execute("SELECT count(DISTINCT row_key) FROM manual_values WHERE year = 2021").fetchone()[0] == len(DEMO_MANUAL)
    assert db.execute("SELECT full_year_budget FROM budget_execution WHERE year = 2021").fetchone()[0] == 578.30
    db.close()
    rollup = run(env | {"FIELDLOG_DATABASE": str(out)}, "rollup", "--year", "2021", "--as-of", "2021-12-31",
                 "--out", str(tmp_path / "r.json"))
    assert rollup.exit_code == 0 and "总分" in rollup.output
