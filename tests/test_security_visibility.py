"""No reading across inspectors: a reused event id, photos and every list show another inspector's entry only
to whom events.can_see allows it (the chief, its recorder, its inspectors); docs/contracts.md "Who sees what"."""

from __future__ import annotations

import pytest

from fieldlog import events, photos
from fieldlog.db import scalar
from tests.factories import NOW, TZ, event, jpeg, site, submission, user

SECRET_NOTE = "鲍勃的现场备注：塔吊基础积水"   # what only bob (and the chief) may read
SECRET_FINDINGS = "鲍勃记录的违法事实"
BOB_AT = (27.0931, 112.9712)
TODAY = NOW.astimezone(TZ).date().isoformat()


@pytest.fixture
def bobs(db, cfg, users):
    """Bob's entries alone (alice takes no part): a patrol with a note, GPS and a photo; an open notice; today's
    leaflets. Plus one joint patrol of bob's with alice among its inspectors."""
    s = site(db, name="霞流镇卫生院综合楼")
    body = submission("enforcement_patrol", site_id=s, note=SECRET_NOTE, lat=BOB_AT[0], lon=BOB_AT[1],
                      fields={"finding": "一般", "findings_text": SECRET_FINDINGS, "order": "无"})
    patrol, _, _ = events.create(db, body, user=user(db, "bob"), now=NOW, tz=TZ)
    photo, _ = photos.ingest(db, cfg.media_dir, patrol["id"], jpeg(), users["bob"])
    notice = event(db, "safety_patrol", "2022-01-05T09:00:00+08:00", by="bob", site_id=s, note=SECRET_NOTE,
                   fields={"finding": "一般", "hazards_general": 1, "notice_no": "衡建安改〔2022〕3号",
                           "notice_deadline": "2022-01-31"})
    today = event(db, "leaflets", f"{TODAY}T09:00:00+08:00", by="bob", place="霞流镇集市", note=SECRET_NOTE,
                  fields={"copies": 50})
    joint = event(db, "safety_patrol", "2022-01-06T09:00:00+08:00", by="bob", site_id=s, note="联合巡查",
                  inspector_ids=[users["bob"], users["alice"]])
    joint_photo, _ = photos.ingest(db, cfg.media_dir, joint["id"], jpeg(colour=(0, 255, 0)), users["bob"])
    return {"site": s, "body": body, "patrol": patrol, "photo": photo, "notice": notice, "today": today,
            "joint": joint, "joint_photo": joint_photo}


# --- a reused id ----------------------------------------------------------------------------------------

def test_a_409_shows_the_stored_event_only_to_who_may_see_it(token_client, client_for, db, bobs):
    reused = {**submission("safety_patrol", site_id=bobs["site"]), "id": bobs["patrol"]["id"]}
    for who in ("bob", "carol"):  # the recorder and the chief get the stored event, as before
        response = token_client(who).post("/api/v1/events", json=reused)
        assert response.status_code == 409 and response.json()["stored"]["note"] == SECRET_NOTE
    response = token_client("alice").post("/api/v1/events", json=reused)
    assert response.status_code == 409
    assert response.json() == {"detail": "该记录编号已被另一条记录使用，请换一个编号重新提交"}
    assert SECRET_NOTE not in response.text and str(BOB_AT[0]) not in response.text
    assert scalar(db, "SELECT count(*) FROM events WHERE id = ?", [bobs["patrol"]["id"]]) == 1
    # The co-inspector of a joint patrol may see it, so gets it back.
    joint = {**submission("safety_patrol", site_id=bobs["site"]), "id": bobs["joint"]["id"]}
    assert token_client("alice").post("/api/v1/events", json=joint).json()["stored"]["note"] == "联合巡查"
    # The phone form's answer to a reused id never showed the stored event, and still does not.
    phone = client_for("alice")
    phone.get("/log/safety_patrol")
    page = phone.post_form("/log/safety_patrol", {"id": bobs["patrol"]["id"], "occurred_at": "2022-01-10T09:00",
                                                  "subject": f"site:{bobs['site']}", "finding": "无"})
    assert page.status_code == 422 and SECRET_NOTE not in page.text and SECRET_FINDINGS not in page.text


def test_resending_another_inspectors_exact_content_is_a_409_without_it(token_client, db, users, bobs):
    # Not a 200 with the (since edited) stored event: no oracle telling whether a guessed content matches.
    events.edit(db, bobs["patrol"]["id"], {"note": SECRET_NOTE + "（已整改）"}, user=user(db, "bob"), now=NOW, tz=TZ)
    exact = {**bobs["body"], "inspector_ids": [users["bob"]]}
    response = token_client("alice").post("/api/v1/events", json=exact)
    assert response.status_code == 409 and "stored" not in response.json() and SECRET_NOTE not in response.text
    again = token_client("bob").post("/api/v1/events", json=bobs["body"])  # bob's own resend is acknowledged as before
    assert again.status_code == 200 and again.json()["note"] == SECRET_NOTE + "（已整改）"


# --- photos ---------------------------------------------------------------------------------------------

def test_photos_are_served_only_to_who_may_see_their_event(client_for, bobs):
    for who, status in (("bob", 200), ("carol", 200), ("alice", 404), ("dave", 404)):
        client = client_for(who)
        for suffix in ("", "/thumb"):
            response = client.get(f"/media/photos/{bobs['photo']['id']}{suffix}")
            assert response.status_code == status, (who, suffix)
            if status == 404:  # the same answer as for a photo that does not exist
                missing = client.get(f"/media/photos/{'0' * 32}{suffix}")
                assert (response.status_code, response.text) == (missing.status_code, missing.text)
    # A co-inspector sees the photos of the joint patrol.
    assert client_for("alice").get(f"/media/photos/{bobs['joint_photo']['id']}").status_code == 200


# --- every list ----------------------------------------------------------------------------------------

def test_every_list_shows_alice_none_of_bobs_own_entries(client_for, token_client, db, users, bobs):
    alice, api = client_for("alice"), token_client("alice")
    own_ids = [bobs[k]["id"] for k in ("patrol", "notice", "today")]
    pages = {
        "events list (API)": api.get("/api/v1/events").json(),
        "events list, another inspector's filter (API)": api.get("/api/v1/events",
                                                                 params={"inspector_id": users["bob"]}).json(),
        "history (events/mine)": alice.get("/events/mine").text,
        "today's entries (/log)": alice.get("/log").text,
        "follow-ups (followups/mine)": alice.get("/followups/mine", params={"closed": "1"}).text,
    }
    for name, page in pages.items():
        text = str(page)
        assert not any(i in text for i in own_ids) and SECRET_NOTE not in text, name
        assert bobs["joint"]["id"] in text or name.startswith(("today", "follow")), name
    for i in own_ids:  # event detail and its history, the edit and void forms, in the API and the pages
        for path in (f"/api/v1/events/{i}", f"/events/{i}", f"/events/{i}/edit", f"/events/{i}/void", f"/log?saved={i}"):
            response = (api if path.startswith("/api") else alice).get(path)
            assert SECRET_NOTE not in response.text and (response.status_code == 403 or path.startswith("/log")), path
    assert alice.get(f"/media/photos/{bobs['photo']['id']}").status_code == 404

    # The documented exceptions (docs/contracts.md): any inspector may review any open notice, so the review
    # picker lists bob's notice, by site, number and deadline only; a survey may name any recent leaflets.
    picker = alice.get("/log/rectification_review").text
    assert bobs["notice"]["id"] in picker and "衡建安改〔2022〕3号" in picker and SECRET_NOTE not in picker
    assert [set(n) for n in events.open_notices(db, today=NOW.date())] == [
        {"id", "site_id", "site_name", "notice_no", "notice_deadline"}]
    survey = alice.get("/surveys/new").text
    assert bobs["today"]["id"] in survey and "霞流镇集市" in survey and SECRET_NOTE not in survey

    # The same lists show bob his own entries.
    bob = client_for("bob")
    assert bobs["today"]["id"] in bob.get("/log").text and bobs["patrol"]["id"] in bob.get("/events/mine").text
    assert "衡建安改〔2022〕3号" in bob.get("/followups/mine").text
    assert bob.get(f"/events/{bobs['patrol']['id']}").status_code == 200
