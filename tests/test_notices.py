"""Notices as documents (issue 14): numbering, the two-inspector rule, items and criteria, the state machine.

Everything goes through events.create / events.void on a real migrated database, time passed in.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timedelta

import pytest

from fieldlog import db as db_mod, events, followups, hazards, notices
from fieldlog.errors import InvalidInput
from tests import factories
from tests.factories import TZ

ISSUED_AT = "2021-06-15T10:30:00+08:00"
NOW = datetime(2021, 6, 15, 12, 0, tzinfo=TZ)


def notice_body(site_id: int, inspectors: list[int], *, notice_type: str = "rectify", occurred_at: str = ISSUED_AT,
                deadline: str | None = "2021-06-25", items: list | None = None, **fields) -> dict:
    """A notice as the notice form (or an API client) sends it."""
    body_fields = {"notice_type": notice_type, "legal_basis": "依据《建设工程安全生产管理条例》第四十三条",
                   "items": items if items is not None else [
                       {"description": "二层临边防护栏杆缺失", "location": "2号楼二层", "criterion": "JGJ 59-2011 第3.13节"},
                       {"description": "深基坑未进行第三方监测", "location": "基坑北侧", "major": True, "criterion_id": "5.3"}],
                   **fields}
    if deadline:
        body_fields["deadline"] = deadline
    return {"id": str(uuid.uuid4()), "kind": "notice", "occurred_at": occurred_at, "site_id": site_id,
            "inspector_ids": inspectors, "fields": body_fields}


def step_body(notice: dict, step: str, inspectors: list[int], occurred_at: str = "2021-06-20T09:00:00+08:00",
              **fields) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "notice_step", "occurred_at": occurred_at, "site_id": notice["site_id"],
            "inspector_ids": inspectors, "fields": {"notice_event_id": notice["id"], "step": step, **fields}}


def issue(db, users, site_id, by="alice", now=NOW, **kw) -> dict:
    body = notice_body(site_id, [users["alice"], users["bob"]], **kw)
    stored, created, _ = events.create(db, body, user=factories.user(db, by), now=now, tz=TZ)
    assert created
    return stored


def add_step(db, users, notice, step, by="alice", inspectors=None, now=datetime(2021, 6, 30, tzinfo=TZ), **kw):
    body = step_body(notice, step, inspectors or [users["alice"], users["bob"]], **kw)
    return events.create(db, body, user=factories.user(db, by), now=now, tz=TZ)[0]


@pytest.fixture
def site_id(db):
    return factories.site(db, name="衡东县城关镇锦绣花园二期")


# --- numbering ------------------------------------------------------------------------------------

def test_numbers_follow_the_pattern_one_sequence_a_year(db, users, site_id):
    first = issue(db, users, site_id)
    second = issue(db, users, site_id, notice_type="stop_work")
    next_year = issue(db, users, site_id, occurred_at="2022-01-05T09:00:00+08:00", deadline="2022-01-15",
                      now=datetime(2022, 1, 5, 12, tzinfo=TZ))
    assert notices.doc(db, first["id"])["number"] == "衡建质安〔2021〕整字第001号"
    assert notices.doc(db, second["id"])["number"] == "衡建质安〔2021〕停字第002号"
    assert notices.doc(db, next_year["id"])["number"] == "衡建质安〔2022〕整字第001号"


def test_a_voided_notice_keeps_its_number_and_it_is_not_given_again(db, users, site_id):
    first = issue(db, users, site_id)
    events.void(db, first["id"], user=factories.user(db, "alice"), reason="录入错误", now=NOW)
    second = issue(db, users, site_id)
    assert notices.doc(db, first["id"])["voided"] == 1
    assert notices.doc(db, second["id"])["seq"] == 2


def test_a_resend_of_a_queued_notice_keeps_its_one_number(db, users, site_id):
    body = notice_body(site_id, [users["alice"], users["bob"]])
    alice = factories.user(db, "alice")
    _, created, _ = events.create(db, body, user=alice, now=NOW, tz=TZ)
    again, created_again, _ = events.create(db, body, user=alice, now=NOW + timedelta(hours=3), tz=TZ)
    assert created and not created_again
    assert db_mod.scalar(db, "SELECT count(*) FROM notice_docs") == 1


def test_numbers_stay_unique_when_phones_send_at_once(db, cfg, users, site_id):
    """Eight phones coming back online at the same moment, each with notices queued offline: every notice gets
    its own number, 1…N without a gap, whatever order the writes take."""
    bodies = [notice_body(site_id, [users["alice"], users["bob"]]) for _ in range(24)]
    errors = []

    def send(chunk):
        conn = db_mod.connect(cfg.database)
        try:
            for body in chunk:
                events.create(conn, body, user=factories.user(conn, "bob"), now=NOW, tz=TZ)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=send, args=(bodies[i::8],)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    seqs = sorted(r[0] for r in db.conn.execute("SELECT seq FROM notice_docs"))
    assert seqs == list(range(1, 25))
    assert db_mod.scalar(db, "SELECT count(DISTINCT number) FROM notice_docs") == 24


def test_a_pattern_without_a_sequence_is_refused_in_chinese():
    assert "序号" in notices.pattern_problem("衡建质安〔{year}〕整字号")
    assert "无法使用" in notices.pattern_problem("衡建〔{yr}〕第{seq}号")
    with pytest.raises(ValueError, match="序号"):
        notices.configure("no sequence")


def test_a_station_pattern_is_used(db, users, site_id):
    notices.configure("衡东质安〔{year}〕第{seq:04d}号")
    try:
        n = issue(db, users, site_id)
        assert notices.doc(db, n["id"])["number"] == "衡东质安〔2021〕第0001号"
    finally:
        notices.configure(None)


# --- the rules of a notice ------------------------------------------------------------------------

def test_an_enforcement_notice_needs_two_inspectors(db, users, site_id):
    body = notice_body(site_id, [users["alice"]])
    with pytest.raises(InvalidInput) as exc:
        events.create(db, body, user=factories.user(db, "alice"), now=NOW, tz=TZ)
    assert "至少 2 名监督员" in exc.value.errors["inspector_ids"]
    assert db_mod.scalar(db, "SELECT count(*) FROM notice_docs") == 0
    assert db_mod.scalar(db, "SELECT count(*) FROM events") == 0


def test_a_major_item_names_a_criterion_of_the_standard(db, users, site_id):
    body = notice_body(site_id, [users["alice"], users["bob"]], items=[{"description": "塔吊未验收", "major": True}])
    with pytest.raises(InvalidInput) as exc:
        events.create(db, body, user=factories.user(db, "alice"), now=NOW, tz=TZ)
    assert exc.value.errors["fields.items"] == "第1项是重大事故隐患：请从判定标准中选择所依据的条款"
    body["fields"]["items"][0]["criterion_id"] = "99.9"
    with pytest.raises(InvalidInput) as exc:
        events.create(db, body, user=factories.user(db, "alice"), now=NOW, tz=TZ)
    assert "没有条款“99.9”" in exc.value.errors["fields.items"]


def test_items_keep_the_criterion_as_issued(db, users, site_id):
    n = issue(db, users, site_id)
    items = n["fields"]["items"]
    assert items[1]["criterion_ref"] == "第五条第（三）项" and items[1]["criterion"] == "深基坑施工未进行第三方监测"
    assert items[0]["major"] is False and items[0]["criterion_id"] is None
    d = notices.doc(db, n["id"])
    assert (d["items"], d["major"], d["state"], d["open"]) == (2, 1, "issued", 1)


@pytest.mark.parametrize("items, message", [
    ([], "请至少填写一项检查发现的问题"),
    ([{"location": "1号楼"}], "第1项：请填写问题描述"),
    ("not json", "检查发现的问题格式不正确"),
    ([{"description": "x", "photos": ["abc"]}], "第1项：照片标识不正确"),
])
def test_bad_items_are_refused_naming_the_item(db, users, site_id, items, message):
    body = notice_body(site_id, [users["alice"], users["bob"]], items=items)
    with pytest.raises(InvalidInput) as exc:
        events.create(db, body, user=factories.user(db, "alice"), now=NOW, tz=TZ)
    assert exc.value.errors["fields.items"] == message


def test_a_notice_is_not_edited_but_may_be_voided(db, users, site_id):
    n = issue(db, users, site_id)
    with pytest.raises(InvalidInput) as exc:
        events.edit(db, n["id"], {"note": "改"}, user=factories.user(db, "alice"), now=NOW, tz=TZ)
    assert "不能修改" in exc.value.errors["kind"]
    events.void(db, n["id"], user=factories.user(db, "alice"), reason="录入错误", now=NOW)
    d = notices.doc(db, n["id"])
    assert d["open"] == 0 and d["voided"] == 1


# --- the state machine ----------------------------------------------------------------------------

def test_issued_replied_passed_closed(db, users, site_id):
    n = issue(db, users, site_id)
    add_step(db, users, n, "served", receiver_name="王建国", receiver_unit="湖南某建设有限公司", received_on="2021-06-15",
             occurred_at="2021-06-15T11:00:00+08:00")
    add_step(db, users, n, "replied", reply_text="已全部整改，附照片", occurred_at="2021-06-22T09:00:00+08:00")
    add_step(db, users, n, "review_passed", occurred_at="2021-06-24T09:00:00+08:00")
    add_step(db, users, n, "closed", occurred_at="2021-06-24T10:00:00+08:00")
    d = notices.doc(db, n["id"])
    assert (d["state"], d["receipt"], d["closed_on"], d["open"]) == ("closed", "served", "2021-06-24", 0)


@pytest.mark.parametrize("steps, refused, message", [
    ([], "review_passed", "通知书目前为“已下发”，不能登记“复查合格”（须为：已回复）"),
    ([], "closed", "通知书目前为“已下发”，不能登记“销号”（须为：复查合格）"),
    (["replied"], "closed", "通知书目前为“已回复”，不能登记“销号”（须为：复查合格）"),
    (["replied", "review_passed", "closed"], "replied", "通知书目前为“已销号”，不能登记“整改回复”（须为：已下发、复查不合格）"),
])
def test_refused_transitions_say_why_in_chinese(db, users, site_id, steps, refused, message):
    n = issue(db, users, site_id)
    extra = {"replied": {"reply_text": "已整改"}}
    for s in steps:
        add_step(db, users, n, s, **extra.get(s, {}))
    before = db_mod.scalar(db, "SELECT count(*) FROM events")
    with pytest.raises(InvalidInput) as exc:
        add_step(db, users, n, refused, **extra.get(refused, {}))
    assert exc.value.errors["fields.step"] == message
    assert db_mod.scalar(db, "SELECT count(*) FROM events") == before


def test_a_receipt_is_recorded_once_and_a_refusal_needs_a_witness(db, users, site_id):
    n = issue(db, users, site_id)
    with pytest.raises(InvalidInput) as exc:
        add_step(db, users, n, "refused")
    assert exc.value.errors["fields.witness"] == "请填写见证人"
    add_step(db, users, n, "refused", witness="李明（监理单位总监）")
    with pytest.raises(InvalidInput) as exc:
        add_step(db, users, n, "served", receiver_name="王", receiver_unit="某公司", received_on="2021-06-20")
    assert exc.value.errors["fields.step"] == "该通知书已登记为“拒签”，不能再次登记签收"
    assert notices.doc(db, n["id"])["receipt"] == "refused"


def test_a_review_needs_two_inspectors(db, users, site_id):
    n = issue(db, users, site_id)
    add_step(db, users, n, "replied", reply_text="已整改", by="bob", inspectors=[users["bob"]])
    with pytest.raises(InvalidInput) as exc:
        add_step(db, users, n, "review_passed", inspectors=[users["alice"]])
    assert "复查应由至少 2 名监督员进行" in exc.value.errors["inspector_ids"]


def test_failed_review_then_escalated_to_stop_work_then_resumed(db, users, site_id):
    n = issue(db, users, site_id)
    add_step(db, users, n, "replied", reply_text="已整改")
    add_step(db, users, n, "review_failed", occurred_at="2021-06-26T09:00:00+08:00")
    now = datetime(2021, 6, 27, 12, tzinfo=TZ)
    stop = issue(db, users, site_id, notice_type="stop_work", occurred_at="2021-06-27T09:00:00+08:00",
                 deadline="2021-07-10", follows_notice_id=n["id"], follows_as="escalate", now=now)
    assert notices.doc(db, n["id"])["state"] == "escalated" and notices.doc(db, n["id"])["open"] == 0
    # A 复工 note before the stop's review passed is refused.
    later = datetime(2021, 7, 12, 12, tzinfo=TZ)
    body = notice_body(site_id, [users["alice"]], notice_type="resume", occurred_at="2021-07-12T09:00:00+08:00",
                       deadline=None, items=None, follows_notice_id=stop["id"], follows_as="resume")
    body["fields"].pop("items")
    with pytest.raises(InvalidInput) as exc:
        events.create(db, body, user=factories.user(db, "alice"), now=later, tz=TZ)
    assert "复查合格后才能复工" in exc.value.errors["fields.follows_notice_id"]
    add_step(db, users, stop, "replied", reply_text="已停工整改", occurred_at="2021-07-08T09:00:00+08:00", now=later)
    add_step(db, users, stop, "review_passed", occurred_at="2021-07-11T09:00:00+08:00", now=later)
    resume, created, _ = events.create(db, body, user=factories.user(db, "alice"), now=later, tz=TZ)
    assert created
    assert notices.doc(db, stop["id"])["resumed_on"] == "2021-07-12"
    assert notices.doc(db, resume["id"])["number"] == "衡建质安〔2021〕复字第003号"


def test_reissue_needs_a_failed_review(db, users, site_id):
    n = issue(db, users, site_id)
    with pytest.raises(InvalidInput) as exc:
        issue(db, users, site_id, follows_notice_id=n["id"], follows_as="reissue")
    assert "复查不合格后才能重新下发" in exc.value.errors["fields.follows_notice_id"]


def test_voiding_a_step_works_the_state_out_again(db, users, site_id):
    n = issue(db, users, site_id)
    reply = add_step(db, users, n, "replied", reply_text="已整改")
    assert notices.doc(db, n["id"])["state"] == "replied"
    events.void(db, reply["id"], user=factories.user(db, "alice"), reason="录错通知书", now=NOW + timedelta(days=20))
    assert notices.doc(db, n["id"])["state"] == "issued"


def test_replay_passes_over_a_step_that_no_longer_fits():
    steps = [{"step": "review_passed", "day": "2021-06-20"}, {"step": "replied", "day": "2021-06-21"}]
    assert notices.replay("rectify", steps, [], "2021-06-15")["state"] == "replied"


# --- lists -----------------------------------------------------------------------------------------

def test_the_list_puts_overdue_first_with_days_overdue(db, users, site_id):
    late = issue(db, users, site_id, deadline="2021-06-20")
    soon = issue(db, users, site_id, deadline="2021-07-03")
    later = issue(db, users, site_id, deadline="2021-08-01")
    done = issue(db, users, site_id, deadline="2021-06-16")
    for s, extra in (("replied", {"reply_text": "已整改"}), ("review_passed", {}), ("closed", {})):
        add_step(db, users, done, s, **extra)
    page = notices.list_page(db, date(2021, 7, 1))
    assert [r.id for r in page.items] == [late["id"], soon["id"], later["id"]]
    assert [r.status for r in page.items] == [followups.OVERDUE, followups.DUE_SOON, followups.PENDING]
    assert page.items[0].days_over == 11 and page.overdue == 1
    assert page.tally["closed"] == 1 and page.tally["open"] == 3
    closed = notices.list_page(db, date(2021, 7, 1), state="closed")
    assert [r.id for r in closed.items] == [done["id"]]


def test_an_inspectors_own_open_notices(db, users, site_id):
    mine = issue(db, users, site_id, deadline="2021-06-20")
    body = notice_body(site_id, [users["bob"], users["carol"]])
    events.create(db, body, user=factories.user(db, "carol"), now=NOW, tz=TZ)
    assert [r.id for r in notices.mine(db, users["alice"], date(2021, 7, 1))] == [mine["id"]]
    assert len(notices.mine(db, users["bob"], date(2021, 7, 1))) == 2


def test_month_counts_by_type_and_major_hazards(db, users, site_id):
    issue(db, users, site_id)
    issue(db, users, site_id, notice_type="partial_stop")
    issue(db, users, site_id, notice_type="stop_work", items=[{"description": "塔吊未验收", "major": True,
                                                                "criterion_id": "8.1"}])
    issue(db, users, site_id, occurred_at="2021-05-31T09:00:00+08:00", deadline="2021-06-10",
          now=datetime(2021, 5, 31, 12, tzinfo=TZ))
    counts = notices.month_counts(db, date(2021, 6, 1), date(2021, 6, 30))
    assert counts["by_type"] == {"rectify": 1, "partial_stop": 1, "stop_work": 1, "resume": 0}
    assert counts["major"] == 3 and counts["total"] == 3


def test_patrol_notices_keep_showing_beside_the_new_ones(db, users, site_id):
    """Legacy notices (a patrol's notice_no) stay in followups as before; the new ones are counted apart."""
    factories.event(db, "safety_patrol", ISSUED_AT, site_id=site_id,
                    fields={"finding": "一般", "hazards_general": 1, "notice_no": "衡建安改〔2021〕12号",
                            "notice_deadline": "2021-06-25"})
    issue(db, users, site_id)
    legacy = followups.notices(db, date(2021, 7, 1))
    assert [n.notice_no for n in legacy] == ["衡建安改〔2021〕12号"]
    assert notices.list_page(db, date(2021, 7, 1)).total == 1


# --- hazard criteria --------------------------------------------------------------------------------

def test_the_shipped_criteria_load_with_article_references():
    criteria = hazards.load()
    assert criteria.document == "建质规〔2022〕2号"
    assert [s.article for s in criteria.sections][:3] == ["第四条", "第五条", "第六条"]
    assert criteria.get("8.1").ref == "第八条第（一）项"
    assert any(c.verify for c in criteria.by_id.values())          # what a station must check is marked
    assert len(criteria.to_json()) == len(criteria.by_id) >= 30


def test_a_station_extends_the_criteria(tmp_path):
    extra = tmp_path / "station.toml"
    extra.write_text('[[sections]]\nid = "excavation"\n\n[[sections.items]]\nid = "HD-1"\nref = "衡东补充第1条"\n'
                     'text = "基坑周边堆载超过设计允许值"\n\n[[sections]]\nid = "local"\narticle = "补充"\ntitle = "本站补充"\n\n'
                     '[[sections.items]]\nid = "HD-2"\nref = "衡东补充第2条"\ntext = "夜间施工无照明"\n', encoding="utf-8")
    criteria = hazards.load(extra)
    assert criteria.get("HD-1").section == "excavation" and criteria.get("HD-1").source == "station"
    assert criteria.sections[-1].title == "本站补充"


@pytest.mark.parametrize("text, message", [
    ("[[sections]]\nid = \"x\"\narticle = \"a\"\ntitle = \"b\"\n[[sections.items]]\nid = \"4.1\"\nref = \"r\"\ntext = \"t\"\n",
     "与已有条款重复"),
    ("[[sections]]\nid = \"x y\"\n", "编号（id）“x y”不正确"),
    ("title = 1\n", "没有任何章节"),
    ("[[sections]\n", "格式错误"),
    ("[[sections]]\nid = \"x\"\narticle = \"a\"\ntitle = \"b\"\n[[sections.items]]\nid = \"n1\"\nref = \"r\"\n",
     "缺少“text”"),
    ("[[sections]]\nid = \"x\"\narticle = \"a\"\ntitle = \"b\"\n[[sections.items]]\nid = \"n1\"\nref = \"r\"\ntext = \"t\"\n"
     "verify = \"yes\"\n", "verify 只能是 true 或 false"),
])
def test_a_broken_station_file_is_refused_in_chinese(tmp_path, text, message):
    extra = tmp_path / "station.toml"
    extra.write_text(text, encoding="utf-8")
    with pytest.raises(hazards.CriteriaError, match=message) as exc:
        hazards.load(extra)
    assert "station.toml" in str(exc.value)


def test_a_broken_criteria_file_stops_the_app(cfg, tmp_path):
    from fieldlog.web import create_app

    bad = tmp_path / "bad.toml"
    bad.write_text("[[sections]]\nid = \"\"\n", encoding="utf-8")
    cfg.hazard_criteria = bad
    try:
        with pytest.raises(hazards.CriteriaError, match="编号"):
            create_app(cfg)
    finally:
        hazards.use(hazards.load())
