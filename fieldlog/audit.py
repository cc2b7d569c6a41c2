"""Audit log: sign-ins, refusals and registry changes."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog.db import write
from fieldlog.messages import LABELS, label, t
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
    row_names = _row_names(db, {int(year) for what, year, *_ in (line["target"].split(":") for line in lines
                                                                 if ":" in (line["target"] or "")) if what == "indicator"
                                and year.isdigit()})
    for line in lines:
        line["local_at"] = datetime.fromisoformat(line["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        line["details"] = json.loads(line["detail"] or "{}")
        line["target_text"] = describe_target(line["target"], row_names)
        line["detail_items"] = [(label("audit_detail", key), _detail_value(key, value))
                                for key, value in line["details"].items()]
    return lines


def _row_names(db: Database, years: set[int]) -> dict[tuple[str, str], str]:
    """(year, row key) -> the row's 三级指标, for the indicator rows the lines name."""
    from fieldlog.indicators.tables import table_for_year  # the indicators record through this module

    return {(str(year), row.key): row.level3 for year in years for row in table_for_year(db, year).rows}


def describe_target(target: str | None, row_names: dict[tuple[str, str], str] | None = None) -> str | None:
    """An audit target as a reader reads it: "site:12" -> "工地 12", "indicator:2021:staff_costs" -> "指标 2021
    人员经费…" (the row's 三级指标 when the year's table knows the key).

    A path (refused requests name the page) stays as it is.
    """
    if not target or ":" not in target:
        return target
    what, _, rest = target.partition(":")
    if what not in LABELS["audit_target"]:
        return target
    parts = rest.split(":")
    if what == "indicator" and len(parts) == 2 and row_names and tuple(parts) in row_names:
        parts[1] = row_names[tuple(parts)]
    return " ".join([label("audit_target", what), *parts])


# Detail values that are enum values, and the label group that names them.
_DETAIL_LABELS = {"role": "role", "grade": "grade"}


def _detail_value(key: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return t("web.list_separator").join(str(v) for v in value)
    if key in _DETAIL_LABELS:
        return label(_DETAIL_LABELS[key], value)
    if key == "kind":
        from fieldlog.surveys import SURVEYS  # surveys records through this module

        return SURVEYS[value]["short"] if value in SURVEYS else str(value)
    return str(value)
