"""Resumable photo uploads over the API: sent in parts from the offset the server holds, resumed after a request
cut off midway, attached once; every bad request refused with the field named, nothing changed, never a 500."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fieldlog import accounts, photos, uploads
from fieldlog.db import scalar
from tests.conftest import serving
from tests.factories import event as store_event, jpeg


@pytest.fixture
def photo() -> bytes:
    return jpeg((1200, 900), noise=True, quality=85)


@pytest.fixture
def alices(db, users) -> str:
    """An event of alice's, to attach photos to."""
    return store_event(db, "leaflets", "2021-03-15T10:00:00+08:00", by=users["alice"], place="镇集市",
                       fields={"copies": 10})["id"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def url(event_id: str, data: bytes, sha256: str | None = None) -> str:
    return f"/api/v1/events/{event_id}/uploads/{sha256 or sha(data)}"


def put(client, event_id: str, data: bytes, offset: int, chunk: bytes, size: int | None = None, sha256: str | None = None):
    """A part of `data`'s upload: `chunk`, sent from `offset`."""
    return client.put(f"{url(event_id, data, sha256)}?size={size or len(data)}&offset={offset}", content=chunk,
                      headers={"Content-Type": "application/octet-stream"})


def status(client, event_id: str, data: bytes):
    return client.get(url(event_id, data))


def photo_count(db, event_id: str) -> int:
    return scalar(db, "SELECT count(*) FROM event_photos WHERE event_id = ?", [event_id])


def partial_files(cfg) -> list[Path]:
    return sorted(uploads.folder(cfg.media_dir).glob("*")) if uploads.folder(cfg.media_dir).is_dir() else []


def test_a_photo_sent_in_parts_is_attached_once_and_its_partial_files_removed(token_client, db, cfg, alices, photo):
    client = token_client("alice")
    assert status(client, alices, photo).status_code == 404  # not begun
    half = len(photo) // 2
    first = put(client, alices, photo, 0, photo[:half])
    assert first.status_code == 200
    assert first.json() == {"event_id": alices, "sha256": sha(photo), "size": len(photo), "offset": half,
                            "complete": False, "received_total": half}
    assert status(client, alices, photo).json()["offset"] == half
    done = put(client, alices, photo, half, photo[half:])
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["complete"] is True and body["offset"] == len(photo) and body["received_total"] == len(photo)
    assert body["requests"] == 2
    assert body["photo"]["url"] == f"/media/photos/{body['photo']['id']}" and body["photo"]["width"] == 1200
    assert photo_count(db, alices) == 1
    assert scalar(db, "SELECT sha256 FROM event_photos WHERE event_id = ?", [alices]) == sha(photo)
    assert partial_files(cfg) == []
    after = status(client, alices, photo)
    assert after.status_code == 200 and after.json()["complete"] is True and after.json()["photo"]["id"] == body["photo"]["id"]


def test_sending_again_after_completion_answers_the_stored_photo(token_client, db, alices, photo):
    client = token_client("alice")
    first = put(client, alices, photo, 0, photo)
    assert first.status_code == 201
    again = put(client, alices, photo, 0, photo)  # its answer was lost
    assert again.status_code == 200 and again.json()["photo"]["id"] == first.json()["photo"]["id"]
    # The same bytes through the multipart route, too: still one photo.
    multipart = client.post(f"/api/v1/events/{alices}/photos", files={"photo": ("p.jpg", photo, "image/jpeg")})
    assert multipart.status_code == 200 and multipart.json()["id"] == first.json()["photo"]["id"]
    assert photo_count(db, alices) == 1


def test_a_part_waiting_for_a_request_that_then_stores_the_photo_is_answered_with_the_photo(token_client, db, cfg,
                                                                                          users, alices, photo):
    """Two senders of one photo (the page and its service worker, or a page and the next one): the second's part
    waits for the upload the first still holds; when the first's last byte stores the photo and its files go, the
    second gets the stored photo, not a 404 that tells the phone to start again."""
    import threading

    client = token_client("alice")
    half = len(photo) // 2
    assert put(client, alices, photo, 0, photo[:half]).status_code == 200
    upload = uploads.find(cfg.media_dir, alices, users["alice"], sha(photo))
    first = uploads.Writer(cfg.media_dir, upload, half)  # the first sender, holding the upload
    answers = []
    second = threading.Thread(target=lambda: answers.append(put(client, alices, photo, half, photo[half:])))
    second.start()
    time.sleep(0.5)  # the second sender's part now waits for the lock
    assert not answers
    first.feed(photo[half:])
    uploads.finish(db, cfg.media_dir, first.close())
    first.release()
    second.join(15)
    assert answers and answers[0].status_code == 200, answers and answers[0].text
    assert answers[0].json()["complete"] is True
    assert answers[0].json()["photo"]["id"] == photos.find(db, alices, sha(photo))["id"]
    assert photo_count(db, alices) == 1 and partial_files(cfg) == []


def test_duplicate_and_overlapping_parts_are_harmless(token_client, db, alices, photo):
    client = token_client("alice")
    put(client, alices, photo, 0, photo[:4000])
    # The answer to that part was lost: the phone sends it again, then a part that overlaps what arrived.
    resent = put(client, alices, photo, 0, photo[:4000])
    assert resent.status_code == 200 and resent.json()["offset"] == 4000
    overlap = put(client, alices, photo, 3000, photo[3000:9000])
    assert overlap.json()["offset"] == 9000 and overlap.json()["received_total"] == 4000 + 4000 + 6000
    done = put(client, alices, photo, 9000, photo[9000:])
    assert done.status_code == 201 and photo_count(db, alices) == 1
    stored = photos.find(db, alices, sha(photo))
    assert stored and stored["width"] == 1200


def test_a_gap_is_refused_with_the_offset_to_resume_from(token_client, db, alices, photo):
    client = token_client("alice")
    put(client, alices, photo, 0, photo[:2000])
    gap = put(client, alices, photo, 5000, photo[5000:8000])
    assert gap.status_code == 409
    assert gap.json()["offset"] == 2000 and "2000" in gap.json()["detail"] and "服务器已收到" in gap.json()["detail"]
    assert status(client, alices, photo).json()["offset"] == 2000
    other_size = put(client, alices, photo, 2000, photo[2000:3000], size=len(photo) + 1)
    assert other_size.status_code == 422 and other_size.json()["detail"][0]["loc"] == ["query", "size"]


def test_a_request_cut_off_midway_keeps_what_arrived_and_the_next_resumes_there(app, db, users, alices, photo):
    token = accounts.create_token(db, "alice", "test")
    with serving(app) as base:
        import httpx

        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
        sent = len(photo) * 2 // 3
        host = urlsplit(base)
        # A phone losing its signal: the request announces the whole photo, two thirds arrive, the line drops.
        with socket.create_connection((host.hostname, host.port)) as conn:
            conn.sendall((f"PUT {url(alices, photo)}?size={len(photo)}&offset=0 HTTP/1.1\r\nHost: {host.netloc}\r\n"
                          f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
                          f"Content-Length: {len(photo)}\r\n\r\n").encode() + photo[:sent])
            time.sleep(0.5)
        deadline = time.time() + 10
        while status(client, alices, photo).json().get("offset") != sent and time.time() < deadline:
            time.sleep(0.1)
        assert status(client, alices, photo).json()["offset"] == sent and photo_count(db, alices) == 0
        done = put(client, alices, photo, sent, photo[sent:])
        assert done.status_code == 201 and photo_count(db, alices) == 1
        assert done.json()["received_total"] == len(photo)  # each byte crossed the network once
        client.close()


def test_a_wrong_hash_is_refused_and_the_bytes_dropped(token_client, db, cfg, alices, photo):
    client = token_client("alice")
    wrong = sha(b"something else")
    refused = put(client, alices, photo, 0, photo, sha256=wrong)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == "sha256" and "校验值不符" in refused.json()["detail"][0]["msg"]
    assert photo_count(db, alices) == 0 and partial_files(cfg) == []
    assert client.get(f"/api/v1/events/{alices}/uploads/{wrong}").status_code == 404


def test_a_file_that_is_not_a_photo_is_refused_with_the_photo_message(token_client, db, cfg, alices):
    client = token_client("alice")
    data = b"not a picture at all" * 50
    refused = put(client, alices, data, 0, data)
    assert refused.status_code == 422 and refused.json()["detail"][0]["msg"] == photos.MSG_NOT_IMAGE
    assert photo_count(db, alices) == 0 and partial_files(cfg) == []


def test_sizes_over_the_limits_are_refused(token_client, db, alices, photo):
    client = token_client("alice")
    big = put(client, alices, photo, 0, photo[:10], size=photos.MAX_BYTES + 1)
    assert big.status_code == 422 and big.json()["detail"][0]["loc"] == ["query", "size"]
    assert "照片文件过大" in big.json()["detail"][0]["msg"]
    put(client, alices, photo, 0, photo[:100])
    past = put(client, alices, photo, 100, photo[100:] + b"extra bytes")
    assert past.status_code == 422 and "超过声明的大小" in past.json()["detail"][0]["msg"]
    assert status(client, alices, photo).json()["offset"] == 100  # nothing of that request kept
    # BodyLimit: a part larger than any photo is refused on its Content-Length, in Chinese, before it is read.
    huge = put(client, alices, photo, 100, b"\0" * (photos.MAX_BYTES + 100 * 1024))
    assert huge.status_code == 413 and huge.json()["detail"][0]["loc"] == ["body", "photo"]
    assert "照片文件过大" in huge.json()["detail"][0]["msg"]
    assert status(client, alices, photo).json()["offset"] == 100 and photo_count(db, alices) == 0


@pytest.mark.parametrize("query, field", [
    ("size=0&offset=0", "size"),
    ("size=abc&offset=0", "size"),
    ("offset=0", "size"),
    ("size=10&offset=-1", "offset"),
    ("size=10", "offset"),
    (f"size=10&offset={2**70}", "offset"),
])
def test_a_bad_part_names_its_parameter(token_client, db, alices, query, field):
    response = token_client("alice").put(f"/api/v1/events/{alices}/uploads/{'ab' * 32}?{query}", content=b"x")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", field]
    assert photo_count(db, alices) == 0


def test_unknown_events_and_malformed_hashes(token_client, alices, photo):
    client = token_client("alice")
    assert client.get(url("no-such-event", photo)).status_code == 404
    assert put(client, "no-such-event", photo, 0, photo).status_code == 404
    bad = client.put(f"/api/v1/events/{alices}/uploads/xyz?size=10&offset=0", content=b"x")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "sha256"]
    assert client.get(f"/api/v1/events/{alices}/uploads/..%2F..%2Fetc").status_code in (404, 422)


def test_another_users_upload_and_event_are_refused(token_client, db, users, alices, photo):
    alice, bob = token_client("alice"), token_client("bob")
    assert put(bob, alices, photo, 0, photo[:500]).status_code == 403  # not bob's event
    assert status(bob, alices, photo).status_code == 403
    put(alice, alices, photo, 0, photo[:500])
    assert status(alice, alices, photo).json()["offset"] == 500
    assert token_client("dave").get(url(alices, photo)).status_code == 403  # the admin logs nothing
    # The chief may add photos to anyone's event, but never continues alice's bytes: an upload of her own.
    carol = token_client("carol")
    assert status(carol, alices, photo).status_code == 404
    assert put(carol, alices, photo, 500, photo[500:]).status_code == 409
    assert status(alice, alices, photo).json()["offset"] == 500 and photo_count(db, alices) == 0


def test_session_requests_need_the_csrf_header(client_for, alices, photo):
    client = client_for("alice")
    address = f"{url(alices, photo)}?size={len(photo)}&offset=0"
    assert client.put(address, content=photo).status_code == 403
    assert client.put(address, content=photo, headers={"X-CSRF-Token": client.csrf}).status_code == 201


def test_uploads_nobody_resumed_for_two_weeks_are_removed(cfg, db, alices, users, clock, photo):
    old, _ = uploads.start(cfg.media_dir, alices, users["alice"], len(photo), sha(photo), now=clock())
    part, side = (uploads.folder(cfg.media_dir) / old.id).with_suffix(".part"), (uploads.folder(cfg.media_dir) / old.id).with_suffix(".json")
    stamp = (clock() - timedelta(days=15)).timestamp()
    for path in (part, side):
        os.utime(path, (stamp, stamp))
    fresh, _ = uploads.start(cfg.media_dir, alices, users["alice"], 10, sha(b"0123456789"), now=clock())
    assert not part.exists() and not side.exists()
    assert (uploads.folder(cfg.media_dir) / fresh.id).with_suffix(".json").exists()
