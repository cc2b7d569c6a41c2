"""Who logged it: an inspector's entry names the inspector, on create and on an edit that changes who took part;
only the chief logs for others (docs/contracts.md, "The inspectors rule")."""

from __future__ import annotations

import pytest

from fieldlog import events
from fieldlog.db import scalar
from fieldlog.errors import InvalidInput
from tests.factories import NOW, TZ, event, site, submission, user
from tests.test_log_pages import form_defaults

WITHOUT_SELF = "监督员中须包括您本人；为其他监督员登记请由站长录入"


@pytest.fixture
def s(db, users):
    return site(db)


# --- create -----------------------------------------------------------------------------------------

def test_an_inspector_cannot_log_an_entry_for_others_only(token_client, db, users, s):
    alice = token_client("alice")
    refused = alice.post("/api/v1/events", json=submission("safety_patrol", site_id=s, inspector_ids=[users["bob"]]))
    assert refused.status_code == 422
    assert refused.json()["detail"] == [{"loc": ["body", "inspector_ids"], "msg": WITHOUT_SELF, "type": "value_error"}]
    assert scalar(db, "SELECT count(*) FROM events") == 0
    # With herself among them (a joint patrol), or left out (the default: herself), it is stored.
    joint = alice.post("/api/v1/events", json=submission("safety_patrol", site_id=s,
                                                          inspector_ids=[users["bob"], users["alice"]]))
    assert joint.status_code == 201 and joint.json()["inspector_ids"] == sorted([users["alice"], users["bob"]])
    mine = alice.post("/api/v1/events", json=submission("safety_patrol", site_id=s))
    assert mine.status_code == 201 and mine.json()["inspector_ids"] == [users["alice"]]
    # The chief logs on behalf of anyone, without being among them.
    for_them = token_client("carol").post("/api/v1/events", json=submission("safety_patrol", site_id=s,
                                                                       inspector_ids=[users["alice"], users["bob"]]))
    assert for_them.status_code == 201 and for_them.json()["recorded_by"] == users["carol"]


def test_the_rule_is_reported_with_the_other_messages_at_once(db, users, s):
    body = submission("leaflets", place="城关镇集市", inspector_ids=[users["bob"]], fields={"copies": -1})
    with pytest.raises(InvalidInput) as caught:
        events.create(db, body, user=user(db, "alice"), now=NOW, tz=TZ)
    assert caught.value.errors == {"inspector_ids": WITHOUT_SELF, "fields.copies": "发放份数须大于 0"}


def test_an_entry_acknowledged_before_the_rule_is_still_acknowledged(token_client, db, users, s):
    # Stored for bob alone by alice before the rule held (made here through the chief, then re-attributed).
    body = submission("safety_patrol", site_id=s, inspector_ids=[users["bob"]])
    stored, _, _ = events.create(db, body, user=user(db, "carol"), now=NOW, tz=TZ)
    db.execute("UPDATE events SET recorded_by = ? WHERE id = ?", [users["alice"], stored["id"]])
    assert token_client("alice").post("/api/v1/events", json=body).status_code == 200  # a resend, not a new entry
    refused = token_client("alice").post("/api/v1/events", json={**body, "id": "6f1c1f0e-8a43-4d6c-9f1e-1d2b3c4d5e6f"})
    assert refused.status_code == 422


def test_the_phone_form_defaults_to_me_and_refuses_unticking_me(client_for, db, users, s):
    client = client_for("alice")
    page = client.get("/log/safety_patrol").text
    assert f'name="inspector_ids" value="{users["alice"]}" checked' in page
    values = form_defaults(page)
    refused = client.post_form("/log/safety_patrol", {**values, "subject": f"site:{s}", "finding": "无",
                                                      "inspector_ids": [str(users["bob"])]})
    assert refused.status_code == 422 and WITHOUT_SELF in refused.text
    assert f'name="inspector_ids" value="{users["bob"]}" checked' in refused.text  # her choice is kept to correct
    assert scalar(db, "SELECT count(*) FROM events") == 0
    for ticked in ([str(users["alice"])], [str(users["alice"]), str(users["bob"])], []):
        values = form_defaults(client.get("/log/safety_patrol").text)
        saved = client.post_form("/log/safety_patrol", {**values, "subject": f"site:{s}", "finding": "无",
                                                        "inspector_ids": ticked}, follow_redirects=False)
        assert saved.status_code == 303, ticked
        assert users["alice"] in events.load(db, values["id"])["inspector_ids"]


# --- edit -------------------------------------------------------------------------------------------

def test_an_inspector_cannot_edit_themselves_out_of_an_entry(token_client, db, users, s):
    alice, bob = token_client("alice"), token_client("bob")
    own = event(db, "safety_patrol", by="alice", site_id=s)
    joint = event(db, "safety_patrol", by="alice", site_id=s, inspector_ids=[users["alice"], users["bob"]])
    # The recorder cannot hand her entry to bob; bob cannot take himself off alice's joint patrol.
    for client, target, ids in ((alice, own, [users["bob"]]), (bob, joint, [users["alice"]]),
                                (alice, joint, [users["bob"]])):
        response = client.patch(f"/api/v1/events/{target['id']}", json={"inspector_ids": ids, "reason": "改"})
        assert response.status_code == 422
        assert response.json()["detail"] == [{"loc": ["body", "inspector_ids"], "msg": WITHOUT_SELF,
                                              "type": "value_error"}]
    assert events.load(db, joint["id"])["inspector_ids"] == sorted([users["alice"], users["bob"]])
    assert scalar(db, "SELECT count(*) FROM event_revisions") == 0
    # Allowed: adding a colleague, taking off one who was not there, and the chief's any change.
    assert alice.patch(f"/api/v1/events/{own['id']}", json={
        "inspector_ids": [users["alice"], users["bob"]]}).json()["inspector_ids"] == sorted([users["alice"], users["bob"]])
    assert alice.patch(f"/api/v1/events/{joint['id']}", json={"inspector_ids": [users["alice"]]}).status_code == 200
    assert token_client("carol").patch(f"/api/v1/events/{own['id']}", json={
        "inspector_ids": [users["bob"]]}).json()["inspector_ids"] == [users["bob"]]


def test_an_edit_that_leaves_the_inspectors_alone_passes_on_an_older_entry(db, users, s):
    # An entry for bob alone that alice recorded before the rule: she may still correct its note.
    stored = event(db, "safety_patrol", by="carol", site_id=s, inspector_ids=[users["bob"]])
    db.execute("UPDATE events SET recorded_by = ? WHERE id = ?", [users["alice"], stored["id"]])
    edited = events.edit(db, stored["id"], {"note": "补充"}, user=user(db, "alice"), now=NOW, tz=TZ)
    assert edited["note"] == "补充" and edited["inspector_ids"] == [users["bob"]]
    with pytest.raises(InvalidInput) as caught:  # but not give it to yet another inspector without her
        events.edit(db, stored["id"], {"inspector_ids": [users["bob"], users["carol"]]}, user=user(db, "alice"),
                    now=NOW, tz=TZ)
    assert caught.value.errors == {"inspector_ids": WITHOUT_SELF}


def test_the_edit_form_refuses_unticking_me(client_for, db, users, s):
    stored = event(db, "leaflets", by="alice", site_id=s)
    client = client_for("alice")
    data = {"occurred_at": "2021-06-15T10:30", "site_id": s, "copies": "120", "topic": "", "note": "",
            "reason": "改监督员", "inspector_ids": [users["bob"]]}
    refused = client.post_form(f"/events/{stored['id']}/edit", data)
    assert refused.status_code == 422 and WITHOUT_SELF in refused.text
    assert events.load(db, stored["id"])["inspector_ids"] == [users["alice"]]
    data["inspector_ids"] = [users["alice"], users["bob"]]
    assert client.post_form(f"/events/{stored['id']}/edit", data, follow_redirects=False).status_code == 303
    assert events.load(db, stored["id"])["inspector_ids"] == sorted([users["alice"], users["bob"]])
