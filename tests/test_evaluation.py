"""Indicator pages: the table, evidence, manual values, the 自评表 (print, XLSX, CSV) and who may do what."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from fieldlog.indicators import entries

from tests.factories import enter_manual, perfect_year
from fieldlog.static_files import static_url


def small_year(db) -> None:
    """factories.perfect_year over 6 sites and 2 plants, with the manual rows entered (no budget yet)."""
    perfect_year(db, sites=6, plants=2)
    enter_manual(db)


@pytest.fixture
def year(db, prebuilt):
    prebuilt(small_year)
    return db


def test_indicator_table_page(year, client_for):
    page = client_for("carol").get("/indicators?year=2021&as_of=2021-12-31")
    assert page.status_code == 200
    html = page.text
    assert "安全日常巡查" in html and "≤371.29万元" in html and "手工填报" in html and "卡罗尔" in html
    assert 'href="/indicators/2021/safety_patrols?as_of=2021-12-31"' in html
    # 6 sites × 12 months of safety patrols against a target of 500
    assert re.search(r"safety_patrols\?as_of=2021-12-31\">安全日常巡查</a></td>\s*<td class=\"fig\" data-label=\"年度指标值\">500次</td>\s*<td class=\"actual fig\" data-label=\"实际完成值\"><span data-cell=\"figure\">72<", html)


def test_htmx_gets_the_table_fragment(year, client_for):
    page = client_for("carol").get("/indicators?year=2021&as_of=2021-12-31", headers={"HX-Request": "true"})
    assert page.status_code == 200 and "<html" not in page.text and 'id="indicators-table"' in page.text


@pytest.mark.parametrize("query, message", [("year=21", "年份须为四位数字"), ("year=2021&as_of=2021-13-01", "截至日期须为日期")])
def test_bad_year_or_date_is_explained(db, client_for, query, message):
    page = client_for("carol").get(f"/indicators?{query}")
    assert page.status_code == 422 and message in page.text


@pytest.mark.parametrize("who, path, status", [
    ("alice", "/indicators", 403),
    ("dave", "/indicators?year=2021", 200),
    ("dave", "/indicators/2021/evaluation", 200),
    ("dave", "/indicators/2021/evaluation/edit", 403),
    ("dave", "/indicators/2021/staff_costs/manual", 403),
    ("alice", "/indicators/2021/evaluation.csv", 403),
])
def test_roles(db, client_for, who, path, status):
    assert client_for(who).get(path).status_code == status


def test_evidence_lists_the_events_and_the_periods(year, client_for):
    c = client_for("carol")
    page = c.get("/indicators/2021/safety_patrols?as_of=2021-12-31")
    assert page.status_code == 200 and "计入的记录（72 条）" in page.text
    assert len(re.findall(r'href="/events/[0-9a-f-]{36}"', page.text)) == 72
    cov = c.get("/indicators/2021/enforcement_site_coverage?as_of=2021-12-31")
    assert "共 72 项，未达到 0 项" in cov.text and "全年工地00" in cov.text
    assert c.get("/indicators/2021/nope").status_code == 404


def test_chief_enters_a_manual_value_with_history(year, client_for):
    c = client_for("carol")
    form = c.get("/indicators/2021/staff_costs/manual")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text and "360.5" in form.text
    bad = c.post_form("/indicators/2021/staff_costs/manual", {"value": "三百", "source_document": ""})
    assert bad.status_code == 422 and "实际完成值须为数字" in bad.text and "请填写依据文件" in bad.text
    assert len(entries.manual_history(year, 2021, "staff_costs")) == 1
    ok = c.post_form("/indicators/2021/staff_costs/manual",
                     {"value": "365.2", "source_document": "2021年决算", "note": "含社保"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/indicators/2021/staff_costs"
    detail = c.get("/indicators/2021/staff_costs?as_of=2021-12-31").text
    assert "365.2" in detail and "2021年决算" in detail and "360.5" in detail and "当前" in detail


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_a_manual_value_or_budget_that_is_no_finite_number_is_refused(year, client_for, value):
    # float() takes these; SQLite would store NaN as NULL (a 500 on the manual value's CHECK) and 'inf' is no figure.
    c = client_for("carol")
    bad = c.post_form("/indicators/2021/staff_costs/manual", {"value": value, "source_document": "2021年决算"})
    assert bad.status_code == 422 and "实际完成值须为数字" in bad.text
    assert len(entries.manual_history(year, 2021, "staff_costs")) == 1
    budget = c.post_form("/indicators/2021/evaluation/edit", {"full_year_budget": value, "executed": "540"})
    assert budget.status_code == 422 and "全年预算数须为数字" in budget.text
    assert entries.latest_budget(year, 2021) is None


def test_computed_rows_take_no_manual_value(year, client_for):
    c = client_for("carol")
    assert c.get("/indicators/2021/safety_patrols/manual").status_code == 404
    r = c.post_form("/indicators/2021/safety_patrols/manual", {"value": "900", "source_document": "x"})
    assert r.status_code == 404 and entries.manual_history(year, 2021, "safety_patrols") == []


def test_evaluation_page_prints_on_a4(year, client_for):
    carol = client_for("carol")
    html = carol.get("/indicators/2021/evaluation?as_of=2021-12-31").text
    assert "2021年部门整体支出绩效自评表" in html
    css = carol.get("/static/evaluation.css").text  # a stylesheet of its own: the CSP allows no inline style
    assert f'href="{static_url("evaluation.css")}"' in html and "size: A4 landscape" in css and "display: table-header-group" in css
    # One group per 二级指标, each with its 一级/二级 labels, so a printed page never shows rows without them.
    assert html.count('<tbody class="group">') == 7
    assert ('<td class="level card-levels" rowspan="11">产出指标</td>\n'
            '    <td class="level card-levels" rowspan="11">数量指标</td>') in html
    assert '<td class="level card-levels" rowspan="3">社会效益</td>' in html
    assert "偏差原因分析及改进措施" in html and "预算执行率" in html


def test_chief_writes_notes_and_budget(year, client_for):
    c = client_for("carol")
    edit = c.get("/indicators/2021/evaluation/edit")
    assert edit.status_code == 200 and 'name="note_safety_patrols"' in edit.text
    bad = c.post_form("/indicators/2021/evaluation/edit", {"full_year_budget": "0", "executed": "-3"})
    assert bad.status_code == 422 and "全年预算数须大于 0" in bad.text and "全年执行数不能小于 0" in bad.text
    assert entries.latest_budget(year, 2021) is None
    ok = c.post_form("/indicators/2021/evaluation/edit",
                     {"initial_budget": "560.61", "full_year_budget": "560.61", "executed": "540",
                      "note_accident_rate": "全年无事故"}, follow_redirects=False)
    assert ok.status_code == 303
    html = c.get("/indicators/2021/evaluation?as_of=2021-12-31").text
    assert "全年无事故" in html and "96.32%" in html        # 540 / 560.61 = 96.32…%
    assert entries.latest_notes(year, 2021) == {"accident_rate": "全年无事故"}


def test_xlsx_export_merges_levels_like_the_printed_table(year, client_for):
    r = client_for("carol").get("/indicators/2021/evaluation.xlsx?as_of=2021-12-31")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in ws[3]] == ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "完成情况",
                                        "分值", "得分", "偏差原因分析及改进措施"]
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert {"A4:A37", "B4:B14", "B15:B25", "B26:B29", "B30:B37", "A38:A41", "B38:B40"} <= merged
    assert ws["C7"].value == "安全日常巡查" and ws["D7"].value == "500次" and ws["E7"].value == 72
    assert ws["E8"].value == 2.0 and ws["E8"].number_format == '0.0"（最少 2）"'   # shows 2.0（最少 2）
    assert ws.page_setup.orientation == "landscape"


def test_csv_export_has_a_bom_and_the_same_columns(year, client_for):
    r = client_for("carol").get("/indicators/2021/evaluation.csv?as_of=2021-12-31")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "偏差原因分析及改进措施" and len(rows[0]) == 9
    assert rows[1][:4] == ["产出指标", "数量指标", "本单位财政供养人员", "在职人数43人，退休人员14人"]
    assert rows[39][2] == "服务对象满意度" and len(rows) == 40   # one header row, the 39 indicator rows, nothing else


def test_campaign_evidence_names_the_campaigns(year, client_for):
    page = client_for("carol").get("/indicators/2021/campaigns?as_of=2021-12-31").text
    assert "第1次大检查" in page and "第10次大检查" in page


@pytest.mark.browser
def test_phone_width_and_print_layout(year, live_server, browser):
    from tests.conftest import browser_login

    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    browser_login(page, live_server, "carol")
    page.goto(f"{live_server}/indicators?year=2021&as_of=2021-12-31")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360   # the wide table scrolls in its own box
    page.goto(f"{live_server}/indicators/2021/evaluation?as_of=2021-12-31")
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible() and not page.locator(".noprint").first.is_visible()
    assert page.locator("table.evaluation thead").first.evaluate("e => getComputedStyle(e).display") == "table-header-group"
    pdf = page.pdf(format="A4", landscape=True, print_background=False)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2   # 39 rows run over pages
    context.close()


def test_admin_uploads_a_table_and_a_wrong_one_is_explained(db, client_for):
    from fieldlog.indicators import tables

    c = client_for("dave")
    text = (tables.TABLES_DIR / "hengdong-2021.toml").read_text(encoding="utf-8")
    good = text.replace("year = 2021", "year = 2022")
    bad = good.replace('rule = "count"', 'rule = "tally"', 1)
    r = c.post("/indicators/tables", data={"csrf_token": c.csrf}, files={"file": ("t.toml", bad.encode(), "text/plain")})
    assert r.status_code == 422 and "第4行「安全日常巡查」：未知的计算规则「tally」" in r.text
    assert tables.table_loads(db, 2022) == []
    r = c.post("/indicators/tables", data={"csrf_token": c.csrf}, files={"file": ("t.toml", good.encode(), "text/plain")},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/indicators/tables?loaded=2022"
    assert [h["loaded_by"] for h in tables.table_loads(db, 2022)] == ["dave"]
    assert client_for("carol").post("/indicators/tables", data={"csrf_token": "x"}).status_code == 403
