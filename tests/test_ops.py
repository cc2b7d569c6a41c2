"""Operations: backup with rotation, restore (round trip through a running server), `fieldlog check`."""

from __future__ import annotations

import io
import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from click.testing import CliRunner
from PIL import Image

from fieldlog import accounts, db as db_mod, ops
from fieldlog.cli import main
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)


def run(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _env(data: Path, **extra) -> dict:
    return {"FIELDLOG_DATA_DIR": str(data), "FIELDLOG_SECRET_KEY": "k", "FIELDLOG_DATABASE": None,
            "FIELDLOG_MEDIA_DIR": None, "FIELDLOG_BACKUP_DIR": None, **extra}


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m fieldlog serve` in its own process, as a station runs it."""

    def __init__(self, env: dict, command: list[str] | None = None):
        """`command` (the port appended) instead of `fieldlog serve --port`: the app run some other way."""
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
        for k, v in env.items():
            if v is None:
                full.pop(k, None)
        command = command or [sys.executable, "-m", "fieldlog", "serve", "--port"]
        self.process = subprocess.Popen(command + [str(self.port)], cwd=ROOT, env=full, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while time.time() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/login", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("fieldlog serve did not start: " + self.process.stderr.read().decode()[-2000:])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def _log_event(url: str, token: str, site_id: int, user_id: int, photo: bytes | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"id": str(uuid.uuid4()), "kind": "safety_patrol", "site_id": site_id, "inspector_ids": [user_id],
            "occurred_at": datetime.now(factories.TZ).replace(microsecond=0).isoformat(), "fields": {"finding": "无"}}
    response = httpx.post(f"{url}/api/v1/events", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    if photo:
        sent = httpx.post(f"{url}/api/v1/events/{body['id']}/photos", files={"photo": ("p.jpg", photo, "image/jpeg")},
                          headers=headers, timeout=10)
        assert sent.status_code == 201, sent.text
    return body


def _photo_files(media: Path) -> dict[str, bytes]:
    return {str(p.relative_to(media)): p.read_bytes() for p in media.rglob("*.jpg")}


def test_restore_round_trip_through_a_running_server(tmp_path):
    data = tmp_path / "data"
    database = db_mod.open_db(data / "fieldlog.db")
    alice = accounts.create_user(database, "alice", "艾丽丝", "inspector", "correct-horse-battery")
    site_id = factories.site(database, inspectors=[alice])
    token = accounts.create_token(database, "alice", "phone")
    database.close()
    env = _env(data)
    server = Server(env)
    try:
        acknowledged = [_log_event(server.url, token, site_id, alice, _jpeg((i * 40, 90, 160)) if i % 2 else None)
                        for i in range(6)]
        backups = tmp_path / "backups"
        made = run(env, "backup", str(backups), "--keep", "3")
        assert made.exit_code == 0, made.output
        late = _log_event(server.url, token, site_id, alice)  # after the backup: not in it
        photos_at_backup = _photo_files(data / "media")
        assert len(photos_at_backup) == 6  # three photos and their thumbnails
        [(_, backup)] = ops.backups_in(backups)
        refused = run(env, "restore", str(backup))
        assert refused.exit_code == 1 and "正在被运行中的 fieldlog 服务使用" in refused.output
        assert httpx.get(f"{server.url}/api/v1/events/{late['id']}", headers={"Authorization": f"Bearer {token}"}
                         ).status_code == 200  # refused: nothing changed under the running server
    finally:
        server.stop()

    # Into a fresh data folder (a new machine): every acknowledged event and photo, integrity ok, migrations applied.
    fresh = tmp_path / "fresh"
    restored = run(_env(fresh), "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    conn = sqlite3.connect(fresh / "fieldlog.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {r[0] for r in conn.execute("SELECT id FROM events")} == {e["id"] for e in acknowledged}
    assert {r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")} == {f.stem for f in db_mod.migration_files()}
    assert conn.execute("SELECT count(*) FROM event_photos").fetchone()[0] == 3
    conn.close()
    assert _photo_files(fresh / "media") == photos_at_backup
    assert "OK" in run(_env(fresh), "check").output.splitlines()[0]

    # Over the stopped server's own database: replaced in one step, the old one kept beside it.
    over = run(env, "restore", str(backup))
    assert over.exit_code == 0, over.output
    [kept] = list(data.glob("fieldlog.db.before-restore-*"))
    assert sqlite3.connect(kept).execute("SELECT count(*) FROM events WHERE id = ?", [late["id"]]).fetchone()[0] == 1
    server = Server(env)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        for event in acknowledged:
            shown = httpx.get(f"{server.url}/api/v1/events/{event['id']}", headers=headers, timeout=10)
            assert shown.status_code == 200
            for photo in shown.json()["photos"]:
                assert httpx.get(server.url + photo["url"], headers=headers, timeout=10).status_code == 200
        assert httpx.get(f"{server.url}/api/v1/events/{late['id']}", headers=headers, timeout=10).status_code == 404
    finally:
        server.stop()


def test_restore_migrates_an_older_backup_and_refuses_what_it_cannot_use(tmp_path):
    files = db_mod.migration_files()
    old = tmp_path / "old.db"
    database = db_mod.connect(old)
    db_mod.migrate(database, files[:8])
    database.close()
    env = _env(tmp_path / "data")
    result = run(env, "restore", str(old))
    assert result.exit_code == 0, result.output
    assert files[-1].stem in result.output
    conn = db_mod.connect(tmp_path / "data" / "fieldlog.db")
    assert not db_mod.build_migrations().pending(conn)
    conn.close()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    for source, words in ((garbage, "不是可读的 SQLite 数据库"), (tmp_path / "missing.db", "不存在")):
        refused = run(env, "restore", str(source))
        assert refused.exit_code == 1 and words in refused.output
    newer = tmp_path / "newer.db"
    database = db_mod.open_db(newer)
    database.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, '999_future', 'x')",
                     [db_mod.MIGRATION_SET])
    database.close()
    refused = run(env, "restore", str(newer))
    assert refused.exit_code == 1 and "999_future" in refused.output and "更新版本" in refused.output


def test_rotation_keeps_the_newest_and_links_unchanged_photos(tmp_path):
    data = tmp_path / "data"
    db_mod.open_db(data / "fieldlog.db").close()
    media = data / "media" / "2026" / "12"
    media.mkdir(parents=True)
    (media / "a.jpg").write_bytes(b"photo a")
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    made = [ops.backup_into(folder, data / "fieldlog.db", data / "media", NOW + timedelta(days=d), keep=3)
            for d in range(5)]
    names = [p.name for _, p in ops.backups_in(folder)]
    assert names == [made[d][0].name for d in (2, 3, 4)] and names[-1] == "fieldlog-20261205T220000Z.db"
    assert [p.name for p in made[4][1]] == [made[1][0].name]
    assert not ops.media_of(made[0][0]).exists() and (folder / "notes.txt").read_text() == "keep me"
    first, last = (ops.media_of(made[d][0]) / "2026" / "12" / "a.jpg" for d in (2, 4))
    assert first.read_bytes() == b"photo a" and first.stat().st_ino == last.stat().st_ino  # one file, linked
    again = ops.backup_into(folder, data / "fieldlog.db", data / "media", NOW + timedelta(days=4))[0]
    assert again.name == "fieldlog-20261205T220000Z-1.db" and ops.backups_in(folder)[-1][1] == again


def test_backup_command_forms(tmp_path):
    env = _env(tmp_path / "data", FIELDLOG_BACKUP_DIR=str(tmp_path / "nightly"))
    assert run(env, "backup").exit_code == 1  # no database yet: never an empty backup
    run(env, "migrate")
    assert run(env, "backup", "--keep", "2").exit_code == 0
    assert len(ops.backups_in(tmp_path / "nightly")) == 1
    assert run(env, "backup", str(tmp_path / "one.db")).exit_code == 0 and (tmp_path / "one.db").is_file()
    bad = run(env, "backup", "--keep", "0")
    assert bad.exit_code == 2 and "--keep" in bad.output and "不在范围" in bad.output


def _check(env) -> tuple[int, dict[str, tuple[str, str]], str]:
    result = run(env, "check")
    lines = {}
    for line in result.output.splitlines()[:-1]:
        mark, rest = line.split(None, 1)
        topic, _, text = rest.partition("：")
        lines[topic] = (mark, text)
    return result.exit_code, lines, result.output


def test_check_reports_each_item_and_what_to_do(tmp_path):
    data = tmp_path / "data"
    env = _env(data, FIELDLOG_SECRET_KEY=None, FIELDLOG_PUBLIC_URL="https://fieldlog.example.cn")
    code, lines, output = _check(env)
    assert code == 1 and lines["数据库"][0] == "待处理" and "不存在" in lines["数据库"][1]
    run(env, "migrate")
    key = data / "secret.key"
    key.chmod(0o644)
    code, lines, output = _check(env)
    assert code == 1
    assert lines["数据库"][0] == "OK" and lines["数据库升级"][0] == "OK" and lines["磁盘空间"][0] == "OK"
    assert lines["密钥文件"] == ("待处理", f"{key} 权限 644，其他用户也能读：运行 chmod 600 {key}")
    assert lines["时区"][0] == "OK" and "Asia/Shanghai" in lines["时区"][1]
    assert lines["最近备份"][0] == "待处理" and "fieldlog backup --keep 14" in lines["最近备份"][1]
    key.chmod(0o600)
    assert run(env, "backup").exit_code == 0
    code, lines, output = _check(env)
    assert lines["密钥文件"][0] == "OK" and lines["最近备份"][0] == "OK"
    todo = [topic for topic, (mark, _) in lines.items() if mark != "OK"]
    # FIELDLOG_PUBLIC_URL is read when config.py knows it (Config.public_url); before that it stays unset.
    from fieldlog import config

    if hasattr(config.Config, "public_url"):
        assert (code, todo) == (0, []) and output.splitlines()[-1] == "全部正常。"
    else:
        assert (code, todo) == (1, ["公网地址"]) and "FIELDLOG_PUBLIC_URL" in lines["公网地址"][1]


def test_check_finds_an_old_backup_pending_migrations_a_damaged_database_and_another_zone(tmp_path):
    data = tmp_path / "data"
    env = _env(data, FIELDLOG_TIMEZONE="Europe/Berlin")
    database = db_mod.connect(data / "fieldlog.db")
    db_mod.migrate(database, db_mod.migration_files()[:5])
    database.close()
    old = ops.backup_into(data / "backups", data / "fieldlog.db", None, datetime.now(timezone.utc) - timedelta(days=3))[0]
    code, lines, _ = _check(env)
    assert code == 1
    assert lines["数据库升级"][0] == "待处理" and "fieldlog migrate" in lines["数据库升级"][1]
    assert lines["最近备份"][0] == "待处理" and str(old) in lines["最近备份"][1] and "定时备份" in lines["最近备份"][1]
    assert lines["时区"][0] == "待处理" and "FIELDLOG_TIMEZONE=Asia/Shanghai" in lines["时区"][1]
    raw = bytearray((data / "fieldlog.db").read_bytes())
    raw[4096 * 2:4096 * 2 + 200] = b"\xff" * 200  # a damaged page
    (data / "fieldlog.db").write_bytes(bytes(raw))
    code, lines, _ = _check(env)
    assert code == 1 and lines["数据库"][0] == "待处理" and "fieldlog restore" in lines["数据库"][1]


def test_check_disk_and_public_address_rules(tmp_path, monkeypatch):
    assert ops.check_disk([tmp_path])[0].ok
    monkeypatch.setattr(ops, "MIN_FREE_BYTES", 1 << 62)
    low = ops.check_disk([tmp_path, tmp_path / "below"])
    assert len(low) == 1 and not low[0].ok and "清理旧文件或扩容" in low[0].text
    verdicts = {url: ops.check_public_url(url).ok for url in
                ["", "http://127.0.0.1:8000", "https://localhost", "http://fieldlog.example.cn", "fieldlog.example.cn",
                 "https://fieldlog.example.cn"]}
    assert verdicts == {"": False, "http://127.0.0.1:8000": False, "https://localhost": False,
                        "http://fieldlog.example.cn": False, "fieldlog.example.cn": False,
                        "https://fieldlog.example.cn": True}
