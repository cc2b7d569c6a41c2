"""Resumable photo uploads: a phone on a weak signal sends a photo in as many requests as it takes, never twice.

An upload is addressed by its event and the sha256 of its bytes, and belongs to the user who started it; its
file id is derived from those three, so every attempt (a phone that lost an answer, another page resuming) finds
the same upload and its offset, and the first part sent creates it. The bytes
received so far are kept in `MEDIA/uploads/<id>.part`, beside a small JSON sidecar (who, which event, size, hash,
counters); no table: a partial upload is a file until it is complete. A chunk names its offset; bytes the server
already has are skipped (a resent chunk is harmless), a gap is refused with the current offset, and a request cut
off midway keeps what arrived. On the last byte the hash is checked and the photo goes through `photos.ingest`
like any upload, which stores it once per event and hash; the partial files are then removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from fieldlog import photos
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.messages import t
from fieldlog.periods import utc, utc_stamp

SHA256 = re.compile(r"^[0-9a-f]{64}$")
STALE_AFTER = timedelta(days=14)  # a partial upload nobody resumed for this long is removed


@dataclass
class Upload:
    """A partial upload: what was declared, and how many bytes the server holds (`offset`)."""

    id: str
    event_id: str
    user_id: int
    size: int
    sha256: str
    offset: int
    received_total: int = 0  # every body byte that arrived for it, resent ones included
    requests: int = 0

    def public(self) -> dict:
        """What the API answers about it."""
        return {"event_id": self.event_id, "sha256": self.sha256, "size": self.size, "offset": self.offset,
                "complete": False, "received_total": self.received_total}


class OffsetMismatch(Exception):
    """A chunk that starts past the bytes the server holds; carries the offset to resume from."""

    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


class Busy(Exception):
    """Another request is writing this upload right now."""


def folder(media_dir: Path) -> Path:
    return Path(media_dir) / "uploads"


def _paths(media_dir: Path, upload_id: str) -> tuple[Path, Path]:
    base = folder(media_dir) / upload_id
    return base.with_suffix(".part"), base.with_suffix(".json")


def upload_id(event_id: str, user_id: int, sha256: str) -> str:
    """The file id of the upload of these bytes to this event by this user: the same for every attempt."""
    return hashlib.sha256(f"{event_id}\0{user_id}\0{sha256}".encode()).hexdigest()[:32]


def check_sha256(sha256: str) -> str:
    """The hash in lower case, or InvalidInput naming `sha256`."""
    if not SHA256.fullmatch(sha256.lower()):
        raise InvalidInput({"sha256": t("uploads.sha256_invalid")})
    return sha256.lower()


def check_size(size: int) -> int:
    """The declared size, or InvalidInput naming `size` (over the photo limit: refused before a byte is read)."""
    if size < 1:
        raise InvalidInput({"size": t("uploads.size_invalid")})
    if size > photos.MAX_BYTES:
        raise InvalidInput({"size": photos.too_large(size)})
    return size


def _read_sidecar(media_dir: Path, uid: str) -> dict | None:
    part, side = _paths(media_dir, uid)
    try:
        return json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_sidecar(media_dir: Path, info: dict) -> None:
    photos.write_atomic(_paths(media_dir, info["id"])[1], json.dumps(info).encode())


def _as_upload(media_dir: Path, info: dict) -> Upload:
    part = _paths(media_dir, info["id"])[0]
    offset = part.stat().st_size if part.exists() else 0
    return Upload(id=info["id"], event_id=info["event_id"], user_id=info["user_id"], size=info["size"],
                  sha256=info["sha256"], offset=offset, received_total=info.get("received_total", 0),
                  requests=info.get("requests", 0))


def start(media_dir: Path, event_id: str, user_id: int, size: int, sha256: str, now: datetime) -> tuple[Upload, bool]:
    """The upload of these bytes to this event: (upload, True) when created now, (the existing one, False).
    A size other than the one first declared for these bytes is refused."""
    found = find(media_dir, event_id, user_id, sha256)
    if found is not None:
        if found.size != size:
            raise InvalidInput({"size": t("uploads.size_differs", size=found.size)})
        return found, False
    sweep(media_dir, now)
    folder(media_dir).mkdir(parents=True, exist_ok=True)
    info = {"id": upload_id(event_id, user_id, sha256), "event_id": event_id, "user_id": user_id, "size": size,
            "sha256": sha256, "created_at": utc_stamp(now), "received_total": 0, "requests": 0}
    _paths(media_dir, info["id"])[0].touch()
    _write_sidecar(media_dir, info)
    return _as_upload(media_dir, info), True


def find(media_dir: Path, event_id: str, user_id: int, sha256: str) -> Upload | None:
    """The user's upload of these bytes to this event, if one was started (and is not finished)."""
    info = _read_sidecar(media_dir, upload_id(event_id, user_id, sha256))
    return _as_upload(media_dir, info) if info is not None else None


def discard(media_dir: Path, uid: str) -> None:
    """Remove an upload's files (done, or its bytes are of no use)."""
    for path in _paths(media_dir, uid):
        path.unlink(missing_ok=True)


def sweep(media_dir: Path, now: datetime) -> int:
    """Remove partial uploads not touched for STALE_AFTER; returns how many."""
    cutoff, removed = utc(now).timestamp() - STALE_AFTER.total_seconds(), 0
    for side in folder(media_dir).glob("*.json") if folder(media_dir).is_dir() else []:
        part = side.with_suffix(".part")
        touched = max(side.stat().st_mtime, part.stat().st_mtime if part.exists() else 0)
        if touched < cutoff:
            discard(media_dir, side.stem)
            removed += 1
    return removed


class Writer:
    """Appends one request's chunk to an upload under an exclusive lock (one writer per upload, any process).

    `feed` takes the body as it arrives; bytes before the held offset are skipped, bytes past the declared
    size refused. `close` flushes what arrived to disk, even when the request was cut off, and counts it.
    """

    def __init__(self, media_dir: Path, upload: Upload, offset: int):
        self.media_dir, self.upload = Path(media_dir), upload
        part = _paths(media_dir, upload.id)[0]
        try:  # never created again here: a finished (or dropped) upload's part is gone for good
            self.file = os.fdopen(os.open(part, os.O_WRONLY | os.O_APPEND), "ab")
        except FileNotFoundError:
            raise NotFound(t("uploads.not_found")) from None
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise Busy() from None
        self.start = os.fstat(self.file.fileno()).st_size
        upload.offset = self.start
        if offset > self.start:
            self.release()
            raise OffsetMismatch(self.start)
        self.skip, self.arrived = self.start - offset, 0

    def feed(self, chunk: bytes) -> None:
        self.arrived += len(chunk)
        if self.skip:
            dropped = min(self.skip, len(chunk))
            chunk, self.skip = chunk[dropped:], self.skip - dropped
        if not chunk:
            return
        if self.upload.offset + len(chunk) > self.upload.size:
            self.file.truncate(self.start)  # nothing of a request that overruns the declared size is kept
            self.upload.offset = self.start
            raise InvalidInput({"body": t("uploads.past_size", size=self.upload.size)})
        self.file.write(chunk)
        self.upload.offset += len(chunk)

    def close(self) -> Upload:
        """Flush to disk and count what arrived (the lock is kept until `release`); the upload, new offset."""
        self.file.flush()
        os.fsync(self.file.fileno())
        info = _read_sidecar(self.media_dir, self.upload.id) or {}
        if info:
            info["received_total"] = info.get("received_total", 0) + self.arrived
            info["requests"] = info.get("requests", 0) + 1
            _write_sidecar(self.media_dir, info)
            self.upload.received_total, self.upload.requests = info["received_total"], info["requests"]
        return self.upload

    def release(self) -> None:
        if not self.file.closed:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()


def finish(db: Database, media_dir: Path, upload: Upload, now: datetime | None = None) -> tuple[dict, bool]:
    """A complete upload checked against its hash and stored as the event's photo (once); its files removed.
    Called with the upload's Writer still holding the lock.

    A wrong hash or a file that is not a photo is InvalidInput, and the upload is dropped (its bytes are of no
    use: the phone starts again, or gives the photo up)."""
    part = _paths(media_dir, upload.id)[0]
    data = part.read_bytes()
    if hashlib.sha256(data).hexdigest() != upload.sha256:
        discard(media_dir, upload.id)
        raise InvalidInput({"sha256": t("uploads.sha256_mismatch")})
    try:
        stored = photos.ingest(db, media_dir, upload.event_id, data, upload.user_id, now=now)
    except (InvalidInput, NotFound):
        discard(media_dir, upload.id)
        raise
    discard(media_dir, upload.id)
    return stored
