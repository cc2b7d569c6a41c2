"""GET /api/v1/coverage: per active site and plant, the month's counts by kind and whether each quota is met."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlite_utils import Database

from fieldlog import coverage
from fieldlog.indicators import quotas
from fieldlog.messages import t
from fieldlog.routes.chief import CHIEF, station_today
from fieldlog.web import get_db, query_params

router = APIRouter(prefix="/api/v1", tags=["coverage"])


@router.get("/coverage", summary=t("api.coverage"))
def coverage_api(request: Request, month: str = Query("", description=t("api.coverage_month")),
                 db: Database = Depends(get_db), user=Depends(CHIEF)):
    """Counts by kind and quota flags of every site and plant active in the month (chief only)."""
    today = station_today(request)
    with query_params():
        period = coverage.month_or_current(month, today)
    year_quotas = quotas.for_year(db, period.start.year)
    sites = coverage.site_coverage(db, period, today, all_kinds=True, quotas=year_quotas)
    plants = coverage.plant_coverage(db, period, today, all_kinds=True, quotas=year_quotas)
    return {
        "month": period.label, "as_of": today.isoformat(), "due_soon_days": coverage.DUE_SOON_DAYS,
        "quota": {"site": year_quotas.site, "plant": year_quotas.plant},
        "summary": {"sites": coverage.summary(sites), "plants": coverage.summary(plants)},
        "sites": [coverage.as_json(r) for r in sites],
        "plants": [coverage.as_json(r) for r in plants],
    }
