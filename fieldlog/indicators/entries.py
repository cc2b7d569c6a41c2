"""What the chief enters by hand: manual row values, 偏差原因分析 texts and the budget execution block."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from fieldlog import audit, integers
from fieldlog.db import write
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.indicators.tables import TableRow, enum_value
from fieldlog.messages import t
from fieldlog.periods import utc_stamp

# The chief's grades of a qualitative row, best first (labels: LABELS["grade"]).
GRADES = ("met", "partial", "missed")
SOURCE_MAX = 200
NOTE_MAX = 2000


def _now(now: datetime | None = None) -> str:
    return utc_stamp(now)


def _number(text, field: str, label: str, errors: dict, required: bool = True, minimum: float | None = 0) -> float | None:
    # Thousands separators, ASCII or full-width, as a number may be typed.
    text = "" if text is None else str(text).strip().replace(",", "").replace("，", "")  # zh: data
    if not text:
        if required:
            errors[field] = t("entries.required", label=label)
        return None
    value = integers.finite(text)
    if value is None:
        errors[field] = t("entries.not_number", label=label)
        return None
    if minimum is not None and value < minimum:
        errors[field] = t("entries.below_minimum", label=label, minimum=f"{minimum:g}")
        return None
    return value


def check_enterable(row: TableRow) -> TableRow:
    """The row when the chief may enter its value by hand (a manual row or one allowing an override); NotFound otherwise."""
    if not (row.manual or row.params.get("manual_override")):
        raise NotFound(t("entries.not_enterable"))
    return row


def grade_value(given) -> str | None:
    """The grade a form or the API gives, as its English value (a Chinese label is accepted too); None when neither."""
    return enum_value("grade", str(given or "").strip())


def save_manual_value(db: Database, year: int, row: TableRow, raw: dict, user: dict | None,
                      now: datetime | None = None) -> int:
    """Store the chief's value for a row (a new history line); InvalidInput with zh-CN messages when bad.

    A qualitative row's grade is stored as its English value (met/partial/missed); the form posts it so,
    and its Chinese label (达成/部分达成/未达成) is accepted too.
    """
    errors: dict[str, str] = {}
    number = text = grade = None
    if row.qualitative:
        text = str(raw.get("value") or "").strip()
        grade = grade_value(raw.get("grade"))
        if not text:
            errors["value"] = t("entries.text_required")
        if grade not in GRADES:
            errors["grade"] = t("entries.grade_required")
    else:
        number = _number(raw.get("value"), "value", t("entries.actual_value"), errors)
    source = str(raw.get("source_document") or "").strip()
    if not source:
        errors["source_document"] = t("entries.source_required")
    if len(source) > SOURCE_MAX:
        errors["source_document"] = t("entries.source_too_long", max=SOURCE_MAX)
    note = str(raw.get("note") or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = t("entries.note_too_long", max=NOTE_MAX)
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
    if len(text) > NOTE_MAX:
        raise InvalidInput({"text": t("entries.reason_too_long", max=NOTE_MAX)})
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
    initial = _number(raw.get("initial_budget"), "initial_budget", t("entries.initial_budget"), errors, required=False)
    full = _number(raw.get("full_year_budget"), "full_year_budget", t("entries.full_year_budget"), errors)
    executed = _number(raw.get("executed"), "executed", t("entries.executed"), errors)
    if full is not None and full <= 0 and "full_year_budget" not in errors:
        errors["full_year_budget"] = t("entries.full_year_budget_positive")
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


# --- the closing block of the 自评表 (单位负责人、填表人、联系电话、填报日期), once per year -------------------

SIGNATURE_FIELDS = ("head_name", "filler_name", "phone", "filled_on")
NAME_MAX = 40
PHONE_CHARS = set("0123456789-+() ")


def clean_signature(raw: dict) -> dict:
    """The closing block from form or API values; InvalidInput naming each bad field in Chinese."""
    errors: dict[str, str] = {}
    values = {k: str(raw.get(k) or "").strip() for k in SIGNATURE_FIELDS}
    for key in ("head_name", "filler_name"):
        if not values[key]:
            errors[key] = t(f"entries.{key}_required")
        elif len(values[key]) > NAME_MAX:
            errors[key] = t("entries.name_too_long", max=NAME_MAX)
    phone = values["phone"]
    if not phone:
        errors["phone"] = t("entries.phone_required")
    elif len(phone) > 30 or not set(phone) <= PHONE_CHARS or sum(c.isdigit() for c in phone) < 7:
        errors["phone"] = t("entries.bad_phone")
    try:
        values["filled_on"] = datetime.strptime(values["filled_on"], "%Y-%m-%d").date().isoformat()
    except ValueError:
        errors["filled_on"] = t("entries.bad_filled_on")
    if errors:
        raise InvalidInput(errors)
    return values


def save_signature(db: Database, year: int, raw: dict, user: dict | None, now: datetime | None = None) -> None:
    """Store the year's closing block (a new row; the newest is printed); InvalidInput stores nothing."""
    s = clean_signature(raw)
    with write(db):
        db.execute("INSERT INTO evaluation_signatures (year, head_name, filler_name, phone, filled_on, entered_by, "
                   "entered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [year, s["head_name"], s["filler_name"], s["phone"], s["filled_on"], user["id"] if user else None,
                    _now(now)])
        audit.record(db, "signature_saved", user=user, target=f"evaluation:{year}", detail=s, now=now)


def latest_signature(db: Database, year: int) -> dict | None:
    """The newest closing block of a year, or None."""
    return next(iter(db.query("SELECT * FROM evaluation_signatures WHERE year = ? ORDER BY id DESC LIMIT 1", [year])),
                None)
