"""The lab loop through the pages and the API: labs kept by the admin, the phone form without a result, the result
form, the lab sheet's dry run and import, samples awaiting results, and 不合格 on the chief's follow-ups."""

from __future__ import annotations

import re

import pytest

from fieldlog import samples
from tests.factories import NOW, event, site, submission, user
from tests.test_samples import ON_SITE, sample


@pytest.fixture
def lab(db, users):
    return samples.save_lab(db, {"name": "衡阳市建设工程质量检测中心"}, actor=user(db, "dave"), now=NOW)


def test_the_admin_keeps_the_labs_list(client_for, db):
    admin = client_for("dave")
    assert "新增检测机构" in admin.get("/labs").text
    refused = admin.post_form("/labs/new", {"name": " "})
    assert refused.status_code == 422 and "请填写检测机构名称" in refused.text
    assert admin.post_form("/labs/new", {"name": "湖南省建设工程质量检测中心", "active": "1"},
                           follow_redirects=False).status_code == 303
    [lab] = samples.labs(db)
    assert admin.post_form(f"/labs/{lab['id']}/edit", {"name": lab["name"]}, follow_redirects=False).status_code == 303
    assert samples.get_lab(db, lab["id"])["active"] == 0
    assert client_for("alice").post_form("/labs/new", {"name": "x"}).status_code == 403


def test_the_phone_form_asks_for_the_sample_not_the_result(client_for, lab):
    page = client_for("alice").get("/log/concrete_sampling").text
    for name in ("sample_no", "seal_no", "specimens", "strength_grade", "method", "lab_id"):
        assert f'name="{name}"' in page
    for name in ("result", "measured_mpa", "fee_yuan"):
        assert f'name="{name}"' not in page
    assert "衡阳市建设工程质量检测中心" in page


def test_a_sample_posted_by_the_queue_waits_for_its_result(client_for, db, lab):
    s = site(db)
    body = submission("concrete_sampling", "2021-12-01T10:00:00+08:00", site_id=s,
                      fields={**ON_SITE, "lab_id": str(lab)})
    for k in ("result", "fee_yuan"):
        body["fields"].pop(k)
    alice = client_for("alice")
    assert alice.post("/api/v1/events", json=body, headers={"X-CSRF-Token": alice.csrf}).status_code == 201
    listed = alice.get("/api/v1/samples").json()
    assert listed["due_days"] == 35
    assert [(x["sample_no"], x["days"], x["overdue"], x["status"]) for x in listed["samples"]] == \
        [("HD-0001", 40, True, "pending")]
    assert "HD-0001" in alice.get("/samples").text and "逾期" in alice.get("/samples").text


def test_the_result_form_keeps_history_and_refuses_bad_input(client_for, db, lab):
    stored = sample(db, "2021-12-01", "HD-0001", lab, site_id=site(db))
    bob = client_for("bob")
    url = f"/samples/{stored['id']}/result"
    assert "待出结果" in bob.get(url).text
    bad = bob.post_form(url, {"report_no": "", "report_on": "2021-11-30", "result": "良"})
    assert bad.status_code == 422
    for message in ("请填写检测报告编号", "不能早于抽样日期", "检测结论只能是"):
        assert message in bad.text
    assert samples.history(db, stored["id"]) == []
    ok = bob.post_form(url, {"report_no": "JC-9", "report_on": "2022-01-05", "result": "合格", "fee_yuan": "900"},
                       follow_redirects=True)
    assert "检测结果已保存" in ok.text and "JC-9" in ok.text and "鲍勃" in ok.text
    assert "HD-0001" not in bob.get("/samples").text.split("检测不合格")[0]
    detail = client_for("alice").get(f"/events/{stored['id']}").text
    assert "检测结果" in detail and "JC-9" in detail and "待出结果" not in detail


def test_the_result_api_names_the_field(token_client, db, lab):
    stored = sample(db, "2021-12-01", "HD-0001", lab, site_id=site(db))
    api = token_client("carol")
    bad = api.post(f"/api/v1/samples/{stored['id']}/results", json={"report_no": "JC-1", "report_on": "2021-12-30",
                                                                   "result": "合格", "fee_yuan": -3})
    assert bad.status_code == 422
    assert {tuple(d["loc"]): d["msg"] for d in bad.json()["detail"]} == {("body", "fee_yuan"): "检测费用（元）不能为负数"}
    assert api.post(f"/api/v1/samples/{stored['id']}/results", json=["x"]).status_code == 422
    assert api.post("/api/v1/samples/nope/results", json={}).status_code == 404
    good = api.post(f"/api/v1/samples/{stored['id']}/results", json={"report_no": "JC-1", "report_on": "2021-12-30",
                                                                    "result": "不合格", "fee_yuan": 800})
    assert good.status_code == 201 and good.json()["result"] == "不合格"
    assert api.get("/api/v1/samples?status=nope").json()["detail"][0]["loc"] == ["query", "status"]
    assert [x["sample_no"] for x in api.get("/api/v1/samples?status=failed").json()["samples"]] == ["HD-0001"]
    assert len(api.get(f"/api/v1/samples/{stored['id']}").json()["history"]) == 1
    assert token_client("dave").post(f"/api/v1/samples/{stored['id']}/results", json={}).status_code == 403


def test_the_lab_sheet_is_previewed_then_imported(client_for, db, lab):
    stored = sample(db, "2021-12-01", "HD-0001", lab, site_id=site(db))
    carol = client_for("carol")
    content = ("\ufeff样品编号,检测报告编号,报告日期,检测结论,检测费用（元）\n"
               "HD-0001,JC-1,2022-01-05,不合格,1200\nHD-0404,JC-2,2022-01-05,合格,800\n").encode()
    preview = carol.post("/samples/import", data={"csrf_token": carol.csrf},
                         files={"file": ("lab.csv", content, "text/csv")})
    assert preview.status_code == 200 and "预览（尚未写入）" in preview.text and "没有样品编号为「HD-0404」" in preview.text
    assert samples.history(db, stored["id"]) == []
    upload = re.search(r'name="upload" value="([^"]+)"', preview.text)[1]
    done = carol.post_form("/samples/import/confirm", {"upload": upload, "filename": "lab.csv"})
    assert done.status_code == 200 and "已写入 1 行" in done.text
    assert samples.get_sample(db, stored["id"])["result"] == "不合格"
    followups = carol.get("/chief/followups").text
    assert "混凝土抽测不合格" in followups and "HD-0001" in followups and "尚未下发" in followups
    assert "供应搅拌站" in followups


def test_an_unreadable_sheet_is_refused_with_a_message(client_for, lab):
    carol = client_for("carol")
    refused = carol.post("/samples/import", data={"csrf_token": carol.csrf},
                         files={"file": ("lab.csv", "样品编号\nHD-1\n".encode(), "text/csv")})
    assert refused.status_code == 422 and "检测报告编号" in refused.text and "未导入" in refused.text


def test_an_entry_with_its_result_still_counts_as_before(client_for, db, users):
    s = site(db)
    old = event(db, "concrete_sampling", "2021-06-15", site_id=s, fields={"result": "合格", "fee_yuan": 1200})
    got = samples.get_sample(db, old["id"])
    assert (got["result"], got["report_on"], got["fee_yuan"]) == ("合格", "2021-06-15", 1200)
    assert samples.awaiting(db, NOW.date()) == []
