"""One number, one rounding: points that sum exactly, and the same digits on the page, the print, the XLSX, the CSV
and the API for the same year, checked against figures counted independently from the scenario."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st
from openpyxl import load_workbook

from fieldlog.indicators import figures, scoring, tables

from tests.factories import budget_year
from tests.test_table_fuzz import _dump

SHIPPED = tables.TABLES_DIR / "hengdong-2021.toml"


# --- points ---------------------------------------------------------------------------------------------

def test_the_hengdong_points_sum_to_each_weight_and_to_100():
    table = tables.parse_table(SHIPPED.read_text(encoding="utf-8"))
    points = scoring.row_points(table)
    by_part: dict[str, Decimal] = {}
    for row in table.rows:
        by_part[row.level1] = by_part.get(row.level1, Decimal(0)) + points[row.key]
    assert by_part == {"产出指标": Decimal("50.00"), "效益指标": Decimal("30.00"), "满意度指标": Decimal("10.00")}
    assert sum(points.values()) + table.scoring["budget_points"] == 100
    assert all(p == p.quantize(Decimal("0.01")) for p in points.values())


@st.composite
def generated_tables(draw) -> str:
    """A table file of 1–4 parts with weights in 0.01 units summing (with the budget) to 100, each part 1–40
    manual rows, some with their own points (never more than their part's weight)."""
    parts = draw(st.integers(1, 4))
    budget = draw(st.integers(0, 2000))                      # hundredths
    cuts = sorted(draw(st.lists(st.integers(0, 10000 - budget), min_size=parts - 1, max_size=parts - 1)))
    bounds = [0, *cuts, 10000 - budget]
    weights = {f"部分{i}": Decimal(bounds[i + 1] - bounds[i]) / 100 for i in range(parts)}
    rows = []
    for part, weight in weights.items():
        n = draw(st.integers(1, 40))
        left = int(weight * 100)
        for i in range(n):
            row = {"key": f"r{len(rows)}", "level1": part, "level2": "二级", "level3": f"指标{len(rows)}",
                   "target_text": "10次", "rule": "manual_number"}
            if i < n - 1 and left and draw(st.booleans()):
                own = draw(st.integers(0, left))
                left -= own
                row["points"] = own / 100
            rows.append(row)
    doc = {"station": "测试站", "year": 2021,
           "scoring": {"weights": {k: float(v) for k, v in weights.items()}, "budget_points": budget / 100},
           "rows": rows}
    return _dump(doc)


def _toml_weights_fix(text: str) -> str:
    # _dump writes dict keys bare; Chinese part names must be quoted in TOML.
    return re.sub(r"(部分\d)( = )", r'"\1"\2', text)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(generated_tables())
def test_generated_tables_share_points_exactly(text):
    table = tables.parse_table(_toml_weights_fix(text))
    points = scoring.row_points(table)
    for part, weight in table.scoring["weights"].items():
        mine = [points[r.key] for r in table.rows if r.level1 == part]
        assert sum(mine) == figures.points(weight)
        own = [r for r in table.rows if r.level1 == part and r.points is None]
        shares = [points[r.key] for r in own]
        assert not shares or max(shares) - min(shares) <= Decimal("0.01")   # shared equally, to the cent
    assert sum(points.values()) + figures.points(table.scoring["budget_points"]) == 100


def test_points_that_cannot_sum_to_the_weight_are_refused():
    text = SHIPPED.read_text(encoding="utf-8").replace('target_text = "500次"', 'target_text = "500次"\npoints = 60')
    with pytest.raises(Exception) as err:
        tables.parse_table(text)
    assert "产出指标" in str(err.value.errors) and "超过权重" in str(err.value.errors)
    text = SHIPPED.read_text(encoding="utf-8").replace('target_text = "500次"', 'target_text = "500次"\npoints = 1.555')
    with pytest.raises(Exception) as err:
        tables.parse_table(text)
    assert "最多两位小数" in str(err.value.errors)


# --- the same digits everywhere -------------------------------------------------------------------------

@pytest.fixture
def year(db, prebuilt):
    prebuilt(budget_year)
    return db


# Counted from the scenario by hand (perfect_year's docstring), not by the roll-up:
#  6 sites × 12 months = 72 safety patrols; 6 sites × 4 quarters × 1000 元 = 2.40 万元 of testing fees;
#  96 of 100 aware, 92 of 100 satisfied; no accident; enforcement 2 per site-month, minimum 2;
#  the 产出 points: 5000 hundredths / 34 rows = 147 r 2, so rows 1–2 show 1.48, the rest 1.47;
#  budget 561.24 / 578.3 = 97.0499…% shown 97.04%, scored 10 × 0.9704 = 9.70.
COUNTED = {"safety_patrols": "72", "testing_fees": "2.40万元", "awareness_rate": "96.0%", "satisfaction_rate": "92.0%",
           "accident_rate": "0.00‰", "enforcement_site_monthly": "2.0（最少 2）", "staff_costs": "360.50万元"}
COUNTED_POINTS = {"staff": "1.48", "operations": "1.48", "safety_patrols": "1.47", "accident_rate": "7.50",
                  "satisfaction_rate": "10.00"}


class _Cells(HTMLParser):
    """{row key: {css class: text}} of the cells carrying a class inside <tr data-key=…>."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self._key = self._cls = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-key" in a:
            self._key = a["data-key"]
            self.rows[self._key] = {}
        elif self._key and tag in ("td", "span") and a.get("data-cell"):
            self._cls = a["data-cell"]
            self.rows[self._key][self._cls] = ""

    def handle_endtag(self, tag):
        if tag == "tr":
            self._key = None
        if tag in ("td", "span"):
            self._cls = None

    def handle_data(self, data):
        if self._key and self._cls:
            self.rows[self._key][self._cls] += data.strip()


def cells_of(html: str) -> dict[str, dict[str, str]]:
    parser = _Cells()
    parser.feed(html)
    return parser.rows


def shown_in_excel(cell) -> str:
    """What Excel shows for a numeric cell with one of the formats the export writes (an independent reading)."""
    fmt, value = cell.number_format, cell.value
    if not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    m = re.fullmatch(r'0(?:\.(0+))?(%?)(?:"(.*)")?', fmt)
    assert m, f"unexpected number format {fmt!r}"
    decimals = len(m.group(1) or "")
    number = Decimal(repr(value)) * (100 if m.group(2) else 1)
    return f"{number:.{decimals}f}" + m.group(2) + (m.group(3) or "")


def test_every_output_shows_the_same_digits(year, client_for):
    carol = client_for("carol")
    query = "?year=2021&as_of=2021-12-31"
    api = carol.get(f"/api/v1/indicators{query}").json()
    api_rows = {r["key"]: r for r in api["rows"]}
    page = cells_of(carol.get(f"/indicators{query}").text)
    printed = cells_of(carol.get("/indicators/2021/evaluation?as_of=2021-12-31").text)
    ws = load_workbook(io.BytesIO(carol.get("/indicators/2021/evaluation.xlsx?as_of=2021-12-31").content)).active
    csv_rows = list(csv.reader(io.StringIO(carol.get("/indicators/2021/evaluation.csv?as_of=2021-12-31")
                                           .content.decode("utf-8-sig"))))
    keys = [r["key"] for r in api["rows"]]
    xlsx = {key: ws[4 + i] for i, key in enumerate(keys)}
    assert [c.value for c in xlsx[keys[-1]]][2] == api_rows[keys[-1]]["level3"]
    csv_by_key = dict(zip(keys, csv_rows[1:]))

    for key, row in api_rows.items():
        beside = re.search(r"（.*）$", csv_by_key[key][4])
        api_actual = row["actual_text"] + (beside.group(0) if beside else "")
        assert printed[key]["actual"] == csv_by_key[key][4] == shown_in_excel(xlsx[key][4]) == api_actual, key
        assert page[key]["figure"] == row["actual_text"], key
        if row["unit"] or row["decimals"] is not None:     # a figure: a number in the XLSX
            assert isinstance(xlsx[key][4].value, (int, float)), key
            digits = re.match(r"[0-9.]+", row["actual_text"]).group(0)
            assert Decimal(repr(row["actual"])) == Decimal(digits), key
        for col, field in ((6, "points"), (7, "score")):
            shown = f"{Decimal(repr(row[field])):.2f}"
            assert page[key][field] == printed[key][field] == csv_by_key[key][col] == shown_in_excel(xlsx[key][col]) \
                == shown, (key, field)
    # The independent counts.
    assert {k: csv_by_key[k][4] for k in COUNTED} == COUNTED
    assert {k: csv_by_key[k][6] for k in COUNTED_POINTS} == COUNTED_POINTS

    # Points: a number in every row, summing to 100 with the budget block's 10.
    points = [xlsx[k][6].value for k in keys]
    assert all(isinstance(p, (int, float)) for p in points)
    budget_row = next(r for r in ws.iter_rows(min_row=4 + len(keys)) if r[0].value == "年初预算数（万元）")
    values = ws[budget_row[0].row + 1]
    assert sum(Decimal(repr(p)) for p in points) + Decimal(repr(values[4].value)) == 100
    # The budget block: numbers, 97.04% as on the page and in the API, the score from the shown rate.
    assert [shown_in_excel(c) for c in values[:6]] == ["560.00万元", "578.30万元", "561.24万元", "97.04%", "10.00",
                                                       "9.70"]
    assert (api["budget"]["rate"], api["budget"]["rate_text"], api["budget"]["score"]) == (97.04, "97.04%", 9.7)
    assert "97.04%" in carol.get(f"/indicators{query}").text and "97.05" not in carol.get(f"/indicators{query}").text
    assert "97.04%" in carol.get("/indicators/2021/evaluation?as_of=2021-12-31").text
    # The total: the sum of the scores shown (an independent SUM of the XLSX cells), the same in every output.
    total_row = next(r for r in ws.iter_rows(min_row=budget_row[0].row) if r[0].value == "总分")
    xlsx_sum = sum(Decimal(repr(xlsx[k][7].value)) for k in keys) + Decimal(repr(values[5].value))
    assert Decimal(repr(total_row[1].value)) == xlsx_sum == Decimal(repr(api["total"]["score"]))
    assert api["total"]["score_text"] == f"{xlsx_sum:.2f}"
    assert f"总分 {xlsx_sum:.2f}" in carol.get("/indicators/2021/evaluation?as_of=2021-12-31").text


def test_xlsx_is_a_spreadsheet(year, client_for):
    r = client_for("carol").get("/indicators/2021/evaluation.xlsx?as_of=2021-12-31")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="evaluation-2021-2021-12-31.xlsx"; filename*=UTF-8\'\'')
    from urllib.parse import unquote

    name = unquote(disposition.split("filename*=UTF-8''")[1])
    assert name == "衡东县建设工程质量安全监督站2021年绩效自评表（截至2021-12-31）.xlsx"
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws.freeze_panes == "A4" and ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws["D7"].value == "500次" and ws["D7"].data_type == "s"          # text targets stay text
    rows = {ws.cell(i, 3).value: ws[i] for i in range(4, 43)}
    assert ws["E7"].value == 72 and ws["E7"].number_format == "0"            # 安全日常巡查 500次
    assert rows["服务对象满意度"][4].number_format == "0.0%"
    assert rows["服务对象满意度"][4].value == pytest.approx(0.92)
    assert rows["安全事故控制率"][4].number_format == '0.00"‰"'
    assert rows["工程实体质量比对监督检测"][4].number_format == '0.00"万元"'
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)     # no formula anywhere
