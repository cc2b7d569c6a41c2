"""Writing events: idempotent create, edit and void in one write transaction, and the stored period columns."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timedelta

from sqlite_utils import Database

from fieldlog.db import write as _write, write_grouped
from fieldlog.errors import Conflict, Forbidden, InvalidInput
from fieldlog.events import queries
from fieldlog.events.kinds import ALL_KINDS as KINDS, DOCUMENT_KINDS, TOP_LEVEL, as_labels, field_label, normalized
from fieldlog.events.queries import load
from fieldlog.events.validation import (MAX_TEXT, _check_references, _clean, validate, warnings_for,
                                        warnings_of_submission)
from fieldlog.messages import t
from fieldlog.periods import utc_stamp

LATE_AFTER = timedelta(days=3)             # received later than this after it occurred: 补录


def content_hash(sub: dict, default_inspectors: list[int]) -> str:
    """SHA-256 of the normalized submission: the same content resent hashes the same.

    Choice fields are hashed by their label, so a submission acknowledged before a choice got an English
    stored value (an order of 整改, now `rectify`; migration 009) hashes the same when the phone resends it.
    """
    content = {k: sub[k] for k in ("kind", "occurred_at", "site_id", "plant_id", "campaign", "place", "lat", "lon",
                                   "accuracy_m", "note")}
    content["fields"] = as_labels(sub["kind"], sub["fields"])
    content["inspector_ids"] = sub["inspector_ids"] or sorted(default_inspectors)
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _period_columns(occurred_at: str, received_at: datetime) -> dict:
    """The stored day, month and late (补录) of an event: the one place they are computed."""
    local = datetime.fromisoformat(occurred_at)
    return {"day": local.date().isoformat(), "month": local.strftime("%Y-%m"),
            "late": int(received_at - local > LATE_AFTER)}


def _campaign_id(db: Database, row: dict, now: datetime) -> int:
    """Find or create a campaign by name and dates."""
    if row.get("id"):
        return row["id"]
    db.execute("INSERT OR IGNORE INTO campaigns (name, start_on, end_on, created_at) VALUES (?, ?, ?, ?)",
               [row["name"], row["start_on"], row["end_on"], utc_stamp(now)])
    return queries.campaign_by_key(db, row["name"], row["start_on"], row["end_on"])["id"]


def _link_inspectors(db: Database, event_id: str, inspector_ids: list[int]) -> None:
    """Store the event's inspectors (event_inspectors rows)."""
    db.conn.executemany("INSERT INTO event_inspectors (event_id, user_id) VALUES (?, ?)",
                        [(event_id, uid) for uid in inspector_ids])


EVENT_COLUMNS = ("id", "kind", "occurred_at", "site_id", "plant_id", "campaign_id", "place", "lat", "lon", "accuracy_m",
                 "note", "day", "month", "late", "received_at", "recorded_by", "data", "content_hash", "updated_at")
# A resend does nothing here (the id is stored): create answers it from the stored event instead.
INSERT_EVENT = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))}) "
                "ON CONFLICT (id) DO NOTHING")


def _row(sub: dict, digest: str, user: dict, now: datetime, received_at: datetime | None) -> dict:
    """The events row of a validated submission (campaign_id still to be found when it names a new campaign)."""
    received = received_at or now
    row = {k: sub[k] for k in ("id", "kind", "occurred_at", "site_id", "plant_id", "campaign_id", "place", "lat",
                               "lon", "accuracy_m", "note")}
    row.update(_period_columns(sub["occurred_at"], received), received_at=utc_stamp(received), recorded_by=user["id"],
               data=json.dumps(sub["fields"], ensure_ascii=False, sort_keys=True), content_hash=digest,
               updated_at=utc_stamp(received))
    return row


class _Stored(Exception):
    """Raised inside the write when the id is already stored: the work is rolled back (a campaign it found or
    created included), and the resend is answered from the stored event."""


def _insert(db: Database, sub: dict, row: dict, now: datetime) -> None:
    """Inside the write: the row prepared by _row, its campaign (found or created) and its inspectors; _Stored
    when the id is taken. Everything that needs no lock (validation, hashing, JSON) is done before."""
    if sub.get("campaign_row"):
        row["campaign_id"] = sub["campaign_id"] = _campaign_id(db, sub["campaign_row"], now)
    if db.conn.execute(INSERT_EVENT, [row[k] for k in EVENT_COLUMNS]).rowcount == 0:
        raise _Stored()
    _link_inspectors(db, sub["id"], sub["inspector_ids"])
    if sub["kind"] in DOCUMENT_KINDS:
        from fieldlog import notices  # notices read events; imported here so events load without them

        notices.after_insert(db, sub)  # the number and the state, in this write


def _resend(db: Database, event_id: str, digest: str, user: dict) -> tuple[dict, bool, list[str]] | None:
    """The answer to a resend of a stored id: (stored, False, warnings), Conflict when content differs, None if new.

    Whoever may not see the stored event (queries.can_see) gets a Conflict without it, whether the content
    matched or not: neither the event nor a yes/no about its content reaches them.
    """
    stored = queries.stored_hash(db, event_id)
    if stored is None:
        return None
    event = load(db, event_id)
    if not queries.can_see(event, user):
        raise Conflict(t("events.id_taken"))
    if stored != digest:
        raise Conflict(t("events.id_conflict"), stored=event)
    return event, False, warnings_for(db, event)


def create(db: Database, raw: dict, *, user: dict, now: datetime, tz,
           received_at: datetime | None = None) -> tuple[dict, bool, list[str]]:
    """Store a new event, idempotent on its client id: (event, created, warnings); Conflict on other content.

    The write holds the lock only for the INSERTs: the submission is checked, hashed and encoded before, and
    the id is looked up only when it turns out to be stored (the INSERT does nothing) or the references fail.
    """
    sub, errors = _clean(raw, now=now, tz=tz)
    if errors:
        _check_references(db, sub, user, errors=errors)  # raises, with every message at once
    digest = content_hash(sub, [user["id"]])
    try:
        _check_references(db, sub, user)
    except InvalidInput:
        # A resend is answered whatever the references say now, so an acknowledged event stays acknowledged
        # even if, say, one of its inspectors has since been deactivated.
        answer = _resend(db, sub["id"], digest, user)
        if answer:
            return answer
        raise
    row = _row(sub, digest, user, now, received_at)
    try:
        # Submissions arriving together share one transaction and one fsync (db.write_grouped).
        write_grouped(db, lambda conn: _insert(conn, sub, row, now))
    except (_Stored, sqlite3.IntegrityError):
        answer = _resend(db, sub["id"], digest, user)  # stored before, or by another request meanwhile
        if not answer:
            raise
        return answer
    event = _as_stored(sub, row, user)
    if event is None:
        event = load(db, sub["id"])
        return event, True, warnings_for(db, event)
    return event, True, warnings_of_submission(event, sub)


def _as_stored(sub: dict, row: dict, user: dict) -> dict | None:
    """The event as queries.load reads it back, from the row just written and what the reference checks read
    (the subject's name, the inspectors' names, the campaign), without reading it again; None when that is not
    at hand (a caller's user without its display name) or the kind writes more (a notice or a step: load).

    Values come back as SQLite stores them: REAL columns as floats, flags as booleans, the defaults of a new
    row (version 1, not voided). tests/test_submit_path.py compares it with load for every kind.
    """
    found = sub.get("found") or {}
    if sub["kind"] in DOCUMENT_KINDS or "display_name" not in user or "inspectors" not in found:
        return None
    inspectors = found["inspectors"]
    if any(uid not in inspectors for uid in sub["inspector_ids"]):
        return None
    event = {k: row[k] for k in ("id", "kind", "occurred_at", "day", "month", "received_at")}
    event.update(late=bool(row["late"]), recorded_by=row["recorded_by"], site_id=row["site_id"],
                 plant_id=row["plant_id"], place=row["place"], lat=_real(row["lat"]), lon=_real(row["lon"]),
                 accuracy_m=_real(row["accuracy_m"]), note=row["note"], version=1, updated_at=row["updated_at"],
                 voided=False, void_reason=None, voided_at=None, voided_by=None,
                 site_name=(found.get("site") or {}).get("name") if row["site_id"] is not None else None,
                 plant_name=(found.get("plant") or {}).get("name") if row["plant_id"] is not None else None,
                 recorded_by_name=user["display_name"],
                 inspector_names=queries.NAMES_SEPARATOR.join(inspectors[uid]["display_name"]
                                                              for uid in sub["inspector_ids"]) or None,
                 campaign_id=row["campaign_id"])
    campaign = sub.get("campaign_row")
    event["campaign"] = ({"id": row["campaign_id"], "name": campaign["name"], "start_on": campaign["start_on"],
                          "end_on": campaign["end_on"]} if row["campaign_id"] else None)
    event["fields"] = json.loads(row["data"])
    event["kind_label"] = KINDS.get(row["kind"], {}).get("label", row["kind"])
    event["inspector_ids"] = list(sub["inspector_ids"])
    return event


def _real(value):
    return None if value is None else float(value)


# --- edit and void -------------------------------------------------------------------------------

def snapshot(event: dict) -> dict:
    """The editable state of an event, as kept in event_revisions.before."""
    keys = ("kind", "occurred_at", "site_id", "plant_id", "campaign_id", "place", "inspector_ids", "lat", "lon",
            "accuracy_m", "note", "fields", "voided", "void_reason", "version")
    return {k: event.get(k) for k in keys}


def diff(kind: str, before: dict, after: dict) -> list[dict]:
    """What changed between two snapshots: [{field, label, before, after}].

    A choice stored under its old Chinese label and the same choice's English value are no change.
    """
    out = []
    for key in ("occurred_at", "site_id", "plant_id", "campaign_id", "place", "inspector_ids", "lat", "lon",
                "accuracy_m", "note"):
        if before.get(key) != after.get(key):
            out.append({"field": key, "label": field_label(kind, key), "before": before.get(key), "after": after.get(key)})
    old, new = before.get("fields") or {}, after.get("fields") or {}
    for spec in KINDS.get(kind, {}).get("fields", []):
        name = spec["name"]
        if normalized(kind, name, old.get(name)) != normalized(kind, name, new.get(name)):
            out.append({"field": f"fields.{name}", "label": spec["label"], "before": old.get(name), "after": new.get(name)})
    return out


def can_change(event: dict, user: dict) -> bool:
    """The chief, the recorder or one of the event's inspectors may edit or void it."""
    if user["role"] == "chief" or event["recorded_by"] == user["id"]:
        return True
    return user["role"] == "inspector" and user["id"] in event["inspector_ids"]


def _changeable(db: Database, event_id: str, user: dict) -> dict:
    event = load(db, event_id)
    if not can_change(event, user):
        raise Forbidden()
    if event["voided"]:
        raise InvalidInput({"voided": t("events.voided_no_change")})
    return event


def _revise(db: Database, event: dict, action: str, user: dict, reason: str, now: datetime) -> None:
    db.execute("INSERT INTO event_revisions (event_id, version, changed_at, changed_by, action, reason, before) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)",
               [event["id"], event["version"], utc_stamp(now), user["id"], action, reason,
                json.dumps(snapshot(event), ensure_ascii=False, sort_keys=True)])


def as_raw(event: dict) -> dict:
    """An event in submission form (for re-validation and for prefilled edit forms)."""
    raw = {k: event.get(k) for k in TOP_LEVEL if k not in ("campaign", "fields")}
    raw["fields"] = dict(event["fields"])
    return raw


def merge(event: dict, changes: dict) -> dict:
    """The submission an edit produces: changes override the event; `fields` are merged (blank removes one)."""
    raw = as_raw(event)
    for key, value in changes.items():
        if key == "fields" and isinstance(value, dict):
            raw["fields"].update(value)
        elif key in TOP_LEVEL and key not in ("id", "kind"):
            raw[key] = value
    if changes.get("campaign") and "campaign_id" not in changes:
        raw["campaign_id"] = None
    return raw


def edit(db: Database, event_id: str, changes: dict, *, user: dict, now: datetime, tz, reason: str = "") -> dict:
    """Apply a correction; the previous state goes to event_revisions and the version goes up."""
    event = _changeable(db, event_id, user)
    if event["kind"] in DOCUMENT_KINDS:
        # A notice served is what it says; a step is a fact of its day. Mistakes are voided and entered again.
        raise InvalidInput({"kind": t("notices.no_edit")})
    if changes.get("kind") not in (None, event["kind"]):
        raise InvalidInput({"kind": t("events.kind_unchangeable")})
    sub = validate(db, merge(event, changes), user={"id": event["recorded_by"]}, now=now, tz=tz,
                   kept=frozenset(event["inspector_ids"]), actor=user, before=event["inspector_ids"])
    with _write(db):
        current = load(db, event_id)
        if current["version"] != event["version"]:
            raise Conflict(t("events.edited_meanwhile"), stored=current)
        if sub.get("campaign_row"):
            sub["campaign_id"] = _campaign_id(db, sub["campaign_row"], now)
        after = {**snapshot(event), **{k: sub[k] for k in ("occurred_at", "site_id", "plant_id", "campaign_id", "place",
                                                            "inspector_ids", "lat", "lon", "accuracy_m", "note", "fields")}}
        if not diff(event["kind"], snapshot(event), after):
            return event
        _revise(db, event, "edit", user, str(reason or "").strip(), now)
        # content_hash is deliberately left as first submitted: a phone that resends its original
        # submission after a correction must get 200 (already stored), not 409. The hash identifies
        # the submission, not the current state; the current state lives in the row and its history.
        periods = _period_columns(sub["occurred_at"], datetime.fromisoformat(event["received_at"]))
        db.execute(
            "UPDATE events SET occurred_at = ?, day = ?, month = ?, late = ?, site_id = ?, plant_id = ?, campaign_id = ?, "
            "place = ?, lat = ?, lon = ?, accuracy_m = ?, note = ?, data = ?, version = version + 1, updated_at = ? "
            "WHERE id = ?",
            [sub["occurred_at"], periods["day"], periods["month"], periods["late"], sub["site_id"], sub["plant_id"],
             sub["campaign_id"], sub["place"], sub["lat"], sub["lon"], sub["accuracy_m"], sub["note"],
             json.dumps(sub["fields"], ensure_ascii=False, sort_keys=True), utc_stamp(now), event_id])
        db.execute("DELETE FROM event_inspectors WHERE event_id = ?", [event_id])
        _link_inspectors(db, event_id, sub["inspector_ids"])
    return load(db, event_id)


def void(db: Database, event_id: str, *, user: dict, reason: str, now: datetime) -> dict:
    """Void an event with a reason; it stays visible, kept in the history, and counts nowhere."""
    reason = str(reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": t("events.void_reason_required")})
    if len(reason) > MAX_TEXT:
        raise InvalidInput({"reason": t("events.void_reason_too_long", max=MAX_TEXT)})
    event = _changeable(db, event_id, user)
    with _write(db):
        _revise(db, event, "void", user, reason, now)
        db.execute("UPDATE events SET voided = 1, void_reason = ?, voided_at = ?, voided_by = ?, version = version + 1, "
                   "updated_at = ? WHERE id = ? AND voided = 0", [reason, utc_stamp(now), user["id"], utc_stamp(now), event_id])
        if event["kind"] in DOCUMENT_KINDS:
            from fieldlog import notices

            notices.after_void(db, event)
    return load(db, event_id)

