"""双随机一公开 draws: for a month, a share of the active sites and a pair of inspectors for each, drawn from a
recorded seed so that anyone can re-run the draw, kept with who drew it and when, and published with a date.

The algorithm (ALGORITHM; docs/rules.md shows it as a script the public can run):

1. the candidates are the sites active in the month, by id ascending; the staff are the active inspectors
   (role inspector), by id ascending;
2. rng = random.Random(seed), the seed as recorded (a text);
3. n = ceil(number of candidates × share / 100); the sites drawn are rng.sample(candidates, n), in that order;
4. for each site drawn, in that order: its eligible staff are the staff, less the site's responsible
   inspectors when the draw excludes them; its pair is rng.sample(eligible, 2).

A check is done when one of its pair logged a site visit (safety or enforcement patrol, major inspection) at
the site on or after the draw's day; on time when that was within `due_working_days` working days (Monday to
Friday; public holidays are not known to fieldlog) of the draw's day.
"""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from fieldlog import accounts, audit, exports, importer, registry
from fieldlog.coverage import SITE_VISIT_KINDS
from fieldlog.db import write
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.events import queries
from fieldlog.messages import label, t
from fieldlog.periods import parse_month, utc_stamp

ALGORITHM = "fieldlog-draw-1"
# The station's defaults, which the chief may change on each draw (every draw records the values it used).
SHARE_PERCENT = 20                 # share of the active sites drawn each month
DUE_WORKING_DAYS = 20              # a drawn check is due within this many working days of the draw
# Whether a site's responsible inspectors stand aside is the station's setting (FIELDLOG_DRAW_EXCLUDE_RESPONSIBLE).
# A drawn check's state: English values, labels in LABELS["draw_state"].
DONE, LATE, PENDING, OVERDUE = "done", "late", "pending", "overdue"


def draw(sites: list[int], staff: list[int], responsible: dict[int, set[int]], seed: str, share_percent: int,
         exclude_responsible: bool) -> list[tuple[int, int, int]]:
    """The draw itself (pure): [(site, inspector a, inspector b)] in drawn order; ValueError(site) when a site
    has fewer than two eligible inspectors."""
    rng = random.Random(seed)
    candidates, people = sorted(sites), sorted(staff)
    drawn = rng.sample(candidates, math.ceil(len(candidates) * share_percent / 100))
    out = []
    for site in drawn:
        eligible = [p for p in people if not (exclude_responsible and p in responsible.get(site, set()))]
        if len(eligible) < 2:
            raise ValueError(site)
        a, b = rng.sample(eligible, 2)
        out.append((site, a, b))
    return out


def add_working_days(day: date, n: int) -> date:
    """The day n working days (Monday to Friday) after day."""
    while n > 0:
        day += timedelta(days=1)
        n -= day.weekday() < 5
    return day


def clean(raw: dict, exclude_default: bool = True) -> dict:
    """A draw's settings from the form (exclude_default: the station's setting); InvalidInput naming the field."""
    errors: dict[str, str] = {}
    try:
        month = parse_month(str(raw.get("month") or "").strip()).label
    except ValueError:
        month = None
        errors["month"] = t("draws.month_invalid")
    values = {"month": month}
    for key, low, high, default in (("share_percent", 1, 100, SHARE_PERCENT), ("due_working_days", 1, 250, DUE_WORKING_DAYS)):
        text = str(raw.get(key) if raw.get(key) is not None else "").strip()
        number = int(text) if text.isascii() and text.isdigit() else (default if not text else None)
        if number is None or not low <= number <= high:
            errors[key] = t(f"draws.{key}_invalid", low=low, high=high)
        values[key] = number
    seed = str(raw.get("seed") or "").strip() or secrets.token_hex(8)
    if len(seed) > 100:
        errors["seed"] = t("draws.seed_too_long")
    values["seed"] = seed
    given = raw.get("exclude_responsible")
    text = "" if given is None else str(given).strip()
    values["exclude_responsible"] = exclude_default if not text else text in ("1", "on", "true")
    if errors:
        raise InvalidInput(errors)
    return values


def staff(db: Database) -> list[dict]:
    """The enforcement staff a draw picks from: active inspectors."""
    return [u for u in accounts.inspectors(db) if u["role"] == "inspector"]


def make_draw(db: Database, raw: dict, *, user: dict, now: datetime, exclude_default: bool = True) -> int:
    """Draw a month's checks and keep them (one draw a month, audited); returns the draw's id."""
    values = clean(raw, exclude_default)
    period = parse_month(values["month"])
    if list(db.query("SELECT id FROM draws WHERE month = ?", [values["month"]])):
        raise InvalidInput({"month": t("draws.month_drawn", month=values["month"])})
    sites = {s["id"]: s["name"] for s in registry.active_sites(db, period)}
    if not sites:
        raise InvalidInput({"month": t("draws.no_active_sites")})
    responsible = {sid: {p["id"] for p in people} for sid, people in registry.responsible_inspectors(db).items()}
    try:
        checks = draw(list(sites), [u["id"] for u in staff(db)], responsible, values["seed"], values["share_percent"],
                      values["exclude_responsible"])
    except ValueError as exc:
        raise InvalidInput({"exclude_responsible": t("draws.too_few_staff", site=sites[exc.args[0]])}) from None
    with write(db):
        draw_id = db.execute(
            "INSERT INTO draws (month, seed, share_percent, exclude_responsible, due_working_days, algorithm, drawn_by, "
            "drawn_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [values["month"], values["seed"], values["share_percent"], int(values["exclude_responsible"]),
             values["due_working_days"], ALGORITHM, user["id"], utc_stamp(now)]).lastrowid
        for position, (site, a, b) in enumerate(checks, start=1):
            db.execute("INSERT INTO draw_checks (draw_id, position, site_id, inspector_a, inspector_b) VALUES (?, ?, ?, ?, ?)",
                       [draw_id, position, site, a, b])
        audit.record(db, "draw_made", user=user, target=f"draw:{draw_id}",
                     detail={"month": values["month"], "seed": values["seed"], "checks": len(checks)}, now=now)
    return draw_id


def publish(db: Database, draw_id: int, raw: dict, *, user: dict, now: datetime, today: date, tz) -> None:
    """Record the day the draw's results were made public (audited); InvalidInput naming `published_on`."""
    found = get(db, draw_id, today, tz)
    try:
        day = date.fromisoformat(str(raw.get("published_on") or "").strip())
    except ValueError:
        raise InvalidInput({"published_on": t("draws.published_on_invalid")}) from None
    if day > today or day < found.drawn_on:
        raise InvalidInput({"published_on": t("draws.published_on_range", first=found.drawn_on.isoformat())})
    with write(db):
        db.execute("UPDATE draws SET published_on = ?, published_by = ? WHERE id = ?", [day.isoformat(), user["id"], draw_id])
        audit.record(db, "draw_published", user=user, target=f"draw:{draw_id}", detail={"published_on": day.isoformat()},
                     now=now)


@dataclass
class Check:
    """A drawn check with its pair and whether (and when) it was done."""

    position: int
    site_id: int
    site_name: str
    inspectors: tuple[dict, dict]
    done_on: date | None
    event_id: str | None
    state: str

    @property
    def state_label(self) -> str:
        return label("draw_state", self.state)


@dataclass
class Draw:
    id: int
    month: str
    seed: str
    share_percent: int
    exclude_responsible: bool
    due_working_days: int
    algorithm: str
    drawn_by_name: str
    drawn_at: str
    drawn_on: date
    due_on: date
    published_on: str | None
    checks: list[Check]

    @property
    def done(self) -> int:
        return sum(c.state == DONE for c in self.checks)


def _state(done_on: date | None, due_on: date, today: date) -> str:
    if done_on is not None:
        return DONE if done_on <= due_on else LATE
    return OVERDUE if today > due_on else PENDING


def get(db: Database, draw_id: int, today: date, tz) -> Draw:
    """A draw with its checks and their states as of today; NotFound when there is none."""
    rows = list(db.query("SELECT d.*, u.display_name AS drawn_by_name FROM draws d LEFT JOIN users u ON u.id = d.drawn_by "
                         "WHERE d.id = ?", [draw_id]))
    if not rows:
        raise NotFound(t("draws.not_found"))
    d = rows[0]
    drawn = datetime.fromisoformat(d["drawn_at"])
    drawn_on = drawn.astimezone(tz).date()
    due_on = add_working_days(drawn_on, d["due_working_days"])
    names = {u["id"]: u for u in db.query("SELECT id, display_name FROM users")}
    checks = []
    for c in db.query("SELECT dc.*, s.name AS site_name FROM draw_checks dc JOIN sites s ON s.id = dc.site_id "
                      "WHERE dc.draw_id = ? ORDER BY dc.position", [draw_id]):
        visit = queries.first_visit(db, c["site_id"], list(SITE_VISIT_KINDS), [c["inspector_a"], c["inspector_b"]],
                                    drawn_on.isoformat(), today.isoformat())
        done_on = date.fromisoformat(visit["day"]) if visit else None
        checks.append(Check(c["position"], c["site_id"], c["site_name"],
                            (names[c["inspector_a"]], names[c["inspector_b"]]), done_on,
                            visit["id"] if visit else None, _state(done_on, due_on, today)))
    return Draw(d["id"], d["month"], d["seed"], d["share_percent"], bool(d["exclude_responsible"]), d["due_working_days"],
                d["algorithm"], d["drawn_by_name"] or "", d["drawn_at"], drawn_on, due_on, d["published_on"], checks)


def all_draws(db: Database) -> list[dict]:
    """Every draw, newest month first, with how many checks it drew."""
    return list(db.query("SELECT d.*, u.display_name AS drawn_by_name, (SELECT count(*) FROM draw_checks c "
                         "WHERE c.draw_id = d.id) AS checks FROM draws d LEFT JOIN users u ON u.id = d.drawn_by "
                         "ORDER BY d.month DESC"))


def mine(db: Database, user_id: int, today: date, tz) -> list[tuple[Draw, Check]]:
    """The drawn checks of a user not yet done, from every draw (the inspector's home lists them)."""
    ids = [r["draw_id"] for r in db.query("SELECT DISTINCT draw_id FROM draw_checks WHERE inspector_a = ? OR "
                                          "inspector_b = ? ORDER BY draw_id", [user_id, user_id])]
    out = []
    for draw_id in ids:
        d = get(db, draw_id, today, tz)
        out += [(d, c) for c in d.checks if user_id in (c.inspectors[0]["id"], c.inspectors[1]["id"])
                and c.state in (PENDING, OVERDUE)]
    return out


def public_rows(d: Draw) -> list[list]:
    """The public list: one row per drawn check (headers: public_headers)."""
    return [[c.position, c.site_name, c.inspectors[0]["display_name"], c.inspectors[1]["display_name"],
             c.done_on or "", c.state_label if d.published_on else ""] for c in d.checks]


def public_headers() -> list[str]:
    return [label("draw_column", k) for k in ("position", "site", "inspector_a", "inspector_b", "done_on", "result")]


def _preamble(d: Draw) -> list[list]:
    return [[t("draws.export_title", month=d.month)],
            [t("draws.export_seed", seed=d.seed, algorithm=d.algorithm, share=d.share_percent)],
            [t("draws.export_published", day=d.published_on or t("draws.not_published"))], []]


def export_csv(d: Draw) -> bytes:
    """The public list as CSV (UTF-8 with BOM)."""
    return importer.csv_bytes([*_preamble(d), public_headers(), *public_rows(d)])


def export_xlsx(d: Draw) -> bytes:
    """The public list as XLSX."""
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = d.month
    for values in [*_preamble(d), public_headers(), *public_rows(d)]:
        exports.append(ws, values)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
