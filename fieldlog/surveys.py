"""Public surveys: 质量安全宣传知晓率 (awareness) and 服务对象满意度 (satisfaction).

Staff create a survey code (a link and QR code); anyone answers it without an account. Each answer
is one row of `survey_answers` with `positive` = 1 when the respondent counts as aware (awareness)
or satisfied (satisfaction), by the rule stored with the questions below. The indicator roll-up
reads the rates as SUM(positive) / COUNT(*) by kind.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
from datetime import datetime, timedelta
from typing import Mapping
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog import audit
from fieldlog.db import one, scalar, write
from fieldlog.errors import Forbidden, InvalidInput, NotFound
from fieldlog.integers import INT64_MAX
from fieldlog.messages import t
from fieldlog.periods import utc_stamp

# The answer options are values, not labels: the public form posts them, survey_answers stores them
# (answers JSON, respondent_type) and the positive rule below compares them.
YES, NO = "是", "否"  # zh: data
SATISFACTION_LEVELS = ["很满意", "满意", "基本满意", "不满意", "很不满意"]  # zh: data
RESPONDENT_TYPES = ["施工企业", "建设单位", "群众", "其他"]  # zh: data
COMMENT_MAX = 500
NOTE_MAX = 200
CAP_MAX = 100_000

# Flood limits per hashed address. Several honest people may share one address (site Wi-Fi,
# carrier NAT), so these are generous for one code yet stop a script filling the survey.
PER_CODE_PER_ADDRESS_PER_DAY = 3
PER_ADDRESS_PER_HOUR = 20
# The same answer from the same address within this window is a resend (double tap), stored once.
REPEAT_WINDOW = timedelta(minutes=2)

# The questions, and the rule that decides `positive`, as data.
#  - awareness: aware when at least `min_yes` of the yes/no questions are answered 是 (3 of 4);
#  - satisfaction: satisfied when the overall rating is 很满意, 满意 or 基本满意, as Chinese
#    government satisfaction surveys usually count 基本满意 as satisfied.
SURVEYS = {
    "awareness_survey": {
        "label": t("surveys.awareness_label"),
        "short": t("surveys.awareness_short"),
        "positive_label": t("surveys.awareness_positive"),
        "title": t("surveys.awareness_title"),
        "intro": t("surveys.awareness_intro"),
        "questions": [
            {"key": "complaint_channel", "options": [YES, NO], "text": t("surveys.q_complaint_channel")},
            {"key": "leaflet_received", "options": [YES, NO], "text": t("surveys.q_leaflet_received")},
            {"key": "safety_signs", "options": [YES, NO], "text": t("surveys.q_safety_signs")},
            {"key": "acceptance_required", "options": [YES, NO], "text": t("surveys.q_acceptance_required")},
        ],
        "positive": {"answer": YES, "min_yes": 3},
    },
    "satisfaction_survey": {
        "label": t("surveys.satisfaction_label"),
        "short": t("surveys.satisfaction_short"),
        "positive_label": t("surveys.satisfaction_positive"),
        "title": t("surveys.satisfaction_title"),
        "intro": t("surveys.satisfaction_intro"),
        "questions": [
            {"key": "overall", "options": SATISFACTION_LEVELS, "text": t("surveys.q_overall")},
        ],
        "positive": {"question": "overall", "any_of": SATISFACTION_LEVELS[:3]},
    },
}


class Unavailable(Exception):
    """The survey cannot take an answer now; `reason` says why: "unknown", "closed", "full" or "flood"."""

    REASONS = ("unknown", "closed", "full", "flood")

    def __init__(self, reason: str):
        super().__init__({"unknown": t("surveys.unknown"), "closed": t("surveys.closed"), "full": t("surveys.full"),
                          "flood": t("surveys.flood")}[reason])
        self.reason = reason


def is_positive(kind: str, answers: Mapping[str, str]) -> bool:
    """Whether a complete set of answers counts as aware / satisfied, by the kind's rule."""
    rule = SURVEYS[kind]["positive"]
    if "min_yes" in rule:
        return sum(1 for v in answers.values() if v == rule["answer"]) >= rule["min_yes"]
    return answers.get(rule["question"]) in rule["any_of"]


def ip_hash(ip: str, secret: str) -> str:
    """HMAC of the address with the secret key: enough to count repeats, useless to recover the address."""
    return hmac.new(secret.encode(), f"survey-ip:{ip}".encode(), hashlib.sha256).hexdigest()


def _int_or_none(value, errors: dict, field: str, message: str, low: int = 1, high: int | None = None) -> int | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        errors[field] = message
        return None
    if number < low or number > (INT64_MAX if high is None else high):
        errors[field] = message
    return number


def create_code(db: Database, kind: str, *, user: dict, site_id=None, event_id=None, max_answers=None,
                note: str = "", now: datetime) -> int:
    """Create a survey code (raw form values accepted); InvalidInput with zh messages when bad."""
    errors: dict[str, str] = {}
    if kind not in SURVEYS:
        errors["kind"] = t("surveys.kind_required")
    site = _int_or_none(site_id, errors, "site_id", t("surveys.site_unknown"))
    if site is not None and "site_id" not in errors and not scalar(db, "SELECT 1 FROM sites WHERE id = ?", [site]):
        errors["site_id"] = t("surveys.site_unknown")
    event = str(event_id).strip() if event_id else None
    if event and not scalar(db, "SELECT 1 FROM events WHERE id = ? AND voided = 0", [event]):
        errors["event_id"] = t("surveys.event_unknown")
    cap = _int_or_none(max_answers, errors, "max_answers", t("surveys.cap_invalid", max=CAP_MAX), 1, CAP_MAX)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = t("surveys.note_too_long", n=NOTE_MAX)
    if errors:
        raise InvalidInput(errors)
    with write(db):
        code_id = db.execute(
            "INSERT INTO survey_codes (token, kind, site_id, event_id, created_by, created_at, max_answers, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [secrets.token_urlsafe(12), kind, site, event or None, user["id"], utc_stamp(now), cap, note]).lastrowid
        audit.record(db, "survey_code_create", user=user, target=f"survey_code:{code_id}", detail={"kind": kind}, now=now)
    return code_id


def get_code(db: Database, code_id: int) -> dict:
    """A survey code with its site name and creator; NotFound when missing."""
    code = one(db, "SELECT c.*, s.name AS site_name, u.display_name AS creator FROM survey_codes c "
                   "LEFT JOIN sites s ON s.id = c.site_id JOIN users u ON u.id = c.created_by WHERE c.id = ?", [code_id])
    if not code:
        raise NotFound(t("surveys.code_not_found"))
    return code


def code_by_token(db: Database, token: str) -> dict | None:
    """The code behind a public token, or None."""
    return one(db, "SELECT * FROM survey_codes WHERE token = ?", [token])


def check_open(db: Database, code: dict | None) -> dict:
    """The code when it can take an answer; Unavailable (unknown, closed or full) otherwise."""
    if code is None:
        raise Unavailable("unknown")
    if code["closed_at"]:
        raise Unavailable("closed")
    if code["max_answers"] is not None and _count(db, code["id"]) >= code["max_answers"]:
        raise Unavailable("full")
    return code


def _count(db: Database, code_id: int) -> int:
    return scalar(db, "SELECT count(*) FROM survey_answers WHERE code_id = ?", [code_id])


def _check_flood(db: Database, code_id: int, address: str, day: str, now: datetime) -> None:
    same_code = scalar(db, "SELECT count(*) FROM survey_answers WHERE code_id = ? AND ip_hash = ? AND day = ?",
                       [code_id, address, day])
    last_hour = scalar(db, "SELECT count(*) FROM survey_answers WHERE ip_hash = ? AND answered_at > ?",
                       [address, utc_stamp(now - timedelta(hours=1))])
    if same_code >= PER_CODE_PER_ADDRESS_PER_DAY or last_hour >= PER_ADDRESS_PER_HOUR:
        raise Unavailable("flood")


def clean_answer(kind: str, form: Mapping) -> dict:
    """The validated answer {answers, respondent_type, comment}; InvalidInput naming each bad field."""
    errors, answers = {}, {}
    for n, question in enumerate(SURVEYS[kind]["questions"], start=1):
        value = str(form.get(question["key"]) or "").strip()
        if not value:
            errors[question["key"]] = t("surveys.answer_missing", n=n)
        elif value not in question["options"]:
            errors[question["key"]] = t("surveys.bad_option")
        answers[question["key"]] = value
    respondent = str(form.get("respondent_type") or "").strip()
    if respondent not in RESPONDENT_TYPES:
        errors["respondent_type"] = t("surveys.respondent_type_required")
    comment = str(form.get("comment") or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = t("surveys.comment_too_long", n=COMMENT_MAX)
    if errors:
        raise InvalidInput(errors)
    return {"answers": answers, "respondent_type": respondent, "comment": comment}


def answer(db: Database, token: str, form: Mapping, *, ip: str, secret: str, now: datetime, tz: ZoneInfo) -> int:
    """Store one respondent's answer (a quick resend returns the first id); Unavailable or InvalidInput otherwise.

    The checks (open, double tap, flood limits, cap) and the insert are one write transaction: answers sent
    at the same instant are counted one after another, so exactly the limit gets through.
    """
    code = check_open(db, code_by_token(db, token))  # unknown, closed or full: said without waiting for the lock
    clean = clean_answer(code["kind"], form)
    with write(db):
        code = check_open(db, code_by_token(db, token))  # closed or filled in the meantime
        return _store_answer(db, code, clean, ip=ip, secret=secret, now=now, tz=tz)


def _store_answer(db: Database, code: dict, clean: dict, *, ip: str, secret: str, now: datetime, tz: ZoneInfo) -> int:
    local = now.astimezone(tz)
    day, address = local.date().isoformat(), ip_hash(ip, secret)
    answers_json = json.dumps(clean["answers"], ensure_ascii=False)
    # A double tap on a slow connection sends the same answer twice: keep the first.
    repeat = scalar(db, "SELECT id FROM survey_answers WHERE code_id = ? AND ip_hash = ? AND day = ? AND answered_at > ? "
                        "AND answers = ? AND respondent_type = ? AND comment = ? ORDER BY id DESC LIMIT 1",
                    [code["id"], address, day, utc_stamp(now - REPEAT_WINDOW), answers_json, clean["respondent_type"],
                     clean["comment"]])
    if repeat:
        return repeat
    _check_flood(db, code["id"], address, day, now)
    # One statement re-checks the cap, so two answers racing for the last place cannot both land.
    cur = db.execute(
        "INSERT INTO survey_answers (code_id, kind, answered_at, day, month, positive, answers, respondent_type, "
        "ip_hash, comment) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
        "WHERE ? IS NULL OR (SELECT count(*) FROM survey_answers WHERE code_id = ?) < ?",
        [code["id"], code["kind"], utc_stamp(now), day, day[:7], int(is_positive(code["kind"], clean["answers"])),
         answers_json, clean["respondent_type"], address, clean["comment"],
         code["max_answers"], code["id"], code["max_answers"]])
    if cur.rowcount != 1:
        raise Unavailable("full")
    return cur.lastrowid


def close_code(db: Database, code_id: int, *, user: dict, now: datetime) -> None:
    """Stop a code taking answers (its creator or a chief); closing twice keeps the first time."""
    code = get_code(db, code_id)
    if code["created_by"] != user["id"] and user["role"] != "chief":
        raise Forbidden(t("surveys.close_forbidden"))
    with write(db):
        db.execute("UPDATE survey_codes SET closed_at = ? WHERE id = ? AND closed_at IS NULL", [utc_stamp(now), code_id])
        audit.record(db, "survey_code_close", user=user, target=f"survey_code:{code_id}", now=now)


def _rate(positive: int | None, count: int) -> float | None:
    return (positive or 0) / count if count else None


def code_stats(db: Database, code_id: int) -> dict:
    """Answers, positives and rate of one code, by respondent type and by option, with recent comments."""
    code = get_code(db, code_id)
    rows = list(db.query("SELECT positive, answers, respondent_type, comment, answered_at FROM survey_answers "
                         "WHERE code_id = ? ORDER BY answered_at DESC, id DESC", [code_id]))
    by_type = {t: 0 for t in RESPONDENT_TYPES}
    by_option = {q["key"]: {o: 0 for o in q["options"]} for q in SURVEYS[code["kind"]]["questions"]}
    for row in rows:
        by_type[row["respondent_type"]] = by_type.get(row["respondent_type"], 0) + 1
        for key, value in json.loads(row["answers"]).items():
            if key in by_option and value in by_option[key]:
                by_option[key][value] += 1
    positive = sum(r["positive"] for r in rows)
    return {"answers": len(rows), "positive": positive, "rate": _rate(positive, len(rows)), "by_type": by_type,
            "by_option": by_option, "last_answered_at": rows[0]["answered_at"] if rows else None,
            "comments": [{"at": r["answered_at"], "text": r["comment"], "respondent_type": r["respondent_type"]}
                         for r in rows if r["comment"]][:20]}


def list_codes(db: Database) -> list[dict]:
    """Every code, newest first, with its answer count, positives and rate."""
    rows = list(db.query(
        "SELECT c.*, s.name AS site_name, u.display_name AS creator, "
        "(SELECT count(*) FROM survey_answers a WHERE a.code_id = c.id) AS answers, "
        "(SELECT sum(positive) FROM survey_answers a WHERE a.code_id = c.id) AS positive "
        "FROM survey_codes c LEFT JOIN sites s ON s.id = c.site_id JOIN users u ON u.id = c.created_by "
        "ORDER BY c.id DESC"))
    for row in rows:
        row["positive"] = row["positive"] or 0
        row["rate"] = _rate(row["positive"], row["answers"])
    return rows


def year_summary(db: Database, year: int) -> dict[str, dict]:
    """Answers, positives and rate per kind over one calendar year (station-local days)."""
    out = {kind: {"answers": 0, "positive": 0, "rate": None} for kind in SURVEYS}
    for row in db.query("SELECT kind, count(*) AS n, sum(positive) AS p FROM survey_answers "
                        "WHERE day BETWEEN ? AND ? GROUP BY kind", [f"{year}-01-01", f"{year}-12-31"]):
        out[row["kind"]] = {"answers": row["n"], "positive": row["p"], "rate": _rate(row["p"], row["n"])}
    return out


def answer_years(db: Database) -> list[int]:
    """The years that have answers, newest first."""
    return [int(r[0]) for r in db.conn.execute("SELECT DISTINCT substr(day, 1, 4) FROM survey_answers ORDER BY 1 DESC")]


# --- demo data ----------------------------------------------------------------------------------

_DEMO_PLAN = [
    # kind, codes (each covering an equal share of the year), answers, positives
    ("awareness_survey", 4, 200, 192),
    ("satisfaction_survey", 2, 150, 140),
]
_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_DEMO_TYPES = {"awareness_survey": [10, 10, 60, 20], "satisfaction_survey": [55, 30, 10, 5]}
# Demo answers' comments, as respondents would type them.
_DEMO_COMMENTS = ["希望多到工地宣传", "检查很认真", "办事效率高，态度好", "建议公布投诉电话", "宣传资料通俗易懂",  # zh: data
                  "希望加强对小工地的监管", "整改要求讲得很清楚"]  # zh: data


def _demo_content(kind: str, positive: bool, rng: random.Random) -> dict:
    questions = [q["key"] for q in SURVEYS[kind]["questions"]]
    if kind == "awareness_survey":
        yes_count = rng.choice([3, 4, 4, 4]) if positive else rng.choice([0, 1, 2])
        yes = set(rng.sample(questions, yes_count))
        return {key: YES if key in yes else NO for key in questions}
    levels = (SATISFACTION_LEVELS[:3], [5, 4, 1]) if positive else (SATISFACTION_LEVELS[3:], [4, 1])
    return {"overall": rng.choices(*levels)[0]}


def demo_answers(db: Database, rng: random.Random, year: int, user_id: int, tz: ZoneInfo = ZoneInfo("Asia/Shanghai"),
                 until: datetime | None = None) -> None:
    """Demo: survey codes over the year with 200 awareness answers (96 % aware) and 150 satisfaction (93 % satisfied).

    until: nothing after this moment (the year under way): later codes are not made, later answers not given,
    and a code whose period runs past it is still open."""
    site_ids = [r[0] for r in db.conn.execute("SELECT id FROM sites ORDER BY id LIMIT 6")] or [None]
    rows = []
    with write(db):
        for kind, n_codes, n_answers, n_positive in _DEMO_PLAN:
            months_each = 12 // n_codes
            positives = [True] * n_positive + [False] * (n_answers - n_positive)
            rng.shuffle(positives)
            for c in range(n_codes):
                first = datetime(year, 1 + c * months_each, 1, 8, tzinfo=tz)
                last = datetime(year + 1, 1, 1, tzinfo=tz) if c == n_codes - 1 else datetime(year, 1 + (c + 1) * months_each, 1, tzinfo=tz)
                if until is not None and first > until:
                    break
                still_open = c == n_codes - 1 or (until is not None and last > until)
                code_id = db.execute(
                    "INSERT INTO survey_codes (token, kind, site_id, created_by, created_at, closed_at, note) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ["".join(rng.choices(_TOKEN_CHARS, k=16)), kind, site_ids[c % len(site_ids)], user_id,
                     utc_stamp(first), None if still_open else utc_stamp(last), f"演示：第 {c + 1} 批"]).lastrowid  # zh: data
                share = positives[c * n_answers // n_codes:(c + 1) * n_answers // n_codes]
                span_days = (last - first).days
                for i, positive in enumerate(share):
                    local = first + timedelta(days=rng.randrange(span_days), hours=rng.randint(0, 11), minutes=rng.randint(0, 59))
                    content = _demo_content(kind, positive, rng)
                    if until is not None and local > until:
                        continue
                    rows.append([code_id, kind, utc_stamp(local), local.date().isoformat(), local.strftime("%Y-%m"),
                                 int(is_positive(kind, content)), json.dumps(content, ensure_ascii=False),
                                 rng.choices(RESPONDENT_TYPES, _DEMO_TYPES[kind])[0],
                                 hashlib.sha256(f"demo:{kind}:{c}:{i}".encode()).hexdigest(),
                                 rng.choice(_DEMO_COMMENTS) if rng.random() < 0.15 else ""])
        db.conn.executemany(
            "INSERT INTO survey_answers (code_id, kind, answered_at, day, month, positive, answers, respondent_type, "
            "ip_hash, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
