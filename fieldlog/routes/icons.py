"""/favicon.ico at the site root, where browsers look for it on answers that name no icon (JSON, images)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from fieldlog.resources import resource_dir

router = APIRouter()


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """The icon drawn by tools/make_icons.py (static/icons/favicon.ico)."""
    return FileResponse(resource_dir("static") / "icons" / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})
