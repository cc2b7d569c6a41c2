"""Rectification notices (整改通知书) and stop-work orders (停工整改) from patrols, and their closing (销号)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from sqlite_utils import Database

from fieldlog.coverage import DUE_SOON_DAYS
from fieldlog.events import queries
# The notice rule itself lives in events.notices (the phone's picker reads it too); its names stay importable here.
from fieldlog.events.notices import NOTICE as NOTICE, STOP_WORK as STOP_WORK, closing_review, order_of, reviews_since

# A notice's status: English values, labels in LABELS["followup_status"] (逾期, 临期, 未到期, 已销号).
OVERDUE, DUE_SOON, PENDING, CLOSED = "overdue", "due_soon", "pending", "closed"
RANK = {OVERDUE: 0, DUE_SOON: 1, PENDING: 2, CLOSED: 3}
# Same CSS keys as the coverage states.
STATUS_KEY = {OVERDUE: "overdue", DUE_SOON: "due_soon", PENDING: "open", CLOSED: "done"}


@dataclass
class Notice:
    """A notice with its deadline, the latest review and the derived status.

    `order` (NOTICE, STOP_WORK) and `status` are English values; pages show label("notice_order", ...) and
    label("followup_status", ...).
    """

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


def status(deadline: date | None, closed_on: date | None, today: date) -> str:
    """CLOSED once closed; else OVERDUE past its deadline, DUE_SOON within DUE_SOON_DAYS of it, else PENDING."""
    if closed_on:
        return CLOSED
    if deadline is None:
        return PENDING
    left = (deadline - today).days
    return OVERDUE if left < 0 else DUE_SOON if left <= DUE_SOON_DAYS else PENDING


def _date(text) -> date | None:
    try:
        return date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def build(row: dict, reviews: list[dict], today: date) -> Notice | None:
    """A Notice from a patrol row and the reviews of it (pure); None when the patrol issued no notice."""
    data = json.loads(row["data"] or "{}")
    order = order_of(row["kind"], data)
    if order is None:
        return None
    # Reviews after the notice and up to today (a report as of an earlier day ignores later reviews).
    later = reviews_since(row["occurred_at"], reviews, today)
    closing = closing_review(later)
    closed_on = date.fromisoformat(closing["day"]) if closing else None
    deadline = _date(data.get("notice_deadline"))
    st = status(deadline, closed_on, today)
    return Notice(row["id"], row["kind"], order, str(data.get("notice_no") or ""), deadline,
                  date.fromisoformat(row["day"]), row["site_id"], row["site_name"] or "", row["inspectors"] or "",
                  later[-1] if later else None, closed_on, st,
                  (today - deadline).days if st == OVERDUE and deadline else 0)


def sort_key(n: Notice) -> tuple:
    """Overdue first (most overdue first), then by deadline; closed ones last, the latest closed first (then the
    latest issued: queries.CLOSED_ORDER)."""
    if n.status == CLOSED:
        return RANK[CLOSED], 0, date.max, -(n.closed_on or date.min).toordinal(), -n.issued_on.toordinal()
    return RANK[n.status], -n.days_over, n.deadline or date.max, 0, n.issued_on


def notices(db: Database, today: date, *, include_closed: bool = False, inspector_id: int | None = None,
            site_id: int | None = None, issued_from: date | None = None, issued_before: date | None = None,
            limit: int = -1, offset: int = 0) -> list[Notice]:
    """Notices issued on non-voided patrols up to today (in [issued_from, issued_before) when given), overdue
    first; open ones only unless include_closed. limit/offset cut a page of that order (notice_state, 014)."""
    rows = queries.notice_rows(db, today, inspector_id, site_id, open_only=not include_closed,
                               issued_from=issued_from, issued_before=issued_before, limit=limit, offset=offset)
    reviews = queries.reviews_by_notice(db, [r["id"] for r in rows])
    out = [n for n in (build(r, reviews.get(r["id"], []), today) for r in rows) if n]
    return sorted((n for n in out if include_closed or n.status != CLOSED), key=sort_key)


def counts(db: Database, today: date, *, include_closed: bool = False, inspector_id: int | None = None,
           issued_from: date | None = None, issued_before: date | None = None) -> dict[str, int]:
    """{status: count} in display order of the notices `notices` lists with the same arguments, without paging."""
    found = queries.notice_counts(db, today, today + timedelta(days=DUE_SOON_DAYS), inspector_id,
                                  issued_from=issued_from, issued_before=issued_before, open_only=not include_closed)
    return {s: found[s] for s in RANK}


# The follow-up list shows notices issued in the last year; older ones still open have a view of their own.
RECENT_DAYS = 365
PAGE = 100


@dataclass
class FollowupPage:
    """One page of a follow-up view: its notices, the tally of the whole view, paging, and the other view's count."""

    items: list[Notice]
    tally: dict[str, int]
    page: int
    pages: int
    older: bool
    since: date
    other_open: int      # open notices in the other view (older ones on the recent view, recent ones on the older)


def followup_page(db: Database, today: date, *, include_closed: bool = False, inspector_id: int | None = None,
                  older: bool = False, page: int = 1, size: int = PAGE) -> FollowupPage:
    """The recent view (issued in the last RECENT_DAYS days) or the older view (open notices issued before), paged."""
    since = today - timedelta(days=RECENT_DAYS - 1)
    window = {"issued_before": since} if older else {"issued_from": since}
    other = {"issued_from": since} if older else {"issued_before": since}
    closed = include_closed and not older
    if inspector_id is None:  # the station's: both views' open notices in one read, the closed ones by day
        recent, before = queries.open_counts_by_window(db, today, today + timedelta(days=DUE_SOON_DAYS), since)
        tally, others = (before, recent) if older else (recent, before)
        tally = {**tally, "closed": queries.notices_issued(db, today, since) - sum(recent.values()) if closed else 0}
    else:
        tally = counts(db, today, include_closed=closed, inspector_id=inspector_id, **window)
        others = counts(db, today, inspector_id=inspector_id, **other)
    total = sum(tally.values())
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    items = notices(db, today, include_closed=closed, inspector_id=inspector_id, limit=size,
                    offset=(page - 1) * size, **window)
    return FollowupPage(items, tally, page, pages, older, since, sum(others.values()))


def tally(items: list[Notice]) -> dict[str, int]:
    """{status: count} in display order."""
    return {s: sum(1 for n in items if n.status == s) for s in RANK}
