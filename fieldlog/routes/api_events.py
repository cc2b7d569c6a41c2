"""JSON API for events: create (idempotent on the client id), list, read, edit, void, attach photos.

Visibility: an inspector sees (lists, reads) the events they recorded or took part in; the chief sees
every event. Editing, voiding and attaching photos follow events.can_change (recorder, inspectors, chief).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlite_utils import Database

from fieldlog import events
from fieldlog.errors import Forbidden, InvalidInput
from fieldlog.messages import t
from fieldlog.web import Int64, current_time, get_db, photo_too_large, require, with_photo_urls

router = APIRouter(prefix="/api/v1", tags=["events"])
field_worker = require("inspector", "chief")
MAX_LIMIT = 500
PHOTO_FIELDS = ("id", "event_id", "width", "height", "bytes", "content_type", "created_at", "url", "thumb_url")


class EventIn(BaseModel):
    """An event as a phone submits it (validated by fieldlog.events, which words every message in Chinese)."""

    id: str = Field(description="client-generated UUID; resending the same id is harmless")
    kind: str = Field(description="one of " + ", ".join(events.ALL_KINDS), examples=["safety_patrol"])
    occurred_at: str = Field(description="ISO 8601; without an offset it is station-local time",
                             examples=["2021-03-31T09:30:00+08:00"])
    site_id: Int64 | None = None
    plant_id: Int64 | None = None
    campaign_id: Int64 | None = None
    campaign: dict[str, str] | None = Field(
        None, description="instead of campaign_id, {name, start_on, end_on} (YYYY-MM-DD): found or created by name and dates")
    place: str | None = Field(None, description="where leaflets were handed out when neither a site nor a plant")
    inspector_ids: list[Int64] | None = Field(
        None, description="default: the submitting user; an inspector must be among them (the chief logs for anyone)")
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    note: str = ""
    fields: dict[str, Any] = Field(default_factory=dict, description="kind-specific fields, see docs/contracts.md")


class EventOut(BaseModel):
    id: str
    kind: str
    kind_label: str
    occurred_at: str
    day: str
    month: str
    received_at: str
    late: bool
    recorded_by: int
    site_id: int | None
    plant_id: int | None
    campaign_id: int | None
    place: str | None
    inspector_ids: list[int]
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    note: str
    fields: dict[str, Any]
    version: int
    voided: bool
    void_reason: str | None
    warnings: list[str] = []


class EventPatch(BaseModel):
    """Changes to an event; `fields` are merged into the stored ones (an empty value removes one)."""

    occurred_at: str | None = None
    site_id: Int64 | None = None
    plant_id: Int64 | None = None
    campaign_id: Int64 | None = None
    place: str | None = None
    inspector_ids: list[Int64] | None = Field(None, description="an inspector who edits stays among them")
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    note: str | None = None
    fields: dict[str, Any] | None = None
    reason: str = Field("", description="why the correction was made (kept in the history)")


class VoidIn(BaseModel):
    reason: str = Field(description="required: why the event is voided")


def _body_schema(model: type[BaseModel]) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def json_body(request: Request) -> Any:
    """The request's JSON, read here so that events.validate (not pydantic) words the messages."""
    try:
        return await request.json()
    except ValueError:
        raise InvalidInput({"body": t("events.body_not_json")}) from None


def _object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput({"body": t("events.body_not_object")})
    return body



def changeable(db: Database, event_id: str, user: dict) -> dict:
    """The event, if the user may change it (add photos): 404 when missing, 403 when not theirs."""
    event = events.load(db, event_id)
    if not events.can_change(event, user):
        raise Forbidden()
    return event


def _visible(db: Database, event_id: str, user: dict) -> dict:
    event = events.get_event(db, event_id)
    if not events.can_see(event, user):
        raise Forbidden()
    return event


def _date_param(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidInput({name: t("events.date_malformed")}) from None


ERRORS = {409: {"description": t("events.api_conflict")}, 422: {"description": t("events.api_invalid")}}


@router.post("/events", status_code=201, response_model=EventOut, openapi_extra=_body_schema(EventIn),
             responses={200: {"description": t("events.api_resent"), "model": EventOut}, **ERRORS})
def post_event(request: Request, body: Any = Depends(json_body), db: Database = Depends(get_db),
               user: dict = Depends(field_worker)):
    """Create an event; resending the same id and content answers 200 with the stored event."""
    cfg = request.app.state.config
    event, created, warnings = events.create(db, _object(body), user=user, now=current_time(request), tz=cfg.tz)
    return JSONResponse({**event, "warnings": warnings}, status_code=201 if created else 200)


@router.get("/events")
def get_events(request: Request, kind: str | None = None, site_id: Int64 | None = None, plant_id: Int64 | None = None,
               inspector_id: Int64 | None = None, include_voided: bool = True, limit: Int64 = 100, offset: Int64 = 0,
               db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """Events, newest first (inspectors: their own; the chief: all). `from`/`to` are inclusive local dates."""
    params = request.query_params
    if kind and kind not in events.ALL_KINDS:  # notices and their steps are listed too (kind=notice)
        raise InvalidInput({"kind": t("events.kind_unknown")})
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidInput({"limit": t("events.limit_range", max=MAX_LIMIT)})
    viewer = events.viewer_id(user)
    filters = {"kind": kind, "site_id": site_id, "plant_id": plant_id, "include_voided": include_voided,
               "date_from": _date_param(params.get("from"), "from"), "date_to": _date_param(params.get("to"), "to"),
               "user_id": inspector_id if viewer is None else viewer}
    items = events.list_events(db, limit=limit, offset=offset, **filters)
    return {"items": items, "total": events.count_events(db, **filters), "limit": limit, "offset": offset}


@router.get("/events/{event_id}")
def get_event(event_id: str, db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """One event with its inspectors, photos and revision history."""
    event = _visible(db, event_id, user)
    return {**event, "photos": [with_photo_urls(p) for p in event["photos"]]}


@router.patch("/events/{event_id}", response_model=EventOut, openapi_extra=_body_schema(EventPatch), responses=ERRORS)
def patch_event(request: Request, event_id: str, body: Any = Depends(json_body), db: Database = Depends(get_db),
                user: dict = Depends(field_worker)):
    """Correct an event (recorder, its inspectors or the chief); the previous state is kept in the history."""
    changes = dict(_object(body))
    reason = changes.pop("reason", "")
    event = events.edit(db, event_id, changes, user=user, now=current_time(request), tz=request.app.state.config.tz, reason=reason)
    return JSONResponse({**event, "warnings": events.warnings_for(db, event)})


@router.post("/events/{event_id}/void", openapi_extra=_body_schema(VoidIn), responses=ERRORS)
def void_event(request: Request, event_id: str, body: Any = Depends(json_body), db: Database = Depends(get_db),
               user: dict = Depends(field_worker)):
    """Void an event with a reason; it stays visible and counts nowhere."""
    return events.void(db, event_id, user=user, reason=_object(body).get("reason", ""), now=current_time(request))


@router.post("/events/{event_id}/photos", status_code=201,
             responses={200: {"description": t("photos.api_resent")}, **ERRORS})
def post_photo(request: Request, event_id: str, photo: UploadFile | None = File(None),
                     db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """Attach a photo (multipart field `photo`); resending the same photo stores it once."""
    changeable(db, event_id, user)
    if photo is None or isinstance(photo, str):
        raise InvalidInput({"photo": t("photos.required")})
    from fieldlog import photos

    # BodyLimit (fieldlog.web) caps the request at one photo and its framing; a photo over the photo limit
    # is refused with its real size, unread, and no more than one byte past that limit is ever read.
    if photo.size is not None and photo.size > photos.MAX_BYTES:
        raise InvalidInput({"photo": photo_too_large(photo.size)})
    data = photo.file.read(photos.MAX_BYTES + 1)
    stored, created = photos.ingest(db, request.app.state.config.media_dir, event_id, data, user["id"])
    linked = with_photo_urls(stored)
    public = {k: linked.get(k) for k in PHOTO_FIELDS}
    return JSONResponse(public, status_code=201 if created else 200)
