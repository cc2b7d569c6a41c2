"""Phone logging pages (/log, /log/{kind}), the subject picker partial and the service worker script."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlite_utils import Database

from fieldlog import accounts, draws, events, followups, integers, notices, photos, registry, returns, samples
from fieldlog.errors import Conflict, InvalidInput, NotFound
from fieldlog.events.picker import subject_choices
from fieldlog.indicators import quotas
from fieldlog.messages import t
from fieldlog.static_files import served, static_url
from fieldlog.web import (current_time, csrf_token, current_user, get_db, photo_too_large, redirect, render,
                          render_page, require)

router = APIRouter()
# The review picker (a page every phone caches) lists the open notices with the earliest deadlines.
PICKER_NOTICES = 300
PHONE = require("inspector", "chief")
# Files the service worker keeps for offline use, under their content-hashed names: its version follows them.
OFFLINE_STATIC = ["app.css", "log.css", "app.js", "queue.js", "log.js", "checks.js",
                  "notices.css", "notices.js"]
# Pages beside the logging forms that the service worker keeps for use without a signal: issuing a notice.
OFFLINE_PAGES = ["/notices/new"]



def _tz(request: Request):
    return request.app.state.config.tz


def _today(request: Request, now: datetime | None = None) -> date:
    return (now or current_time(request)).astimezone(_tz(request)).date()


def _kind(kind: str) -> dict:
    if kind not in events.KINDS:
        raise NotFound(t("events.kind_not_found"))
    return events.KINDS[kind]


# --- subjects: the picker itself is events.picker.subject_choices ------------------------------

def distance_text(metres: float | None) -> str:
    """'350 米' or '2.4 公里'."""
    if metres is None:
        return ""
    return t("events.distance_m", m=metres) if metres < 1000 else t("events.distance_km", km=metres / 1000)


def _coordinate(text: str | None, low: float, high: float) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and low <= value <= high else None


# --- form data ----------------------------------------------------------------------------------

def _campaigns(db: Database, kind: str, today: date) -> list[dict]:
    """The campaigns to choose from, for a kind that belongs to one."""
    return events.campaign_choices(db, today) if "campaign_id" in events.subject_fields(kind) else []


def form_to_raw(kind: str, form) -> dict:
    """The API submission a posted phone form stands for (subject 'site:3' / 'plant:2', campaign 'new')."""
    spec = events.KINDS[kind]
    raw = {"id": form.get("id"), "kind": kind, "occurred_at": form.get("occurred_at"), "site_id": None,
           "plant_id": None, "place": form.get("place") or None, "note": form.get("note") or "",
           "inspector_ids": [i for i in form.getlist("inspector_ids") if i] or None}
    for key in ("lat", "lon", "accuracy_m"):
        raw[key] = form.get(key) or None
    typ, _, ident = str(form.get("subject") or "").partition(":")
    if typ in ("site", "plant") and ident:
        raw[f"{typ}_id"] = ident
    if spec.get("plant_optional") and form.get("plant_id"):
        raw["plant_id"] = form.get("plant_id")  # the optional plant beside a site, from its own list
    if "campaign_id" in events.subject_fields(kind):
        if form.get("campaign_id") == "new":
            raw["campaign"] = {k: form.get(f"campaign_{k}") or "" for k in ("name", "start_on", "end_on")}
        else:
            raw["campaign_id"] = form.get("campaign_id") or None
    raw["fields"] = {f["name"]: form.get(f["name"]) for f in spec["fields"] if form.get(f["name"]) is not None}
    return raw


def form_values(form) -> dict:
    """Values to put back into a re-rendered form."""
    values = {k: v for k, v in form.items() if k not in ("photos", "csrf_token")}
    values["inspector_ids"] = [n for n in (integers.parse(i) for i in form.getlist("inspector_ids")) if n is not None]
    return values


def default_values(kind: str, user: dict, now: datetime, tz, today: date, campaigns: list[dict]) -> dict:
    """A fresh form: a new id, now (station time), me as the inspector, each field's default."""
    values = {"id": str(uuid.uuid4()), "occurred_at": now.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
              "inspector_ids": [user["id"]], "occurred_default": True}
    for f in events.KINDS[kind]["fields"]:
        if f["default"] is not None:
            values[f["name"]] = "1" if f["default"] is True else ("" if f["default"] is False else str(f["default"]))
    current = [c for c in campaigns if c["current"]]
    if current:
        values["campaign_id"] = str(current[0]["id"])
    return values


def _form_context(request: Request, db: Database, user: dict, kind: str, values: dict, errors: dict,
                  q: str = "") -> dict:
    spec, today = _kind(kind), _today(request)
    choices = subject_choices(db, spec["subject"], user["id"], today=today, q=q)
    campaigns = _campaigns(db, kind, today)
    return {
        "kind": kind, "spec": spec, "values": values, "errors": errors, "q": q, "choices": choices,
        "selected": values.get("subject", ""), "distance_text": distance_text, "campaigns": campaigns, "today": today.isoformat(),
        "plants": registry.plant_names(db) if spec.get("plant_optional") else [],
        "notices": events.open_notices(db, today=today, limit=PICKER_NOTICES) if kind == "rectification_review" else [],
        "notices_total": events.count_open(db, today=today) if kind == "rectification_review" else 0,
        "labs": samples.labs(db, active_only=True) if spec.get("results") else [],
        "inspectors": accounts.inspectors(db),
        "subject_label": events.SUBJECTS[spec["subject"]], "checks": events.client_checks(kind),
        "hint": events.hint(kind, quotas.monthly(quotas.for_year(db, today.year), kind)),
    }


# --- pages --------------------------------------------------------------------------------------

@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, from the site root so that its scope is the whole site. It names the static files by
    their content-hashed URLs (so its text, hence its version, changes with any of them) and imports the queue's
    script, with which it sends the photos."""
    text = served("sw.js").decode("utf-8")
    cached = [static_url(name) for name in OFFLINE_STATIC]
    pages = ["/log"] + [f"/log/{k}" for k in events.KINDS] + OFFLINE_PAGES
    body = (text.replace("__PAGES__", json.dumps(pages)).replace("__STATIC__", json.dumps(cached))
            .replace("__QUEUE__", json.dumps(static_url("queue.js"))))
    body = body.replace("__VERSION__", hashlib.sha256(body.encode()).hexdigest()[:12])
    return Response(body, media_type="text/javascript", headers={
        "Service-Worker-Allowed": "/", "Cache-Control": "no-cache, no-store, must-revalidate"})


@router.get("/offline", include_in_schema=False)
def offline_page(request: Request, user=Depends(current_user)) -> Response:
    """What the service worker shows offline for a page it never kept (instead of another page under its address)."""
    return render(request, "offline.html", {"user": user})


@router.get("/log/token", include_in_schema=False)
def token(request: Request, user=Depends(current_user)) -> JSONResponse:
    """The session's current CSRF token, for a queue resending from a page cached with an older one."""
    if user is None:
        return JSONResponse({"detail": t("events.login_required")}, status_code=401)
    return JSONResponse({"csrf_token": csrf_token(request)}, headers={"Cache-Control": "no-store"})


# The home lists the latest of today's entries; a busier day says how many it holds and links to all of them.
TODAY_SHOWN = 20


def today_entries(db: Database, user_id: int, day: str) -> tuple[list[dict], int]:
    """The latest TODAY_SHOWN of today's events (station-local day) recorded by or with the user, newest first,
    and how many the day holds (counted only when the list is full)."""
    entries = events.events_of_day(db, user_id, day, limit=TODAY_SHOWN)
    return entries, len(entries) if len(entries) < TODAY_SHOWN else events.count_of_day(db, user_id, day)


@router.get("/log")
def log_home(request: Request, saved: str = "", db: Database = Depends(get_db), user=Depends(PHONE)):
    day = _today(request).isoformat()
    entries, entries_total = today_entries(db, user["id"], day)
    saved_event, warnings = None, []
    if saved and events.is_event_id(saved) and events.exists(db, saved):
        saved_event = events.load(db, saved)
        if not events.can_see(saved_event, user):
            saved_event = None
        warnings = events.warnings_for(db, saved_event) if saved_event else []
    return render_page(request, "log.html", "_log_today.html", {
        "kinds": events.kind_list(), "entries": entries, "entries_total": entries_total,
        "day_count_cap": events.DAY_COUNT_CAP, "day": day, "saved": saved,
        "saved_event": saved_event,
        "warnings": warnings, **(day_work(request, db, user) if user["role"] == "inspector" else {})})


# The home shows the notices due soon or overdue among the inspector's open ones with the earliest deadlines.
HOME_NOTICES = 10
DUE = (followups.OVERDUE, followups.DUE_SOON)


def day_work(request: Request, db: Database, user: dict) -> dict:
    """What the inspector's home (/log) lists beside the queue and today's entries: entries returned for
    correction, own open notices due soon or overdue (去复查: the notice documents, then the notices patrols
    carry), drawn checks not yet done."""
    today = _today(request)
    due = [n for n in followups.notices(db, today, inspector_id=user["id"], limit=HOME_NOTICES) if n.status in DUE]
    tally = followups.counts(db, today, inspector_id=user["id"])
    documents = [n for n in notices.mine(db, user["id"], today, limit=HOME_NOTICES) if n.status in DUE]
    return {"my_returns": returns.listing(db, user, states=(returns.RETURNED,), tz=_tz(request)),
            "due_notices": due, "due_total": sum(tally[s] for s in DUE), "due_documents": documents,
            "my_draws": draws.mine(db, user["id"], today, _tz(request))}


def review_preset(values: dict, notices: list[dict], notice: str) -> dict:
    """A review form opened for one notice (?notice=<patrol id>, the home's 去复查): that notice and its site
    chosen when it is one of the open notices offered, else a message and nothing chosen."""
    found = next((n for n in notices if n["id"] == notice), None)
    if found is None:
        return {"notice_warning": t("home.notice_unknown")}
    values.update(notice_event_id=found["id"], subject=f"site:{found['site_id']}" if found["site_id"] else "")
    return {}


@router.get("/log/{kind}")
def log_form(request: Request, kind: str, q: str = "", notice: str = "", db: Database = Depends(get_db),
             user=Depends(PHONE)):
    _kind(kind)
    today = _today(request)
    campaigns = _campaigns(db, kind, today)
    values = default_values(kind, user, current_time(request), _tz(request), today, campaigns)
    context = _form_context(request, db, user, kind, values, {}, q)
    if notice and kind == "rectification_review":
        context.update(review_preset(values, context["notices"], notice))
        context["selected"] = values.get("subject", "")
    return render(request, "log_form.html", context)


@router.get("/log/{kind}/subjects")
def log_subjects(request: Request, kind: str, q: str = "", lat: str = "", lon: str = "", subject: str = "",
                 db: Database = Depends(get_db), user=Depends(PHONE)):
    """The subject list alone (htmx): nearest first when lat/lon are given."""
    spec = _kind(kind)
    la, lo = _coordinate(lat, -90, 90), _coordinate(lon, -180, 180)
    choices = subject_choices(db, spec["subject"], user["id"], today=_today(request), lat=la, lon=lo, q=q)
    return render(request, "_log_subjects.html", {"choices": choices, "selected": subject, "spec": spec,
                                                  "distance_text": distance_text, "errors": {}, "q": q})


def _photo_files(form) -> list:
    """The form's non-empty photo uploads, still in their (spooled) temporary files."""
    return [f for f in form.getlist("photos") if getattr(f, "filename", None) and f.size]


def _photo_bytes(upload) -> bytes:
    """One upload's bytes, read no further than one byte past the photo limit."""
    upload.file.seek(0)
    return upload.file.read(photos.MAX_BYTES + 1)


def _check_photos(files: list) -> dict:
    """Each upload checked by the photo module, one in memory at a time; errors keyed 'photos'."""
    for upload in files:
        if upload.size > photos.MAX_BYTES:  # refused for its size, with that size, without reading it
            return {"photos": photo_too_large(upload.size)}
        try:
            photos.process(_photo_bytes(upload))
        except InvalidInput as exc:
            return {"photos": t("events.message_separator").join(exc.errors.values())}
    return {}


def _ingest_photo(db: Database, media_dir, event_id: str, upload, user_id: int) -> None:
    photos.ingest(db, media_dir, event_id, _photo_bytes(upload), user_id)


async def create_with_photos(db: Database, raw: dict, files: list, user: dict, now, tz) -> tuple[dict | None, dict]:
    """The no-JS form paths' one write: the photos checked, then the event stored (photos are stored by the
    caller once it is): (event, {}) or (None, every message, photos' and fields' together)."""
    errors = await run_in_threadpool(_check_photos, files)
    try:
        if errors:
            events.validate(db, raw, user=user, now=now, tz=tz)
            return None, errors
        return events.create(db, raw, user=user, now=now, tz=tz)[0], {}
    except InvalidInput as exc:
        return None, {**exc.errors, **errors}
    except Conflict:
        return None, {"id": t("events.saved_with_other_content")}


@router.post("/log/{kind}")
async def log_submit(request: Request, kind: str, db: Database = Depends(get_db), user=Depends(PHONE)):
    """No-JS path: create the event (and its photos) and go back to /log, or re-render with the messages."""
    _kind(kind)
    form = await request.form()  # BodyLimit (fieldlog.web) caps the whole form; files wait on disk past 1 MB
    files = _photo_files(form)
    raw, now, tz = form_to_raw(kind, form), current_time(request), _tz(request)
    event, errors = await create_with_photos(db, raw, files, user, now, tz)
    if errors:
        values = form_values(form)
        if "id" in errors:
            values["id"] = str(uuid.uuid4())
        return render(request, "log_form.html", _form_context(request, db, user, kind, values, errors), 422)
    media_dir = request.app.state.config.media_dir
    for upload in files:
        await run_in_threadpool(_ingest_photo, db, media_dir, event["id"], upload, user["id"])
    return redirect(f"/log?saved={event['id']}")
