"""A stored photo and its thumbnail carry no metadata segment of the upload: no comment (COM), no XMP, no EXIF."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms

from fieldlog import photos
from tests.factories import event as store_event, gps_exif, jpeg

COMMENT = b"Shot by Zhang San, +86 138 0000 0000"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="27,4.8N"/></rdf:RDF></x:xmpmeta>')
MAKER_NOTE = b"PhoneVendor\x00serial=SN-0042"


def segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def with_segments(data: bytes, *segments: bytes) -> bytes:
    """The JPEG `data` with `segments` written by hand right after its SOI marker."""
    assert data[:2] == b"\xff\xd8"
    return data[:2] + b"".join(segments) + data[2:]


def header_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment before the image data (start of scan)."""
    assert data[:2] == b"\xff\xd8"
    out, i = [], 2
    while True:
        assert data[i] == 0xFF
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the compressed picture follows
            return out
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        out.append((marker, data[i + 4:i + 2 + length]))
        i += 2 + length


def metadata(data: bytes) -> list[tuple[int, bytes]]:
    """The COM and APPn segments, as (marker, first bytes of the payload)."""
    return [(m, p[:14]) for m, p in header_segments(data) if m == 0xFE or 0xE0 <= m <= 0xEF]


def upload() -> bytes:
    """A phone-like JPEG: EXIF with GPS, then by hand a comment, an XMP packet and a vendor APP block."""
    data = with_segments(jpeg((800, 600), exif=gps_exif()),
                         segment(0xFE, COMMENT),
                         segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP),
                         segment(0xEB, MAKER_NOTE))
    found = [m for m, _ in header_segments(data)]
    assert {0xFE, 0xE1, 0xEB} <= set(found)  # the upload really has them, and Pillow reads it
    assert Image.open(io.BytesIO(data)).info.get("comment") == COMMENT
    return data


def test_process_keeps_only_the_jfif_header():
    processed = photos.process(upload())
    for data in (processed.jpeg, processed.thumb):
        assert metadata(data) == [(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")]
        for secret in (COMMENT, b"Zhang San", b"xmpmeta", b"GPSLatitude", b"SN-0042", b"PhoneMaker", b"Exif"):
            assert secret not in data


def test_a_colour_profile_stays_and_nothing_else_joins_it():
    im = Image.new("RGB", (400, 300), (0, 0, 255))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    im.save(out, "JPEG", icc_profile=icc)
    data = with_segments(out.getvalue(), segment(0xFE, COMMENT), segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP))
    processed = photos.process(data)
    for stored in (processed.jpeg, processed.thumb):
        assert [(m, p[:12]) for m, p in metadata(stored)] == [(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01"),
                                                              (0xE2, b"ICC_PROFILE\x00")]
        assert Image.open(io.BytesIO(stored)).info["icc_profile"] == icc


@pytest.fixture
def event(db, users):
    return store_event(db, "leaflets", "2021-03-15T10:00:00+08:00", by=users["alice"], place="镇集市",
                       fields={"copies": 10})["id"]


def test_the_files_on_disk_and_what_is_served_carry_none_of_it(db, cfg, users, event, client_for):
    photo, created = photos.ingest(db, cfg.media_dir, event, upload(), users["alice"])
    assert created
    client = client_for("alice")
    for thumb in (False, True):
        on_disk = photos.file_path(cfg.media_dir, photo, thumb=thumb).read_bytes()
        served = client.get(f"/media/photos/{photo['id']}" + ("/thumb" if thumb else "")).content
        assert served == on_disk
        assert [m for m, _ in metadata(on_disk)] == [0xE0]
        assert COMMENT not in on_disk and b"xmpmeta" not in on_disk
