"""Request bodies are read only as far as their limit: a Chinese 413 up front for a Content-Length over it, the
same 413 for a body cut off at it, per photo the photo limit with the photo's real size, and the memory a
40 MB upload costs the server."""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

import pytest

from fieldlog import photos, web
from fieldlog.db import scalar
from tests.factories import event

MB = 1024 * 1024
REPO = Path(__file__).resolve().parent.parent


def _multipart(size: int) -> tuple[bytes, str]:
    """A multipart body of about `size` bytes carrying one "photo", and its content type."""
    head = (b'--b\r\nContent-Disposition: form-data; name="photos"; filename="IMG.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n")
    tail = b"\r\n--b--\r\n"
    return head + b"\xff\xd8" + b"\0" * (size - len(head) - len(tail) - 2) + tail, "multipart/form-data; boundary=b"


def _csrf_refusals(db) -> int:
    return scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'csrf_refused'")


def _api_message(response) -> tuple[list, str]:
    (detail,) = response.json()["detail"]
    return detail["loc"], detail["msg"]


# --- refused up front on Content-Length ----------------------------------------------------------------

def test_declared_length_over_the_limit_is_answered_before_the_body_is_sent(db, live_server):
    """A stranger declares a 30 MB multipart and sends none of it: the 413 comes at once, nothing is parsed."""
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /log/safety_patrol HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                  b"Content-Length: 31457280\r\n\r\n")
        answer = b""
        while b"</html>" not in answer:
            chunk = s.recv(65536)  # the old code waited for the 30 MB here: socket.timeout
            assert chunk, answer
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert "提交的内容过大（30 MB），上限 64 KB" in body.decode("utf-8")
    assert _csrf_refusals(db) == 0


@pytest.mark.parametrize("path", ["/log/safety_patrol", "/login", "/s/no-such-token", "/sites/new"])
def test_anonymous_30_mb_multipart_is_refused_before_the_csrf_check(db, client_for, path):
    body, content_type = _multipart(30 * MB)
    r = client_for(None).post(path, content=body, headers={"Content-Type": content_type}, follow_redirects=False)
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "提交的内容过大（30 MB），上限 64 KB" in r.text
    assert r.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in r.headers
    assert _csrf_refusals(db) == 0  # the old code parsed the 30 MB, then refused the missing token (403)


def test_a_forged_session_cookie_does_not_buy_the_signed_in_limit(db, client_for):
    client = client_for(None)
    client.cookies.set(web.SESSION_COOKIE, "forged.cookie")
    body, content_type = _multipart(100 * 1024)
    r = client.post("/log/safety_patrol", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 413 and "上限 64 KB" in r.text


def test_phone_form_over_its_limit_names_the_size_and_the_limit(client_for):
    alice = client_for("alice")
    declared = str(200 * MB)
    r = alice.post("/log/safety_patrol", content=b"csrf_token=" + alice.csrf.encode(),
                   headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Length": declared})
    assert r.status_code == 413
    assert "提交的内容过大（200 MB），上限 121 MB（相当于 8 张 15 MB 的照片）" in r.text
    assert web.LIMIT_PHONE_FORM == 8 * photos.MAX_BYTES + MB


def test_api_photo_over_the_request_limit_is_413_naming_the_photo(db, users, client_for):
    event_id = event(db, "leaflets", by="alice")["id"]
    alice = client_for("alice")
    body, content_type = _multipart(int(23.4 * MB))
    body = body.replace(b'name="photos"', b'name="photo"')
    r = alice.post(f"/api/v1/events/{event_id}/photos", content=body,
                   headers={"Content-Type": content_type, "X-CSRF-Token": alice.csrf})
    assert r.status_code == 413
    assert _api_message(r) == (["body", "photo"], "照片文件过大（23.4 MB），上限 15 MB")


def test_json_api_body_over_its_limit_is_413(client_for):
    alice = client_for("alice")
    r = alice.post("/api/v1/events", content=b'{"note": "' + b"x" * (300 * 1024) + b'"}',
                   headers={"Content-Type": "application/json", "X-CSRF-Token": alice.csrf})
    assert r.status_code == 413
    assert _api_message(r) == (["body", "body"], "提交的内容过大（300 KB），上限 256 KB")


# --- cut off at the limit when the length is missing or false -----------------------------------------

def _chunks(total: int, size: int = 64 * 1024):
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def test_body_without_content_length_is_cut_off_at_the_limit(client_for):
    alice = client_for("alice")
    r = alice.post("/api/v1/events", content=_chunks(300 * 1024),
                   headers={"Content-Type": "application/json", "X-CSRF-Token": alice.csrf})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413
    loc, msg = _api_message(r)
    assert loc == ["body", "body"] and re.fullmatch(r"提交的内容过大（超过 \d+(\.\d)? KB），上限 256 KB", msg)


def test_body_longer_than_its_content_length_is_cut_off_the_same_way(db, client_for):
    anonymous = client_for(None)
    body, content_type = _multipart(1 * MB)
    r = anonymous.post("/log/safety_patrol", content=body, headers={"Content-Type": content_type, "Content-Length": "100"})
    assert r.status_code == 413 and re.search(r"提交的内容过大（超过 [\d.]+ (KB|MB)），上限 64 KB", r.text)
    assert _csrf_refusals(db) == 0


# --- per photo: the photo limit, with the photo's real size ---------------------------------------------

def test_api_photo_just_over_the_photo_limit_is_refused_with_its_real_size(db, users, client_for):
    event_id = event(db, "leaflets", by="alice")["id"]
    alice = client_for("alice")
    photo = b"\xff\xd8\xff\xe0" + b"\0" * (photos.MAX_BYTES + 40 * 1024)
    r = alice.post(f"/api/v1/events/{event_id}/photos", files={"photo": ("IMG.jpg", photo, "image/jpeg")},
                   headers={"X-CSRF-Token": alice.csrf})
    # The old code read one byte past the limit and said "（15.0 MB），上限 15 MB".
    assert r.status_code == 422 and _api_message(r) == (["body", "photo"], "照片文件过大（15.1 MB），上限 15 MB")


# --- memory: a 40 MB upload in a real server process ----------------------------------------------------

@pytest.mark.parametrize("case", ["form", "api_photo"])
def test_a_40_mb_upload_costs_the_server_no_more_than_a_few_mb(case):
    """bench/upload_memory.py's measure (peak RSS of a uvicorn child during the request); the old code held
    the whole 40 MB photo of the phone form (+40 MB) and 15 MB of the API upload (+15 MB)."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import upload_memory
    finally:
        sys.path.remove(str(REPO / "bench"))
    server = upload_memory.Server(REPO)
    try:
        send = getattr(server, case)
        send(upload_memory.small_jpeg())
        rise, response = server.measure(send, b"\xff\xd8\xff\xe0" + os.urandom(40 * MB - 4))
    finally:
        server.close()
    assert rise < 8, f"peak RSS rose {rise:.1f} MB"
    assert response.status_code in (413, 422) and "照片文件过大（40.0 MB），上限 15 MB" in upload_memory.message(response)
