"""Sign-in, sign-out and the home page."""

from fastapi import APIRouter, Depends, Form, Request
from sqlite_utils import Database

from fieldlog import accounts, audit, coverage, draws, plans
from fieldlog.db import write
from fieldlog.web import (client_ip, current_time, current_user, get_db, redirect, render, require, set_session_cookie,
                          station_today)

router = APIRouter()


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_page(request: Request, next: str = "/", user=Depends(current_user)):
    return render(request, "login.html", {"next": _safe_next(next), "username": "", "error": None})


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
          db: Database = Depends(get_db)):
    now = current_time(request)
    user, error = accounts.authenticate(db, username.strip(), password, client_ip(request), now=now)
    if not user:
        return render(request, "login.html", {"next": _safe_next(next), "username": username, "error": error}, 401)
    with write(db):  # the old session ends and the new one starts together
        if request.state.session:
            accounts.end_session(db, request.state.session["id"], now=now)
        sid = accounts.start_session(db, user["id"], now=now)
    target = _safe_next(next)
    # An inspector's home is the day's work (/log, where the installed app opens too); "/" is their month.
    response = redirect("/log" if target == "/" and user["role"] == "inspector" else target)
    set_session_cookie(request, response, sid)
    return response


@router.post("/logout")
def logout(request: Request, db: Database = Depends(get_db), user=Depends(current_user)):
    if request.state.session:
        now = current_time(request)
        with write(db):
            accounts.end_session(db, request.state.session["id"], now=now)
            audit.record(db, "logout", user=user, ip=client_ip(request), now=now)
    response = redirect("/login")
    set_session_cookie(request, response, None)
    return response


@router.get("/")
def home(request: Request, db: Database = Depends(get_db), user=Depends(require())):
    """The home page of the chief and the admin; an inspector's month (their home is /log): this month's sites
    against their planned checks and the drawn checks due."""
    if user["role"] != "inspector":
        return render(request, "home.html")
    today = station_today(request)
    month = coverage.current_month(today)
    return render(request, "home.html", {
        "month": month, "kind": plans.PLAN_KIND, "my_sites": coverage.site_coverage(db, month, today, inspector_id=user["id"]),
        "my_draws": draws.mine(db, user["id"], today, request.app.state.config.tz)})
