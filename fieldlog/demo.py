"""Demo database: the Hengdong County registry (about 40 sites, 5 plants, 10 inspectors, a chief, an admin).

The demo is built for a moment `now` (the real one when `fieldlog serve --demo` builds it) and never holds
anything after it: last year complete, with the chief's year-end entries, so its 绩效自评表 is there to look
at; this year from 1 January up to `now`, so the dashboards of today (the real today: the demo runs on the real
clock) count only what happened by today, and what a visitor logs appears beside it. Each demo year has its
own copy of the shipped target table, so no page shows another year's title.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog import accounts, registry, surveys
from fieldlog.db import write

DEMO_PASSWORD = "fieldlog-demo"
SEED = 2021
TZ = ZoneInfo("Asia/Shanghai")
TOWNS = ["城关镇", "吴集镇", "甘溪镇", "杨林镇", "草市镇", "杨桥镇", "霞流镇", "荣桓镇", "新塘镇", "大浦镇", "石湾镇", "高湖镇"]
INSPECTORS = ["王建国", "李明", "张伟", "刘洋", "陈刚", "杨帆", "赵磊", "黄勇", "周涛", "吴军"]
PROJECTS = ["安置小区", "人民医院住院楼", "第一中学教学楼", "商住楼", "农贸市场", "污水处理厂", "实验小学综合楼",
            "工业园标准厂房", "保障性住房", "职业中专实训楼", "文化中心", "滨江花园", "供水厂扩建", "幼儿园", "敬老院"]
COMPANIES = ["湖南衡东建设工程有限公司", "衡阳市第三建筑工程有限公司", "湖南金湘建设集团有限公司", "湖南宏达建工有限公司",
             "衡东县城乡建设有限公司", "湖南华厦建筑有限责任公司"]
SUPERVISORS = ["衡阳市建设监理有限公司", "湖南长顺项目管理有限公司", "湖南中success监理有限公司".replace("success", "信")]
PLANTS = ["衡东县恒通商品混凝土有限公司", "衡东县鑫达混凝土有限公司", "衡东县宏建商砼有限公司", "衡东县金石混凝土有限公司",
          "衡东县永固建材有限公司"]
# Centre of Hengdong County (衡东县城).
CENTRE = (27.0814, 112.9480)


def users(db: Database, now: datetime) -> dict:
    """Create the demo accounts (created at `now`: when the demo was built); return {'chief': id, 'admin': id, 'inspectors': [ids]}."""
    ids = {"inspectors": []}
    ids["admin"] = accounts.create_user(db, "admin", "系统管理员", "admin", DEMO_PASSWORD, now=now)
    ids["chief"] = accounts.create_user(db, "chief", "刘站长", "chief", DEMO_PASSWORD, now=now)
    for i, name in enumerate(INSPECTORS, start=1):
        ids["inspectors"].append(accounts.create_user(db, f"inspector{i}", name, "inspector", DEMO_PASSWORD, now=now))
    return ids


def built_at(db: Database) -> datetime | None:
    """When the demo in `db` was built (its accounts were created then); None for an empty database."""
    stamps = [u["created_at"] for u in accounts.list_users(db)]
    return datetime.fromisoformat(min(stamps)).astimezone(timezone.utc) if stamps else None


def years(now: datetime) -> tuple[int, int]:
    """(the complete year, the year under way) of a demo built at `now`."""
    year = now.astimezone(TZ).year
    return year - 1, year


def build_registry(db: Database, rng: random.Random, inspector_ids: list[int], year: int) -> None:
    """About 40 sites (some start, finish or pause during the year) and 5 plants."""
    for n in range(40):
        town = TOWNS[n % len(TOWNS)]
        project = PROJECTS[n % len(PROJECTS)]
        started = date(year - 1, 3, 1) + timedelta(days=rng.randint(0, 600)) if n >= 6 else date(year - 2, 9, 1)
        completed = None
        if n % 5 == 0 and started < date(year, 6, 1):
            completed = started + timedelta(days=rng.randint(240, 420))
            completed = completed if completed.year == year else None
        pauses = []
        if n % 9 == 4:
            p_start = date(year, rng.randint(3, 8), rng.randint(1, 20))
            pauses.append({"start_on": p_start.isoformat(), "end_on": (p_start + timedelta(days=rng.randint(20, 75))).isoformat(),
                           "reason": "资金不到位停工"})
        lat = CENTRE[0] + rng.uniform(-0.12, 0.12)
        lon = CENTRE[1] + rng.uniform(-0.12, 0.12)
        responsible = [inspector_ids[n % len(inspector_ids)]] + ([inspector_ids[(n + 3) % len(inspector_ids)]] if n % 4 == 0 else [])
        registry.save_site(db, {
            "name": f"衡东县{town}{project}" + ("" if n < len(PROJECTS) else f"{n // len(PROJECTS) + 1}期"),
            "reg_no": f"HDJ{year - (0 if started.year >= year else 1)}-{n + 1:03d}",
            "address": f"衡东县{town}{rng.choice(['建设路', '解放路', '衡岳路', '洣水路', '工业大道'])}{rng.randint(1, 300)}号",
            "town": town, "lat": f"{lat:.6f}", "lon": f"{lon:.6f}",
            "builder": f"衡东县{rng.choice(['住房和城乡建设局', '教育局', '卫生健康局', '城市建设投资有限公司', '工业园管委会'])}",
            "contractor": rng.choice(COMPANIES), "supervisor": rng.choice(SUPERVISORS),
            "uses_ready_mix": "是" if n % 8 != 7 else "否",
            "started_on": started.isoformat(), "completed_on": completed.isoformat() if completed else "",
        }, inspector_ids=responsible, pauses=pauses)
    for n, name in enumerate(PLANTS):
        registry.save_plant(db, {
            "name": name, "licence_no": f"湘建预拌D{431000 + n * 17}", "town": TOWNS[n * 2],
            "address": f"衡东县{TOWNS[n * 2]}工业园", "lat": f"{CENTRE[0] + rng.uniform(-0.1, 0.1):.6f}",
            "lon": f"{CENTRE[1] + rng.uniform(-0.1, 0.1):.6f}", "active_from": f"{year - 3}-01-01",
        })


def build(db: Database, now: datetime, seed: int = SEED) -> dict:
    """Fill an empty, migrated database with the demo as of `now`: registry, accounts, tables, answers, events."""
    from fieldlog import demo_events  # its own random sources, so other generators do not shift its events

    complete, current = years(now)
    rng = random.Random(seed)
    with write(db):
        ids = users(db, now)
        build_registry(db, rng, ids["inspectors"], complete)
        for year in (complete, current):
            year_table(db, year, now)
        surveys.demo_answers(db, rng, complete, ids["chief"])
        surveys.demo_answers(db, random.Random(seed + 2), current, ids["chief"], until=now)
        demo_events.generate(db, random.Random(seed + 1), ids, complete, until=now)
        demo_events.generate(db, random.Random(seed + 3), ids, current, until=now)
        year_end_entries(db, ids["chief"], complete, now)
    return ids


def year_table(db: Database, year: int, now: datetime) -> None:
    """Give `year` its own copy of the shipped table when it would inherit another year's (title and all)."""
    from fieldlog.indicators import tables

    text, origin = tables.table_source(db, year)
    if origin == "inherited":
        text = re.sub(r"^year = \d{4}$", f"year = {year}", text, count=1, flags=re.M)
        text = re.sub(r'^title = "\d{4}', f'title = "{year}', text, count=1, flags=re.M)
        tables.load_table(db, text, loaded_by="demo", now=now)


# What the chief enters for rows no field event measures, as a station would after the final accounts
# (grades as English values: met, partial, missed; {year} is the year entered for).
DEMO_MANUAL = {
    "staff": ("在职人数43人，退休人员14人", "met", "{year}年工资发放花名册"),
    "operations": ("全年正常运转，各项职能履行到位", "met", "{year}年度工作总结"),
    "staff_control_rate": (100, None, "{year}年机构编制实名制台账"),
    "public_funds_control_rate": (96.8, None, "{year}年部门决算报表"),
    "staff_costs": (368.52, None, "{year}年部门决算报表"),
    "public_funds": (104.77, None, "{year}年部门决算报表"),
    "safety_funds": (27.6, None, "{year}年部门决算报表"),
    "duties_on_time": ("县委、县政府交办任务均按时办结", "met", "{year}年度工作总结"),
    "market_order": ("开展建筑市场执法检查，查处违法违规行为，市场秩序总体平稳", "partial", "{year}年度工作总结"),
}


def year_end_entries(db: Database, chief_id: int, year: int, now: datetime) -> None:
    """The chief's manual values, budget execution and one deviation note, entered in January after the year
    (or at `now`, when the demo is built before that day)."""
    from fieldlog.indicators import entries, tables

    chief = accounts.get_user(db, chief_id)
    rows = {row.key: row for row in tables.table_for_year(db, year).rows}
    entered = min(datetime(year + 1, 1, 12, 9, 30, tzinfo=timezone.utc), now.astimezone(timezone.utc))
    for key, (value, grade, source) in DEMO_MANUAL.items():
        if key in rows:
            entries.save_manual_value(db, year, rows[key], {"value": value, "grade": grade,
                                                            "source_document": source.format(year=year)},
                                      chief, now=entered)
    entries.save_budget(db, year, {"initial_budget": 560.61, "full_year_budget": 578.30, "executed": 561.24},
                        chief, now=entered)
    if "enforcement_site_coverage" in rows:
        entries.save_note(db, year, "enforcement_site_coverage",
                          "个别工地因停工、人员紧张未达到每月 2 次；下一年按片区分配巡查任务并每周核对覆盖情况。", chief, now=entered)


LOGINS = [("admin", "管理员"), ("chief", "站长"), ("inspector1", "监督员（共 10 位：inspector1 … inspector10）")]
