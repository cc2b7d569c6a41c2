"""Audit log: sign-ins, refusals and registry changes."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog.db import write
from fieldlog.periods import utc_stamp


def utcnow_iso(now: datetime | None = None) -> str:
    """UTC timestamp as ISO 8601 with offset."""
    return utc_stamp(now)


def record(db: Database, action: str, *, user: dict | None = None, username: str | None = None,
           target: str | None = None, detail: dict | None = None, ip: str | None = None,
           now: datetime | None = None) -> None:
    """Append one line to the audit log (inside the caller's write when there is one, so both land or neither)."""
    with write(db):
        db.execute(
            "INSERT INTO audit_log (at, user_id, username, action, target, detail, ip) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [utcnow_iso(now), user["id"] if user else None, username or (user["username"] if user else None),
             action, target, json.dumps(detail or {}, ensure_ascii=False), ip],
        )


def recent(db: Database, limit: int = 200) -> list[dict]:
    """Newest audit lines first."""
    return list(db.query("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", [limit]))


def recent_lines(db: Database, limit: int, tz: ZoneInfo) -> list[dict]:
    """Newest audit lines first, each with its station-local time (local_at) and decoded details."""
    lines = recent(db, limit)
    for line in lines:
        line["local_at"] = datetime.fromisoformat(line["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        line["details"] = json.loads(line["detail"] or "{}")
    return lines
