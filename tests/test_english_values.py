"""English stored values with Chinese labels: the enforcement order (migration 009), coverage states, notice statuses.

Phones still hold submissions queued (or acknowledged) with the Chinese order 整改, API clients send it,
and databases hold events stored before 009: each must keep working exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timezone

import pytest

from fieldlog import coverage, db as db_mod, events, followups
from fieldlog.db import scalar
from fieldlog.messages import LABELS, label
from tests import factories
from tests.factories import EXAMPLE, SITE_AT, TZ, user

NOW = datetime(2021, 6, 15, 4, 0, tzinfo=timezone.utc)  # 12:00 in the station: when these events reach the server


def site(db, name: str = "城关镇安置小区") -> int:
    """A site under construction since March 2020, with a recorded location."""
    return factories.site(db, name=name, location=SITE_AT, started_on="2020-03-01")


def body(kind: str, *, site: int | None = None, fields: dict | None = None) -> dict:
    """A submission of `kind` at `site` with every field filled (EXAMPLE; `fields` override)."""
    return factories.submission(kind, site_id=site, fields={**EXAMPLE[kind], **(fields or {})})



OLD_ORDERS = {"none": "无", "rectify": "整改", "stop_work": "停工整改"}  # what was stored before 009


def _patrol(site_id: int, order: str, **fields) -> dict:
    """An enforcement patrol submission with this order (a notice number and deadline unless 无/none)."""
    extra = {} if order in ("无", "none") else {"notice_no": "衡建执改〔2021〕001号", "notice_deadline": "2021-06-25"}
    return body("enforcement_patrol", site=site_id, fields={"order": order, **extra, **fields})


def _old_hash(db, raw: dict, user_id: int) -> str:
    """content_hash as the code before 009 computed it: over the normalized submission, the order in Chinese."""
    sub = events.clean(raw, now=NOW, tz=TZ)
    content = {k: sub[k] for k in ("kind", "occurred_at", "site_id", "plant_id", "campaign", "place", "lat", "lon",
                                   "accuracy_m", "note", "fields")}
    content["fields"] = {**content["fields"], "order": OLD_ORDERS[content["fields"]["order"]]}
    content["inspector_ids"] = sub["inspector_ids"] or [user_id]
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _store_the_old_way(db, raw: dict, user_id: int) -> None:
    """Turn a just-stored event into what the code before 009 stored: a Chinese order, hashed as such."""
    order = OLD_ORDERS[events.load(db, raw["id"])["fields"]["order"]]
    db.execute("UPDATE events SET data = json_set(data, '$.order', ?), content_hash = ? WHERE id = ?",
               [order, _old_hash(db, raw, user_id), raw["id"]])


def _rerun_009(db) -> list[str]:
    """Apply migration 009 again through the real runner, as an upgrade of an older database would."""
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '009_english_orders'")
    return db_mod.migrate(db)


# --- the order field -----------------------------------------------------------------------------

def test_the_order_is_an_english_value_with_chinese_labels():
    spec = events.field_spec("enforcement_patrol", "order")
    assert spec["choices"] == ["none", "rectify", "stop_work"] and spec["default"] == "none"
    assert [o["label"] for o in spec["options"]] == ["无", "整改", "停工整改"]
    assert LABELS["order"] == {"none": "无", "rectify": "整改", "stop_work": "停工整改"}
    notice_no = events.field_spec("enforcement_patrol", "notice_no")
    assert notice_no["required_unless"] == ["order", "none"]
    # Data choices keep their Chinese value, which is their own label.
    finding = events.field_spec("enforcement_patrol", "finding")
    assert finding["choices"] == ["无", "一般", "重大"] and [o["label"] for o in finding["options"]] == finding["choices"]


@pytest.mark.parametrize("given, stored", [("整改", "rectify"), ("rectify", "rectify"), ("停工整改", "stop_work"),
                                           ("stop_work", "stop_work"), (" 无 ", "none"), ("none", "none")])
def test_input_takes_the_value_or_its_label(db, users, given, stored):
    s = site(db)
    event, created, _ = events.create(db, _patrol(s, given), user=user(db, "alice"), now=NOW, tz=TZ)
    assert created and event["fields"]["order"] == stored
    assert json.loads(scalar(db, "SELECT data FROM events WHERE id = ?", [event["id"]]))["order"] == stored


def test_a_wrong_order_is_refused_naming_the_labels(token_client, db, users):
    raw = _patrol(site(db), "罚款")
    answer = token_client("alice").post("/api/v1/events", json=raw)
    assert answer.status_code == 422
    assert {"loc": ["body", "fields", "order"], "msg": "处理措施须为 无、整改、停工整改 之一", "type": "value_error"} \
        in answer.json()["detail"]
    missing = token_client("alice").post("/api/v1/events", json=_patrol(site(db), "rectify", notice_no=""))
    assert any(d["msg"] == "处理措施为“整改”时须填写整改通知书编号" for d in missing.json()["detail"])


def test_an_omitted_order_defaults_to_none(db, users):
    raw = _patrol(site(db), "none")
    del raw["fields"]["order"]
    event, _, _ = events.create(db, raw, user=user(db, "alice"), now=NOW, tz=TZ)
    assert event["fields"]["order"] == "none" and events.order_of("enforcement_patrol", event["fields"]) is None


def test_content_hash_hashes_a_choice_by_its_label(db, users):
    s, alice = site(db), user(db, "alice")
    english, chinese = _patrol(s, "rectify"), _patrol(s, "整改")
    chinese["id"] = english["id"]
    by_value = events.content_hash(events.clean(english, now=NOW, tz=TZ), [alice["id"]])
    by_label = events.content_hash(events.clean(chinese, now=NOW, tz=TZ), [alice["id"]])
    assert by_value == by_label == _old_hash(db, english, alice["id"])


# --- resending what was acknowledged before the change --------------------------------------------

@pytest.mark.parametrize("resent_order", ["整改", "rectify"])
def test_a_resend_acknowledged_before_009_still_gets_200(token_client, db, users, resent_order):
    """A phone queued 整改, was acknowledged, and resends after the upgrade: 200 with the stored event, never 409."""
    client, alice = token_client("alice"), user(db, "alice")
    raw = _patrol(site(db), "整改")
    assert client.post("/api/v1/events", json=raw).status_code == 201
    _store_the_old_way(db, raw, alice["id"])
    stored_hash = scalar(db, "SELECT content_hash FROM events WHERE id = ?", [raw["id"]])
    assert json.loads(scalar(db, "SELECT data FROM events WHERE id = ?", [raw["id"]]))["order"] == "整改"

    # Before the migration has run (the old row as it is) and after it.
    resent = {**raw, "fields": {**raw["fields"], "order": resent_order}}
    before = client.post("/api/v1/events", json=resent)
    assert before.status_code == 200, before.text
    assert _rerun_009(db) == ["009_english_orders"]
    after = client.post("/api/v1/events", json=resent)
    assert after.status_code == 200, after.text
    assert after.json()["id"] == raw["id"] and after.json()["fields"]["order"] == "rectify"
    assert scalar(db, "SELECT content_hash FROM events WHERE id = ?", [raw["id"]]) == stored_hash
    # Other content under the same id is still a conflict.
    other = client.post("/api/v1/events", json={**raw, "fields": {**raw["fields"], "order": "停工整改"}})
    assert other.status_code == 409
    assert scalar(db, "SELECT count(*) FROM events") == 1


# --- migration 009 -------------------------------------------------------------------------------

def _tallies(db) -> list[tuple]:
    return db.conn.execute("SELECT * FROM event_tallies ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9").fetchall()


def test_migration_009_rewrites_stored_orders_and_history_and_keeps_the_tallies(db, users):
    s, alice, now = site(db), user(db, "alice"), NOW
    raws = {order: _patrol(s, order) for order in ("none", "rectify", "stop_work")}
    for raw in raws.values():
        events.create(db, raw, user=alice, now=now, tz=TZ)
    edited = raws["rectify"]["id"]
    events.edit(db, edited, {"fields": {"order": "stop_work"}}, user=alice, now=now, tz=TZ, reason="措施记错")
    events.void(db, raws["none"]["id"], user=alice, reason="重复", now=now)
    other = events.create(db, body("safety_patrol", site=s), user=alice, now=now, tz=TZ)[0]
    # Back to the state of a database written before 009: Chinese orders in events and in the history.
    for order in ("none", "stop_work"):
        _store_the_old_way(db, raws[order], alice["id"])
    db.execute("UPDATE events SET data = json_set(data, '$.order', '停工整改') WHERE id = ?", [edited])
    db.execute("UPDATE event_revisions SET before = json_set(before, '$.fields.order', '整改') WHERE event_id = ?", [edited])
    rows_before = {r["id"]: r for r in db.query("SELECT id, content_hash, version, updated_at, data FROM events")}
    tallies_before = _tallies(db)

    assert _rerun_009(db) == ["009_english_orders"]

    rows = {r["id"]: r for r in db.query("SELECT id, content_hash, version, updated_at, data FROM events")}
    orders = {i: json.loads(r["data"]).get("order") for i, r in rows.items()}
    assert orders == {raws["none"]["id"]: "none", edited: "stop_work", raws["stop_work"]["id"]: "stop_work",
                      other["id"]: None}
    for i, row in rows.items():
        assert (row["content_hash"], row["version"], row["updated_at"]) == \
            (rows_before[i]["content_hash"], rows_before[i]["version"], rows_before[i]["updated_at"])
        after = json.loads(row["data"])
        assert {k: v for k, v in after.items() if k != "order"} == \
            {k: v for k, v in json.loads(rows_before[i]["data"]).items() if k != "order"}
    assert rows[other["id"]]["data"] == rows_before[other["id"]]["data"]  # other kinds untouched
    before = [json.loads(r["before"]) for r in db.query("SELECT before FROM event_revisions WHERE event_id = ?", [edited])]
    assert [b["fields"]["order"] for b in before] == ["rectify"]
    assert _tallies(db) == tallies_before and tallies_before
    # Applying it to an up-to-date database changes nothing.
    assert _rerun_009(db) == ["009_english_orders"]
    assert {r["id"]: r["data"] for r in db.query("SELECT id, data FROM events")} == {i: r["data"] for i, r in rows.items()}


# --- what people read ----------------------------------------------------------------------------

def _old_event(db, s: int, order: str, by: dict) -> str:
    """An enforcement patrol as stored before 009 (its order the Chinese label)."""
    raw = _patrol(s, order)
    events.create(db, raw, user=by, now=NOW, tz=TZ)
    _store_the_old_way(db, raw, by["id"])
    return raw["id"]


def test_displays_show_the_label_of_old_and_new_values(client_for, db, users):
    s, alice = site(db, name="滨江花园"), user(db, "alice")
    old = _old_event(db, s, "stop_work", alice)
    new = events.create(db, _patrol(s, "rectify"), user=alice, now=NOW, tz=TZ)[0]["id"]
    events.edit(db, new, {"fields": {"order": "stop_work"}}, user=alice, now=NOW, tz=TZ, reason="措施记错")
    chief = client_for("carol")

    old_page = chief.get(f"/events/{old}").text
    assert re.search(r"<dt>处理措施</dt>\s*<dd>停工整改</dd>", old_page)
    new_page = chief.get(f"/events/{new}").text
    assert re.search(r"<dt>处理措施</dt>\s*<dd>停工整改</dd>", new_page)
    assert ('<td class="card-title">处理措施</td><td class="fig" data-label="原值">整改</td>'
            '<td class="fig" data-label="新值">停工整改</td>') in new_page
    assert "stop_work" not in old_page.replace(f"/events/{old}", "") and ">rectify<" not in new_page

    timeline = {e["id"]: dict(e["fields"]) for e in coverage.timeline(db, site_id=s)}
    assert timeline[old]["处理措施"] == "停工整改" and timeline[new]["处理措施"] == "停工整改"
    assert chief.get(f"/chief/sites/{s}").text.count("<dt>处理措施</dt><dd>停工整改</dd>") == 2

    items = followups.notices(db, date(2021, 6, 30), include_closed=True)
    assert {n.event_id: n.order for n in items} == {old: followups.STOP_WORK, new: followups.STOP_WORK}
    page = chief.get("/chief/followups").text
    assert page.count("停工整改 衡建执改〔2021〕001号") == 2 and "stop_work" not in page


def test_forms_post_the_value_and_show_the_label(client_for, db, users):
    s, alice = site(db), user(db, "alice")
    phone = client_for("alice")
    form = phone.get("/log/enforcement_patrol").text
    for value, text in OLD_ORDERS.items():
        assert f'<input type="radio" name="order" value="{value}" data-field' in form and f"<span>{text}</span>" in form
    assert re.search(r'value="none" data-field checked', form)

    old = _old_event(db, s, "rectify", alice)
    edit = phone.get(f"/events/{old}/edit").text
    assert re.search(r'value="rectify" data-field checked', edit)  # the logging form's renderer
    # Saving the form unchanged is no correction: 整改 stored and rectify posted are the same order.
    fields = {f["name"]: str(v) for f in events.KINDS["enforcement_patrol"]["fields"]
              if (v := events.load(db, old)["fields"].get(f["name"])) is not None}
    answer = phone.post_form(f"/events/{old}/edit", {
        "occurred_at": "2021-06-15T10:30", "site_id": str(s), "inspector_ids": str(alice["id"]), "note": "",
        **fields, "order": "rectify"}, follow_redirects=False)
    assert answer.status_code == 303
    assert events.load(db, old)["version"] == 1 and scalar(db, "SELECT count(*) FROM event_revisions") == 0


# --- coverage states and notice statuses ----------------------------------------------------------

def test_states_and_statuses_are_english_values_with_labels():
    assert coverage.STATES == ("overdue", "due_soon", "open", "done")
    assert [label("coverage_state", s) for s in coverage.STATES] == ["逾期", "临期", "待巡查", "已完成"]
    assert list(followups.RANK) == ["overdue", "due_soon", "pending", "closed"]
    assert [label("followup_status", s) for s in followups.RANK] == ["逾期", "临期", "未到期", "已销号"]
    assert (followups.NOTICE, followups.STOP_WORK) == ("notice", "stop_work")
    assert [label("notice_order", o) for o in (followups.NOTICE, followups.STOP_WORK)] == ["整改通知书", "停工整改"]
    assert coverage.parse_state("due_soon") == coverage.DUE_SOON


def test_the_coverage_api_keeps_chinese_states_and_english_keys(client_for, db, users):
    s = site(db, name="城关镇安置小区")
    body_ = client_for("carol").get("/api/v1/coverage?month=2021-03").json()
    row = next(r for r in body_["sites"] if r["id"] == s)
    assert (row["state"], row["state_key"]) == ("逾期", "overdue")
    rows = coverage.site_coverage(db, coverage.month_or_current("2021-03", date(2021, 6, 15)), date(2021, 6, 15))
    assert coverage.tally(rows)["overdue"] == len(rows)
    assert coverage.summary(rows) == {"逾期": len(rows), "临期": 0, "待巡查": 0, "已完成": 0}
    page = client_for("carol").get("/chief/coverage?month=2021-03&state=overdue").text
    assert 'class="st-overdue chosen"' in page and "只看“逾期”" in page and '<option value="overdue" selected>逾期</option>' in page
