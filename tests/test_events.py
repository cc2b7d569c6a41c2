"""The events domain: validation of every kind, idempotent create, late flag, warnings, edit, void."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from fieldlog import events
from fieldlog.db import one, scalar
from fieldlog.errors import Conflict, Forbidden, InvalidInput
from tests.factories import EXAMPLE, PLANT_AT, SITE_AT, TZ, event, plant, site, submission, user

NOW = datetime(2021, 6, 15, 4, 0, tzinfo=timezone.utc)  # 12:00 in the station on the day of the submissions


@pytest.fixture
def reg(db, users):
    """One site and one plant, each with a recorded location."""
    return {"site": site(db, location=SITE_AT), "plant": plant(db, location=PLANT_AT)}


def _notice(db, site_id: int) -> str:
    """A safety patrol on the site that issued a rectification notice; its id."""
    return event(db, "safety_patrol", site_id=site_id, fields=EXAMPLE["safety_patrol"], now=NOW)["id"]


def _body(db, reg, kind: str, **kw) -> dict:
    """A submission of `kind` with every field filled (EXAMPLE, `fields` override), about the site or the plant
    as the kind needs."""
    subject = events.KINDS[kind]["subject"]
    about = ({"site_id": reg["site"]} if subject in ("site", "site_campaign") else
             {"plant_id": reg["plant"]} if subject == "plant" else {})
    fields = {**EXAMPLE[kind], **kw.pop("fields", {})}
    if kind == "rectification_review":
        fields.setdefault("notice_event_id", _notice(db, reg["site"]))
    return submission(kind, fields=fields, **{**about, **kw})


def stored(db, kind: str, **kw) -> dict:
    """An event stored through events.create, received at NOW."""
    return event(db, kind, now=NOW, **kw)


def _errors(db, raw, by="alice", now=NOW) -> dict:
    with pytest.raises(InvalidInput) as exc:
        events.create(db, raw, user=user(db, by), now=now, tz=TZ)
    return exc.value.errors


def test_kinds_are_complete_and_self_describing():
    assert len(events.KINDS) == 11
    for kind, spec in events.KINDS.items():
        # A hint that names a monthly quota is filled by the form with the target table's quota.
        assert spec["label"] and events.hint(kind, quota=2) and spec["subject"] in events.SUBJECTS
        for f in spec["fields"]:
            assert f["type"] in events.TYPES and f["label"]
            assert (f["type"] == "choice") == bool(f["choices"]), (kind, f["name"])
    json.dumps(events.kind_list(), ensure_ascii=False)  # usable as JSON by the phone pages


@pytest.mark.parametrize("kind", list(events.KINDS))
def test_each_kind_accepts_a_good_submission(db, reg, kind):
    raw = _body(db, reg, kind)
    event, created, warnings = events.create(db, raw, user=user(db, "alice"), now=NOW, tz=TZ)
    assert created and warnings == []
    assert event["kind"] == kind and event["day"] == "2021-06-15" and event["month"] == "2021-06"
    assert event["occurred_at"] == "2021-06-15T10:30:00+08:00"
    assert event["inspector_ids"] == [user(db, "alice")["id"]]
    stored = json.loads(scalar(db, "SELECT data FROM events WHERE id = ?", [raw["id"]]))
    assert stored == event["fields"]


BAD = [
    # No finding means its default 无 (issue 12), which the hazards found contradict.
    ("safety_patrol", {"finding": None}, "fields.hazards_general", "最严重隐患为“无”时，一般隐患数应为 0"),
    ("safety_patrol", {"finding": "很严重"}, "fields.finding", "无、一般、重大"),
    ("safety_patrol", {"hazards_general": -1}, "fields.hazards_general", "不能小于 0"),
    ("safety_patrol", {"hazards_major": "两个"}, "fields.hazards_major", "须为整数"),
    ("safety_patrol", {"notice_deadline": None}, "fields.notice_deadline", "填写整改通知书编号时须填写整改期限"),
    ("safety_patrol", {"notice_deadline": "2021/13/01"}, "fields.notice_deadline", "YYYY-MM-DD"),
    ("safety_patrol", {"colour": "red"}, "fields.colour", "不是该类型记录的字段"),
    # across fields: the most serious finding agrees with the counts, a deadline does not come before the patrol
    ("safety_patrol", {"finding": "重大"}, "fields.hazards_major", "最严重隐患为“重大”时，重大隐患数至少为 1"),
    ("safety_patrol", {"hazards_major": 1}, "fields.hazards_major", "最严重隐患为“一般”时，重大隐患数应为 0"),
    ("safety_patrol", {"finding": "无"}, "fields.hazards_general", "最严重隐患为“无”时，一般隐患数应为 0"),
    ("safety_patrol", {"notice_deadline": "2021-06-14"}, "fields.notice_deadline", "整改期限不能早于检查日期"),
    ("enforcement_patrol", {"order": "停工整改"}, "fields.notice_no", "处理措施为“停工整改”时须填写整改通知书编号"),
    ("enforcement_patrol", {"violations": 1.5}, "fields.violations", "须为整数"),
    ("major_inspection", {"score": 101}, "fields.score", "不能大于 100"),
    ("major_inspection", {"grade": "良"}, "fields.grade", "优良、合格、不合格"),
    # A sample logged without its result (the lab reports weeks later) needs its number (issue 15).
    ("concrete_sampling", {"result": None}, "fields.sample_no", "请填写样品编号"),
    ("concrete_sampling", {"strength_grade": "C33"}, "fields.strength_grade", "C30"),
    ("concrete_sampling", {"specimens": 0}, "fields.specimens", "须大于 0"),
    ("concrete_sampling", {"measured_mpa": "abc"}, "fields.measured_mpa", "须为数字"),
    ("concrete_sampling", {"fee_yuan": -5}, "fields.fee_yuan", "不能小于 0"),
    ("plant_inspection", {"result": "良好"}, "fields.result", "合格、不合格"),
    ("leaflets", {"copies": -20}, "fields.copies", "发放份数须大于 0"),
    ("leaflets", {"copies": None}, "fields.copies", "请填写发放份数"),
    ("completion_filing", {"filed_on": "2021-05-01"}, "fields.filed_on", "不能早于竣工验收日期"),
    ("completion_filing", {"accepted_on": None}, "fields.accepted_on", "请填写竣工验收日期"),
    ("construction_permit", {"conditions_met": "是"}, "fields.conditions_met", "符合、不符合"),
    ("construction_permit", {"issued_on": "2021-05-01"}, "fields.issued_on", "不能早于申请日期"),
    ("accident", {"deaths": -1}, "fields.deaths", "不能小于 0"),
    ("rectification_review", {"notice_event_id": str(uuid.uuid4())}, "fields.notice_event_id", "找不到该整改通知书"),
    ("rectification_review", {"closed": "maybe"}, "fields.closed", "是 或 否"),
]


@pytest.mark.parametrize("kind, fields, key, message", BAD, ids=[f"{k}-{key}" for k, _, key, _ in BAD])
def test_bad_fields_are_refused_with_a_message_naming_the_field(db, reg, kind, fields, key, message):
    raw = _body(db, reg, kind, fields=fields)
    raw["fields"] = {k: v for k, v in raw["fields"].items() if v is not None}
    errors = _errors(db, raw)
    assert message in errors[key]
    assert scalar(db, "SELECT count(*) FROM events WHERE id = ?", [raw["id"]]) == 0


TOP_BAD = [
    ({"kind": "picnic"}, "kind", "未知的记录类型"),
    ({"id": "not-a-uuid"}, "id", "UUID"),
    ({"id": None}, "id", "缺少记录编号"),
    ({"occurred_at": "昨天下午"}, "occurred_at", "格式不对"),
    ({"occurred_at": "2021-06-15"}, "occurred_at", "须包含时刻"),
    ({"site_id": 999999}, "site_id", "工地不存在"),
    ({"site_id": None}, "site_id", "请选择工地"),
    ({"site_id": "三号"}, "site_id", "须为整数"),
    ({"plant_id": 999999}, "plant_id", "不关联搅拌站"),
    ({"inspector_ids": [999999]}, "inspector_ids", "监督员不存在或已停用"),
    ({"lat": 95}, "lat", "-90 到 90"),
    ({"lon": 200}, "lon", "-180 到 180"),
    ({"lat": None}, "lat", "同时提供"),
    ({"accuracy_m": -1}, "accuracy_m", "不小于 0"),
    ({"place": "县城广场"}, "place", "只有宣传资料"),
    ({"note": "长" * 2001}, "note", "不能超过"),
]


@pytest.mark.parametrize("change, key, message", TOP_BAD, ids=[k for _, k, _ in TOP_BAD])
def test_bad_top_level_values_are_refused(db, reg, change, key, message):
    raw = {**_body(db, reg, "safety_patrol"), **change}
    assert message in _errors(db, raw)[key]


def test_form_and_database_problems_are_reported_together(db, reg):
    raw = _body(db, reg, "leaflets", site_id=999999, fields={"copies": -1})
    errors = _errors(db, raw)
    assert errors["site_id"] == "工地不存在" and errors["fields.copies"] == "发放份数须大于 0"


def test_inspector_ids_must_be_field_users(db, reg, users):
    raw = _body(db, reg, "safety_patrol", inspector_ids=[users["dave"]])  # dave is the admin
    assert "inspector_ids" in _errors(db, raw)


def test_plant_kind_needs_a_plant_that_exists(db, reg):
    assert _errors(db, _body(db, reg, "plant_patrol", plant_id=None))["plant_id"] == "请选择搅拌站"
    assert _errors(db, _body(db, reg, "plant_patrol", plant_id=4242))["plant_id"] == "搅拌站不存在"


def test_leaflets_need_a_site_a_plant_or_a_place(db, reg):
    raw = _body(db, reg, "leaflets", place=None)
    assert "place" in _errors(db, raw)
    raw = _body(db, reg, "leaflets", place=None, site_id=reg["site"])
    assert events.create(db, raw, user=user(db, "alice"), now=NOW, tz=TZ)[1]


def test_concrete_sampling_may_name_the_supplying_plant(db, reg):
    event = stored(db, "concrete_sampling", site_id=reg["site"], plant_id=reg["plant"])
    assert event["plant_id"] == reg["plant"] and event["site_id"] == reg["site"]


def test_major_inspection_campaign_is_found_or_created_and_required(db, reg):
    first = stored(db, "major_inspection", site_id=reg["site"])
    second = stored(db, "major_inspection", site_id=reg["site"])
    assert first["campaign_id"] == second["campaign_id"] is not None
    assert scalar(db, "SELECT count(*) FROM campaigns") == 1
    assert "campaign_id" in _errors(db, _body(db, reg, "major_inspection", campaign=None))
    assert _errors(db, _body(db, reg, "major_inspection", campaign=None, campaign_id=77))["campaign_id"] == "大检查不存在"
    bad = {"name": "", "start_on": "2021-06-30", "end_on": "2021-06-01"}
    errors = _errors(db, _body(db, reg, "major_inspection", campaign=bad))
    assert {"campaign.name", "campaign.end_on"} <= errors.keys()


def test_naive_time_is_station_local_and_offsets_are_normalized(db, reg):
    a = stored(db, "safety_patrol", site_id=reg["site"], occurred_at="2021-06-15T10:30")
    b = stored(db, "safety_patrol", site_id=reg["site"], occurred_at="2021-03-31T16:30:00Z")
    assert a["occurred_at"] == "2021-06-15T10:30:00+08:00"
    assert (b["occurred_at"], b["day"], b["month"]) == ("2021-04-01T00:30:00+08:00", "2021-04-01", "2021-04")


@pytest.mark.parametrize("minutes, ok", [(9, True), (10, True), (11, False), (60 * 24, False)])
def test_future_beyond_ten_minutes_is_refused(db, reg, minutes, ok):
    raw = _body(db, reg, "safety_patrol", occurred_at=(NOW + timedelta(minutes=minutes)).isoformat())
    if ok:
        assert events.create(db, raw, user=user(db, "alice"), now=NOW, tz=TZ)[1]
    else:
        assert "不能晚于现在" in _errors(db, raw)["occurred_at"]


@pytest.mark.parametrize("after, late", [(timedelta(days=3), False), (timedelta(days=3, minutes=1), True),
                                         (timedelta(hours=2), False), (timedelta(days=40), True)])
def test_late_flag_after_three_days(db, reg, after, late):
    occurred = NOW - after
    event = stored(db, "safety_patrol", site_id=reg["site"], occurred_at=occurred.isoformat())
    assert event["late"] is late
    assert event["received_at"] == "2021-06-15T04:00:00+00:00"


def test_same_id_same_content_returns_the_stored_event(db, reg):
    raw = _body(db, reg, "safety_patrol")
    first, created, _ = events.create(db, raw, user=user(db, "alice"), now=NOW, tz=TZ)
    # A resend a day later (phone was offline), with equivalent but differently written values.
    again = {**raw, "occurred_at": "2021-06-15T02:30:00Z", "fields": {**raw["fields"], "hazards_general": "2"}}
    second, created2, _ = events.create(db, again, user=user(db, "alice"), now=NOW + timedelta(days=1), tz=TZ)
    assert created and not created2 and second == first
    assert scalar(db, "SELECT count(*) FROM events") == 1


def test_same_id_other_content_is_a_conflict_with_the_stored_event(db, reg):
    raw = _body(db, reg, "safety_patrol")
    create_once = events.create(db, raw, user=user(db, "alice"), now=NOW, tz=TZ)[0]
    with pytest.raises(Conflict) as exc:
        events.create(db, {**raw, "note": "另一条"}, user=user(db, "alice"), now=NOW, tz=TZ)
    assert exc.value.stored["id"] == raw["id"] and exc.value.stored["note"] == create_once["note"] == ""


def test_gps_warnings_never_block(db, reg):
    poor = stored(db, "safety_patrol", site_id=reg["site"], accuracy_m=120)
    assert poor["id"]
    raw = _body(db, reg, "safety_patrol", accuracy_m=120, lat=27.2, lon=112.948)
    event, created, warnings = events.create(db, raw, user=user(db, "alice"), now=NOW, tz=TZ)
    assert created and len(warnings) == 2
    assert "定位精度较差" in warnings[0] and "13.2 公里" in warnings[1]
    near = _body(db, reg, "safety_patrol", accuracy_m=50, lat=27.0850, lon=112.9480)  # ~400 m away
    assert events.create(db, near, user=user(db, "alice"), now=NOW, tz=TZ)[2] == []


def test_haversine_is_close_to_known_distance():
    # One degree of latitude is about 111.2 km.
    assert abs(events.haversine_m(27.0, 112.9, 28.0, 112.9) - 111_195) < 100


def test_event_inspectors_are_written_and_sorted(db, reg, users):
    event = stored(db, "safety_patrol", site_id=reg["site"], inspector_ids=[users["bob"], users["alice"]])
    assert event["inspector_ids"] == sorted([users["alice"], users["bob"]])
    assert event["recorded_by"] == users["alice"]


def test_edit_keeps_history_and_resend_of_the_original_still_answers_200(db, reg, users):
    raw = _body(db, reg, "safety_patrol")
    events.create(db, raw, user=user(db, "alice"), now=NOW, tz=TZ)
    later = NOW + timedelta(hours=1)
    edited = events.edit(db, raw["id"], {"note": "补充说明", "fields": {"hazards_general": 3}},
                         user=user(db, "alice"), now=later, tz=TZ, reason="隐患数量记错")
    assert edited["version"] == 2 and edited["fields"]["hazards_general"] == 3 and edited["note"] == "补充说明"
    full = events.get_event(db, raw["id"])
    [rev] = full["revisions"]
    assert (rev["action"], rev["version"], rev["changed_by"], rev["reason"]) == ("edit", 1, users["alice"], "隐患数量记错")
    assert {c["label"]: (c["before"], c["after"]) for c in rev["changes"]} == {"备注": ("", "补充说明"), "一般隐患数": (2, 3)}
    resent, created, _ = events.create(db, raw, user=user(db, "alice"), now=later, tz=TZ)
    assert not created and resent["note"] == "补充说明"


def test_edit_revalidates_and_changes_nothing_on_bad_input(db, reg):
    event = stored(db, "leaflets", fields={"copies": 120})
    with pytest.raises(InvalidInput) as exc:
        events.edit(db, event["id"], {"fields": {"copies": -5}}, user=user(db, "alice"), now=NOW, tz=TZ)
    assert "fields.copies" in exc.value.errors
    assert events.load(db, event["id"])["fields"]["copies"] == 120
    assert scalar(db, "SELECT count(*) FROM event_revisions") == 0


def test_edit_moving_the_date_recomputes_day_month_and_late(db, reg):
    event = stored(db, "safety_patrol", site_id=reg["site"])
    edited = events.edit(db, event["id"], {"occurred_at": "2021-05-31T09:00"}, user=user(db, "alice"), now=NOW, tz=TZ)
    assert (edited["day"], edited["month"], edited["late"]) == ("2021-05-31", "2021-05", True)


def test_edit_without_change_adds_no_revision(db, reg):
    event = stored(db, "safety_patrol", site_id=reg["site"])
    same = events.edit(db, event["id"], {"note": ""}, user=user(db, "alice"), now=NOW, tz=TZ)
    assert same["version"] == 1 and scalar(db, "SELECT count(*) FROM event_revisions") == 0


def test_edit_keeps_an_inspector_who_has_since_left(db, reg, users):
    event = stored(db, "safety_patrol", site_id=reg["site"], inspector_ids=[users["alice"], users["bob"]])
    db.execute("UPDATE users SET active = 0 WHERE id = ?", [users["bob"]])
    edited = events.edit(db, event["id"], {"note": "站长更正"}, user=user(db, "carol"), now=NOW, tz=TZ)
    assert edited["inspector_ids"] == sorted([users["alice"], users["bob"]])
    with pytest.raises(InvalidInput):  # but nobody can newly add an inactive user
        events.create(db, submission("safety_patrol", site_id=reg["site"], inspector_ids=[users["bob"]]),
                      user=user(db, "alice"), now=NOW, tz=TZ)


def test_kind_cannot_be_changed_by_an_edit(db, reg):
    event = stored(db, "safety_patrol", site_id=reg["site"])
    with pytest.raises(InvalidInput) as exc:
        events.edit(db, event["id"], {"kind": "leaflets"}, user=user(db, "alice"), now=NOW, tz=TZ)
    assert "kind" in exc.value.errors


@pytest.mark.parametrize("who, allowed", [("alice", True), ("carol", True), ("bob", False), ("dave", False)])
def test_who_may_edit(db, reg, who, allowed):
    event = stored(db, "safety_patrol", site_id=reg["site"])
    change = lambda: events.edit(db, event["id"], {"note": "改"}, user=user(db, who), now=NOW, tz=TZ)  # noqa: E731
    if allowed:
        assert change()["note"] == "改"
    else:
        with pytest.raises(Forbidden):
            change()
        assert events.load(db, event["id"])["note"] == ""


def test_a_co_inspector_may_edit(db, reg, users):
    event = stored(db, "safety_patrol", site_id=reg["site"], inspector_ids=[users["alice"], users["bob"]])
    assert events.edit(db, event["id"], {"note": "鲍勃补充"}, user=user(db, "bob"), now=NOW, tz=TZ)["version"] == 2


def test_void_needs_a_reason_and_keeps_the_event_visible(db, reg, users):
    event = stored(db, "leaflets", site_id=reg["site"])
    with pytest.raises(InvalidInput) as exc:
        events.void(db, event["id"], user=user(db, "alice"), reason="  ", now=NOW)
    assert exc.value.errors == {"reason": "请填写作废原因"}
    with pytest.raises(Forbidden):
        events.void(db, event["id"], user=user(db, "bob"), reason="重复", now=NOW)
    voided = events.void(db, event["id"], user=user(db, "alice"), reason="重复记录", now=NOW)
    assert voided["voided"] and voided["void_reason"] == "重复记录" and voided["voided_by"] == users["alice"]
    rev = one(db, "SELECT * FROM event_revisions WHERE event_id = ?", [event["id"]])
    assert rev["action"] == "void" and rev["reason"] == "重复记录" and json.loads(rev["before"])["voided"] is False
    assert [e["id"] for e in events.list_events(db)] == [event["id"]]
    assert events.list_events(db, include_voided=False) == []
    assert scalar(db, "SELECT coalesce(sum(json_extract(data, '$.copies')), 0) FROM events WHERE voided = 0") == 0
    with pytest.raises(InvalidInput):
        events.edit(db, event["id"], {"note": "x"}, user=user(db, "alice"), now=NOW, tz=TZ)


def test_list_filters(db, reg, users):
    other = site(db, name="吴集镇幼儿园")
    a = stored(db, "safety_patrol", site_id=reg["site"], occurred_at="2021-06-01T09:00")
    b = stored(db, "safety_patrol", site_id=other, by="bob", occurred_at="2021-06-10T09:00")
    c = stored(db, "plant_patrol", plant_id=reg["plant"], occurred_at="2021-06-12T09:00")
    ids = lambda **kw: [e["id"] for e in events.list_events(db, **kw)]  # noqa: E731
    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(kind="safety_patrol") == [b["id"], a["id"]]
    assert ids(site_id=other) == [b["id"]]
    assert ids(plant_id=reg["plant"]) == [c["id"]]
    assert ids(date_from="2021-06-10", date_to="2021-06-10") == [b["id"]]
    assert ids(user_id=users["bob"]) == [b["id"]]
    assert ids(limit=1, offset=1) == [b["id"]]
    assert events.count_events(db, user_id=users["alice"]) == 2


def test_rectification_review_must_match_the_notice_site(db, reg):
    issued = _notice(db, reg["site"])
    other = site(db, name="另一工地")
    raw = submission("rectification_review", site_id=other, fields={"notice_event_id": issued})
    assert "不属于所选工地" in _errors(db, raw)["fields.notice_event_id"]
    assert [n["id"] for n in events.open_notices(db)] == [issued]
    stored(db, "rectification_review", site_id=reg["site"], fields={"notice_event_id": issued, "closed": True})
    assert events.open_notices(db) == []
