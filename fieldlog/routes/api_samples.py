"""JSON API for concrete samples: the samples awaiting results, one sample, and adding a lab result to one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlite_utils import Database

from fieldlog import samples
from fieldlog.messages import t
from fieldlog.routes.api_events import ERRORS, _body_schema, _object, field_worker, json_body
from fieldlog.web import InvalidQuery, current_time, get_db, station_today

router = APIRouter(prefix="/api/v1", tags=["samples"])


class ResultIn(BaseModel):
    """A lab's report on one sample (every message of a refusal is in Chinese and names its field)."""

    report_no: str = Field(description=t("api.samples_report_no"))
    report_on: str = Field(description=t("api.samples_report_on"), examples=["2021-07-14"])
    result: str = Field(description=t("api.samples_result"), examples=["合格"])  # zh: data
    measured_mpa: float | None = None
    fee_yuan: float | None = Field(None, description=t("api.samples_fee"))
    note: str | None = None


@router.get("/samples", summary=t("api.samples_list"))
def list_samples(request: Request, status: str = Query("pending", description=t("api.samples_status")),
                 db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """Samples awaiting results (overdue first, with days since sampling); `status=failed` lists 不合格 results."""
    today = station_today(request)
    if status not in ("pending", "failed"):
        raise InvalidQuery({"status": t("lab.status_invalid")})
    rows = samples.awaiting(db, today) if status == "pending" else samples.failed(db, today)
    return {"as_of": today.isoformat(), "due_days": samples.due_days(), "samples": [samples.as_json(r) for r in rows]}


@router.get("/samples/{event_id}", summary=t("api.samples_one"))
def get_sample(event_id: str, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """One sample with its current result and every result entered for it."""
    return {**samples.as_json(samples.get_sample(db, event_id)), "history": samples.history(db, event_id)}


@router.post("/samples/{event_id}/results", status_code=201, summary=t("api.samples_result_post"),
             openapi_extra=_body_schema(ResultIn), responses=ERRORS)
def post_result(request: Request, event_id: str, body: Any = Depends(json_body), db: Database = Depends(get_db),
                user: dict = Depends(field_worker)):
    """Add a lab result to a sample (earlier results are kept; the newest holds)."""
    sample = samples.record_result(db, event_id, _object(body), user=user, now=current_time(request),
                                   today=station_today(request), source="api")
    return JSONResponse(samples.as_json(sample), status_code=201)
