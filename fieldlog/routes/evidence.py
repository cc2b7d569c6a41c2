"""Evidence behind the chief's numbers: the timeline of a site or plant, and filtered event lists."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlite_utils import Database

from fieldlog import coverage, events, integers, photos, registry
from fieldlog.errors import InvalidInput
from fieldlog.messages import t
from fieldlog.periods import Period, quarter
from fieldlog.routes.chief import CHIEF, parse_inspector, parse_year, station_today
from fieldlog.web import MAX_PAGE, Int64, get_db, render_page

router = APIRouter(include_in_schema=False)  # HTML pages: kept out of the API docs


def parse_kind(text: str | None) -> str | None:
    """An event kind from the query, or None; InvalidInput naming `kind` when unknown."""
    text = (text or "").strip()
    if not text:
        return None
    if text not in events.KINDS:
        raise InvalidInput({"kind": t("events.kind_unknown")})
    return text


def parse_span(today: date, month: str = "", quarter_label: str = "", year: str = "") -> Period | None:
    """The period asked for by ?month=YYYY-MM, ?quarter=YYYY-Qn or ?year=YYYY (None = all time)."""
    if month.strip():
        return coverage.month_or_current(month, today)
    if quarter_label.strip():
        y, _, q = quarter_label.strip().partition("-Q")
        number = integers.parse(y, 1000, 9999) if len(y) == 4 else None
        if number is None or q not in {"1", "2", "3", "4"}:
            raise InvalidInput({"quarter": t("events.quarter_malformed")})
        return quarter(number, int(q))
    y = parse_year(year)
    return Period(date(y, 1, 1), date(y, 12, 31), str(y)) if y else None


def photos_for(db: Database, rows: list[dict]) -> dict[str, list[dict]]:
    """{event id: photos} for the listed events."""
    return {r["id"]: photos.for_event(db, r["id"]) for r in rows}


def _page(request: Request, db: Database, title: str, subject: dict | None, back: str, period: Period | None,
          kind: str | None, **filters):
    """The evidence page, a page of events at a time; htmx's "load more" gets the next page's items alone."""
    months = period.months() if period else None
    page = integers.parse(request.query_params.get("page"), 1, MAX_PAGE) or 1
    size = coverage.TIMELINE_PAGE
    rows = coverage.timeline(db, size, (page - 1) * size, months=months, kind=kind, **filters)
    listed = events.count_events(db, months=months, kind=kind, **filters)
    more = {k: v for k, v in request.query_params.items() if k != "page"} | {"page": page + 1}
    return render_page(request, "evidence.html", "_timeline_items.html", {
        "title": title, "subject": subject, "back": back, "period": period, "kind": kind, "rows": rows,
        "counted": events.count_events(db, months=months, kind=kind, include_voided=False, **filters),
        "listed": listed, "shown": min(listed, (page - 1) * size + len(rows)), "page": page,
        "more_url": f"{request.url.path}?{urlencode(more)}" if page * size < listed else None,
        "photos": photos_for(db, rows), "kind_label": coverage.kind_label,
        "month": period if period and len(months) == 1 else None, "kinds": events.KINDS})


@router.get("/chief/sites/{site_id:int}")
def site_evidence(request: Request, site_id: Int64, month: str = "", kind: str = "",
                  db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Timeline of a site's events (optionally one month and kind)."""
    site = registry.get_site(db, site_id)
    period = parse_span(station_today(request), month)
    return _page(request, db, site["name"], {**site, "type": "site"}, f"/chief/coverage?month={month}",
                 period, parse_kind(kind), site_id=site_id)


@router.get("/chief/plants/{plant_id:int}")
def plant_evidence(request: Request, plant_id: Int64, month: str = "", kind: str = "",
                   db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Timeline of a plant's events (optionally one month and kind)."""
    plant = registry.get_plant(db, plant_id)
    period = parse_span(station_today(request), month)
    return _page(request, db, plant["name"], {**plant, "type": "plant"}, f"/chief/coverage?month={month}",
                 period, parse_kind(kind), plant_id=plant_id)


@router.get("/chief/events")
def event_evidence(request: Request, kind: str = "", month: str = "", quarter: str = "", year: str = "",
                   inspector: str = "", db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Events of one kind, period or inspector across subjects."""
    period = parse_span(station_today(request), month, quarter, year)
    chosen = parse_kind(kind)
    title = (coverage.kind_label(chosen) if chosen else t("events.all_events")) + (f" · {period.label}" if period else "")
    return _page(request, db, title, None, "/chief", period, chosen, inspector_id=parse_inspector(inspector))
