"""The chief's pages: monthly coverage, inspectors, follow-ups, pacing of the year and the printable report."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlite_utils import Database

from fieldlog import accounts, coverage, followups, integers, notices, pacing, plans, registry, samples
from fieldlog.errors import InvalidInput
from fieldlog.indicators import quotas
from fieldlog.messages import t
from fieldlog.periods import quarter_of
from fieldlog.web import Page, get_db, render, render_page, require, station_today

router = APIRouter(include_in_schema=False)  # HTML pages: kept out of the API docs
CHIEF = require("chief")
REPORT_NOTICES = 100  # the printed report lists the most overdue notices of the last year, and counts the rest




def parse_inspector(text: str | None) -> int | None:
    """The inspector filter: empty means everyone; InvalidInput naming `inspector` when not a number."""
    text = (text or "").strip()
    if not text:
        return None
    number = integers.parse(text, low=0)
    if number is None:
        raise InvalidInput({"inspector": t("coverage.inspector_filter_invalid")})
    return number


def parse_year(text: str | None) -> int | None:
    """A YYYY year from the query, or None when empty; InvalidInput naming `year` when malformed."""
    text = (text or "").strip()
    if not text:
        return None
    number = integers.parse(text, low=1000, high=9999)
    if number is None or len(text) != 4:
        raise InvalidInput({"year": t("coverage.year_malformed")})
    return number


def filter_query(town: str, inspector_id: int | None) -> str:
    """The '&town=…&inspector=…' tail that keeps the filters on month links ('' without filters)."""
    params = {k: v for k, v in (("town", town), ("inspector", inspector_id)) if v}
    return "&" + urlencode(params) if params else ""


def coverage_context(db: Database, month_text: str | None, today: date, town: str = "",
                     inspector: str | None = None, state_key: str | None = None) -> dict:
    """Everything the coverage page and the report show for one month (tallies count before the state filter)."""
    month = coverage.month_or_current(month_text, today)
    inspector_id = parse_inspector(inspector)
    state = coverage.parse_state(state_key)
    year_quotas = quotas.for_year(db, month.start.year)
    quarter = quarter_of(month.start)
    active = registry.active_sites_in(db, [month, quarter])  # the registry read once for the month and its quarter
    sites = coverage.site_coverage(db, month, today, town=town.strip(), inspector_id=inspector_id, quotas=year_quotas,
                                   active=active[month.label])
    plants = coverage.plant_coverage(db, month, today, quotas=year_quotas)
    return {
        "month": month, "prev": coverage.shift(month, -1), "next": coverage.shift(month, 1), "today": today,
        "days_left": coverage.days_left(month, today), "state": state,
        "sites": [r for r in sites if state in (None, r.state)],
        "plants": [r for r in plants if state in (None, r.state)],
        "site_tally": coverage.tally(sites), "plant_tally": coverage.tally(plants), "plan_summary": plans.summary(sites),
        "sampling": coverage.quarter_sampling(db, month, today, quotas=year_quotas, active=active[quarter.label]),
        "quotas": year_quotas,
        "town": town.strip(), "inspector_id": inspector_id,
        "towns": registry.towns(db), "inspectors": accounts.inspectors(db), "cov": coverage,
        "filtered": bool(town.strip() or inspector_id or state),
        "filter_qs": filter_query(town.strip(), inspector_id),
    }


@router.get("/chief")
@router.get("/chief/coverage")
def coverage_page(request: Request, month: str = "", town: str = "", inspector: str = "", state: str = "",
                  db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Monthly coverage of sites and plants (the chief's landing page); htmx gets the list alone."""
    context = coverage_context(db, month, station_today(request), town, inspector, state)
    return render_page(request, "coverage.html", "_coverage.html", context)


@router.get("/chief/inspectors")
def inspectors_page(request: Request, month: str = "", db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Each inspector's events this month and the coverage of their sites."""
    period, sites = coverage.month_sites(db, month, station_today(request))
    return render(request, "inspectors.html", {
        "month": period, "prev": coverage.shift(period, -1), "next": coverage.shift(period, 1), "cov": coverage,
        "people": coverage.by_inspector(accounts.inspectors(db), sites, coverage.inspector_month(db, period)),
        "unassigned": [r for r in sites if not r.inspectors]})


def _followups(request: Request, db: Database, closed: str, older: str, page: int, inspector_id: int | None = None,
               state: str = "", npage: int = 1):
    today = station_today(request)
    view = followups.followup_page(db, today, include_closed=bool(closed), inspector_id=inspector_id,
                                   older=bool(older), page=page)
    # Notices as documents (issue 14) first, by state and deadline; the patrols' notices below, as before.
    docs = notices.list_page(db, today, state=notices.parse_state(state), page=npage, inspector_id=inspector_id)
    return render(request, "followups.html", {"items": view.items, "tally": view.tally, "view": view, "today": today,
                                              "mine": inspector_id is not None, "show_closed": bool(closed),
                                              "fu": followups, "docs": docs, "notice_states": notices.STATES,
                                              "failed": samples.failed(db, today) if inspector_id is None else []})


@router.get("/chief/followups")
def followups_page(request: Request, closed: str = "", older: str = "", page: Page = 1, state: str = "",
                   npage: Page = 1, db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Notices by state and deadline (state=…, npage=…), then the patrols' open notices of the last year
    (older=1: older ones still open), each paged."""
    return _followups(request, db, closed, older, page, state=state, npage=npage)


@router.get("/followups/mine")
def my_followups_page(request: Request, closed: str = "", older: str = "", page: Page = 1, state: str = "",
                      npage: Page = 1, db: Database = Depends(get_db), user=Depends(require("inspector", "chief"))):
    """The signed-in inspector's own notices."""
    return _followups(request, db, closed, older, page, user["id"], state=state, npage=npage)


@router.get("/chief/report")
def report_page(request: Request, month: str = "", db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Printable monthly report (A4): coverage, plants, follow-ups and pacing."""
    today = station_today(request)
    context = coverage_context(db, month, today)
    as_of = min(today, context["month"].end)
    context["followups"] = followups.followup_page(db, as_of, size=REPORT_NOTICES)
    context["notice_counts"] = notices.month_counts(db, context["month"].start, min(context["month"].end, as_of))
    context["patrol_notices"] = sum(followups.counts(db, as_of, include_closed=True, issued_from=context["month"].start,
                                                     issued_before=min(context["month"].end, as_of) + timedelta(days=1)).values())
    context["notice_types"] = notices.TYPES
    context["as_of"] = as_of
    context["pacing"] = pacing.for_year(db, context["month"].start.year, as_of, request.app.state.config.tz)
    return render(request, "monthly_report.html", context)


@router.get("/chief/pacing")
def pacing_page(request: Request, year: str = "", db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Annual quantities against the amount expected by today, with a server-rendered chart."""
    today = station_today(request)
    chosen = parse_year(year) or today.year
    result = pacing.for_year(db, chosen, today, request.app.state.config.tz)
    month = coverage.month_or_current("", today if chosen == today.year else date(chosen, 12, 1))
    sites = coverage.site_coverage(db, month, today, quotas=quotas.for_year(db, month.start.year))
    return render(request, "pacing.html", {"pacing": result, "year": chosen, "today": today, "plan_month": month,
                                           "summary": plans.summary(sites)})
