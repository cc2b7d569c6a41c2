"""Photos: checked, upright, shrunk, stripped of EXIF, stored once, served only to signed-in users."""

from __future__ import annotations

import io
import re
import struct
import threading
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from fieldlog import accounts, db as db_mod, photos
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.web import photo_url
from tests.factories import event as store_event, gps_exif, jpeg

NOW = datetime(2021, 3, 15, 2, 0, tzinfo=timezone.utc)
AT_THE_FAIR = "2021-03-15T10:00:00+08:00"   # leaflets handed out at a town fair, photographed at NOW
RED, BLUE = (255, 0, 0), (0, 0, 255)


def near(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def refused(data: bytes) -> str:
    with pytest.raises(InvalidInput) as info:
        photos.process(data)
    assert list(info.value.errors) == ["photo"]
    return info.value.errors["photo"]


def png_declaring(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims `width` x `height` (a decompression bomb's calling card)."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = 8 + 8  # signature, then length + type of the first chunk
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    body = bytes(data[ihdr - 4:ihdr + 13])
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(body))
    return bytes(data)


def stored_files(media_dir: Path) -> list[Path]:
    return sorted(p for p in Path(media_dir).rglob("*") if p.is_file())


@pytest.fixture
def event(db, users):
    return store_event(db, "leaflets", AT_THE_FAIR, by=users["alice"], place="镇集市", fields={"copies": 10})["id"]


# --- process: pure ------------------------------------------------------------------------------

def test_exif_orientation_6_is_stored_upright():
    data = jpeg((400, 300), colour=BLUE, corner=RED, exif=gps_exif(orientation=6))
    assert Image.open(io.BytesIO(data)).getexif()[0x0112] == 6
    out = Image.open(io.BytesIO(photos.process(data).jpeg))
    assert out.size == (300, 400)
    # Orientation 6 means "turn 90° clockwise to view": the red top-left corner ends top-right.
    assert near(out.getpixel((out.width - 10, 10)), RED)
    assert near(out.getpixel((10, 10)), BLUE)
    assert near(out.getpixel((out.width - 10, out.height - 10)), BLUE)
    assert 0x0112 not in out.getexif()


def test_gps_and_all_exif_are_gone_from_the_stored_file():
    data = jpeg(exif=gps_exif())
    uploaded = Image.open(io.BytesIO(data)).getexif()
    assert uploaded.get_ifd(0x8825)[2] == (27.0, 4.0, 48.0)
    processed = photos.process(data)
    for stored in (processed.jpeg, processed.thumb):
        im = Image.open(io.BytesIO(stored))
        assert len(im.getexif()) == 0
        assert not im.getexif().get_ifd(0x8825)
        assert "exif" not in im.info
        assert b"Exif" not in stored[:4096]


def test_large_photo_is_shrunk_to_the_long_side_and_gets_a_thumbnail():
    processed = photos.process(jpeg((3200, 2400), noise=True))
    im = Image.open(io.BytesIO(processed.jpeg))
    assert im.format == "JPEG" and im.size == (1600, 1200) == (processed.width, processed.height)
    assert near(im.getpixel((5, 5)), RED)
    assert near(im.getpixel((1590, 1190))[1:], BLUE[1:])  # the red channel carries the noise
    thumb = Image.open(io.BytesIO(processed.thumb))
    assert thumb.format == "JPEG" and thumb.size == (320, 240)
    # Decoding at full size (the benchmark's baseline) gives the same picture size.
    full = photos.process(jpeg((3200, 2400), noise=True), draft=False)
    assert (full.width, full.height) == (1600, 1200)


def test_small_photo_is_not_enlarged():
    processed = photos.process(jpeg((200, 100)))
    assert (processed.width, processed.height) == (200, 100)
    assert Image.open(io.BytesIO(processed.thumb)).size == (200, 100)


@pytest.mark.parametrize("size, requested, expected", [
    ((4000, 3000), 1600, (1600, 1200)),
    ((3000, 4000), 1600, (1200, 1600)),
    ((1000, 500), 1600, (1000, 500)),
    ((5000, 10), 320, (320, 1)),
])
def test_fit_keeps_the_aspect_ratio(size, requested, expected):
    assert photos.fit(size, requested) == expected


def test_png_with_transparency_is_flattened_on_white():
    im = Image.new("RGBA", (100, 80), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (0, 0, 20, 20))
    out = io.BytesIO()
    im.save(out, "PNG")
    stored = Image.open(io.BytesIO(photos.process(out.getvalue()).jpeg))
    assert stored.mode == "RGB"
    assert near(stored.getpixel((50, 50)), (255, 255, 255)) and near(stored.getpixel((5, 5)), RED)


def test_transparent_png_with_exif_orientation_is_stored_upright():
    im = Image.new("RGBA", (200, 100), (0, 0, 255, 255))
    im.paste((255, 0, 0, 255), (0, 0, 50, 25))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    im.save(out, "PNG", exif=exif)
    stored = Image.open(io.BytesIO(photos.process(out.getvalue()).jpeg))
    assert stored.size == (100, 200)
    assert near(stored.getpixel((stored.width - 5, 5)), RED)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_is_refused_before_decoding():
    # 7000 x 6000 = 4200 万 pixels: above fieldlog's limit, below Pillow's own.
    message = refused(png_declaring(7000, 6000))
    assert message == "照片像素过多（4200 万像素），上限 4000 万像素"
    # 20000 x 20000 trips Pillow's DecompressionBombError as it opens: still a clean message.
    assert refused(png_declaring(20000, 20000)) == "照片像素过多（40000 万像素），上限 4000 万像素"
    assert "上限 4000 万像素" in refused(png_declaring(10000, 10000))


def test_not_an_image_is_refused():
    assert refused(b"%PDF-1.4 not a photo at all").startswith("文件不是图片")
    assert refused("巡查记录.txt".encode() * 100).startswith("文件不是图片")
    assert refused(b"\xff\xd8\xff\xe0" + b"\x00" * 50).startswith(("文件不是图片", "照片文件不完整"))
    assert refused(b"") == "照片文件为空"


def test_image_format_outside_the_allow_list_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "TIFF")
    assert refused(out.getvalue()).startswith("文件不是图片")


def test_truncated_jpeg_is_refused():
    data = jpeg((800, 600), noise=True)
    assert refused(data[: len(data) * 6 // 10]) == "照片文件不完整或已损坏"
    assert refused(data[: len(data) - 200]) == "照片文件不完整或已损坏"


def test_corrupt_png_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (50, 50), RED).save(out, "PNG")
    data = bytearray(out.getvalue())
    data[-20] ^= 0xFF  # inside the IDAT chunk: its CRC no longer matches
    assert refused(bytes(data)) == "照片文件不完整或已损坏"


def test_files_above_15_mb_are_refused_with_their_size():
    message = refused(b"\xff\xd8" + b"\x00" * (15 * 1024 * 1024 - 1))
    assert message == "照片文件过大（15.0 MB），上限 15 MB"
    assert refused(b"\x00" * (20 * 1024 * 1024)) == "照片文件过大（20.0 MB），上限 15 MB"


def test_file_of_exactly_15_mb_is_not_refused_for_its_size():
    data = jpeg((64, 64))
    padded = data + b"\x00" * (15 * 1024 * 1024 - len(data))  # trailing bytes after the JPEG's end marker
    assert photos.process(padded).width == 64


def test_heic_is_converted_to_jpeg_upright():
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif build has no HEIC encoder to make a test file with")
    im = Image.new("RGB", (400, 300), BLUE)
    im.paste(RED, (0, 0, 100, 75))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    im.save(out, "HEIF", quality=90, exif=exif.tobytes())
    processed = photos.process(out.getvalue())
    stored = Image.open(io.BytesIO(processed.jpeg))
    assert stored.format == "JPEG" and stored.size == (300, 400)
    assert near(stored.getpixel((stored.width - 10, 10)), RED)
    assert len(stored.getexif()) == 0


# --- ingest: stored once, under server-chosen names ---------------------------------------------

def test_ingest_stores_files_and_row(db, cfg, users, event):
    photo, created = photos.ingest(db, cfg.media_dir, event, jpeg((2000, 1500)), users["alice"], now=NOW)
    assert created
    assert re.fullmatch(r"[0-9a-f]{32}", photo["id"])
    assert re.fullmatch(r"2021/03/[0-9a-f]{32}\.jpg", photo["file"])
    assert photo["thumb"] == photo["file"][:-4] + "_t.jpg"
    assert (photo["width"], photo["height"], photo["created_by"]) == (1600, 1200, users["alice"])
    stored = Path(cfg.media_dir) / photo["file"]
    assert stored.stat().st_size == photo["bytes"]
    assert Image.open(Path(cfg.media_dir) / photo["thumb"]).size == (320, 240)
    assert [p.name for p in stored_files(cfg.media_dir)] == sorted([Path(photo["file"]).name, Path(photo["thumb"]).name])
    assert photos.for_event(db, event) == [photo]


def test_resend_of_the_same_bytes_is_stored_once(db, cfg, users, event):
    data = jpeg(exif=gps_exif())
    first, created = photos.ingest(db, cfg.media_dir, event, data, users["alice"], now=NOW)
    again, created_again = photos.ingest(db, cfg.media_dir, event, data, users["alice"], now=NOW)
    assert created and not created_again
    assert again == first
    assert db.execute("SELECT count(*) FROM event_photos").fetchone()[0] == 1
    assert len(stored_files(cfg.media_dir)) == 2


def test_same_photo_on_another_event_and_other_photos_are_stored_separately(db, cfg, users, event):
    other = store_event(db, "leaflets", AT_THE_FAIR, by=users["bob"], place="镇集市", fields={"copies": 10})["id"]
    data = jpeg()
    a, _ = photos.ingest(db, cfg.media_dir, event, data, users["alice"], now=NOW)
    b, created = photos.ingest(db, cfg.media_dir, other, data, users["bob"], now=NOW)
    c, _ = photos.ingest(db, cfg.media_dir, event, jpeg(colour=(0, 255, 0)), users["alice"], now=NOW)
    assert created and len({a["id"], b["id"], c["id"]}) == 3
    assert [p["id"] for p in photos.for_event(db, event)] == [a["id"], c["id"]]
    assert [p["id"] for p in photos.for_event(db, other)] == [b["id"]]


def test_unknown_event_and_bad_photo_change_nothing(db, cfg, users, event):
    with pytest.raises(NotFound):
        photos.ingest(db, cfg.media_dir, "no-such-event", jpeg(), users["alice"], now=NOW)
    with pytest.raises(InvalidInput) as info:
        photos.ingest(db, cfg.media_dir, event, b"not a photo", users["alice"], now=NOW)
    assert info.value.errors["photo"].startswith("文件不是图片")
    assert db.execute("SELECT count(*) FROM event_photos").fetchone()[0] == 0
    assert stored_files(cfg.media_dir) == []


def test_failed_write_leaves_no_row(db, cfg, users, event, tmp_path):
    not_a_folder = tmp_path / "media-is-a-file"
    not_a_folder.write_text("x")
    with pytest.raises(OSError):
        photos.ingest(db, not_a_folder, event, jpeg(), users["alice"], now=NOW)
    assert db.execute("SELECT count(*) FROM event_photos").fetchone()[0] == 0


def test_racing_identical_uploads_store_one_row(db, cfg, users, event, monkeypatch):
    data = jpeg((1200, 900), noise=True)
    real_process = photos.process
    racer_result = []

    def process_while_another_request_wins(payload, **kw):
        # While this request is busy processing, a second connection stores the same photo first.
        if not racer_result:
            racer_result.append(None)
            other = db_mod.connect(cfg.database)
            try:
                racer_result[0] = photos.ingest(other, cfg.media_dir, event, payload, users["bob"], now=NOW)
            finally:
                other.close()
        return real_process(payload, **kw)

    monkeypatch.setattr(photos, "process", process_while_another_request_wins)
    photo, created = photos.ingest(db, cfg.media_dir, event, data, users["alice"], now=NOW)
    winner, winner_created = racer_result[0]
    assert winner_created and not created
    assert photo == winner
    assert db.execute("SELECT count(*) FROM event_photos").fetchone()[0] == 1
    # The loser's files were removed: only the winner's picture and thumbnail remain.
    assert [p.name for p in stored_files(cfg.media_dir)] == sorted([Path(winner["file"]).name, Path(winner["thumb"]).name])


def test_concurrent_threads_uploading_the_same_photo_store_it_once(db, cfg, users, event):
    data = jpeg((1200, 900), noise=True)
    start = threading.Barrier(4)
    results, errors = [], []

    def upload():
        conn = db_mod.connect(cfg.database)
        try:
            start.wait()
            results.append(photos.ingest(conn, cfg.media_dir, event, data, users["alice"], now=NOW))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len({photo["id"] for photo, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert db.execute("SELECT count(*) FROM event_photos").fetchone()[0] == 1
    assert len(stored_files(cfg.media_dir)) == 2


# --- serving ------------------------------------------------------------------------------------

def test_photos_are_served_only_to_signed_in_users(db, cfg, users, event, client_for):
    photo, _ = photos.ingest(db, cfg.media_dir, event, jpeg((2000, 1500)), users["alice"], now=NOW)
    client = client_for("alice")  # who may see the event: tests/test_security_visibility.py has the others
    for url, size in ((photo_url(photo["id"]), (1600, 1200)), (photo_url(photo["id"], thumb=True), (320, 240))):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"].startswith("private, max-age=")
        assert Image.open(io.BytesIO(response.content)).size == size
        assert "content-encoding" not in response.headers  # JPEG is not gzipped again

    token = accounts.create_token(db, "carol", "integration")
    with_token = client_for(None).get(photo_url(photo["id"], thumb=True), headers={"Authorization": f"Bearer {token}"})
    assert with_token.status_code == 200 and with_token.content.startswith(b"\xff\xd8")

    anonymous = client_for(None)
    for url in (photo_url(photo["id"]), photo_url(photo["id"], thumb=True)):
        response = anonymous.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert not response.content.startswith(b"\xff\xd8")


def test_unknown_or_malformed_photo_ids_are_404(db, cfg, users, event, client_for):
    photo, _ = photos.ingest(db, cfg.media_dir, event, jpeg(), users["alice"], now=NOW)
    client = client_for("alice")
    assert client.get("/media/photos/" + "0" * 32).status_code == 404
    assert client.get("/media/photos/../../secret.key").status_code == 404
    assert client.get("/media/photos/" + photo["id"].upper()).status_code == 404
    (Path(cfg.media_dir) / photo["thumb"]).unlink()
    assert client.get(photo_url(photo["id"], thumb=True)).status_code == 404
    assert client.get(photo_url(photo["id"])).status_code == 200
