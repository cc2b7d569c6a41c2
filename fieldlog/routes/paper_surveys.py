"""Paper questionnaire pages: the chief or an inspector enters a batch, corrects or voids it with a reason."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from sqlite_utils import Database

from fieldlog import survey_batches, surveys
from fieldlog.errors import InvalidInput
from fieldlog.indicators.evidence import parse_year_as_of
from fieldlog.web import Int64, current_time, get_db, redirect, render, require, station_today

router = APIRouter()
staff = require("inspector", "chief")
FIELDS = ("kind", "collected_on", "place", "respondents", "note")


def _values(form, kind: str) -> dict:
    """The form as survey_batches.clean reads it: counts keyed by answer (count_0 … in the answers' order)."""
    values = {k: str(form.get(k, "")) for k in (*FIELDS, "reason")}
    answers = survey_batches.answers(kind) if kind in surveys.SURVEYS else ()
    values["counts"] = {a: str(form.get(f"count_{i}", "")) for i, a in enumerate(answers)}
    return values


def _form(request: Request, values: dict, errors: dict, batch: dict | None = None, status: int = 200):
    kinds = {k: [(i, a, survey_batches.answer_label(k, a)) for i, a in enumerate(survey_batches.answers(k))]
             for k in surveys.SURVEYS}
    return render(request, "paper_survey_form.html", {"values": values, "errors": errors, "batch": batch,
                                                      "kinds": surveys.SURVEYS, "answers": kinds}, status)


@router.get("/paper-surveys")
def batch_list(request: Request, year: str = "", db: Database = Depends(get_db), user=Depends(staff)):
    """The paper batches of a year, beside the year's phone answers."""
    y, _ = parse_year_as_of(year, None, station_today(request))
    batches = survey_batches.list_between(db, date(y, 1, 1), date(y, 12, 31))
    return render(request, "paper_surveys.html", {"year": y, "batches": batches, "kinds": surveys.SURVEYS,
                                                  "phone": surveys.year_summary(db, y)})


@router.get("/paper-surveys/new")
def batch_new(request: Request, kind: str = "", user=Depends(staff)):
    today = station_today(request).isoformat()
    return _form(request, {"kind": survey_batches.kind_of(kind) or "", "collected_on": today, "counts": {}}, {})


@router.post("/paper-surveys/new")
async def batch_create(request: Request, db: Database = Depends(get_db), user=Depends(staff)):
    form = await request.form()
    values = _values(form, str(form.get("kind", "")))
    try:
        batch_id = survey_batches.create(db, values, user=user, now=current_time(request), tz=request.app.state.config.tz)
    except InvalidInput as exc:
        return _form(request, values, exc.errors, status=422)
    return redirect(f"/paper-surveys/{batch_id}")


@router.get("/paper-surveys/{batch_id}")
def batch_detail(request: Request, batch_id: Int64, db: Database = Depends(get_db), user=Depends(staff)):
    """A batch, who entered it and when, its corrections and voids."""
    batch = survey_batches.get(db, batch_id)
    labels = [(survey_batches.answer_label(batch["kind"], a), batch["counts"].get(a, 0))
              for a in survey_batches.answers(batch["kind"])]
    return render(request, "paper_survey.html", {"batch": batch, "labels": labels, "kinds": surveys.SURVEYS,
                                                 "history": survey_batches.history(db, batch_id),
                                                 "can_change": survey_batches.can_change(batch, user), "errors": {}})


@router.get("/paper-surveys/{batch_id}/edit")
def batch_edit(request: Request, batch_id: Int64, db: Database = Depends(get_db), user=Depends(staff)):
    batch = survey_batches.get(db, batch_id)
    return _form(request, {**{k: batch[k] for k in FIELDS}, "counts": batch["counts"]}, {}, batch)


@router.post("/paper-surveys/{batch_id}/edit")
async def batch_save(request: Request, batch_id: Int64, db: Database = Depends(get_db), user=Depends(staff)):
    batch = survey_batches.get(db, batch_id)
    form = await request.form()
    values = _values(form, str(form.get("kind", "")))
    try:
        survey_batches.edit(db, batch_id, values, user=user, now=current_time(request), tz=request.app.state.config.tz)
    except InvalidInput as exc:
        return _form(request, values, exc.errors, batch, status=422)
    return redirect(f"/paper-surveys/{batch_id}")


@router.post("/paper-surveys/{batch_id}/void")
async def batch_void(request: Request, batch_id: Int64, db: Database = Depends(get_db), user=Depends(staff)):
    form = await request.form()
    try:
        survey_batches.void(db, batch_id, str(form.get("reason", "")), user=user, now=current_time(request))
    except InvalidInput as exc:
        batch = survey_batches.get(db, batch_id)
        return render(request, "paper_survey.html", {
            "batch": batch, "kinds": surveys.SURVEYS, "history": survey_batches.history(db, batch_id),
            "labels": [(survey_batches.answer_label(batch["kind"], a), batch["counts"].get(a, 0))
                       for a in survey_batches.answers(batch["kind"])],
            "can_change": True, "errors": exc.errors}, 422)
    return redirect(f"/paper-surveys/{batch_id}")
