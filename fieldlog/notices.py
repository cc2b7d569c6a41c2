"""Notices as documents (issue 14): 限期整改, 局部停工整改, 停工整改 and 复工 notices, their numbers and follow-through.

A notice is an event of kind `notice`, each step of it (served or refused, the site's reply, the review, 销号) an
event of kind `notice_step` (events.kinds.DOCUMENT_KINDS): the offline queue, client ids, photos, history and voids
are the events' own, and steps are only ever added, so offline entries never conflict. This module holds their
rules: the items a notice lists, the two-inspector rule, which step may follow which, the station number (given
by the server in the write that stores the notice), and `notice_docs` (migration 019), what the lists read,
kept by `refresh` in the same write. Patrol-carried notices (notice_no on a patrol) stay in fieldlog.followups.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from sqlite_utils import Database

from fieldlog import hazards
from fieldlog.db import one
from fieldlog.errors import InvalidInput, NotFound, one_of
from fieldlog.events.queries import NAMES_JOINED
from fieldlog.messages import label, t

RECTIFY, PARTIAL_STOP, STOP_WORK, RESUME = "rectify", "partial_stop", "stop_work", "resume"
TYPES = (RECTIFY, PARTIAL_STOP, STOP_WORK, RESUME)
ENFORCEMENT = (RECTIFY, PARTIAL_STOP, STOP_WORK)       # issued by at least MIN_INSPECTORS inspectors
STOPS = (PARTIAL_STOP, STOP_WORK)
MIN_INSPECTORS = 2

# States (labels: LABELS["notice_state"]); a notice is open until closed (销号) or followed by another notice.
ISSUED, REPLIED, PASSED, FAILED, CLOSED, REISSUED, ESCALATED = (
    "issued", "replied", "review_passed", "review_failed", "closed", "reissued", "escalated")
STATES = (ISSUED, REPLIED, PASSED, FAILED, CLOSED, REISSUED, ESCALATED)
ENDED = (CLOSED, REISSUED, ESCALATED)
# Steps (labels: LABELS["notice_step"]) and the states each may follow; served / refused are the receipt, once.
SERVED, REFUSED = "served", "refused"
STEPS = (SERVED, REFUSED, REPLIED, PASSED, FAILED, CLOSED)
FOLLOWS = {REPLIED: (ISSUED, FAILED), PASSED: (REPLIED,), FAILED: (REPLIED,), CLOSED: (PASSED,)}
REVIEWS = (PASSED, FAILED)                             # a review is a check: at least MIN_INSPECTORS inspectors
# What a notice that follows another one does to it (LABELS["notice_follows"]).
FOLLOW_REISSUE, FOLLOW_ESCALATE, FOLLOW_RESUME = "reissue", "escalate", "resume"

MAX_ITEMS = 50
MAX_ITEM_TEXT = 500
SHA_RE = re.compile(r"[0-9a-f]{64}")
DUE_SOON_DAYS = 5
PAGE = 50

# --- the station number --------------------------------------------------------------------------

DEFAULT_PATTERN = "衡建质安〔{year}〕{word}字第{seq:03d}号"  # zh: data (the station's own pattern is a setting)
_pattern = DEFAULT_PATTERN


def pattern_problem(pattern: str) -> str | None:
    """Why a number pattern cannot be used (a Chinese message), or None: it needs {seq}, may use {year}, {word}."""
    if "{seq" not in str(pattern or ""):
        return t("notices.pattern_needs_seq", pattern=pattern)
    try:
        str(pattern).format(year=2021, seq=1, word=label("notice_word", RECTIFY))
    except (KeyError, IndexError, ValueError):
        return t("notices.pattern_invalid", pattern=pattern)
    return None


def configure(pattern: str | None) -> None:
    """Use the station's number pattern (setting FIELDLOG_NOTICE_NUMBER); ValueError with a Chinese message."""
    global _pattern
    pattern = pattern or DEFAULT_PATTERN
    problem = pattern_problem(pattern)
    if problem:
        raise ValueError(problem)
    _pattern = pattern


def format_number(year: int, seq: int, notice_type: str, pattern: str | None = None) -> str:
    """The printed number of the seq-th notice of a year, e.g. 衡建质安〔2021〕整字第007号."""
    return (pattern or _pattern).format(year=year, seq=seq, word=label("notice_word", notice_type))


# --- items ---------------------------------------------------------------------------------------

def _item_text(item: dict, key: str, n: int, required: bool = False) -> str:
    value = item.get(key)
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValueError(t(f"notices.item_{key}_required", n=n))
    if len(text) > MAX_ITEM_TEXT:
        raise ValueError(t("notices.item_too_long", n=n, max=MAX_ITEM_TEXT))
    return text


def _item(raw, n: int) -> dict:
    from fieldlog.events.validation import _bool  # the events' one yes/no parser

    if not isinstance(raw, dict):
        raise ValueError(t("notices.item_malformed", n=n))
    try:
        major = _bool(raw.get("major", False))
    except ValueError:
        raise ValueError(t("notices.item_major_invalid", n=n)) from None
    item = {"description": _item_text(raw, "description", n, required=True), "location": _item_text(raw, "location", n),
            "criterion": _item_text(raw, "criterion", n), "major": major, "criterion_id": None, "criterion_ref": ""}
    chosen = str(raw.get("criterion_id") or "").strip()
    if major or chosen:
        found = hazards.current().get(chosen)
        if found is None:
            raise ValueError(t("notices.item_criterion_required" if not chosen else "notices.item_criterion_unknown",
                               n=n, value=chosen))
        item.update(criterion_id=found.id, criterion_ref=found.ref, criterion=found.text)
    photos = raw.get("photos") or []
    if not isinstance(photos, list) or not all(isinstance(p, str) and SHA_RE.fullmatch(p) for p in photos):
        raise ValueError(t("notices.item_photos_invalid", n=n))
    item["photos"] = sorted(set(photos), key=photos.index)
    return item


def parse_items(value) -> list[dict]:
    """A notice's items from JSON (a list, or its text): each {description, location, criterion, criterion_id,
    criterion_ref, major, photos (sha256 of the item's photos)}; ValueError naming the item (第2项…)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(t("notices.items_malformed")) from None
    if not isinstance(value, list):
        raise ValueError(t("notices.items_malformed"))
    if not value:
        raise ValueError(t("notices.items_required"))
    if len(value) > MAX_ITEMS:
        raise ValueError(t("notices.items_too_many", max=MAX_ITEMS))
    return [_item(raw, n) for n, raw in enumerate(value, 1)]


# --- checks (events.validation calls `check` before the write; the write checks again) --------------

def doc(db: Database, notice_id: str) -> dict | None:
    """The notice_docs row of a notice (its number, state, receipt, dates), or None."""
    return one(db, "SELECT * FROM notice_docs WHERE event_id = ?", [str(notice_id or "")])


def check(db: Database, sub: dict, errors: dict) -> None:
    """The rules of a notice or a step that need the database, as messages in `errors` (field-named)."""
    if sub["kind"] == "notice":
        _check_notice(db, sub, errors)
    else:
        _check_step(db, sub, errors)


def _check_notice(db: Database, sub: dict, errors: dict) -> None:
    fields = sub["fields"]
    kind = fields["notice_type"]
    if kind in ENFORCEMENT and len(sub["inspector_ids"]) < MIN_INSPECTORS:
        errors["inspector_ids"] = t("notices.two_inspectors", n=MIN_INSPECTORS)
    follows, as_ = fields.get("follows_notice_id"), fields.get("follows_as")
    if kind == RESUME and (not follows or as_ != FOLLOW_RESUME):
        errors["fields.follows_notice_id"] = t("notices.resume_needs_stop")
        return
    if not follows:
        return
    old = doc(db, follows)
    if old is None or old["voided"]:
        errors["fields.follows_notice_id"] = t("notices.follows_not_found")
    elif old["site_id"] != sub["site_id"]:
        errors["fields.follows_notice_id"] = t("notices.follows_other_site")
    elif as_ == FOLLOW_RESUME:
        if kind != RESUME or old["notice_type"] not in STOPS:
            errors["fields.follows_as"] = t("notices.resume_needs_stop")
        elif old["resumed_on"]:
            errors["fields.follows_notice_id"] = t("notices.already_resumed", number=old["number"])
        elif old["state"] not in (PASSED, CLOSED):
            errors["fields.follows_notice_id"] = t("notices.resume_before_review", number=old["number"],
                                                   state=label("notice_state", old["state"]))
    elif old["state"] != FAILED:
        errors["fields.follows_notice_id"] = t("notices.follow_needs_failed", number=old["number"],
                                               state=label("notice_state", old["state"]))
    elif as_ == FOLLOW_ESCALATE and kind not in STOPS:
        errors["fields.notice_type"] = t("notices.escalate_needs_stop")
    elif as_ == FOLLOW_REISSUE and kind == RESUME:
        errors["fields.notice_type"] = t("notices.reissue_not_resume")


STEP_NEEDS = {SERVED: ("receiver_name", "receiver_unit", "received_on"), REFUSED: ("witness",), REPLIED: ("reply_text",)}


def _check_step(db: Database, sub: dict, errors: dict) -> None:
    fields = sub["fields"]
    step = fields["step"]
    notice = doc(db, fields["notice_event_id"])
    if notice is None or notice["voided"] or notice["notice_type"] == RESUME:
        errors["fields.notice_event_id"] = t("notices.not_found")
        return
    if notice["site_id"] != sub["site_id"]:
        errors["site_id"] = t("notices.step_other_site")
    if sub["occurred_at"][:10] < notice["day"]:
        errors["occurred_at"] = t("notices.step_before_notice", day=notice["day"])
    for name in STEP_NEEDS.get(step, ()):
        if not fields.get(name):
            errors[f"fields.{name}"] = t("events.field_required", label=t(f"fields.{name}.label"))
    if step in REVIEWS and len(sub["inspector_ids"]) < MIN_INSPECTORS:
        errors["inspector_ids"] = t("notices.two_inspectors_review", n=MIN_INSPECTORS)
    refused = step_refusal(notice, step)
    if refused:
        errors["fields.step"] = refused


def step_refusal(notice: dict, step: str) -> str | None:
    """Why `step` cannot follow the notice as it stands (a Chinese message), or None when it may."""
    state = notice["state"]
    if step in (SERVED, REFUSED):
        if notice["receipt"] != "none":
            return t("notices.receipt_twice", receipt=label("notice_receipt", notice["receipt"]))
        if state in ENDED:
            return t("notices.step_after_end", state=label("notice_state", state))
        return None
    if state not in FOLLOWS[step]:
        return t("notices.step_refused", step=label("notice_step", step), state=label("notice_state", state),
                 allowed=t("events.list_separator").join(label("notice_state", s) for s in FOLLOWS[step]))
    return None


def allowed_steps(notice: dict) -> list[str]:
    """The steps that may follow the notice now (what its page offers)."""
    if notice["voided"] or notice["notice_type"] == RESUME:
        return []
    return [s for s in STEPS if step_refusal(notice, s) is None]


# --- the write: number, projection -------------------------------------------------------------------

def after_insert(db: Database, sub: dict) -> None:
    """Inside the write that stored a notice or a step: check again (another write may have come between),
    give a notice its number, and bring notice_docs up to date."""
    errors: dict[str, str] = {}
    check(db, sub, errors)
    if errors:
        raise InvalidInput(errors)
    if sub["kind"] == "notice":
        year = int(sub["occurred_at"][:4])
        seq = (db.conn.execute("SELECT max(seq) FROM notice_docs WHERE year = ?", [year]).fetchone()[0] or 0) + 1
        number = format_number(year, seq, sub["fields"]["notice_type"])
        # The units as the registry names them today stay with the notice (migration 020).
        db.execute("INSERT INTO notice_docs (event_id, notice_type, year, seq, number, day, state, state_on, open, "
                   "contractor, builder, supervisor) SELECT ?, ?, ?, ?, ?, ?, ?, ?, 0, s.contractor, s.builder, "
                   "s.supervisor FROM sites s WHERE s.id = ?",
                   [sub["id"], sub["fields"]["notice_type"], year, seq, number, sub["occurred_at"][:10], ISSUED,
                    sub["occurred_at"][:10], sub["site_id"]])
        refresh(db, sub["id"])
        if sub["fields"].get("follows_notice_id"):
            refresh(db, sub["fields"]["follows_notice_id"])
    else:
        refresh(db, sub["fields"]["notice_event_id"])


def after_void(db: Database, event: dict) -> None:
    """Inside the write that voided a notice or a step: the notices it touched are worked out again."""
    fields = event["fields"]
    for notice_id in (event["id"] if event["kind"] == "notice" else None, fields.get("notice_event_id"),
                      fields.get("follows_notice_id")):
        if notice_id and doc(db, notice_id):
            refresh(db, notice_id)


def replay(notice_type: str, steps: list[dict], followers: list[dict], issued_on: str) -> dict:
    """The state of a notice from its steps (in the order they were stored) and the notices that follow it:
    {state, state_on, receipt, closed_on, resumed_on}. A step that no longer fits (an earlier one was voided)
    is passed over."""
    out = {"state": ISSUED, "state_on": issued_on, "receipt": "none", "closed_on": None, "resumed_on": None}
    for s in steps:
        if step_refusal({**out, "voided": 0, "notice_type": notice_type}, s["step"]) is not None:
            continue
        if s["step"] in (SERVED, REFUSED):
            out["receipt"] = s["step"]
            continue
        out["state"], out["state_on"] = s["step"], s["day"]
        if s["step"] == CLOSED:
            out["closed_on"] = s["day"]
    for f in followers:
        if f["follows_as"] == FOLLOW_RESUME:
            out["resumed_on"] = out["resumed_on"] or f["day"]
        elif out["state"] == FAILED:
            out["state"], out["state_on"] = (REISSUED if f["follows_as"] == FOLLOW_REISSUE else ESCALATED), f["day"]
    return out


def _steps(db: Database, notice_id: str, voided: bool = False) -> list[dict]:
    cond = "" if voided else "AND e.voided = 0 "
    return list(db.query(
        "SELECT e.id, e.day, e.occurred_at, e.voided, e.data, e.note, e.recorded_by, u.display_name AS recorded_by_name, "
        "json_extract(e.data, '$.step') AS step, "
        f"(SELECT group_concat(iu.display_name, {NAMES_JOINED}) FROM event_inspectors ei JOIN users iu ON iu.id = ei.user_id "
        " WHERE ei.event_id = e.id) AS inspector_names "
        "FROM events e INDEXED BY events_notice_step_of LEFT JOIN users u ON u.id = e.recorded_by "
        f"WHERE e.kind = 'notice_step' AND json_extract(e.data, '$.notice_event_id') = ? {cond}ORDER BY e.rowid",
        [notice_id]))


def _followers(db: Database, notice_id: str) -> list[dict]:
    return list(db.query(
        "SELECT d.event_id, d.number, d.day, d.notice_type, json_extract(e.data, '$.follows_as') AS follows_as "
        "FROM notice_docs d JOIN events e ON e.id = d.event_id WHERE d.follows = ? AND d.voided = 0 ORDER BY e.rowid",
        [notice_id]))


def refresh(db: Database, notice_id: str) -> None:
    """Work a notice's notice_docs row out again from its event, steps and followers (its number stays)."""
    row = one(db, "SELECT e.site_id, e.day, e.voided, e.data FROM events e WHERE e.id = ?", [notice_id])
    data = json.loads(row["data"])
    items = data.get("items") or []
    state = replay(data["notice_type"], _steps(db, notice_id), _followers(db, notice_id), row["day"])
    is_open = int(not row["voided"] and data["notice_type"] != RESUME and state["state"] not in ENDED)
    db.execute("UPDATE notice_docs SET notice_type = ?, site_id = ?, day = ?, deadline = ?, state = ?, state_on = ?, "
               "open = ?, receipt = ?, closed_on = ?, resumed_on = ?, follows = ?, items = ?, major = ?, voided = ? "
               "WHERE event_id = ?",
               [data["notice_type"], row["site_id"], row["day"], data.get("deadline"), state["state"], state["state_on"],
                is_open, state["receipt"], state["closed_on"], state["resumed_on"], data.get("follows_notice_id"),
                len(items), sum(1 for i in items if i.get("major")), row["voided"], notice_id])


# --- reads -----------------------------------------------------------------------------------------

@dataclass
class Row:
    """A notice as the lists show it, with its status as of a day (followups' statuses: overdue first)."""

    id: str
    number: str
    notice_type: str
    state: str
    receipt: str
    site_id: int | None
    site_name: str
    day: str
    deadline: str | None
    inspectors: str
    items: int
    major: int
    resumed_on: str | None
    status: str
    days_over: int


def status(d: dict, today: date) -> tuple[str, int]:
    """(followups status, days overdue) of a notice_docs row as of today: open past its deadline is overdue."""
    from fieldlog import followups

    if not d["open"]:
        return followups.CLOSED, 0
    deadline = date.fromisoformat(d["deadline"]) if d["deadline"] else None
    found = followups.status(deadline, None, today)
    return found, (today - deadline).days if found == followups.OVERDUE and deadline else 0


LIST_SELECT = (
    "SELECT d.*, s.name AS site_name, "
    f"(SELECT group_concat(u.display_name, {NAMES_JOINED}) FROM event_inspectors ei JOIN users u ON u.id = ei.user_id "
    " WHERE ei.event_id = d.event_id) AS inspectors "
    "FROM notice_docs d LEFT JOIN sites s ON s.id = d.site_id ")


def _row(d: dict, today: date) -> Row:
    st, over = status(d, today)
    return Row(d["event_id"], d["number"], d["notice_type"], d["state"], d["receipt"], d["site_id"], d["site_name"] or "",
               d["day"], d["deadline"], d["inspectors"] or "", d["items"], d["major"], d["resumed_on"], st, over)


@dataclass
class ListPage:
    """One page of the chief's notice list: its rows, how many of each state, paging and the state shown."""

    items: list[Row]
    tally: dict[str, int]
    state: str | None
    page: int
    pages: int
    total: int
    overdue: int


def parse_state(text: str | None) -> str | None:
    """The list's state filter: empty (open ones) or a state; InvalidInput naming `state` otherwise."""
    return one_of(text, STATES, "state", t("notices.state_unknown"))


def list_page(db: Database, today: date, *, state: str | None = None, page: int = 1, size: int = PAGE,
              inspector_id: int | None = None) -> ListPage:
    """Open notices (or those of one state), earliest deadline first, so the most overdue lead; paged by index."""
    cond, params = ("d.open = 1", []) if state is None else ("d.state = ? AND d.voided = 0", [state])
    index = "notice_docs_open" if state is None else "notice_docs_state"
    if inspector_id is not None:
        cond += " AND EXISTS (SELECT 1 FROM event_inspectors ei WHERE ei.event_id = d.event_id AND ei.user_id = ?)"
        params.append(inspector_id)
    total = db.conn.execute(f"SELECT count(*) FROM notice_docs d INDEXED BY {index} WHERE {cond}", params).fetchone()[0]
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = db.query(LIST_SELECT.replace("FROM notice_docs d", f"FROM notice_docs d INDEXED BY {index}")
                    + f"WHERE {cond} ORDER BY d.deadline IS NULL, d.deadline, d.day LIMIT ? OFFSET ?",
                    [*params, size, (page - 1) * size])
    overdue = db.conn.execute("SELECT count(*) FROM notice_docs d INDEXED BY notice_docs_open WHERE d.open = 1 "
                              "AND d.deadline < ?", [today.isoformat()]).fetchone()[0]
    return ListPage([_row(r, today) for r in rows], tallies(db), state, page, pages, total, overdue)


def tallies(db: Database) -> dict[str, int]:
    """{state: notices not voided in it} in STATES order, and "open"."""
    found = dict(db.conn.execute("SELECT state, count(*) FROM notice_docs INDEXED BY notice_docs_state "
                                 "WHERE voided = 0 GROUP BY state").fetchall())
    out = {s: found.get(s, 0) for s in STATES}
    out["open"] = db.conn.execute("SELECT count(*) FROM notice_docs WHERE open = 1").fetchone()[0]
    return out


def mine(db: Database, user_id: int, today: date, limit: int = 20) -> list[Row]:
    """An inspector's own open notices (issued by them among others), overdue and due soon first."""
    rows = db.query(LIST_SELECT.replace("FROM notice_docs d", "FROM notice_docs d INDEXED BY notice_docs_open")
                    + "WHERE d.open = 1 AND EXISTS (SELECT 1 FROM event_inspectors ei WHERE ei.event_id = d.event_id "
                    "AND ei.user_id = ?) ORDER BY d.deadline IS NULL, d.deadline, d.day LIMIT ?", [user_id, limit])
    return [_row(r, today) for r in rows]


def month_counts(db: Database, first: date, last: date) -> dict:
    """Notices issued in [first, last] (not voided): {"by_type": {type: n}, "major": 重大 items, "total": n}."""
    rows = db.conn.execute("SELECT notice_type, count(*), total(major) FROM notice_docs INDEXED BY notice_docs_day "
                           "WHERE day BETWEEN ? AND ? AND voided = 0 GROUP BY notice_type",
                           [first.isoformat(), last.isoformat()]).fetchall()
    by_type = {k: 0 for k in TYPES}
    major = 0
    for kind, n, m in rows:
        by_type[kind] = n
        major += int(m)
    return {"by_type": by_type, "major": major, "total": sum(by_type.values())}


def year_figures(db: Database, types: list[str], first: date, last: date) -> dict[str, int]:
    """What the indicator rule `notices` reads, over notices of `types` issued in [first, last], not voided:
    {count, major (重大 items), due (deadline by `last`), on_time (of those, closed on or before the deadline)}."""
    marks_ = ", ".join("?" * len(types))
    row = db.conn.execute(
        "SELECT count(*), total(major), count(*) FILTER (WHERE deadline <= ?), "
        "count(*) FILTER (WHERE deadline <= ? AND closed_on IS NOT NULL AND closed_on <= deadline AND closed_on <= ?) "
        f"FROM notice_docs INDEXED BY notice_docs_day WHERE day BETWEEN ? AND ? AND voided = 0 AND notice_type IN ({marks_})",
        [last.isoformat(), last.isoformat(), last.isoformat(), first.isoformat(), last.isoformat(), *types]).fetchone()
    return {"count": row[0], "major": int(row[1]), "due": row[2], "on_time": row[3]}


def detail(db: Database, notice_id: str) -> dict:
    """A notice in full: the event, its number and state, its items with their photos, steps (voided ones
    too, for the history), the notice it follows and those that follow it. NotFound when there is none."""
    from fieldlog import photos, registry
    from fieldlog.events import queries

    d = doc(db, notice_id)
    if d is None:
        raise NotFound(t("notices.not_found"))
    event = queries.load(db, notice_id)
    stored = {p["sha256"]: p for p in photos.for_event(db, notice_id)}
    items = [{**item, "stored_photos": [stored[h] for h in item.get("photos", []) if h in stored],
              "missing_photos": sum(1 for h in item.get("photos", []) if h not in stored)}
             for item in event["fields"].get("items") or []]
    steps = []
    for s in _steps(db, notice_id, voided=True):
        s["fields"] = json.loads(s.pop("data"))
        s["photos"] = photos.for_event(db, s["id"])
        steps.append(s)
    follows = doc(db, d["follows"]) if d["follows"] else None
    return {"event": event, "doc": d, "items": items, "steps": steps, "follows": follows,
            "followers": _followers(db, notice_id), "site": registry.get_site(db, event["site_id"]),
            "allowed": allowed_steps(d)}


def inspectors_of(db: Database, notice_id: str) -> list[dict]:
    """The issuing inspectors of a notice (id, display name), in id order."""
    return list(db.query("SELECT u.id, u.display_name FROM event_inspectors ei JOIN users u ON u.id = ei.user_id "
                         "WHERE ei.event_id = ? ORDER BY u.id", [notice_id]))
