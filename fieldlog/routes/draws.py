"""双随机一公开: the chief draws a month's checks, follows them, publishes the results and prints or exports
the public list (fieldlog.draws)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlite_utils import Database

from fieldlog import coverage, draws
from fieldlog.errors import InvalidInput
from fieldlog.routes.chief import CHIEF
from fieldlog.routes.registry import XLSX_TYPE
from fieldlog.web import Int64, attachment, current_time, get_db, redirect, render, station_today

router = APIRouter(include_in_schema=False)  # HTML pages: kept out of the API docs


def _list_page(request: Request, db: Database, values: dict, errors: dict, status: int = 200):
    return render(request, "draws.html", {"draws": draws.all_draws(db), "values": values, "errors": errors,
                                          "staff": draws.staff(db)}, status)


@router.get("/chief/draws")
def draws_page(request: Request, db: Database = Depends(get_db), user=Depends(CHIEF)):
    month = coverage.current_month(station_today(request)).label
    return _list_page(request, db, {"month": month, "share_percent": draws.SHARE_PERCENT,
                                    "due_working_days": draws.DUE_WORKING_DAYS,
                                    "exclude_responsible": "1" if request.app.state.config.draw_exclude_responsible else "0"},
                      {})


@router.post("/chief/draws")
async def draw_make(request: Request, db: Database = Depends(get_db), user=Depends(CHIEF)):
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("month", "share_percent", "due_working_days", "seed",
                                                          "exclude_responsible")}
    try:
        draw_id = draws.make_draw(db, values, user=user, now=current_time(request),
                                  exclude_default=request.app.state.config.draw_exclude_responsible)
    except InvalidInput as exc:
        return _list_page(request, db, values, exc.errors, 422)
    return redirect(f"/chief/draws/{draw_id}")


def _draw(request: Request, db: Database, draw_id: int) -> draws.Draw:
    return draws.get(db, draw_id, station_today(request), request.app.state.config.tz)


@router.get("/chief/draws/{draw_id:int}")
def draw_page(request: Request, draw_id: Int64, db: Database = Depends(get_db), user=Depends(CHIEF)):
    return render(request, "draw.html", {"d": _draw(request, db, draw_id), "errors": {}, "today": station_today(request)})


@router.post("/chief/draws/{draw_id:int}/publish")
async def draw_publish(request: Request, draw_id: Int64, db: Database = Depends(get_db), user=Depends(CHIEF)):
    form = await request.form()
    today = station_today(request)
    try:
        draws.publish(db, draw_id, {"published_on": form.get("published_on")}, user=user, now=current_time(request),
                      today=today, tz=request.app.state.config.tz)
    except InvalidInput as exc:
        return render(request, "draw.html", {"d": _draw(request, db, draw_id), "errors": exc.errors, "today": today}, 422)
    return redirect(f"/chief/draws/{draw_id}")


@router.get("/chief/draws/{draw_id:int}/print")
def draw_print(request: Request, draw_id: Int64, db: Database = Depends(get_db), user=Depends(CHIEF)):
    """The public list on an A4 page."""
    d = _draw(request, db, draw_id)
    return render(request, "draw_print.html", {"d": d, "headers": draws.public_headers(), "rows": draws.public_rows(d)})


@router.get("/chief/draws/{draw_id:int}/list.csv")
def draw_csv(request: Request, draw_id: Int64, db: Database = Depends(get_db), user=Depends(CHIEF)):
    d = _draw(request, db, draw_id)
    return Response(draws.export_csv(d), media_type="text/csv; charset=utf-8",
                    headers=attachment(f"draw-{d.month}.csv"))


@router.get("/chief/draws/{draw_id:int}/list.xlsx")
def draw_xlsx(request: Request, draw_id: Int64, db: Database = Depends(get_db), user=Depends(CHIEF)):
    d = _draw(request, db, draw_id)
    return Response(draws.export_xlsx(d), media_type=XLSX_TYPE,
                    headers=attachment(f"draw-{d.month}.xlsx"))
