"""Indicator pages: the year's table with actuals, evidence per row, manual values, the 自评表 and its exports."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlite_utils import Database

from fieldlog.errors import InvalidInput
from fieldlog.indicators import entries, evaluation, evidence, rollup, tables
from fieldlog.messages import t
from fieldlog.web import Page, attachment, current_time, get_db, redirect, render, render_page, require, station_today

router = APIRouter()

VIEW = require("chief", "admin")
EDIT = require("chief")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _today(request: Request) -> date:
    return station_today(request)


def _year_as_of(request: Request, year, as_of) -> tuple[int, date]:
    return evidence.parse_year_as_of(year, as_of, _today(request))


def _year(request: Request, year: str) -> int:
    return _year_as_of(request, year, None)[0]


@router.get("/indicators")
def indicators_page(request: Request, year: str = "", as_of: str = "", db: Database = Depends(get_db),
                    user=Depends(VIEW)):
    """The year's table as of a date: actual, 完成情况, source, points and score of every row."""
    try:
        y, day = _year_as_of(request, year, as_of)
    except InvalidInput as exc:
        return render(request, "indicators.html", {"errors": exc.errors, "year": year, "as_of": as_of, "ev": None}, 422)
    ev = evaluation.build(db, y, day, request.app.state.config.tz)
    return render_page(request, "indicators.html", "_indicators_table.html",
                       {"ev": ev, "year": y, "as_of": day.isoformat(), "errors": {}, "fmt_score": rollup.fmt_score,
                        "completion": evaluation.completion, "actual_cell": evaluation.actual_cell})


# --- the self-evaluation (declared before /indicators/{year}/{row_key}) -----------------------------------

def _evaluation(request: Request, db: Database, year: str, as_of: str):
    y, day = _year_as_of(request, year, as_of)
    return evaluation.build(db, y, day, request.app.state.config.tz)


@router.get("/indicators/{year}/evaluation")
def evaluation_page(request: Request, year: str, as_of: str = "", db: Database = Depends(get_db), user=Depends(VIEW)):
    """The 绩效自评表, ready to print on A4."""
    ev = _evaluation(request, db, year, as_of)
    return render(request, "evaluation.html", {"ev": ev, "budget": evaluation.budget_lines(ev),
                                               "layout": evaluation.layout(ev),
                                               "signature": entries.latest_signature(db, ev.table.year),
                                               "fmt_score": rollup.fmt_score, "completion": evaluation.completion,
                                               "actual_cell": evaluation.actual_cell})


@router.get("/indicators/{year}/evaluation.csv")
def evaluation_csv(request: Request, year: str, as_of: str = "", db: Database = Depends(get_db), user=Depends(VIEW)):
    """The indicator rows as one CSV table (UTF-8 with BOM); the budget block and the total are in the XLSX."""
    ev = _evaluation(request, db, year, as_of)
    return Response(evaluation.to_csv(ev), media_type="text/csv; charset=utf-8",
                    headers=attachment(evaluation.file_name(ev, "csv"), f"evaluation-{ev.table.year}-{ev.as_of}.csv"))


@router.get("/indicators/{year}/evaluation.xlsx")
def evaluation_xlsx(request: Request, year: str, as_of: str = "", db: Database = Depends(get_db), user=Depends(VIEW)):
    """The 自评表 as a spreadsheet: numbers as numbers, the budget block and the total below the table."""
    ev = _evaluation(request, db, year, as_of)
    return Response(evaluation.to_xlsx(ev), media_type=XLSX_TYPE,
                    headers=attachment(evaluation.file_name(ev, "xlsx"), f"evaluation-{ev.table.year}-{ev.as_of}.xlsx"))


def _edit_context(ev, values: dict | None = None, errors: dict | None = None) -> dict:
    return {"ev": ev, "values": evaluation.edit_values(ev) if values is None else values, "errors": errors or {},
            "completion": evaluation.completion}


@router.get("/indicators/{year}/evaluation/edit")
def evaluation_edit(request: Request, year: str, db: Database = Depends(get_db), user=Depends(EDIT)):
    """The chief's form: 偏差原因分析及改进措施 of each row and the budget execution block."""
    ev = _evaluation(request, db, year, "")
    return render(request, "evaluation_edit.html", _edit_context(ev))


@router.post("/indicators/{year}/evaluation/edit")
async def evaluation_save(request: Request, year: str, db: Database = Depends(get_db), user=Depends(EDIT)):
    ev = _evaluation(request, db, year, "")
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        evaluation.save_edit(db, ev, values, user, now=current_time(request))
    except InvalidInput as exc:
        return render(request, "evaluation_edit.html", _edit_context(ev, values, exc.errors), 422)
    return redirect(f"/indicators/{ev.table.year}/evaluation")


def _signature_form(request: Request, year: int, values: dict, errors: dict, status: int = 200):
    return render(request, "evaluation_signature.html", {"year": year, "values": values, "errors": errors}, status)


@router.get("/indicators/{year}/evaluation/signature")
def signature_form(request: Request, year: str, db: Database = Depends(get_db), user=Depends(EDIT)):
    """The chief's form for the closing block: 单位负责人、填表人、联系电话、填报日期 (once a year)."""
    y = _year(request, year)
    return _signature_form(request, y, entries.latest_signature(db, y) or {}, {})


@router.post("/indicators/{year}/evaluation/signature")
async def signature_save(request: Request, year: str, db: Database = Depends(get_db), user=Depends(EDIT)):
    y = _year(request, year)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in entries.SIGNATURE_FIELDS}
    try:
        entries.save_signature(db, y, values, user, now=current_time(request))
    except InvalidInput as exc:
        return _signature_form(request, y, values, exc.errors, 422)
    return redirect(f"/indicators/{y}/evaluation")


# --- one row: evidence and manual values -------------------------------------------------------------

def _row(db: Database, year: int, row_key: str):
    table = tables.table_for_year(db, year)
    return table, table.row(row_key)


@router.get("/indicators/{year}/{row_key}")
def indicator_detail(request: Request, year: str, row_key: str, as_of: str = "", page: Page = 1, show: str = "",
                     db: Database = Depends(get_db), user=Depends(VIEW)):
    """The evidence of a row: the events it counted, the subject-periods or periods it judged, its manual entries."""
    y, day = _year_as_of(request, year, as_of)
    table, row = _row(db, y, row_key)
    explained = rollup.explain_row(db, row, y, day, request.app.state.config.tz)
    result, outcome = explained.result, explained.outcome
    page = max(1, page)
    events, total = evidence.event_rows(db, explained.ctx, outcome, row.params.get("field"), (page - 1) * evidence.PAGE)
    every = len(outcome.periods)
    only_missed = show == "missed" or (show != "all" and every > 300)
    periods = evidence.period_rows(db, outcome, row.params.get("subject", "site"), only_missed)
    return render(request, "indicator_detail.html", {
        "table": table, "row": row, "result": result, "outcome": outcome, "as_of": day.isoformat(), "year": y,
        "events": events, "events_total": total, "page": page, "pages": max(1, -(-total // evidence.PAGE)),
        "periods": periods, "periods_total": every, "only_missed": only_missed,
        "history": entries.manual_history(db, y, row.key), "can_edit": user["role"] == "chief",
        "overridable": row.params.get("manual_override", False), "computed_text": outcome.actual_text,
        "survey": evidence.survey_sources(db, row, explained.ctx)})


def _manual_context(db: Database, year: int, row, values: dict, errors: dict) -> dict:
    return {"year": year, "row": row, "values": values, "errors": errors, "grades": entries.GRADES,
            "history": entries.manual_history(db, year, row.key)}


@router.get("/indicators/{year}/{row_key}/manual")
def manual_value_form(request: Request, year: str, row_key: str, db: Database = Depends(get_db), user=Depends(EDIT)):
    """The chief's form for a manual row's value, with the history of earlier entries."""
    y = _year(request, year)
    row = entries.check_enterable(_row(db, y, row_key)[1])
    return render(request, "manual_value.html", _manual_context(db, y, row, {}, {}))


@router.post("/indicators/{year}/{row_key}/manual")
async def manual_value_save(request: Request, year: str, row_key: str, db: Database = Depends(get_db),
                            user=Depends(EDIT)):
    y = _year(request, year)
    row = entries.check_enterable(_row(db, y, row_key)[1])
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("value", "grade", "source_document", "note")}
    try:
        entries.save_manual_value(db, y, row, values, user, now=current_time(request))
    except InvalidInput as exc:
        return render(request, "manual_value.html", _manual_context(db, y, row, values, exc.errors), 422)
    return redirect(f"/indicators/{y}/{row.key}")


# --- target tables (admin) -----------------------------------------------------------------------------

MAX_TABLE_BYTES = 512 * 1024


def _tables_context(db: Database, errors: dict | None = None, loaded: str = "") -> dict:
    return {"history": tables.recent_loads(db, 50), "shipped": sorted(tables.shipped_tables()), "errors": errors or {}, "loaded": loaded}


@router.get("/indicators/tables")
def tables_page(request: Request, loaded: str = "", db: Database = Depends(get_db), user=Depends(require("admin"))):
    """Target tables in force and the upload form for a year's TOML file."""
    return render(request, "indicators_tables.html", _tables_context(db, loaded=loaded))


@router.post("/indicators/tables")
async def tables_upload(request: Request, db: Database = Depends(get_db), user=Depends(require("admin"))):
    form = await request.form()
    upload = form.get("file")
    errors = {}
    data = await upload.read(MAX_TABLE_BYTES + 1) if hasattr(upload, "read") else b""
    if not data:
        errors["file"] = t("routes.table_file_required")
    elif len(data) > MAX_TABLE_BYTES:
        errors["file"] = t("routes.table_file_too_large", kb=MAX_TABLE_BYTES // 1024)
    else:
        try:
            table = tables.load_table(db, data.decode("utf-8-sig"), loaded_by=user["username"],
                                      now=current_time(request))
        except UnicodeDecodeError:
            errors["file"] = t("routes.table_file_not_utf8")
        except InvalidInput as exc:
            errors = exc.errors
        else:
            return redirect(f"/indicators/tables?loaded={table.year}")
    return render(request, "indicators_tables.html", _tables_context(db, errors), 422)
