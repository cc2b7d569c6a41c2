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
from fieldlog.indicators import entries, figures, rollup, tables
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

    @property
    def points_total(self):
        """Σ 分值 shown plus the budget block's points: 100 with the default weights."""
        return sum((r.points for r in self.results), figures.points(self.totals.budget["points"]))


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
    return actual_of(r).text


# --- the cells every output shows: text for the page and the CSV, a number and its format for the XLSX ------

@dataclass(frozen=True)
class Cell:
    """One cell of the 自评表: the text the page, the print and the CSV show; for a figure, the number an XLSX
    cell holds and the number format that shows it as that same text."""

    text: str
    number: float | None = None
    number_format: str = "General"


def text_cell(value) -> Cell:
    return Cell("" if value is None else str(value))


def figure_cell(fig: figures.Figure | None, beside: str = "") -> Cell:
    """A figure as a cell; what stands beside it (最少 1) is part of its text and of its number format."""
    if fig is None:
        return Cell("")
    if not beside:
        return Cell(fig.text, fig.cell, fig.number_format)
    literal = beside.replace('"', "")
    return Cell(t("evaluation.actual_with_beside", actual=fig.text, beside=beside), fig.cell,
                fig.number_format + '"' + t("evaluation.actual_with_beside", actual="", beside=literal) + '"')


def points_cell(value) -> Cell:
    """分值 or 得分 (already cut to 0.01)."""
    shown = figures.points(value)
    return Cell(figures.text(shown, 2), float(shown), "0.00")


def actual_of(r: RowResult) -> Cell:
    beside = r.outcome.beside if r.outcome is not None else ""
    if r.figure is not None:
        return figure_cell(r.figure, beside)
    text = r.actual_text if not beside else t("evaluation.actual_with_beside", actual=r.actual_text, beside=beside)
    return Cell(text)


def row_cells(ev: Evaluation, r: RowResult) -> list[Cell]:
    """The nine columns of a row (COLUMN_KEYS)."""
    return [text_cell(r.level1), text_cell(r.level2), text_cell(r.level3), text_cell(r.target_text), actual_of(r),
            text_cell(r.completion_text), points_cell(r.points), points_cell(r.score),
            text_cell(ev.notes.get(r.key, ""))]


MONEY_KEYS = ("initial_budget", "full_year_budget", "executed")


def budget_cells(ev: Evaluation) -> list[tuple[str, Cell]]:
    """The budget execution block (年初预算数, 全年预算数, 全年执行数 in 万元; 执行率; 分值; 得分) as heading/cell pairs."""
    b = ev.totals.budget
    entry = b["entry"] or {}
    money = [figure_cell(None if entry.get(k) is None else figures.figure(entry[k], 2, figures.WAN_YUAN)) for k in MONEY_KEYS]
    names = [t("evaluation.budget_initial"), t("evaluation.budget_full_year"), t("evaluation.budget_executed")]
    return [*zip(names, money), (t("evaluation.budget_rate"), figure_cell(b["rate_figure"])),
            (label("evaluation_column", "points"), points_cell(b["points"])),
            (label("evaluation_column", "score"), points_cell(b["score"]))]


def budget_lines(ev: Evaluation) -> list[list[str]]:
    """The budget execution block as heading/text pairs (the page)."""
    return [[name, c.text] for name, c in budget_cells(ev)]


def total_cells(ev: Evaluation) -> list[Cell]:
    """The last line: 总分, the total (the sum of the scores shown), 等级, the band."""
    return [text_cell(t("evaluation.total")), points_cell(ev.totals.total), text_cell(t("evaluation.grade")),
            text_cell(ev.totals.grade)]


def file_name(ev: Evaluation, ext: str) -> str:
    """The export's file name: station, year and as-of date, in Chinese."""
    return t("evaluation.file_name", station=ev.table.station, year=ev.table.year, day=ev.as_of.isoformat(), ext=ext)


def to_csv(ev: Evaluation) -> bytes:
    """One table: the header row and the indicator rows, UTF-8 with BOM (so Excel opens it). The budget block
    and the total are in the XLSX and the JSON."""
    buf = io.StringIO()
    w = exports.csv_writer(buf)
    w.writerow(columns())
    for r in ev.results:
        w.writerow([c.text for c in row_cells(ev, r)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _runs(values: list[str]) -> list[tuple[int, int]]:
    """(first, last) index pairs of runs of equal consecutive values."""
    runs, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            runs.append((start, i - 1))
            start = i
    return runs


def _put(ws, cells: list[Cell]) -> None:
    """Append a row: figures as numbers with their number format, text through exports (never a formula)."""
    exports.append(ws, [c.number if c.number is not None else c.text for c in cells])
    for cell, c in zip(ws[ws.max_row], cells):
        if c.number is not None:
            cell.number_format = c.number_format


HEADER_ROW = 3


def to_xlsx(ev: Evaluation) -> bytes:
    """A spreadsheet of the 自评表: figures are numbers with number formats (counts 0, rates 0.0%, ‰, 万元 with two
    decimals, points 0.00), text targets stay text, level cells merged, the header frozen and repeated on every
    printed page, A4 landscape fit to width; the budget block and the total below the table, numeric too."""
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
    first = HEADER_ROW + 1
    for r in ev.results:
        _put(ws, row_cells(ev, r))
    last = first + len(ev.results) - 1
    for col, values in ((1, [r.level1 for r in ev.results]), (2, [(r.level1, r.level2) for r in ev.results])):
        for a, b in _runs(values):
            if b > a:
                ws.merge_cells(start_row=first + a, start_column=col, end_row=first + b, end_column=col)
    for row in ws.iter_rows(min_row=HEADER_ROW, max_row=last, max_col=len(headings)):
        for cell in row:
            cell.border, cell.alignment = border, wrap
    for cell in ws[HEADER_ROW]:
        cell.font = Font(bold=True)
    exports.append(ws, [])
    exports.append(ws, [t("evaluation.budget_heading")])
    block = budget_cells(ev)
    exports.append(ws, [name for name, _ in block])
    _put(ws, [c for _, c in block])
    for row in ws.iter_rows(min_row=ws.max_row - 1, max_row=ws.max_row, max_col=len(block)):
        for cell in row:
            cell.border, cell.alignment = border, wrap
    exports.append(ws, [])
    _put(ws, total_cells(ev))
    for col, width in zip("ABCDEFGHI", (10, 14, 34, 18, 22, 10, 8, 8, 36)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = ws.cell(row=first, column=1)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_json(ev: Evaluation) -> dict:
    """JSON-ready: every row, the budget block and the total, with the same figures as the page and the XLSX."""
    b = ev.totals.budget
    entry = b["entry"] or {}
    rate = b["rate_figure"]
    return {
        "year": ev.table.year, "station": ev.table.station, "as_of": ev.as_of.isoformat(),
        "table": {"origin": ev.table.origin, "inherited_from": ev.table.inherited_from},
        "rows": [{**r.as_dict(), "note": ev.notes.get(r.key, "")} for r in ev.results],
        "budget": {"initial_budget": entry.get("initial_budget"), "full_year_budget": entry.get("full_year_budget"),
                   "executed": entry.get("executed"), "rate": rate.number if rate else None,
                   "rate_text": rate.text if rate else None, "rate_exact": b["rate"], "points": b["points"],
                   "score": float(b["score"])},
        "total": {"rows_score": float(ev.totals.rows_score), "score": float(ev.totals.total),
                  "score_text": fmt_score(ev.totals.total), "grade": ev.totals.grade, "band": ev.totals.band},
    }


def layout(ev: Evaluation) -> list[dict]:
    """The rows in groups of one 二级指标 each ({level1, level2, rows: [(result, cells)]}): the print keeps a group
    on one page with its 一级/二级 labels (a group never breaks across pages; the header repeats on each)."""
    groups: list[dict] = []
    for r in ev.results:
        if not groups or (groups[-1]["level1"], groups[-1]["level2"]) != (r.level1, r.level2):
            groups.append({"level1": r.level1, "level2": r.level2, "rows": []})
        groups[-1]["rows"].append((r, row_cells(ev, r)))
    return groups
