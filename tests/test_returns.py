"""退回补正: the chief returns an entry with a reason, its inspector corrects it (history kept) and sends it back,
the chief closes it or returns it again; nothing deleted, every step with its time and user; the roll-up counts
the entry as it stands; an inspector sees only returns of their own entries (docs/contracts.md "Who sees what")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fieldlog import events, returns
from fieldlog.db import scalar
from fieldlog.errors import Forbidden, InvalidInput
from fieldlog.indicators import rollup, tables
from tests.factories import NOW, TZ, event, site, user

REASON = "发放份数与签收单不符，请核对"


@pytest.fixture
def bobs_leaflets(db, users):
    """Bob's leaflets of 2021 (100 copies), alice takes no part."""
    return event(db, "leaflets", "2021-06-15", by="bob", fields={"copies": 100})


def _steps(db):
    return [tuple(r) for r in db.conn.execute("SELECT action, text, by_user, at, event_version FROM return_steps ORDER BY id")]


def test_return_correct_resubmit_close_keeps_every_step(db, users, bobs_leaflets):
    chief, bob = user(db, "carol"), user(db, "bob")
    eid = bobs_leaflets["id"]
    opened = returns.give_back(db, eid, user=chief, reason=REASON, now=NOW)
    assert opened["state"] == "returned" and opened["reason"] == REASON
    # The correction goes through the ordinary edit: its history is kept.
    later = NOW + timedelta(hours=2)
    events.edit(db, eid, {"fields": {"copies": 150}}, user=bob, now=later, tz=TZ, reason="按签收单更正")
    sent = returns.resubmit(db, eid, user=bob, note="已按签收单改为 150 份", now=later + timedelta(minutes=5))
    assert sent["state"] == "resubmitted"
    closed = returns.close(db, eid, user=chief, now=later + timedelta(hours=1))
    assert closed["state"] == "closed"
    assert [(a, t, by, v) for a, t, by, _, v in _steps(db)] == [
        ("returned", REASON, users["carol"], 1), ("resubmitted", "已按签收单改为 150 份", users["bob"], 2),
        ("closed", "", users["carol"], 2)]
    assert [s[3] for s in _steps(db)] == sorted(s[3] for s in _steps(db))  # each step has its own time
    assert scalar(db, "SELECT count(*) FROM event_revisions WHERE event_id = ?", [eid]) == 1
    assert events.load(db, eid)["fields"]["copies"] == 150
    # Closed: it may be returned once more, as a new return; the first stays as it was.
    returns.give_back(db, eid, user=chief, reason="再核对一次", now=later + timedelta(days=1))
    assert [r["state"] for r in returns.of_event(db, eid)] == ["returned", "closed"]


def test_returned_again_after_resubmission_on_the_same_thread(db, users, bobs_leaflets):
    chief, bob, eid = user(db, "carol"), user(db, "bob"), bobs_leaflets["id"]
    returns.give_back(db, eid, user=chief, reason=REASON, now=NOW)
    with pytest.raises(InvalidInput) as exc:  # already with the inspector
        returns.give_back(db, eid, user=chief, reason="又一次", now=NOW)
    assert exc.value.errors == {"event": "该记录已退回，正等待监督员补正"}
    returns.resubmit(db, eid, user=bob, now=NOW)
    again = returns.give_back(db, eid, user=chief, reason="照片未补", now=NOW + timedelta(hours=1))
    assert again["state"] == "returned" and again["reason"] == "照片未补"
    assert [s["action"] for s in again["steps"]] == ["returned", "resubmitted", "returned"]
    assert scalar(db, "SELECT count(*) FROM event_returns") == 1


@pytest.mark.parametrize("reason,message", [("", "请填写退回原因"), ("   ", "请填写退回原因"),
                                            ("字" * 2001, "不能超过 2000 个字")])
def test_a_bad_reason_is_refused_in_chinese_and_changes_nothing(db, users, bobs_leaflets, client_for, token_client,
                                                                 reason, message):
    eid = bobs_leaflets["id"]
    with pytest.raises(InvalidInput) as exc:
        returns.give_back(db, eid, user=user(db, "carol"), reason=reason, now=NOW)
    assert exc.value.errors == {"reason": message}
    carol = client_for("carol")
    page = carol.post_form(f"/events/{eid}/return", {"reason": reason})
    assert page.status_code == 422 and message in page.text and 'name="reason"' in page.text
    api = token_client("carol").post(f"/api/v1/events/{eid}/return", json={"reason": reason})
    assert api.status_code == 422 and api.json()["detail"][0]["loc"][-1] == "reason"
    assert api.json()["detail"][0]["msg"] == message
    assert scalar(db, "SELECT count(*) FROM event_returns") == 0 and scalar(db, "SELECT count(*) FROM return_steps") == 0


def test_voided_entries_are_not_returned(db, users):
    voided = event(db, "leaflets", "2021-06-15", by="bob", fields={"copies": 10}, voided=True)
    with pytest.raises(InvalidInput) as exc:
        returns.give_back(db, voided["id"], user=user(db, "carol"), reason=REASON, now=NOW)
    assert exc.value.errors == {"event": "已作废的记录不能退回"}


def test_who_may_take_each_step(db, users, bobs_leaflets, client_for, token_client):
    eid = bobs_leaflets["id"]
    for who in ("alice", "bob"):  # inspectors do not return entries
        with pytest.raises(Forbidden):
            returns.give_back(db, eid, user=user(db, who), reason=REASON, now=NOW)
        assert client_for(who).post_form(f"/events/{eid}/return", {"reason": REASON}).status_code == 403
        assert token_client(who).post(f"/api/v1/events/{eid}/return", json={"reason": REASON}).status_code == 403
    returns.give_back(db, eid, user=user(db, "carol"), reason=REASON, now=NOW)
    with pytest.raises(Forbidden):  # alice took no part in bob's entry
        returns.resubmit(db, eid, user=user(db, "alice"), now=NOW)
    assert client_for("alice").post_form(f"/events/{eid}/resubmit", {}).status_code == 403
    assert token_client("alice").post(f"/api/v1/events/{eid}/resubmit", json={}).status_code == 403
    with pytest.raises(Forbidden):  # the chief returns and closes; the inspectors send back
        returns.resubmit(db, eid, user=user(db, "carol"), now=NOW)
    assert token_client("bob").post(f"/api/v1/events/{eid}/return/close", json={}).status_code == 403
    assert client_for("dave").post_form(f"/events/{eid}/return", {"reason": REASON}).status_code == 403
    assert [s[0] for s in _steps(db)] == ["returned"]


def test_the_whole_loop_through_the_pages(db, users, bobs_leaflets, client_for):
    eid = bobs_leaflets["id"]
    carol, bob = client_for("carol"), client_for("bob")
    assert "退回原因" in carol.get(f"/events/{eid}").text  # the form on the entry's page
    response = carol.post_form(f"/events/{eid}/return", {"reason": REASON}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/events/{eid}#returns"
    home = bob.get("/log").text
    assert REASON in home and f'href="/events/{eid}/edit"' in home  # the inspector's home shows it
    detail = bob.get(f"/events/{eid}").text
    assert "站长退回补正" in detail and REASON in detail and "补正完毕，重新提交" in detail
    bob.get(f"/events/{eid}/edit")
    edit = bob.post_form(f"/events/{eid}/edit", {"occurred_at": "2021-06-15T10:00", "place": bobs_leaflets["place"],
                                                "inspector_ids": str(users["bob"]), "copies": "150", "reason": "更正"},
                         follow_redirects=False)
    assert edit.status_code == 303, edit.text
    assert bob.post_form(f"/events/{eid}/resubmit", {"note": "已更正"}, follow_redirects=False).status_code == 303
    assert REASON not in bob.get("/log").text  # nothing left to do for bob
    listing = carol.get("/chief/returns").text
    assert "已补正待确认" in listing and f"/events/{eid}#returns" in listing and "待确认 <b>1</b>" in listing
    closed = carol.post_form(f"/events/{eid}/return/close", {"next": "/chief/returns"}, follow_redirects=False)
    assert closed.headers["location"] == "/chief/returns"
    assert "已关闭 <b>1</b>" in carol.get("/chief/returns").text and "没有未关闭的退回" in carol.get("/chief/returns").text
    history = carol.get(f"/events/{eid}").text
    assert "退回补正" in history and "补正后重新提交" in history and "确认关闭" in history and "已更正" in history


def test_the_roll_up_counts_the_corrected_entry(db, users, bobs_leaflets):
    table = tables.table_for_year(db, 2021)

    def copies():
        return {r.key: r for r in rollup.compute(db, table, date(2021, 12, 31), TZ)}["leaflets"].actual

    assert copies() == 100
    eid = bobs_leaflets["id"]
    returns.give_back(db, eid, user=user(db, "carol"), reason=REASON, now=NOW)
    assert copies() == 100  # a return alone changes no figure
    events.edit(db, eid, {"fields": {"copies": 150}}, user=user(db, "bob"), now=NOW, tz=TZ)
    returns.resubmit(db, eid, user=user(db, "bob"), now=NOW)
    assert copies() == 150


def test_an_inspector_sees_only_returns_of_their_own_entries(db, users, bobs_leaflets, client_for, token_client):
    s = site(db)
    joint = event(db, "safety_patrol", "2021-06-16", by="bob", site_id=s, inspector_ids=[users["bob"], users["alice"]])
    chief = user(db, "carol")
    returns.give_back(db, bobs_leaflets["id"], user=chief, reason=REASON, now=NOW)
    returns.give_back(db, joint["id"], user=chief, reason="联合巡查照片缺失", now=NOW)
    seen = {who: {r["event_id"] for r in token_client(who).get("/api/v1/returns").json()["items"]}
            for who in ("alice", "bob", "carol")}
    assert seen == {"alice": {joint["id"]}, "bob": {bobs_leaflets["id"], joint["id"]},
                    "carol": {bobs_leaflets["id"], joint["id"]}}
    assert token_client("alice").get("/api/v1/returns").json()["counts"] == {"returned": 1, "resubmitted": 0, "closed": 0}
    assert token_client("alice").get(f"/api/v1/events/{bobs_leaflets['id']}/returns").status_code == 403
    alice_home = client_for("alice").get("/log").text
    assert "联合巡查照片缺失" in alice_home and REASON not in alice_home
    assert client_for("alice").get("/chief/returns").status_code == 403
    assert token_client("alice").get("/api/v1/returns?state=nonsense").status_code == 422
