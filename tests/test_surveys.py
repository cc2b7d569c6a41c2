"""Survey domain: positive rules, validation, cap, closed codes, flood limits by address, demo data."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from fieldlog import surveys
from fieldlog.db import scalar
from fieldlog.errors import Forbidden, InvalidInput

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 6, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 in the station
SECRET = "test-secret"
AWARE = {"complaint_channel": "是", "leaflet_received": "是", "safety_signs": "是", "acceptance_required": "否",
         "respondent_type": "群众"}


def user(db, users, name="alice") -> dict:
    return dict(next(db.query("SELECT * FROM users WHERE id = ?", [users[name]])))


def new_code(db, users, kind="awareness_survey", **kw) -> dict:
    code_id = surveys.create_code(db, kind, user=user(db, users), now=NOW, **kw)
    return surveys.get_code(db, code_id)


def submit(db, code, form=None, ip="10.0.0.1", now=NOW) -> int:
    return surveys.answer(db, code["token"], form or AWARE, ip=ip, secret=SECRET, now=now, tz=TZ)


def count(db) -> int:
    return scalar(db, "SELECT count(*) FROM survey_answers")


@pytest.mark.parametrize("yes_count, aware", [(4, True), (3, True), (2, False), (0, False)])
def test_awareness_needs_three_of_four_yes(yes_count, aware):
    keys = [q["key"] for q in surveys.SURVEYS["awareness_survey"]["questions"]]
    answers = {k: "是" if i < yes_count else "否" for i, k in enumerate(keys)}
    assert surveys.is_positive("awareness_survey", answers) is aware


@pytest.mark.parametrize("level, satisfied", [("很满意", True), ("满意", True), ("基本满意", True),
                                              ("不满意", False), ("很不满意", False)])
def test_satisfaction_counts_basically_satisfied(level, satisfied):
    assert surveys.is_positive("satisfaction_survey", {"overall": level}) is satisfied


def test_answer_is_stored_with_local_day_and_hashed_address(db, users):
    code = new_code(db, users)
    # 17:30 UTC on 31 May is already 1 June in the station.
    answer_id = submit(db, code, ip="203.0.113.9", now=datetime(2021, 5, 31, 17, 30, tzinfo=timezone.utc))
    row = next(db.query("SELECT * FROM survey_answers WHERE id = ?", [answer_id]))
    assert (row["kind"], row["day"], row["month"], row["positive"]) == ("awareness_survey", "2021-06-01", "2021-06", 1)
    assert row["answered_at"] == "2021-05-31T17:30:00+00:00"
    assert json.loads(row["answers"])["acceptance_required"] == "否"
    assert row["respondent_type"] == "群众"
    assert "203.0.113.9" not in row["ip_hash"] and row["ip_hash"] == surveys.ip_hash("203.0.113.9", SECRET)


def test_dissatisfied_answer_is_not_positive(db, users):
    code = new_code(db, users, "satisfaction_survey")
    submit(db, code, {"overall": "不满意", "respondent_type": "施工企业", "comment": "复查太慢"})
    assert scalar(db, "SELECT positive || comment FROM survey_answers") == "0复查太慢"


@pytest.mark.parametrize("form, field, message", [
    ({**AWARE, "safety_signs": ""}, "safety_signs", "请回答第 3 题"),
    ({**AWARE, "complaint_channel": "也许"}, "complaint_channel", "请从给出的选项中选择"),
    ({**AWARE, "respondent_type": "记者"}, "respondent_type", "请选择您的身份"),
    ({**AWARE, "comment": "很" * 501}, "comment", "意见建议请不超过 500 字"),
])
def test_bad_answer_names_the_field_and_stores_nothing(db, users, form, field, message):
    code = new_code(db, users)
    with pytest.raises(InvalidInput) as exc:
        submit(db, code, form)
    assert exc.value.errors[field] == message
    assert count(db) == 0


def test_satisfaction_form_needs_the_overall_rating(db, users):
    code = new_code(db, users, "satisfaction_survey")
    with pytest.raises(InvalidInput) as exc:
        submit(db, code, {"respondent_type": "群众"})
    assert exc.value.errors == {"overall": "请回答第 1 题"}


def test_unknown_token_is_unavailable(db, users):
    with pytest.raises(surveys.Unavailable) as exc:
        surveys.answer(db, "no-such-token", AWARE, ip="1.1.1.1", secret=SECRET, now=NOW, tz=TZ)
    assert exc.value.reason == "unknown"


def test_cap_refuses_the_answer_after_the_last_place(db, users):
    code = new_code(db, users, max_answers="2")
    submit(db, code, ip="10.0.0.1")
    submit(db, code, ip="10.0.0.2")
    with pytest.raises(surveys.Unavailable) as exc:
        submit(db, code, ip="10.0.0.3")
    assert (str(exc.value), exc.value.reason) == ("本问卷已达到答卷上限", "full")
    assert count(db) == 2


def test_closed_code_takes_no_answer_and_only_creator_or_chief_closes(db, users):
    code = new_code(db, users)
    with pytest.raises(Forbidden):
        surveys.close_code(db, code["id"], user=user(db, users, "bob"), now=NOW)
    surveys.close_code(db, code["id"], user=user(db, users, "carol"), now=NOW)
    with pytest.raises(surveys.Unavailable) as exc:
        submit(db, code)
    assert exc.value.reason == "closed" and "已结束" in str(exc.value)
    assert count(db) == 0


def test_flood_limit_per_code_per_address_per_day(db, users):
    code = new_code(db, users)
    for minute in range(surveys.PER_CODE_PER_ADDRESS_PER_DAY):
        submit(db, code, {**AWARE, "comment": f"第{minute}份"}, now=NOW + timedelta(minutes=minute))
    with pytest.raises(surveys.Unavailable) as exc:
        submit(db, code, now=NOW + timedelta(hours=3))
    assert exc.value.reason == "flood"
    submit(db, code, ip="10.0.0.99", now=NOW + timedelta(hours=3))  # another address is fine
    submit(db, code, now=NOW + timedelta(days=1))  # so is the next station-local day
    assert count(db) == surveys.PER_CODE_PER_ADDRESS_PER_DAY + 2


def test_flood_limit_per_address_per_hour_across_codes(db, users):
    codes = [new_code(db, users) for _ in range(7)]
    for i in range(surveys.PER_ADDRESS_PER_HOUR):
        submit(db, codes[i % 7], {**AWARE, "comment": f"第{i}份"}, now=NOW + timedelta(minutes=i))
    with pytest.raises(surveys.Unavailable) as exc:
        submit(db, codes[6], now=NOW + timedelta(minutes=30))
    assert exc.value.reason == "flood"
    # An hour after the first answers, the window has room again.
    submit(db, codes[6], now=NOW + timedelta(minutes=62))


def test_quick_resend_of_the_same_answer_is_stored_once(db, users):
    code = new_code(db, users)
    first = submit(db, code)
    assert submit(db, code, now=NOW + timedelta(seconds=20)) == first
    assert submit(db, code, {**AWARE, "safety_signs": "否"}, now=NOW + timedelta(seconds=30)) != first
    assert submit(db, code, now=NOW + timedelta(minutes=5)) != first  # later, it is another respondent
    assert count(db) == 3


@pytest.mark.parametrize("kw, field", [
    ({"kind": "poll"}, "kind"),
    ({"site_id": "999"}, "site_id"),
    ({"site_id": "abc"}, "site_id"),
    ({"event_id": "no-such-event"}, "event_id"),
    ({"max_answers": "0"}, "max_answers"),
    ({"max_answers": "十"}, "max_answers"),
    ({"note": "x" * 201}, "note"),
])
def test_bad_code_form_stores_nothing(db, users, kw, field):
    kind = kw.pop("kind", "awareness_survey")
    with pytest.raises(InvalidInput) as exc:
        surveys.create_code(db, kind, user=user(db, users), now=NOW, **kw)
    assert field in exc.value.errors
    assert scalar(db, "SELECT count(*) FROM survey_codes") == 0


def test_tokens_are_random_and_url_safe(db, users):
    tokens = {new_code(db, users)["token"] for _ in range(5)}
    assert len(tokens) == 5 and all(len(t) >= 16 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)


def test_stats_and_list(db, users):
    code = new_code(db, users, "satisfaction_survey")
    for ip, level in [("1", "很满意"), ("2", "基本满意"), ("3", "不满意"), ("4", "满意")]:
        submit(db, code, {"overall": level, "respondent_type": "建设单位", "comment": "好" if ip == "1" else ""}, ip=ip)
    stats = surveys.code_stats(db, code["id"])
    assert (stats["answers"], stats["positive"], stats["rate"]) == (4, 3, 0.75)
    assert stats["by_option"]["overall"]["不满意"] == 1 and stats["by_type"]["建设单位"] == 4
    assert [c["text"] for c in stats["comments"]] == ["好"]
    listed = surveys.list_codes(db)
    assert [(c["id"], c["answers"], c["rate"]) for c in listed] == [(code["id"], 4, 0.75)]
    assert surveys.year_summary(db, 2021)["satisfaction_survey"]["rate"] == 0.75
    assert surveys.year_summary(db, 2022)["satisfaction_survey"]["answers"] == 0


def test_demo_answers_are_deterministic_and_near_targets(db, users):
    surveys.demo_answers(db, random.Random(7), 2021, users["carol"])
    summary = surveys.year_summary(db, 2021)
    assert summary["awareness_survey"]["answers"] == 200 and summary["awareness_survey"]["rate"] == 0.96
    assert summary["satisfaction_survey"]["answers"] == 150 and 0.92 < summary["satisfaction_survey"]["rate"] < 0.94
    months = {r[0] for r in db.conn.execute("SELECT DISTINCT month FROM survey_answers")}
    assert len(months) == 12
    first = list(db.query("SELECT day, positive, answers FROM survey_answers ORDER BY id LIMIT 20"))
    db.execute("DELETE FROM survey_answers")
    db.execute("DELETE FROM survey_codes")
    surveys.demo_answers(db, random.Random(7), 2021, users["carol"])
    assert list(db.query("SELECT day, positive, answers FROM survey_answers ORDER BY id LIMIT 20")) == first
