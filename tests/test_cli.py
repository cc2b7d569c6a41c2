"""The fieldlog command line: help on every command, users, tokens, backup, migrate, demo."""

import re
import shutil
import sqlite3
import string
from pathlib import Path

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


# --- Chinese for the station admin: command help, click's own words -------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_help_errors_and_usage_are_chinese(env):
    top = run(env, "--help")
    assert top.exit_code == 0
    assert top.output.startswith("用法：") and "\n选项：\n" in top.output and "\n命令：\n" in top.output
    assert "显示此帮助并退出。" in top.output and "Show this message" not in top.output
    for path, command in _all_commands(main):
        assert CJK.search(command.help), f"fieldlog {' '.join(path)}: help is not in Chinese"
        shown = run(env, *path, "--help").output
        assert "Usage" not in shown and "Options" not in shown and "[OPTIONS]" not in shown, path
    unknown = run(env, "nosuch")
    assert unknown.exit_code == 2
    assert "错误：没有这个命令：'nosuch'。" in unknown.output and "查看帮助" in unknown.output
    missing = run(env, "user", "add")
    assert missing.exit_code == 2 and "缺少参数 '用户名'" in missing.output and "Missing" not in missing.output
    option = run(env, "user", "list", "--nosuch")
    assert option.exit_code == 2 and "没有这个选项：'--nosuch'" in option.output
    choice = run(env, "user", "add", "li", "--name", "李四", "--role", "boss", "--password", "long-enough-pw")
    assert choice.exit_code == 2 and "不在可选值" in choice.output
    assert "版本" in run(env, "--version").output
    # Outside a fieldlog command click speaks as before (the translation is scoped to our commands).
    from click import exceptions

    assert exceptions._("Missing argument") == "Missing argument"


def _click_messages() -> set[str]:
    """Every message the installed click passes to gettext (_ and ngettext)."""
    import ast

    found = set()
    for path in Path(click.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "ngettext"):
                found |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return found


# Messages for the developer of a click app (bad declarations, terminals, Windows), never an admin's.
DEVELOPER_ONLY = {
    "d", "Windows error: {error}", "Could not determine name for option with declarations {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? "
    "Did you mean to pass '--{name}'?", "Arguments take exactly one parameter declaration, got {length}: {decls}.",
    "Name '{name}' defined twice", "Boolean option {decl!r} cannot use the same flag for true/false.",
    "Couldn't detect Bash version, shell completion is not supported.",
    "Shell completion is not supported for Bash versions older than 4.4.", "Unknown color {colour!r}",
    "Unknown standard stream '{name}'",
}


def test_every_click_message_an_admin_can_meet_is_translated():
    from fieldlog.messages import CLICK

    known = _click_messages() | {"required"}  # click passes this one as a value: _(extra["required"])
    assert "[必填]" in CliRunner().invoke(main, ["user", "add", "--help"]).output
    assert set(CLICK) <= known, sorted(set(CLICK) - known)  # no stale key after a click upgrade
    assert known - DEVELOPER_ONLY <= set(CLICK), sorted(known - DEVELOPER_ONLY - set(CLICK))
    for english, chinese in CLICK.items():
        fields = lambda s: sorted(f for _, f, _, _ in string.Formatter().parse(s) if f)  # noqa: E731
        assert fields(english) == fields(chinese) and english.count("%(") == chinese.count("%("), english


# --- which database: --database PATH and --demo on every command that opens one ----------------------------

OPENS_A_DATABASE = {"serve", "migrate", "user add", "user passwd", "user list", "token create", "token revoke",
                    "token list", "backup", "restore", "check", "import-sites", "import-plants", "table load",
                    "table show", "rollup"}


def test_every_command_that_opens_a_database_takes_database_and_demo():
    commands = {" ".join(path): command for path, command in _all_commands(main) if not isinstance(command, click.Group)}
    assert OPENS_A_DATABASE | {"demo"} == set(commands)
    for name in OPENS_A_DATABASE:
        options = {o for p in commands[name].params for o in p.opts}
        assert {"--database", "--demo"} <= options, name


def test_commands_act_on_the_demo_or_the_database_given(demo_database, env, tmp_path):
    assert run(env, "user", "list", "--demo").exit_code == 1  # not built yet: said so, nothing created
    assert not (tmp_path / "data" / "demo.db").exists()
    (tmp_path / "data").mkdir(exist_ok=True)
    shutil.copyfile(demo_database[0], tmp_path / "data" / "demo.db")
    listed = run(env, "user", "list", "--demo")
    assert listed.exit_code == 0 and "inspector10" in listed.output
    assert "inspector10" in run(env, "user", "list", "--database", str(tmp_path / "data" / "demo.db")).output
    assert "inspector10" not in run(env, "user", "list").output  # the station's own database is another file
    both = run(env, "user", "list", "--demo", "--database", "x.db")
    assert both.exit_code == 1 and "只能选一个" in both.output
    assert run(env, "check", "--database", str(tmp_path / "nowhere.db")).exit_code == 1
    assert not (tmp_path / "nowhere.db").exists()


def test_rollup_warns_when_the_year_has_no_events(demo_database, env, tmp_path):
    (tmp_path / "data").mkdir()
    shutil.copyfile(demo_database[0], tmp_path / "data" / "demo.db")
    empty = run(env, "rollup", "--demo", "--year", "2030", "--as-of", "2030-12-31", "--out", str(tmp_path / "e.json"))
    assert empty.exit_code == 0 and (tmp_path / "e.json").is_file()
    assert "2030 年截至 2030-12-31 没有任何现场记录" in empty.output and "总分" not in empty.output
    assert "差" not in empty.output
    full = run(env, "rollup", "--demo", "--year", "2021", "--as-of", "2021-12-31", "--out", str(tmp_path / "f.csv"))
    assert full.exit_code == 0 and "总分" in full.output and "没有任何现场记录" not in full.output
    bad = run(env, "rollup", "--year", "2021", "--as-of", "31/12/2021", "--out", str(tmp_path / "b.csv"))
    assert bad.exit_code == 1 and "--as-of 须为日期" in bad.output


def test_serve_says_it_is_upgrading_an_old_database_before_it_does(tmp_path, capsys):
    from fieldlog import cli

    path = tmp_path / "old.db"
    database = db_mod.connect(path)
    db_mod.migrate(database, db_mod.migration_files()[:5])
    database.close()
    applied = cli.bring_up_to_date(path)
    out = capsys.readouterr().out
    later = [f.stem for f in db_mod.migration_files()[5:]]
    assert applied == later
    assert out.index("正在升级数据库") < out.index("已应用")
    assert f"{len(later)} 个升级" in out and later[-1] in out
    database = db_mod.connect(path)
    assert db_mod.pending_migrations(database) == []
    database.close()
    assert cli.bring_up_to_date(path) == [] and capsys.readouterr().out == ""  # up to date: nothing said
    assert cli.bring_up_to_date(tmp_path / "new.db") == [] and not (tmp_path / "new.db").exists()


def test_the_demo_start_line_writes_its_dates_in_chinese():
    from datetime import datetime

    from fieldlog import cli
    from fieldlog.demo import TZ

    line = cli.demo_dates_line(datetime(2026, 12, 2, 11, 10, tzinfo=TZ))
    assert "2025 年全年" in line and "2026 年 1 月 1 日至 12 月 2 日 11:10" in line
    assert not re.search(r"\d{4}-\d{2}-\d{2}", line)
