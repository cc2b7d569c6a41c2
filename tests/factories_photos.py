"""Events to attach photos to, and photos made with Pillow."""

from __future__ import annotations

import io
import os
import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from PIL import Image

from fieldlog import accounts, events

NOW = datetime(2021, 3, 15, 3, 0, tzinfo=timezone.utc)
TZ = ZoneInfo("Asia/Shanghai")


def make_event(db, user_id: int, event_id: str | None = None, occurred_at: str = "2021-03-15T10:00:00+08:00") -> str:
    """Store a leaflets event at a town fair through fieldlog.events.create; return its id."""
    raw = {"id": event_id or str(uuid.uuid4()), "kind": "leaflets", "occurred_at": occurred_at, "place": "镇集市",
           "fields": {"copies": 10}}
    event, created, _ = events.create(db, raw, user=accounts.get_user(db, user_id), now=NOW, tz=TZ)
    assert created
    return event["id"]


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
