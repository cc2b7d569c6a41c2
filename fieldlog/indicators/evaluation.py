"""The year-end self-evaluation (绩效自评表): rows with scores and notes, the budget block, the total; CSV/XLSX/JSON."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog import exports
from fieldlog.errors import InvalidInput
from fieldlog.indicators import entries, rollup, tables
from fieldlog.indicators.rollup import RowResult, fmt_score
from fieldlog.indicators.scoring import Totals

BUDGET_FIELDS = ("initial_budget", "full_year_budget", "executed")
NOTE_MAX = 2000
COLUMNS = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "完成情况", "分值", "得分", "偏差原因分析及改进措施"]


@dataclass
class Evaluation:
    """Everything the 自评表 shows for a year as of a date."""

    table: tables.TargetTable
    as_of: date
    results: list[RowResult]
    totals: Totals
    notes: dict[str, str]


def build(db: Database, year: int, as_of: date, tz: ZoneInfo | None = None) -> Evaluation:
    """Roll up the year's table as of a date and gather the chief's notes and budget."""
    table = tables.table_for_year(db, year)
    results = rollup.compute(db, table, as_of, tz)
    return Evaluation(table, as_of, results, rollup.totals(db, table, results), entries.latest_notes(db, year))


def edit_values(ev: Evaluation) -> dict[str, str]:
    """The chief's edit form as stored: each row's 偏差原因 note and the budget block's numbers."""
    budget = ev.totals.budget["entry"] or {}
    values = {f"note_{r.key}": ev.notes.get(r.key, "") for r in ev.results}
    values.update({k: "" if budget.get(k) is None else f"{budget[k]:g}" for k in BUDGET_FIELDS})
    return values


def _budget_given(values: dict) -> bool:
    # A form with the budget block left empty saves only the notes.
    return any(values.get(k, "").strip() for k in BUDGET_FIELDS)


def _edit_errors(ev: Evaluation, values: dict) -> dict[str, str]:
    """Every message about the edit form: notes too long, then the budget block's fields (when any is given)."""
    errors = {f"note_{r.key}": f"「{r.level3}」的偏差原因分析过长（最多 {NOTE_MAX} 字）"
              for r in ev.results if len(values.get(f"note_{r.key}", "")) > NOTE_MAX}
    if _budget_given(values):
        try:
            entries.clean_budget(values)
        except InvalidInput as exc:
            errors.update(exc.errors)
    return errors


def save_edit(db: Database, ev: Evaluation, values: dict, user: dict | None, now: datetime | None = None) -> None:
    """Store the edit form: the notes that changed, and the budget block when given and changed; InvalidInput stores nothing."""
    errors = _edit_errors(ev, values)
    if errors:
        raise InvalidInput(errors)
    stored = ev.totals.budget["entry"] or {}
    with db.atomic():
        for r in ev.results:
            text = values.get(f"note_{r.key}", "").strip()
            if text != ev.notes.get(r.key, ""):
                entries.save_note(db, ev.table.year, r.key, text, user, now)
        cleaned = entries.clean_budget(values) if _budget_given(values) else None
        if cleaned and any(cleaned[k] != stored.get(k) for k in cleaned):
            entries.save_budget(db, ev.table.year, values, user, now)


def completion(r: RowResult) -> str:
    """完成情况: the chief's grade for qualitative rows, else 达成/未达成 (— while unknown)."""
    return r.grade if r.grade else r.met_text


def actual_cell(r: RowResult) -> str:
    """实际完成值 with the figure that stands beside it (e.g. the minimum beside a mean)."""
    return f"{r.actual_text}（{r.outcome.beside}）" if r.outcome is not None and r.outcome.beside else r.actual_text


def row_cells(ev: Evaluation, r: RowResult) -> list[str]:
    return [r.level1, r.level2, r.level3, r.target_text, actual_cell(r), completion(r), f"{r.points:.2f}",
            fmt_score(r.score), ev.notes.get(r.key, "")]


def budget_lines(ev: Evaluation) -> list[list[str]]:
    """The budget execution block as label/value lines."""
    b = ev.totals.budget
    entry = b["entry"] or {}

    def money(v) -> str:
        return "" if v is None else f"{v:g}"

    rate = "" if b["rate"] is None else f"{rollup.cut(b['rate'] * 100, 2)}%"
    return [["年初预算数（万元）", money(entry.get("initial_budget"))], ["全年预算数（万元）", money(entry.get("full_year_budget"))],
            ["全年执行数（万元）", money(entry.get("executed"))], ["执行率", rate],
            ["分值", f"{b['points']:g}"], ["得分", fmt_score(b["score"])]]


def to_csv(ev: Evaluation) -> bytes:
    """UTF-8 with BOM (so Excel opens it), the 自评表 columns, then the budget block and the total."""
    buf = io.StringIO()
    w = exports.csv_writer(buf)
    w.writerow(COLUMNS)
    for r in ev.results:
        w.writerow(row_cells(ev, r))
    w.writerow([])
    w.writerow(["预算执行率"])
    for label, value in budget_lines(ev):
        w.writerow([label, value])
    w.writerow([])
    w.writerow(["总分", fmt_score(ev.totals.total), "等级", ev.totals.grade])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _runs(values: list[str]) -> list[tuple[int, int]]:
    """(first, last) index pairs of runs of equal consecutive values."""
    runs, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            runs.append((start, i - 1))
            start = i
    return runs


def to_xlsx(ev: Evaluation) -> bytes:
    """An A4-landscape workbook with the level cells merged as in the printed table."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    wb = Workbook()
    ws = wb.active
    ws.title = f"{ev.table.year}绩效自评表"
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    exports.append(ws, [f"{ev.table.year}年部门整体支出绩效自评表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    exports.append(ws, [f"填报单位：{ev.table.station}", "", "", "", f"截至 {ev.as_of.isoformat()}"])
    exports.append(ws, COLUMNS)
    first = 4
    for r in ev.results:
        exports.append(ws, row_cells(ev, r))
    last = first + len(ev.results) - 1
    level1 = [r.level1 for r in ev.results]
    level12 = [(r.level1, r.level2) for r in ev.results]
    for col, values in ((1, level1), (2, level12)):
        for a, b in _runs(values):
            if b > a:
                ws.merge_cells(start_row=first + a, start_column=col, end_row=first + b, end_column=col)
    for row in ws.iter_rows(min_row=3, max_row=last, max_col=len(COLUMNS)):
        for cell in row:
            cell.border, cell.alignment = border, wrap
    for cell in ws[3]:
        cell.font = Font(bold=True)
    exports.append(ws, [])
    exports.append(ws, ["预算执行率"])
    for label, value in budget_lines(ev):
        exports.append(ws, [label, value])
    exports.append(ws, [])
    exports.append(ws, ["总分", fmt_score(ev.totals.total), "等级", ev.totals.grade])
    for col, width in zip("ABCDEFGHI", (10, 14, 34, 18, 22, 10, 8, 8, 36)):
        ws.column_dimensions[col].width = width
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_json(ev: Evaluation) -> dict:
    """JSON-ready: every row, the budget block and the total."""
    b = ev.totals.budget
    entry = b["entry"] or {}
    return {
        "year": ev.table.year, "station": ev.table.station, "as_of": ev.as_of.isoformat(),
        "table": {"origin": ev.table.origin, "inherited_from": ev.table.inherited_from},
        "rows": [{**r.as_dict(), "note": ev.notes.get(r.key, "")} for r in ev.results],
        "budget": {"initial_budget": entry.get("initial_budget"), "full_year_budget": entry.get("full_year_budget"),
                   "executed": entry.get("executed"), "rate": b["rate"], "points": b["points"],
                   "score": round(b["score"], 4)},
        "total": {"rows_score": round(ev.totals.rows_score, 4), "score": round(ev.totals.total, 4),
                  "score_text": fmt_score(ev.totals.total), "grade": ev.totals.grade},
    }


def layout(ev: Evaluation) -> list[dict]:
    """Rows with the rowspans of their merged 一级/二级 cells (0 where a cell is covered by the one above)."""
    out = [{"row": r, "span1": 0, "span2": 0} for r in ev.results]
    for a, b in _runs([r.level1 for r in ev.results]):
        out[a]["span1"] = b - a + 1
    for a, b in _runs([(r.level1, r.level2) for r in ev.results]):
        out[a]["span2"] = b - a + 1
    return out
