"""Plain factories for the indicator tests: sites, plants and events stored through fieldlog.events.create."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fieldlog import accounts, events, registry, surveys
from fieldlog.indicators import rollup, tables

TZ = ZoneInfo("Asia/Shanghai")
# The clock of the tests: after 2021, so every 2021 event is in the past.
NOW = datetime(2022, 1, 10, 12, 0, tzinfo=TZ)

# Minimal valid fields per kind; a test overrides what it is about.
FIELDS = {
    "safety_patrol": {"finding": "无"},
    "enforcement_patrol": {"finding": "无", "order": "无"},
    "major_inspection": {"finding": "无"},
    "concrete_sampling": {"result": "合格", "fee_yuan": 0},
    "plant_patrol": {},
    "plant_inspection": {"result": "合格"},
    "leaflets": {"copies": 100},
    "completion_filing": {"accepted_on": "2021-06-01", "filed_on": "2021-06-10", "result": "合格"},
    "construction_permit": {"issued_on": "2021-06-08", "conditions_met": "符合"},
    "accident": {"severity": "一般"},
}


def user(db, username: str = "alice") -> dict:
    return accounts.get_user_by_name(db, username)


def site(db, started: str | None = "2020-01-01", completed: str | None = None,
         pauses: list[tuple[str, str | None]] = (), ready_mix: bool = True, name: str | None = None) -> int:
    """A site with the given dates (YYYY-MM-DD) and pause intervals."""
    n = uuid.uuid4().hex[:8]
    return registry.save_site(db, {"name": name or f"工地{n}", "reg_no": f"IND-{n}", "started_on": started,
                                   "completed_on": completed, "uses_ready_mix": ready_mix},
                              pauses=[{"start_on": a, "end_on": b} for a, b in pauses])


def plant(db, active_from: str | None = "2019-01-01", active_to: str | None = None) -> int:
    n = uuid.uuid4().hex[:8]
    return registry.save_plant(db, {"name": f"搅拌站{n}", "licence_no": f"PL-{n}", "active_from": active_from,
                                    "active_to": active_to})


def when(text: str) -> str:
    """'2021-03-05' means 10:00 station time that day; a full ISO timestamp is kept as given."""
    return text if "T" in text else f"{text}T10:00:00+08:00"


def ev(db, kind: str, at: str, *, site_id: int | None = None, plant_id: int | None = None,
       campaign: tuple[str, str, str] | None = None, fields: dict | None = None, received: datetime | None = None,
       by: str = "alice", place: str | None = None) -> str:
    """Store one event through events.create; returns its id. `received` makes it late-logged."""
    raw = {"id": str(uuid.uuid4()), "kind": kind, "occurred_at": when(at), "site_id": site_id, "plant_id": plant_id,
           "fields": {**FIELDS.get(kind, {}), **(fields or {})}}
    if kind == "leaflets" and site_id is None and plant_id is None:
        raw["place"] = place or "城关镇农贸市场"
    if campaign:
        raw["campaign"] = {"name": campaign[0], "start_on": campaign[1], "end_on": campaign[2]}
    now = max(NOW, received) if received else NOW
    event, created, _ = events.create(db, raw, user=user(db, by), now=now, tz=TZ, received_at=received)
    assert created
    return event["id"]


def void(db, event_id: str, by: str = "alice") -> None:
    events.void(db, event_id, user=user(db, by), reason="录入错误", now=NOW)


def survey_answers(db, kind: str, day: str, positive: int, negative: int) -> None:
    """Respondents of a survey on a day (stored as the survey page stores them)."""
    code = surveys.create_code(db, kind, user=user(db, "carol"), now=NOW)
    for p in [1] * positive + [0] * negative:
        db.execute("INSERT INTO survey_answers (code_id, kind, answered_at, day, month, positive, respondent_type, "
                   "ip_hash) VALUES (?, ?, ?, ?, ?, ?, '群众', ?)",
                   [code, kind, f"{day}T02:00:00+00:00", day, day[:7], p, uuid.uuid4().hex])


def late(at: str, days: int = 20) -> datetime:
    """A receive time `days` after the event occurred."""
    return datetime.fromisoformat(when(at)) + timedelta(days=days)


def row_result(db, key: str, as_of: str, year: int = 2021):
    """The roll-up of one row of the shipped table."""
    table = tables.table_for_year(db, year)
    results = {r.key: r for r in rollup.compute(db, table, date.fromisoformat(as_of), TZ)}
    return results[key]


def perfect_year(db, sites: int = 50, plants: int = 5) -> dict:
    """A 2021 in which the station meets every row of the shipped table (counts worked out in the docstring).

    50 ready-mix sites and 5 plants active all year. Each month: every site 1 safety patrol (50 ≥ ⌈500/12⌉ = 42)
    and 2 enforcement patrols, every plant 1 patrol. Each quarter: every site sampled once (fee 1000 元,
    合格), every plant inspected once (合格). 10 campaigns, 2 or 3 ending in each quarter, each visiting
    every site. 6000 leaflets (500 a month), 35 completion filings (合格, filed 10 days after acceptance),
    80 permits (符合), no accident, 100 awareness answers (96 aware) and 100 satisfaction answers (92 satisfied).
    The chief enters every manual row as met and the full budget as executed.
    """
    site_ids = [site(db, name=f"全年工地{i:02d}") for i in range(sites)]
    plant_ids = [plant(db) for _ in range(plants)]
    with db.atomic():
        for m in range(1, 13):
            for i, s in enumerate(site_ids):
                ev(db, "safety_patrol", f"2021-{m:02d}-{1 + i % 20:02d}", site_id=s)
                ev(db, "enforcement_patrol", f"2021-{m:02d}-03", site_id=s)
                ev(db, "enforcement_patrol", f"2021-{m:02d}-17", site_id=s)
            for p in plant_ids:
                ev(db, "plant_patrol", f"2021-{m:02d}-08", plant_id=p)
            ev(db, "leaflets", f"2021-{m:02d}-12", fields={"copies": 500})
        for q in range(4):
            for s in site_ids:
                ev(db, "concrete_sampling", f"2021-{3 * q + 2:02d}-10", site_id=s, fields={"fee_yuan": 1000})
            for p in plant_ids:
                ev(db, "plant_inspection", f"2021-{3 * q + 2:02d}-11", plant_id=p)
        ends = ["02-10", "03-10", "03-25", "05-10", "06-10", "06-25", "08-10", "09-10", "11-10", "12-10"]
        for n, end in enumerate(ends, start=1):
            start = f"2021-{end[:2]}-01"
            for s in site_ids:
                ev(db, "major_inspection", start, site_id=s, campaign=(f"第{n}次大检查", start, f"2021-{end}"))
        for n in range(35):
            day = f"2021-{1 + n % 12:02d}-20"
            ev(db, "completion_filing", day, site_id=site_ids[n % sites],
               fields={"accepted_on": f"2021-{1 + n % 12:02d}-10", "filed_on": day})
        for n in range(80):
            ev(db, "construction_permit", f"2021-{1 + n % 12:02d}-15", site_id=site_ids[n % sites],
               fields={"issued_on": f"2021-{1 + n % 12:02d}-15"})
    survey_answers(db, "awareness_survey", "2021-06-01", positive=96, negative=4)
    survey_answers(db, "satisfaction_survey", "2021-09-01", positive=92, negative=8)
    return {"sites": site_ids, "plants": plant_ids}


MANUAL_MET = {
    "staff": {"value": "在职43人，退休14人", "grade": "达成"},
    "operations": {"value": "全年运转正常", "grade": "达成"},
    "staff_control_rate": {"value": "98"},
    "public_funds_control_rate": {"value": "95"},
    "staff_costs": {"value": "360.5"},
    "public_funds": {"value": "100"},
    "safety_funds": {"value": "28"},
    "duties_on_time": {"value": "全部按时完成", "grade": "达成"},
    "market_order": {"value": "建筑市场秩序规范", "grade": "达成"},
}


def enter_manual(db, values: dict = MANUAL_MET, year: int = 2021, by: str = "carol") -> None:
    """The chief enters each manual row with a source document."""
    from fieldlog.indicators import entries

    table = tables.table_for_year(db, year)
    for key, raw in values.items():
        entries.save_manual_value(db, year, table.row(key), {**raw, "source_document": "2021年部门决算报表"},
                                  user(db, by), now=NOW)
