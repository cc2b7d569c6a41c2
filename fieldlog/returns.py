"""Returns for correction (退回补正): the chief returns an entry to its inspectors with a reason, they correct it
through the ordinary edit (events.edit, history kept) and send it back, the chief closes the return or returns it
again. A return is a thread of steps (migration 021); its state is the action of its newest step. Nothing is
deleted, and nothing here changes the entry itself: the roll-up reads the entry as it stands.
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from fieldlog.db import marks, one, write
from fieldlog.errors import Forbidden, InvalidInput
from fieldlog.events import queries
from fieldlog.events.validation import MAX_TEXT
from fieldlog.messages import label, t
from fieldlog.periods import to_local, utc_stamp

# A step's action, which is also the state of a return whose newest step it is (labels: LABELS["return_state"]).
RETURNED, RESUBMITTED, CLOSED = "returned", "resubmitted", "closed"
OPEN = (RETURNED, RESUBMITTED)

_NEWEST = "(SELECT max(id) FROM return_steps WHERE return_id = r.id)"
_SELECT = f"""SELECT r.id, r.event_id, r.opened_at, s.action AS state, s.at AS state_at, e.kind, e.occurred_at,
       e.version, e.voided, e.recorded_by, st.name AS site_name, pl.name AS plant_name, e.place,
       (SELECT text FROM return_steps WHERE return_id = r.id AND action = 'returned' ORDER BY id DESC LIMIT 1) AS reason,
       (SELECT at FROM return_steps WHERE return_id = r.id AND action = 'returned' ORDER BY id DESC LIMIT 1) AS returned_at
FROM event_returns r
JOIN return_steps s ON s.id = {_NEWEST}
JOIN events e ON e.id = r.event_id
LEFT JOIN sites st ON st.id = e.site_id
LEFT JOIN plants pl ON pl.id = e.plant_id"""


def _text(value, key: str, *, required: bool) -> str:
    """A reason or note, trimmed: required ones must not be empty, none longer than MAX_TEXT."""
    text = str(value or "").strip()
    if required and not text:
        raise InvalidInput({key: t(f"returns.{key}_required")})
    if len(text) > MAX_TEXT:
        raise InvalidInput({key: t("returns.text_too_long", max=MAX_TEXT)})
    return text


def _open_of(db: Database, event_id: str) -> dict | None:
    """The entry's open return (id, state), if any: at most one is open at a time."""
    return one(db, f"SELECT r.id, s.action AS state FROM event_returns r JOIN return_steps s ON s.id = {_NEWEST} "
                   f"WHERE r.event_id = ? AND s.action IN ({marks(OPEN)}) ORDER BY r.id DESC LIMIT 1",
               [event_id, *OPEN])


def _step(db: Database, return_id: int, action: str, text: str, user: dict, now: datetime, version: int) -> None:
    db.execute("INSERT INTO return_steps (return_id, action, text, by_user, at, event_version) VALUES (?, ?, ?, ?, ?, ?)",
               [return_id, action, text, user["id"], utc_stamp(now), version])


def give_back(db: Database, event_id: str, *, user: dict, reason: str, now: datetime) -> dict:
    """The chief returns an entry with a reason: a new return, or the same one again once it was sent back."""
    if user["role"] != "chief":
        raise Forbidden()
    reason = _text(reason, "reason", required=True)
    event = queries.load(db, event_id)
    if event["voided"]:
        raise InvalidInput({"event": t("returns.voided")})
    with write(db):
        current = _open_of(db, event_id)
        if current and current["state"] == RETURNED:
            raise InvalidInput({"event": t("returns.already_returned")})
        if current is None:
            db.execute("INSERT INTO event_returns (event_id, opened_by, opened_at) VALUES (?, ?, ?)",
                       [event_id, user["id"], utc_stamp(now)])
            current = {"id": db.conn.execute("SELECT last_insert_rowid()").fetchone()[0]}
        _step(db, current["id"], RETURNED, reason, user, now, event["version"])
    return get(db, current["id"])


def resubmit(db: Database, event_id: str, *, user: dict, note: str = "", now: datetime) -> dict:
    """An inspector of the entry sends it back once corrected (or with a note saying why it stands)."""
    event = queries.load(db, event_id)
    if user["role"] != "inspector" or not queries.can_see(event, user):
        raise Forbidden()
    note = _text(note, "note", required=False)
    with write(db):
        current = _open_of(db, event_id)
        if not current or current["state"] != RETURNED:
            raise InvalidInput({"event": t("returns.nothing_to_resubmit")})
        _step(db, current["id"], RESUBMITTED, note, user, now, queries.load(db, event_id)["version"])
    return get(db, current["id"])


def close(db: Database, event_id: str, *, user: dict, note: str = "", now: datetime) -> dict:
    """The chief accepts the entry as it now stands (or withdraws the return): the return is closed."""
    if user["role"] != "chief":
        raise Forbidden()
    note = _text(note, "note", required=False)
    event = queries.load(db, event_id)
    with write(db):
        current = _open_of(db, event_id)
        if not current:
            raise InvalidInput({"event": t("returns.nothing_to_close")})
        _step(db, current["id"], CLOSED, note, user, now, event["version"])
    return get(db, current["id"])


# --- reading ---------------------------------------------------------------------------------------------

def _shape(row: dict, tz=None) -> dict:
    row["state_label"] = label("return_state", row["state"])
    row["kind_label"] = t(f"kinds.{row['kind']}.label")
    row["subject"] = row["site_name"] or row["plant_name"] or row["place"] or ""
    if tz is not None:
        for key in ("returned_at", "state_at", "opened_at"):
            row[f"{key}_local"] = to_local(datetime.fromisoformat(row[key]), tz).strftime("%Y-%m-%d %H:%M") if row[key] else ""
    return row


def get(db: Database, return_id: int, tz=None) -> dict:
    """One return with its state, the entry's summary and its steps (oldest first)."""
    row = _shape(one(db, f"{_SELECT} WHERE r.id = ?", [return_id]), tz)
    row["steps"] = steps(db, return_id, tz)
    return row


def steps(db: Database, return_id: int, tz=None) -> list[dict]:
    """A return's steps, oldest first, each with who took it."""
    rows = list(db.query("SELECT s.id, s.action, s.text, s.by_user, u.display_name AS by_name, s.at, s.event_version "
                         "FROM return_steps s JOIN users u ON u.id = s.by_user WHERE s.return_id = ? ORDER BY s.id",
                         [return_id]))
    for r in rows:
        r["action_label"] = label("return_action", r["action"])
        if tz is not None:
            r["at_local"] = to_local(datetime.fromisoformat(r["at"]), tz).strftime("%Y-%m-%d %H:%M")
    return rows


def of_event(db: Database, event_id: str, tz=None) -> list[dict]:
    """Every return of an entry, newest first, with its steps (the entry's detail page)."""
    ids = [r["id"] for r in db.query("SELECT id FROM event_returns WHERE event_id = ? ORDER BY id DESC", [event_id])]
    return [get(db, i, tz) for i in ids]


def _visible(user: dict) -> tuple[str, list]:
    """Who sees which returns: the rule of the entries themselves (events.can_see), never more."""
    viewer = queries.viewer_id(user)
    return ("1", []) if viewer is None else queries.visible_to(viewer, per_row=True)


def listing(db: Database, user: dict, *, states: tuple[str, ...] = OPEN, tz=None, limit: int = 200) -> list[dict]:
    """Returns in the given states that the user may see, the ones waiting longest first."""
    cond, params = _visible(user)
    rows = db.query(f"{_SELECT} WHERE s.action IN ({marks(states)}) AND {cond} ORDER BY s.at, r.id LIMIT ?",
                    [*states, *params, limit])
    return [_shape(r, tz) for r in rows]


def counts(db: Database, user: dict) -> dict[str, int]:
    """{state: number of returns} the user may see, in the order open, waiting, closed."""
    cond, params = _visible(user)
    found = {r["state"]: r["n"] for r in db.query(
        f"SELECT s.action AS state, count(*) AS n FROM event_returns r JOIN return_steps s ON s.id = {_NEWEST} "
        f"JOIN events e ON e.id = r.event_id WHERE {cond} GROUP BY s.action", params)}
    return {s: found.get(s, 0) for s in (*OPEN, CLOSED)}
