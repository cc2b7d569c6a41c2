"""What the chief enters by hand: manual row values, 偏差原因分析 texts and the budget execution block."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlite_utils import Database

from fieldlog import audit
from fieldlog.db import write
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.indicators.tables import TableRow

GRADES = ("达成", "部分达成", "未达成")


def _now(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")


def _number(text, field: str, label: str, errors: dict, required: bool = True, minimum: float | None = 0) -> float | None:
    text = "" if text is None else str(text).strip().replace(",", "").replace("，", "")
    if not text:
        if required:
            errors[field] = f"请填写{label}"
        return None
    try:
        value = float(text)
    except ValueError:
        errors[field] = f"{label}须为数字"
        return None
    if minimum is not None and value < minimum:
        errors[field] = f"{label}不能小于 {minimum:g}"
        return None
    return value


def check_enterable(row: TableRow) -> TableRow:
    """The row when the chief may enter its value by hand (a manual row or one allowing an override); NotFound otherwise."""
    if not (row.manual or row.params.get("manual_override")):
        raise NotFound("该指标由记录自动计算，不能手工填报")
    return row


def save_manual_value(db: Database, year: int, row: TableRow, raw: dict, user: dict | None,
                      now: datetime | None = None) -> int:
    """Store the chief's value for a row (a new history line); InvalidInput with zh-CN messages when bad."""
    errors: dict[str, str] = {}
    number = text = grade = None
    if row.qualitative:
        text = str(raw.get("value") or "").strip()
        grade = str(raw.get("grade") or "").strip()
        if not text:
            errors["value"] = "请填写实际完成情况"
        if grade not in GRADES:
            errors["grade"] = "请选择评定：达成、部分达成或未达成"
    else:
        number = _number(raw.get("value"), "value", "实际完成值", errors)
    source = str(raw.get("source_document") or "").strip()
    if not source:
        errors["source_document"] = "请填写依据文件（如 决算报表、工资台账）"
    if len(source) > 200:
        errors["source_document"] = "依据文件名称过长（最多 200 字）"
    note = str(raw.get("note") or "").strip()
    if len(note) > 2000:
        errors["note"] = "说明过长（最多 2000 字）"
    if errors:
        raise InvalidInput(errors)
    with write(db):
        new_id = db.execute(
            "INSERT INTO manual_values (year, row_key, value_number, value_text, grade, source_document, note, "
            "entered_by, entered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [year, row.key, number, text, grade or None, source, note, user["id"] if user else None, _now(now)]).lastrowid
        audit.record(db, "manual_value_saved", user=user, target=f"indicator:{year}:{row.key}",
                     detail={"value": number if number is not None else text, "grade": grade, "source": source}, now=now)
    return new_id


_HISTORY = ("SELECT m.*, u.display_name AS entered_by_name FROM manual_values m "
            "LEFT JOIN users u ON u.id = m.entered_by WHERE m.year = ?")


def manual_history(db: Database, year: int, row_key: str) -> list[dict]:
    """Every value entered for a row, newest first."""
    return list(db.query(_HISTORY + " AND m.row_key = ? ORDER BY m.id DESC", [year, row_key]))


def latest_manual_values(db: Database, year: int) -> dict[str, dict]:
    """{row_key: newest manual entry} for a year."""
    out: dict[str, dict] = {}
    for r in db.query(_HISTORY + " ORDER BY m.id", [year]):
        out[r["row_key"]] = r
    return out


def save_note(db: Database, year: int, row_key: str, text: str, user: dict | None, now: datetime | None = None) -> None:
    """Store the 偏差原因分析及改进措施 text of a row (newest wins)."""
    text = (text or "").strip()
    if len(text) > 2000:
        raise InvalidInput({"text": "偏差原因分析过长（最多 2000 字）"})
    with write(db):
        db.execute("INSERT INTO evaluation_notes (year, row_key, text, written_by, written_at) VALUES (?, ?, ?, ?, ?)",
                   [year, row_key, text, user["id"] if user else None, _now(now)])


def latest_notes(db: Database, year: int) -> dict[str, str]:
    """{row_key: newest 偏差原因分析 text}."""
    out = {}
    for r in db.query("SELECT row_key, text FROM evaluation_notes WHERE year = ? ORDER BY id", [year]):
        out[r["row_key"]] = r["text"]
    return out


def clean_budget(raw: dict) -> dict:
    """The budget block's numbers (万元) from form or API values; InvalidInput naming each bad field."""
    errors: dict[str, str] = {}
    initial = _number(raw.get("initial_budget"), "initial_budget", "年初预算数", errors, required=False)
    full = _number(raw.get("full_year_budget"), "full_year_budget", "全年预算数", errors)
    executed = _number(raw.get("executed"), "executed", "全年执行数", errors)
    if full is not None and full <= 0 and "full_year_budget" not in errors:
        errors["full_year_budget"] = "全年预算数须大于 0"
    if errors:
        raise InvalidInput(errors)
    return {"initial_budget": initial, "full_year_budget": full, "executed": executed}


def save_budget(db: Database, year: int, raw: dict, user: dict | None, now: datetime | None = None) -> None:
    """Store the budget execution block (万元, newest wins); InvalidInput when bad."""
    b = clean_budget(raw)
    with write(db):
        db.execute("INSERT INTO budget_execution (year, initial_budget, full_year_budget, executed, entered_by, entered_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   [year, b["initial_budget"], b["full_year_budget"], b["executed"], user["id"] if user else None, _now(now)])
        audit.record(db, "budget_saved", user=user, target=f"budget:{year}", detail=b, now=now)


def latest_budget(db: Database, year: int) -> dict | None:
    """The newest budget execution row of a year, or None."""
    return next(iter(db.query(
        "SELECT b.*, u.display_name AS entered_by_name FROM budget_execution b LEFT JOIN users u ON u.id = b.entered_by "
        "WHERE b.year = ? ORDER BY b.id DESC LIMIT 1", [year])), None)
