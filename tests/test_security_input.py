"""No 500 from any input: integers beyond SQLite's 64 bits (and digits int() refuses) in path ids, query
parameters, JSON fields and form fields are refused as bad input naming the field, or 404 for a path id."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from fieldlog import events, integers, routes
from fieldlog.db import scalar
from fieldlog.errors import InvalidInput
from tests.factories import NOW, TZ, event, plant, site, submission, user
from tests.test_log_pages import form_defaults

HUGE = 2**63             # one past SQLite's largest integer
HUGE_TEXT = str(10**20)
SUPERSCRIPT = "²"        # str.isdigit() says yes, int() says no


@pytest.fixture
def reg(db, users):
    return {"site": site(db), "plant": plant(db)}


# --- the one bound ------------------------------------------------------------------------------------

def test_integers_parse_takes_ascii_decimals_within_64_bits():
    assert integers.parse("42") == 42 and integers.parse(" -7 ") == -7 and integers.parse(7) == 7
    assert integers.parse(str(integers.INT64_MAX)) == integers.INT64_MAX
    for bad in (str(HUGE), str(-HUGE - 1), HUGE, SUPERSCRIPT, "1e3", "3.0", "", None, True, "٣"):
        assert integers.parse(bad) is None, bad
    assert integers.parse("0", low=1) is None and integers.parse("5", high=4) is None


def _route_params():
    for name in sorted(m.name for m in pkgutil.iter_modules(routes.__path__)):
        for route in importlib.import_module(f"fieldlog.routes.{name}").router.routes:
            if not isinstance(route, APIRoute):
                continue
            stack = [route.dependant]
            while stack:
                dependant = stack.pop()
                stack.extend(dependant.dependencies)
                for param in [*dependant.path_params, *dependant.query_params]:
                    info = param.field_info  # pydantic keeps an Annotated type's constraints in its metadata
                    yield (f"{sorted(route.methods)[0]} {route.path} {param.name}",
                           Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)


def _unbounded_integers(node) -> bool:
    if isinstance(node, dict):
        if node.get("type") == "integer" and not (node.get("maximum", HUGE) <= integers.INT64_MAX
                                                  and node.get("minimum", -HUGE - 1) >= integers.INT64_MIN):
            return True
        return any(_unbounded_integers(v) for v in node.values())
    return isinstance(node, list) and any(_unbounded_integers(v) for v in node)


def test_no_route_takes_an_unbounded_int():
    # Every path or query int is web.Int64 (or web.Page): pydantic takes any size of int, sqlite3 binds 64 bits.
    checked, unbounded = 0, []
    for where, annotation in _route_params():
        schema = TypeAdapter(annotation).json_schema()
        if "integer" in str(schema):
            checked += 1
            if _unbounded_integers(schema):
                unbounded.append(where)
    assert checked >= 20 and unbounded == []


# --- path ids: 404 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("who, path", [
    ("carol", "/api/v1/sites/{n}"), ("carol", "/api/v1/plants/{n}"), ("carol", "/sites/{n}"), ("carol", "/plants/{n}"),
    ("dave", "/sites/{n}/edit"), ("dave", "/plants/{n}/edit"), ("carol", "/chief/sites/{n}"),
    ("carol", "/chief/plants/{n}"), ("carol", "/surveys/{n}"), ("carol", "/surveys/{n}/qr.svg"),
    ("carol", "/surveys/{n}/print"),
])
def test_a_path_id_beyond_64_bits_is_not_found(token_client, who, path):
    for n in (HUGE, -HUGE - 1):
        response = token_client(who).get(path.format(n=n))
        assert response.status_code == 404, (path, response.text[:200])


@pytest.mark.parametrize("path", ["/admin/users/{n}/active", "/admin/users/{n}/password", "/admin/tokens/{n}/revoke",
                                  "/api/v1/sites/{n}", "/api/v1/plants/{n}"])
def test_a_path_id_beyond_64_bits_is_not_found_on_writes_too(token_client, db, path):
    method = "put" if path.startswith("/api/") else "post"
    response = getattr(token_client("dave"), method)(path.format(n=HUGE), **(
        {"json": {"name": "x"}} if method == "put" else {"data": {"active": "1", "password": "x" * 12}}))
    assert response.status_code == 404


# --- query parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["site_id", "plant_id", "inspector_id", "offset", "limit"])
def test_api_list_refuses_a_huge_query_int_naming_it(token_client, name):
    response = token_client("carol").get("/api/v1/events", params={name: HUGE_TEXT})
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["query", name], "msg": "数值超出范围", "type": "less_than_equal"}]


@pytest.mark.parametrize("who, path, name", [
    ("carol", "/events", "inspector"), ("carol", "/events", "site"), ("carol", "/events", "page"),
    ("alice", "/events/mine", "page"),
])
def test_event_list_pages_ignore_a_filter_or_page_they_cannot_use(token_client, db, users, reg, who, path, name):
    event(db, "safety_patrol", site_id=reg["site"])
    for value in (HUGE_TEXT, SUPERSCRIPT, "-1"):
        response = token_client(who).get(path, params={name: value})
        assert response.status_code == 200, (name, value)
        assert "安全日常巡查" in response.text  # the filter is ignored: the event is listed


def test_event_list_page_past_the_end_shows_the_last_page(token_client, db, users, reg):
    event(db, "leaflets", place="城关镇集市")
    page = token_client("alice").get("/events/mine", params={"page": "999"})
    assert page.status_code == 200 and "城关镇集市" in page.text


@pytest.mark.parametrize("path, name", [("/chief/coverage", "inspector"), ("/chief/events", "inspector"),
                                        ("/chief/pacing", "year"), ("/chief/events", "year")])
def test_chief_filters_refuse_huge_or_odd_numbers_naming_the_field(token_client, path, name):
    for value in (HUGE_TEXT, SUPERSCRIPT * 4):
        response = token_client("carol").get(path, params={name: value})
        assert response.status_code == 422, (path, value)


def test_indicator_evidence_page_refuses_a_page_beyond_its_bound(token_client):
    response = token_client("carol").get("/indicators/2021/safety_patrols", params={"page": str(2**62)})
    assert response.status_code == 422


# --- JSON fields --------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, message", [
    ("site_id", HUGE, "没有这个工地（编号超出范围）"),
    ("site_id", -HUGE - 1, "没有这个工地（编号超出范围）"),
    ("site_id", HUGE_TEXT, "没有这个工地（编号超出范围）"),
    ("inspector_ids", [HUGE], "监督员不存在或已停用"),
    ("inspector_ids", HUGE_TEXT, "监督员不存在或已停用"),
    ("fields.hazards_general", HUGE, "一般隐患数数值超出范围"),
    ("fields.hazards_general", 1e30, "一般隐患数数值超出范围"),
])
def test_api_create_refuses_a_huge_integer_naming_the_field(token_client, db, reg, key, value, message):
    body = submission("safety_patrol", site_id=reg["site"])
    if key.startswith("fields."):
        body["fields"][key.removeprefix("fields.")] = value
    else:
        body[key] = value
    response = token_client("alice").post("/api/v1/events", json=body)
    assert response.status_code == 422, response.text[:300]
    assert {"loc": ["body", *key.split(".")], "msg": message, "type": "value_error"} in response.json()["detail"]
    assert scalar(db, "SELECT count(*) FROM events") == 0


@pytest.mark.parametrize("kind, key, label", [("concrete_sampling", "plant_id", "搅拌站"),
                                              ("major_inspection", "campaign_id", "大检查")])
def test_api_create_refuses_a_huge_plant_or_campaign_id(token_client, db, reg, kind, key, label):
    body = submission(kind, site_id=reg["site"], **{key: HUGE})
    body.pop("campaign", None)
    response = token_client("alice").post("/api/v1/events", json=body)
    assert response.status_code == 422
    assert {"loc": ["body", key], "msg": f"没有这个{label}（编号超出范围）", "type": "value_error"} in response.json()["detail"]


def test_api_create_refuses_a_number_field_too_large_for_a_float(token_client, db, reg):
    # JSON allows 10**400; float() of it raises OverflowError, not ValueError.
    body = submission("concrete_sampling", site_id=reg["site"], fields={"result": "合格", "fee_yuan": 10**400})
    response = token_client("alice").post("/api/v1/events", json=body)
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "fields", "fee_yuan"]]
    body = submission("safety_patrol", site_id=reg["site"], lat=10**400, lon=112.9)
    assert token_client("alice").post("/api/v1/events", json=body).status_code == 422


@pytest.mark.parametrize("change", [{"site_id": HUGE}, {"inspector_ids": [HUGE]}, {"fields": {"hazards_general": HUGE}}])
def test_api_edit_refuses_a_huge_integer(token_client, db, reg, change):
    stored = event(db, "safety_patrol", site_id=reg["site"])
    response = token_client("alice").patch(f"/api/v1/events/{stored['id']}", json=change)
    assert response.status_code == 422
    assert events.load(db, stored["id"])["version"] == 1


def test_domain_create_refuses_the_integer_just_past_the_bound_and_takes_the_bound(db, reg, users):
    body = submission("leaflets", place="城关镇集市", fields={"copies": integers.INT64_MAX + 1})
    with pytest.raises(InvalidInput) as caught:
        events.create(db, body, user=user(db, "alice"), now=NOW, tz=TZ)
    assert caught.value.errors == {"fields.copies": "发放份数数值超出范围"}
    body["fields"]["copies"] = integers.INT64_MAX
    assert events.create(db, body, user=user(db, "alice"), now=NOW, tz=TZ)[0]["fields"]["copies"] == integers.INT64_MAX


def test_registry_api_refuses_huge_inspector_ids(token_client, db, users):
    response = token_client("dave").post("/api/v1/sites", json={"name": "城关镇安置小区", "reg_no": "HD-9",
                                                          "inspector_ids": [HUGE]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "inspector_ids"]
    assert scalar(db, "SELECT count(*) FROM sites") == 0


# --- form fields --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [HUGE_TEXT, SUPERSCRIPT])
def test_site_form_refuses_an_inspector_choice_it_cannot_read(client_for, db, users, value):
    client = client_for("dave")
    response = client.post_form("/sites/new", {"name": "城关镇安置小区", "reg_no": "HD-9", "town": "城关镇",
                                               "started_on": "2021-01-01", "inspector_ids": value})
    assert response.status_code == 422 and scalar(db, "SELECT count(*) FROM sites") == 0


def test_survey_form_refuses_a_huge_site_id(client_for, db, users):
    response = client_for("carol").post_form("/surveys/new", {"kind": "satisfaction_survey", "site_id": HUGE_TEXT})
    assert response.status_code == 422 and scalar(db, "SELECT count(*) FROM survey_codes") == 0


@pytest.mark.parametrize("field, value", [("subject", f"site:{HUGE_TEXT}"), ("inspector_ids", HUGE_TEXT),
                                          ("inspector_ids", SUPERSCRIPT), ("hazards_general", HUGE_TEXT)])
def test_phone_form_refuses_huge_or_odd_numbers(client_for, db, reg, field, value):
    client = client_for("alice")
    data = {**form_defaults(client.get("/log/safety_patrol").text), "subject": f"site:{reg['site']}", "finding": "无",
            field: value}
    response = client.post_form("/log/safety_patrol", data, follow_redirects=False)
    assert response.status_code == 422 and scalar(db, "SELECT count(*) FROM events") == 0


@pytest.mark.parametrize("field, value", [("site_id", HUGE_TEXT), ("inspector_ids", HUGE_TEXT),
                                          ("inspector_ids", SUPERSCRIPT)])
def test_edit_form_refuses_huge_or_odd_numbers(client_for, db, reg, users, field, value):
    stored = event(db, "leaflets", site_id=reg["site"])
    data = {"occurred_at": "2021-06-15T10:30", "site_id": reg["site"], "copies": "120", "topic": "",
            "inspector_ids": users["alice"], "note": "", "reason": "更正", field: value}
    response = client_for("alice").post_form(f"/events/{stored['id']}/edit", data, follow_redirects=False)
    assert response.status_code == 422
    assert events.load(db, stored["id"])["version"] == 1



ODD_JSON = [{}, {"a": 1}, [], [1, "x"], [{}], True, 1.5, -1, "", "x" * 300]


@pytest.mark.parametrize("key", ["id", "kind", "occurred_at", "site_id", "plant_id", "campaign_id", "campaign", "place",
                                 "inspector_ids", "lat", "lon", "accuracy_m", "note", "fields"])
def test_api_create_answers_any_json_type_in_any_field_without_a_500(token_client, db, reg, key):
    """A value of the wrong JSON type anywhere (an object where a kind belongs, a list for a note) is a 4xx."""
    client = token_client("alice")
    for kind in ("safety_patrol", "major_inspection", "leaflets"):
        for value in ODD_JSON:
            body = submission(kind, site_id=reg["site"] if kind != "leaflets" else None)
            body[key] = value
            response = client.post("/api/v1/events", json=body)
            assert response.status_code < 500, (kind, key, value, response.text[:200])
            assert response.status_code in (200, 201, 409, 422), (kind, key, value, response.status_code)


def test_api_create_with_an_object_for_its_kind_names_the_kind(token_client, db, reg):
    body = submission("safety_patrol", site_id=reg["site"])
    for value in ({}, {"kind": "safety_patrol"}, ["safety_patrol"]):
        body["kind"] = value
        response = token_client("alice").post("/api/v1/events", json=body)
        assert response.status_code == 422
        assert ["body", "kind"] in [d["loc"] for d in response.json()["detail"]]
    assert scalar(db, "SELECT count(*) FROM events") == 0


@pytest.mark.parametrize("path, message", [("/api/v1/indicators?year=²²²²", "年份须为四位数字，如 2021"),
                                           ("/indicators?year=²²²²", "年份须为四位数字，如 2021"),
                                           ("/chief/events?quarter=²²²²-Q1", "季度格式应为 YYYY-Qn，例如 2021-Q1")])
def test_a_year_of_non_ascii_digits_is_refused_with_its_message(token_client, path, message):
    """'²'.isdigit() is true but int('²') raises: the year parsers go through integers.parse."""
    response = token_client("carol").get(path)
    assert response.status_code == 422, response.text[:200]
    assert message in response.text
