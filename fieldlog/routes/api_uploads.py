"""JSON API for resumable photo uploads (fieldlog.uploads): create, ask the offset, send the rest from it.

A phone creates the upload of a photo for an event (size and SHA-256), then PUTs the bytes from the offset the
server answers; a request cut off keeps what arrived, and the next one (from any page) resumes there. On the last
byte the photo is checked and attached like `POST /api/v1/events/{id}/photos`: once per event and photo.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlite_utils import Database
from starlette.requests import ClientDisconnect

from fieldlog import events, photos, uploads
from fieldlog.errors import Forbidden, InvalidInput
from fieldlog.messages import t
from fieldlog.routes.api_events import PHOTO_FIELDS, json_body
from fieldlog.web import Int64, InvalidQuery, current_time, get_db, require, with_photo_urls

router = APIRouter(prefix="/api/v1", tags=["uploads"])
field_worker = require("inspector", "chief")
BUSY_WAIT_S = 10  # a request cut off a moment ago may still hold the upload: wait for it this long


class UploadIn(BaseModel):
    size: int = Field(description="the photo's size in bytes (at most the photo limit)")
    sha256: str = Field(description="SHA-256 of the photo's bytes, hex")


def _body_schema() -> dict:
    schema = UploadIn.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _complete(photo: dict, size: int, upload: uploads.Upload | None = None) -> dict:
    linked = with_photo_urls(photo)
    # The last part's answer also says what it took: every body byte that arrived, in how many requests.
    counters = {"received_total": upload.received_total, "requests": upload.requests} if upload else {}
    return {"complete": True, "size": size, "offset": size, "photo": {k: linked.get(k) for k in PHOTO_FIELDS}, **counters}


@router.post("/events/{event_id}/uploads", status_code=201, openapi_extra=_body_schema(),
             summary=t("uploads.api_create"))
def create_upload(request: Request, event_id: str, body: Any = Depends(json_body), db: Database = Depends(get_db),
                  user: dict = Depends(field_worker)):
    """Start the upload of a photo, or find the one started before: answers the offset to send from."""
    event = events.load(db, event_id)
    if not events.can_change(event, user):
        raise Forbidden()
    if not isinstance(body, dict):
        raise InvalidInput({"body": t("events.body_not_object")})
    size, sha256 = uploads.check_declared(body.get("size"), body.get("sha256"))
    stored = photos.find(db, event_id, sha256)
    if stored:
        return JSONResponse(_complete(stored, size))
    media = request.app.state.config.media_dir
    upload, created = uploads.start(media, event_id, user["id"], size, sha256, now=current_time(request))
    return JSONResponse(upload.public(), status_code=201 if created else 200)


@router.get("/uploads/{upload_id}", summary=t("uploads.api_status"))
def upload_status(request: Request, upload_id: str, user: dict = Depends(field_worker)):
    """How many bytes of the upload the server holds (404 once it is complete: create it again to learn so)."""
    return uploads.get(request.app.state.config.media_dir, upload_id, user["id"]).public()


async def _writer(media, upload: uploads.Upload, offset: int) -> uploads.Writer:
    for _ in range(int(BUSY_WAIT_S / 0.1)):
        try:
            return uploads.Writer(media, upload, offset)
        except uploads.Busy:
            await asyncio.sleep(0.1)
    raise uploads.Busy()


def _offset_answer(message: str, offset: int) -> JSONResponse:
    return JSONResponse({"detail": message, "offset": offset}, status_code=409)


@router.put("/uploads/{upload_id}", summary=t("uploads.api_chunk"),
            openapi_extra={"requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def put_chunk(request: Request, upload_id: str, offset: Int64, db: Database = Depends(get_db),
                    user: dict = Depends(field_worker)):
    """Append the body from `offset`: bytes the server already holds are skipped, a gap is a 409 with the offset."""
    if offset < 0:
        raise InvalidQuery({"offset": t("uploads.offset_invalid")})
    media = request.app.state.config.media_dir
    upload = uploads.get(media, upload_id, user["id"])
    try:
        writer = await _writer(media, upload, offset)
    except uploads.OffsetMismatch as exc:
        return _offset_answer(t("uploads.offset_mismatch", offset=exc.offset), exc.offset)
    except uploads.Busy:
        return _offset_answer(t("uploads.busy"), upload.offset)
    try:
        try:
            async for chunk in request.stream():
                writer.feed(chunk)
        except ClientDisconnect:
            await run_in_threadpool(writer.close)  # what arrived is kept: the next request resumes after it
            return JSONResponse(upload.public())
        except BaseException:
            await run_in_threadpool(writer.close)
            raise
        upload = await run_in_threadpool(writer.close)
        if upload.offset < upload.size:
            return JSONResponse(upload.public())
        photo, created = await run_in_threadpool(uploads.finish, db, media, upload, current_time(request))
    finally:
        writer.release()
    return JSONResponse(_complete(photo, upload.size, upload), status_code=201 if created else 200)
