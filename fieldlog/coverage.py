"""Monthly patrol coverage of active sites and plants; each state is derived from the dates, never stored."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date

from sqlite_utils import Database

from fieldlog import events, plans, registry
from fieldlog.events import queries
from fieldlog.errors import InvalidInput, one_of
from fieldlog.indicators.quotas import Quotas, for_year as year_quotas
from fieldlog.messages import label, t
from fieldlog.periods import Period, month as month_period, parse_month, quarter_of

# A month (or quarter) with this many days left or fewer, and its quota not met, is due soon (临期).
DUE_SOON_DAYS = 5
# The states: English values (CSS classes, the API's state_key, filters), labels in LABELS["coverage_state"].
DONE, OPEN, DUE_SOON, OVERDUE = "done", "open", "due_soon", "overdue"
STATES = (OVERDUE, DUE_SOON, OPEN, DONE)
STATE_RANK = {s: i for i, s in enumerate(STATES)}

# Kinds that can be about a site or a plant (from the events catalogue); counted per subject and month.
SITE_KINDS = events.kinds_about("site")
PLANT_KINDS = events.kinds_about("plant")
# What counts as a visit for "last visit / days since".
SITE_VISIT_KINDS = ("safety_patrol", "enforcement_patrol", "major_inspection")
PLANT_VISIT_KINDS = ("plant_patrol", "plant_inspection")

TIMELINE_LIMIT = 300
# The evidence page shows its events a page at a time ("load more" adds the next page in place).
TIMELINE_PAGE = 50


@dataclass
class Row:
    """One site or plant of the month: counts against the quota, last visit and derived state."""

    subject: str
    id: int
    name: str
    town: str
    counts: dict[str, int]
    quota: dict[str, int]
    last_visit: date | None
    days_since: int | None
    state: str
    inspectors: list[dict] = field(default_factory=list)
    uses_ready_mix: bool = False
    plan: plans.Plan | None = None     # the site's supervision plan, when the chief set one (plans.for_month)

    @cached_property
    def met(self) -> dict[str, bool]:
        """{kind: quota met} for each quota kind (once per row: a page reads it in several cells)."""
        return {k: self.counts.get(k, 0) >= n for k, n in self.quota.items()}

    @cached_property
    def done(self) -> dict[str, int]:
        """{kind: events this month} for every kind about the subject, 0 for none (what the rows show)."""
        return {k: self.counts.get(k, 0) for k in (SITE_KINDS if self.subject == "site" else PLANT_KINDS)}

    @cached_property
    def need(self) -> dict[str, int]:
        """{kind: events still due this month against the quota} for every kind about the subject (negative: more)."""
        return {k: self.quota.get(k, 0) - n for k, n in self.done.items()}

    @property
    def state_key(self) -> str:
        """English key of the state (CSS class, API): the state itself."""
        return self.state

    @property
    def state_label(self) -> str:
        """The state as a person reads it (已完成, 待巡查, 临期, 逾期)."""
        return state_label(self.state)

    @property
    def patrols(self) -> int:
        """Patrols of the quota kinds this month, summed (the sort key within a state)."""
        return sum(self.counts.get(k, 0) for k in self.quota)


def state_label(value: str) -> str:
    """The Chinese label of a coverage state."""
    return label("coverage_state", value)


def days_left(period: Period, today: date) -> int:
    """Days after today until the period's last day (0 on the last day, negative once it ended)."""
    return (period.end - today).days


def state(met: bool, period: Period, today: date) -> str:
    """DONE when met; else OVERDUE once the period ended, DUE_SOON within DUE_SOON_DAYS of its end, else OPEN."""
    if met:
        return DONE
    left = days_left(period, today)
    if left < 0:
        return OVERDUE
    return DUE_SOON if left <= DUE_SOON_DAYS else OPEN


def sort_key(row: Row) -> tuple:
    """At risk first; within a state the fewest patrols, then the longest since a visit (never = longest)."""
    since = -row.days_since if row.days_since is not None else -10**6
    return STATE_RANK[row.state], row.patrols, since, row.name


def current_month(today: date) -> Period:
    """The calendar month containing today."""
    return month_period(today.year, today.month)


def month_or_current(text: str | None, today: date) -> Period:
    """The month named 'YYYY-MM', or today's month when empty; InvalidInput naming `month` when malformed."""
    text = (text or "").strip()
    if not text:
        return current_month(today)
    try:
        found = parse_month(text)
    except ValueError:
        raise InvalidInput({"month": t("coverage.month_malformed")}) from None
    if not 2000 <= found.start.year <= 2100:
        raise InvalidInput({"month": t("coverage.month_out_of_range")})
    return found


def parse_state(text: str | None) -> str | None:
    """A state filter given by its English key (overdue, due_soon, open, done); InvalidInput naming `state`."""
    return one_of(text, STATES, "state", t("coverage.state_unknown"))


def shift(month: Period, step: int) -> Period:
    """The month `step` months after (or before) month."""
    index = month.start.year * 12 + month.start.month - 1 + step
    return month_period(index // 12, index % 12 + 1)


def cutoff(period: Period, today: date) -> date:
    """The last day whose events are known: the period's end, or today while it is under way."""
    return min(period.end, today)


def month_counts(db: Database, month: Period, subject: str,
                 kinds: tuple[str, ...] | None = None) -> dict[int, dict[str, int]]:
    """{subject id: {kind: count}} of the month's non-voided events of the kinds (default: every kind about it)."""
    kinds = kinds or (SITE_KINDS if subject == "site" else PLANT_KINDS)
    return queries.counts_by_subject(db, month.label, f"{subject}_id", kinds)


def last_visits(db: Database, subject: str, ids: list[int], upto: date) -> dict[int, date]:
    """{id: day of the latest non-voided visit on or before upto}."""
    kinds = SITE_VISIT_KINDS if subject == "site" else PLANT_VISIT_KINDS
    return queries.last_days(db, f"{subject}_id", kinds, ids, upto)


def build_row(subject: str, item: dict, counts: dict[str, int], quota: dict[str, int], last: date | None,
              period: Period, today: date, inspectors: list[dict] | None = None, plan: plans.Plan | None = None) -> Row:
    """A coverage row from its counts and last visit (pure); a site's plan sets its enforcement checks."""
    quota = plans.site_quota(quota, plan)
    met = all(counts.get(k, 0) >= n for k, n in quota.items())
    since = (cutoff(period, today) - last).days if last else None
    return Row(subject, item["id"], item["name"], item.get("town") or "", counts, quota, last, since,
               state(met, period, today), inspectors or [], bool(item.get("uses_ready_mix")), plan)


def site_coverage(db: Database, month: Period, today: date, town: str = "", inspector_id: int | None = None,
                  all_kinds: bool = False, quotas: Quotas | None = None, active: list[dict] | None = None) -> list[Row]:
    """Every site active in the month with its patrols against the quota, at-risk first; optional filters.

    Counts cover the quota kinds only, or every site kind with all_kinds (the API's counts by kind).
    The quotas are those given, else those of the table in force for the month's year; a site's supervision
    plan (plans.for_month) raises its enforcement checks above the table's minimum. `active`: the month's
    active sites when the caller read them already (registry.active_sites_in).
    """
    quota = (quotas or year_quotas(db, month.start.year)).site
    people = registry.responsible_inspectors(db)
    sites = [s for s in (registry.active_sites(db, month) if active is None else active)
             if (not town or s["town"] == town)
             and (inspector_id is None or any(p["id"] == inspector_id for p in people.get(s["id"], [])))]
    counts = month_counts(db, month, "site", None if all_kinds else tuple(quota))
    last = last_visits(db, "site", [s["id"] for s in sites], cutoff(month, today))
    planned = plans.for_month(db, month)
    rows = [build_row("site", s, counts.get(s["id"], {}), quota, last.get(s["id"]), month, today,
                      people.get(s["id"], []), planned.get(s["id"])) for s in sites]
    return sorted(rows, key=sort_key)


def month_sites(db: Database, month_text: str | None, today: date) -> tuple[Period, list[Row]]:
    """The month named (or today's) and its site rows against the quotas of the table in force that year."""
    period = month_or_current(month_text, today)
    return period, site_coverage(db, period, today, quotas=year_quotas(db, period.start.year))


def plant_coverage(db: Database, month: Period, today: date, all_kinds: bool = False,
                   quotas: Quotas | None = None) -> list[Row]:
    """Every plant active in the month with its plant patrols against the quota (given, else the year's), at-risk first."""
    quota = (quotas or year_quotas(db, month.start.year)).plant
    plants = registry.active_plants(db, month)
    counts = month_counts(db, month, "plant", None if all_kinds else tuple(quota))
    last = last_visits(db, "plant", [p["id"] for p in plants], cutoff(month, today))
    return sorted((build_row("plant", p, counts.get(p["id"], {}), quota, last.get(p["id"]), month, today)
                   for p in plants), key=sort_key)


def tally(rows: list[Row]) -> dict[str, int]:
    """{state: number of rows} in display order."""
    return {s: sum(1 for r in rows if r.state == s) for s in STATES}


def summary(rows: list[Row]) -> dict[str, int]:
    """{state label: number of rows} in display order: the coverage API's `summary`, keyed 逾期, 临期, 待巡查, 已完成."""
    return {state_label(s): n for s, n in tally(rows).items()}


@dataclass
class QuarterSampling:
    """Concrete sampling of a quarter: distinct sites sampled against min(cap, ready-mix sites active)."""

    period: Period
    quota: int
    sampled: int
    ready_mix: int
    missing: list[dict]
    state: str
    cap: int | None = None  # the table's sites a quarter (None: every ready-mix site)

    @property
    def months(self) -> list[str]:
        """The YYYY-MM labels of the quarter."""
        return self.period.months()


def quarter_sampling(db: Database, month: Period, today: date, quotas: Quotas | None = None,
                     active: list[dict] | None = None) -> QuarterSampling:
    """The sampling quota (cap given, else the year's) of the quarter containing month, and the sites not sampled
    yet (`active`: the quarter's active sites when the caller read them already)."""
    cap = (quotas or year_quotas(db, month.start.year)).sampling_cap
    quarter = quarter_of(month.start)
    if active is None:
        active = registry.active_sites(db, quarter)  # the ready-mix sites are among them
    ready = [s for s in active if s["uses_ready_mix"]]
    # Samples at sites not active in the quarter are not part of it (docs/rules.md, "Active").
    sampled = queries.sampled_sites(db, quarter.months()) & {s["id"] for s in active}
    quota = len(ready) if cap is None else min(cap, len(ready))
    missing = sorted((s for s in ready if s["id"] not in sampled), key=lambda s: (s["town"], s["name"]))
    met = len(sampled) >= quota
    return QuarterSampling(quarter, quota, len(sampled), len(ready), missing, state(met, quarter, today), cap)


def inspector_month(db: Database, month: Period) -> dict[int, dict[str, int]]:
    """{user id: {kind: non-voided events this month}} through event_inspectors."""
    return queries.kinds_by_inspector(db, month.label)


def by_inspector(people: list[dict], rows: list[Row], kinds_by_user: dict[int, dict[str, int]]) -> list[dict]:
    """Each person with their events by kind this month, the sites they are responsible for and those sites' tally."""
    out = []
    for p in people:
        mine = [r for r in rows if any(i["id"] == p["id"] for i in r.inspectors)]
        kinds = kinds_by_user.get(p["id"], {})
        out.append({**p, "kinds": kinds, "total": sum(kinds.values()), "sites": mine, "tally": tally(mine)})
    return out


def as_json(row: Row) -> dict:
    """The API shape of a row."""
    return {"subject": row.subject, "id": row.id, "name": row.name, "town": row.town, "counts": row.counts,
            "quota": row.quota, "met": row.met, "all_met": all(row.met.values()), "state": row.state_label,
            "state_key": row.state_key,
            "last_visit": row.last_visit.isoformat() if row.last_visit else None, "days_since": row.days_since,
            "inspectors": [p["display_name"] for p in row.inspectors]}


def kind_label(kind: str) -> str:
    """The zh name of an event kind (from the events catalogue)."""
    return events.KINDS.get(kind, {}).get("label", kind)


def key_fields(kind: str, raw: str) -> list[tuple[str, str]]:
    """[(zh label, shown value)] of an event's kind-specific fields, in the catalogue's order (choices by label)."""
    data = json.loads(raw or "{}")
    names = [f["name"] for f in events.KINDS.get(kind, {}).get("fields", [])]
    out = []
    for name in names + sorted(set(data) - set(names)):
        value = data.get(name)
        if value in (None, "") or name == "notice_event_id":
            continue
        out.append((events.field_label(kind, name), events.shown(kind, name, value)))
    return out


def timeline(db: Database, limit: int = TIMELINE_LIMIT, offset: int = 0, **filters) -> list[dict]:
    """Events newest first, voided ones included (and marked); filters by subject, months, kind and inspector."""
    return [{**r, "label": kind_label(r["kind"]), "fields": key_fields(r["kind"], r["data"]),
             "notice_event_id": json.loads(r["data"] or "{}").get("notice_event_id")}
            for r in queries.timeline(db, limit, offset, **filters)]
