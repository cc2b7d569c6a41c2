"""Every 4xx answer of the API says what is wrong in Chinese, naming the field (FastAPI's, Starlette's and pydantic's
own English defaults never reach a client)."""

from __future__ import annotations

import re

from tests.factories import site

CJK = re.compile(r"[\u4e00-\u9fff]")
EVENT = "0b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a41"

BAD = [
    ("post", "/api/v1/events", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("post", "/api/v1/events", {"json": []}),
    ("post", "/api/v1/events", {"json": {"kind": "safety_patrol"}}),
    ("post", "/api/v1/events", {"content": b"kind=x", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    ("get", "/api/v1/events?from=yesterday", {}),
    ("get", "/api/v1/events?site_id=abc", {}),
    ("get", "/api/v1/events?site_id=99999999999999999999", {}),
    ("get", "/api/v1/events?limit=-1", {}),
    ("get", f"/api/v1/events/{EVENT}", {}),
    ("get", "/api/v1/events/not-an-id", {}),
    ("patch", f"/api/v1/events/{EVENT}", {"json": {"note": "x"}}),
    ("post", f"/api/v1/events/{EVENT}/void", {"json": {}}),
    ("post", f"/api/v1/events/{EVENT}/photos", {"files": {"photo": ("a.jpg", b"not an image", "image/jpeg")}}),
    ("get", "/api/v1/indicators?year=abc", {}),
    ("get", "/api/v1/indicators?year=1066", {}),
    ("get", "/api/v1/coverage?month=2021-13", {}),
    ("get", "/api/v1/sites/abc", {}),
    ("get", "/api/v1/sites/424242", {}),
    ("post", "/api/v1/sites", {"json": {"name": ""}}),
    ("put", "/api/v1/plants/424242", {"json": {}}),
    ("get", "/api/v1/samples/not-an-id", {}),
    ("post", f"/api/v1/samples/{EVENT}/results", {"json": {"result": "maybe"}}),
    ("post", "/api/v1/survey-batches", {"json": {"kind": "nope"}}),
    ("get", "/api/v1/survey-batches/abc", {}),
    ("put", f"/api/v1/events/{EVENT}/uploads/{'0' * 64}", {"content": b"abc"}),
    ("get", "/api/v1/no-such-thing", {}),
    ("delete", "/api/v1/events", {}),
]


def chinese_details(body) -> list[str]:
    """The parts of a 4xx body that are not Chinese, or whose field is not named (a list entry without loc)."""
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, str):
        return [] if CJK.search(detail) else [detail]
    if isinstance(detail, list) and detail:
        return [repr(d) for d in detail if not (isinstance(d, dict) and CJK.search(str(d.get("msg", ""))) and d.get("loc"))]
    return [repr(body)]


def test_a_4xx_says_it_in_chinese(token_client, db, users):
    site(db)
    client, found = token_client("carol"), {}
    for method, path, kw in BAD:
        answer = getattr(client, method)(path, **kw)
        if not 400 <= answer.status_code < 500:
            found[f"{method} {path}"] = answer.status_code
        elif problems := chinese_details(answer.json()):
            found[f"{method} {path}"] = problems
    assert found == {}


def test_signed_out_and_wrong_token_are_said_in_chinese(client_for, app, users):
    anonymous = client_for(None)
    for answer in (anonymous.get("/api/v1/events"), anonymous.get("/api/v1/events", headers={"Authorization": "Bearer nope"}),
                   anonymous.post("/api/v1/events", json={})):
        assert answer.status_code in (401, 403), answer.status_code
        assert chinese_details(answer.json()) == []
