"""Grades, completion and score bands are English values with Chinese labels; migration 010 converts stored grades."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date

import pytest

from fieldlog import db as db_mod
from fieldlog.errors import InvalidInput
from fieldlog.indicators import entries, evaluation, rollup, scoring, tables
from fieldlog.messages import LABELS, label

from tests.factories import NOW, enter_manual, user

SHIPPED = tables.TABLES_DIR / "hengdong-2021.toml"
ROW = """station = "某县监督站"
year = 2021

[[rows]]
key = "operations"
level1 = "效益指标"
level2 = "社会效益指标"
level3 = "部门单位履职、运转"
target_text = "予以保障"
target = { comparator = "text" }
rule = "manual_text"
"""


def _table(grades: str = "", bands: str = "") -> str:
    lines = [g for g in (grades, bands) if g]
    return ROW + ("\n[scoring]\n" + "\n".join(lines) + "\n" if lines else "")


# --- the labels ---------------------------------------------------------------------------------------

def test_every_grade_has_its_label_and_completion_adds_pending():
    assert [label("grade", g) for g in entries.GRADES] == ["达成", "部分达成", "未达成"]
    assert LABELS["completion"] == {**LABELS["grade"], "pending": "—"}
    assert [label("score_band", b["grade"]) for b in tables.DEFAULT_SCORING["bands"]] == ["优", "良", "中", "差"]


# --- migration 010 ------------------------------------------------------------------------------------

def _before_010(path) -> tuple[db_mod.Database, list]:
    files = db_mod.migration_files()
    names = [f.stem for f in files]
    assert "010_english_grades" in names
    database = db_mod.connect(path)
    db_mod.migrate(database, files[:names.index("010_english_grades")])
    return database, files


def test_migration_010_converts_stored_grades_and_keeps_everything_else(tmp_path):
    database, files = _before_010(tmp_path / "m.db")
    uid = database.execute("INSERT INTO users (username, display_name, role, password_hash, created_at) "
                           "VALUES ('carol', '卡罗尔', 'chief', 'h', 'now')").lastrowid
    rows = [(2021, "staff", None, "在职43人", "达成"), (2021, "operations", None, "基本保障", "部分达成"),
            (2021, "market_order", None, "未规范", "未达成"), (2021, "staff_costs", 360.5, None, None),
            (2021, "operations", None, "全年保障", "达成")]
    for n, (year, key, number, text, grade) in enumerate(rows, start=1):
        database.execute("INSERT INTO manual_values (id, year, row_key, value_number, value_text, grade, source_document, "
                         "note, entered_by, entered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [n * 10, year, key, number, text, grade, f"依据{n}", f"说明{n}", uid, f"2022-01-0{n}T09:00:00+00:00"])
    before = database.execute("SELECT id, year, row_key, value_number, value_text, source_document, note, entered_by, "
                              "entered_at FROM manual_values ORDER BY id").fetchall()
    database.conn.commit()

    assert db_mod.migrate(database, files)[0] == "010_english_grades"

    after = database.execute("SELECT id, year, row_key, value_number, value_text, source_document, note, entered_by, "
                             "entered_at FROM manual_values ORDER BY id").fetchall()
    assert after == before
    assert [r[0] for r in database.execute("SELECT grade FROM manual_values ORDER BY id").fetchall()] == [
        "met", "partial", "missed", None, "met"]
    # The index is back and the newest entry of a row still wins.
    indexes = {r[0] for r in database.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                              "AND tbl_name = 'manual_values'").fetchall()}
    assert "manual_values_year_row" in indexes
    assert "manual_values_new" not in database.table_names()
    assert entries.latest_manual_values(database, 2021)["operations"]["value_text"] == "全年保障"
    assert database.execute("PRAGMA foreign_key_check").fetchall() == []
    assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The new CHECK: English values only; the foreign key to users still holds.
    insert = ("INSERT INTO manual_values (year, row_key, value_text, grade, entered_by, entered_at) "
              "VALUES (2021, 'staff', 'x', ?, ?, 'now')")
    with pytest.raises(sqlite3.IntegrityError):
        database.execute(insert, ["达成", uid])
    with pytest.raises(sqlite3.IntegrityError):
        database.execute(insert, ["met", uid + 99])
    database.execute(insert, ["partial", uid])
    database.close()


def test_migration_010_on_an_empty_table_and_schema_matches_a_fresh_database(tmp_path):
    database, files = _before_010(tmp_path / "e.db")
    db_mod.migrate(database, files)
    fresh = db_mod.open_db(tmp_path / "f.db")
    schema = "SELECT sql FROM sqlite_master WHERE tbl_name = 'manual_values' ORDER BY name"
    assert database.execute(schema).fetchall() == fresh.execute(schema).fetchall()
    assert "'met', 'partial', 'missed'" in database.execute(schema).fetchall()[0][0]
    database.close()
    fresh.close()


# --- table files: grades and bands by value or by label ------------------------------------------------

@pytest.mark.parametrize("grades", [
    'grades = { met = 1.0, partial = 0.5, missed = 0.2 }',
    'grades = { "达成" = 1.0, "部分达成" = 0.5, "未达成" = 0.2 }',
    'grades = { met = 1.0, "部分达成" = 0.5, missed = 0.2 }',
])
def test_a_table_file_names_grades_by_value_or_by_label(grades):
    assert tables.parse_table(_table(grades)).scoring["grades"] == {"met": 1.0, "partial": 0.5, "missed": 0.2}


@pytest.mark.parametrize("grades", [
    'grades = { met = 1.0, partial = 0.5 }',
    'grades = { met = 1.0, "达成" = 0.9, partial = 0.5, missed = 0.2 }',
    'grades = { met = 1.0, partial = 0.5, missed = 0.2, "优" = 1 }',
    'grades = { excellent = 1.0, partial = 0.5, missed = 0.2 }',
])
def test_grades_missing_twice_or_unknown_are_refused_in_chinese(grades):
    with pytest.raises(InvalidInput) as err:
        tables.parse_table(_table(grades))
    assert err.value.errors["scoring.grades"] == "scoring.grades 须给出 达成、部分达成、未达成 三档的得分比例"


def test_default_bands_by_label_become_values_and_a_stations_own_bands_stay_as_written():
    table = tables.parse_table(_table(bands='bands = [{ grade = "优", min = 90 }, { grade = "good", min = 70 }, '
                                              '{ grade = "合格", min = 0 }]'))
    assert [b["grade"] for b in table.scoring["bands"]] == ["excellent", "good", "合格"]
    totals = scoring.totals(table, [30.0], {"full_year_budget": 1.0, "executed": 1.0})
    assert (totals.band, totals.grade) == ("合格", "合格")
    assert totals.legend == "90–100 优，70–89 良，70 以下合格"
    assert scoring.grade_of(95, table.scoring["bands"]) == "excellent"


def test_a_stored_table_with_chinese_grade_keys_still_scores(db, users):
    """Tables loaded before the change (target_tables) keep their 达成/部分达成/未达成 keys and score as before."""
    shipped = SHIPPED.read_text(encoding="utf-8")
    start = shipped.index("\n[[rows]]\n")
    text = shipped[:start] + '\n[scoring]\ngrades = { "达成" = 1.0, "部分达成" = 0.5, "未达成" = 0.25 }\n' + shipped[start:]
    db.execute("INSERT INTO target_tables (year, station, source, loaded_at, loaded_by) VALUES (2021, 's', ?, 'now', 'cli')",
               [text])
    enter_manual(db, {"operations": {"value": "基本保障", "grade": "partial"},
                      "market_order": {"value": "有违规", "grade": "未达成"}})
    table = tables.table_for_year(db, 2021)
    assert table.origin == "loaded" and table.scoring["grades"] == {"met": 1.0, "partial": 0.5, "missed": 0.25}
    results = {r.key: r for r in rollup.compute(db, table, date(2021, 12, 31))}
    assert float(results["operations"].score) == pytest.approx(float(results["operations"].points) * 0.5, abs=0.01)
    assert float(results["market_order"].score) == pytest.approx(float(results["market_order"].points) * 0.25, abs=0.01)


# --- the chief's entries --------------------------------------------------------------------------------

@pytest.mark.parametrize("given, stored", [("met", "met"), ("partial", "partial"), ("missed", "missed"),
                                           ("达成", "met"), ("部分达成", "partial"), (" 未达成 ", "missed")])
def test_a_grade_is_stored_as_its_english_value(db, users, given, stored):
    row = tables.table_for_year(db, 2021).row("operations")
    entries.save_manual_value(db, 2021, row, {"value": "全年保障", "grade": given, "source_document": "总结"},
                              user(db, "carol"), now=NOW)
    assert db.execute("SELECT grade FROM manual_values").fetchall() == [(stored,)]


@pytest.mark.parametrize("given", ["", "优", "Met", "pending", None])
def test_an_unknown_grade_is_refused_and_nothing_is_stored(db, users, given):
    row = tables.table_for_year(db, 2021).row("operations")
    with pytest.raises(InvalidInput) as err:
        entries.save_manual_value(db, 2021, row, {"value": "全年保障", "grade": given, "source_document": "总结"},
                                  user(db, "carol"))
    assert err.value.errors == {"grade": "请选择评定：达成、部分达成或未达成"}
    assert db.execute("SELECT count(*) FROM manual_values").fetchone()[0] == 0


def test_completion_is_the_grade_else_met_missed_or_pending(db, users):
    enter_manual(db, {"operations": {"value": "基本保障", "grade": "partial"}, "staff": {"value": "x", "grade": "met"}})
    results = {r.key: r for r in rollup.compute(db, tables.table_for_year(db, 2021), date(2021, 3, 31))}
    assert (results["operations"].completion, results["operations"].completion_text) == ("partial", "部分达成")
    assert results["operations"].met is False and results["staff"].met is True
    assert results["market_order"].completion == "pending" and results["market_order"].completion_text == "—"
    assert results["safety_patrols"].completion == "missed" and evaluation.completion(results["safety_patrols"]) == "missed"


# --- forms, pages, exports and the API show the labels --------------------------------------------------

def test_the_form_posts_english_values_and_pages_show_labels(db, users, client_for):
    chief = client_for("carol")
    form = chief.get("/indicators/2021/operations/manual").text
    for value, text in LABELS["grade"].items():
        assert f'value="{value}" > {text}</label>' in form
    r = chief.post_form("/indicators/2021/operations/manual", {"value": "基本保障", "grade": "partial",
                                                               "source_document": "2021年度工作总结"},
                        follow_redirects=False)
    assert r.status_code == 303
    assert db.execute("SELECT grade FROM manual_values").fetchall() == [("partial",)]
    detail = chief.get("/indicators/2021/operations?as_of=2021-12-31").text
    assert "<dt>完成情况</dt><dd>部分达成</dd>" in detail and "基本保障</strong> · 部分达成" in detail
    assert "基本保障</strong> · 部分达成" in chief.get("/indicators/2021/operations/manual").text
    table = chief.get("/indicators?year=2021&as_of=2021-12-31").text
    assert 'class="badge amber">部分达成</span>' in table
    assert 'class="badge red">未达成</span>' in table and 'class="badge ">—</span>' in table
    assert '<td class="fig" data-label="完成情况">部分达成</td>' in chief.get("/indicators/2021/evaluation?as_of=2021-12-31").text
    assert "（部分达成）" in chief.get("/indicators/2021/evaluation/edit").text
    assert ",部分达成," in chief.get("/indicators/2021/evaluation.csv?as_of=2021-12-31").content.decode("utf-8")


def test_an_old_form_posting_a_chinese_label_is_accepted(db, users, client_for):
    chief = client_for("carol")
    r = chief.post_form("/indicators/2021/staff/manual", {"value": "在职43人", "grade": "达成", "source_document": "花名册"},
                        follow_redirects=False)
    assert r.status_code == 303
    assert db.execute("SELECT grade FROM manual_values").fetchall() == [("met",)]
    assert 'class="badge green">达成</span>' in chief.get("/indicators?year=2021&as_of=2021-12-31").text


def test_a_refused_form_keeps_the_chosen_grade(db, users, client_for):
    chief = client_for("carol")
    r = chief.post_form("/indicators/2021/operations/manual", {"value": "", "grade": "missed", "source_document": "x"})
    assert r.status_code == 422
    assert 'value="missed" checked> 未达成' in r.text and "请填写实际完成情况" in r.text


def test_the_api_shows_labels_with_the_english_values_beside(db, users, client_for):
    enter_manual(db, {"operations": {"value": "基本保障", "grade": "partial"}})
    body = client_for("carol").get("/api/v1/indicators?year=2021&as_of=2021-12-31").json()
    row = next(r for r in body["rows"] if r["key"] == "operations")
    assert (row["grade"], row["completion"], row["manual"]["grade"], row["met"]) == ("部分达成", "partial", "部分达成", False)
    unentered = next(r for r in body["rows"] if r["key"] == "staff")
    assert (unentered["grade"], unentered["completion"]) == (None, "pending")
    assert body["total"]["grade"] == label("score_band", body["total"]["band"]) == "差"


# --- the demo ---------------------------------------------------------------------------------------------

def test_the_demo_enters_english_grades(demo_database, tmp_path):
    shutil.copyfile(demo_database[0], tmp_path / "demo.db")
    database = db_mod.open_db(tmp_path / "demo.db")
    grades = {r[0] for r in database.execute("SELECT grade FROM manual_values WHERE grade IS NOT NULL").fetchall()}
    assert grades and grades <= set(entries.GRADES)
    year = int(database.execute("SELECT max(year) FROM manual_values").fetchone()[0])  # the demo's complete year
    ev = evaluation.build(database, year, date(year, 12, 31))
    assert {evaluation.completion(r) for r in ev.results if r.key == "market_order"} == {"partial"}
    database.close()
