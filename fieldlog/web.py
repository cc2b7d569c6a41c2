"""The FastAPI application: per-request database, current user, role checks, CSRF, rendering."""

from __future__ import annotations

import importlib
import pkgutil
import secrets
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Annotated, Iterator

from annotated_types import Interval

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import MutableHeaders
from sqlite_utils import Database

from fieldlog import accounts, audit, config as config_mod, db as db_mod, messages
from fieldlog.errors import Conflict, Forbidden, InvalidInput, NotFound
from fieldlog.integers import INT64_MAX, INT64_MIN
from fieldlog.messages import label, t
from fieldlog.resources import resource_dir

SESSION_COOKIE = "fieldlog_session"
ANON_COOKIE = "fieldlog_anon"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

templates = Jinja2Templates(directory=str(resource_dir("templates")))


# --- links: the web layer alone knows its URLs ----------------------------------------------------

def photo_url(photo_id: str, thumb: bool = False) -> str:
    """Where a stored photo (or its thumbnail) is served."""
    return f"/media/photos/{photo_id}" + ("/thumb" if thumb else "")


def with_photo_urls(photo: dict) -> dict:
    """A photo row with the `url` and `thumb_url` the API has always given."""
    return {**photo, "url": photo_url(photo["id"]), "thumb_url": photo_url(photo["id"], thumb=True)}


def indicator_url(year: int, row_key: str) -> str:
    """The evidence page of one indicator row."""
    return f"/indicators/{year}/{row_key}"


def with_evidence_urls(report: dict) -> dict:
    """An evaluation's JSON (evaluation.to_json) with each row's `evidence_url`."""
    return {**report, "rows": [_with_evidence_url(row, report["year"]) for row in report["rows"]]}


def _with_evidence_url(row: dict, year: int) -> dict:
    # The link stands just before "note", where the JSON has always had it.
    out = {k: v for k, v in row.items() if k != "note"}
    out["evidence_url"] = indicator_url(year, row["key"])
    out["note"] = row["note"]
    return out


templates.env.globals.update(photo_url=photo_url, indicator_url=indicator_url, t=messages.t, label=messages.label)


# --- domain errors about query parameters ---------------------------------------------------------

class InvalidQuery(InvalidInput):
    """A domain InvalidInput whose fields were query parameters (the API's 422 names loc "query")."""


@contextmanager
def query_params() -> Iterator[None]:
    """Re-raise a domain InvalidInput from inside the block as one about the query parameters."""
    try:
        yield
    except InvalidQuery:
        raise
    except InvalidInput as exc:
        raise InvalidQuery(exc.errors) from None


def api_detail(exc: InvalidInput) -> list[dict]:
    """FastAPI-style 422 detail naming each field, in the body unless it came from the query."""
    location = "query" if isinstance(exc, InvalidQuery) else "body"
    return [{"loc": [location, *field.split(".")], "msg": msg, "type": "value_error"}
            for field, msg in exc.errors.items()]


# --- integer parameters: one bound for every route ------------------------------------------------

# Every int a route takes (path, query, JSON model) is an Int64: pydantic accepts any size of int, sqlite3
# cannot bind one beyond 64 bits. Out of range is a 422 naming the parameter, or a 404 for an id in the path
# (see _install_handlers). tests/test_security_input.py checks that no route takes a bare int.
Int64 = Annotated[int, Interval(ge=INT64_MIN, le=INT64_MAX)]
MAX_PAGE = 10**9  # a page number: (page - 1) * page size stays an Int64 for any page size
Page = Annotated[int, Interval(ge=INT64_MIN, le=MAX_PAGE)]
RANGE_ERRORS = {"greater_than_equal", "less_than_equal"}


class LoginRequired(Exception):
    """Raised by a page dependency when nobody is signed in."""


def get_db(request: Request) -> Iterator[Database]:
    """A pooled connection for the request, given back afterwards."""
    pool = request.app.state.pool
    db = pool.get()
    request.state.db = db
    try:
        yield db
    finally:
        pool.put(db)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.config.secret_key, salt="session")


def resolve_user(request: Request, db: Database) -> dict | None:
    """The signed-in user (session cookie or bearer token), cached on request.state."""
    if hasattr(request.state, "user"):
        return request.state.user
    request.state.user, request.state.session, request.state.via_token = None, None, False
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = accounts.token_user(db, auth[7:].strip())
        request.state.user, request.state.via_token = user, user is not None
        return user
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            sid = _signer(request).loads(cookie)
        except BadSignature:
            sid = None
        found = accounts.session_user(db, sid, now=current_time(request)) if sid else None
        if found:
            request.state.session, request.state.user = found
            accounts.touch_session(db, found[0], now=current_time(request))
    return request.state.user


def current_user(request: Request, db: Database = Depends(get_db)) -> dict | None:
    """Dependency: the user or None."""
    return resolve_user(request, db)


def require(*roles: str):
    """Dependency factory: a signed-in user with one of `roles` (any role when none given)."""

    def dependency(request: Request, db: Database = Depends(get_db)) -> dict:
        user = resolve_user(request, db)
        if user is None:
            raise LoginRequired()
        if roles and user["role"] not in roles:
            audit.record(db, "forbidden", user=user, target=request.url.path, ip=client_ip(request),
                         now=current_time(request))
            raise Forbidden()
        return user

    return dependency


def current_time(request: Request) -> datetime:
    """The current time (aware, UTC) from the app's clock."""
    return request.app.state.config.clock().astimezone(timezone.utc)


def station_today(request: Request) -> date:
    """Today in the station's time zone: the day pages default to (a fixed day of the demo year in demo mode)."""
    cfg = request.app.state.config
    return cfg.demo_today or current_time(request).astimezone(cfg.tz).date()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def csrf_token(request: Request) -> str:
    """The token forms and htmx requests must send back."""
    session = getattr(request.state, "session", None)
    if session:
        return session["csrf_token"]
    return accounts.anonymous_csrf(request.app.state.config.secret_key, request.state.anon_id)


async def check_csrf(request: Request, db: Database = Depends(get_db)) -> None:
    """Refuse a state-changing request without the right token (bearer-token API calls need none)."""
    user = resolve_user(request, db)
    if request.method not in UNSAFE or request.state.via_token:
        return
    if user is None and is_api(request):
        raise LoginRequired()  # every API route needs a user: say 401, not a CSRF refusal
    sent = request.headers.get("x-csrf-token")
    if not sent and "form" in request.headers.get("content-type", ""):
        sent = (await request.form()).get("csrf_token")
    if not sent or not secrets.compare_digest(str(sent), csrf_token(request)):
        audit.record(db, "csrf_refused", user=request.state.user, target=request.url.path, ip=client_ip(request),
                     now=current_time(request))
        raise Forbidden("csrf")


def set_session_cookie(request: Request, response: Response, sid: str | None) -> None:
    """Set (or clear, when sid is None) the session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    if sid is None:
        response.delete_cookie(SESSION_COOKIE, path="/")
        return
    response.set_cookie(SESSION_COOKIE, _signer(request).dumps(sid), httponly=True, samesite="lax",
                        secure=_secure(request), path="/", max_age=int(accounts.SESSION_IDLE.total_seconds()))


def _secure(request: Request) -> bool:
    mode = request.app.state.config.https
    return mode == "on" or (mode == "auto" and request.url.scheme == "https")


def render(request: Request, name: str, context: dict | None = None, status: int = 200) -> HTMLResponse:
    """Render a template with the common context (user, csrf token, station)."""
    ctx = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "station": request.app.state.config.station,
        "roles": {role: label("role", role) for role in accounts.ROLES},
        "demo": request.app.state.config.demo,
        "demo_today": request.app.state.config.demo_today,
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["Vary"] = "HX-Request"
    return response


def render_page(request: Request, page: str, fragment: str, context: dict, status: int = 200) -> HTMLResponse:
    """The whole page, or only its fragment when htmx asked (the page includes the same fragment)."""
    return render(request, fragment if request.headers.get("hx-request") else page, context, status)


def redirect(url: str) -> RedirectResponse:
    """303 after a POST."""
    return RedirectResponse(url, status_code=303)


def _error_page(request: Request, status: int, message: str) -> Response:
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    if not hasattr(request.state, "anon_id"):
        request.state.anon_id = request.cookies.get(ANON_COOKIE) or secrets.token_urlsafe(16)
    return render(request, "error.html", {"message": message, "status": status}, status)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if is_api(request):
            return JSONResponse({"detail": t("web.login_required")}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        message = t("web.csrf_refused") if str(exc) == "csrf" else t("web.forbidden")
        return _error_page(request, 403, message)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return _error_page(request, 404, str(exc) or t("common.not_found"))

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput):
        if is_api(request):
            return JSONResponse({"detail": api_detail(exc)}, status_code=422)
        return _error_page(request, 422, t("web.clause_separator").join(exc.errors.values()))

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict):
        body = {"detail": str(exc)}
        if exc.stored is not None:
            body["stored"] = exc.stored
        return JSONResponse(body, status_code=409)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if errors and all(e["loc"][0] == "path" and e["type"] in RANGE_ERRORS for e in errors):
            return _error_page(request, 404, t("common.not_found"))  # an id no row can have
        if is_api(request):
            return JSONResponse({"detail": [{"loc": list(e["loc"]), "msg": _zh_validation(e), "type": e["type"]}
                                            for e in exc.errors()]}, status_code=422)
        return _error_page(request, 422, t("web.invalid_submission", fields=t("web.field_separator").join(
            str(e["loc"][-1]) for e in exc.errors())))


def _zh_validation(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return t("web.required")
    if kind in RANGE_ERRORS:
        return t("web.out_of_range")
    if "int" in kind or "float" in kind:
        return t("web.not_a_number")
    if "json" in kind:
        return t("web.not_json")
    return t("web.bad_format")


CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "connect-src 'self'; worker-src 'self'; frame-ancestors 'none'")


class AnonymousAndHeaders:
    """ASGI middleware: an anonymous id cookie for visitors (their CSRF token is bound to it) and security headers."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        path = scope["path"]
        anon = request.cookies.get(ANON_COOKIE)
        scope.setdefault("state", {})["anon_id"] = anon or secrets.token_urlsafe(16)
        new_cookie = not anon and not path.startswith(("/api/", "/static/"))
        docs = path.startswith(("/docs", "/redoc"))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if new_cookie:
                    secure = "; Secure" if _secure(request) else ""
                    headers.append("set-cookie", f"{ANON_COOKIE}={scope['state']['anon_id']}; HttpOnly; Path=/; SameSite=lax{secure}")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not docs:
                    headers.setdefault("X-Frame-Options", "DENY")
                    headers.setdefault("Content-Security-Policy", CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(cfg: config_mod.Config | None = None) -> FastAPI:
    """Build the app for one configuration; brings the schema up to date first."""
    cfg = cfg or config_mod.load()
    cfg.media_dir.mkdir(parents=True, exist_ok=True)
    db_mod.open_db(cfg.database).close()
    app = FastAPI(title="fieldlog API", version="1", dependencies=[Depends(check_csrf)],
                  description=t("api.description"))
    app.state.config = cfg
    app.state.pool = db_mod.Pool(cfg.database)
    app.mount("/static", StaticFiles(directory=str(resource_dir("static"))), name="static")
    _install_handlers(app)
    # Phones on a weak signal: pages, CSS and JS go compressed (the 40 KB page budget counts gzip).
    app.add_middleware(GZipMiddleware, minimum_size=600, compresslevel=6)

    app.add_middleware(AnonymousAndHeaders)
    from fieldlog import routes

    for module in sorted(m.name for m in pkgutil.iter_modules(routes.__path__)):
        app.include_router(importlib.import_module(f"fieldlog.routes.{module}").router)
    return app
