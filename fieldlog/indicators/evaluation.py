"""The year-end self-evaluation (绩效自评表): rows with scores and notes, the budget block, the total; CSV/XLSX/JSON."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog import exports
from fieldlog.db import write
from fieldlog.errors import InvalidInput
from fieldlog.indicators import entries, rollup, tables
from fieldlog.indicators.rollup import RowResult, fmt_score
from fieldlog.indicators.scoring import Totals
from fieldlog.messages import label, t

BUDGET_FIELDS = ("initial_budget", "full_year_budget", "executed")
NOTE_MAX = entries.NOTE_MAX
# The 自评表 columns in printed order (headings: LABELS["evaluation_column"]).
COLUMN_KEYS = ("level1", "level2", "level3", "target", "actual", "completion", "points", "score", "note")


def columns() -> list[str]:
    """The column headings of the 自评表 (page, XLSX, CSV)."""
    return [label("evaluation_column", key) for key in COLUMN_KEYS]


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
    errors = {f"note_{r.key}": t("evaluation.note_too_long", level3=r.level3, max=NOTE_MAX)
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
    with write(db):
        for r in ev.results:
            text = values.get(f"note_{r.key}", "").strip()
            if text != ev.notes.get(r.key, ""):
                entries.save_note(db, ev.table.year, r.key, text, user, now)
        cleaned = entries.clean_budget(values) if _budget_given(values) else None
        if cleaned and any(cleaned[k] != stored.get(k) for k in cleaned):
            entries.save_budget(db, ev.table.year, values, user, now)


def completion(r: RowResult) -> str:
    """完成情况 as a LABELS["completion"] value: the chief's grade for qualitative rows, else met/missed (pending while unknown)."""
    return r.completion


def actual_cell(r: RowResult) -> str:
    """实际完成值 with the figure that stands beside it (e.g. the minimum beside a mean)."""
    if r.outcome is not None and r.outcome.beside:
        return t("evaluation.actual_with_beside", actual=r.actual_text, beside=r.outcome.beside)
    return r.actual_text


def row_cells(ev: Evaluation, r: RowResult) -> list[str]:
    return [r.level1, r.level2, r.level3, r.target_text, actual_cell(r), r.completion_text, f"{r.points:.2f}",
            fmt_score(r.score), ev.notes.get(r.key, "")]


def budget_lines(ev: Evaluation) -> list[list[str]]:
    """The budget execution block as label/value lines."""
    b = ev.totals.budget
    entry = b["entry"] or {}

    def money(v) -> str:
        return "" if v is None else f"{v:g}"

    rate = "" if b["rate"] is None else f"{rollup.cut(b['rate'] * 100, 2)}%"
    return [[t("evaluation.budget_initial"), money(entry.get("initial_budget"))],
            [t("evaluation.budget_full_year"), money(entry.get("full_year_budget"))],
            [t("evaluation.budget_executed"), money(entry.get("executed"))], [t("evaluation.budget_rate"), rate],
            [label("evaluation_column", "points"), f"{b['points']:g}"],
            [label("evaluation_column", "score"), fmt_score(b["score"])]]


def total_line(ev: Evaluation) -> list[str]:
    """The last line of the exports: 总分, the total, 等级, the band."""
    return [t("evaluation.total"), fmt_score(ev.totals.total), t("evaluation.grade"), ev.totals.grade]


def to_csv(ev: Evaluation) -> bytes:
    """UTF-8 with BOM (so Excel opens it), the 自评表 columns, then the budget block and the total."""
    buf = io.StringIO()
    w = exports.csv_writer(buf)
    w.writerow(columns())
    for r in ev.results:
        w.writerow(row_cells(ev, r))
    w.writerow([])
    w.writerow([t("evaluation.budget_heading")])
    for name, value in budget_lines(ev):
        w.writerow([name, value])
    w.writerow([])
    w.writerow(total_line(ev))
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
    ws.title = t("evaluation.sheet_title", year=ev.table.year)
    headings = columns()
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    exports.append(ws, [t("evaluation.title", year=ev.table.year)])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headings))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    exports.append(ws, [t("evaluation.station", station=ev.table.station), "", "", "",
               t("evaluation.as_of", day=ev.as_of.isoformat())])
    exports.append(ws, headings)
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
    for row in ws.iter_rows(min_row=3, max_row=last, max_col=len(headings)):
        for cell in row:
            cell.border, cell.alignment = border, wrap
    for cell in ws[3]:
        cell.font = Font(bold=True)
    exports.append(ws, [])
    exports.append(ws, [t("evaluation.budget_heading")])
    for name, value in budget_lines(ev):
        exports.append(ws, [name, value])
    exports.append(ws, [])
    exports.append(ws, total_line(ev))
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
                  "score_text": fmt_score(ev.totals.total), "grade": ev.totals.grade, "band": ev.totals.band},
    }


def layout(ev: Evaluation) -> list[dict]:
    """Rows with the rowspans of their merged 一级/二级 cells (0 where a cell is covered by the one above)."""
    out = [{"row": r, "span1": 0, "span2": 0} for r in ev.results]
    for a, b in _runs([r.level1 for r in ev.results]):
        out[a]["span1"] = b - a + 1
    for a, b in _runs([(r.level1, r.level2) for r in ev.results]):
        out[a]["span2"] = b - a + 1
    return out
