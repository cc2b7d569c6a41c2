"""Administrator pages: users (add, reset password, deactivate), audit log, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlite_utils import Database

from fieldlog import accounts, audit
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.messages import t
from fieldlog.web import Int64, client_ip, current_time, get_db, redirect, render, require

router = APIRouter()
admin_only = require("admin")


def _users_page(request: Request, db: Database, errors: dict | None = None, values: dict | None = None,
                notice: str | None = None, status: int = 200, reset_errors: dict | None = None):
    return render(request, "admin_users.html", {
        "users": accounts.list_users(db), "errors": errors or {}, "values": values or {"role": "inspector"},
        "notice": notice, "reset_errors": reset_errors or {}}, status)


@router.get("/admin/users")
def users_page(request: Request, notice: str = "", db: Database = Depends(get_db), user=Depends(admin_only)):
    notices = {"created": t("routes.user_created"), "password": t("routes.password_reset"),
               "activated": t("routes.user_activated"), "deactivated": t("routes.user_deactivated")}
    return _users_page(request, db, notice=notices.get(notice))


@router.post("/admin/users")
def user_create(request: Request, username: str = Form(""), display_name: str = Form(""), role: str = Form(""),
                password: str = Form(""), db: Database = Depends(get_db), user=Depends(admin_only)):
    values = {"username": username.strip(), "display_name": display_name.strip(), "role": role}
    now = current_time(request)
    try:
        accounts.create_user(db, values["username"], values["display_name"], role, password, now=now, actor=user,
                             ip=client_ip(request))
    except InvalidInput as exc:
        return _users_page(request, db, errors=exc.errors, values=values, status=422)
    return redirect("/admin/users?notice=created")


@router.post("/admin/users/{user_id:int}/password")
def user_password(request: Request, user_id: Int64, password: str = Form(""), db: Database = Depends(get_db),
                  user=Depends(admin_only)):
    target = accounts.get_user(db, user_id)
    if not target:
        raise NotFound(t("accounts.user_not_found"))
    now = current_time(request)
    try:
        accounts.set_password(db, target["username"], password, now=now, actor=user, ip=client_ip(request))
    except InvalidInput as exc:
        message = exc.errors.get("password", t("web.clause_separator").join(exc.errors.values()))
        return _users_page(request, db, reset_errors={user_id: message}, status=422)
    return redirect("/admin/users?notice=password")


@router.post("/admin/users/{user_id:int}/active")
def user_active(request: Request, user_id: Int64, active: str = Form(""), db: Database = Depends(get_db),
                user=Depends(admin_only)):
    try:
        accounts.set_active(db, user_id, active == "1", user, now=current_time(request))
    except InvalidInput as exc:
        return _users_page(request, db, reset_errors={user_id: exc.errors["active"]}, status=422)
    return redirect("/admin/users?notice=" + ("activated" if active == "1" else "deactivated"))


@router.get("/admin/audit")
def audit_page(request: Request, db: Database = Depends(get_db), user=Depends(admin_only)):
    cfg = request.app.state.config
    return render(request, "admin_audit.html", {"lines": audit.recent_lines(db, 300, cfg.tz), "tz": cfg.timezone})


@router.get("/admin/tokens")
def tokens_page(request: Request, notice: str = "", db: Database = Depends(get_db), user=Depends(admin_only)):
    return render(request, "admin_tokens.html", {"tokens": accounts.list_tokens(db),
                                                 "notice": t("routes.token_revoked") if notice == "revoked" else None})


@router.post("/admin/tokens/{token_id:int}/revoke")
def token_revoke(request: Request, token_id: Int64, db: Database = Depends(get_db), user=Depends(admin_only)):
    now = current_time(request)
    if not accounts.revoke_token(db, token_id, now=now, actor=user, ip=client_ip(request)):
        raise NotFound(t("accounts.token_not_live"))
    return redirect("/admin/tokens?notice=revoked")
