"""JSON API for resumable photo uploads (fieldlog.uploads): send a photo's bytes from an offset, ask the offset.

A photo's upload is addressed by its event and the SHA-256 of its bytes: `PUT .../uploads/{sha256}?size=&offset=0`
begins it and sends what it can; a request cut off keeps what arrived, and the next one (from any page) asks
`GET .../uploads/{sha256}` for the offset and sends the rest from there. On the last byte the photo is checked and
attached like `POST /api/v1/events/{id}/photos`: once per event and photo.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlite_utils import Database
from starlette.requests import ClientDisconnect

from fieldlog import photos, uploads
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.messages import t
from fieldlog.routes.api_events import PHOTO_FIELDS, changeable
from fieldlog.web import Int64, current_time, get_db, query_params, require, with_photo_urls

router = APIRouter(prefix="/api/v1", tags=["uploads"])
field_worker = require("inspector", "chief")
BUSY_WAIT_S = 10  # a request cut off a moment ago may still hold the upload: wait for it this long


def _complete(photo: dict, size: int | None = None, upload: uploads.Upload | None = None) -> dict:
    linked = with_photo_urls(photo)
    out = {"complete": True, "photo": {k: linked.get(k) for k in PHOTO_FIELDS}}
    if size is not None:
        out.update(size=size, offset=size)
    if upload:  # the last part's answer also says what it took: every body byte that arrived, in how many requests
        out.update(received_total=upload.received_total, requests=upload.requests)
    return out


def _sha256(sha256: str) -> str:
    with query_params():
        return uploads.check_sha256(sha256)


@router.get("/events/{event_id}/uploads/{sha256}", summary=t("uploads.api_status"))
def upload_status(request: Request, event_id: str, sha256: str, db: Database = Depends(get_db),
                  user: dict = Depends(field_worker)):
    """How many bytes of the photo the server holds; complete (with the photo) once stored; 404 if never begun."""
    changeable(db, event_id, user)
    sha256 = _sha256(sha256)
    stored = photos.find(db, event_id, sha256)
    if stored:
        return _complete(stored)
    upload = uploads.find(request.app.state.config.media_dir, event_id, user["id"], sha256)
    if upload is None:
        raise NotFound(t("uploads.not_found"))
    return upload.public()


async def _writer(media, upload: uploads.Upload, offset: int) -> uploads.Writer:
    for _ in range(int(BUSY_WAIT_S / 0.1)):
        try:
            return uploads.Writer(media, upload, offset)
        except uploads.Busy:
            await asyncio.sleep(0.1)
    raise uploads.Busy()


def _stored_answer(db: Database, event_id: str, sha256: str, size: int) -> JSONResponse | None:
    """The answer to a part of a photo the event already has: complete, with the stored photo; None if it has not."""
    stored = photos.find(db, event_id, sha256)
    return JSONResponse(_complete(stored, size)) if stored else None


def _offset_answer(message: str, offset: int) -> JSONResponse:
    return JSONResponse({"detail": message, "offset": offset}, status_code=409)


@router.put("/events/{event_id}/uploads/{sha256}", summary=t("uploads.api_chunk"),
            openapi_extra={"requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def put_part(request: Request, event_id: str, sha256: str, size: Int64, offset: Int64,
                   db: Database = Depends(get_db), user: dict = Depends(field_worker)):
    """Append the body from `offset` (the first part begins the upload of `size` bytes): bytes the server already
    holds are skipped, a gap is a 409 with the offset to resume from; the last byte stores the photo."""
    changeable(db, event_id, user)
    sha256 = _sha256(sha256)
    with query_params():
        size = uploads.check_size(size)
        if offset < 0:
            raise InvalidInput({"offset": t("uploads.offset_invalid")})
    stored = _stored_answer(db, event_id, sha256, size)
    if stored:  # finished before (another page, a lost answer): nothing more to read
        return stored
    media = request.app.state.config.media_dir
    with query_params():
        upload, _ = uploads.start(media, event_id, user["id"], size, sha256, now=current_time(request))
    try:
        writer = await _writer(media, upload, offset)
    except NotFound:
        # The request this one waited for (another sender of the same photo) stored it, and its files went.
        stored = _stored_answer(db, event_id, sha256, size)
        if stored:
            return stored
        raise
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
