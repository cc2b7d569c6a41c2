"""The supervision plan (施工安全监督工作计划, 建质〔2014〕154号 §5): each site's risk level, the reasons for it and
the monthly enforcement checks it implies, never below the target table's minimum.

A plan holds from a month on; every setting is kept (`site_plans`), the newest one starting on or before a
month holds for it. A site without a plan is checked at the table's minimum. The target table's own rows
still count against the table's targets: the plan changes what the chief's pages ask of each site, not the
indicators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from fieldlog import audit, integers, registry
from fieldlog.db import write
from fieldlog.errors import InvalidInput
from fieldlog.indicators import quotas as quotas_mod
from fieldlog.messages import label, t
from fieldlog.periods import Period, parse_month, utc_stamp

# The checks a plan sets: the table's 执法检查每月巡查工地 (its minimum is that row's target, via quotas).
PLAN_KIND = "enforcement_patrol"
# Risk levels, lowest first, and the checks each adds to the table's monthly minimum (labels: LABELS["risk_level"]).
LEVELS = {"normal": 0, "elevated": 1, "high": 2}
# The reasons the rules name for more checks, and the level each calls for at least (labels: LABELS["risk_reason"]).
REASONS = {
    "dangerous_works": "elevated",         # 危险性较大的分部分项工程施工中
    "large_dangerous_works": "high",       # 超过一定规模的危大工程施工中
    "builder_accident": "high",            # 建设/施工单位近一年发生过生产安全事故
    "serious_hazards": "elevated",         # 以往检查发现重大事故隐患
    "complaints": "elevated",              # 投诉举报较多
    "poor_credit": "elevated",             # 参建单位信用评价差或安全生产条件较差
}
MAX_CHECKS = 31


@dataclass
class Plan:
    """A site's plan for a month: its level, reasons and checks (the table minimum when it has no plan)."""

    site_id: int
    level: str
    reasons: list[str]
    checks: int
    minimum: int
    planned: bool                 # False: no plan set, the table's minimum holds
    from_month: str | None = None
    note: str = ""

    @property
    def level_label(self) -> str:
        return label("risk_level", self.level)

    @property
    def reason_labels(self) -> list[str]:
        return [label("risk_reason", r) for r in self.reasons]


def minimum(db: Database, year: int) -> int:
    """The table's monthly enforcement checks per active site (read from the table in force; 0 if none)."""
    return quotas_mod.monthly(quotas_mod.for_year(db, year), PLAN_KIND) or 0


def implied_level(reasons: list[str]) -> str:
    """The lowest level the reasons allow."""
    return max((REASONS[r] for r in reasons), key=LEVELS.__getitem__, default="normal")


def implied_checks(level: str, table_minimum: int) -> int:
    """The monthly checks a level implies: the table's minimum plus the level's extra checks."""
    return table_minimum + LEVELS[level]


def clean(raw: dict, table_minimum: int) -> dict:
    """A plan setting from a form or request; InvalidInput naming the field (level, reasons, checks, from_month)."""
    errors: dict[str, str] = {}
    reasons = raw.get("reasons") or []
    reasons = [reasons] if isinstance(reasons, str) else list(reasons)
    unknown = [r for r in reasons if r not in REASONS]
    if unknown:
        errors["reasons"] = t("plan.reason_unknown")
    reasons = [r for r in REASONS if r in reasons]
    level = str(raw.get("level") or "").strip() or implied_level(reasons)
    if level not in LEVELS:
        errors["level"] = t("plan.level_unknown")
    elif LEVELS[level] < LEVELS[implied_level(reasons)]:
        errors["level"] = t("plan.level_below_reasons", level=label("risk_level", implied_level(reasons)))
    text = str(raw.get("checks") if raw.get("checks") is not None else "").strip()
    checks = integers.parse(text, 0, MAX_CHECKS) if text else None
    if text and checks is None:
        errors["checks"] = t("plan.checks_invalid", max=MAX_CHECKS)
    elif checks is None and level in LEVELS:
        checks = implied_checks(level, table_minimum)
    if checks is not None and checks < table_minimum:
        errors["checks"] = t("plan.checks_below_minimum", minimum=table_minimum)
    try:
        from_month = parse_month(str(raw.get("from_month") or "").strip()).label
    except ValueError:
        from_month = None
        errors["from_month"] = t("plan.from_month_invalid")
    note = str(raw.get("note") or "").strip()
    if len(note) > 500:
        errors["note"] = t("plan.note_too_long")
    if errors:
        raise InvalidInput(errors)
    return {"level": level, "reasons": reasons, "checks": checks, "from_month": from_month, "note": note}


def set_plan(db: Database, site_id: int, raw: dict, *, user: dict, now: datetime) -> Plan:
    """Set a site's plan from a month on (kept with the earlier settings, audited); the plan as it now holds."""
    registry.get_site(db, site_id)
    month_text = str(raw.get("from_month") or "").strip()
    year = int(month_text[:4]) if month_text[:4].isdigit() else now.year
    value = clean(raw, minimum(db, year))
    with write(db):
        db.execute("INSERT INTO site_plans (site_id, from_month, level, reasons, monthly_checks, note, set_by, set_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [site_id, value["from_month"], value["level"], json.dumps(value["reasons"]), value["checks"],
                    value["note"], user["id"], utc_stamp(now)])
        audit.record(db, "site_plan_saved", user=user, target=f"site:{site_id}",
                     detail={k: value[k] for k in ("from_month", "level", "checks")}, now=now)
    return for_month(db, parse_month(value["from_month"]))[site_id]


def for_month(db: Database, month: Period, site_ids: list[int] | None = None) -> dict[int, Plan]:
    """{site id: Plan} holding in a month for the given sites (default: every site with a plan)."""
    low = minimum(db, month.start.year)
    rows = db.query(
        "SELECT p.* FROM site_plans p WHERE p.id = (SELECT q.id FROM site_plans q WHERE q.site_id = p.site_id "
        "AND q.from_month <= ? ORDER BY q.from_month DESC, q.id DESC LIMIT 1)", [month.label])
    out = {r["site_id"]: Plan(r["site_id"], r["level"], json.loads(r["reasons"]), max(r["monthly_checks"], low), low,
                              True, r["from_month"], r["note"]) for r in rows}
    for sid in site_ids or []:
        out.setdefault(sid, Plan(sid, "normal", [], low, low, False))
    return out


def history(db: Database, site_id: int) -> list[dict]:
    """Every plan setting of a site, newest first, with who set it."""
    rows = list(db.query("SELECT p.*, u.display_name AS set_by_name FROM site_plans p LEFT JOIN users u ON u.id = p.set_by "
                         "WHERE p.site_id = ? ORDER BY p.id DESC", [site_id]))
    for r in rows:
        r["reason_labels"] = [label("risk_reason", x) for x in json.loads(r["reasons"])]
        r["level_label"] = label("risk_level", r["level"])
    return rows


def site_quota(quota: dict[str, int], plan: Plan | None) -> dict[str, int]:
    """A site's monthly quota by kind: the table's, with the plan's checks for PLAN_KIND (pure)."""
    if plan is None or PLAN_KIND not in quota:
        return quota
    return {**quota, PLAN_KIND: max(plan.checks, quota[PLAN_KIND])}


@dataclass
class MonthSummary:
    """Planned against done for a month: enforcement checks planned and made, sites that reached their plan."""

    planned: int
    done: int
    sites: int
    sites_met: int
    raised: int                    # sites planned above the table's minimum


def summary(rows: list) -> MonthSummary:
    """Planned against done over coverage rows (coverage.Row, whose quota holds the planned checks)."""
    planned = sum(r.quota.get(PLAN_KIND, 0) for r in rows)
    done = sum(min(r.counts.get(PLAN_KIND, 0), r.quota.get(PLAN_KIND, 0)) for r in rows)
    met = sum(1 for r in rows if r.counts.get(PLAN_KIND, 0) >= r.quota.get(PLAN_KIND, 0))
    raised = sum(1 for r in rows if r.plan is not None and r.plan.checks > r.plan.minimum)
    return MonthSummary(planned, done, len(rows), met, raised)
