"""Survey pages: staff create codes and show QR codes; the public answers at /s/{token} without an account."""

from __future__ import annotations

import io
from datetime import datetime

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from sqlite_utils import Database

from fieldlog import events, registry, surveys
from fieldlog.errors import InvalidInput
from fieldlog.messages import t
from fieldlog.web import (Int64, absolute_url, current_time, client_ip, get_db, public_link_problem, redirect, render,
                          require, station_today)

router = APIRouter()
staff = require("inspector", "chief")



def _local(request: Request, iso: str | None) -> str:
    """A stored UTC timestamp as station-local 'YYYY-MM-DD HH:MM'."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(request.app.state.config.tz).strftime("%Y-%m-%d %H:%M")


def public_url(request: Request, token: str) -> str:
    """The absolute link a respondent opens (what the QR code holds), at FIELDLOG_PUBLIC_URL."""
    return absolute_url(request, f"/s/{token}")


def qr_svg(url: str) -> bytes:
    """The QR code of `url` as SVG."""
    buffer = io.BytesIO()
    # Level M survives a smudged print; the 4-module quiet zone is what scanners expect.
    segno.make(url, error="m", micro=False).save(
        buffer, kind="svg", border=4, omitsize=True, light="#fff", xmldecl=False, title=t("routes.survey_qr_title"))
    return buffer.getvalue()


@router.get("/surveys")
def survey_list(request: Request, db: Database = Depends(get_db), user=Depends(staff)):
    year = station_today(request).year
    codes = surveys.list_codes(db)
    for code in codes:
        code["created_local"] = _local(request, code["created_at"])[:10]
    years = sorted({year, *surveys.answer_years(db)}, reverse=True)
    return render(request, "surveys.html", {"codes": codes, "kinds": surveys.SURVEYS,
                                            "summaries": [(y, surveys.year_summary(db, y)) for y in years]})


def _new_form(request: Request, db: Database, values: dict, errors: dict, status: int = 200):
    sites = registry.site_names(db)
    leaflets = events.recent_leaflets(db)
    return render(request, "survey_new.html", {"values": values, "errors": errors, "sites": sites,
                                               "leaflets": leaflets, "kinds": surveys.SURVEYS,
                                               **_link_warning(request)}, status)


def _link_warning(request: Request) -> dict:
    """What the pages that make or show a code need to warn that the public cannot open it."""
    return {"link_problem": public_link_problem(request), "link_base": absolute_url(request, "")}


@router.get("/surveys/new")
def survey_new(request: Request, kind: str = "", site_id: str = "", event_id: str = "",
               db: Database = Depends(get_db), user=Depends(staff)):
    values = {"kind": kind, "site_id": site_id, "event_id": event_id, "max_answers": "", "note": ""}
    return _new_form(request, db, values, {})


@router.post("/surveys/new")
def survey_create(request: Request, kind: str = Form(""), site_id: str = Form(""), event_id: str = Form(""),
                  max_answers: str = Form(""), note: str = Form(""), db: Database = Depends(get_db),
                  user=Depends(staff)):
    values = {"kind": kind, "site_id": site_id, "event_id": event_id, "max_answers": max_answers, "note": note}
    try:
        code_id = surveys.create_code(db, kind, user=user, site_id=site_id, event_id=event_id,
                                      max_answers=max_answers, note=note, now=current_time(request))
    except InvalidInput as exc:
        return _new_form(request, db, values, exc.errors, 422)
    return redirect(f"/surveys/{code_id}")


@router.get("/surveys/{code_id}")
def survey_detail(request: Request, code_id: Int64, db: Database = Depends(get_db), user=Depends(staff)):
    code = surveys.get_code(db, code_id)
    stats = surveys.code_stats(db, code_id)
    for comment in stats["comments"]:
        comment["at"] = _local(request, comment["at"])
    return render(request, "survey_detail.html", {
        "code": code, "stats": stats, "survey": surveys.SURVEYS[code["kind"]], "url": public_url(request, code["token"]),
        "created": _local(request, code["created_at"]), "closed": _local(request, code["closed_at"]),
        "can_close": not code["closed_at"] and (code["created_by"] == user["id"] or user["role"] == "chief"),
        **_link_warning(request)})


@router.get("/surveys/{code_id}/qr.svg")
def survey_qr(request: Request, code_id: Int64, db: Database = Depends(get_db), user=Depends(staff)):
    code = surveys.get_code(db, code_id)
    # Not cached: the code follows FIELDLOG_PUBLIC_URL, which an admin sets after seeing the warning.
    return Response(qr_svg(public_url(request, code["token"])), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, no-cache"})


@router.get("/surveys/{code_id}/print")
def survey_print(request: Request, code_id: Int64, db: Database = Depends(get_db), user=Depends(staff)):
    code = surveys.get_code(db, code_id)
    return render(request, "survey_print.html", {"code": code, "survey": surveys.SURVEYS[code["kind"]],
                                                 "url": public_url(request, code["token"]), **_link_warning(request)})


@router.post("/surveys/{code_id}/close")
def survey_close(request: Request, code_id: Int64, db: Database = Depends(get_db), user=Depends(staff)):
    surveys.close_code(db, code_id, user=user, now=current_time(request))
    return redirect(f"/surveys/{code_id}")


# --- public pages, no account -------------------------------------------------------------------

# Unknown code: not found; closed or full: gone for good; flood: too many requests, try later.
UNAVAILABLE_STATUS = {"unknown": 404, "closed": 410, "full": 410, "flood": 429}


def _unavailable(request: Request, exc: surveys.Unavailable):
    return render(request, "survey_unavailable.html", {"message": str(exc)}, UNAVAILABLE_STATUS[exc.reason])


def _public_form(request: Request, code: dict, values: dict, errors: dict, status: int = 200):
    return render(request, "survey_public.html", {
        "token": code["token"], "survey": surveys.SURVEYS[code["kind"]], "values": values, "errors": errors,
        "respondent_types": surveys.RESPONDENT_TYPES, "comment_max": surveys.COMMENT_MAX}, status)


@router.get("/s/{token}")
def survey_public(request: Request, token: str, db: Database = Depends(get_db)):
    try:
        code = surveys.check_open(db, surveys.code_by_token(db, token))
    except surveys.Unavailable as exc:
        return _unavailable(request, exc)
    return _public_form(request, code, {}, {})


@router.post("/s/{token}")
async def survey_answer(request: Request, token: str, db: Database = Depends(get_db)):
    form = await request.form()
    cfg = request.app.state.config
    try:
        await run_in_threadpool(surveys.answer, db, token, form, ip=client_ip(request), secret=cfg.secret_key,
                                now=current_time(request), tz=cfg.tz)
    except surveys.Unavailable as exc:
        return _unavailable(request, exc)
    except InvalidInput as exc:
        values = {key: str(value) for key, value in form.items() if key != "csrf_token"}
        return _public_form(request, surveys.code_by_token(db, token), values, exc.errors, 422)
    return redirect(f"/s/{token}/thanks")


@router.get("/s/{token}/thanks")
def survey_thanks(request: Request, token: str):
    return render(request, "survey_thanks.html")
