"""Notice pages and API (issue 14): the form without JavaScript, the phone page, steps, the chief's follow-ups,
the monthly report's counts, the JSON API's errors naming the field."""

from __future__ import annotations

import re
import uuid

import pytest

from fieldlog import db as db_mod, notices, registry
from tests import factories


@pytest.fixture
def site_id(db):
    sid = factories.site(db, name="衡东县城关镇锦绣花园二期")
    registry.save_site(db, {"name": "衡东县城关镇锦绣花园二期", "reg_no": registry.get_site(db, sid)["reg_no"],
                            "town": "城关镇", "started_on": "2020-01-01", "contractor": "湖南衡岳建设有限公司",
                            "builder": "衡东县城市建设投资有限公司", "supervisor": "湖南正方监理有限公司",
                            "uses_ready_mix": "是"}, site_id=sid)
    return sid


def form_data(client, site_id, users, **over) -> dict:
    page = client.get("/notices/new").text
    data = {"id": re.search(r'name="id" value="([^"]+)"', page).group(1), "site_id": str(site_id),
            "occurred_at": "2022-01-10T09:30", "notice_type": "rectify", "deadline": "2022-01-20",
            "legal_basis": "依据《建设工程安全生产管理条例》第四十三条", "inspector_ids": [str(users["alice"]), str(users["bob"])],
            "items-0-description": "二层临边防护栏杆缺失", "items-0-location": "2号楼二层", "items-0-criterion": "JGJ 59-2011",
            "items-1-description": "深基坑未进行第三方监测", "items-1-major": "1", "items-1-criterion_id": "5.3",
            "items-2-description": ""}
    data.update(over)
    return data


def issue_by_form(client, site_id, users, **over):
    return client.post_form("/notices/new", form_data(client, site_id, users, **over), follow_redirects=False)


def test_the_form_offers_the_criteria_and_the_colleagues(client_for, users, site_id):
    page = client_for("alice").get("/notices/new")
    assert page.status_code == 200
    assert "第五条第（三）项 深基坑施工未进行第三方监测" in page.text
    assert "（待核对原文）" in page.text and "鲍勃" in page.text
    assert 'name="items-0-criterion_id"' in page.text


def test_issuing_without_javascript_and_the_phone_page(db, client_for, users, site_id):
    alice = client_for("alice")
    response = issue_by_form(alice, site_id, users)
    assert response.status_code == 303
    notice_id = response.headers["location"].rsplit("/", 1)[1]
    page = alice.get(f"/notices/{notice_id}").text
    assert "衡建质安〔2022〕整字第001号" in page and "限期整改通知书" in page
    assert "湖南衡岳建设有限公司" in page and "湖南正方监理有限公司" in page
    assert "违反建质规〔2022〕2号第五条第（三）项" in page and "重大事故隐患" in page
    assert notices.doc(db, notice_id)["items"] == 2   # the blank third row is left out


def test_one_inspector_is_refused_on_the_form_and_nothing_is_stored(db, client_for, users, site_id):
    alice = client_for("alice")
    response = issue_by_form(alice, site_id, users, inspector_ids=[str(users["alice"])])
    assert response.status_code == 422
    assert "执法检查应由至少 2 名监督员进行" in response.text
    assert "二层临边防护栏杆缺失" in response.text      # what was typed stays on the form
    assert db_mod.scalar(db, "SELECT count(*) FROM events") == 0


def test_a_major_item_without_criterion_is_refused_on_the_form(client_for, users, site_id):
    response = issue_by_form(client_for("alice"), site_id, users, **{"items-1-criterion_id": ""})
    assert response.status_code == 422
    assert "第2项是重大事故隐患：请从判定标准中选择所依据的条款" in response.text


def test_steps_through_the_page_to_closing(db, client_for, users, site_id, clock):
    alice = client_for("alice")
    notice_id = issue_by_form(alice, site_id, users).headers["location"].rsplit("/", 1)[1]

    def step(who, **data):
        page = who.get(f"/notices/{notice_id}").text
        sid = re.search(r'id="step-form".*?name="id" value="([^"]+)"', page, re.S).group(1)
        return who.post_form(f"/notices/{notice_id}/steps", {"id": sid, "occurred_at": "2022-01-10T11:00",
                                                            "inspector_ids": [str(users["alice"]), str(users["bob"])], **data},
                             follow_redirects=False)

    refused = step(alice, step="review_passed")
    assert refused.status_code == 422 and "通知书目前为“已下发”，不能登记“复查合格”" in refused.text
    assert step(alice, step="served", receiver_name="王建国", receiver_unit="湖南衡岳建设有限公司",
                received_on="2022-01-10").status_code == 303
    assert step(alice, step="replied", reply_text="已按要求整改").status_code == 303
    assert step(alice, step="review_passed").status_code == 303
    assert step(alice, step="closed").status_code == 303
    page = alice.get(f"/notices/{notice_id}").text
    assert "已销号" in page and "签收人：王建国" in page
    assert 'id="step-form"' not in page          # nothing more may follow


def test_the_chief_lists_notices_by_state_overdue_first(db, client_for, users, site_id, clock):
    alice = client_for("alice")
    late = issue_by_form(alice, site_id, users, occurred_at="2022-01-02T09:00", deadline="2022-01-05")
    issue_by_form(alice, site_id, users, deadline="2022-02-01")
    page = client_for("carol").get("/chief/followups").text
    first, second = re.findall(r'href="/notices/[^"]+">(衡建质安[^<]+)</a>', page)[:2]
    assert first.endswith("001号") and second.endswith("002号")
    assert "逾期 5 天" in page and "逾期未办结 <b>1</b> 份" in page
    assert "巡查记录中的整改通知书" in page            # the patrols' notices keep their list
    assert late.status_code == 303
    assert client_for("carol").get("/chief/followups?state=nonsense").status_code == 422


def test_an_inspectors_own_notices(db, client_for, users, site_id):
    issue_by_form(client_for("alice"), site_id, users, inspector_ids=[str(users["alice"]), str(users["bob"])])
    carol_only = client_for("carol")
    issue_by_form(carol_only, site_id, users, inspector_ids=[str(users["bob"]), str(users["carol"])])
    assert len(re.findall(r'href="/notices/[0-9a-f-]{36}"', client_for("alice").get("/followups/mine").text)) == 1


def test_the_monthly_report_counts_notices_by_kind(db, client_for, users, site_id):
    alice = client_for("alice")
    june = {"occurred_at": "2021-06-15T09:30", "deadline": "2021-06-25"}
    issue_by_form(alice, site_id, users, **june)
    issue_by_form(alice, site_id, users, notice_type="stop_work", **june)
    issue_by_form(alice, site_id, users, occurred_at="2021-07-01T09:30", deadline="2021-07-05")
    page = client_for("carol").get("/chief/report?month=2021-06").text
    assert "本月下发的通知书" in page
    row = re.search(r'<table class="notice-counts">.*?</table>', page, re.S).group(0)
    assert re.findall(r"<td>([^<]+)</td>", row) == ["1 份", "0 份", "1 份", "0 份", "2 份", "2 项", "0 份"]


def test_api_create_errors_name_the_field(token_client, users, site_id):
    alice = token_client("alice")
    body = {"id": str(uuid.uuid4()), "kind": "notice", "occurred_at": "2022-01-10T09:30:00+08:00", "site_id": site_id,
            "inspector_ids": [users["alice"]], "fields": {"notice_type": "rectify", "legal_basis": "依据",
                                                           "deadline": "2022-01-01", "items": [{"description": ""}]}}
    response = alice.post("/api/v1/events", json=body)
    assert response.status_code == 422
    found = {tuple(d["loc"]): d["msg"] for d in response.json()["detail"]}
    assert found[("body", "fields", "items")] == "第1项：请填写问题描述"
    assert found[("body", "fields", "deadline")] == "整改期限不能早于检查日期"


def test_api_refused_step_names_the_step_field(token_client, users, site_id):
    alice = token_client("alice")
    body = {"id": str(uuid.uuid4()), "kind": "notice", "occurred_at": "2022-01-10T09:30:00+08:00", "site_id": site_id,
            "inspector_ids": [users["alice"], users["bob"]],
            "fields": {"notice_type": "stop_work", "legal_basis": "依据", "deadline": "2022-01-20",
                       "items": [{"description": "塔吊未验收即使用", "major": True, "criterion_id": "8.1"}]}}
    created = alice.post("/api/v1/events", json=body)
    assert created.status_code == 201
    step = {"id": str(uuid.uuid4()), "kind": "notice_step", "occurred_at": "2022-01-10T10:00:00+08:00", "site_id": site_id,
            "inspector_ids": [users["alice"], users["bob"]], "fields": {"notice_event_id": body["id"], "step": "closed"}}
    refused = alice.post("/api/v1/events", json=step)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "fields", "step"]
    one = alice.get(f"/api/v1/notices/{body['id']}").json()
    assert one["number"] == "衡建质安〔2022〕停字第001号" and one["state"] == "issued" and one["major"] == 1
    assert one["allowed_steps"] == ["served", "refused", "replied"]
    listed = alice.get("/api/v1/notices").json()
    assert [n["number"] for n in listed["notices"]] == [one["number"]]
    bad = alice.get("/api/v1/notices?state=nonsense")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "state"]


def test_another_inspector_cannot_read_the_notice(token_client, client_for, users, site_id):
    alice = client_for("alice")
    notice_id = issue_by_form(alice, site_id, users, inspector_ids=[str(users["alice"]), str(users["carol"])]) \
        .headers["location"].rsplit("/", 1)[1]
    assert client_for("bob").get(f"/notices/{notice_id}").status_code == 403
    assert token_client("bob").get(f"/api/v1/notices/{notice_id}").status_code == 403


def test_the_event_pages_lead_to_the_notice(client_for, users, site_id):
    alice = client_for("alice")
    notice_id = issue_by_form(alice, site_id, users).headers["location"].rsplit("/", 1)[1]
    for path in (f"/events/{notice_id}", f"/events/{notice_id}/edit"):
        response = alice.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == f"/notices/{notice_id}"


def test_the_inspectors_home_lists_own_notices_due_with_a_way_to_them(client_for, users, site_id):
    """/log, the inspector's home, lists the notices one issued that are overdue or due soon, each leading to
    its page (the step form), with its days overdue as of the clock (factories.NOW, 2022-01-10)."""
    alice = client_for("alice")
    notice_id = issue_by_form(alice, site_id, users, occurred_at="2022-01-02T09:00", deadline="2022-01-05") \
        .headers["location"].rsplit("/", 1)[1]
    home = alice.get("/log").text
    assert "衡建质安〔2022〕整字第001号" in home and "逾期 5 天" in home
    assert f'href="/notices/{notice_id}"' in home


def test_api_lists_notice_events_by_kind(token_client, client_for, users, site_id):
    issue_by_form(client_for("alice"), site_id, users)
    listed = token_client("alice").get("/api/v1/events?kind=notice")
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert listed.json()["items"][0]["kind_label"] == "整改通知书"


def test_a_notice_and_a_return_read_in_a_stations_words(db, client_for, token_client, users, site_id):
    """The notice's phone page, its print, the home and the returns list: no identifier, English or ISO date in
    the text a person reads (the checks of tests/test_words.py, on pages the demo year does not hold)."""
    from tests.test_words import iso_dates, leaks, readable

    alice, carol = client_for("alice"), client_for("carol")
    notice_id = issue_by_form(alice, site_id, users, occurred_at="2022-01-02T09:00", deadline="2022-01-05") \
        .headers["location"].rsplit("/", 1)[1]
    refused = token_client("alice").post("/api/v1/events", json={
        "id": "6f1d2c3b-0000-4000-8000-000000000002", "kind": "notice_step", "occurred_at": "2022-01-02T10:00:00+08:00",
        "site_id": site_id, "inspector_ids": [users["alice"], users["bob"]],
        "fields": {"notice_event_id": notice_id, "step": "refused", "witness": "监理单位 王工"}})
    assert refused.status_code == 201, refused.text
    patrol = token_client("alice").post("/api/v1/events", json={
        "id": "6f1d2c3b-0000-4000-8000-000000000001", "kind": "safety_patrol", "occurred_at": "2022-01-09T10:00:00+08:00",
        "site_id": site_id, "fields": {"finding": "无", "hazards_general": 0, "hazards_major": 0}})
    assert patrol.status_code == 201
    assert token_client("carol").post(f"/api/v1/events/{patrol.json()['id']}/return",
                                      json={"reason": "照片不清楚"}).status_code == 201
    pages = {f"/notices/{notice_id}": alice, f"/notices/{notice_id}/print": alice, "/log": alice,
             "/chief/returns": carol, f"/events/{patrol.json()['id']}": carol, "/chief/followups": carol}
    for url, client in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        text = readable(response.text)
        assert leaks(text) + iso_dates(text) == [], url
    assert "2022年1月5日" in readable(alice.get(f"/notices/{notice_id}/print").text)
