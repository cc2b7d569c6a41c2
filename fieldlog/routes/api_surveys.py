"""JSON API for paper questionnaires: enter a batch from a script, list, read, correct and void batches."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlite_utils import Database

from fieldlog import survey_batches
from fieldlog.indicators.evidence import parse_year_as_of
from fieldlog.messages import t
from fieldlog.routes.api_events import ERRORS, _body_schema, _object, json_body
from fieldlog.web import Int64, current_time, get_db, query_params, require, station_today

router = APIRouter(prefix="/api/v1", tags=["surveys"])
field_worker = require("inspector", "chief")


class BatchIn(BaseModel):
    """A batch of paper answers (checked by fieldlog.survey_batches, which words every message in Chinese)."""

    kind: str = Field(description=t("api.batch_kind"), examples=["satisfaction_survey"])
    collected_on: str = Field(description="the day the sheets were collected, YYYY-MM-DD", examples=["2021-06-16"])
    place: str = Field(description="where they were collected", examples=[t("api.batch_place_example")])
    respondents: int = Field(description="how many people answered", examples=[40])
    counts: dict[str, Any] | None = Field(None, description=t("api.batch_counts"))
    sheets: list[dict[str, Any]] | None = Field(None, description=t("api.batch_sheets"))
    note: str = ""


class BatchPatch(BatchIn):
    reason: str = Field(description="required: why the batch is corrected (kept in the history)")


class VoidIn(BaseModel):
    reason: str = Field(description="required: why the batch is voided")


@router.post("/survey-batches", status_code=201, summary=t("api.survey_batches"),
             openapi_extra=_body_schema(BatchIn), responses=ERRORS)
def post_batch(request: Request, body: Any = Depends(json_body), db: Database = Depends(get_db),
               user: dict = Depends(field_worker)):
    """Enter a batch; 422 naming the field (counts that do not add up: `counts`) stores nothing."""
    batch_id = survey_batches.create(db, _object(body), user=user, now=current_time(request),
                                     tz=request.app.state.config.tz)
    return JSONResponse(survey_batches.as_json(survey_batches.get(db, batch_id)), status_code=201)


@router.get("/survey-batches", summary=t("api.survey_batches"))
def list_batches(request: Request, year: str = "", kind: str = "", db: Database = Depends(get_db),
                 user: dict = Depends(field_worker)):
    """The batches collected in a year (voided ones too, marked), newest first."""
    with query_params():
        y, _ = parse_year_as_of(year, None, station_today(request))
    rows = survey_batches.list_between(db, date(y, 1, 1), date(y, 12, 31), survey_batches.kind_of(kind) if kind else None)
    return {"year": y, "batches": [survey_batches.as_json(b) for b in rows]}


@router.get("/survey-batches/{batch_id}")
def get_batch(batch_id: Int64, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """One batch with its history of corrections and voids."""
    return {**survey_batches.as_json(survey_batches.get(db, batch_id)), "history": survey_batches.history(db, batch_id)}


@router.patch("/survey-batches/{batch_id}", openapi_extra=_body_schema(BatchPatch), responses=ERRORS)
def patch_batch(request: Request, batch_id: Int64, body: Any = Depends(json_body), db: Database = Depends(get_db),
                user: dict = Depends(field_worker)):
    """Correct a batch (the whole batch again, with a reason); the batch as it was is kept."""
    batch = survey_batches.edit(db, batch_id, _object(body), user=user, now=current_time(request),
                                tz=request.app.state.config.tz)
    return survey_batches.as_json(batch)


@router.post("/survey-batches/{batch_id}/void", openapi_extra=_body_schema(VoidIn), responses=ERRORS)
def void_batch(request: Request, batch_id: Int64, body: Any = Depends(json_body), db: Database = Depends(get_db),
               user: dict = Depends(field_worker)):
    """Void a batch with a reason: it counts nowhere from then on."""
    return survey_batches.as_json(survey_batches.void(db, batch_id, _object(body).get("reason", ""), user=user,
                                                      now=current_time(request)))
