"""Operations an administrator runs: back up (with rotation), restore, and check an installation.

A backup is a database file written with SQLite's online backup API (consistent while the server runs)
and, beside it, `<file>-media/` with the photo files. In a backup folder each backup is named
`fieldlog-YYYYMMDDTHHMMSSZ.db` (UTC), so names sort by age and rotation never touches other files.

Restore never swaps a database a running fieldlog has open: every app holds a shared lock on
`<database>.lock` for as long as it runs (`hold`), and restore takes it exclusively or refuses. With the
server stopped, the backup is checked, copied next to the database, migrated and checked again, the photos
are copied in (added, never deleted), and only then is the copy renamed over the database in one step; the
database it replaces is kept beside it as `<database>.before-restore-<time>`.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fieldlog import config as config_mod, db as db_mod
from fieldlog.messages import t

BACKUP_NAME = re.compile(r"^fieldlog-(\d{8}T\d{6}Z)(?:-(\d+))?\.db$")
STAMP = "%Y%m%dT%H%M%SZ"
# fieldlog check: when a backup counts as too old, and how little free disk is too little.
BACKUP_MAX_AGE = timedelta(hours=26)
MIN_FREE_BYTES = 2 * 1024 ** 3
MIN_FREE_SHARE = 0.10


class OpsError(Exception):
    """An operation refused or failed, with the Chinese message to show."""


# --- the database in use -----------------------------------------------------------------------

def lock_path(database: Path) -> Path:
    return Path(f"{database}.lock")


def hold(database: Path):
    """Mark `database` as in use for as long as the returned file stays open (a shared lock; many may hold it)."""
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")
    fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


def exclusive(database: Path):
    """The lock for replacing `database`, or OpsError when a fieldlog process has it open."""
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise OpsError(t("cli.restore_in_use", path=database)) from None
    return handle


def sidecars(path: Path) -> list[Path]:
    """The database file with its WAL and shared-memory files."""
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm")]


# --- backup --------------------------------------------------------------------------------------

def media_of(backup: Path) -> Path:
    """Where the photos of the backup `backup` are."""
    return Path(f"{backup}-media")


def backup_name(now: datetime, n: int = 0) -> str:
    return f"fieldlog-{now.astimezone(timezone.utc):{STAMP}}" + (f"-{n}" if n else "") + ".db"


def backups_in(folder: Path) -> list[tuple[datetime, Path]]:
    """The backups in `folder` (named by `backup`), oldest first, with when each was taken."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = BACKUP_NAME.match(path.name)
        if match and path.is_file():
            taken = datetime.strptime(match.group(1), STAMP).replace(tzinfo=timezone.utc)
            found.append((taken, int(match.group(2) or 0), path))
    return [(taken, path) for taken, _, path in sorted(found)]


def copy_database(source: Path, target: Path) -> None:
    """Copy the database `source` to the new file `target` with the online backup API, and check the copy."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target))
    try:
        with dst:
            src.backup(dst)
        result = dst.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if result != "ok":
        raise OpsError(t("cli.backup_copy_bad", path=target, result=result))


def _copy_media(source: Path, target: Path, previous: Path | None) -> int:
    """Copy the photo files; one the previous backup already holds (same name and size) is hard-linked.

    Photo files are written once under server-chosen names and never changed, so a plain copy taken after the
    database copy holds every photo the database names, and a link shares the unchanged ones between backups.
    """
    copied = 0
    for folder, _, files in os.walk(source):
        rel = Path(folder).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            src, dst = Path(folder) / name, target / rel / name
            old = previous / rel / name if previous else None
            if old is not None and old.is_file() and old.stat().st_size == src.stat().st_size:
                try:
                    os.link(old, dst)
                    continue
                except OSError:
                    pass
            shutil.copy2(src, dst)
            copied += 1
    return copied


def backup(database: Path, media_dir: Path | None, target: Path, previous: Path | None = None) -> Path:
    """Back up `database` (and the photos in `media_dir`) to the new file `target` (and `target`-media/).

    Written under temporary names and renamed when complete, database last: a backup that is there is whole.
    """
    if not database.is_file():
        raise OpsError(t("cli.database_missing", path=database))
    if target.exists() or media_of(target).exists():
        raise OpsError(t("cli.path_exists", path=target))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial_db, partial_media = Path(f"{target}.partial"), Path(f"{media_of(target)}.partial")
    for leftover in [partial_db, partial_media]:
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink(missing_ok=True)
    try:
        copy_database(database, partial_db)
        if media_dir is not None and media_dir.is_dir():
            _copy_media(media_dir, partial_media, media_of(previous) if previous else None)
            partial_media.rename(media_of(target))
        partial_db.rename(target)
    except BaseException:
        partial_db.unlink(missing_ok=True)
        shutil.rmtree(partial_media, ignore_errors=True)
        raise
    return target


def backup_into(folder: Path, database: Path, media_dir: Path | None, now: datetime, keep: int | None = None
                ) -> tuple[Path, list[Path]]:
    """A new timestamped backup in `folder`; then, with `keep`, remove all but the newest `keep`. (new, removed)."""
    existing = backups_in(folder)
    n = 0
    while (folder / backup_name(now, n)).exists() or media_of(folder / backup_name(now, n)).exists():
        n += 1
    made = backup(database, media_dir, folder / backup_name(now, n), existing[-1][1] if existing else None)
    return made, rotate(folder, keep) if keep else []


def rotate(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups of `folder` (database and photos); return those removed."""
    old = [path for _, path in backups_in(folder)][:-keep] if keep > 0 else []
    for path in old:
        shutil.rmtree(media_of(path), ignore_errors=True)
        path.unlink()
    return old


# --- restore -------------------------------------------------------------------------------------

@dataclass
class Restored:
    database: Path
    kept: Path | None        # the database that was replaced, kept beside it
    migrations: list[str]    # migrations applied to the restored copy
    photos: int              # photo files copied in


def _check_backup(path: Path) -> None:
    if not path.is_file():
        raise OpsError(t("cli.backup_missing", path=path))
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            applied = ({r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?",
                                                   [db_mod.MIGRATION_SET])} if "_sqlite_migrations" in tables else set())
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise OpsError(t("cli.backup_unreadable", path=path, error=exc)) from None
    if result != "ok":
        raise OpsError(t("cli.backup_corrupt", path=path, result=result))
    if "events" not in tables:
        raise OpsError(t("cli.backup_not_fieldlog", path=path))
    unknown = applied - {f.stem for f in db_mod.migration_files()}
    if unknown:
        raise OpsError(t("cli.backup_newer", path=path, names=t("web.list_separator").join(sorted(unknown))))


def restore(source: Path, database: Path, media_dir: Path, now: datetime) -> Restored:
    """Replace `database` with the backup `source` (and add its photos to `media_dir`); see the module docstring."""
    _check_backup(source)
    lock = exclusive(database)
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(f"{database}.restoring")
        for leftover in sidecars(staged):
            leftover.unlink(missing_ok=True)
        try:
            copy_database(source, staged)
            conn = db_mod.connect(staged)
            try:
                applied = db_mod.migrate(conn)
                result = conn.execute("PRAGMA integrity_check").fetchone()[0]
                conn.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            if result != "ok":
                raise OpsError(t("cli.backup_corrupt", path=staged, result=result))
            photos = _copy_in(media_of(source), media_dir)
            kept = _set_aside(database, now)
            os.replace(staged, database)
            _fsync_dir(database.parent)
        finally:
            for leftover in sidecars(staged):
                leftover.unlink(missing_ok=True)
    finally:
        lock.close()
    return Restored(database, kept, applied, photos)


def _copy_in(source: Path, media_dir: Path) -> int:
    """Copy the backup's photo files into `media_dir`; files already there stay (names are never reused)."""
    if not source.is_dir():
        return 0
    copied = 0
    for folder, _, files in os.walk(source):
        rel = Path(folder).relative_to(source)
        (media_dir / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            target = media_dir / rel / name
            if not target.exists():
                shutil.copy2(Path(folder) / name, target)
                copied += 1
    return copied


def _set_aside(database: Path, now: datetime) -> Path | None:
    """Fold the WAL into the current database and rename it out of the way; None when there is none."""
    if not database.exists():
        return None
    conn = sqlite3.connect(str(database))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    kept = Path(f"{database}.before-restore-{now.astimezone(timezone.utc):{STAMP}}")
    os.replace(database, kept)
    for side in sidecars(database)[1:]:
        side.unlink(missing_ok=True)
    return kept


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- check ---------------------------------------------------------------------------------------

@dataclass
class Finding:
    topic: str     # the line's heading (Chinese)
    ok: bool
    text: str      # OK: what was found; otherwise what to do


def _line(topic: str, ok: bool, key: str, **values) -> Finding:
    return Finding(t(f"cli.check_{topic}"), ok, t(key, **values))


def check_database(database: Path, full: bool = False) -> list[Finding]:
    """Integrity (quick_check, or integrity_check with `full`), foreign keys and pending migrations."""
    if not database.is_file():
        return [_line("database", False, "cli.check_database_missing", path=database)]
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check" if full else "PRAGMA quick_check")]
            broken_keys = conn.execute("PRAGMA foreign_key_check").fetchall()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            applied = {r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?",
                                                  [db_mod.MIGRATION_SET])} if "_sqlite_migrations" in tables else set()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return [_line("database", False, "cli.check_database_bad", path=database, result=exc)]
    pending = [f.stem for f in db_mod.migration_files() if f.stem not in applied]
    unknown = sorted(applied - {f.stem for f in db_mod.migration_files()})
    sep = t("web.list_separator")
    out = [_line("database", True, "cli.check_database_ok", path=database) if result == ["ok"] and not broken_keys
           else _line("database", False, "cli.check_database_bad", path=database,
                      result=sep.join(result[:3]) if result != ["ok"] else t("cli.check_foreign_keys", n=len(broken_keys)))]
    if unknown:
        out.append(_line("migrations", False, "cli.check_migrations_newer", names=sep.join(unknown)))
    elif pending:
        out.append(_line("migrations", False, "cli.check_migrations_pending", n=len(pending), names=sep.join(pending)))
    else:
        out.append(_line("migrations", True, "cli.check_migrations_ok", n=len(applied)))
    return out


def _gb(n: int) -> str:
    return f"{n / 1024 ** 3:.1f} GB"


def check_disk(folders: list[Path]) -> list[Finding]:
    """Free space where the database, photos and backups are (each file system once)."""
    out, seen = [], set()
    for folder in folders:
        existing = next((p for p in [folder, *folder.parents] if p.exists()), Path("/"))
        device = existing.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        usage = shutil.disk_usage(existing)
        ok = usage.free >= MIN_FREE_BYTES and usage.free >= MIN_FREE_SHARE * usage.total
        out.append(_line("disk", ok, "cli.check_disk_ok" if ok else "cli.check_disk_low", path=existing,
                         free=_gb(usage.free), total=_gb(usage.total), share=f"{usage.free / usage.total:.0%}"))
    return out


def check_secret(key_file: Path, from_environment: bool) -> Finding:
    """The cookie-signing key: given by the environment, or a file readable by its owner only."""
    if from_environment:
        return _line("secret", True, "cli.check_secret_env")
    if not key_file.is_file():
        return _line("secret", False, "cli.check_secret_missing", path=key_file)
    mode = key_file.stat().st_mode & 0o777
    if mode & 0o077:
        return _line("secret", False, "cli.check_secret_open", path=key_file, mode=f"{mode:o}")
    return _line("secret", True, "cli.check_secret_ok", path=key_file, mode=f"{mode:o}")


def check_public_url(url: str) -> Finding:
    """FIELDLOG_PUBLIC_URL: set, an https address the public can reach (not a loopback one)."""
    if not url:
        return _line("public_url", False, "cli.check_public_url_unset")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return _line("public_url", False, "cli.check_public_url_invalid", url=url)
    if config_mod.public_url_problem(url) == "loopback":  # the one rule the survey pages warn by
        return _line("public_url", False, "cli.check_public_url_loopback", url=url)
    if parts.scheme != "https":
        return _line("public_url", False, "cli.check_public_url_http", url=url)
    return _line("public_url", True, "cli.check_public_url_ok", url=url)


def check_timezone(zone: str, now: datetime) -> Finding:
    """The station's zone (months and quarters are cut in it), with the time it is there now."""
    local = now.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    if zone != "Asia/Shanghai":
        return _line("timezone", False, "cli.check_timezone_other", zone=zone, now=local)
    return _line("timezone", True, "cli.check_timezone_ok", zone=zone, now=local)


def check_backups(folder: Path, now: datetime) -> Finding:
    """The newest backup in `folder`: there, whole, and not older than BACKUP_MAX_AGE."""
    found = backups_in(folder)
    if not found:
        return _line("backup", False, "cli.check_backup_none", folder=folder)
    taken, path = found[-1]
    age = now - taken
    hours = f"{age.total_seconds() / 3600:.0f}"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        result = str(exc)
    finally:
        conn.close()
    if result != "ok":
        return _line("backup", False, "cli.check_backup_bad", path=path, result=result)
    if age > BACKUP_MAX_AGE:
        return _line("backup", False, "cli.check_backup_old", path=path, hours=hours, count=len(found))
    return _line("backup", True, "cli.check_backup_ok", path=path, hours=hours, count=len(found))
