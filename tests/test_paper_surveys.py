"""Paper questionnaires: batches entered on the page or through the API count in 知晓率 and 满意度 for the day they
were collected, beside the phone answers; corrected or voided with a reason (history and audit kept); refused in
Chinese when the numbers do not add up."""

from __future__ import annotations

from datetime import date

import pytest

from fieldlog import audit, survey_batches
from fieldlog.indicators import rollup, tables

from tests.factories import NOW, TZ, survey_answers, user

SATISFIED = {"很满意": 10, "满意": 5, "基本满意": 3, "不满意": 2, "很不满意": 0}   # 20 answered, 18 satisfied


def batch(**over) -> dict:
    return {"kind": "satisfaction_survey", "collected_on": "2021-06-16", "place": "城关镇安全生产月宣传点",
            "respondents": 20, "counts": dict(SATISFIED), **over}


def rates(db, as_of: str) -> dict[str, str]:
    table = tables.table_for_year(db, 2021)
    rows = {r.key: r for r in rollup.compute(db, table, date.fromisoformat(as_of), TZ)}
    return {k: rows[k].actual_text for k in ("awareness_rate", "satisfaction_rate")}


def test_a_year_of_phone_and_paper_answers_against_an_independent_count(db, users, token_client):
    # Phone: satisfaction 30 of 40 on 1 June, awareness 45 of 50 on 1 March.
    survey_answers(db, "satisfaction_survey", "2021-06-01", positive=30, negative=10)
    survey_answers(db, "awareness_survey", "2021-03-01", positive=45, negative=5)
    api = token_client("carol")
    paper = [
        batch(),                                                                            # 18 of 20, June
        batch(collected_on="2021-11-03", respondents=10, counts={"满意": 4, "不满意": 6}),   # 4 of 10, November
        batch(collected_on="2022-01-05", respondents=5, counts={"满意": 5}),                # next year
        {"kind": "知晓率", "collected_on": "2021-06-16", "place": "县政务中心", "respondents": 3,  # per respondent
         "sheets": [{"complaint_channel": "是", "leaflet_received": "是", "safety_signs": "是", "acceptance_required": "否"},
                    {"complaint_channel": "是", "leaflet_received": "否", "safety_signs": "否", "acceptance_required": "否"},
                    {"complaint_channel": "是", "leaflet_received": "是", "safety_signs": "是", "acceptance_required": "是"}]},
        batch(collected_on="2021-07-01", respondents=100, counts={"很不满意": 100}),         # voided below
    ]
    ids = []
    for body in paper:
        r = api.post("/api/v1/survey-batches", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert api.post(f"/api/v1/survey-batches/{ids[-1]}/void", json={"reason": "重复录入"}).status_code == 200
    # Counted by hand: satisfaction phone 30/40 + paper 18/20 + 4/10 = 52/70; awareness 45/50 + 2/3 = 47/53.
    sat_num, sat_den = 30 + 18 + 4, 40 + 20 + 10
    aw_num, aw_den = 45 + 2, 50 + 3
    assert rates(db, "2021-12-31") == {"awareness_rate": f"{int(1000 * aw_num / aw_den) / 10:.1f}%",
                                       "satisfaction_rate": f"{int(1000 * sat_num / sat_den) / 10:.1f}%"}
    assert rates(db, "2021-12-31") == {"awareness_rate": "88.6%", "satisfaction_rate": "74.2%"}
    # As of 15 June the June batch was not collected yet: phone answers only.
    assert rates(db, "2021-06-15")["satisfaction_rate"] == "75.0%"
    body = api.get("/api/v1/indicators?year=2021&as_of=2021-12-31").json()
    sat = next(r for r in body["rows"] if r["key"] == "satisfaction_rate")
    assert sat["detail"] == "手机 30/40，纸质 22/30，合计 52/70"


def test_counts_that_do_not_add_up_are_refused_and_nothing_is_stored(db, users, token_client, client_for):
    api = token_client("alice")
    r = api.post("/api/v1/survey-batches", json=batch(respondents=21))
    assert r.status_code == 422
    assert r.json()["detail"] == [{"loc": ["body", "counts"], "msg": "各答案人数合计 20 人，与答卷人数 21 人不符",
                                   "type": "value_error"}]
    bad = [({"respondents": 0}, "respondents"), ({"collected_on": "2021-02-30"}, "collected_on"),
           ({"collected_on": "2022-02-01"}, "collected_on"), ({"place": " "}, "place"), ({"kind": "x"}, "kind"),
           ({"counts": {"满意": -1}}, "counts.满意"), ({"counts": {"一般": 3}}, "counts"),
           ({"counts": "20"}, "counts"), ({"respondents": "1e3"}, "respondents"),
           ({"sheets": [{"overall": "好"}]}, "sheets")]
    for change, field in bad:
        r = api.post("/api/v1/survey-batches", json=batch(**change))
        assert r.status_code == 422, change
        assert [d["loc"][1:] for d in r.json()["detail"]] and any(
            ".".join(map(str, d["loc"][1:])) == field for d in r.json()["detail"]), (change, r.json())
    assert api.post("/api/v1/survey-batches", json=[1]).status_code == 422
    page = client_for("alice").post_form("/paper-surveys/new", {
        "kind": "satisfaction_survey", "collected_on": "2021-06-16", "place": "城关镇", "respondents": "20",
        "count_0": "10", "count_1": "5"})
    assert page.status_code == 422 and "各答案人数合计 15 人，与答卷人数 20 人不符" in page.text
    assert survey_batches.list_between(db, date(2021, 1, 1), date(2022, 12, 31)) == []


def test_entered_on_the_page_corrected_and_voided_with_history(db, users, client_for):
    alice = client_for("alice")
    r = alice.post_form("/paper-surveys/new", {
        "kind": "satisfaction_survey", "collected_on": "2021-06-16", "place": "城关镇", "respondents": "20",
        "count_0": "10", "count_1": "5", "count_2": "3", "count_3": "2"}, follow_redirects=False)
    assert r.status_code == 303
    batch_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert (survey_batches.get(db, batch_id)["respondents"], survey_batches.get(db, batch_id)["positive"]) == (20, 18)
    # bob may not change alice's batch; the chief may.
    assert client_for("bob").post_form(f"/paper-surveys/{batch_id}/void", {"reason": "x"}).status_code == 403
    no_reason = alice.post_form(f"/paper-surveys/{batch_id}/edit", {
        "kind": "satisfaction_survey", "collected_on": "2021-06-16", "place": "城关镇", "respondents": "20",
        "count_0": "20"})
    assert no_reason.status_code == 422 and "请填写更正或作废的原因" in no_reason.text
    fixed = alice.post_form(f"/paper-surveys/{batch_id}/edit", {
        "kind": "satisfaction_survey", "collected_on": "2021-06-17", "place": "城关镇广场", "respondents": "20",
        "count_0": "8", "count_1": "5", "count_2": "3", "count_3": "4", "reason": "第二天补收4份"},
        follow_redirects=False)
    assert fixed.status_code == 303
    now = survey_batches.get(db, batch_id)
    assert (now["positive"], now["version"], now["collected_on"]) == (16, 2, "2021-06-17")
    carol = client_for("carol")
    assert carol.post_form(f"/paper-surveys/{batch_id}/void", {"reason": ""}).status_code == 422
    assert carol.post_form(f"/paper-surveys/{batch_id}/void", {"reason": "问卷遗失，无法核对"},
                           follow_redirects=False).status_code == 303
    assert survey_batches.totals(db, "satisfaction_survey", date(2021, 1, 1), date(2021, 12, 31)) == (0, 0)
    hist = survey_batches.history(db, batch_id)
    assert [(h["action"], h["reason"], h["before"]["positive"]) for h in hist] == [
        ("void", "问卷遗失，无法核对", 16), ("edit", "第二天补收4份", 18)]
    page = carol.get(f"/paper-surveys/{batch_id}").text
    assert "已作废：问卷遗失，无法核对" in page and "第二天补收4份" in page and "艾丽丝" in page
    actions = [a["action"] for a in audit.recent(db)]
    assert {"survey_batch_created", "survey_batch_edited", "survey_batch_voided"} <= set(actions)


def test_the_drill_down_lists_paper_apart_from_phone_answers(db, users, client_for):
    survey_answers(db, "satisfaction_survey", "2021-06-01", positive=3, negative=1)
    survey_batches.create(db, batch(), user=user(db, "alice"), now=NOW, tz=TZ)
    page = client_for("carol").get("/indicators/2021/satisfaction_rate?as_of=2021-12-31").text
    assert "手机答卷" in page and "4 份，其中 3 份" in page
    assert "纸质问卷（1 批）" in page and "城关镇安全生产月宣传点" in page and "艾丽丝" in page


def test_the_api_is_documented(db, users, token_client):
    schema = token_client("carol").get("/openapi.json").json()
    assert {"post", "get"} <= set(schema["paths"]["/api/v1/survey-batches"])
    assert "patch" in schema["paths"]["/api/v1/survey-batches/{batch_id}"]


@pytest.mark.parametrize("who, status", [("alice", 201), ("carol", 201), ("dave", 403)])
def test_who_may_enter(db, users, token_client, who, status):
    assert token_client(who).post("/api/v1/survey-batches", json=batch()).status_code == status
