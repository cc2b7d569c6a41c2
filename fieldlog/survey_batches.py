"""Paper questionnaires (纸质问卷): a batch of answers of one survey kind, collected on one day at one place.

The chief or an inspector enters the respondents per answer — satisfaction: per overall rating (很满意 … 很不满意);
awareness: per number of the four questions answered 是 (4 … 0) — or one answer set per respondent when the sheets
were kept (`sheets`, through the API). The batch counts in 知晓率 / 满意度 for the day it was collected, by the rule
of fieldlog.surveys (aware: at least 3 of 4 是; satisfied: 很满意, 满意 or 基本满意), beside the phone answers. Like
events, a batch is never deleted: a correction keeps the batch as it was in survey_batch_revisions, a mistake is
voided with a reason, and the audit log records both. Every SQL statement about batches is in this module.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Mapping
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog import audit, integers, surveys
from fieldlog.db import one, write
from fieldlog.errors import Forbidden, InvalidInput, NotFound
from fieldlog.messages import t
from fieldlog.periods import local_now, utc_stamp

PLACE_MAX = 100
NOTE_MAX = 500
REASON_MAX = 200
MAX_RESPONDENTS = 100_000
YES_COUNTS = ("4", "3", "2", "1", "0")   # awareness: respondents by how many of the 4 questions they answered 是


def answers(kind: str) -> tuple[str, ...]:
    """The answers a batch counts respondents by: the overall rating, or how many questions were answered 是."""
    return tuple(surveys.SATISFACTION_LEVELS) if kind == "satisfaction_survey" else YES_COUNTS


def positive_answers(kind: str) -> set[str]:
    """The answers that count as satisfied / aware, by fieldlog.surveys' rule."""
    rule = surveys.SURVEYS[kind]["positive"]
    if "min_yes" in rule:
        return {a for a in YES_COUNTS if int(a) >= rule["min_yes"]}
    return set(rule["any_of"])


def _count(value, field: str, errors: dict, label: str, low: int = 0) -> int | None:
    """A number of respondents (blank is 0 for an answer's count); a message naming the field when it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0 if low == 0 else None
    number = integers.parse(value, low, MAX_RESPONDENTS) if isinstance(value, (int, str)) else None
    if number is None:
        errors[field] = t("paper.not_count", label=label, low=low, high=MAX_RESPONDENTS)
    return number


def kind_of(given) -> str | None:
    """The survey kind from its value or its Chinese name (知晓率, 满意度, or the full label)."""
    text = str(given or "").strip()
    for kind, survey in surveys.SURVEYS.items():
        if text in (kind, survey["short"], survey["label"]):
            return kind
    return None


def _sheet_counts(kind: str, sheets, errors: dict) -> dict[str, int] | None:
    """Counts per answer from one answer set per respondent (each a complete set of the kind's questions)."""
    if not isinstance(sheets, list) or not sheets:
        errors["sheets"] = t("paper.bad_sheets")
        return None
    counts = {a: 0 for a in answers(kind)}
    for n, sheet in enumerate(sheets, start=1):
        try:
            given = {k: str(v) for k, v in sheet.items()} if isinstance(sheet, dict) else {}
            # A paper sheet need not say who answered it.
            given["respondent_type"] = given.get("respondent_type") or surveys.RESPONDENT_TYPES[-1]
            clean = surveys.clean_answer(kind, given)
        except InvalidInput:
            errors["sheets"] = t("paper.bad_sheet", n=n)
            return None
        if kind == "satisfaction_survey":
            counts[clean["answers"]["overall"]] += 1
        else:
            counts[str(sum(1 for v in clean["answers"].values() if v == surveys.YES))] += 1
    return counts


def clean(raw: Mapping, today: date) -> dict:
    """A batch from form or API values; InvalidInput naming each bad field in Chinese (nothing is stored)."""
    errors: dict[str, str] = {}
    kind = kind_of(raw.get("kind"))
    if kind is None:
        errors["kind"] = t("paper.bad_kind")
    collected = str(raw.get("collected_on") or "").strip()
    try:
        day = date.fromisoformat(collected)
    except ValueError:
        errors["collected_on"] = t("paper.bad_day")
        day = None
    if day is not None and day > today:
        errors["collected_on"] = t("paper.future_day")
    place = str(raw.get("place") or "").strip()
    if not place:
        errors["place"] = t("paper.place_required")
    elif len(place) > PLACE_MAX:
        errors["place"] = t("paper.place_too_long", max=PLACE_MAX)
    note = str(raw.get("note") or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = t("paper.note_too_long", max=NOTE_MAX)
    respondents = _count(raw.get("respondents"), "respondents", errors, t("paper.respondents"), low=1)
    if respondents is None and "respondents" not in errors:
        errors["respondents"] = t("paper.respondents_required")
    counts, sheets = None, raw.get("sheets")
    if kind is not None:
        if sheets not in (None, "", []):
            counts = _sheet_counts(kind, sheets, errors)
        else:
            sheets = None
            given = raw.get("counts") if isinstance(raw.get("counts"), Mapping) else {}
            if raw.get("counts") is not None and not isinstance(raw.get("counts"), Mapping):
                errors["counts"] = t("paper.bad_counts")
            unknown = set(given) - set(answers(kind))
            if unknown:
                errors["counts"] = t("paper.unknown_answers", answers=t("indicators.list_separator").join(
                    sorted(map(str, unknown))))
            counts = {a: _count(given.get(a), f"counts.{a}", errors, answer_label(kind, a)) for a in answers(kind)}
    if counts and respondents and not errors:
        total = sum(counts.values())
        if total != respondents:
            field = "sheets" if sheets else "counts"
            errors[field] = t("paper.counts_do_not_add_up", total=total, respondents=respondents)
    if errors:
        raise InvalidInput(errors)
    positive = sum(n for a, n in counts.items() if a in positive_answers(kind))
    return {"kind": kind, "collected_on": day.isoformat(), "month": day.isoformat()[:7], "place": place, "note": note,
            "counts": counts, "sheets": sheets, "respondents": respondents, "positive": positive}


def answer_label(kind: str, answer: str) -> str:
    """How an answer reads on the form: the rating itself, or '4 题答“是”'."""
    return answer if kind == "satisfaction_survey" else t("paper.yes_count", n=answer)


def _row(values: dict) -> list:
    return [values["kind"], values["collected_on"], values["month"], values["place"],
            json.dumps(values["counts"], ensure_ascii=False),
            None if values["sheets"] is None else json.dumps(values["sheets"], ensure_ascii=False),
            values["respondents"], values["positive"], values["note"]]


def create(db: Database, raw: Mapping, *, user: dict, now: datetime, tz: ZoneInfo) -> int:
    """Store a new batch; InvalidInput (nothing stored) when the form or body is wrong."""
    values = clean(raw, local_now(tz, now).date())
    with write(db):
        batch_id = db.execute(
            "INSERT INTO survey_batches (kind, collected_on, month, place, counts, sheets, respondents, positive, note, "
            "entered_by, entered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*_row(values), user["id"], utc_stamp(now)]).lastrowid
        audit.record(db, "survey_batch_created", user=user, target=f"survey_batch:{batch_id}",
                     detail={k: values[k] for k in ("kind", "collected_on", "place", "respondents", "positive")}, now=now)
    return batch_id


_SELECT = ("SELECT b.*, u.display_name AS entered_by_name, v.display_name AS voided_by_name, "
           "w.display_name AS updated_by_name FROM survey_batches b LEFT JOIN users u ON u.id = b.entered_by "
           "LEFT JOIN users v ON v.id = b.voided_by LEFT JOIN users w ON w.id = b.updated_by")


def _decoded(row: dict) -> dict:
    row["counts"] = json.loads(row["counts"])
    row["sheets"] = json.loads(row["sheets"]) if row["sheets"] else None
    row["voided"] = bool(row["voided"])
    return row


def get(db: Database, batch_id: int) -> dict:
    """One batch (voided ones too); NotFound when there is none."""
    row = one(db, _SELECT + " WHERE b.id = ?", [batch_id])
    if row is None:
        raise NotFound(t("paper.not_found"))
    return _decoded(row)


def history(db: Database, batch_id: int) -> list[dict]:
    """Every correction and void of a batch, newest first, with the batch as it was before."""
    rows = db.query("SELECT r.*, u.display_name AS changed_by_name FROM survey_batch_revisions r "
                    "LEFT JOIN users u ON u.id = r.changed_by WHERE r.batch_id = ? ORDER BY r.id DESC", [batch_id])
    return [{**r, "before": json.loads(r["before"])} for r in rows]


def list_between(db: Database, first: date, last: date, kind: str | None = None, include_voided: bool = True) -> list[dict]:
    """Batches collected between two days (newest first), of one kind when given."""
    sql = _SELECT + " WHERE b.collected_on BETWEEN ? AND ?"
    params: list = [first.isoformat(), last.isoformat()]
    if kind:
        sql += " AND b.kind = ?"
        params.append(kind)
    if not include_voided:
        sql += " AND b.voided = 0"
    return [_decoded(r) for r in db.query(sql + " ORDER BY b.collected_on DESC, b.id DESC", params)]


def totals(db: Database, kind: str, first: date, last: date) -> tuple[int, int]:
    """(respondents, positive) of the batches of a kind collected between two days, voided ones left out."""
    n, p = db.conn.execute("SELECT coalesce(sum(respondents), 0), coalesce(sum(positive), 0) FROM survey_batches "
                           "WHERE kind = ? AND voided = 0 AND collected_on BETWEEN ? AND ?",
                           [kind, first.isoformat(), last.isoformat()]).fetchone()
    return n, p


def can_change(batch: dict, user: dict) -> bool:
    """Who entered it, or the chief."""
    return user["role"] == "chief" or (user["role"] == "inspector" and batch["entered_by"] == user["id"])


def _reason(raw, errors: dict) -> str:
    reason = str(raw or "").strip()
    if not reason:
        errors["reason"] = t("paper.reason_required")
    elif len(reason) > REASON_MAX:
        errors["reason"] = t("paper.reason_too_long", max=REASON_MAX)
    return reason


def _checked(db: Database, batch_id: int, user: dict) -> dict:
    batch = get(db, batch_id)
    if not can_change(batch, user):
        raise Forbidden(t("paper.not_yours"))
    if batch["voided"]:
        raise InvalidInput({"id": t("paper.already_voided")})
    return batch


def _keep(db: Database, batch: dict, action: str, reason: str, user: dict, now: datetime) -> None:
    before = {k: batch[k] for k in ("kind", "collected_on", "place", "counts", "sheets", "respondents", "positive",
                                    "note", "version")}
    db.execute("INSERT INTO survey_batch_revisions (batch_id, version, action, before, reason, changed_by, changed_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)",
               [batch["id"], batch["version"], action, json.dumps(before, ensure_ascii=False), reason, user["id"],
                utc_stamp(now)])


def edit(db: Database, batch_id: int, raw: Mapping, *, user: dict, now: datetime, tz: ZoneInfo) -> dict:
    """Correct a batch (a reason is required; the batch as it was is kept); InvalidInput or Forbidden change nothing."""
    batch = _checked(db, batch_id, user)
    errors: dict[str, str] = {}
    reason = _reason(raw.get("reason"), errors)
    try:
        values = clean(raw, local_now(tz, now).date())
    except InvalidInput as exc:
        errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    with write(db):
        _keep(db, batch, "edit", reason, user, now)
        db.execute("UPDATE survey_batches SET kind = ?, collected_on = ?, month = ?, place = ?, counts = ?, sheets = ?, "
                   "respondents = ?, positive = ?, note = ?, version = version + 1, updated_by = ?, updated_at = ? "
                   "WHERE id = ?", [*_row(values), user["id"], utc_stamp(now), batch_id])
        audit.record(db, "survey_batch_edited", user=user, target=f"survey_batch:{batch_id}",
                     detail={"reason": reason, "respondents": values["respondents"], "positive": values["positive"]},
                     now=now)
    return get(db, batch_id)


def void(db: Database, batch_id: int, reason, *, user: dict, now: datetime) -> dict:
    """Void a batch with a reason: it counts nowhere from then on, and stays listed."""
    batch = _checked(db, batch_id, user)
    errors: dict[str, str] = {}
    text = _reason(reason, errors)
    if errors:
        raise InvalidInput(errors)
    with write(db):
        _keep(db, batch, "void", text, user, now)
        db.execute("UPDATE survey_batches SET voided = 1, void_reason = ?, voided_by = ?, voided_at = ? WHERE id = ?",
                   [text, user["id"], utc_stamp(now), batch_id])
        audit.record(db, "survey_batch_voided", user=user, target=f"survey_batch:{batch_id}", detail={"reason": text},
                     now=now)
    return get(db, batch_id)


def as_json(batch: dict) -> dict:
    """A batch as the API answers it."""
    keys = ("id", "kind", "collected_on", "place", "counts", "sheets", "respondents", "positive", "note", "entered_by",
            "entered_by_name", "entered_at", "version", "updated_at", "voided", "void_reason", "voided_at")
    return {k: batch.get(k) for k in keys}
