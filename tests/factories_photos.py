"""Events and photos for the photo tests, made without going through the events API."""

from __future__ import annotations

import io
import json
import os
import uuid

from PIL import Image


def make_event(db, user_id: int, event_id: str | None = None, occurred_at: str = "2021-03-15T10:00:00+08:00") -> str:
    """Insert a minimal leaflets event (every NOT NULL column of `events` filled); return its id."""
    event_id = event_id or str(uuid.uuid4())
    data = json.dumps({"copies": 10})
    db.execute(
        "INSERT INTO events (id, kind, occurred_at, day, month, received_at, recorded_by, place, data, content_hash, "
        "updated_at) VALUES (?, 'leaflets', ?, ?, ?, ?, ?, '镇集市', ?, ?, ?)",
        [event_id, occurred_at, occurred_at[:10], occurred_at[:7], "2021-03-15T02:00:00+00:00", user_id, data,
         "test-" + event_id, "2021-03-15T02:00:00+00:00"])
    db.execute("INSERT INTO event_inspectors (event_id, user_id) VALUES (?, ?)", [event_id, user_id])
    return event_id


def jpeg(size=(400, 300), colour=(0, 0, 255), corner=(255, 0, 0), exif: Image.Exif | None = None,
         quality: int = 90, noise: bool = False) -> bytes:
    """A JPEG with a coloured top-left corner (a quarter of each side) so orientation can be checked."""
    im = Image.new("RGB", size, colour)
    if noise:
        grain = Image.frombytes("L", size, os.urandom(size[0] * size[1]))
        im = Image.merge("RGB", (grain, im.getchannel("G"), im.getchannel("B")))
    im.paste(corner, (0, 0, size[0] // 4, size[1] // 4))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """EXIF with a GPS block (Hengdong county) and optionally an orientation tag."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (27.0, 4.0, 48.0)
    gps[3] = "E"
    gps[4] = (112.0, 57.0, 0.0)
    return exif
