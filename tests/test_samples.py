"""Concrete samples logged on site without a result, lab results added weeks later (by hand or from the lab's
sheet), the samples awaiting results, failed results, and the indicator rows that follow the loop."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest

from fieldlog import audit, events, samples
from fieldlog.errors import Forbidden, InvalidInput
from fieldlog.indicators import rollup, tables
from tests.factories import NOW, TZ, event, plant, site, submission, user

ON_SITE = {"sample_no": "HD-0001", "seal_no": "FY-01", "specimens": 3, "strength_grade": "C30", "method": "试块"}


@pytest.fixture
def lab(db, users):
    return samples.save_lab(db, {"name": "衡阳市建设工程质量检测中心", "licence_no": "湘检字001"},
                            actor=user(db, "dave"), now=NOW)


def sample(db, day: str, number: str, lab_id: int, **kw) -> dict:
    """A sample logged on site with no result (the phone's entry)."""
    fields = {**ON_SITE, "sample_no": number, "lab_id": lab_id, **kw.pop("fields", {})}
    body = submission("concrete_sampling", f"{day}T10:00:00+08:00", fields=fields, **kw)
    body["fields"].pop("result"), body["fields"].pop("fee_yuan")
    stored, created, _ = events.create(db, body, user=user(db, "alice"), now=NOW, tz=TZ)
    assert created
    return stored


def result(db, event_id: str, report_on: str, verdict: str = "合格", fee: float | None = 1200, who: str = "bob",
           no: str = "JC-1") -> dict:
    return samples.record_result(db, event_id, {"report_no": no, "report_on": report_on, "result": verdict,
                                                "measured_mpa": "34.5", "fee_yuan": fee},
                                 user=user(db, who), now=NOW, today=NOW.date())


# --- on site -----------------------------------------------------------------------------------------

def test_a_sample_is_logged_without_a_result_and_waits(db, users, lab):
    s = site(db)
    stored = sample(db, "2021-11-20", "HD-0001", lab, site_id=s)
    assert "result" not in stored["fields"] and stored["fields"]["lab_id"] == lab
    waiting = samples.awaiting(db, date(2022, 1, 10))
    assert [(w["sample_no"], w["days"], w["overdue"], w["lab_name"]) for w in waiting] == \
        [("HD-0001", 51, True, "衡阳市建设工程质量检测中心")]


def test_overdue_samples_come_first_and_the_threshold_is_curing_plus_a_week(db, users, lab):
    s = site(db)
    sample(db, "2021-12-20", "A", lab, site_id=s)      # 21 days: waiting
    sample(db, "2021-12-06", "B", lab, site_id=s)      # 35 days: due today, not yet overdue
    sample(db, "2021-12-05", "C", lab, site_id=s)      # 36 days: overdue
    sample(db, "2021-11-01", "D", lab, site_id=s)      # 70 days: most overdue
    assert samples.due_days() == 35
    rows = samples.awaiting(db, date(2022, 1, 10))
    assert [(r["sample_no"], r["overdue"]) for r in rows] == [("D", True), ("C", True), ("B", False), ("A", False)]


@pytest.mark.parametrize("fields, key, message", [
    ({"sample_no": None}, "fields.sample_no", "请填写样品编号"),
    ({"lab_id": 999}, "fields.lab_id", "检测机构名单"),
    ({"lab_id": "x"}, "fields.lab_id", "须为整数"),
    ({"specimens": 0}, "fields.specimens", "须大于 0"),
])
def test_bad_sample_fields_are_refused_naming_the_field(db, users, lab, fields, key, message):
    body = submission("concrete_sampling", site_id=site(db), fields={**ON_SITE, "lab_id": lab, **fields})
    for k in ("result", "fee_yuan"):
        body["fields"].pop(k)
    with pytest.raises(InvalidInput) as exc:
        events.create(db, body, user=user(db, "alice"), now=NOW, tz=TZ)
    assert message in exc.value.errors[key]
    assert samples.awaiting(db, NOW.date()) == []


def test_sample_numbers_are_unique_and_a_stopped_lab_is_refused(db, users, lab):
    s = site(db)
    sample(db, "2021-11-20", "HD-0001", lab, site_id=s)
    with pytest.raises(InvalidInput) as exc:
        sample(db, "2021-11-21", "HD-0001", lab, site_id=s)
    assert "HD-0001" in exc.value.errors["fields.sample_no"]
    samples.save_lab(db, {"name": "衡阳市建设工程质量检测中心", "active": "0"}, lab_id=lab, actor=user(db, "dave"), now=NOW)
    with pytest.raises(InvalidInput) as exc:
        sample(db, "2021-11-22", "HD-0002", lab, site_id=s)
    assert "已停用" in exc.value.errors["fields.lab_id"]


# --- the result, weeks later ------------------------------------------------------------------------

def test_a_result_is_added_later_with_history_and_audit(db, users, lab):
    s = site(db)
    stored = sample(db, "2021-11-20", "HD-0001", lab, site_id=s)
    result(db, stored["id"], "2021-12-18", "不合格", fee=1200, who="bob", no="JC-1")
    current = result(db, stored["id"], "2021-12-19", "合格", fee=1300, who="carol", no="JC-1a")
    assert (current["result"], current["report_no"], current["fee_yuan"]) == ("合格", "JC-1a", 1300)
    assert [(h["report_no"], h["entered_by_name"]) for h in samples.history(db, stored["id"])] == \
        [("JC-1", "鲍勃"), ("JC-1a", "卡罗尔")]
    assert [line["action"] for line in audit.recent(db)][:2] == ["sample_result_saved", "sample_result_saved"]
    assert samples.awaiting(db, NOW.date()) == []
    # Never a second event: the sample is still the one event.
    assert len(events.list_events(db, kind="concrete_sampling")) == 1


@pytest.mark.parametrize("raw, key, message", [
    ({"report_no": ""}, "report_no", "检测报告编号"),
    ({"report_on": ""}, "report_on", "请填写报告日期"),
    ({"report_on": "2021-13-01"}, "report_on", "格式"),
    ({"report_on": "2021-11-19"}, "report_on", "不能早于抽样日期"),
    ({"report_on": "2022-01-11"}, "report_on", "不能晚于今天"),
    ({"result": "良"}, "result", "合格"),
    ({"result": ""}, "result", "请选择检测结论"),
    ({"fee_yuan": "-1"}, "fee_yuan", "不能为负数"),
    ({"fee_yuan": "1e400"}, "fee_yuan", "数值过大"),
    ({"measured_mpa": "abc"}, "measured_mpa", "须为数字"),
])
def test_bad_results_are_refused_naming_the_field(db, users, lab, raw, key, message):
    stored = sample(db, "2021-11-20", "HD-0001", lab, site_id=site(db))
    good = {"report_no": "JC-1", "report_on": "2021-12-18", "result": "合格"}
    with pytest.raises(InvalidInput) as exc:
        samples.record_result(db, stored["id"], {**good, **raw}, user=user(db, "bob"), now=NOW, today=NOW.date())
    assert message in exc.value.errors[key]
    assert samples.history(db, stored["id"]) == []


def test_the_admin_enters_no_result_and_a_voided_sample_takes_none(db, users, lab):
    stored = sample(db, "2021-11-20", "HD-0001", lab, site_id=site(db))
    with pytest.raises(Forbidden):
        result(db, stored["id"], "2021-12-18", who="dave")
    events.void(db, stored["id"], user=user(db, "alice"), reason="录错", now=NOW)
    with pytest.raises(InvalidInput) as exc:
        result(db, stored["id"], "2021-12-18")
    assert "作废" in exc.value.errors["event_id"]


def test_a_failed_result_calls_for_a_notice_to_site_and_plant(db, users, lab):
    s, p = site(db), plant(db)
    stored = sample(db, "2021-11-20", "HD-0001", lab, site_id=s, plant_id=p)
    result(db, stored["id"], "2021-12-18", "不合格")
    [failed] = samples.failed(db, NOW.date())
    assert failed["sample_no"] == "HD-0001" and failed["plant_id"] == p and failed["site_notice"] is None
    event(db, "enforcement_patrol", "2021-12-20T09:00:00+08:00", site_id=s,
          fields={"order": "rectify", "notice_no": "衡建执改〔2021〕3号", "notice_deadline": "2021-12-30"})
    [failed] = samples.failed(db, NOW.date())
    assert failed["site_notice"]["notice_no"] == "衡建执改〔2021〕3号"


# --- the lab's spreadsheet ------------------------------------------------------------------------

def _csv(rows: list[list]) -> bytes:
    return samples.results_template_csv()[:0] + ("\ufeff" + "\n".join(",".join(map(str, r)) for r in rows)).encode()


def test_a_lab_sheet_is_previewed_then_applied_row_by_row(db, users, lab):
    s = site(db)
    a = sample(db, "2021-11-20", "HD-0001", lab, site_id=s)
    sample(db, "2021-11-21", "HD-0002", lab, site_id=s)
    content = _csv([samples.result_headers(),
                    ["HD-0001", "JC-1", "2021/12/18", "34.2", "合格", "1200", ""],
                    ["HD-9999", "JC-2", "2021-12-18", "30", "合格", "800", ""],
                    ["HD-0002", "JC-3", "2021-12-18", "30", "良", "800", ""],
                    ["HD-0001", "JC-4", "2021-12-18", "30", "合格", "800", ""]])
    preview = samples.preview_results(db, "lab.csv", content, NOW.date())
    assert [(r.number, sorted(r.errors)) for r in preview.rows] == \
        [(2, []), (3, ["sample_no"]), (4, ["result"]), (5, ["sample_no"])]
    assert "HD-9999" in preview.rows[1].errors["sample_no"] and "第 2 行" in preview.rows[3].errors["sample_no"]
    assert samples.history(db, a["id"]) == []       # the dry run wrote nothing
    done = samples.apply_results(db, preview, user=user(db, "carol"), now=NOW, today=NOW.date())
    assert done.written == 1
    assert samples.get_sample(db, a["id"])["report_on"] == "2021-12-18"
    assert [r["sample_no"] for r in samples.awaiting(db, NOW.date())] == ["HD-0002"]
    assert audit.recent(db)[0]["action"] == "sample_results_imported"


def test_a_lab_sheet_in_xlsx_with_its_own_headers(db, users, lab):
    from openpyxl import Workbook

    a = sample(db, "2021-11-20", "HD-0001", lab, site_id=site(db))
    wb = Workbook()
    wb.active.append(["委托编号", "检测报告号", "签发日期", "强度代表值", "检测结论", "检测费", "送检人"])
    wb.active.append(["HD-0001", "JC-1", datetime(2021, 12, 18), 28.1, "不合格", 1500, "张三"])
    out = io.BytesIO()
    wb.save(out)
    parsed = samples.preview_results(db, "lab.xlsx", out.getvalue(), NOW.date())
    assert parsed.error is None and parsed.ignored_columns == ["送检人"] and not parsed.rejected
    samples.apply_results(db, parsed, user=user(db, "bob"), now=NOW, today=NOW.date())
    got = samples.get_sample(db, a["id"])
    assert (got["result"], got["measured_mpa"], got["fee_yuan"]) == ("不合格", 28.1, 1500)


def test_a_sheet_without_the_needed_columns_is_refused_whole(db, users, lab):
    parsed = samples.preview_results(db, "lab.csv", _csv([["样品编号", "结论"], ["HD-1", "合格"]]), NOW.date())
    assert "检测报告编号" in parsed.error and "报告日期" in parsed.error


# --- indicators follow the loop ---------------------------------------------------------------------

def _rows(db, as_of: str) -> dict:
    table = tables.table_for_year(db, 2021)
    return {r.key: r for r in rollup.compute(db, table, date.fromisoformat(as_of), TZ)}


def test_samples_count_when_taken_results_when_reported(db, users, lab):
    s = site(db)
    a = sample(db, "2021-03-10", "A", lab, site_id=s)
    b = sample(db, "2021-03-12", "B", lab, site_id=s)
    result(db, a["id"], "2021-04-08", "合格", fee=1000)
    result(db, b["id"], "2021-04-20", "不合格", fee=2000)
    # An entry made before the lab loop: its result is in on its day.
    event(db, "concrete_sampling", "2021-03-15", site_id=s, fields={"result": "合格", "fee_yuan": 500})
    rows = _rows(db, "2021-03-31")
    assert rows["concrete_pass_rate"].actual_text == "100.0%"
    assert "待出结果 2 个" in rows["concrete_pass_rate"].outcome.beside
    assert rows["testing_fees"].actual == pytest.approx(0.05)
    rows = _rows(db, "2021-04-10")
    assert (rows["concrete_pass_rate"].actual_text, rows["concrete_pass_rate"].outcome.beside) == ("100.0%", "待出结果 1 个")
    assert rows["testing_fees"].actual == pytest.approx(0.15)
    rows = _rows(db, "2021-04-30")
    assert rows["concrete_pass_rate"].actual_text == "66.6%" and rows["concrete_pass_rate"].outcome.beside == ""
    assert rows["concrete_quality"].actual_text == "未达到"
    assert rows["testing_fees"].actual == pytest.approx(0.35)


def test_the_years_table_against_an_independent_count_of_what_was_pending_each_day(db, users, lab):
    """Samples through the year with results arriving 20–60 days later (some never): on each as-of date the table
    must show the results in by then (report date), the fees of those, and the samples still pending."""
    from datetime import timedelta

    s = site(db)
    made = []   # (sampled on, report date or None, passed, fee)
    for i in range(24):
        day = date(2021, 1, 5) + timedelta(days=15 * i)
        stored = sample(db, day.isoformat(), f"S-{i:03d}", lab, site_id=s)
        reported = day + timedelta(days=20 + (i * 7) % 41) if i % 5 != 4 else None
        if reported and reported > NOW.date():
            reported = None
        passed, fee = i % 6 != 3, 100 * (i + 1)
        if reported:
            result(db, stored["id"], reported.isoformat(), "合格" if passed else "不合格", fee=fee, no=f"R-{i}")
        made.append((day, reported, passed, fee))
    for as_of in (date(2021, 2, 1), date(2021, 4, 30), date(2021, 7, 15), date(2021, 10, 1), date(2021, 12, 31)):
        rows = _rows(db, as_of.isoformat())
        inside = [m for m in made if m[1] and date(2021, 1, 1) <= m[1] <= as_of]
        pending = sum(1 for d, r, _, _ in made if d <= as_of and (r is None or r > as_of))
        passed = sum(1 for m in inside if m[2])
        rate = rows["concrete_pass_rate"]
        if inside:
            assert rate.actual == pytest.approx(100 * passed / len(inside)), as_of
        else:
            assert rate.actual is None
        assert rate.outcome.beside == (f"待出结果 {pending} 个" if pending else ""), as_of
        assert rows["testing_fees"].actual == pytest.approx(sum(m[3] for m in inside) / 10000), as_of
        assert rows["concrete_quality"].actual_text == ("达到" if inside and passed == len(inside) else
                                                         "未达到" if inside else rows["concrete_quality"].actual_text)


def test_the_drill_down_lists_the_results_in(client_for, db, users, lab):
    s = site(db)
    a = sample(db, "2021-03-10", "A", lab, site_id=s)
    sample(db, "2021-03-12", "B", lab, site_id=s)
    result(db, a["id"], "2021-04-08", "合格")
    page = client_for("carol").get("/indicators/2021/concrete_pass_rate?as_of=2021-04-30")
    assert page.status_code == 200
    assert "另有 1 个样品待出结果" in page.text
    assert a["id"] in page.text and sample_count(page.text) == 1


def sample_count(html: str) -> int:
    """How many concrete sampling events the drill-down lists."""
    return html.count("/events/") - html.count("/events/mine")


def test_entries_made_before_013_keep_their_results_through_the_upgrade(tmp_path):
    """A database that has sampling events with results, upgraded by 013: they count as results in, as before."""
    from fieldlog import db as db_mod
    from tests.conftest import make_users

    files = db_mod.migration_files()
    database = db_mod.connect(tmp_path / "old.db")
    db_mod.migrate(database, [f for f in files if f.stem < "013"])
    make_users(database)
    s = site(database)
    old = event(database, "concrete_sampling", "2021-05-06", site_id=s, fields={"result": "不合格", "fee_yuan": 2400})
    # What the tallies said before 013 (the rule then read them): 0 of 1 passed, 2400 元.
    (n, passed, fees), = database.execute("SELECT sum(n), sum(CASE WHEN result = '合格' THEN n ELSE 0 END), total(fee_yuan) "
                                          "FROM event_tallies WHERE kind = 'concrete_sampling'").fetchall()
    assert (n, passed, fees) == (1, 0, 2400)
    assert "013_lab_and_plans" in db_mod.migrate(database, files)
    after = {r.key: r for r in rollup.compute(database, tables.table_for_year(database, 2021), date(2021, 12, 31), TZ)}
    assert (after["concrete_pass_rate"].actual_text, after["concrete_pass_rate"].detail) == ("0.0%", "0/1")
    assert after["testing_fees"].actual == pytest.approx(0.24) and after["concrete_quality"].actual_text == "未达到"
    got = samples.get_sample(database, old["id"])
    assert (got["result"], got["report_on"], got["fee_yuan"]) == ("不合格", "2021-05-06", 2400)
    assert samples.awaiting(database, NOW.date()) == [] and len(samples.failed(database, NOW.date())) == 1
    database.close()


# --- the sample tallies (migration 023) are sample_status counted ---------------------------------------

def _sample_recount(db) -> list[tuple]:
    return db.execute("SELECT report_on, result, sampled_on, count(*), sum(fee_fen) FROM sample_tally_rows "
                      "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()


def test_sample_tallies_follow_samples_results_corrections_edits_and_voids(db, users, lab):
    import random

    rng = random.Random(3)
    s = site(db)
    alice = user(db, "alice")
    ids = []
    for i in range(30):
        roll = rng.random()
        day = f"2021-0{rng.randint(3, 5)}-{rng.randint(10, 28)}"
        if roll < 0.35 or not ids:
            ids.append(sample(db, day, f"HD-{i:04d}", lab, site_id=s)["id"])
        elif roll < 0.7:   # a result, or a newer one correcting it
            result(db, rng.choice(ids), f"2021-06-{rng.randint(1, 20):02d}", rng.choice(["合格", "不合格"]),
                   fee=rng.choice([None, 800, 1234.56, 0.1]), no=f"JC-{i}")
        elif roll < 0.85:  # the sample's day moved
            eid = rng.choice(ids)
            stored = events.load(db, eid)
            if not stored["voided"]:
                events.edit(db, eid, {"occurred_at": f"{day}T09:00:00+08:00"}, user=alice, now=NOW, tz=TZ,
                            reason="日期更正")
        else:
            eid = ids.pop(rng.randrange(len(ids)))
            events.void(db, eid, user=alice, reason="重复", now=NOW)
        got = db.execute("SELECT report_on, result, sampled_on, n, fee_fen FROM sample_tallies "
                         "ORDER BY 1, 2, 3").fetchall()
        assert got == _sample_recount(db), i
    assert db.execute("SELECT count(*) FROM sample_tallies WHERE result != ''").fetchone()[0] > 0
    # What the rules read from the tallies is what the samples say.
    first, last = date(2021, 1, 1), date(2021, 6, 10)
    direct = {r: (n, fees) for r, n, fees in db.execute(
        "SELECT result, count(*), total(fee_yuan) FROM sample_status WHERE voided = 0 AND result IS NOT NULL "
        "AND report_on BETWEEN ? AND ? GROUP BY result", [first.isoformat(), last.isoformat()])}
    assert {r: (n, round(f, 2)) for r, (n, f) in samples.results_in(db, first, last).items()} == \
        {r: (n, round(f, 2)) for r, (n, f) in direct.items()}
    (waiting,) = db.execute("SELECT count(*) FROM sample_status WHERE voided = 0 AND day BETWEEN ? AND ? "
                            "AND (result IS NULL OR report_on > ?)",
                            [first.isoformat(), last.isoformat(), last.isoformat()]).fetchone()
    assert samples.pending(db, first, last) == waiting


def test_the_sample_reads_of_the_rules_search_the_tallies_by_index(db, users, lab):
    for sql in ("SELECT result, sum(n), sum(fee_fen) FROM sample_tallies WHERE report_on BETWEEN ? AND ? "
                "AND result != '' GROUP BY result HAVING sum(n) > 0",
                "SELECT coalesce(sum(n), 0) FROM sample_tallies WHERE sampled_on BETWEEN ? AND ? "
                "AND (result = '' OR report_on > ?)"):
        plan = " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, ["2021-01-01", "2021-06-30", "x"][
            :sql.count("?")]))
        assert plan.startswith("SEARCH sample_tallies") and "SCAN" not in plan, plan


def test_a_stored_result_is_never_changed_or_deleted(db, users, lab):
    """Every entry is kept (a correction is a newer row), so the sample tallies never have to follow a change."""
    import sqlite3

    stored = sample(db, "2021-05-10", "HD-9", lab, site_id=site(db))
    result(db, stored["id"], "2021-06-01")
    before = db.execute("SELECT * FROM sample_tallies").fetchall()
    for sql in ("UPDATE sample_results SET result = '不合格'", "DELETE FROM sample_results"):
        with pytest.raises(sqlite3.IntegrityError, match="kept"):
            db.execute(sql)
    assert db.execute("SELECT * FROM sample_tallies").fetchall() == before


def test_the_failed_list_reads_the_failed_only_through_indexes(db, users, lab):
    """The failed results of the last year come from two partial indexes (023), not from every sample's status."""
    s = site(db)
    old = sample(db, "2019-03-01", "HD-OLD", lab, site_id=s)
    result(db, old["id"], "2019-04-01", "不合格")
    for i in range(3):
        stored = sample(db, f"2021-0{i + 3}-10", f"HD-{i}", lab, site_id=s)
        result(db, stored["id"], f"2021-0{i + 4}-12", "不合格" if i != 1 else "合格")
    event(db, "enforcement_patrol", "2021-05-20T09:00:00+08:00", site_id=s,
          fields={"order": "rectify", "notice_no": "衡质安整〔2021〕9号", "notice_deadline": "2021-06-01"})
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        rows = samples.failed(db, date(2021, 12, 15))
    finally:
        db.conn.set_trace_callback(None)
    assert [(r["sample_no"], (r["site_notice"] or {}).get("notice_no")) for r in rows] == \
        [("HD-2", None), ("HD-0", "衡质安整〔2021〕9号")]   # the 2019 one is older than a year
    plans = [" | ".join(r[-1] for r in db.execute("EXPLAIN QUERY PLAN " + sql)) for sql in statements
             if sql.lstrip().upper().startswith("SELECT")]
    assert plans
    for plan in plans:
        assert "SCAN e " not in plan + " " and "SCAN events" not in plan and "SCAN sample_results" not in plan, plan
    assert any("events_sample_failed" in p and "sample_results_failed" in p for p in plans), plans
