"""Every read of events, event_inspectors, event_revisions and campaigns: the one SQL home of the events side."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from fieldlog.db import marks, one
from fieldlog.errors import NotFound
from fieldlog.events.kinds import ALL_KINDS as KINDS
from fieldlog.messages import t


# --- who sees which events -----------------------------------------------------------------------

def took_part(user_id: int, alias: str = "e") -> tuple[str, list]:
    """SQL condition: the user is one of the event's inspectors (the chief's inspector filter)."""
    return f"{alias}.id IN (SELECT event_id FROM event_inspectors WHERE user_id = ?)", [user_id]


def visible_to(user_id: int, alias: str = "e", per_row: bool = False) -> tuple[str, list]:
    """SQL condition: the user recorded the event or took part in it (an inspector's own events).

    The chief sees every event: callers pass no condition for them (see viewer_id). Without per_row the
    planner may start from the user's events (recorded_by index plus event_inspectors); per_row checks each
    row with EXISTS instead, for queries that another index narrows better (the notices' partial index).
    """
    if per_row:
        return (f"({alias}.recorded_by = ? OR EXISTS (SELECT 1 FROM event_inspectors x "
                f"WHERE x.event_id = {alias}.id AND x.user_id = ?))", [user_id, user_id])
    part, params = took_part(user_id, alias)
    return f"({alias}.recorded_by = ? OR {part})", [user_id, *params]


def viewer_id(user: dict) -> int | None:
    """The user id whose events this user may see, or None for the chief, who sees every event."""
    return None if user["role"] == "chief" else user["id"]


def can_see(event: dict, user: dict) -> bool:
    """The rule of visible_to for one loaded event: the chief, its recorder or one of its inspectors."""
    return viewer_id(user) is None or user["id"] == event["recorded_by"] or user["id"] in event["inspector_ids"]


def is_visible(db: Database, event_id: str, user: dict) -> bool:
    """Whether the event exists and the user may see it (the rule of visible_to, for one id)."""
    viewer = viewer_id(user)
    cond, params = ("1", []) if viewer is None else visible_to(viewer)
    return one(db, f"SELECT 1 AS x FROM events e WHERE e.id = ? AND {cond}", [event_id, *params]) is not None


# --- the one filter builder ----------------------------------------------------------------------

def where(*, kind: str | None = None, kinds: list[str] | None = None, site_id: int | None = None,
          plant_id: int | None = None, month: str | None = None, months: list[str] | None = None,
          date_from: str | None = None, date_to: str | None = None, user_id: int | None = None,
          inspector_id: int | None = None, include_voided: bool = True,
          windows: list[tuple[str, list]] | None = None, extra: tuple[str, list] | None = None) -> tuple[str, list]:
    """(SQL condition over events e, parameters) from the filters of the lists, the chief's pages and drill-downs.

    user_id: events the user recorded or took part in (visible_to); inspector_id: events the inspector
    took part in (took_part). windows: [(condition, params)] joined by OR, naming month and day bare
    (an indicator's periods); extra: one more (condition, params).
    """
    conds, params = [], []

    def add(sql: str, values) -> None:
        conds.append(sql)
        params.extend(values)

    for column, value in (("e.kind", kind), ("e.site_id", site_id), ("e.plant_id", plant_id), ("e.month", month)):
        if value not in (None, ""):
            add(f"{column} = ?", [value])
    if kinds is not None:
        add(f"e.kind IN ({marks(kinds)})", kinds)
    if months:
        add(f"e.month IN ({marks(months)})", months)
    if date_from:
        add("e.day >= ?", [str(date_from)])
    if date_to:
        add("e.day <= ?", [str(date_to)])
    if user_id is not None:
        add(*visible_to(user_id))
    if inspector_id is not None:
        add(*took_part(inspector_id))
    if not include_voided:
        add("e.voided = 0", [])
    if windows is not None:
        add("(" + (" OR ".join(f"({cond})" for cond, _ in windows) or "0") + ")", [p for _, ps in windows for p in ps])
    if extra and extra[0]:
        add(f"({extra[0]})", extra[1])
    return " AND ".join(conds) or "1", params


# --- one event -----------------------------------------------------------------------------------

# How the lists join inspectors' names (a catalogue text, quoted as an SQL literal).
NAMES_SEPARATOR = t("events.list_separator")
NAMES_JOINED = "'" + NAMES_SEPARATOR.replace("'", "''") + "'"

def event_select(source: str = "events e") -> str:
    """SELECT … FROM `source` (events e, or events e with an index named) with the names the lists show."""
    return (
        "SELECT e.*, s.name AS site_name, p.name AS plant_name, c.name AS campaign_name, "
        "c.start_on AS campaign_start_on, c.end_on AS campaign_end_on, u.display_name AS recorded_by_name, "
        f"(SELECT group_concat(iu.display_name, {NAMES_JOINED}) FROM event_inspectors ei "
        "JOIN users iu ON iu.id = ei.user_id WHERE ei.event_id = e.id) AS inspector_names "
        f"FROM {source} LEFT JOIN sites s ON s.id = e.site_id LEFT JOIN plants p ON p.id = e.plant_id "
        "LEFT JOIN campaigns c ON c.id = e.campaign_id LEFT JOIN users u ON u.id = e.recorded_by ")


EVENT_SELECT = event_select()


def _shape(row: dict) -> dict:
    """A stored row as the API's event JSON."""
    event = {k: v for k, v in row.items() if not k.startswith("campaign_") and k not in ("data", "content_hash")}
    event["campaign_id"] = row["campaign_id"]
    event["campaign"] = ({"id": row["campaign_id"], "name": row["campaign_name"], "start_on": row["campaign_start_on"],
                          "end_on": row["campaign_end_on"]} if row["campaign_id"] else None)
    event["fields"] = json.loads(row["data"])
    event["kind_label"] = KINDS.get(row["kind"], {}).get("label", row["kind"])
    event["late"], event["voided"] = bool(row["late"]), bool(row["voided"])
    return event


def load(db: Database, event_id: str) -> dict:
    """An event as the API returns it (with inspector ids); NotFound when missing."""
    row = one(db, EVENT_SELECT + "WHERE e.id = ?", [event_id])
    if not row:
        raise NotFound(t("common.not_found"))
    event = _shape(row)
    event["inspector_ids"] = [uid for (uid,) in db.conn.execute(
        "SELECT user_id FROM event_inspectors WHERE event_id = ? ORDER BY user_id", [event_id])]
    return event


def exists(db: Database, event_id: str) -> bool:
    """Whether an event with this id is stored (voided ones included)."""
    return one(db, "SELECT 1 AS x FROM events WHERE id = ?", [event_id]) is not None


def stored_hash(db: Database, event_id: str) -> str | None:
    """The content_hash of a stored event, or None when the id is new."""
    row = one(db, "SELECT content_hash FROM events WHERE id = ?", [event_id])
    return row["content_hash"] if row else None


def inspectors_of(db: Database, event_id: str) -> list[dict]:
    """[{id, display_name}] of an event's inspectors, by name."""
    return list(db.query(
        "SELECT u.id, u.display_name FROM event_inspectors ei JOIN users u ON u.id = ei.user_id "
        "WHERE ei.event_id = ? ORDER BY u.display_name", [event_id]))


def revision_rows(db: Database, event_id: str) -> list[dict]:
    """The stored revisions of an event with who made them, oldest first (before still JSON text)."""
    return list(db.query(
        "SELECT r.*, u.display_name AS changed_by_name FROM event_revisions r LEFT JOIN users u ON u.id = r.changed_by "
        "WHERE r.event_id = ? ORDER BY r.version", [event_id]))


def notice_target(db: Database, event_id: str) -> dict | None:
    """{id, kind, site_id, data} of the event a review names as its notice, or None."""
    return one(db, "SELECT id, kind, site_id, data FROM events WHERE id = ?", [event_id])


# --- lists ---------------------------------------------------------------------------------------

def list_events(db: Database, *, limit: int = 50, offset: int = 0, **filters) -> list[dict]:
    """Events matching the filters of `where`, newest first."""
    cond, params = where(**filters)
    rows = db.query(EVENT_SELECT + f"WHERE {cond} ORDER BY e.occurred_at DESC, e.received_at DESC LIMIT ? OFFSET ?",
                    [*params, limit, offset])
    return [_shape(r) for r in rows]


def events_of_day(db: Database, user_id: int, day: str, limit: int) -> list[dict]:
    """One station-local day's events recorded by or with the user, newest first.

    Walked from the day's newest event through the day and time index (migration 030), each row checked for the
    user, until the page is full: visible_to's OR over the recorded_by index and event_inspectors would read every
    event of the user ever to keep one day's.
    """
    mine, params = visible_to(user_id, per_row=True)
    rows = db.query(event_select("events e INDEXED BY events_day_time") + f"WHERE e.day = ? AND {mine} "
                    "ORDER BY e.occurred_at DESC, e.received_at DESC LIMIT ?", [day, *params, limit])
    return [_shape(r) for r in rows]


# A day's count stops past this: the walk of the day reads one more of the user's events at most, whatever the
# station logged that day, and a page says "more than" it.
DAY_COUNT_CAP = 100


def count_of_day(db: Database, user_id: int, day: str) -> int:
    """How many events of one station-local day events_of_day lists without a limit; DAY_COUNT_CAP + 1 for more."""
    mine, params = visible_to(user_id, per_row=True)
    return db.conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM events e INDEXED BY events_day_time "
                           f"WHERE e.day = ? AND {mine} LIMIT ?)", [day, *params, DAY_COUNT_CAP + 1]).fetchone()[0]


def count_events(db: Database, **filters) -> int:
    """How many events match the same filters as list_events."""
    cond, params = where(**filters)
    return one(db, f"SELECT count(*) AS n FROM events e WHERE {cond}", params)["n"]


def timeline(db: Database, limit: int, offset: int = 0, **filters) -> list[dict]:
    """Rows of the chief's evidence timeline (voided included unless filtered), newest first, one page."""
    cond, params = where(**filters)
    return list(db.query(
        "SELECT e.id, e.kind, e.occurred_at, e.day, e.late, e.voided, e.void_reason, e.data, e.note, e.version, "
        "e.site_id, e.plant_id, e.place, s.name AS site_name, p.name AS plant_name, "
        "u.display_name AS recorded_by_name, "
        f"(SELECT group_concat(iu.display_name, {NAMES_JOINED}) FROM event_inspectors ei "
        "JOIN users iu ON iu.id = ei.user_id WHERE ei.event_id = e.id) AS inspector_names "
        "FROM events e LEFT JOIN users u ON u.id = e.recorded_by LEFT JOIN sites s ON s.id = e.site_id "
        f"LEFT JOIN plants p ON p.id = e.plant_id WHERE {cond} ORDER BY e.occurred_at DESC, e.rowid DESC LIMIT ? OFFSET ?",
        [*params, limit, offset]))


def evidence_rows(db: Database, *, offset: int, limit: int, by_day: bool = False, **filters) -> list[dict]:
    """One page of the events behind an indicator's figure, newest first (data still JSON text).

    by_day walks a day index from the newest day and stops at the page: for kinds that are many among the events
    of the period; otherwise the kind indexes find them all and they are sorted. One kind walks its own events in
    order (events_kind_day, migration 024); several kinds walk every event by day and time (events_day_time,
    migration 030).
    """
    cond, params = where(**filters)
    index = "events_kind_day" if len(filters.get("kinds") or []) == 1 else "events_day_time"
    source = f"events e INDEXED BY {index}" if by_day else "events e"
    return list(db.query(
        "SELECT e.id, e.kind, e.occurred_at, e.day, e.late, e.data, e.site_id, e.plant_id, e.place, "
        "s.name AS site_name, p.name AS plant_name, c.name AS campaign_name, u.display_name AS recorded_by_name "
        f"FROM {source} LEFT JOIN sites s ON s.id = e.site_id LEFT JOIN plants p ON p.id = e.plant_id "
        "LEFT JOIN campaigns c ON c.id = e.campaign_id LEFT JOIN users u ON u.id = e.recorded_by "
        f"WHERE {cond} ORDER BY e.day DESC, e.occurred_at DESC, e.id LIMIT ? OFFSET ?", [*params, limit, offset]))


def recent_leaflets(db: Database, limit: int = 30) -> list[dict]:
    """[{id, day, place}] of the latest non-voided leaflet hand-outs (a survey code may name one)."""
    return list(db.query(
        "SELECT e.id, e.day, coalesce(s.name, e.place, '') AS place FROM events e LEFT JOIN sites s ON s.id = e.site_id "
        "WHERE e.kind = 'leaflets' AND e.voided = 0 ORDER BY e.occurred_at DESC LIMIT ?", [limit]))


def recent_subjects(db: Database, user_id: int, since: date, site_ids: list[int],
                    plant_ids: list[int]) -> dict[str, str]:
    """{'site:3': last occurred_at, ...} of the given subjects' non-voided events since a day recorded by or with
    the user (an event with a site counts for its site only).

    One lookup per subject through the (subject, occurred_at) indexes, newest first, stopping at the user's
    latest event: the user's events ever (the recorded_by index and event_inspectors) are not read. The
    occurred_at bound is a day looser than the exact day test, whatever offset a timestamp was stored with.
    """
    mine, params = visible_to(user_id, per_row=True)
    loose, out = (since - timedelta(days=1)).isoformat(), {}
    for column, ids, prefix, also in (("site_id", site_ids, "site", ""), ("plant_id", plant_ids, "plant",
                                                                          "AND e.site_id IS NULL ")):
        if not ids:
            continue
        sql = (f"SELECT j.value, (SELECT e.occurred_at FROM events e WHERE e.{column} = j.value AND e.occurred_at >= ? "
               f"AND e.day >= ? AND e.voided = 0 {also}AND {mine} ORDER BY e.occurred_at DESC LIMIT 1) "
               "FROM json_each(?) j")
        for sid, last in db.conn.execute(sql, [loose, since.isoformat(), *params, json.dumps(ids)]):
            if last:
                out[f"{prefix}:{sid}"] = last
    return out


# --- notices and their reviews -------------------------------------------------------------------

def reviews_of(db: Database, notice_id: str) -> list[dict]:
    """The rectification reviews (voided included) that refer to a notice, oldest first."""
    rows = db.query(EVENT_SELECT + "WHERE e.kind = 'rectification_review' AND json_extract(e.data, '$.notice_event_id') = ? "
                    "ORDER BY e.occurred_at", [notice_id])
    return [_shape(r) for r in rows]


# notice_state (migration 014) holds one row per notice with the day its first closing review came
# ('9999-12-31' while none has): "open as of D" is the index range closed_on > D. As of no day (None), every
# notice ever issued and every review count: the far day stands in for D.
FAR_DAY = "9999-12-30"


def _notice_where(today: date | None, viewer: int | None, site_id: int | None, *, open_only: bool = False,
                  issued_from: date | None = None, issued_before: date | None = None) -> tuple[str, list]:
    """Conditions over notice_state ns and its patrol e: notices issued up to today, optionally open ones only,
    issued in [issued_from, issued_before), one user's or one site's."""
    day = today.isoformat() if today is not None else FAR_DAY
    conds, params = ["ns.day <= ?"], [day]
    if open_only:
        conds.append("ns.closed_on > ?")
        params.append(day)
    if issued_from is not None:
        conds.append("ns.day >= ?")
        params.append(issued_from.isoformat())
    if issued_before is not None:
        conds.append("ns.day < ?")
        params.append(issued_before.isoformat())
    if site_id is not None:
        conds.append("ns.site_id = ?")
        params.append(site_id)
    if viewer is not None and site_id is None:
        conds.insert(0, "ns.user_id = ?")  # notice_people: the viewer's own rows (see _notice_from)
        params.insert(0, viewer)
    elif viewer is not None:
        mine, mine_params = visible_to(viewer, per_row=True)
        conds.append(mine)
        params += mine_params
    return " AND ".join(conds), params


def _notice_from(site_id: int | None, open_only: bool, viewer: int | None = None) -> str:
    """notice_state ns with the index that bounds the read: without statistics the planner takes the issue-day
    range (every notice ever, as of today) over the open range. One person's notices are read from notice_people
    (migration 025) under the same name: its rows carry the notice's days, so the same conditions apply, over
    that person's index range alone."""
    if viewer is not None and site_id is None:
        return f"notice_people ns INDEXED BY notice_people_{'open' if open_only else 'day'}"
    index = "site" if site_id is not None else "deadline" if open_only else "day_keys"
    return f"notice_state ns INDEXED BY notice_state_{index}"


# Open notices first, then by deadline (none last), issue day and time: followups.sort_key's order, so pages cut
# it. Over the keys notice_state (and notice_people) hold, so that a page is cut before any event is read.
NOTICE_ORDER = "ORDER BY {t}.closed_on <= ?, {t}.deadline IS NULL, {t}.deadline, {t}.day, {t}.occurred_at, {t}.event_id"


def notice_rows(db: Database, today: date | None, viewer: int | None = None, site_id: int | None = None, *,
                open_only: bool = False, issued_from: date | None = None, issued_before: date | None = None,
                limit: int = -1, offset: int = 0) -> list[dict]:
    """Notices (see _notice_where), open ones first (by deadline), then closed ones, the latest closed first; with
    site and inspector names (data still JSON text).

    The page is cut from the notices' own rows (keys only, from an index), then its events are read: a page of 100
    reads 100 patrols, not every notice of the view. With the closed ones (a station's or a person's), the open
    part is the open view's page and the closed part a walk of the closing days back from today, so a page of a
    year reads that page and the open notices, not the year."""
    if open_only or site_id is not None:
        return _notice_page(db, today, viewer, site_id, open_only, issued_from, issued_before, limit, offset)
    n_open = count_notices(db, today, viewer, issued_from=issued_from, issued_before=issued_before, open_only=True)
    rows = (_notice_page(db, today, viewer, None, True, issued_from, issued_before, limit, offset)
            if limit < 0 or offset < n_open else [])
    rest = -1 if limit < 0 else limit - len(rows)
    if rest:
        rows += _closed_page(db, today, viewer, issued_from, issued_before, rest, max(0, offset - n_open))
    return rows


def _page_events(db: Database, page: str, params: list, order: str) -> list[dict]:
    """The patrols of a page of notice keys (the subquery `page`), with site and inspector names, in `order`."""
    return list(db.query(
        "SELECT e.id, e.kind, e.occurred_at, e.day, e.data, e.site_id, s.name AS site_name, "
        f"(SELECT group_concat(u.display_name, {NAMES_JOINED}) FROM event_inspectors ei JOIN users u ON u.id = ei.user_id "
        f" WHERE ei.event_id = e.id) AS inspectors FROM {page} JOIN events e ON e.id = page.event_id "
        f"LEFT JOIN sites s ON s.id = e.site_id {order}", params))


def _notice_page(db: Database, today: date | None, viewer: int | None, site_id: int | None, open_only: bool,
                 issued_from: date | None, issued_before: date | None, limit: int, offset: int) -> list[dict]:
    cond, params = _notice_where(today, viewer, site_id, open_only=open_only, issued_from=issued_from,
                                 issued_before=issued_before)
    day = today.isoformat() if today else FAR_DAY
    if open_only and viewer is None and site_id is None:
        return _station_open_page(db, cond, params, day, limit, offset)
    # One site's notices of one person: visible_to per row names the patrol e.
    patrol = "JOIN events e ON e.id = ns.event_id " if viewer is not None and site_id is not None else ""
    page = (f"(SELECT ns.event_id, ns.closed_on, ns.deadline, ns.day, ns.occurred_at FROM "
            f"{_notice_from(site_id, open_only, viewer)} {patrol}WHERE {cond} {NOTICE_ORDER.format(t='ns')} "
            "LIMIT ? OFFSET ?) page")
    return _page_events(db, page, [*params, day, limit, offset, day], NOTICE_ORDER.format(t="page"))


def _station_open_page(db: Database, cond: str, params: list, day: str, limit: int, offset: int) -> list[dict]:
    """A page of the station's open notices in NOTICE_ORDER, read in index order rather than by sorting every open
    notice: those with a deadline, still open in notice_state_deadline's order (deadline, occurred_at, day, the key
    event_id: NOTICE_ORDER's order, since a day is its time's station-local date) merged with the few closed after
    today; then, as NOTICE_ORDER puts them last, those with no deadline (in issue order)."""
    keys = "ns.event_id, ns.closed_on, ns.deadline, ns.day, ns.occurred_at"

    def part(deadline: str, tail: str) -> str:
        return (f"(SELECT {keys} FROM notice_state ns INDEXED BY notice_state_deadline "
                f"WHERE ns.closed_on = '{STILL_OPEN}' AND ns.deadline {deadline} AND {cond} "
                f"UNION ALL SELECT {keys} FROM notice_state ns INDEXED BY notice_state_closed "
                f"WHERE ns.closed_on > ? AND ns.closed_on < '{STILL_OPEN}' AND ns.deadline {deadline} AND {cond} "
                f"{tail}) page")

    both = [*params, day, *params]
    order = NOTICE_ORDER.format(t="page")
    rows = _page_events(db, part("IS NOT NULL", "ORDER BY 3, 5, 4, 1 LIMIT ? OFFSET ?"), [*both, limit, offset, day],
                        order)
    if 0 <= limit <= len(rows):
        return rows
    # The page reaches past those with a deadline: how many there are decides where the others start.
    dated = (offset + len(rows) if rows or offset == 0
             else db.conn.execute(f"SELECT count(*) FROM {part('IS NOT NULL', '')}", both).fetchone()[0])
    rest = -1 if limit < 0 else limit - len(rows)
    return rows + _page_events(db, part("IS NULL", "ORDER BY 4, 5, 1 LIMIT ? OFFSET ?"),
                               [*both, rest, max(0, offset - dated), day], order)


# Closed notices, the latest closed first: notice_state_closed's order (closed_on, day, then the key event_id).
CLOSED_ORDER = "ORDER BY {t}.closed_on DESC, {t}.day DESC, {t}.event_id DESC"


def _closed_page(db: Database, today: date | None, viewer: int | None, issued_from: date | None,
                 issued_before: date | None, limit: int, offset: int) -> list[dict]:
    """A page of the notices closed by today (a person's: their own), walked back from today's closings; a notice
    issued from issued_from on was closed from then on too, which bounds the walk."""
    cond, params = _notice_where(today, viewer, None, issued_from=issued_from, issued_before=issued_before)
    day = today.isoformat() if today else FAR_DAY
    source = ("notice_people ns INDEXED BY notice_people_open" if viewer is not None
              else "notice_state ns INDEXED BY notice_state_closed")
    closed = "ns.closed_on <= ?" + (" AND ns.closed_on >= ?" if issued_from is not None else "")
    closed_params = [day] + ([issued_from.isoformat()] if issued_from is not None else [])
    page = (f"(SELECT ns.event_id, ns.closed_on, ns.day FROM {source} WHERE {cond} AND {closed} "
            f"{CLOSED_ORDER.format(t='ns')} LIMIT ? OFFSET ?) page")
    return _page_events(db, page, [*params, *closed_params, limit, offset], CLOSED_ORDER.format(t="page"))


def count_notices(db: Database, today: date, viewer: int | None = None, *, issued_from: date | None = None,
                  issued_before: date | None = None, open_only: bool = False) -> int:
    """How many notices of _notice_where there are (the station's with the closed ones: from the daily counts of
    migration 028, not the notices themselves)."""
    if viewer is None and not open_only:
        return notices_issued(db, today, issued_from, issued_before)
    cond, params = _notice_where(today, viewer, None, open_only=open_only, issued_from=issued_from,
                                 issued_before=issued_before)
    return db.conn.execute(f"SELECT count(*) FROM {_notice_from(None, open_only, viewer)} WHERE {cond}",
                           params).fetchone()[0]


def notices_issued(db: Database, today: date | None, issued_from: date | None = None,
                   issued_before: date | None = None) -> int:
    """How many notices were issued up to today, in [issued_from, issued_before) when given (notice_days, 028)."""
    cond, params = _notice_where(today, None, None, issued_from=issued_from, issued_before=issued_before)
    return db.conn.execute(f"SELECT coalesce(sum(ns.n), 0) FROM notice_days ns WHERE {cond}",
                           params).fetchone()[0]


def notice_counts(db: Database, today: date, soon_until: date, viewer: int | None = None, *,
                  issued_from: date | None = None, issued_before: date | None = None,
                  open_only: bool = False) -> dict[str, int]:
    """{overdue, due_soon, pending, closed}: how many notices of _notice_where are in each state as of today
    (due soon: a deadline from today to soon_until; pending: later or none). The station's closed ones are the
    notices issued (notice_days) less the open ones, so that a year is not read to count them."""
    station_closed = viewer is None and not open_only
    cond, params = _notice_where(today, viewer, None, open_only=open_only or station_closed,
                                 issued_from=issued_from, issued_before=issued_before)
    d, soon = today.isoformat(), soon_until.isoformat()
    row = db.conn.execute(
        "SELECT count(*) FILTER (WHERE ns.closed_on > ? AND ns.deadline < ?), "
        "count(*) FILTER (WHERE ns.closed_on > ? AND ns.deadline BETWEEN ? AND ?), "
        "count(*) FILTER (WHERE ns.closed_on > ? AND (ns.deadline IS NULL OR ns.deadline > ?)), "
        f"count(*) FILTER (WHERE ns.closed_on <= ?) FROM {_notice_from(None, open_only or station_closed, viewer)} "
        f"WHERE {cond}", [d, d, d, d, soon, d, soon, d, *params]).fetchone()
    found = dict(zip(("overdue", "due_soon", "pending", "closed"), row))
    if station_closed:
        found["closed"] = notices_issued(db, today, issued_from, issued_before) - sum(row[:3])
    return found


def open_counts_by_window(db: Database, today: date, soon_until: date, since: date) -> tuple[dict, dict]:
    """({overdue, due_soon, pending} of the station's notices open as of today and issued from `since` on, the same
    of those issued before): the follow-ups' view and the count of the other view, from one read of the open notices.

    Those still open are counted by deadline ranges of notice_state_deadline (closed_on, deadline, ...), so a row
    costs a comparison of its day, not one test per state and view; those closed after today (a day in the past
    asked) are a short range of their own, read once."""
    p = {"d": today.isoformat(), "soon": soon_until.isoformat(), "cut": since.isoformat(), "open": STILL_OPEN}
    states = {"overdue": ["ns.deadline < :d"], "due_soon": ["ns.deadline BETWEEN :d AND :soon"],
              "pending": ["ns.deadline > :soon", "ns.deadline IS NULL"]}
    source = "FROM notice_state ns INDEXED BY notice_state_deadline WHERE ns.day <= :d AND "
    split = "count(*) FILTER (WHERE ns.day >= :cut), count(*) FILTER (WHERE ns.day < :cut) "
    recent, before = dict.fromkeys(states, 0), dict.fromkeys(states, 0)
    for state, ranges in states.items():
        for cond in ranges:
            row = db.conn.execute(f"SELECT {split}{source}ns.closed_on = :open AND {cond}", p).fetchone()
            recent[state] += row[0]
            before[state] += row[1]
    later = ", ".join(f"count(*) FILTER (WHERE ns.day {side} :cut AND ({' OR '.join(ranges)}))"
                      for side in (">=", "<") for ranges in states.values())
    row = db.conn.execute(f"SELECT {later} {source}ns.closed_on > :d AND ns.closed_on < :open", p).fetchone()
    for i, state in enumerate(states):
        recent[state] += row[i]
        before[state] += row[len(states) + i]
    return recent, before


# Still open (no closing review at all): notice_state's closed_on for them, an equality the deadline index orders.
STILL_OPEN = "9999-12-31"


def open_notice_picks(db: Database, today: date | None, site_id: int | None = None,
                      limit: int = -1) -> list[dict]:
    """{id, site_id, site_name, notice_no, notice_deadline} of the notices open as of today, earliest deadline first
    (then by issue time).

    The station's notices come from two ranges merged in deadline order, so that a page of them reads that page
    (the phone's review picker), not every open notice sorted: those still open, in notice_state_deadline's order
    (migration 025), and those closed after today (an earlier day asked), few. One site's are its own range."""
    if site_id is None:
        cond, params = _notice_where(today, None, None)
        day = today.isoformat() if today is not None else FAR_DAY
        source = (f"(SELECT ns.event_id, ns.deadline, ns.occurred_at, ns.day FROM notice_state ns INDEXED BY "
                  f"notice_state_deadline WHERE ns.closed_on = '{STILL_OPEN}' AND {cond} UNION ALL "
                  "SELECT ns.event_id, ns.deadline, ns.occurred_at, ns.day FROM notice_state ns INDEXED BY "
                  f"notice_state_closed WHERE ns.closed_on > ? AND ns.closed_on < '{STILL_OPEN}' AND {cond} "
                  "ORDER BY 2, 3, 4, 1 LIMIT ?) picks")
        params, cond = [*params, day, *params, limit], "1"
    else:
        cond, params = _notice_where(today, None, site_id, open_only=True)
        source = (f"(SELECT ns.event_id, ns.deadline, ns.occurred_at, ns.day FROM {_notice_from(site_id, True)} "
                  f"WHERE {cond}) picks")
        cond = "1"
    return list(db.query(
        "SELECT e.id, e.site_id, s.name AS site_name, json_extract(e.data, '$.notice_no') AS notice_no, "
        f"picks.deadline AS notice_deadline FROM {source} JOIN events e ON e.id = picks.event_id "
        f"LEFT JOIN sites s ON s.id = e.site_id WHERE {cond} "
        "ORDER BY picks.deadline, picks.occurred_at, picks.day, picks.event_id LIMIT ?", [*params, limit]))


def count_open_notices(db: Database, today: date | None, site_id: int | None = None) -> int:
    """How many notices are open as of today (as open_notice_picks lists them without a limit)."""
    cond, params = _notice_where(today, None, site_id, open_only=True)
    return db.conn.execute(f"SELECT count(*) FROM {_notice_from(site_id, True)} WHERE {cond}", params).fetchone()[0]


def reviews_by_notice(db: Database, notice_ids: list[str]) -> dict[str, list[dict]]:
    """{notice event id: [non-voided reviews of it, oldest first]}, each {id, occurred_at, day, closed}."""
    out: dict[str, list[dict]] = {}
    rows = db.conn.execute(
        "SELECT json_extract(data, '$.notice_event_id'), id, occurred_at, day, json_extract(data, '$.closed') "
        "FROM events INDEXED BY events_review_notice_of WHERE kind = 'rectification_review' AND voided = 0 "
        "AND json_extract(data, '$.notice_event_id') IN (SELECT value FROM json_each(?))", [json.dumps(notice_ids)])
    for notice_id, review_id, occurred_at, day, closed in rows:
        out.setdefault(notice_id, []).append({"id": review_id, "occurred_at": occurred_at, "day": day,
                                              "closed": bool(closed)})
    for reviews in out.values():
        reviews.sort(key=lambda r: datetime.fromisoformat(r["occurred_at"]))
    return out


# --- campaigns -----------------------------------------------------------------------------------

def campaign(db: Database, campaign_id: int) -> dict | None:
    """{id, name, start_on, end_on} of a campaign, or None."""
    return one(db, "SELECT id, name, start_on, end_on FROM campaigns WHERE id = ?", [campaign_id])


def campaign_by_key(db: Database, name: str, start_on: str, end_on: str) -> dict | None:
    """The campaign with this name and these dates (its natural key), or None."""
    return one(db, "SELECT id, name, start_on, end_on FROM campaigns WHERE name = ? AND start_on = ? AND end_on = ?",
               [name, start_on, end_on])


def campaigns(db: Database) -> list[dict]:
    """Every campaign {id, name, start_on, end_on}, latest end first."""
    return list(db.query("SELECT id, name, start_on, end_on FROM campaigns ORDER BY end_on DESC"))


def campaign_choices(db: Database, today: date) -> list[dict]:
    """Campaigns whose dates contain today first, then the others of the last two years, latest first."""
    return list(db.query(
        "SELECT *, (start_on <= :d AND end_on >= :d) AS current FROM campaigns WHERE end_on >= :since "
        "ORDER BY current DESC, end_on DESC LIMIT 40",
        {"d": today.isoformat(), "since": (today - timedelta(days=730)).isoformat()}))


# --- counts for coverage and indicators ----------------------------------------------------------

def counts_by_subject(db: Database, month: str, column: str, kinds: tuple[str, ...]) -> dict[int, dict[str, int]]:
    """{subject id: {kind: count}} of a month's non-voided events, from the monthly tallies (migration 005: kept
    for the month under way too), so that a month costs its subjects, not its events."""
    sql = (f"SELECT {column} AS sid, kind, sum(n) AS n FROM event_tallies WHERE kind IN ({marks(kinds)}) "
           f"AND month = ? AND {column} != 0 GROUP BY kind, {column} HAVING sum(n) > 0")
    out: dict[int, dict[str, int]] = {}
    for sid, kind, n in db.conn.execute(sql, [*kinds, month]):
        out.setdefault(sid, {})[kind] = n
    return out


def last_days(db: Database, column: str, kinds: tuple[str, ...], ids: list[int], upto: date) -> dict[int, date]:
    """{id: day of the latest non-voided event of the kinds on or before upto}, via the (subject, occurred_at) index."""
    # One statement for all subjects: a correlated lookup per id, without a Python round trip each.
    sql = (f"SELECT j.value, (SELECT e.day FROM events e WHERE e.{column} = j.value AND e.occurred_at < ? "
           f"AND e.day <= ? AND e.voided = 0 AND e.kind IN ({marks(kinds)}) "
           "ORDER BY e.occurred_at DESC LIMIT 1) FROM json_each(?) j")
    params = [(upto + timedelta(days=1)).isoformat(), upto.isoformat(), *kinds, json.dumps(ids)]
    return {sid: date.fromisoformat(day) for sid, day in db.conn.execute(sql, params) if day}


def sampled_sites(db: Database, months: list[str]) -> set[int]:
    """Ids of the sites with a non-voided concrete_sampling in the months, from the monthly tallies (migration 005):
    a quarter costs its sites, not its samples."""
    return {r[0] for r in db.conn.execute(
        f"SELECT site_id FROM event_tallies WHERE kind = 'concrete_sampling' AND month IN ({marks(months)}) "
        "AND site_id != 0 GROUP BY site_id HAVING sum(n) > 0", months)}


def kinds_by_inspector(db: Database, month: str) -> dict[int, dict[str, int]]:
    """{user id: {kind: non-voided events of the month}} through event_inspectors."""
    out: dict[int, dict[str, int]] = {}
    for uid, kind, n in db.conn.execute(
            "SELECT ei.user_id, e.kind, count(*) FROM events e JOIN event_inspectors ei ON ei.event_id = e.id "
            "WHERE e.month = ? AND e.voided = 0 GROUP BY ei.user_id, e.kind", [month]):
        out.setdefault(uid, {})[kind] = n
    return out


def first_visit(db: Database, site_id: int, kinds: list[str], inspector_ids: list[int], since: str,
                upto: str) -> dict | None:
    """{id, day} of the first non-voided event of the kinds at a site, between since and upto, that one of the
    inspectors took part in (a drawn check done), or None."""
    return one(db, f"SELECT e.id, e.day FROM events e WHERE e.site_id = ? AND e.kind IN ({marks(kinds)}) "
                   "AND e.voided = 0 AND e.day BETWEEN ? AND ? AND EXISTS (SELECT 1 FROM event_inspectors ei "
                   f"WHERE ei.event_id = e.id AND ei.user_id IN ({marks(inspector_ids)})) ORDER BY e.occurred_at LIMIT 1",
               [site_id, *kinds, since, upto, *inspector_ids])
