"""Concrete samples and their lab results: the labs list, result entry (kept with its history), the list of
samples awaiting results, failed results that call for a notice, and the import of a lab's spreadsheet.

A sample is one `concrete_sampling` event; its result is the newest `sample_results` row, else the result the
event itself carries (entries made before migration 013), whose report date is the sample's day (view
`sample_status`). A result counts for pass rates and the testing fee on its report date (docs/rules.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from fieldlog import audit, importer
from fieldlog.db import write
from fieldlog.errors import Forbidden, InvalidInput, NotFound
from fieldlog.events.kinds import KINDS, PASS_FAIL
from fieldlog.messages import label, t
from fieldlog.periods import utc_stamp

KIND = "concrete_sampling"
PASS, FAIL = PASS_FAIL
SOURCES = ("form", "api", "import")
MAX_TEXT = 200
# The result fields, in the order of the form, the API and the import template.
RESULT_FIELDS = ("sample_no", "report_no", "report_on", "measured_mpa", "result", "fee_yuan", "note")
# Other headers a lab's spreadsheet may use (the template's header of a field is LABELS["result_field"]).
RESULT_COLUMNS = [
    ("sample_no", ["样品编号", "委托编号", "试件编号"]),  # zh: data
    ("report_no", ["报告编号", "检测报告号"]),  # zh: data
    ("report_on", ["报告日期", "签发日期"]),  # zh: data
    ("measured_mpa", ["抗压强度", "强度代表值", "实测强度"]),  # zh: data
    ("result", ["检测结论", "结论", "结果"]),  # zh: data
    ("fee_yuan", ["检测费", "费用"]),  # zh: data
    ("note", ["备注"]),  # zh: data
]
RESULT_EXAMPLE = ["HD-2021-0001", "JC2021-0456", "2021-07-14", "34.2", PASS, "1200", ""]


def due_days() -> int:
    """Days after sampling when a result is overdue (curing plus the lab's report time, kinds.LAB_RESULTS)."""
    return KINDS[KIND]["results"]["due_days"]


# --- labs ----------------------------------------------------------------------------------------

def labs(db: Database, active_only: bool = False) -> list[dict]:
    """The testing labs, active first, by name."""
    cond = "WHERE active = 1" if active_only else ""
    return list(db.query(f"SELECT * FROM labs {cond} ORDER BY active DESC, name"))


def get_lab(db: Database, lab_id: int) -> dict:
    rows = list(db.query("SELECT * FROM labs WHERE id = ?", [lab_id]))
    if not rows:
        raise NotFound(t("lab.lab_not_found"))
    return rows[0]


def lab_usable(db: Database, lab_id: int, kept: int | None = None) -> bool:
    """Whether a sample may name this lab: an active one, or the one it already names (an edit)."""
    if kept is not None and lab_id == kept:
        return True
    return bool(list(db.query("SELECT 1 AS x FROM labs WHERE id = ? AND active = 1", [lab_id])))


def stored_lab(db: Database, event_id: str | None) -> int | None:
    """The lab a stored sample names (None for a new sample)."""
    rows = db.conn.execute("SELECT json_extract(data, '$.lab_id') FROM events WHERE id = ?", [event_id]).fetchall()
    return rows[0][0] if rows else None


def clean_lab(raw: dict) -> dict:
    """A lab's fields from a form; InvalidInput naming the field."""
    lab = {k: str(raw.get(k) or "").strip() for k in ("name", "licence_no", "address")}
    errors = {k: t("lab.text_too_long", label=label("lab_field", k), max=MAX_TEXT) for k, v in lab.items()
              if len(v) > MAX_TEXT}
    if not lab["name"]:
        errors["name"] = t("lab.name_required")
    lab["active"] = 0 if str(raw.get("active", "1")).strip() in ("0", "", "false", "off") else 1
    if errors:
        raise InvalidInput(errors)
    return lab


def save_lab(db: Database, raw: dict, *, lab_id: int | None = None, actor: dict, now: datetime) -> int:
    """Create or update a lab (audited); returns its id."""
    lab = clean_lab(raw)
    with write(db):
        taken = list(db.query("SELECT id FROM labs WHERE name = ? AND id IS NOT ?", [lab["name"], lab_id]))
        if taken:
            raise InvalidInput({"name": t("lab.name_taken")})
        stamp = utc_stamp(now)
        if lab_id is None:
            lab_id = db.execute("INSERT INTO labs (name, licence_no, address, active, created_at, updated_at) "
                                "VALUES (?, ?, ?, ?, ?, ?)", [*lab.values(), stamp, stamp]).lastrowid
            audit.record(db, "lab_created", user=actor, target=f"lab:{lab_id}", detail={"name": lab["name"]}, now=now)
        else:
            get_lab(db, lab_id)
            db.execute("UPDATE labs SET name = ?, licence_no = ?, address = ?, active = ?, updated_at = ? WHERE id = ?",
                       [*lab.values(), stamp, lab_id])
            audit.record(db, "lab_updated", user=actor, target=f"lab:{lab_id}", detail={"name": lab["name"]}, now=now)
    return lab_id


# --- samples --------------------------------------------------------------------------------------

SAMPLE_COLUMNS = (
    "SELECT st.*, s.name AS site_name, s.contractor, p.name AS plant_name, l.name AS lab_name, "
    "json_extract(e.data, '$.seal_no') AS seal_no, json_extract(e.data, '$.strength_grade') AS strength_grade, "
    "json_extract(e.data, '$.specimens') AS specimens, json_extract(e.data, '$.method') AS method ")
SAMPLE_JOINS = ("JOIN events e ON e.id = st.event_id LEFT JOIN sites s ON s.id = st.site_id "
                "LEFT JOIN plants p ON p.id = st.plant_id LEFT JOIN labs l ON l.id = st.lab_id ")
SAMPLE_SELECT = SAMPLE_COLUMNS + "FROM sample_status st " + SAMPLE_JOINS


def sample_no_taken(db: Database, sample_no: str, event_id: str | None) -> bool:
    """Whether another sample (not voided) already has this number."""
    return bool(list(db.query(
        "SELECT 1 AS x FROM events WHERE kind = ? AND voided = 0 AND json_extract(data, '$.sample_no') = ? "
        "AND id IS NOT ?", [KIND, sample_no, event_id])))


def get_sample(db: Database, event_id: str) -> dict:
    """A sample with its current result and names; NotFound when it is not a concrete sample."""
    rows = list(db.query(SAMPLE_SELECT + "WHERE st.event_id = ?", [event_id]))
    if not rows:
        raise NotFound(t("lab.sample_not_found"))
    return rows[0]


def by_number(db: Database, sample_no: str) -> dict | None:
    """The sample (not voided) with this number, or None."""
    rows = list(db.query(SAMPLE_SELECT + "WHERE st.sample_no = ? AND st.voided = 0", [sample_no]))
    return rows[0] if rows else None


def history(db: Database, event_id: str) -> list[dict]:
    """Every result entered for a sample, oldest first, with who entered it."""
    return list(db.query(
        "SELECT r.*, u.display_name AS entered_by_name FROM sample_results r LEFT JOIN users u ON u.id = r.entered_by "
        "WHERE r.event_id = ? ORDER BY r.id", [event_id]))


def awaiting(db: Database, today: date, inspector_id: int | None = None) -> list[dict]:
    """Samples (not voided) without a result, overdue first, then the longest waiting; days since sampling."""
    cond, params = "", []
    if inspector_id is not None:
        cond = "AND (st.recorded_by = ? OR st.event_id IN (SELECT event_id FROM event_inspectors WHERE user_id = ?)) "
        params = [inspector_id, inspector_id]
    rows = list(db.query(SAMPLE_SELECT + "WHERE st.voided = 0 AND st.result IS NULL AND st.day <= ? " + cond +
                         "ORDER BY st.day, st.event_id", [today.isoformat(), *params]))
    limit = due_days()
    for r in rows:
        r["days"] = (today - date.fromisoformat(r["day"])).days
        r["overdue"] = r["days"] > limit
    return sorted(rows, key=lambda r: (not r["overdue"], -r["days"]))


FAILED_DAYS = 365   # the failed results listed: those reported in the last year (as the follow-ups' notices)
FAILED_SHOWN = 100  # newest first, at most this many


def failed(db: Database, today: date, since: date | None = None, limit: int = FAILED_SHOWN) -> list[dict]:
    """Samples whose current result is 不合格, reported since `since` (default: the last year) and by today,
    newest report first (at most `limit`), with the notice state.

    A failed sample calls for a notice to the site and to the supplying plant; `site_notice` is the first
    notice issued at the site on or after the report date (a patrol with a notice number), if any.
    The current failed results come from two indexes: a sample's latest lab result when it failed (by report
    day), and samples without a lab result carrying a failed result themselves (migration 023's partial index);
    the page is cut from their ids and days before sample_status is read for the page alone.
    """
    first = (since or today - timedelta(days=FAILED_DAYS)).isoformat()
    last = today.isoformat()
    rows = list(db.query(
        # The value written out (not a parameter) so that the planner sees the partial index's condition.
        SAMPLE_COLUMNS + "FROM (SELECT r.event_id AS id, r.report_on AS day FROM sample_results r "
        "JOIN events v ON v.id = r.event_id AND v.voided = 0 "
        "WHERE r.result = :fail AND r.report_on BETWEEN :first AND :last "
        "AND r.id = (SELECT max(x.id) FROM sample_results x WHERE x.event_id = r.event_id) "
        "UNION ALL SELECT e.id, e.day FROM events e INDEXED BY events_sample_failed "
        f"WHERE e.kind = 'concrete_sampling' AND json_extract(e.data, '$.result') = '{FAIL}' "
        "AND e.day BETWEEN :first AND :last AND e.voided = 0 "
        "AND NOT EXISTS (SELECT 1 FROM sample_results x WHERE x.event_id = e.id) "
        "ORDER BY 2 DESC, 1 LIMIT :limit) AS c "
        "CROSS JOIN sample_status st ON st.event_id = c.id " + SAMPLE_JOINS +
        "ORDER BY st.report_on DESC, st.event_id",
        {"fail": FAIL, "first": first, "last": last, "limit": limit}))
    for r in rows:
        # Walks the site's events from the report day on (events_site_occurred), up to the first notice.
        found = list(db.query(
            "SELECT id, json_extract(data, '$.notice_no') AS notice_no, day FROM events INDEXED BY "
            "events_site_occurred WHERE site_id = ? AND occurred_at >= ? AND day >= ? AND voided = 0 "
            "AND kind IN ('safety_patrol', 'enforcement_patrol') "
            "AND coalesce(json_extract(data, '$.notice_no'), '') != '' ORDER BY occurred_at LIMIT 1",
            [r["site_id"], (date.fromisoformat(r["report_on"]) - timedelta(days=1)).isoformat(), r["report_on"]]))
        r["site_notice"] = found[0] if found else None
    return rows


# --- entering a result ------------------------------------------------------------------------------

def _number(raw: dict, key: str, errors: dict) -> float | None:
    text = str(raw.get(key) if raw.get(key) is not None else "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors[key] = t("lab.not_number", label=label("result_field", key))
        return None
    if not 0 <= value < 1e9:
        errors[key] = t("lab.negative" if value < 0 else "lab.too_large", label=label("result_field", key))
        return None
    return value


def _date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(importer.loose_date(str(value or "").strip()))


def clean_result(raw: dict, *, sampled_on: date | None, today: date) -> tuple[dict, dict]:
    """(result values, errors naming the field): report number and date, strength, 合格/不合格, fee, note."""
    errors: dict[str, str] = {}
    out: dict = {}
    for key in ("report_no", "note"):
        out[key] = str(raw.get(key) if raw.get(key) is not None else "").strip()
        if len(out[key]) > MAX_TEXT:
            errors[key] = t("lab.text_too_long", label=label("result_field", key), max=MAX_TEXT)
    if not out["report_no"]:
        errors["report_no"] = t("lab.report_no_required")
    try:
        day = _date(raw.get("report_on"))
    except (ValueError, TypeError):
        day = None
        errors["report_on"] = t("lab.report_on_invalid") if str(raw.get("report_on") or "").strip() \
            else t("lab.report_on_required")
    if day is not None:
        if day > today:
            errors["report_on"] = t("lab.report_on_future")
        elif sampled_on is not None and day < sampled_on:
            errors["report_on"] = t("lab.report_on_before_sample", day=sampled_on.isoformat())
        out["report_on"] = day.isoformat()
    result = str(raw.get("result") or "").strip()
    if result not in PASS_FAIL:
        errors["result"] = t("lab.result_required") if not result else t("lab.result_invalid")
    out["result"] = result
    out["measured_mpa"] = _number(raw, "measured_mpa", errors)
    out["fee_yuan"] = _number(raw, "fee_yuan", errors)
    return out, errors


def can_enter(user: dict) -> bool:
    """Inspectors and the chief enter results (the reports reach the station's desk, not one inspector)."""
    return user.get("role") in ("inspector", "chief")


def record_result(db: Database, event_id: str, raw: dict, *, user: dict, now: datetime, today: date,
                  source: str = "form") -> dict:
    """Add a result to a sample (kept with the earlier ones, audited); the sample with its new result."""
    if not can_enter(user):
        raise Forbidden()
    sample = get_sample(db, event_id)
    if sample["voided"]:
        raise InvalidInput({"event_id": t("lab.sample_voided")})
    values, errors = clean_result(raw, sampled_on=date.fromisoformat(sample["day"]), today=today)
    if errors:
        raise InvalidInput(errors)
    with write(db):
        _insert(db, event_id, values, user, now, source)
    return get_sample(db, event_id)


def _insert(db: Database, event_id: str, values: dict, user: dict, now: datetime, source: str) -> None:
    db.execute("INSERT INTO sample_results (event_id, report_no, report_on, measured_mpa, result, fee_yuan, source, "
               "entered_by, entered_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [event_id, values["report_no"], values["report_on"], values["measured_mpa"], values["result"],
                values["fee_yuan"], source, user["id"], utc_stamp(now), values["note"]])
    audit.record(db, "sample_result_saved", user=user, target=f"event:{event_id}",
                 detail={k: values[k] for k in ("report_no", "report_on", "result")} | {"source": source}, now=now)


# --- what the indicator rules read -----------------------------------------------------------------

def results_in(db: Database, first: date, last: date) -> dict[str, tuple[int, float]]:
    """{result: (samples, fees in 元)} of the samples whose result was reported between first and last, from the
    sample tallies (migration 023: a few rows per day, whatever the number of samples)."""
    if last < first:
        return {}
    rows = db.conn.execute(
        "SELECT result, sum(n), sum(fee_fen) FROM sample_tallies WHERE report_on BETWEEN ? AND ? AND result != '' "
        "GROUP BY result HAVING sum(n) > 0", [first.isoformat(), last.isoformat()])
    return {result: (n, fen / 100) for result, n, fen in rows}


def pending(db: Database, first: date, last: date) -> int:
    """Samples taken between first and last whose result was not reported by last (from the sample tallies)."""
    if last < first:
        return 0
    (n,) = db.conn.execute(
        "SELECT coalesce(sum(n), 0) FROM sample_tallies WHERE sampled_on BETWEEN ? AND ? "
        "AND (result = '' OR report_on > ?)", [first.isoformat(), last.isoformat(), last.isoformat()]).fetchone()
    return n


def reported_where(kinds: list[str], first: date, last: date) -> tuple[str, list]:
    """A condition on events (bare columns) that keeps the samples among `kinds` only when their result was
    reported between first and last (other kinds pass): what a drill-down of a pass rate or fee lists."""
    return (f"e.kind != '{KIND}' OR e.id IN (SELECT event_id FROM sample_status WHERE result IS NOT NULL "
            "AND report_on BETWEEN ? AND ?)", [first.isoformat(), last.isoformat()])


# --- the lab's spreadsheet ------------------------------------------------------------------------

@dataclass
class ResultRow(importer.Row):
    """One row of a lab's sheet: the sample it matched (by number) and the result it carries."""

    sample: dict | None = None
    result: dict | None = None

    @property
    def label(self) -> str:
        return str(self.values.get("sample_no") or "").strip() or t("web.blank")


# A read sheet of results is an importer.ParsedImport of kind "results" whose rows are ResultRows.
ResultImport = importer.ParsedImport


def result_headers() -> list[str]:
    return [label("result_field", k) for k, _ in RESULT_COLUMNS]


def parse_results(filename: str, content: bytes) -> ResultImport:
    """Read a lab's CSV or XLSX sheet into rows by field (importer.read_sheet); refuses an unreadable file."""
    parsed = ResultImport(kind="samples", filename=filename or "")
    aliases = {k: [label("result_field", k), *more] for k, more in RESULT_COLUMNS}
    sheet = importer.read_sheet(filename, content, aliases, ["sample_no", "report_no", "report_on", "result"],
                                lambda k: label("result_field", k))
    parsed.error, parsed.ignored_columns = sheet.error, sheet.ignored_columns
    parsed.rows = [ResultRow(number, values) for number, values in sheet.rows]
    return parsed


def check_results(db: Database, parsed: ResultImport, today: date) -> ResultImport:
    """Match every row to a sample by its number and check its result; fills row errors."""
    first_row: dict[str, int] = {}
    for row in parsed.rows:
        row.errors, row.sample, row.result = {}, None, None
        number = str(row.values.get("sample_no") or "").strip()
        sample = by_number(db, number) if number else None
        if not number:
            row.errors["sample_no"] = t("lab.sample_no_required")
        elif number in first_row:
            row.errors["sample_no"] = t("lab.duplicate_in_file", value=number, row=first_row[number])
        elif sample is None:
            row.errors["sample_no"] = t("lab.sample_no_unknown", value=number)
        first_row.setdefault(number, row.number)
        sampled_on = date.fromisoformat(sample["day"]) if sample else None
        row.result, errors = clean_result(row.values, sampled_on=sampled_on, today=today)
        row.errors.update(errors)
        row.sample = sample
    return parsed


def preview_results(db: Database, filename: str, content: bytes, today: date) -> ResultImport:
    """Read and check a lab's sheet without writing anything (the dry run)."""
    parsed = parse_results(filename, content)
    return parsed if parsed.error else check_results(db, parsed, today)


def apply_results(db: Database, parsed: ResultImport, *, user: dict, now: datetime, today: date) -> ResultImport:
    """Re-check and store the accepted rows in one transaction (rejected rows skipped), audited."""
    if not can_enter(user):
        raise Forbidden()
    if parsed.error:
        return parsed
    with write(db):
        check_results(db, parsed, today)
        for row in parsed.accepted:
            _insert(db, row.sample["event_id"], row.result, user, now, "import")
        parsed.written = len(parsed.accepted)
        audit.record(db, "sample_results_imported", user=user, target=parsed.filename,
                     detail={"written": parsed.written, "rejected": [r.number for r in parsed.rejected]}, now=now)
    return parsed


def results_template_csv() -> bytes:
    """The lab import template (CSV, UTF-8 with BOM) with one example row."""
    return importer.csv_bytes([result_headers(), RESULT_EXAMPLE])


def as_json(sample: dict) -> dict:
    """A sample as the API shows it."""
    keys = ("event_id", "sample_no", "seal_no", "day", "site_id", "site_name", "plant_id", "plant_name", "lab_id",
            "lab_name", "strength_grade", "specimens", "method", "result", "report_no", "report_on", "measured_mpa",
            "fee_yuan", "days", "overdue")
    out = {k: sample.get(k) for k in keys if k in sample}
    out["status"] = "pending" if sample.get("result") is None else "reported"
    return json.loads(json.dumps(out, default=str))
