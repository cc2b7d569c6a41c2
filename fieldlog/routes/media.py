"""Stored event photos, served only to users who may see their event (events.can_see: the chief, its
recorder, its inspectors); anyone else gets the same 404 as for a photo that does not exist."""

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from sqlite_utils import Database

from fieldlog import events, photos
from fieldlog.errors import NotFound
from fieldlog.messages import t
from fieldlog.web import get_db, require

router = APIRouter()

PHOTO_ID = re.compile(r"^[0-9a-f]{32}$")
# A stored photo never changes (a new upload gets a new id), so browsers may keep it a year; private: no shared caches.
CACHE = "private, max-age=31536000, immutable"


def _serve(request: Request, db: Database, photo_id: str, thumb: bool, user: dict) -> FileResponse:
    photo = photos.get(db, photo_id) if PHOTO_ID.match(photo_id) else None
    if photo and not events.is_visible(db, photo["event_id"], user):
        photo = None  # another inspector's photo: as if it did not exist
    path = photos.file_path(request.app.state.config.media_dir, photo, thumb) if photo else None
    if path is None:
        raise NotFound(t("photos.not_found"))
    return FileResponse(path, media_type=photo["content_type"],
                        headers={"Cache-Control": CACHE, "X-Content-Type-Options": "nosniff"})


@router.get("/media/photos/{photo_id}", include_in_schema=False)
def photo_file(photo_id: str, request: Request, db: Database = Depends(get_db), user: dict = Depends(require())):
    return _serve(request, db, photo_id, thumb=False, user=user)


@router.get("/media/photos/{photo_id}/thumb", include_in_schema=False)
def photo_thumb(photo_id: str, request: Request, db: Database = Depends(get_db), user: dict = Depends(require())):
    return _serve(request, db, photo_id, thumb=True, user=user)
