"""Notice pages (issue 14): issue a notice, its page on the phone (shown on site), its steps, and the A4 print.

A notice and each step are events (fieldlog.notices): with JavaScript the forms put them in the phone's queue
(static/notices.js), so they work offline; without it they post here and the same events.create stores them.
"""

from __future__ import annotations

import hashlib
import re
import uuid

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from sqlite_utils import Database

from fieldlog import accounts, events, hazards, notices, photos, registry
from fieldlog.errors import Forbidden
from fieldlog.messages import t
from fieldlog.routes.log import _photo_bytes, create_with_photos
from fieldlog.web import current_time, get_db, redirect, render, require, station_today

router = APIRouter(include_in_schema=False)
FIELD = require("inspector", "chief")
BLANK_ROWS = 3          # item rows the form offers without JavaScript (the script adds more)
_ITEM_KEY = re.compile(r"items-(\d{1,2})-(\w+)")
ITEM_TEXT = ("description", "location", "criterion", "criterion_id")


def _local_now(request: Request) -> str:
    return current_time(request).astimezone(request.app.state.config.tz).strftime("%Y-%m-%dT%H:%M")


def _form_context(request: Request, db: Database, user: dict, values: dict, errors: dict) -> dict:
    return {"values": values, "errors": errors, "sites": registry.site_names(db), "colleagues": accounts.inspectors(db),
            "criteria": hazards.current(), "types": notices.TYPES, "me": user,
            "bases": {k: t(f"notices.default_basis.{k}") for k in notices.TYPES},
            "follows": notices.doc(db, values.get("follows_notice_id")) if values.get("follows_notice_id") else None}


def _defaults(request: Request, user: dict, site: str, follows: str, as_: str, kind: str) -> dict:
    kind = kind if kind in notices.TYPES else (notices.RESUME if as_ == notices.FOLLOW_RESUME else notices.RECTIFY)
    return {"id": str(uuid.uuid4()), "occurred_at": _local_now(request), "site_id": site, "notice_type": kind,
            "legal_basis": t(f"notices.default_basis.{kind}"), "inspector_ids": [user["id"]] if user["role"] == "inspector" else [],
            "follows_notice_id": follows, "follows_as": as_, "items": [{} for _ in range(BLANK_ROWS)]}


@router.get("/notices/new")
def notice_form(request: Request, site: str = "", follows: str = "", kind: str = "", db: Database = Depends(get_db),
                user=Depends(FIELD)):
    """The form of a new notice (follows=<id>&kind=… re-issues, escalates or lifts an earlier one)."""
    old = notices.doc(db, follows) if follows else None
    as_ = ""
    if old:
        site = str(old["site_id"])
        as_ = notices.FOLLOW_RESUME if kind == notices.RESUME else (
            notices.FOLLOW_ESCALATE if kind in notices.STOPS and kind != old["notice_type"] else notices.FOLLOW_REISSUE)
    values = _defaults(request, user, site, follows if old else "", as_, kind)
    return render(request, "notice_form.html", _form_context(request, db, user, values, {}))


def _items_of(form) -> tuple[list[dict], dict[int, list]]:
    """The form's item rows (blank ones left out) and each kept row's photo uploads, by position."""
    rows: dict[int, dict] = {}
    for key in form.keys():
        m = _ITEM_KEY.fullmatch(key)
        if m:
            rows.setdefault(int(m.group(1)), {})
    items, files = [], {}
    for n in sorted(rows):
        item = {k: str(form.get(f"items-{n}-{k}") or "").strip() for k in ITEM_TEXT}
        item["major"] = form.get(f"items-{n}-major") == "1"
        uploads = [f for f in form.getlist(f"items-{n}-photos") if getattr(f, "filename", None) and f.size]
        if not any(item[k] for k in ("description", "location", "criterion")) and not uploads and not item["major"]:
            continue
        files[len(items)] = uploads
        items.append(item)
    return items, files


def _ids(form, name: str) -> list:
    return [v for v in form.getlist(name) if str(v).strip()]


def _notice_body(form, items: list[dict]) -> dict:
    fields = {k: str(form.get(k) or "").strip() for k in ("notice_type", "deadline", "legal_basis",
                                                          "follows_notice_id", "follows_as")}
    body_fields = {k: v for k, v in fields.items() if v}
    if items or fields["notice_type"] != notices.RESUME:
        body_fields["items"] = items
    return {"id": str(form.get("id") or ""), "kind": "notice", "occurred_at": str(form.get("occurred_at") or ""),
            "site_id": str(form.get("site_id") or ""), "inspector_ids": _ids(form, "inspector_ids"),
            "note": str(form.get("note") or ""), "fields": body_fields}


def _store_photos(db: Database, media_dir, event_id: str, uploads: list, user_id: int) -> None:
    for upload in uploads:
        photos.ingest(db, media_dir, event_id, _photo_bytes(upload), user_id)


@router.post("/notices/new")
async def notice_submit(request: Request, db: Database = Depends(get_db), user=Depends(FIELD)):
    """No-JS path: store the notice (and its items' photos) and show it, or the form again with the messages."""
    form = await request.form()
    items, files = _items_of(form)
    for n, uploads in files.items():
        items[n]["photos"] = [hashlib.sha256(_photo_bytes(f)).hexdigest() for f in uploads]
    event, errors = await create_with_photos(db, _notice_body(form, items), [f for u in files.values() for f in u],
                                             user, current_time(request), request.app.state.config.tz)
    if errors:
        values = {**{k: str(form.get(k) or "") for k in ("id", "occurred_at", "site_id", "notice_type", "deadline",
                                                         "legal_basis", "follows_notice_id", "follows_as", "note")},
                  "inspector_ids": [int(i) for i in _ids(form, "inspector_ids") if str(i).isdigit()],
                  "items": items + [{}] * max(0, BLANK_ROWS - len(items))}
        if "id" in errors:
            values["id"] = str(uuid.uuid4())
        return render(request, "notice_form.html", _form_context(request, db, user, values, errors), 422)
    for n, uploads in files.items():
        await run_in_threadpool(_store_photos, db, request.app.state.config.media_dir, event["id"], uploads, user["id"])
    return redirect(f"/notices/{event['id']}")


# --- one notice -------------------------------------------------------------------------------------

def _visible(db: Database, notice_id: str, user: dict) -> dict:
    found = notices.detail(db, notice_id)
    if not events.can_see(found["event"], user):
        raise Forbidden()
    return found


def _detail_context(request: Request, db: Database, user: dict, notice_id: str, values: dict | None = None,
                    errors: dict | None = None) -> dict:
    found = _visible(db, notice_id, user)
    today = station_today(request)
    status, over = notices.status(found["doc"], today)
    step_values = values or {"id": str(uuid.uuid4()), "occurred_at": _local_now(request),
                             "received_on": today.isoformat(), "inspector_ids": [user["id"]] if user["role"] == "inspector" else [],
                             "step": (found["allowed"] or [""])[0]}
    return {**found, "today": today, "status": status,
            "days_over": over, "step_values": step_values, "errors": errors or {}, "colleagues": accounts.inspectors(db),
            "can_void": events.can_change(found["event"], user), "inspectors": notices.inspectors_of(db, notice_id)}


@router.get("/notices/{notice_id}")
def notice_page(request: Request, notice_id: str, db: Database = Depends(get_db), user=Depends(FIELD)):
    """The notice as shown on site (phone first): number, addressee, items with photos, deadline, its steps."""
    return render(request, "notice_detail.html", _detail_context(request, db, user, notice_id))


STEP_TEXT = ("step", "receiver_name", "receiver_unit", "received_on", "witness", "reply_text")


@router.post("/notices/{notice_id}/steps")
async def step_submit(request: Request, notice_id: str, db: Database = Depends(get_db), user=Depends(FIELD)):
    """No-JS path of a step (签收/拒签, 回复, 复查, 销号): store it with its photos, or show the messages."""
    found = _visible(db, notice_id, user)
    form = await request.form()
    uploads = [f for f in form.getlist("photos") if getattr(f, "filename", None) and f.size]
    fields = {k: str(form.get(k) or "").strip() for k in STEP_TEXT}
    body = {"id": str(form.get("id") or ""), "kind": "notice_step", "occurred_at": str(form.get("occurred_at") or ""),
            "site_id": found["event"]["site_id"], "inspector_ids": _ids(form, "inspector_ids"),
            "note": str(form.get("note") or ""), "fields": {"notice_event_id": notice_id, **{k: v for k, v in fields.items() if v}}}
    step, errors = await create_with_photos(db, body, uploads, user, current_time(request), request.app.state.config.tz)
    if errors:
        values = {**fields, "id": str(uuid.uuid4()) if "id" in errors else body["id"], "note": body["note"],
                  "occurred_at": body["occurred_at"],
                  "inspector_ids": [int(i) for i in _ids(form, "inspector_ids") if str(i).isdigit()]}
        return render(request, "notice_detail.html", _detail_context(request, db, user, notice_id, values, errors), 422)
    await run_in_threadpool(_store_photos, db, request.app.state.config.media_dir, step["id"], uploads, user["id"])
    return redirect(f"/notices/{notice_id}")


@router.get("/notices/{notice_id}/print")
def notice_print(request: Request, notice_id: str, db: Database = Depends(get_db), user=Depends(FIELD)):
    """The notice on A4 in the official layout: header, number, addressee, items, deadline, basis, inspectors, receipt."""
    context = _detail_context(request, db, user, notice_id)
    receipts = [s for s in context["steps"] if not s["voided"] and s["step"] in (notices.SERVED, notices.REFUSED)]
    context["receipt"] = receipts[0] if receipts else None
    return render(request, "notice_print.html", context)
