"""JSON API of notices as documents (issue 14): the list by state and deadline, and one notice with its steps.

A notice and its steps are created as events (POST /api/v1/events with kind `notice` or `notice_step`), so the
offline queue sends them like any entry; these routes read what the server made of them (numbers, states).
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query, Request
from sqlite_utils import Database

from fieldlog import events, notices
from fieldlog.errors import Forbidden
from fieldlog.messages import t
from fieldlog.web import Page, get_db, query_params, require, station_today, with_photo_urls

router = APIRouter(prefix="/api/v1", tags=["notices"])
field_worker = require("inspector", "chief")


@router.get("/notices", summary=t("api.notices_list"))
def list_notices(request: Request, state: str = Query("", description=t("api.notices_state")), page: Page = 1,
                 db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """Open notices (or one state's), earliest deadline first: an inspector gets their own, the chief everyone's."""
    today = station_today(request)
    with query_params():  # a bad state: 422 naming the query parameter
        chosen = notices.parse_state(state)
    found = notices.list_page(db, today, state=chosen, page=page,
                              inspector_id=None if user["role"] == "chief" else user["id"])
    return {"as_of": today.isoformat(), "state": chosen, "page": found.page, "pages": found.pages, "total": found.total,
            "tally": found.tally, "notices": [asdict(r) for r in found.items]}


@router.get("/notices/{notice_id}", summary=t("api.notices_one"))
def one_notice(request: Request, notice_id: str, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """One notice: its number, state, receipt, units, items (with their photos) and every step (voided ones too)."""
    found = notices.detail(db, notice_id)
    if not events.can_see(found["event"], user):
        raise Forbidden()
    status, over = notices.status(found["doc"], station_today(request))
    items = [{**{k: v for k, v in i.items() if k != "stored_photos"},
              "stored_photos": [with_photo_urls(p) for p in i["stored_photos"]]} for i in found["items"]]
    steps = [{**s, "photos": [with_photo_urls(p) for p in s["photos"]]} for s in found["steps"]]
    return {**found["doc"], "status": status, "days_over": over, "event": found["event"], "items": items,
            "steps": steps, "allowed_steps": found["allowed"], "followers": found["followers"]}
