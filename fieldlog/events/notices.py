"""The one rule of an open notice: which patrols issued an order, and which reviews close (销号) it as of a day.

The chief's follow-ups (fieldlog.followups) and the phone's review picker (open_notices) both read it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlite_utils import Database

from fieldlog.events import queries
from fieldlog.events.kinds import ORDER_NONE, ORDER_RECTIFY, ORDER_STOP_WORK, normalized

# What a patrol issued: English values, labels in LABELS["notice_order"] (整改通知书, 停工整改).
NOTICE, STOP_WORK = "notice", "stop_work"


def order_of(kind: str, data: dict) -> str | None:
    """The order a patrol issued (NOTICE or STOP_WORK), or None when it issued none.

    An enforcement patrol's `order` is read as stored before migration 009 (无/整改/停工整改) too.
    """
    if kind == "enforcement_patrol":
        order = normalized(kind, "order", data.get("order")) or ORDER_NONE
        if order == ORDER_STOP_WORK:
            return STOP_WORK
        return NOTICE if order == ORDER_RECTIFY or (order != ORDER_NONE and data.get("notice_no")) else None
    return NOTICE if kind == "safety_patrol" and data.get("notice_no") else None


def reviews_since(issued_at: str, reviews: list[dict], today: date | None) -> list[dict]:
    """The reviews that count for a notice: dated on or after it and not after today (None: no limit)."""
    issued = datetime.fromisoformat(issued_at)
    return [r for r in reviews if datetime.fromisoformat(r["occurred_at"]) >= issued
            and (today is None or r["day"] <= today.isoformat())]


def closing_review(counted: list[dict]) -> dict | None:
    """The first of the counted reviews that closed the notice, or None while it is open."""
    return next((r for r in counted if r["closed"]), None)


def is_open(kind: str, data: dict, issued_at: str, reviews: list[dict], today: date | None) -> bool:
    """Whether a patrol issued an order that no counted review has closed yet."""
    return order_of(kind, data) is not None and closing_review(reviews_since(issued_at, reviews, today)) is None


# What the review picker shows of a notice: any inspector may review any open notice (docs/contracts.md,
# "Who sees what"), so it carries what a reviewer needs to pick one and nothing of the patrol itself
# (no note, findings, GPS, photos or inspectors).
PICKER_KEYS = ("id", "site_id", "site_name", "notice_no", "notice_deadline")


def open_notices(db: Database, site_id: int | None = None, today: date | None = None,
                 limit: int = -1) -> list[dict]:
    """Notices open as of today (None: counting every review), earliest deadline first, each only PICKER_KEYS.

    Read from notice_state (migration 014), which its triggers keep to this module's rule (order_of, and
    closing_review of the reviews dated on or after the notice): an index range, not every notice and review.
    """
    return queries.open_notice_picks(db, today, site_id, limit)


def count_open(db: Database, site_id: int | None = None, today: date | None = None) -> int:
    """How many notices open_notices would list without a limit."""
    return queries.count_open_notices(db, today, site_id)
