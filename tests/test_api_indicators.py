"""GET /api/v1/indicators: rows with levels, targets, actuals, met, source, points and score; 422 naming the field."""

from __future__ import annotations

import pytest

from fieldlog import accounts

from tests.factories import met_year


def test_every_row_with_its_figures_and_the_total(prebuilt, client_for):
    prebuilt(met_year)
    body = client_for("carol").get("/api/v1/indicators?year=2021&as_of=2021-12-31").json()
    assert body["year"] == 2021 and body["as_of"] == "2021-12-31" and len(body["rows"]) == 39
    row = body["rows"][3]
    assert {k: row[k] for k in ("key", "level1", "level2", "level3", "target_text", "target", "actual", "met",
                                "source")} == {
        "key": "safety_patrols", "level1": "产出指标", "level2": "数量指标", "level3": "安全日常巡查",
        "target_text": "500次", "target": {"comparator": ">=", "value": 500.0, "unit": "次"}, "actual": 600,
        "met": True, "source": "computed"}
    assert row["points"] == 1.47 and row["score"] == 1.47          # 分值 as shown (the 4th 产出 row: 1.47)
    staff = body["rows"][22]
    assert (staff["key"], staff["source"], staff["actual"]) == ("staff_costs", "manual", 360.5)
    assert staff["manual"]["source_document"] == "2021年部门决算报表"
    assert body["total"]["grade"] == "优" and body["total"]["score"] == 100
    assert body["budget"]["score"] == 10 and body["budget"]["rate"] == 100 and body["budget"]["rate_text"] == "100.00%"


def test_bearer_token_and_default_dates(db, users, client_for):
    token = accounts.create_token(db, "dave", "report")
    c = client_for(None)
    r = c.get("/api/v1/indicators?year=2021", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["as_of"] == "2021-12-31"   # a past year: its final figures


@pytest.mark.parametrize("query, field", [("year=21", "year"), ("year=abcd", "year"), ("year=2021&as_of=2021-02-30", "as_of"),
                                          ("year=2021&as_of=yesterday", "as_of")])
def test_bad_year_or_as_of_is_422_naming_the_field(db, users, client_for, query, field):
    r = client_for("carol").get(f"/api/v1/indicators?{query}")
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["detail"]] == [["query", field]]


@pytest.mark.parametrize("who, status", [(None, 401), ("alice", 403), ("dave", 200), ("carol", 200)])
def test_who_may_read(db, users, client_for, who, status):
    assert client_for(who).get("/api/v1/indicators?year=2021").status_code == status
