"""Rectification notices (整改通知书) and stop-work orders (停工整改) from patrols, and their closing (销号)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlite_utils import Database

from fieldlog.coverage import DUE_SOON_DAYS

NOTICE, STOP_WORK = "整改通知书", "停工整改"
OVERDUE, DUE_SOON, PENDING, CLOSED = "逾期", "临期", "未到期", "已销号"
RANK = {OVERDUE: 0, DUE_SOON: 1, PENDING: 2, CLOSED: 3}
# Same CSS keys as the coverage states.
STATUS_KEY = {OVERDUE: "overdue", DUE_SOON: "due_soon", PENDING: "open", CLOSED: "done"}


@dataclass
class Notice:
    """A notice with its deadline, the latest review and the derived status."""

    event_id: str
    kind: str
    order: str
    notice_no: str
    deadline: date | None
    issued_on: date
    site_id: int | None
    site_name: str
    inspectors: str
    latest_review: dict | None
    closed_on: date | None
    status: str
    days_over: int


def order_of(kind: str, data: dict) -> str | None:
    """The order a patrol issued (整改通知书 or 停工整改), or None when it issued none."""
    if kind == "enforcement_patrol":
        order = data.get("order") or "无"
        if order == "停工整改":
            return STOP_WORK
        return NOTICE if order == "整改" or (order != "无" and data.get("notice_no")) else None
    return NOTICE if kind == "safety_patrol" and data.get("notice_no") else None


def status(deadline: date | None, closed_on: date | None, today: date) -> str:
    """已销号 once closed; else 逾期 past its deadline, 临期 within DUE_SOON_DAYS of it, else 未到期."""
    if closed_on:
        return CLOSED
    if deadline is None:
        return PENDING
    left = (deadline - today).days
    return OVERDUE if left < 0 else DUE_SOON if left <= DUE_SOON_DAYS else PENDING


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _date(text) -> date | None:
    try:
        return date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def reviews_by_notice(db: Database, notice_ids: list[str]) -> dict[str, list[dict]]:
    """{notice event id: [non-voided reviews of it, oldest first]} for the given notices."""
    out: dict[str, list[dict]] = {}
    rows = db.conn.execute(
        "SELECT json_extract(data, '$.notice_event_id'), id, occurred_at, day, json_extract(data, '$.closed') "
        "FROM events WHERE kind = 'rectification_review' AND voided = 0 "
        "AND json_extract(data, '$.notice_event_id') IN (SELECT value FROM json_each(?))", [json.dumps(notice_ids)])
    for notice_id, review_id, occurred_at, day, closed in rows:
        out.setdefault(notice_id, []).append({"id": review_id, "occurred_at": occurred_at, "day": day,
                                              "closed": bool(closed)})
    for reviews in out.values():
        reviews.sort(key=lambda r: _when(r["occurred_at"]))
    return out


def build(row: dict, reviews: list[dict], today: date) -> Notice | None:
    """A Notice from a patrol row and the reviews of it (pure); None when the patrol issued no notice."""
    data = json.loads(row["data"] or "{}")
    order = order_of(row["kind"], data)
    if order is None:
        return None
    issued = _when(row["occurred_at"])
    # Reviews after the notice and up to today (a report as of an earlier day ignores later reviews).
    later = [r for r in reviews if _when(r["occurred_at"]) >= issued and r["day"] <= today.isoformat()]
    closing = next((r for r in later if r["closed"]), None)
    closed_on = date.fromisoformat(closing["day"]) if closing else None
    deadline = _date(data.get("notice_deadline"))
    st = status(deadline, closed_on, today)
    return Notice(row["id"], row["kind"], order, str(data.get("notice_no") or ""), deadline,
                  date.fromisoformat(row["day"]), row["site_id"], row["site_name"] or "", row["inspectors"] or "",
                  later[-1] if later else None, closed_on, st,
                  (today - deadline).days if st == OVERDUE and deadline else 0)


def sort_key(n: Notice) -> tuple:
    """Overdue first (most overdue first), then by deadline."""
    return RANK[n.status], -n.days_over, n.deadline or date.max, n.issued_on


def notices(db: Database, today: date, *, include_closed: bool = False, inspector_id: int | None = None,
            site_id: int | None = None) -> list[Notice]:
    """Notices issued on non-voided patrols up to today, overdue first; open ones only unless include_closed."""
    where, params = "", {"today": today.isoformat()}
    if inspector_id is not None:
        where += (" AND (e.recorded_by = :uid OR EXISTS "
                  "(SELECT 1 FROM event_inspectors x WHERE x.event_id = e.id AND x.user_id = :uid))")
        params["uid"] = inspector_id
    if site_id is not None:
        where += " AND e.site_id = :sid"
        params["sid"] = site_id
    # Blank fields are not stored and an order other than 无 requires notice_no (docs/contracts.md), so
    # notice_no finds every notice. The unary + keeps the planner off the month indexes: a plain scan
    # reads each row once instead of through an index; the partial index on
    # json_extract(data, '$.notice_no') (migration 006) is picked up by this same condition.
    rows = list(db.query(
        "SELECT e.id, e.kind, e.occurred_at, e.day, e.data, e.site_id, s.name AS site_name, "
        "(SELECT group_concat(u.display_name, '、') FROM event_inspectors ei JOIN users u ON u.id = ei.user_id "
        " WHERE ei.event_id = e.id) AS inspectors FROM events e LEFT JOIN sites s ON s.id = e.site_id "
        "WHERE +e.kind IN ('enforcement_patrol', 'safety_patrol') AND +e.voided = 0 AND e.day <= :today "
        "AND json_extract(e.data, '$.notice_no') IS NOT NULL" + where, params))
    reviews = reviews_by_notice(db, [r["id"] for r in rows])
    out = [n for n in (build(r, reviews.get(r["id"], []), today) for r in rows) if n]
    return sorted((n for n in out if include_closed or n.status != CLOSED), key=sort_key)


def tally(items: list[Notice]) -> dict[str, int]:
    """{status: count} in display order."""
    return {s: sum(1 for n in items if n.status == s) for s in RANK}
