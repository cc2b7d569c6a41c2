"""The rule vocabulary of target tables: each rule turns events (or the chief's entries) into a row's actual.

A rule is a function `(ctx, target, **params) -> Outcome`. Its parameters come from the table file and
are checked against `RULES[name].params` when the file is loaded. See docs/rules.md for worked examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import cached_property
from typing import Callable
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog import periods as P
from fieldlog import registry

SUBJECT_COLUMNS = {"site": "site_id", "plant": "plant_id", "campaign": "campaign_id"}
SURVEY_KINDS = ("awareness_survey", "satisfaction_survey")
SUBJECT_WORDS = {"site": "工地", "plant": "搅拌站", "campaign": "次大检查"}
PERIOD_WORDS = {"month": "月", "quarter": "季度"}


# --- context: the year, the as-of date, and cached registry lookups -----------------------------

class Context:
    """What every rule sees: the database, the year, the as-of date and the station zone."""

    def __init__(self, db: Database, year: int, as_of: date, tz: ZoneInfo | None = None):
        self.db, self.year, self.as_of, self.tz = db, year, as_of, tz or ZoneInfo("Asia/Shanghai")
        self._active: dict = {}

    @property
    def first_day(self) -> date:
        return date(self.year, 1, 1)

    @property
    def last_day(self) -> date:
        """The last day that counts: 31 December, or as_of when earlier."""
        return min(self.as_of, date(self.year, 12, 31))

    def periods(self, kind: str) -> list[P.Period]:
        """The elapsed months or quarters of the year (ended by as_of)."""
        every = P.months_of(self.year) if kind == "month" else P.quarters_of(self.year)
        return P.elapsed(every, self.as_of)

    @cached_property
    def windows(self) -> list[tuple[str, list]]:
        """SQL conditions that together select the year's events up to as_of.

        Whole months go through the (…, month, …) indexes alone; only the month under way also
        needs the `day` column.
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

    def rows(self, sql: str, params: list) -> list[tuple]:
        """Run `sql` (with a `{window}` placeholder) once per window; rows concatenated."""
        out = []
        for cond, wparams in self.windows:
            out.extend(self.db.conn.execute(sql.format(window=cond), [*params, *wparams]).fetchall())
        return out

    def total(self, sql: str, params: list) -> list:
        """Column-wise sums of a one-row aggregate query over every window."""
        sums = None
        for row in self.rows(sql, params):
            vals = [v or 0 for v in row]
            sums = vals if sums is None else [a + b for a, b in zip(sums, vals)]
        return sums

    def active(self, subject: str, periods: list[P.Period], ready_mix_only: bool = False) -> dict[str, set[int]]:
        """{period label: ids active in it}, cached per subject."""
        key = (subject, ready_mix_only, tuple(periods))
        if key not in self._active:
            if subject == "plant":
                self._active[key] = registry.active_plant_map(self.db, periods)
            else:
                self._active[key] = registry.active_site_map(self.db, periods, ready_mix_only=ready_mix_only)
        return self._active[key]

    def counts_by(self, kinds: list[str], subject: str, period: str) -> dict[tuple[str, int], int]:
        """{(period label, subject id): event count} over the elapsed periods, voided excluded."""
        months = self.periods("month")
        if not months:
            return {}
        col = SUBJECT_COLUMNS[subject]
        marks = ",".join("?" * len(kinds))
        rows = self.db.conn.execute(
            f"SELECT month, {col}, count(*) FROM events WHERE kind IN ({marks}) AND month BETWEEN ? AND ? "
            f"AND voided = 0 AND {col} IS NOT NULL GROUP BY month, {col}",
            [*kinds, months[0].label, months[-1].label]).fetchall()
        out: dict[tuple[str, int], int] = {}
        for month, sid, n in rows:
            label = month if period == "month" else P.quarter_of(date.fromisoformat(month + "-01")).label
            out[(label, sid)] = out.get((label, sid), 0) + n
        return out


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
    periods: list[dict] = field(default_factory=list)  # subject-periods or periods that met or missed


@dataclass(frozen=True)
class Rule:
    fn: Callable
    params: dict[str, str]           # name -> type (see tables.check_param)
    required: tuple[str, ...] = ()
    manual: bool = False
    label: str = ""


# --- formatting --------------------------------------------------------------------------------

def cut(value: float | Fraction, decimals: int, up: bool = False) -> str:
    """Shown figure cut toward the safe side, so a shown figure never reaches a target the exact value missed."""
    scale = 10 ** decimals
    scaled = Fraction(value) * scale
    n = math.ceil(scaled) if up else math.floor(scaled)
    text = f"{n / scale:.{decimals}f}"
    return text


def percent(num: int, den: int) -> Fraction | None:
    return Fraction(100 * num, den) if den else None


def none_yet(text: str, **kw) -> Outcome:
    return Outcome(None, text, **kw)


def events_evidence(kinds: list[str], where: str = "", params: list | None = None) -> dict:
    return {"kinds": list(kinds), "where": where, "params": list(params or [])}


def _kinds_sql(kinds: list[str]) -> str:
    return ",".join("?" * len(kinds))


def _json(field_name: str) -> str:
    # The exact expression of the 003 expression indexes, so the planner can use them.
    return f"json_extract(data, '$.{field_name}')"


# --- rules ---------------------------------------------------------------------------------------

def count(ctx: Context, target, *, kind: str, **_) -> Outcome:
    """Number of events of `kind` in the year up to as_of."""
    (n,) = ctx.total(f"SELECT count(*) FROM events WHERE kind = ? AND voided = 0 AND {{window}}", [kind])
    return Outcome(n, f"{n}", events=events_evidence([kind]))


def sum_(ctx: Context, target, *, kind: str, field: str, scale: float = 1, decimals: int | None = None, **_) -> Outcome:
    """Sum of a numeric field of `kind` events (times `scale`, e.g. 0.0001 for 元 → 万元)."""
    (total,) = ctx.total(f"SELECT total({_json(field)}) FROM events WHERE kind = ? AND voided = 0 AND {{window}}", [kind])
    value = Fraction(total).limit_denominator(10**6) * Fraction(scale).limit_denominator(10**9)
    decimals = (0 if scale == 1 else 2) if decimals is None else decimals
    up = target is not None and target.comparator == "<="
    return Outcome(float(value), cut(value, decimals, up=up), events=events_evidence([kind]))


def distinct(ctx: Context, target, *, kind: str, subject: str, **_) -> Outcome:
    """Number of distinct sites, plants or campaigns with at least one `kind` event."""
    col = SUBJECT_COLUMNS[subject]
    ids = {r[0] for r in ctx.rows(
        f"SELECT DISTINCT {col} FROM events WHERE kind = ? AND voided = 0 AND {col} IS NOT NULL AND {{window}}", [kind])}
    return Outcome(len(ids), f"{len(ids)}", events=events_evidence([kind]),
                   periods=[{"label": "全年", "subject": subject, "id": i, "count": 1, "ok": True} for i in sorted(ids)])


def quota_per_subject_period(ctx: Context, target, *, kind: str, subject: str, period: str, per: str = "subject", **_) -> Outcome:
    """Mean events per active subject-period (per="subject") or distinct subjects per period (per="period"); minimum beside."""
    periods = ctx.periods(period)
    if not periods:
        return none_yet(f"—（尚无已结束的{PERIOD_WORDS[period]}）")
    counts = ctx.counts_by([kind], subject, period)
    need = target.value if target is not None and target.value is not None else 1
    rows = []
    if per == "subject":
        active = ctx.active(subject, periods)
        for p in periods:
            for sid in sorted(active[p.label]):
                n = counts.get((p.label, sid), 0)
                rows.append({"label": p.label, "subject": subject, "id": sid, "count": n, "need": need, "ok": n >= need})
    else:
        for p in periods:
            n = sum(1 for (label, _), c in counts.items() if label == p.label and c > 0)
            rows.append({"label": p.label, "subject": None, "id": None, "count": n, "need": need, "ok": n >= need})
    if not rows:
        return none_yet(f"—（已结束的{PERIOD_WORDS[period]}内没有在建的{SUBJECT_WORDS[subject]}）")
    mean = Fraction(sum(r["count"] for r in rows), len(rows))
    low = min(r["count"] for r in rows)
    shown = cut(mean, 1)
    over = (f"{len(rows)} 个{SUBJECT_WORDS[subject]}·{PERIOD_WORDS[period]}" if per == "subject"
            else f"{len(rows)} 个{PERIOD_WORDS[period]}")
    detail = f"最少 {low}（共 {over}）"
    return Outcome(float(shown), shown, detail=detail, beside=f"最少 {low}", events=events_evidence([kind]), periods=rows)


def coverage(ctx: Context, target, *, kind: str, subject: str, period: str = "month", min_count: int = 1,
             mode: str = "subject_period", quota: int = 50, **_) -> Outcome:
    """Pooled share (%) of active subject-periods (or campaign sites, or sampling quota) that were covered."""
    if mode == "campaign":
        rows = _campaign_rows(ctx, kind)
        num, den = sum(r["ok"] for r in rows), len(rows)
        empty = "—（尚无已结束的大检查）"
    elif mode == "quota":
        rows = _quota_rows(ctx, kind, quota)
        num, den = sum(min(r["count"], r["need"]) for r in rows), sum(r["need"] for r in rows)
        empty = "—（尚无已结束的季度）" if not rows else "—（已结束的季度内没有使用商品混凝土的在建工地）"
    else:
        periods = ctx.periods(period)
        active = ctx.active(subject, periods)
        counts = ctx.counts_by([kind], subject, period)
        rows = [{"label": p.label, "subject": subject, "id": sid, "count": counts.get((p.label, sid), 0),
                 "need": min_count, "ok": counts.get((p.label, sid), 0) >= min_count}
                for p in periods for sid in sorted(active[p.label])]
        num, den = sum(r["ok"] for r in rows), len(rows)
        empty = f"—（尚无已结束的{PERIOD_WORDS[period]}）"
    rate = percent(num, den)
    if rate is None:
        return none_yet(empty, periods=rows, events=events_evidence([kind]))
    return Outcome(float(rate), f"{cut(rate, 1)}%", detail=f"{num}/{den}", events=events_evidence([kind]), periods=rows)


def _campaign_rows(ctx: Context, kind: str) -> list[dict]:
    """One row per (campaign ended by as_of, site active during it): visited or not."""
    campaigns = list(ctx.db.query(
        "SELECT id, name, start_on, end_on FROM campaigns WHERE end_on BETWEEN ? AND ? ORDER BY end_on, id",
        [ctx.first_day.isoformat(), ctx.last_day.isoformat()]))
    if not campaigns:
        return []
    spans = [P.Period(date.fromisoformat(c["start_on"]), date.fromisoformat(c["end_on"]), f"campaign:{c['id']}")
             for c in campaigns]
    active = ctx.active("site", spans)
    rows = []
    for c, span in zip(campaigns, spans):
        visited = {r[0] for r in ctx.db.conn.execute(
            "SELECT DISTINCT site_id FROM events WHERE campaign_id = ? AND kind = ? AND voided = 0 AND day <= ?",
            [c["id"], kind, ctx.as_of.isoformat()])}
        for sid in sorted(active[span.label]):
            rows.append({"label": c["name"], "campaign_id": c["id"], "subject": "site", "id": sid,
                         "count": int(sid in visited), "need": 1, "ok": sid in visited})
    return rows


def _quota_rows(ctx: Context, kind: str, quota: int) -> list[dict]:
    """One row per elapsed quarter: distinct sites sampled and that quarter's quota."""
    quarters = ctx.periods("quarter")
    ready = ctx.active("site", quarters, ready_mix_only=True)
    counts = ctx.counts_by([kind], "site", "quarter")
    rows = []
    for q in quarters:
        sampled = sum(1 for (label, _), n in counts.items() if label == q.label and n > 0)
        need = min(quota, len(ready[q.label]))
        rows.append({"label": q.label, "subject": None, "id": None, "count": sampled, "need": need, "ok": sampled >= need})
    return rows


def timeliness(ctx: Context, target, *, period: str, test: str, kind: str, subject: str = "site",
               annual: int = 0, min_count: int = 1, quota: int = 50, **_) -> Outcome:
    """Share (%) of elapsed periods in which the period's test was met by the period's end."""
    periods = ctx.periods(period)
    if not periods:
        return none_yet(f"—（尚无已结束的{PERIOD_WORDS[period]}）")
    if test == "quota":
        rows = _quota_rows(ctx, kind, quota)
    elif test == "campaign_ended":
        rows = _campaign_period_rows(ctx, kind, periods)
    else:
        active = ctx.active(subject, periods)
        counts = ctx.counts_by([kind], subject, period)
        need_total = math.ceil(annual / 12) if test == "count_and_cover" else 0
        rows = []
        for p in periods:
            need_each = 1 if test == "count_and_cover" else min_count
            missing = [sid for sid in sorted(active[p.label]) if counts.get((p.label, sid), 0) < need_each]
            total = sum(n for (label, _), n in counts.items() if label == p.label)
            ok = not missing and total >= need_total
            rows.append({"label": p.label, "subject": None, "id": None, "count": total, "need": need_total,
                         "missing": missing, "active": len(active[p.label]), "ok": ok})
    met = sum(r["ok"] for r in rows)
    rate = percent(met, len(rows))
    unit = "个月" if period == "month" else "个季度"
    return Outcome(float(rate), f"{cut(rate, 1)}%", met=met == len(rows), progress=float(rate) / 100,
                   detail=f"{met}/{len(rows)} {unit}按时完成", events=events_evidence([kind]), periods=rows)


def _campaign_period_rows(ctx: Context, kind: str, quarters: list[P.Period]) -> list[dict]:
    ended = list(ctx.db.query(
        "SELECT c.id, c.name, c.end_on FROM campaigns c WHERE c.end_on BETWEEN ? AND ? AND EXISTS ("
        "SELECT 1 FROM events e WHERE e.campaign_id = c.id AND e.kind = ? AND e.voided = 0 AND e.day <= ?)",
        [ctx.first_day.isoformat(), ctx.last_day.isoformat(), kind, ctx.as_of.isoformat()]))
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
    kinds = kinds or []
    expr = _json(field)
    if pass_values:
        test, values = f"{expr} IN ({_kinds_sql(pass_values)})", pass_values
    else:
        test, values = f"coalesce({expr}, '') NOT IN ({_kinds_sql(fail_values or [])})", fail_values or []
    den, num = ctx.total(f"SELECT count(*), sum({test}) FROM events WHERE kind IN ({_kinds_sql(kinds)}) "
                         f"AND voided = 0 AND {{window}}", [*values, *kinds])
    rate = percent(num, den)
    if rate is None:
        return none_yet("—（尚无记录）", events=events_evidence(kinds))
    return Outcome(float(rate), f"{cut(rate, 1)}%", detail=f"{num}/{den}", events=events_evidence(kinds))


def _survey_ratio(ctx: Context, survey: str) -> Outcome:
    exists = ctx.db.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'survey_answers'").fetchone()
    if not exists or ctx.as_of < ctx.first_day:
        return none_yet("—（尚无问卷答卷）")
    den, num = ctx.db.conn.execute(
        "SELECT count(*), coalesce(sum(positive), 0) FROM survey_answers WHERE kind = ? AND day BETWEEN ? AND ?",
        [survey, ctx.first_day.isoformat(), ctx.last_day.isoformat()]).fetchone()
    rate = percent(num, den)
    if rate is None:
        return none_yet("—（尚无问卷答卷）")
    return Outcome(float(rate), f"{cut(rate, 1)}%", detail=f"{num}/{den} 份答卷")


def deadline(ctx: Context, target, *, kind: str, from_field: str, to_field: str, days: int, **_) -> Outcome:
    """Share (%) of events whose `to_field` date is within `days` days of `from_field`."""
    on_time = (f"(julianday({_json(to_field)}) - julianday({_json(from_field)})) BETWEEN 0 AND ?")
    den, num = ctx.total(f"SELECT count(*), sum(coalesce({on_time}, 0)) FROM events WHERE kind = ? "
                         f"AND voided = 0 AND {{window}}", [days, kind])
    rate = percent(num, den)
    if rate is None:
        return none_yet("—（尚无记录）", events=events_evidence([kind]))
    return Outcome(float(rate), f"{cut(rate, 1)}%", met=num == den, progress=float(rate) / 100,
                   detail=f"{num}/{den} 在 {days} 日内", events=events_evidence([kind]))


def reached_by(ctx: Context, target, *, kind: str, field: str, threshold: float, **_) -> Outcome:
    """The day the running sum of a field reached `threshold`, if it did by as_of."""
    by_day = sorted(ctx.rows(f"SELECT day, total({_json(field)}) FROM events WHERE kind = ? AND voided = 0 "
                             f"AND {{window}} GROUP BY day", [kind]))
    running = 0
    for day, amount in by_day:
        running += amount
        if running >= threshold:
            return Outcome(day, f"{day} 累计达到 {threshold:g}", met=True, progress=1.0,
                           events=events_evidence([kind], "day <= ?", [day]))
    return Outcome(None, f"未达到（累计 {running:g}）", met=False, progress=min(1.0, running / threshold),
                   events=events_evidence([kind]))


def threshold(ctx: Context, target, *, kinds: list[str], field: str, pass_values: list[str], **_) -> Outcome:
    """达到 when every result passed (and there was at least one), else 未达到."""
    den, num = ctx.total(f"SELECT count(*), sum({_json(field)} IN ({_kinds_sql(pass_values)})) FROM events "
                         f"WHERE kind IN ({_kinds_sql(kinds)}) AND voided = 0 AND {{window}}", [*pass_values, *kinds])
    if not den:
        return none_yet("—（尚无记录）", events=events_evidence(kinds))
    ok = num == den
    return Outcome("达到" if ok else "未达到", "达到" if ok else "未达到", met=ok,
                   detail=f"{num}/{den} 合格", events=events_evidence(kinds))


def per_mille(ctx: Context, target, *, kind: str, subject: str = "site", **_) -> Outcome:
    """Events of `kind` per thousand subjects active at any time in the year (up to as_of)."""
    if ctx.as_of < ctx.first_day:
        return none_yet("—")
    span = P.Period(ctx.first_day, ctx.last_day, f"{ctx.year}-ytd")
    base = len(ctx.active(subject, [span])[span.label])
    (n,) = ctx.total(f"SELECT count(*) FROM events WHERE kind = ? AND voided = 0 AND {{window}}", [kind])
    if not base:
        return none_yet("—（没有在建工地）", events=events_evidence([kind]))
    value = Fraction(1000 * n, base)
    return Outcome(float(value), f"{cut(value, 2, up=True)}‰", detail=f"{n} 起 / {base} 个在建{SUBJECT_WORDS[subject]}",
                   events=events_evidence([kind]))


def manual(ctx: Context, target, **_) -> Outcome:
    """Placeholder for manual rows: the chief's entry is applied by the roll-up."""
    return none_yet("待填报")


# Parameter types: kind, kinds, subject, period, str, strlist, number, int, bool, or "a|b|c" choices.
_OVERRIDE = {"manual_override": "bool"}
RULES: dict[str, Rule] = {
    "count": Rule(count, {"kind": "kind", **_OVERRIDE}, ("kind",), label="计数"),
    "sum": Rule(sum_, {"kind": "kind", "field": "str", "scale": "number", "decimals": "int", **_OVERRIDE},
                ("kind", "field"), label="求和"),
    "distinct": Rule(distinct, {"kind": "kind", "subject": "site|plant|campaign", **_OVERRIDE}, ("kind", "subject"),
                     label="不重复对象数"),
    "quota_per_subject_period": Rule(
        quota_per_subject_period, {"kind": "kind", "subject": "site|plant", "period": "month|quarter",
                                   "per": "subject|period", **_OVERRIDE}, ("kind", "subject", "period"),
        label="每期平均（最少）"),
    "coverage": Rule(coverage, {"kind": "kind", "subject": "site|plant", "period": "month|quarter", "min_count": "int",
                                "mode": "subject_period|campaign|quota", "quota": "int", **_OVERRIDE},
                     ("kind", "subject"), label="覆盖率"),
    "timeliness": Rule(timeliness, {"period": "month|quarter", "test": "count_and_cover|every_subject|quota|campaign_ended",
                                    "kind": "kind", "subject": "site|plant", "annual": "int", "min_count": "int",
                                    "quota": "int", **_OVERRIDE}, ("period", "test", "kind"), label="按时完成率"),
    "ratio": Rule(ratio, {"source": "events|survey", "kinds": "kinds", "field": "str", "pass_values": "strlist",
                          "fail_values": "strlist", "survey": "awareness_survey|satisfaction_survey", **_OVERRIDE},
                  label="比率"),
    "deadline": Rule(deadline, {"kind": "kind", "from_field": "str", "to_field": "str", "days": "int", **_OVERRIDE},
                     ("kind", "from_field", "to_field", "days"), label="限期完成率"),
    "reached_by": Rule(reached_by, {"kind": "kind", "field": "str", "threshold": "number", **_OVERRIDE},
                       ("kind", "field", "threshold"), label="达到日期"),
    "threshold": Rule(threshold, {"kinds": "kinds", "field": "str", "pass_values": "strlist", **_OVERRIDE},
                      ("kinds", "field", "pass_values"), label="是否达标"),
    "per_mille": Rule(per_mille, {"kind": "kind", "subject": "site", **_OVERRIDE}, ("kind",), label="千分率"),
    "manual_number": Rule(manual, {}, manual=True, label="手工填报（数值）"),
    "manual_text": Rule(manual, {}, manual=True, label="手工填报（定性）"),
}


def check_combination(rule: str, params: dict) -> str | None:
    """A zh-CN complaint when parameters that only make sense together are missing, else None."""
    if rule == "ratio":
        if params.get("source", "events") == "survey":
            return None if params.get("survey") else "问卷比率须给出 survey（awareness_survey 或 satisfaction_survey）"
        if not params.get("kinds") or not params.get("field"):
            return "比率须给出 kinds 和 field"
        if bool(params.get("pass_values")) == bool(params.get("fail_values")):
            return "比率须给出 pass_values 或 fail_values 之一"
    if rule == "timeliness" and params.get("test") == "count_and_cover" and not params.get("annual"):
        return "count_and_cover 须给出全年次数 annual"
    if rule == "coverage" and params.get("mode", "subject_period") == "subject_period" and "period" not in params:
        return "覆盖率须给出 period（month 或 quarter）"
    return None
