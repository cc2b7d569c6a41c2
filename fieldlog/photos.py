"""Event photos: check, turn upright, shrink, strip EXIF, store under server-chosen names."""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pillow_heif
from PIL import Image, ImageOps
from sqlite_utils import Database

from fieldlog.db import one, write
from fieldlog.errors import InvalidInput, NotFound
# Photos belong to events, and events.get_event lists them: this import is circular, read only at call time.
from fieldlog.events import queries as event_queries
from fieldlog.messages import t
from fieldlog.periods import utc

pillow_heif.register_heif_opener()
Image.init()  # load every plugin now, so the allow-list below names registered formats

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
LONG_SIDE = 1600
THUMB_SIDE = 320
JPEG_QUALITY = 85
THUMB_QUALITY = 80
# Only formats a phone camera or a screenshot produces; Pillow can open many more (EPS, PSD...) we do not want.
FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF", "GIF")  # JPEG covers MPO (multi-picture JPEG)

MSG_NOT_IMAGE = t("photos.not_image")
MSG_EMPTY = t("photos.empty")
MSG_BROKEN = t("photos.broken")


@dataclass
class Processed:
    """A photo ready to store: JPEG bytes of the picture and its thumbnail."""

    jpeg: bytes
    thumb: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"


def _bad(message: str) -> InvalidInput:
    return InvalidInput({"photo": message})


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}"


def too_large(n: int) -> str:
    """The refusal of a photo of n bytes, over MAX_BYTES."""
    return t("photos.too_large", size=_megabytes(n), limit=MAX_BYTES // (1024 * 1024))


def _too_many_pixels(pixels: int | None) -> InvalidInput:
    counted = t("photos.pixels_counted", n=round(pixels / 10_000)) if pixels else ""
    return _bad(t("photos.too_many_pixels", counted=counted, limit=MAX_PIXELS // 10_000))


def _bomb_pixels(error: Exception) -> int | None:
    """The pixel count Pillow names in its DecompressionBombError, if it does."""
    match = re.search(r"\((\d+) pixels\)", str(error))
    return int(match.group(1)) if match else None


def _open(data: bytes) -> Image.Image:
    """Open lazily (header only), refusing what is not an image of an allowed format."""
    try:
        return Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(_bomb_pixels(exc)) from None
    except (Image.UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _bad(MSG_NOT_IMAGE) from None


def _check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise _bad(MSG_NOT_IMAGE)
    if width * height > MAX_PIXELS:
        raise _too_many_pixels(width * height)


def fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` scaled down (never up) so that its long side is at most `side`, aspect ratio kept."""
    width, height = size
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _rgb(im: Image.Image) -> Image.Image:
    """RGB for JPEG; transparency goes onto white, as the photo would look on the page."""
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        background.info.update(im.info)  # keeps the EXIF orientation for exif_transpose
        return background
    return im.convert("RGB")


def _jpeg(im: Image.Image, quality: int, icc: bytes | None) -> bytes:
    out = io.BytesIO()
    # The stored file carries none of the upload's metadata (GPS and time stay fields of the event): no EXIF,
    # no XMP, and no comment (COM), which Pillow would otherwise copy from im.info. What remains is the JFIF
    # header and, when the photo had one, its colour profile (APP2 ICC_PROFILE), which its colours need.
    options = {"icc_profile": icc} if icc else {}
    im.save(out, "JPEG", quality=quality, exif=b"", xmp=b"", comment=b"", **options)
    return out.getvalue()


def process(data: bytes, *, long_side: int = LONG_SIDE, thumb_side: int = THUMB_SIDE, draft: bool = True) -> Processed:
    """Check an uploaded photo and return it upright, shrunk, re-encoded as JPEG without EXIF, with a thumbnail."""
    # draft=False (decode JPEGs at full size) exists only as bench/photo_ingest.py's baseline.
    if not data:
        raise _bad(MSG_EMPTY)
    if len(data) > MAX_BYTES:
        raise _bad(too_large(len(data)))
    probe = _open(data)
    _check_pixels(probe.size)
    try:
        probe.verify()
    except Exception:
        raise _bad(MSG_BROKEN) from None
    im = _open(data)  # verify() leaves the image unusable: open again
    icc = im.info.get("icc_profile")
    try:
        if draft and im.format in ("JPEG", "MPO"):
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: ask with the photo's own aspect ratio (NOTES.md).
            im.draft("RGB", fit(im.size, long_side))
        im.seek(0)
        im.load()
        im = _rgb(im)
        target = fit(im.size, long_side)
        if target != im.size:
            im = im.resize(target, Image.Resampling.LANCZOS)
        # Turned upright after shrinking: fewer pixels to move. resize() keeps the EXIF it reads.
        im = ImageOps.exif_transpose(im)
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(_bomb_pixels(exc)) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise _bad(MSG_BROKEN) from None
    thumb = im.resize(fit(im.size, thumb_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return Processed(jpeg=_jpeg(im, JPEG_QUALITY, icc), thumb=_jpeg(thumb, THUMB_QUALITY, icc),
                     width=im.width, height=im.height)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, flush it to disk, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself must survive a power cut too, as the row that points at it will.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def find(db: Database, event_id: str, digest: str) -> dict | None:
    """The photo of this event whose uploaded bytes had this sha256, if it is stored."""
    return one(db, "SELECT * FROM event_photos WHERE event_id = ? AND sha256 = ?", [event_id, digest])


def ingest(db: Database, media_dir: Path, event_id: str, data: bytes, user_id: int,
           now: datetime | None = None, draft: bool = True) -> tuple[dict, bool]:
    """Store a photo for an event: (photo, True) when stored now, (the stored photo, False) for a resend."""
    if not event_queries.exists(db, event_id):
        raise NotFound(t("common.not_found"))
    digest = hashlib.sha256(data).hexdigest()
    stored = find(db, event_id, digest)
    if stored:
        return stored, False
    processed = process(data, draft=draft)
    now = utc(now)
    photo_id = secrets.token_hex(16)
    file_rel = f"{now:%Y/%m}/{photo_id}.jpg"
    thumb_rel = f"{now:%Y/%m}/{photo_id}_t.jpg"
    files = [Path(media_dir) / file_rel, Path(media_dir) / thumb_rel]
    try:
        write_atomic(files[0], processed.jpeg)
        write_atomic(files[1], processed.thumb)
        with write(db):
            db.execute(
                "INSERT INTO event_photos (id, event_id, sha256, file, thumb, width, height, bytes, content_type, "
                "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [photo_id, event_id, digest, file_rel, thumb_rel, processed.width, processed.height,
                 len(processed.jpeg), processed.content_type, now.isoformat(timespec="seconds"), user_id])
    except BaseException as exc:
        for path in files:
            path.unlink(missing_ok=True)
        # Another request stored the same photo in the meantime: answer with its row.
        stored = find(db, event_id, digest) if isinstance(exc, sqlite3.IntegrityError) else None
        if stored:
            return stored, False
        raise
    return find(db, event_id, digest), True


def for_event(db: Database, event_id: str) -> list[dict]:
    """The photos of an event, oldest first (rows with their ids; the web layer builds the links)."""
    return list(db.query("SELECT * FROM event_photos WHERE event_id = ? ORDER BY created_at, rowid", [event_id]))


def get(db: Database, photo_id: str) -> dict | None:
    """One photo row, or None."""
    return one(db, "SELECT * FROM event_photos WHERE id = ?", [photo_id])


def file_path(media_dir: Path, photo: dict, thumb: bool = False) -> Path | None:
    """The stored file of a photo (or its thumbnail), only if it lies inside the media folder and exists."""
    root = Path(media_dir).resolve()
    path = (root / photo["thumb" if thumb else "file"]).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path
