"""The rule vocabulary of target tables: each rule turns events (or the chief's entries) into a row's actual.

A rule is a function `(ctx, target, **params) -> Outcome`. Its parameters come from the table file and
are checked against `RULES[name].params` when the file is loaded. See docs/rules.md for worked examples.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import cached_property
from typing import Callable, NamedTuple
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog import periods as P
from fieldlog import registry, samples, survey_batches, surveys
from fieldlog.events.kinds import KINDS
from fieldlog.indicators import figures
from fieldlog.messages import label, t

SUBJECT_COLUMNS = {"site": "site_id", "plant": "plant_id", "campaign": "campaign_id"}
SURVEY_KINDS = ("awareness_survey", "satisfaction_survey")
# Fields of the kind-specific data that the monthly tallies (migration 005) keep.
CATEGORY_FIELDS = ("finding", "result", "conditions_met")
AMOUNT_FIELDS = ("copies", "fee_yuan")
LAG_PAIRS = (("accepted_on", "filed_on"), ("applied_on", "issued_on"))
TALLY = "event_tallies"
# Narrow summaries of the monthly tallies (migration 027, kept by triggers on event_tallies), for the reads that
# need only their columns: counts by kind and category (no site), counts per site or plant, campaign visits.
KIND_TALLY = "event_kind_tallies"          # kind, month, campaign_id, finding, result, conditions_met, lag_days, n
SITE_TALLY = "event_site_tallies"          # kind, month, site_id, plant_id, n
CAMPAIGN_SITES = "event_campaign_sites"    # kind, year, campaign_id, site_id, first_month (of the year)
SUBJECT_TALLY = {"site": SITE_TALLY, "plant": SITE_TALLY, "campaign": KIND_TALLY}
# The month under way, from the daily tallies (migration 022, kept by triggers like the monthly ones) in the
# shape of a monthly tally row; its days up to as_of are named one by one (PARTIAL_DAYS), so that a rule's kinds
# are found by the key (day, kind) and nothing is summed or copied before the rule's own query.
DAY_TALLY = "event_day_tallies"
PARTIAL = (f"(SELECT day, kind, substr(day, 1, 7) AS month, site_id, plant_id, campaign_id, finding, result, "
           f"conditions_met, lag_days, n, copies, fee_yuan FROM {DAY_TALLY})")
# The same for the counts by kind and category: the daily tallies without site and plant (migration 027).
PARTIAL_KIND = ("(SELECT day, kind, substr(day, 1, 7) AS month, campaign_id, finding, result, conditions_met, "
                "lag_days, n FROM event_day_kind_tallies)")


def partial_days(month: str, last_day: str) -> tuple[str, dict]:
    """The condition and parameters that select the days of `month` up to `last_day` in PARTIAL."""
    days = [f"{month}-{d:02d}" for d in range(1, int(last_day[8:10]) + 1)]
    marks, params = in_list("w_d", days)
    return f"day IN ({marks})", params


def in_list(prefix: str, values: list) -> tuple[str, dict]:
    """Named placeholders for an IN list: (':p0, :p1', {'p0': …, 'p1': …})."""
    names = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return ", ".join(f":{n}" for n in names), names


# --- context: the year, the as-of date, and what a roll-up reads once -------------------------------

class Context:
    """What every rule sees: the database, the year, the as-of date and the station zone.

    What several rows of a roll-up share (the registry's active subjects, the counts per subject and period,
    the sites visited in each campaign) is read once per context and kept in it.
    """

    def __init__(self, db: Database, year: int, as_of: date, tz: ZoneInfo | None = None):
        self.db, self.year, self.as_of, self.tz = db, year, as_of, tz or ZoneInfo("Asia/Shanghai")
        self._cache: dict = {}

    @property
    def first_day(self) -> date:
        return date(self.year, 1, 1)

    @property
    def last_day(self) -> date:
        """The last day that counts: 31 December, or as_of when earlier."""
        return min(self.as_of, date(self.year, 12, 31))

    def periods(self, kind: str) -> list[P.Period]:
        """The elapsed months or quarters of the year (ended by as_of), made once per context."""
        return self.cached(("periods", kind), lambda: P.elapsed(
            P.months_of(self.year) if kind == "month" else P.quarters_of(self.year), self.as_of))

    @cached_property
    def windows(self) -> list[tuple[str, list]]:
        """Conditions on events (month, day) that together select the year's events up to as_of.

        Whole months are one `month BETWEEN` range; only the month under way also needs `day`.
        """
        if self.as_of < self.first_day:
            return [("0", [])]  # selects nothing, but aggregates still return their one row
        full = [p for p in P.months_of(self.year) if p.end <= self.as_of]
        out = []
        if full:
            out.append(("month BETWEEN ? AND ?", [full[0].label, full[-1].label]))
        if self.as_of <= date(self.year, 12, 31) and (not full or full[-1].end < self.as_of):
            out.append(("month = ? AND day <= ?", [f"{self.as_of:%Y-%m}", self.as_of.isoformat()]))
        return out

    def sources(self, tally: str = TALLY) -> list[tuple[str, str, dict]]:
        """(FROM source, WHERE condition, parameters) pieces that together hold the year's events up to as_of.

        Whole months come from the monthly tallies (migration 005) or the summary of them named (`tally`,
        migration 027); the month under way from the daily tallies (migration 022) of its days up to as_of
        (PARTIAL, which has every column of them; PARTIAL_KIND for the kind summary).
        """
        out = []
        for cond, wparams in self.windows:
            if cond.startswith("month BETWEEN"):
                out.append((tally, "month BETWEEN :w_from AND :w_to", {"w_from": wparams[0], "w_to": wparams[1]}))
            elif cond == "0":
                out.append((tally, "0", {}))
            else:
                out.append((PARTIAL_KIND if tally == KIND_TALLY else PARTIAL, *partial_days(*wparams)))
        return out

    def close(self) -> None:
        """Let go of what the roll-up kept (the shared lookups); the windows stay for the evidence."""
        self._cache.clear()

    def rows(self, sql: str, params: dict, tally: str = TALLY) -> list[tuple]:
        """Run `sql` (with `{src}` and `{window}` placeholders) over every source; rows concatenated."""
        out = []
        for src, cond, wparams in self.sources(tally):
            out.extend(self.db.conn.execute(sql.format(src=src, window=cond), {**params, **wparams}).fetchall())
        return out

    def total(self, sql: str, params: dict, tally: str = TALLY) -> list:
        """Column-wise sums of a one-row aggregate query over every source."""
        sums = None
        for row in self.rows(sql, params, tally):
            vals = [v or 0 for v in row]
            sums = vals if sums is None else [a + b for a, b in zip(sums, vals)]
        return sums

    def count(self, kinds: list[str]) -> int:
        """Events of the kinds in the year up to as_of, voided excluded."""
        marks, names = in_list("k", kinds)
        (n,) = self.total(f"SELECT sum(n) FROM {{src}} WHERE kind IN ({marks}) AND {{window}}", names, KIND_TALLY)
        return int(n)

    def elapsed_rows(self, sql: str, params: dict, tally: str = TALLY) -> list[tuple]:
        """Run `sql` over the tallies (or the summary `tally`) of the elapsed (whole) months only."""
        months = self.periods("month")
        if not months:
            return []
        return self.db.conn.execute(sql.format(src=tally, window="month BETWEEN :w_from AND :w_to"),
                                    {**params, "w_from": months[0].label, "w_to": months[-1].label}).fetchall()

    def active(self, subject: str, periods: list[P.Period], ready_mix_only: bool = False) -> dict[str, set[int]]:
        """{period label: ids active in it}; the registry is read once per context, each answer kept."""
        def make() -> dict[str, set[int]]:
            if subject == "plant":
                plants = self.cached(("plants",), lambda: registry.plant_spans(self.db))
                return registry.active_plant_map(self.db, periods, spans=plants)
            sites = self.cached(("sites",), lambda: registry.site_spans(self.db))
            return registry.active_site_map(self.db, periods, ready_mix_only=ready_mix_only, spans=sites)

        return self.cached(("active", subject, ready_mix_only, tuple(periods)), make)

    def counts_by(self, kinds: list[str], subject: str, period: str) -> dict[str, Tallied]:
        """{period label: the events per subject in it} over the elapsed periods, voided excluded (cached): the
        subjects with no event are not listed. A quarter is its months together."""
        def make() -> dict[str, Tallied]:
            if period != "month":
                out: dict[str, Tallied] = {}
                for month, counts in self.counts_by(kinds, subject, "month").items():
                    out.setdefault(f"{month[:4]}-Q{(int(month[5:7]) + 2) // 3}", Tallied([], [])).extend(counts)
                return out
            # Each month's tally rows come as two JSON arrays (subject ids, counts): the database grouping by
            # (month, subject) and handing over a row per pair costs several times more.
            col = SUBJECT_COLUMNS[subject]
            marks, params = in_list("k", kinds)
            return {month: Tallied(json.loads(ids), json.loads(ns)) for month, ids, ns in self.elapsed_rows(
                f"SELECT month, json_group_array({col}), json_group_array(n) FROM {{src}} WHERE kind IN ({marks}) "
                f"AND {{window}} AND {col} != 0 AND n > 0 GROUP BY month", params, SUBJECT_TALLY[subject])}

        return self.cached(("counts", tuple(kinds), subject, period), make)

    def reaching(self, kinds: list[str], subject: str, period: str, need: float) -> dict[str, set[int]]:
        """{period label: ids of the subjects with at least `need` (> 0) events in it} (cached)."""
        return self.cached(("reaching", tuple(kinds), subject, period, need), lambda: {
            name: counts.reaching(need) for name, counts in self.counts_by(kinds, subject, period).items()})

    def per_period(self, kinds: list[str], subject: str, period: str) -> dict[str, tuple[int, int]]:
        """{period label: (events, distinct subjects with an event)} over the elapsed periods, counting only
        subjects active in that period (docs/rules.md: events at an inactive subject are not part of it); cached."""
        def make() -> dict[str, tuple[int, int]]:
            active = self.active(subject, self.periods(period))
            out = {}
            for name, counts in self.counts_by(kinds, subject, period).items():
                inside = counts.subjects & active.get(name, set())
                if inside:
                    out[name] = (counts.events_at(inside), len(inside))
            return out

        return self.cached(("per_period", tuple(kinds), subject, period), make)

    def cached(self, key: tuple, make: Callable):
        """A value computed once per roll-up."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


class Tallied:
    """The events of one period per subject as its tally rows give them: a subject id and a count per row (a
    subject is listed again for each of its rows), summed per subject only when a rule asks for the sums."""

    def __init__(self, ids: list[int], ns: list[int]):
        self.ids, self.ns = ids, ns
        self._subjects: set[int] | None = None
        self._by_subject: dict[int, int] | None = None

    def extend(self, other: Tallied) -> None:
        self.ids, self.ns = self.ids + other.ids, self.ns + other.ns
        self._subjects = self._by_subject = None

    @property
    def subjects(self) -> set[int]:
        """The subjects with an event (every row counts at least one)."""
        if self._subjects is None:
            self._subjects = set(self.ids)
        return self._subjects

    @property
    def by_subject(self) -> dict[int, int]:
        """{subject id: events}."""
        if self._by_subject is None:
            out: dict[int, int] = {}
            for sid, n in zip(self.ids, self.ns):
                out[sid] = out.get(sid, 0) + n
            self._by_subject = out
        return self._by_subject

    def events_at(self, subjects: set[int]) -> int:
        """The events at the given subjects."""
        if self.subjects <= subjects:
            return sum(self.ns)
        return sum(n for sid, n in zip(self.ids, self.ns) if sid in subjects)

    def reaching(self, need: float) -> set[int]:
        """The subjects with at least `need` (> 0) events: those with any when one is enough."""
        if need <= 1:
            return self.subjects
        return {sid for sid, n in self.by_subject.items() if n >= need}


@dataclass
class Outcome:
    """A row's computed value: the actual, how to show it, and the evidence behind it."""

    actual: float | str | None
    actual_text: str
    met: bool | None = None          # None: compare actual with the parsed target
    detail: str = ""                 # how the figure was reached (n/m, minimum and base)
    beside: str = ""                 # what the printed table shows beside the actual (the minimum beside a mean)
    progress: float | None = None    # share of a text target reached (scores an unmet text row)
    events: dict | None = None       # {"kinds": [...], "where": sql, "params": [...]} behind the figure
    figure: figures.Figure | None = None  # the actual as every output shows it (rounded once; None for text)
    # The subject-periods or periods that met or missed, made when asked (the evidence page lists them; a
    # roll-up of the whole table only needs the figure): a list, or what makes it from the counts already read.
    periods_of: list[dict] | Callable[[], list[dict]] = field(default_factory=list, repr=False)

    @property
    def periods(self) -> list[dict]:
        """The subject-periods or periods the outcome judged (made once, on first use)."""
        if callable(self.periods_of):
            self.periods_of = self.periods_of()
        return self.periods_of


class Quota(NamedTuple):
    """A per-period demand a row states: `count` events per subject-period (per="subject") or distinct subjects per period."""

    subject: str
    period: str
    per: str
    kind: str
    count: int


@dataclass(frozen=True)
class Rule:
    """A rule of the vocabulary: its function, its parameters and the facts the rest of fieldlog asks about it."""

    fn: Callable
    params: dict[str, str]           # name -> type (see tables.check_param)
    required: tuple[str, ...] = ()
    manual: bool = False             # the chief enters the value
    qualitative: bool = False        # graded met/partial/missed by the chief rather than measured
    cumulative: bool = False         # an annual quantity that grows through the year (pacing compares it)
    fields: tuple[str, ...] = ()     # tallied fields its `field` parameter may name
    check: Callable[[dict], str | None] | None = None          # complaint about parameters that go together
    quota: Callable[[dict, object], Quota | None] | None = None  # the per-period quota a row of it states


# --- formatting --------------------------------------------------------------------------------

def measured(value, decimals: int, unit: str = "", up: bool = False, **kw) -> Outcome:
    """An outcome whose figure is `value` rounded once (figures.figure); the actual stays exact for `met`."""
    fig = figures.figure(value, decimals, unit, up)
    return Outcome(float(value) if not isinstance(value, int) else value, fig.text, figure=fig, **kw)


def percent(num: int, den: int) -> Fraction | None:
    return Fraction(100 * num, den) if den else None


def none_yet(text: str, **kw) -> Outcome:
    return Outcome(None, text, **kw)


def events_evidence(kinds: list[str], where: str = "", params: list | None = None) -> dict:
    return {"kinds": list(kinds), "where": where, "params": list(params or [])}




# --- rules ---------------------------------------------------------------------------------------

def count(ctx: Context, target, *, kind: str, **_) -> Outcome:
    """Number of events of `kind` in the year up to as_of."""
    n = ctx.count([kind])
    return measured(n, 0, events=events_evidence([kind]))


def sum_(ctx: Context, target, *, kind: str, field: str, scale: float = 1, decimals: int | None = None, **_) -> Outcome:
    """Sum of a numeric field of `kind` events (times `scale`, e.g. 0.0001 for 元 → 万元).

    A lab result's field (the testing fee of a sample) counts when the result is in: on its report date.
    """
    detail, evidence = "", events_evidence([kind])
    if _lab_field(kind, field):
        found = _results_in(ctx)
        total = sum(fees for _, fees in found.values())
        pending = _pending(ctx)
        detail = t("lab.fee_detail", n=sum(n for n, _ in found.values()), pending=pending) if pending else ""
        evidence = events_evidence([kind], *samples.reported_where([kind], ctx.first_day, ctx.last_day))
    else:
        (total,) = ctx.total(f"SELECT total({field}) FROM {{src}} WHERE kind = :kind AND {{window}}", {"kind": kind})
    value = figures.exact(total) * figures.exact(scale)
    decimals = (0 if scale == 1 else 2) if decimals is None else decimals
    up = target is not None and target.comparator == "<="
    return measured(value, decimals, target.unit if target is not None else "", up=up, detail=detail, events=evidence)


def _lab_kinds(kinds: list[str]) -> list[str]:
    """The kinds whose results arrive from a lab after the event (kinds.LAB_RESULTS): they count on the report date."""
    return [k for k in kinds if KINDS.get(k, {}).get("results")]


def _lab_field(kind: str, field: str) -> bool:
    """Whether `field` of `kind` is part of a lab result (read from the samples, not the tallies)."""
    return bool(_lab_kinds([kind])) and field in ("result", "fee_yuan")


def _results_in(ctx: Context) -> dict:
    """The lab results in by as_of (samples.results_in), read once per roll-up: the fee and the pass rates share it."""
    return ctx.cached(("results_in",), lambda: samples.results_in(ctx.db, ctx.first_day, ctx.last_day))


def _pending(ctx: Context) -> int:
    """Samples taken in the year up to as_of whose result was not in by as_of."""
    return ctx.cached(("pending",), lambda: samples.pending(ctx.db, ctx.first_day, ctx.last_day))


def distinct(ctx: Context, target, *, kind: str, subject: str, **_) -> Outcome:
    """Number of distinct sites, plants or campaigns with at least one `kind` event."""
    col = SUBJECT_COLUMNS[subject]
    ids = {r[0] for r in ctx.rows(f"SELECT DISTINCT {col} FROM {{src}} WHERE kind = :kind AND {{window}} "
                                  f"AND {col} != 0 AND n > 0", {"kind": kind}, SUBJECT_TALLY[subject])}
    return measured(len(ids), 0, events=events_evidence([kind]), periods_of=lambda: [
        {"label": t("rules.whole_year"), "subject": subject, "id": i, "count": 1, "ok": True} for i in sorted(ids)])


def quota_per_subject_period(ctx: Context, target, *, kind: str, subject: str, period: str, per: str = "subject", **_) -> Outcome:
    """Mean events per active subject-period (per="subject") or distinct subjects per period (per="period"); minimum beside."""
    periods = ctx.periods(period)
    if not periods:
        return none_yet(t("rules.none_elapsed", period=label("rule_period", period)))
    counts = ctx.counts_by([kind], subject, period)
    need = _need(target)
    if per == "subject":
        active = ctx.active(subject, periods)
        total, judged, lows = 0, 0, []
        for p in periods:
            got, act = (counts.get(p.label) or Tallied([], [])), active[p.label]
            total, judged = total + got.events_at(act), judged + len(act)
            if act:
                lows.append(min(got.by_subject[sid] for sid in act) if act <= got.subjects else 0)

        def rows() -> list[dict]:
            return [{"label": p.label, "subject": subject, "id": sid, "count": n, "need": need, "ok": n >= need}
                    for p in periods for sid in sorted(active[p.label])
                    for n in [(counts.get(p.label) or Tallied([], [])).by_subject.get(sid, 0)]]
    else:
        totals = ctx.per_period([kind], subject, period)
        by_period = [{"label": p.label, "subject": None, "id": None, "count": totals.get(p.label, (0, 0))[1],
                      "need": need} for p in periods]
        for r in by_period:
            r["ok"] = r["count"] >= need
        total, judged, lows = sum(r["count"] for r in by_period), len(by_period), [r["count"] for r in by_period]
        rows = by_period
    if not judged:
        return none_yet(t("rules.none_active", period=label("rule_period", period), subject=label("rule_subject", subject)))
    mean = Fraction(total, judged)
    low = min(lows)
    words = {"period": label("rule_period", period), "subject": label("rule_subject", subject)}
    over = t("rules.over_subject_periods" if per == "subject" else "rules.over_periods", n=judged, **words)
    return measured(mean, 1, detail=t("rules.minimum_of", low=low, over=over),
                   beside=t("rules.minimum", low=low), events=events_evidence([kind]), periods_of=rows)


def _need(target) -> float:
    """What a per-period row asks for each subject-period (or period): its target's number, else 1."""
    return target.value if target is not None and target.value is not None else 1


def _per_period_quota(params: dict, target) -> Quota:
    """A quota_per_subject_period row asks for its target in every subject-period (or period)."""
    return Quota(params["subject"], params["period"], params.get("per", "subject"), params["kind"],
                 math.ceil(_need(target)))


def _covered(ctx: Context, kind: str, subject: str, period: str, need: float, active: dict[str, set[int]],
             name: str) -> set[int]:
    """The subjects active in period `name` with at least `need` events in it (every active one when need is 0)."""
    if need <= 0:
        return active[name]
    return active[name] & ctx.reaching([kind], subject, period, need).get(name, set())


def coverage(ctx: Context, target, *, kind: str, subject: str, period: str = "month", min_count: int = 1,
             mode: str = "subject_period", quota: int = 0, **_) -> Outcome:
    """Pooled share (%) of active subject-periods (or campaign sites, or sampling quota) that were covered."""
    if mode == "campaign":
        sites = _campaign_sites(ctx, kind)
        num, den = sum(len(visited) for _, _, visited in sites), sum(len(active) for _, active, _ in sites)
        rows = lambda: _campaign_rows(sites)
        empty = t("rules.no_campaign_ended")
    elif mode == "quota":
        rows = _quota_rows(ctx, kind, quota)
        num, den = sum(min(r["count"], r["need"]) for r in rows), sum(r["need"] for r in rows)
        empty = (t("rules.none_elapsed", period=label("rule_period", "quarter")) if not rows
                 else t("rules.no_ready_mix_site"))
    else:
        periods = ctx.periods(period)
        active = ctx.active(subject, periods)
        counts = ctx.counts_by([kind], subject, period)
        num = sum(len(_covered(ctx, kind, subject, period, min_count, active, p.label)) for p in periods)
        den = sum(len(active[p.label]) for p in periods)

        def rows() -> list[dict]:
            return [{"label": p.label, "subject": subject, "id": sid, "count": n, "need": min_count, "ok": n >= min_count}
                    for p in periods for sid in sorted(active[p.label])
                    for n in [(counts.get(p.label) or Tallied([], [])).by_subject.get(sid, 0)]]
        empty = t("rules.none_elapsed", period=label("rule_period", period))
    rate = percent(num, den)
    if rate is None:
        return none_yet(empty, periods_of=rows, events=events_evidence([kind]))
    return measured(rate, 1, "%", detail=f"{num}/{den}", events=events_evidence([kind]), periods_of=rows)


def _campaign_sites(ctx: Context, kind: str) -> list[tuple[dict, set[int], set[int]]]:
    """(campaign, sites active during it, those of them with a `kind` event of it) for every campaign ended by
    as_of, in end order (cached)."""
    def make() -> list[tuple[dict, set[int], set[int]]]:
        campaigns = list(ctx.db.query(
            "SELECT id, name, start_on, end_on FROM campaigns WHERE end_on BETWEEN ? AND ? ORDER BY end_on, id",
            [ctx.first_day.isoformat(), ctx.last_day.isoformat()]))
        if not campaigns:
            return []
        spans = [P.Period(date.fromisoformat(c["start_on"]), date.fromisoformat(c["end_on"]), f"campaign:{c['id']}")
                 for c in campaigns]
        active = ctx.active("site", spans)
        visits = _campaign_visits(ctx, kind)
        return [(c, active[span.label], active[span.label] & visits.get(c["id"], set()))
                for c, span in zip(campaigns, spans)]

    return ctx.cached(("campaign_sites", kind), make)


def _campaign_rows(sites: list[tuple[dict, set[int], set[int]]]) -> list[dict]:
    """One row per (campaign ended by as_of, site active during it): visited or not."""
    return [{"label": c["name"], "campaign_id": c["id"], "subject": "site", "id": sid, "count": int(sid in visited),
             "need": 1, "ok": sid in visited}
            for c, active, visited in sites for sid in sorted(active)]


def _campaign_visits(ctx: Context, kind: str) -> dict[int, set[int]]:
    """{campaign id: sites with a `kind` event of that campaign up to as_of} (cached): the sites it reached in
    the whole months elapsed (the year's first month it reached each, migration 027), then those of the month
    under way (its days so far); each campaign's sites come as one JSON array."""
    def make() -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        months = ctx.periods("month")
        whole = ctx.db.conn.execute(
            f"SELECT campaign_id, json_group_array(site_id) FROM {CAMPAIGN_SITES} WHERE kind = :kind "
            f"AND year = :year AND first_month <= :last GROUP BY campaign_id",
            {"kind": kind, "year": str(ctx.year), "last": months[-1].label}).fetchall() if months else []
        under_way = [("SELECT campaign_id, json_group_array(DISTINCT site_id) FROM {src} WHERE kind = :kind "
                      "AND {window} AND campaign_id != 0 AND n > 0 GROUP BY campaign_id", src, cond, params)
                     for src, cond, params in ctx.sources() if src == PARTIAL]
        for sql, src, cond, params in under_way:
            whole += ctx.db.conn.execute(sql.format(src=src, window=cond), {"kind": kind, **params}).fetchall()
        for cid, sites in whole:
            out.setdefault(cid, set()).update(json.loads(sites))
        return out

    return ctx.cached(("visits", kind), make)


def _quota_rows(ctx: Context, kind: str, quota: int) -> list[dict]:
    """One row per elapsed quarter: distinct sites sampled and that quarter's quota."""
    quarters = ctx.periods("quarter")
    ready = ctx.active("site", quarters, ready_mix_only=True)
    totals = ctx.per_period([kind], "site", "quarter")
    rows = []
    for q in quarters:
        sampled = totals.get(q.label, (0, 0))[1]
        need = min(quota, len(ready[q.label]))
        rows.append({"label": q.label, "subject": None, "id": None, "count": sampled, "need": need, "ok": sampled >= need})
    return rows


def _coverage_quota(params: dict, target) -> Quota | None:
    """A coverage row asks for min_count events per subject-period, or `quota` sites sampled a quarter."""
    mode = params.get("mode", "subject_period")
    if mode == "quota":
        return Quota("site", "quarter", "period", params["kind"], params["quota"])
    if mode == "subject_period":
        return Quota(params["subject"], params["period"], "subject", params["kind"], params.get("min_count", 1))
    return None


def _check_coverage(params: dict) -> str | None:
    """A subject-period coverage needs its period; a quota coverage its quota."""
    mode = params.get("mode", "subject_period")
    if mode == "subject_period" and "period" not in params:
        return t("rules.coverage_needs_period")
    if mode == "quota" and "quota" not in params:
        return t("rules.coverage_needs_quota")
    return None


def timeliness(ctx: Context, target, *, period: str, test: str, kind: str, subject: str = "site",
               annual: int = 0, min_count: int = 1, quota: int = 0, **_) -> Outcome:
    """Share (%) of elapsed periods in which the period's test was met by the period's end."""
    periods = ctx.periods(period)
    if not periods:
        return none_yet(t("rules.none_elapsed", period=label("rule_period", period)))
    if test == "quota":
        rows = _quota_rows(ctx, kind, quota)
    elif test == "campaign_ended":
        rows = _campaign_period_rows(ctx, kind, periods)
    else:
        active = ctx.active(subject, periods)
        totals = ctx.per_period([kind], subject, period)
        need_total = math.ceil(annual / 12) if test == "count_and_cover" else 0
        need_each = 1 if test == "count_and_cover" else min_count
        rows = []
        for p in periods:
            missing = sorted(active[p.label] - _covered(ctx, kind, subject, period, need_each, active, p.label))
            total = totals.get(p.label, (0, 0))[0]
            rows.append({"label": p.label, "subject": None, "id": None, "count": total, "need": need_total,
                         "missing": missing, "active": len(active[p.label]), "ok": not missing and total >= need_total})
    met = sum(r["ok"] for r in rows)
    rate = percent(met, len(rows))
    detail = t("rules.on_time_months" if period == "month" else "rules.on_time_quarters", met=met, total=len(rows))
    return measured(rate, 1, "%", met=met == len(rows), progress=float(rate) / 100,
                   detail=detail, events=events_evidence([kind]), periods_of=rows)


def _timeliness_quota(params: dict, target) -> Quota | None:
    """A timeliness row asks for events from every subject each period, or `quota` sites sampled a quarter."""
    test = params["test"]
    if test == "quota":
        return Quota("site", "quarter", "period", params["kind"], params["quota"])
    if test in ("every_subject", "count_and_cover"):
        need = params.get("min_count", 1) if test == "every_subject" else 1
        return Quota(params.get("subject", "site"), params["period"], "subject", params["kind"], need)
    return None


def _check_timeliness(params: dict) -> str | None:
    """count_and_cover needs the annual count; the quota test its quota."""
    if params.get("test") == "count_and_cover" and not params.get("annual"):
        return t("rules.timeliness_needs_annual")
    if params.get("test") == "quota" and "quota" not in params:
        return t("rules.timeliness_needs_quota")
    return None


def _campaign_period_rows(ctx: Context, kind: str, quarters: list[P.Period]) -> list[dict]:
    """One row per elapsed quarter: the campaigns ended in it with an inspection at a site active during them."""
    visited = {c["id"] for c, _, sites in _campaign_sites(ctx, kind) if sites}
    ended = [c for c in ctx.db.query("SELECT id, name, end_on FROM campaigns WHERE end_on BETWEEN ? AND ?",
                                     [ctx.first_day.isoformat(), ctx.last_day.isoformat()]) if c["id"] in visited]
    rows = []
    for q in quarters:
        inside = [c["name"] for c in ended if q.contains(date.fromisoformat(c["end_on"]))]
        rows.append({"label": q.label, "subject": None, "id": None, "count": len(inside), "need": 1,
                     "names": inside, "ok": bool(inside)})
    return rows


def ratio(ctx: Context, target, *, source: str = "events", kinds: list[str] | None = None, field: str = "",
          pass_values: list[str] | None = None, fail_values: list[str] | None = None, survey: str = "", **_) -> Outcome:
    """Pooled share (%) of passing records: events whose field passes, or positive survey answers."""
    if source == "survey":
        return _survey_ratio(ctx, survey)
    den, num = _pass_counts(ctx, kinds or [], field, pass_values, fail_values)
    rate = percent(num, den)
    evidence, detail, beside = _results_evidence(ctx, kinds or [], field, f"{num}/{den}")
    if rate is None:
        return none_yet(t("rules.no_records"), events=evidence, beside=beside)
    return measured(rate, 1, "%", detail=detail, beside=beside, events=evidence)


def _results_evidence(ctx: Context, kinds: list[str], field: str, detail: str) -> tuple[dict, str, str]:
    """(evidence, detail, beside) of a pass-rate row: with lab kinds, results by report date and the pending count."""
    if not any(_lab_field(k, field) for k in kinds):
        return events_evidence(kinds), detail, ""
    n = _pending(ctx)
    num, den = detail.split("/")
    evidence = events_evidence(kinds, *samples.reported_where(kinds, ctx.first_day, ctx.last_day))
    if not n:
        return evidence, detail, ""
    return evidence, t("lab.detail_pending", num=num, den=den, pending=n), t("lab.pending_beside", n=n)


def _check_ratio(params: dict) -> str | None:
    """An events ratio needs kinds, field and pass or fail values; a survey ratio its survey."""
    if params.get("source", "events") == "survey":
        return None if params.get("survey") else t("rules.ratio_needs_survey")
    if not params.get("kinds") or not params.get("field"):
        return t("rules.ratio_needs_kinds_field")
    if bool(params.get("pass_values")) == bool(params.get("fail_values")):
        return t("rules.ratio_needs_values")
    return None


def _pass_counts(ctx: Context, kinds: list[str], field: str, pass_values: list[str] | None,
                 fail_values: list[str] | None) -> tuple[int, int]:
    """(events, passing events): field in pass_values, or not in fail_values (once per roll-up: a ratio and a
    threshold row may ask the same).

    Lab results (kinds.LAB_RESULTS) count when they are in, on their report date (samples.results_in).
    """
    key = ("pass_counts", tuple(kinds), field, tuple(pass_values or ()), tuple(fail_values or ()))
    return ctx.cached(key, lambda: _count_passes(ctx, kinds, field, pass_values, fail_values))


def _count_passes(ctx: Context, kinds: list[str], field: str, pass_values: list[str] | None,
                  fail_values: list[str] | None) -> tuple[int, int]:
    """What _pass_counts keeps: the lab results' counts, then the tallies' of the other kinds."""
    lab = [k for k in kinds if _lab_field(k, field)]
    den, num = 0, 0
    if lab:
        for result, (n, _) in _results_in(ctx).items():
            den += n
            num += n if (result in pass_values if pass_values else result not in (fail_values or [])) else 0
    others = [k for k in kinds if k not in lab]
    if not others:
        return den, num
    marks, names = in_list("k", others)
    values, vnames = in_list("v", pass_values or fail_values or [])
    test = f"{field} IN ({values})" if pass_values else f"{field} NOT IN ({values})"
    total, passed = ctx.total(f"SELECT sum(n), sum(CASE WHEN {test} THEN n ELSE 0 END) FROM {{src}} "
                              f"WHERE kind IN ({marks}) AND {{window}}", {**names, **vnames}, KIND_TALLY)
    return den + int(total), num + int(passed)


def _survey_ratio(ctx: Context, survey: str) -> Outcome:
    """Positive answers / answers of the year up to as_of: phone answers (survey_answers) and paper batches."""
    if ctx.as_of < ctx.first_day:
        return none_yet(t("rules.no_survey_answers"))
    phone_den, phone_num = surveys.totals(ctx.db, survey, ctx.first_day, ctx.last_day)
    paper_den, paper_num = survey_batches.totals(ctx.db, survey, ctx.first_day, ctx.last_day)
    num, den = phone_num + paper_num, phone_den + paper_den
    rate = percent(num, den)
    if rate is None:
        return none_yet(t("rules.no_survey_answers"))
    detail = (t("rules.survey_detail_paper", phone_num=phone_num, phone_den=phone_den, paper_num=paper_num,
                paper_den=paper_den, num=num, den=den) if paper_den else t("rules.survey_detail", num=num, den=den))
    return measured(rate, 1, "%", detail=detail)


def deadline(ctx: Context, target, *, kind: str, from_field: str, to_field: str, days: int, **_) -> Outcome:
    """Share (%) of events whose `to_field` date is within `days` days of `from_field`."""
    # lag_days of the tallies: days from accepted_on to filed_on (or applied_on to issued_on).
    den, num = ctx.total("SELECT sum(n), sum(CASE WHEN lag_days BETWEEN 0 AND :days THEN n ELSE 0 END) FROM {src} "
                         "WHERE kind = :kind AND {window}", {"kind": kind, "days": days}, KIND_TALLY)
    rate = percent(num, den)
    if rate is None:
        return none_yet(t("rules.no_records"), events=events_evidence([kind]))
    return measured(rate, 1, "%", met=num == den, progress=float(rate) / 100,
                   detail=t("rules.within_days", num=num, den=den, days=days), events=events_evidence([kind]))


def _check_deadline(params: dict) -> str | None:
    """The date fields must be a pair the tallies keep (LAG_PAIRS)."""
    if (params.get("from_field"), params.get("to_field")) not in LAG_PAIRS:
        return t("rules.deadline_fields")
    return None


def reached_by(ctx: Context, target, *, kind: str, field: str, threshold: float, **_) -> Outcome:
    """The day the running sum of a field reached `threshold`, if it did by as_of."""
    by_month = sorted(ctx.rows(f"SELECT month, total({field}) FROM {{src}} WHERE kind = :kind AND {{window}} "
                               f"GROUP BY month", {"kind": kind}))
    running = 0
    for month, amount in by_month:
        if running + amount >= threshold:
            # The crossing month, day by day from the daily tallies.
            last = min(ctx.as_of, P.parse_month(month).end).isoformat()
            so_far = running
            days, params = partial_days(month, last)
            for day, on_day in ctx.db.conn.execute(
                    f"SELECT day, total({field}) FROM {PARTIAL} WHERE kind = :kind AND {days} GROUP BY day ORDER BY day",
                    {"kind": kind, **params}):
                so_far += on_day
                if so_far >= threshold:
                    return Outcome(day, t("rules.reached_on", day=day, threshold=f"{threshold:g}"), met=True, progress=1.0,
                                   events=events_evidence([kind], "day <= ?", [day]))
        running += amount
    return Outcome(None, t("rules.not_reached_yet", running=f"{running:g}"), met=False, progress=min(1.0, running / threshold),
                   events=events_evidence([kind]))


def threshold(ctx: Context, target, *, kinds: list[str], field: str, pass_values: list[str], **_) -> Outcome:
    """达到 when every result passed (and there was at least one), else 未达到."""
    den, num = _pass_counts(ctx, kinds, field, pass_values, None)
    evidence, detail, beside = _results_evidence(ctx, kinds, field, f"{num}/{den}")
    if not den:
        return none_yet(t("rules.no_records"), events=evidence, beside=beside)
    ok = num == den
    text = t("rules.threshold_met" if ok else "rules.threshold_missed")
    shown = t("rules.passed_of", num=num, den=den) if not beside else detail
    return Outcome(text, text, met=ok, detail=shown, beside=beside, events=evidence)


def per_mille(ctx: Context, target, *, kind: str, subject: str = "site", **_) -> Outcome:
    """Events of `kind` per thousand subjects active at any time in the year (up to as_of)."""
    if ctx.as_of < ctx.first_day:
        return none_yet("—")
    span = P.Period(ctx.first_day, ctx.last_day, f"{ctx.year}-ytd")
    base = len(ctx.active(subject, [span])[span.label])
    n = ctx.count([kind])
    if not base:
        return none_yet(t("rules.no_active_sites"), events=events_evidence([kind]))
    value = Fraction(1000 * n, base)
    return measured(value, 2, "‰", up=True,
                   detail=t("rules.per_mille_detail", n=n, base=base, subject=label("rule_subject", subject)),
                   events=events_evidence([kind]))


def notices_(ctx: Context, target, *, measure: str = "count", types: list[str] | None = None, **_) -> Outcome:
    """Notices as documents (issue 14) issued in the year up to as_of, of `types` (default the enforcement ones):
    their number, the 重大事故隐患 they list, or the share of those due by as_of that were closed (销号) by their
    deadline (整改按期销号率). Patrol-carried notice numbers are not documents and are not counted here."""
    from fieldlog import (
        notices,  # notices read events; imported here so the rules load without them
    )

    kinds = list(types or notices.ENFORCEMENT)
    found = notices.year_figures(ctx.db, kinds, ctx.first_day, ctx.last_day)
    evidence = events_evidence(["notice"], f"json_extract(e.data, '$.notice_type') IN ({', '.join('?' * len(kinds))})",
                               kinds)
    if measure != "on_time":
        return measured(found[measure], 0, events=evidence)
    rate = percent(found["on_time"], found["due"])
    if rate is None:
        return none_yet(t("rules.no_records"), events=evidence)
    return measured(rate, 1, "%", detail=t("rules.notices_on_time", num=found["on_time"], den=found["due"]),
                    events=evidence)


def _check_notices(params: dict) -> str | None:
    """The notice types a row names must be types of notice."""
    from fieldlog import notices

    unknown = [k for k in params.get("types") or [] if k not in notices.TYPES]
    return t("rules.notice_types_unknown", types=t("indicators.list_separator").join(unknown)) if unknown else None


def manual(ctx: Context, target, **_) -> Outcome:
    """Placeholder for manual rows: the chief's entry is applied by the roll-up."""
    return none_yet(t("indicators.pending_entry"))


# Parameter types: kind, kinds, subject, period, str, strlist, number, int, bool, or "a|b|c" choices.
# A rule's Chinese name is label("rule", name) (fieldlog/messages.py).
_OVERRIDE = {"manual_override": "bool"}
RULES: dict[str, Rule] = {
    "count": Rule(count, {"kind": "kind", **_OVERRIDE}, ("kind",), cumulative=True),
    "sum": Rule(sum_, {"kind": "kind", "field": "str", "scale": "number", "decimals": "int", **_OVERRIDE},
                ("kind", "field"), cumulative=True, fields=AMOUNT_FIELDS),
    "distinct": Rule(distinct, {"kind": "kind", "subject": "site|plant|campaign", **_OVERRIDE}, ("kind", "subject"),
                     cumulative=True),
    "quota_per_subject_period": Rule(
        quota_per_subject_period, {"kind": "kind", "subject": "site|plant", "period": "month|quarter",
                                   "per": "subject|period", **_OVERRIDE}, ("kind", "subject", "period"),
        quota=_per_period_quota),
    "coverage": Rule(coverage, {"kind": "kind", "subject": "site|plant", "period": "month|quarter", "min_count": "int",
                                "mode": "subject_period|campaign|quota", "quota": "int", **_OVERRIDE},
                     ("kind", "subject"), check=_check_coverage, quota=_coverage_quota),
    "timeliness": Rule(timeliness, {"period": "month|quarter", "test": "count_and_cover|every_subject|quota|campaign_ended",
                                    "kind": "kind", "subject": "site|plant", "annual": "int", "min_count": "int",
                                    "quota": "int", **_OVERRIDE}, ("period", "test", "kind"),
                       check=_check_timeliness, quota=_timeliness_quota),
    "ratio": Rule(ratio, {"source": "events|survey", "kinds": "kinds", "field": "str", "pass_values": "strlist",
                          "fail_values": "strlist", "survey": "awareness_survey|satisfaction_survey", **_OVERRIDE},
                  fields=CATEGORY_FIELDS, check=_check_ratio),
    "deadline": Rule(deadline, {"kind": "kind", "from_field": "str", "to_field": "str", "days": "int", **_OVERRIDE},
                     ("kind", "from_field", "to_field", "days"), check=_check_deadline),
    "reached_by": Rule(reached_by, {"kind": "kind", "field": "str", "threshold": "number", **_OVERRIDE},
                       ("kind", "field", "threshold"), fields=AMOUNT_FIELDS),
    "threshold": Rule(threshold, {"kinds": "kinds", "field": "str", "pass_values": "strlist", **_OVERRIDE},
                      ("kinds", "field", "pass_values"), fields=CATEGORY_FIELDS),
    "per_mille": Rule(per_mille, {"kind": "kind", "subject": "site", **_OVERRIDE}, ("kind",)),
    "notices": Rule(notices_, {"measure": "count|major|on_time", "types": "strlist", **_OVERRIDE}, ("measure",),
                    check=_check_notices),
    "manual_number": Rule(manual, {}, manual=True),
    "manual_text": Rule(manual, {}, manual=True, qualitative=True),
}


def check_combination(name: str, params: dict) -> str | None:
    """A zh-CN complaint when parameters that only make sense together are missing, else None."""
    rule = RULES[name]
    if rule.check is not None and (complaint := rule.check(params)) is not None:
        return complaint
    field = params.get("field")
    # A survey ratio names no field.
    if rule.fields and params.get("source", "events") == "events" and field not in rule.fields:
        return t("rules.field_not_tallied", field=field, fields=t("indicators.list_separator").join(rule.fields))
    return None
