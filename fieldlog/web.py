"""The FastAPI application: per-request database, current user, role checks, CSRF, rendering."""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
import secrets
from contextlib import contextmanager
from functools import lru_cache
from datetime import date, datetime, timezone
from typing import Annotated, Iterator
from urllib.parse import quote

from annotated_types import Interval

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer
import jinja2
from jinja2 import pass_context
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from sqlite_utils import Database

from fieldlog import (accounts, audit, config as config_mod, db as db_mod, hazards, importer, messages, notices, ops,
                      periods, photos, readers)
from fieldlog.errors import Conflict, Forbidden, InvalidInput, NotFound
from fieldlog.integers import INT64_MAX, INT64_MIN
from fieldlog.messages import label, t
from fieldlog.resources import resource_dir
from fieldlog.static_files import HashedStaticFiles, hashes as static_hashes, static_url

SESSION_COOKIE = "fieldlog_session"
ANON_COOKIE = "fieldlog_anon"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

class PageEnvironment(jinja2.Environment):
    """Jinja's environment with `row.name` on a dict read as its key first: the pages' rows are dicts, and Jinja's
    own order (an attribute, then the key) raises and catches an AttributeError for every such cell. A dict's
    methods (`counts.get`, `tally.items`) keep meaning the method, as in Jinja."""

    def getattr(self, obj, attribute):
        if type(obj) is dict and attribute not in DICT_METHODS:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        try:  # jinja2.Environment.getattr, inline (it is called for every `a.b` of every cell)
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)


DICT_METHODS = frozenset(dir(dict))
templates = Jinja2Templates(env=PageEnvironment(loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
                                                autoescape=jinja2.select_autoescape()))


# --- links: the web layer alone knows its URLs ----------------------------------------------------

def absolute_url(request: Request, path: str) -> str:
    """An absolute link (what a QR code or a printed sheet carries): FIELDLOG_PUBLIC_URL + path, never the Host
    the request came with (a staff member on 127.0.0.1 would print a code nobody else can open)."""
    return request.app.state.config.link_base + path


def public_link_problem(request: Request) -> str | None:
    """Why absolute links may not open for the public ("unset", "loopback", "lan"), for the pages that warn."""
    return config_mod.public_url_problem(request.app.state.config.public_url)


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


def phone_texts(script: str) -> dict[str, str]:
    """The catalogue's texts of one phone script ("queue", "log"): keys "phone.<script>.*" without that prefix,
    as "<script>.<name>", for the page to carry as JSON (<script type="application/json" class="fieldlog-texts">)."""
    prefix = f"phone.{script}."
    return {key.removeprefix("phone."): text for key, text in messages.MESSAGES.items() if key.startswith(prefix)}


templates.env.globals.update(photo_url=photo_url, indicator_url=indicator_url, t=messages.t, label=messages.label,
                             phone_texts=phone_texts, static_url=static_url)



def _station_tz(context) -> object | None:
    request = context.get("request")
    return request.app.state.config.tz if request is not None else None


# Dates where a person reads them: {{ d | day }} → 2021年3月5日, {{ ts | moment }} → 2021年3月5日 09:30 (station time).
# The ISO form stays in the API, the exports and form inputs.
def _needs_zone(value) -> bool:
    """Whether a value shown as a day depends on the station's zone: a moment does, a day (date, ISO day) does not."""
    return isinstance(value, datetime) or (isinstance(value, str) and len(value.strip()) > 10)


# The station's zone is looked up only for a moment (a list of days is many cells); a date's text and a number of
# days' text are the catalogue's, the same every time: kept once made (a list repeats its days).
_date_text = lru_cache(maxsize=4096)(periods.day_text)
templates.env.filters["day"] = pass_context(
    lambda context, value: _date_text(value) if type(value) is date
    else periods.day_text(value, _station_tz(context) if _needs_zone(value) else None))
templates.env.filters["moment"] = pass_context(lambda context, value: periods.moment_text(value, _station_tz(context)))
templates.env.filters["days_ago"] = lru_cache(maxsize=4096)(periods.days_ago_text)
# Page JSON (`tojson`) keeps Chinese as it is, a third the size of \uXXXX escapes; <, >, & and ' are still escaped.
templates.env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}


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


def request_db(request: Request) -> Database:
    """The request's pooled connection: taken on first use, given back by RequestConnection once answered."""
    state = request.scope.setdefault("state", {})
    db = state.get("db")
    if db is None:
        db = state["db"] = request.app.state.pool.get()
    return db


async def get_db(request: Request) -> Database:
    """Dependency: the request's pooled connection (request_db).

    A plain async function: a dependency with `yield` costs FastAPI an exit stack per request, and a sync one a
    hand-off to the thread pool (two for a sync generator); the connection goes back to the pool in
    RequestConnection instead. A route that is a plain `def` still runs in the thread pool with it.
    """
    return request_db(request)


class RequestConnection:
    """ASGI middleware: gives the connection request_db took back to the pool when the request is answered."""

    def __init__(self, app, pool: db_mod.Pool):
        self.app, self.pool = app, pool

    async def __call__(self, scope, receive, send):
        try:
            await self.app(scope, receive, send)
        finally:
            db = scope.get("state", {}).pop("db", None)
            if db is not None:
                self.pool.put(db)


# The OpenAPI schema, served by routes/api_docs.py (with Swagger UI at /docs) to signed-in users only;
# FastAPI's own /docs, /redoc and /openapi.json are turned off in create_app.
OPENAPI_URL = "/openapi.json"


def is_api(request: Request) -> bool:
    """A request answered in JSON (401 rather than a redirect to the login page)."""
    path = request.scope["path"]  # the path as request.url.path gives it, without building the whole URL
    return path.startswith("/api/") or path == OPENAPI_URL


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


async def current_user(request: Request) -> dict | None:
    """Dependency: the user or None (resolved once per request by check_csrf, which every route runs first)."""
    return resolve_user(request, request_db(request))


def require(*roles: str):
    """Dependency factory: a signed-in user with one of `roles` (any role when none given).

    Async: the user is already resolved (check_csrf), so the check costs no hand-off to the thread pool;
    the audit line of a refusal is written there, away from the event loop.
    """

    async def dependency(request: Request) -> dict:
        user = resolve_user(request, request_db(request))
        if user is None:
            raise LoginRequired()
        if roles and user["role"] not in roles:
            await run_in_threadpool(audit.record, request_db(request), "forbidden", user=user, target=request.url.path,
                                    ip=client_ip(request), now=current_time(request))
            raise Forbidden()
        return user

    return dependency


def current_time(request: Request) -> datetime:
    """The current time (aware, UTC) from the app's clock."""
    return request.app.state.config.clock().astimezone(timezone.utc)


def station_today(request: Request) -> date:
    """Today in the station's time zone: the day pages default to (the demo's too: its data runs up to now)."""
    cfg = request.app.state.config
    return current_time(request).astimezone(cfg.tz).date()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def csrf_token(request: Request) -> str:
    """The token forms and htmx requests must send back."""
    session = getattr(request.state, "session", None)
    if session:
        return session["csrf_token"]
    return accounts.anonymous_csrf(request.app.state.config.secret_key, request.state.anon_id)


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request without the right token (bearer-token API calls need none)."""
    db = request_db(request)
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
                        secure=_secure(request), path="/", max_age=int(accounts.SESSION_LIFETIME.total_seconds()))


def _secure(request: Request) -> bool:
    mode = request.app.state.config.https
    return mode == "on" or (mode == "auto" and request.scope.get("scheme") == "https")


def render(request: Request, name: str, context: dict | None = None, status: int = 200) -> HTMLResponse:
    """Render a template with the common context (user, csrf token, station)."""
    ctx = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "station": request.app.state.config.station,
        "roles": {role: label("role", role) for role in accounts.ROLES},
        "demo": request.app.state.config.demo,
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["Vary"] = "HX-Request"
    return response


def render_page(request: Request, page: str, fragment: str, context: dict, status: int = 200) -> HTMLResponse:
    """The whole page, or only its fragment when htmx asked (the page includes the same fragment)."""
    return render(request, fragment if request.headers.get("hx-request") else page, context, status)


def attachment(name: str, fallback: str | None = None) -> dict[str, str]:
    """Content-Disposition of a download named `name` (Chinese allowed: RFC 5987 filename*), with an ASCII
    `fallback` for clients that read only filename (the name itself when it is ASCII)."""
    return {"Content-Disposition": f'attachment; filename="{fallback or name}"; filename*=UTF-8\'\'{quote(name, safe="")}'}


def redirect(url: str) -> RedirectResponse:
    """303 after a POST."""
    return RedirectResponse(url, status_code=303)


def _error_page(request: Request, status: int, message: str) -> Response:
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    if not hasattr(request.state, "anon_id"):
        request.state.anon_id = request.cookies.get(ANON_COOKIE) or secrets.token_urlsafe(16)
    return render(request, "error.html", {"message": message, "status": status}, status)


HTTP_MESSAGES = {404: t("web.page_not_found"), 405: t("web.method_not_allowed")}


def _resolve_user_for_page(request: Request) -> None:
    """Sign-in state for a page answered before any route ran (so no get_db dependency gave it a connection)."""
    pool = request.app.state.pool
    db = pool.get()
    try:
        resolve_user(request, db)
    finally:
        pool.put(db)


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

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        # The router's own refusals (no such page 404, wrong method 405) and StaticFiles' 404: a Chinese page for
        # a browser, JSON for the API and for clients that do not ask for HTML (scripts, a missing image).
        message = HTTP_MESSAGES.get(exc.status_code) or t("web.http_error", status=exc.status_code)
        if is_api(request) or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": message}, status_code=exc.status_code, headers=exc.headers)
        await run_in_threadpool(_resolve_user_for_page, request)  # the navigation of who is signed in
        response = _error_page(request, exc.status_code, message)
        response.headers.update(exc.headers or {})
        return response

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


# No inline script or style anywhere (templates, htmx, Swagger UI), no plugins, no <base>, forms post only here,
# and no page may be framed.
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


class AnonymousAndHeaders:
    """ASGI middleware: an anonymous id cookie for visitors (their CSRF token is bound to it) and security headers.

    Every answer but a static file is `Cache-Control: no-store` unless its route says otherwise (photos,
    the QR code, /sw.js): pages carry a CSRF token and, signed in, what only that user may read. Static
    files keep their validators (ETag, Last-Modified); the service worker caches the offline pages
    through the Cache API, which no-store does not concern. HSTS goes with every answer to a request
    that counts as HTTPS, by the same rule as the cookies' Secure flag (FIELDLOG_HTTPS).
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        path = scope["path"]
        anon = request.cookies.get(ANON_COOKIE)
        scope.setdefault("state", {})["anon_id"] = anon or secrets.token_urlsafe(16)
        static = path.startswith("/static/")
        new_cookie = not anon and not static and not path.startswith("/api/")
        secure = _secure(request)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if new_cookie:
                    flag = "; Secure" if secure else ""
                    headers.append("set-cookie", f"{ANON_COOKIE}={scope['state']['anon_id']}; HttpOnly; Path=/; SameSite=lax{flag}")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", CSP)
                if secure:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- request body limits (one block: BodyLimit and what it needs) ----------------------------------------
# A body is read only as far as its limit: a Content-Length over it is refused before a byte is read, and a
# body without one (or lying about it) is cut off at the limit, with the same Chinese 413. The limit follows
# the route, and a request without credentials (no bearer token, no session cookie this app signed) gets the
# anonymous one wherever it goes: a stranger's 30 MB multipart is never parsed to be refused for its CSRF token.

KB, MB = 1024, 1024 * 1024
PHOTOS_PER_FORM = 8              # photos one phone form may carry (the no-JS path; log.js sends one a request)
LIMIT_PHONE_FORM = PHOTOS_PER_FORM * photos.MAX_BYTES + 1 * MB   # + the form's fields and multipart framing
LIMIT_API_PHOTO = photos.MAX_BYTES + 64 * KB                     # one photo and its framing
LIMIT_IMPORT = importer.MAX_BYTES + 1 * MB                       # a registry CSV/XLSX
LIMIT_PAGE = 2 * MB              # other signed-in forms (the 自评表 edit: 39 notes of 2000 characters, encoded)
LIMIT_JSON = 256 * KB            # JSON API bodies
LIMIT_ANONYMOUS = 64 * KB        # sign-in, public survey answers; anything sent without credentials
_PHONE_FORM = re.compile(r"/log/[^/]+")
_API_PHOTO = re.compile(r"/api/v1/events/[^/]+/(photos|uploads/[^/]+)")  # a photo, or a part of one
_IMPORT = re.compile(r"/(sites|plants)/import")


def _signed_in(request: Request) -> bool:
    """Whether the request carries credentials worth a bigger body: a bearer token, or a session cookie signed
    by this app (checked without the database; the route still decides who it is)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return True
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return False
    try:
        _signer(request).loads(cookie)
    except BadSignature:
        return False
    return True


def body_limit(request: Request) -> tuple[int, str]:
    """(the most bytes the request's body may have, what it carries: "photo", "phone_form" or "body")."""
    path = request.scope["path"]
    if _API_PHOTO.fullmatch(path):
        limit, carries = LIMIT_API_PHOTO, "photo"
    elif path.startswith("/api/"):
        limit, carries = LIMIT_JSON, "body"
    elif _PHONE_FORM.fullmatch(path):
        limit, carries = LIMIT_PHONE_FORM, "phone_form"
    elif _IMPORT.fullmatch(path):
        limit, carries = LIMIT_IMPORT, "body"
    else:
        limit, carries = LIMIT_PAGE, "body"
    if limit > LIMIT_ANONYMOUS and not _signed_in(request):
        return LIMIT_ANONYMOUS, "body"
    return limit, carries


def _tenths(n: int, unit: int, over: int | None) -> float:
    # n / unit to a tenth, rounded up where rounding would make a size over the limit `over` read as no more.
    nearest = round(n * 10 / unit) / 10
    return math.ceil(n * 10 / unit) / 10 if over is not None and n > over >= nearest * unit else nearest


def size_text(n: int, over: int | None = None) -> str:
    """A size as "23.4 MB", "121 MB" or "64 KB"; one over the limit `over` never reads as that limit."""
    return f"{_tenths(n, MB, over):g} MB" if n >= MB else f"{_tenths(n, KB, over):g} KB"


def photo_too_large(size: int, exact: bool = True) -> str:
    """The refusal of a photo over photos.MAX_BYTES naming its size, "照片文件过大（23.4 MB），上限 15 MB"
    (the photos module's message), or "（超过 15.1 MB）" when only a lower bound is known."""
    number = f"{_tenths(size, MB, photos.MAX_BYTES):.1f}"
    return t("photos.too_large", size=number if exact else t("web.size_more_than", size=number),
             limit=photos.MAX_BYTES // MB)


def body_too_large(size: int, limit: int, carries: str, exact: bool = True) -> str:
    """The 413 message for a body of `size` bytes (only a lower bound when not `exact`) over `limit`."""
    if carries == "photo":
        return photo_too_large(size, exact)
    shown = size_text(size, over=limit)
    shown = shown if exact else t("web.size_more_than", size=shown)
    if carries == "phone_form":
        return t("web.phone_form_too_large", size=shown, limit=size_text(limit),
                 photo=size_text(photos.MAX_BYTES), count=PHOTOS_PER_FORM)
    return t("web.body_too_large", size=shown, limit=size_text(limit))


class BodyTooLarge(Exception):
    """Raised from `receive` when a body passes its limit; BodyLimit answers 413."""

    def __init__(self, received: int):
        super().__init__(received)
        self.received = received


class BodyLimit:
    """ASGI middleware: every request body read only as far as its route's limit (body_limit), else a 413
    in Chinese, as HTML for pages and as JSON naming the field for the API."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        limit, carries = body_limit(request)
        try:
            declared = int(request.headers.get("content-length", ""))
        except ValueError:
            declared = None
        if declared is not None and declared > limit:
            return await self._refuse(request, send, body_too_large(declared, limit, carries), carries)
        received, cut, started = 0, None, False

        async def receive_limited():
            nonlocal received, cut
            if cut is not None:
                raise BodyTooLarge(cut)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut = received
                    raise BodyTooLarge(received)
            return message

        async def send_unless_cut(message):
            nonlocal started
            if cut is not None and not started:
                return  # the app's own answer to a body cut short (a 400, say) gives way to the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_limited, send_unless_cut)
        except Exception:
            if cut is None or started:  # not ours, or too late to answer in its place
                raise
        if cut is not None and not started:
            await self._refuse(request, send, body_too_large(cut, limit, carries, exact=False), carries)

    @staticmethod
    async def _refuse(request: Request, send, message: str, carries: str) -> None:
        if is_api(request):
            field = "photo" if carries == "photo" else "body"
            response = JSONResponse({"detail": api_detail(InvalidInput({field: message}))}, status_code=413)
        else:
            response = _error_page(request, 413, message)
        # No "Connection: close": uvicorn then reads and drops the rest of the body, so the client, still
        # sending, gets this answer instead of a reset connection.
        await response(request.scope, _no_body, send)


async def _no_body():
    return {"type": "http.disconnect"}

# --- end of request body limits --------------------------------------------------------------------------


def create_app(cfg: config_mod.Config | None = None) -> FastAPI:
    """Build the app for one configuration; brings the schema up to date first."""
    cfg = cfg or config_mod.load()
    cfg.media_dir.mkdir(parents=True, exist_ok=True)
    db_mod.open_db(cfg.database).close()
    # The station's notice numbers and hazard criteria: a mistake in either stops the start (Chinese message).
    notices.configure(cfg.notice_number)
    hazards.use(hazards.load(cfg.hazard_criteria))
    app = FastAPI(title="fieldlog API", version="1", dependencies=[Depends(check_csrf)],
                  description=t("api.description"), docs_url=None, redoc_url=None, openapi_url=None)
    app.state.config = cfg
    app.state.in_use = ops.hold(cfg.database)  # `fieldlog restore` refuses to swap a database in use
    app.state.pool = db_mod.Pool(cfg.database)
    static_hashes()  # every static file's content hash, once per process: `static_url` names files by it
    app.mount("/static", HashedStaticFiles(directory=str(resource_dir("static"))), name="static")
    _install_handlers(app)
    app.add_middleware(RequestConnection, pool=app.state.pool)  # innermost: after every handler is done with it
    app.add_middleware(BodyLimit)  # its 413 gets the security headers and the compression
    # Phones on a weak signal: pages, CSS and JS go compressed (the 40 KB page budget counts gzip).
    app.add_middleware(GZipMiddleware, minimum_size=600, compresslevel=6)

    app.add_middleware(AnonymousAndHeaders)
    # Outermost: client address and scheme come from X-Forwarded-For/-Proto only when FIELDLOG_TRUSTED_PROXIES sent them.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(cfg.trusted_proxies))
    # Outside even that: the chief's heavy pages go whole to a reader process when `fieldlog serve` runs some.
    app.add_middleware(readers.Offload)
    from fieldlog import routes

    for module in sorted(m.name for m in pkgutil.iter_modules(routes.__path__)):
        # The published schema is the JSON API's (routes/api_*.py); the HTML pages stay out of it.
        app.include_router(importlib.import_module(f"fieldlog.routes.{module}").router,
                           include_in_schema=module.startswith("api_"))
    return app
