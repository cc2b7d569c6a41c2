"""GET /api/v1/indicators: every row of a year's target table with its actual, met, source, points and score."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlite_utils import Database

from fieldlog.indicators import evaluation, evidence
from fieldlog.messages import t
from fieldlog.web import get_db, query_params, require, station_today, with_evidence_urls

router = APIRouter(prefix="/api/v1", tags=["indicators"])


@router.get("/indicators", summary=t("api.indicators"))
def indicators_api(request: Request,
                   year: str = Query("", description=t("api.indicators_year")),
                   as_of: str = Query("", description=t("api.indicators_as_of")),
                   db: Database = Depends(get_db), user=Depends(require("chief", "admin"))):
    """Rows in printed order (levels, target text, parsed target, actual, met, source, points, score) and the total."""
    tz = request.app.state.config.tz
    with query_params():
        y, day = evidence.parse_year_as_of(year, as_of, station_today(request))
    return with_evidence_urls(evaluation.to_json(evaluation.build(db, y, day, tz)))
