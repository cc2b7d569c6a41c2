"""The chief's supervision plan: each site's risk level, reasons and monthly checks (fieldlog.plans)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlite_utils import Database

from fieldlog import coverage, plans, registry
from fieldlog.errors import InvalidInput
from fieldlog.routes.chief import CHIEF
from fieldlog.web import Int64, current_time, get_db, redirect, render, station_today

router = APIRouter(include_in_schema=False)  # HTML pages: kept out of the API docs


@router.get("/chief/plan")
def plan_page(request: Request, month: str = "", db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Every site active in the month with its plan, the checks it implies and what was done."""
    period, rows = coverage.month_sites(db, month, station_today(request))
    return render(request, "plan.html", {
        "month": period, "prev": coverage.shift(period, -1), "next": coverage.shift(period, 1), "rows": rows,
        "summary": plans.summary(rows), "minimum": plans.minimum(db, period.start.year), "kind": plans.PLAN_KIND,
        "levels": plans.LEVELS, "reasons": plans.REASONS})


def _site_page(request: Request, db: Database, site_id: int, values: dict, errors: dict, status: int = 200):
    month = coverage.month_or_current(values.get("from_month"), station_today(request)) if not errors.get("from_month") \
        else coverage.current_month(station_today(request))
    return render(request, "plan_site.html", {
        "site": registry.get_site(db, site_id), "values": values, "errors": errors, "history": plans.history(db, site_id),
        "current": plans.for_month(db, month, [site_id])[site_id], "minimum": plans.minimum(db, month.start.year),
        "levels": plans.LEVELS, "reasons": plans.REASONS}, status)


@router.get("/chief/plan/{site_id:int}")
def plan_site(request: Request, site_id: Int64, db: Database = Depends(get_db), user=Depends(CHIEF)):
    month = station_today(request).strftime("%Y-%m")
    current = plans.for_month(db, coverage.current_month(station_today(request)), [site_id]).get(site_id)
    values = {"from_month": month, "level": current.level if current else "", "reasons": current.reasons if current else [],
              "checks": str(current.checks) if current and current.planned else ""}
    return _site_page(request, db, site_id, values, {})


@router.post("/chief/plan/{site_id:int}")
async def plan_save(request: Request, site_id: Int64, db: Database = Depends(get_db), user=Depends(CHIEF)):
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("from_month", "level", "checks", "note")}
    values["reasons"] = form.getlist("reasons")
    try:
        plans.set_plan(db, site_id, values, user=user, now=current_time(request))
    except InvalidInput as exc:
        return _site_page(request, db, site_id, values, exc.errors, 422)
    return redirect(f"/chief/plan?month={values['from_month']}")
