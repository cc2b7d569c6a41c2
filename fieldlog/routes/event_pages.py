"""Event pages: an inspector's history, the chief's list of all events, detail, edit and void forms."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlite_utils import Database

from fieldlog import accounts, events, integers, registry, returns, samples
from fieldlog.errors import Forbidden, InvalidInput
from fieldlog.messages import t
from fieldlog.periods import parse_month
from fieldlog.web import current_time, get_db, redirect, render, render_page, require

router = APIRouter()
field_worker = require("inspector", "chief")
PAGE_SIZE = 50



def _clean_filters(params, keys: tuple[str, ...]) -> tuple[dict, dict]:
    """(domain filters, values to echo) from query parameters; malformed ones are ignored with a message."""
    values = {k: params.get(k, "").strip() for k in (*keys, "page")}
    filters, problems = {}, {}
    if values.get("kind") in events.KINDS:
        filters["kind"] = values["kind"]
    for key, target in (("from", "date_from"), ("to", "date_to")):
        if key in keys and values[key]:
            try:
                filters[target] = date.fromisoformat(values[key]).isoformat()
            except ValueError:
                problems[key] = t("events.date_malformed")
    if "month" in keys and values["month"]:
        try:
            filters["month"] = parse_month(values["month"]).label
        except ValueError:
            problems["month"] = t("events.month_malformed")
    for key, target in (("inspector", "user_id"), ("site", "site_id")):
        number = integers.parse(values[key]) if key in keys else None
        if number is not None:
            filters[target] = number
    return filters, {**values, "problems": problems}


def _page(values: dict, pages: int) -> int:
    """The page asked for, within 1…pages (a page past the end shows the last one)."""
    return min(integers.parse(values["page"], low=1) or 1, pages)


def _list_context(db: Database, filters: dict, values: dict, base: str) -> dict:
    total = events.count_events(db, **filters)
    page = _page(values, max(1, -(-total // PAGE_SIZE)))
    rows = events.list_events(db, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)
    query = urlencode({k: v for k, v in values.items() if k not in ("page", "problems") and v})
    return {"events": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)), "values": values,
            "kinds": events.KINDS, "base": base, "query": query}


@router.get("/events/mine")
def events_mine(request: Request, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """The signed-in inspector's own events, newest first."""
    filters, values = _clean_filters(request.query_params, ("kind", "from", "to"))
    context = _list_context(db, {**filters, "user_id": user["id"]}, values, "/events/mine")
    return render_page(request, "events_mine.html", "_event_rows.html", {**context, "all_events": False})


@router.get("/events")
def events_all(request: Request, db: Database = Depends(get_db), user: dict = Depends(require("chief"))):
    """Every inspector's events (chief), filtered by kind, inspector, site and month."""
    filters, values = _clean_filters(request.query_params, ("kind", "inspector", "site", "month"))
    context = _list_context(db, filters, values, "/events")
    context.update(all_events=True, inspectors=accounts.inspectors(db), sites=registry.site_names(db))
    return render_page(request, "events_mine.html", "_event_rows.html", context)


def _visible(db: Database, event_id: str, user: dict) -> dict:
    event = events.get_event(db, event_id)
    if not events.can_see(event, user):
        raise Forbidden()
    return event


def _names(db: Database) -> dict:
    """Lookups that turn ids in a revision into names a person reads."""
    return {
        "site_id": {r["id"]: r["name"] for r in registry.site_names(db)},
        "plant_id": {r["id"]: r["name"] for r in registry.plant_names(db)},
        "campaign_id": {r["id"]: r["name"] for r in events.campaigns(db)},
        "inspector_ids": {r["id"]: r["display_name"] for r in accounts.list_users(db)},
    }


def readable(value, field: str, names: dict, kind: str = "") -> str:
    """A stored value as text for the history table (a choice by its label, old or new stored value alike)."""
    if value is None or value == "":
        return t("events.empty_value")
    if field == "inspector_ids":
        return t("events.list_separator").join(names[field].get(i, str(i)) for i in value) or t("events.empty_value")
    if field in names:
        return names[field].get(value, str(value))
    # A kind-specific field ("fields.order") is shown by its spec; a top-level one as it is (是/否 for a bool).
    return events.shown(kind if field.startswith("fields.") else "", field.removeprefix("fields."), value)


def document_url(event: dict) -> str:
    """The page of a notice document (a notice, or the notice a step belongs to): its own page shows it all."""
    return f"/notices/{event['fields'].get('notice_event_id') or event['id']}"


def local_text(iso: str | None, tz) -> str:
    """A stored UTC timestamp as station-local 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M") if iso else ""


@router.get("/events/{event_id}")
def event_detail(request: Request, event_id: str, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """One event: fields with labels, photos, GPS and the history of corrections."""
    event = _visible(db, event_id, user)
    if event["kind"] in events.DOCUMENT_KINDS:
        return redirect(document_url(event))
    names, tz = _names(db), request.app.state.config.tz
    event["received_local"], event["voided_local"] = local_text(event["received_at"], tz), local_text(event["voided_at"], tz)
    for rev in event["revisions"]:
        rev["changed_local"] = local_text(rev["changed_at"], tz)
        for change in rev["changes"]:
            key = change["field"]
            change["before_text"] = readable(change["before"], key, names, event["kind"])
            change["after_text"] = readable(change["after"], key, names, event["kind"])
    return render(request, "event_detail.html", {
        "event": event, "spec": events.KINDS[event["kind"]], "can_change": events.can_change(event, user),
        "warnings": events.warnings_for(db, event), "voided_by": names["inspector_ids"].get(event["voided_by"]),
        "reviews": events.reviews_of(db, event_id) if event["fields"].get("notice_no") else [],
        "shown": events.shown, "returns": returns.of_event(db, event_id, tz),
        "sample": samples.get_sample(db, event_id) if events.KINDS[event["kind"]].get("results") else None})


# --- edit ---------------------------------------------------------------------------------------------

def _local_input(occurred_at: str, tz) -> str:
    return datetime.fromisoformat(occurred_at).astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def _form_values(event: dict, tz) -> dict:
    values = {k: "" if v is None else v for k, v in events.as_raw(event).items() if k != "fields"}
    values["occurred_at"] = _local_input(event["occurred_at"], tz)
    values.update({k: "1" if v is True else ("0" if v is False else events.normalized(event["kind"], k, v))
                   for k, v in event["fields"].items()})
    values["inspector_ids"] = event["inspector_ids"]
    return values


def _changes_from_form(form, kind: str) -> tuple[dict, dict]:
    """(changes for events.edit, values to echo) from the edit form; every field of the kind is sent."""
    values = {k: str(v).strip() for k, v in form.items() if k not in ("csrf_token", "inspector_ids")}
    raw_ids = form.getlist("inspector_ids")
    # Echoed as ints (to tick the boxes); changes carry the raw texts, which events.validation judges.
    values["inspector_ids"] = [n for n in (integers.parse(i) for i in raw_ids) if n is not None]
    fields = {}
    for spec in events.KINDS[kind]["fields"]:
        fields[spec["name"]] = ("1" if form.get(spec["name"]) else "0") if spec["type"] == "bool" else values.get(spec["name"], "")
    changes = {k: values.get(k, "") for k in ("occurred_at", "note")}
    for key in events.subject_fields(kind):
        changes[key] = values.get(key, "")
    changes["inspector_ids"] = [str(i) for i in raw_ids]
    changes["fields"] = fields
    return changes, values


def _edit_context(request: Request, db: Database, event: dict, values: dict, errors: dict) -> dict:
    return {"event": event, "spec": events.KINDS[event["kind"]], "values": values, "errors": errors,
            "sites": registry.site_names(db), "plants": registry.plant_names(db), "campaigns": events.campaigns(db),
            "inspectors": accounts.inspectors(db), "checks": events.client_checks(event["kind"]),
            "notices": events.open_notices(db, event["site_id"], today=_today(request)),
            "labs": samples.labs(db) if events.KINDS[event["kind"]].get("results") else []}


def _today(request: Request) -> date:
    """The station-local day now, as the phone's logging form reckons it."""
    return current_time(request).astimezone(request.app.state.config.tz).date()


def _changeable(db: Database, event_id: str, user: dict) -> dict:
    event = events.get_event(db, event_id)
    if not events.can_change(event, user):
        raise Forbidden()
    return event


@router.get("/events/{event_id}/edit")
def event_edit_form(request: Request, event_id: str, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """The correction form, built from KINDS (a notice document is never corrected: its page says how)."""
    event = _changeable(db, event_id, user)
    if event["kind"] in events.DOCUMENT_KINDS:
        return redirect(document_url(event))
    errors = {"voided": t("events.voided_no_change")} if event["voided"] else {}
    values = _form_values(event, request.app.state.config.tz)
    return render(request, "event_edit.html", _edit_context(request, db, event, values, errors), 422 if errors else 200)


@router.post("/events/{event_id}/edit")
async def event_edit(request: Request, event_id: str, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """Save a correction; re-render with messages (422) when something is wrong."""
    event = _changeable(db, event_id, user)
    if event["kind"] in events.DOCUMENT_KINDS:
        return redirect(document_url(event))
    changes, values = _changes_from_form(await request.form(), event["kind"])
    try:
        events.edit(db, event_id, changes, user=user, now=current_time(request), tz=request.app.state.config.tz,
                    reason=values.get("reason", ""))
    except InvalidInput as exc:
        return render(request, "event_edit.html", _edit_context(request, db, event, values, exc.errors), 422)
    return redirect(f"/events/{event_id}")


# --- void ---------------------------------------------------------------------------------------------

@router.get("/events/{event_id}/void")
def event_void_form(request: Request, event_id: str, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """Ask for the reason before voiding."""
    event = _changeable(db, event_id, user)
    errors = {"voided": t("events.already_voided")} if event["voided"] else {}
    return render(request, "event_void.html", {"event": event, "errors": errors, "reason": ""}, 422 if errors else 200)


@router.post("/events/{event_id}/void")
async def event_void(request: Request, event_id: str, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """Void with a reason; the event stays visible and counts nowhere."""
    event = _changeable(db, event_id, user)
    reason = str((await request.form()).get("reason", "")).strip()
    try:
        events.void(db, event_id, user=user, reason=reason, now=current_time(request))
    except InvalidInput as exc:
        return render(request, "event_void.html", {"event": event, "errors": exc.errors, "reason": reason}, 422)
    return redirect(f"/events/{event_id}")
