"""A plausible year of field events for the demo registry, stored through events.create (seeded: identical each run)."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from fieldlog import events, periods, registry
from fieldlog.messages import t

TZ = ZoneInfo("Asia/Shanghai")
# Copies handed out per month: the 6000th copy is reached in November (安全生产月 in June is the big one).
LEAFLET_MONTHS = [300, 250, 500, 450, 500, 1200, 450, 400, 550, 600, 900, 400]
FAIRS = ["城关镇农贸市场", "吴集镇赶集日", "杨林镇文化广场", "霞流镇集市", "县城洣水风光带", "草市镇政府广场"]
TOPICS = ["安全生产月", "建筑施工安全常识", "防汛防台安全", "商品混凝土质量", "农村自建房安全", "消防安全", "质量月"]
# (name, start month/day, end month/day): at least one ends in every quarter.
CAMPAIGNS = [
    ("春节后复工复产质量安全大检查", (2, 18), (3, 5)),
    ("第一季度质量安全考评", (3, 15), (3, 31)),
    ("汛期安全生产大检查", (4, 12), (5, 10)),
    ("安全生产月专项检查", (6, 1), (6, 18)),
    ("第二季度质量安全考评", (6, 20), (6, 30)),
    ("建筑起重机械安全专项检查", (7, 5), (7, 23)),
    ("高大模板支撑系统专项检查", (8, 9), (8, 27)),
    ("第三季度质量安全考评", (9, 13), (9, 28)),
    ("国庆节前安全生产大检查", (9, 22), (9, 30)),
    ("建设工程质量月检查", (10, 11), (10, 29)),
    ("冬季施工安全检查", (11, 15), (12, 3)),
    ("第四季度质量安全考评", (12, 6), (12, 24)),
]
VOID_REASONS = ["重复录入", "工地选错，已重新记录", "误操作提交"]
HAZARD_NOTES = ["临边防护缺失", "脚手架连墙件不足", "施工用电未做到一机一闸一漏", "塔吊限位装置失灵", "基坑边堆载过近",
                "安全帽佩戴不规范", "消防器材配置不足", "高支模未按方案搭设"]


class _Gen:
    """Holds the registry, the random source and the store call, so each kind's generator stays short."""

    def __init__(self, db: Database, rng: random.Random, ids: dict, year: int, until: datetime):
        self.db, self.rng, self.year = db, rng, year
        self.inspectors = list(ids["inspectors"])
        self.chief = ids["chief"]
        # Nothing occurs or arrives after this moment: the demo's build time (or the end of January after the year).
        self.now = min(datetime(year + 1, 2, 1, tzinfo=timezone.utc), until.astimezone(timezone.utc))
        self.sites = {s["id"]: s for s in db.query("SELECT * FROM sites ORDER BY id")}
        self.plants = {p["id"]: p for p in db.query("SELECT * FROM plants ORDER BY id")}
        self.responsible = {}
        for r in db.query("SELECT site_id, user_id FROM site_inspectors ORDER BY site_id, user_id"):
            self.responsible.setdefault(r["site_id"], []).append(r["user_id"])
        self.months = periods.months_of(year)
        self.site_months = registry.active_site_map(db, self.months)
        self.plant_months = registry.active_plant_map(db, self.months)
        self.pauses = {}
        for r in db.query("SELECT site_id, start_on, end_on FROM site_pauses ORDER BY site_id, start_on"):
            self.pauses.setdefault(r["site_id"], []).append((date.fromisoformat(r["start_on"]), periods.parse_date(r["end_on"])))
        self.notices: list[dict] = []
        self.stored = 0

    # --- helpers -------------------------------------------------------------------------------

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def site_days(self, site_id: int, start: date, end: date) -> list[date]:
        """Weekdays in [start, end] on which the site was active (all active days if no weekday)."""
        site, pauses = self.sites[site_id], self.pauses.get(site_id, [])
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        days = [d for d in days if registry.site_active(site, pauses, periods.Period(d, d, ""))]
        return [d for d in days if d.weekday() < 5] or days

    def at(self, day: date) -> datetime:
        """A working-hours moment of a local day."""
        return datetime.combine(day, time(self.rng.randint(8, 17), self.rng.randrange(0, 60, 5)), TZ)

    def received(self, occurred: datetime) -> datetime:
        """Mostly within hours (phones send when back in signal); about 1 in 25 logged days later (补录)."""
        if self.rng.random() < 0.04:
            return occurred + timedelta(days=self.rng.randint(4, 15), hours=self.rng.randint(0, 8))
        return occurred + timedelta(minutes=self.rng.choice([1, 2, 5, 15, 40, 90, 180, 300]))

    def near(self, lat: float | None, lon: float | None) -> dict:
        """GPS within ~150 m of the subject, usually accurate."""
        if lat is None or self.rng.random() < 0.08:
            return {}
        accuracy = self.rng.choice([5, 8, 10, 12, 15, 20, 30]) if self.rng.random() > 0.05 else self.rng.randint(60, 150)
        return {"lat": round(lat + self.rng.uniform(-0.0012, 0.0012), 6), "lon": round(lon + self.rng.uniform(-0.0012, 0.0012), 6),
                "accuracy_m": accuracy}

    def store(self, kind: str, when: datetime, by: int, fields: dict, *, site_id=None, plant_id=None, place=None,
              others: list[int] | None = None, note: str = "", **extra) -> dict | None:
        """Store one event through events.create, with a realistic received_at; None for a moment after `now`."""
        if when > self.now:
            return None
        subject = self.sites.get(site_id) or self.plants.get(plant_id) or {}
        raw = {"id": self.uuid(), "kind": kind, "occurred_at": when.isoformat(), "site_id": site_id, "plant_id": plant_id,
               "place": place, "inspector_ids": sorted({by, *(others or [])}), "note": note, "fields": fields,
               **self.near(subject.get("lat"), subject.get("lon")), **extra}
        event, created, _ = events.create(self.db, raw, user={"id": by, "role": "inspector"}, now=self.now, tz=TZ,
                                          received_at=min(self.received(when), self.now))
        self.stored += int(created)
        return event

    def inspector_for(self, site_id: int) -> int:
        return (self.responsible.get(site_id) or self.inspectors)[0]

    def colleague(self, uid: int) -> int:
        return self.rng.choice([i for i in self.inspectors if i != uid])

    def finding(self) -> str:
        roll = self.rng.random()
        return "重大" if roll < 0.02 else "一般" if roll < 0.30 else "无"

    def active_sites(self, month: periods.Period) -> list[int]:
        return sorted(self.site_months[month.label])


def _safety_patrols(g: _Gen) -> None:
    """About 520 over the year: every active site each month by its inspector, a few missed, some twice."""
    for month in g.months:
        for site_id in g.active_sites(month):
            if g.rng.random() < 0.03:
                continue  # missed this month
            visits = 2 if g.rng.random() < 0.45 else 1
            days = g.site_days(site_id, month.start, month.end)
            for day in sorted(g.rng.sample(days, k=min(visits, len(days)))):
                _one_safety_patrol(g, site_id, day)


def _one_safety_patrol(g: _Gen, site_id: int, day: date) -> None:
    finding = g.finding()
    fields = {"finding": finding, "hazards_general": 0 if finding == "无" else g.rng.randint(1, 4),
              "hazards_major": int(finding == "重大")}
    note = g.rng.choice(HAZARD_NOTES) if finding != "无" else ""
    if finding == "重大" or (finding == "一般" and g.rng.random() < 0.35):
        deadline = day + timedelta(days=g.rng.choice([7, 10, 15]))
        fields.update(notice_no=f"衡建安改〔{g.year}〕{len(g.notices) + 1:03d}号", notice_deadline=deadline.isoformat())
    by = g.inspector_for(site_id)
    event = g.store("safety_patrol", g.at(day), by, fields, site_id=site_id, note=note)
    if event and "notice_no" in fields:
        g.notices.append(event)


def _enforcement_patrols(g: _Gen) -> None:
    """About two per active site-month, by two inspectors; some months one short; a few orders."""
    for month in g.months:
        short = g.rng.random() < 0.25  # a busy month: some sites get one patrol only
        for site_id in g.active_sites(month):
            visits = 1 if short and g.rng.random() < 0.3 else 2
            days = g.site_days(site_id, month.start, month.end)
            for day in sorted(g.rng.sample(days, k=min(visits, len(days)))):
                by = g.inspector_for(site_id)
                order = g.rng.choices([events.ORDER_NONE, events.ORDER_RECTIFY, events.ORDER_STOP_WORK], [88, 10, 2])[0]
                issued = order != events.ORDER_NONE
                fields = {"finding": "一般" if issued else g.finding(), "order": order,
                          "violations": g.rng.randint(1, 3) if issued else 0,
                          "findings_text": g.rng.choice(HAZARD_NOTES) if issued else "未发现违法违规行为"}
                if issued:
                    fields.update(notice_no=f"衡建执改〔{g.year}〕{len(g.notices) + 1:03d}号",
                                  notice_deadline=(day + timedelta(days=g.rng.choice([10, 15, 20]))).isoformat())
                event = g.store("enforcement_patrol", g.at(day), by, fields, site_id=site_id, others=[g.colleague(by)])
                if event and issued:
                    g.notices.append(event)


def _major_inspections(g: _Gen) -> None:
    """Twelve campaigns, each inspecting most sites active during it."""
    for name, (m1, d1), (m2, d2) in CAMPAIGNS:
        start, end = date(g.year, m1, d1), date(g.year, m2, d2)
        campaign = {"name": f"{g.year}年{name}", "start_on": start.isoformat(), "end_on": end.isoformat()}
        active = sorted(registry.active_site_map(g.db, [periods.Period(start, end, "c")])["c"])
        for site_id in active:
            days = g.site_days(site_id, start, end)
            if not days or g.rng.random() < 0.06:
                continue
            score = round(g.rng.uniform(72, 96), 1)
            fields = {"finding": g.finding(), "score": score, "grade": "优良" if score >= 85 else "合格"}
            g.store("major_inspection", g.at(g.rng.choice(days)), g.chief if g.rng.random() < 0.2 else g.inspector_for(site_id),
                    fields, site_id=site_id, others=[g.colleague(g.inspector_for(site_id))], campaign=campaign)


def _concrete_sampling(g: _Gen) -> None:
    """Each quarter, nearly every ready-mix site active in it is sampled once; three results fail."""
    plants = sorted(g.plants)
    failures = 0
    for q in periods.quarters_of(g.year):
        active = sorted(registry.active_site_map(g.db, [q], ready_mix_only=True)[q.label])
        for site_id in active:
            days = g.site_days(site_id, q.start, q.end)
            if not days or g.rng.random() < 0.03:
                continue
            grade = g.rng.choice(["C25", "C30", "C30", "C35", "C40"])
            target = int(grade[1:])
            fail = failures < 3 and g.rng.random() < 0.03
            failures += fail
            measured = round(target * (g.rng.uniform(0.82, 0.95) if fail else g.rng.uniform(1.05, 1.35)), 1)
            fields = {"strength_grade": grade, "specimens": g.rng.choice([3, 3, 6]), "method": g.rng.choice(["试块", "试块", "回弹", "钻芯"]),
                      "measured_mpa": measured, "result": "不合格" if fail else "合格", "fee_yuan": g.rng.choice([800, 1200, 1500, 2000, 2400])}
            g.store("concrete_sampling", g.at(g.rng.choice(days)), g.inspector_for(site_id), fields, site_id=site_id,
                    plant_id=g.rng.choice(plants))


def _plants(g: _Gen) -> None:
    """Monthly patrols of every active plant (two missed in the year) and two inspections of each plant."""
    missed = {(g.rng.choice(g.months).label, g.rng.choice(sorted(g.plants))) for _ in range(2)}
    for month in g.months:
        for plant_id in sorted(g.plant_months[month.label]):
            if (month.label, plant_id) in missed:
                continue
            day = g.rng.choice([month.start + timedelta(days=i) for i in range(month.end.day) if (month.start + timedelta(days=i)).weekday() < 5])
            by = g.inspectors[plant_id % len(g.inspectors)]
            g.store("plant_patrol", g.at(day), by, {"findings_text": g.rng.choice(["生产记录齐全", "原材料进场检验记录完整", "试验室设备已校准", "砂石料堆场未覆盖，已要求整改"])},
                    plant_id=plant_id, others=[g.colleague(by)])
    for plant_id in sorted(g.plants):
        for month in (5, 11):
            day = date(g.year, month, g.rng.randint(3, 26))
            day -= timedelta(days=max(0, day.weekday() - 4))
            g.store("plant_inspection", g.at(day), g.chief, {"items_checked": "资质、原材料、配合比、试验室、生产记录", "result": "合格"},
                    plant_id=plant_id, others=[g.inspectors[plant_id % len(g.inspectors)]])


def _leaflets(g: _Gen) -> None:
    """Monthly totals of LEAFLET_MONTHS split over a few handouts at sites, plants and town fairs."""
    for month, total in zip(g.months, LEAFLET_MONTHS):
        parts = g.rng.randint(2, 5)
        cuts = sorted(g.rng.sample(range(1, total // 10), parts - 1))
        sizes = [(b - a) * 10 for a, b in zip([0, *cuts], [*cuts, total // 10])]
        for copies in sizes:
            day = month.start + timedelta(days=g.rng.randint(0, month.end.day - 1))
            where = g.rng.random()
            site_ids = g.active_sites(month)
            by = g.rng.choice(g.inspectors)
            subject = ({"site_id": g.rng.choice(site_ids)} if where < 0.5 and site_ids else
                       {"plant_id": g.rng.choice(sorted(g.plants))} if where < 0.65 else {"place": g.rng.choice(FAIRS)})
            g.store("leaflets", g.at(day), by, {"copies": copies, "topic": "安全生产月" if month.label.endswith("-06") else g.rng.choice(TOPICS)}, **subject)


def _filings(g: _Gen) -> None:
    """35 completion filings, most within 15 days of acceptance; sites completed this year first."""
    completed = [s for s in g.sites.values() if s["completed_on"] and s["completed_on"].startswith(str(g.year))]
    others = sorted(s["id"] for s in g.sites.values())
    for n in range(35):
        if n < len(completed):
            site_id, accepted = completed[n]["id"], date.fromisoformat(completed[n]["completed_on"])
        else:
            site_id, accepted = g.rng.choice(others), date(g.year, 1, 4) + timedelta(days=g.rng.randint(0, 330))
        filed = accepted + timedelta(days=g.rng.randint(3, 14) if n % 11 != 5 else g.rng.randint(17, 30))
        filed = max(accepted, min(filed, date(g.year, 12, 31)))  # filed within the year, never before acceptance
        g.store("completion_filing", g.at(filed), g.inspector_for(site_id),
                {"accepted_on": accepted.isoformat(), "filed_on": filed.isoformat(), "result": "合格"}, site_id=site_id)


def _permits(g: _Gen) -> None:
    """80 construction permits over the year; two did not meet the conditions."""
    site_ids = sorted(g.sites)
    bad = set(g.rng.sample(range(80), 2))
    for n in range(80):
        issued = date(g.year, 1, 6) + timedelta(days=int(n * 350 / 80) + g.rng.randint(0, 3))
        applied = issued - timedelta(days=g.rng.randint(3, 12))
        site_id = g.rng.choice(site_ids)
        g.store("construction_permit", g.at(issued), g.chief if n % 3 == 0 else g.inspector_for(site_id),
                {"applied_on": applied.isoformat(), "issued_on": issued.isoformat(),
                 "permit_no": f"4304242{issued:%Y%m%d}{n + 1:02d}01", "conditions_met": "不符合" if n in bad else "符合"},
                site_id=site_id)


def _reviews(g: _Gen) -> None:
    """Most notices are reviewed and closed near their deadline; some need a second review; a few stay open."""
    for notice in g.notices:
        deadline = date.fromisoformat(notice["fields"]["notice_deadline"])
        roll = g.rng.random()
        if roll < 0.08:
            continue  # never reviewed: open, overdue once the deadline passes
        first = deadline + timedelta(days=g.rng.randint(-4, 2))
        closed_first = roll > 0.22
        for day, closed in [(first, closed_first)] + ([] if closed_first else [(first + timedelta(days=7), True)]):
            day = max(day, date.fromisoformat(notice["day"]) + timedelta(days=1))
            if g.at(day) >= g.now:
                break
            g.store("rectification_review", g.at(day), notice["recorded_by"],
                    {"notice_event_id": notice["id"], "closed": closed}, site_id=notice["site_id"],
                    note="" if closed else "整改未完成，继续督促")


# What the station's notice documents list: (description, location, criterion, 重大 criterion id or None).
NOTICE_ITEMS = [
    ("二层临边防护栏杆缺失", "2号楼二层", "JGJ 59-2011 第3.13节", None),
    ("脚手架连墙件设置不足", "1号楼东侧外架", "JGJ 130-2011 第6.4节", None),
    ("施工用电未采用TN-S系统，开关箱无漏电保护", "生活区配电箱", "JGJ 46-2005 第5.1节", None),
    ("深基坑施工未进行第三方监测", "基坑北侧", "", "5.3"),
    ("塔吊安装后未经验收即投入使用", "3号塔吊", "", None),
]


def _notice_documents(g: _Gen) -> None:
    """A few notice documents (issue 14) through the year: issued by two inspectors, served, replied to, reviewed and
    closed; one refused for signature with a witness; one left open past its deadline; a stop with its 复工 note."""
    plans = [(1, "rectify", "full"), (3, "rectify", "refused"), (5, "partial_stop", "full"), (7, "stop_work", "resume"),
             (9, "rectify", "full"), (10, "rectify", "open")]
    for month_index, notice_type, course in plans:
        month = g.months[month_index]
        sites = g.active_sites(month)
        if not sites:
            continue
        site_id = g.rng.choice(sites)
        day = g.rng.choice(g.site_days(site_id, month.start, month.end))
        by = g.inspector_for(site_id)
        pair = [by, g.colleague(by)]
        chosen = g.rng.sample(NOTICE_ITEMS[:3], 2) + ([NOTICE_ITEMS[3]] if notice_type != "rectify" else [])
        items = [{"description": d, "location": loc, "criterion": c, "major": major is not None,
                  **({"criterion_id": major} if major else {})} for d, loc, c, major in chosen]
        deadline = day + timedelta(days=10 if notice_type == "rectify" else 15)
        notice = g.store("notice", g.at(day), by, {"notice_type": notice_type, "deadline": deadline.isoformat(),
                                                   "legal_basis": t(f"notices.default_basis.{notice_type}"),
                                                   "items": items}, site_id=site_id, others=pair)
        if notice is None:
            continue
        contractor = g.sites[site_id].get("contractor") or ""

        issued_at = datetime.fromisoformat(notice["occurred_at"])

        def step(when: date, name: str, **fields) -> dict | None:
            """A step on `when` (not before the notice: on its day, half an hour after it at the earliest)."""
            at = max(g.at(max(when, day)), issued_at + timedelta(minutes=30))
            return g.store("notice_step", at, by, {"notice_event_id": notice["id"], "step": name, **fields},
                           site_id=site_id, others=pair)

        if course == "refused":
            step(day, "refused", witness="监理单位 王工（总监代表）")
        elif step(day, "served", receiver_name="李建国", receiver_unit=contractor or "施工单位",
                  received_on=day.isoformat()) is None or course == "open":
            continue
        if not step(deadline - timedelta(days=2), "replied", reply_text="已按通知要求完成整改，附整改前后照片。"):
            continue
        if not step(deadline, "review_passed") or not step(deadline + timedelta(days=1), "closed"):
            continue
        if course == "resume":
            g.store("notice", g.at(deadline + timedelta(days=1)), by,
                    {"notice_type": "resume", "legal_basis": t("notices.default_basis.resume"),
                     "follows_notice_id": notice["id"], "follows_as": "resume"}, site_id=site_id, others=pair)


def _accident(g: _Gen) -> None:
    """At most one accident (一般, one injury); with about 40 sites a single one already misses the ≤1.5‰ target."""
    if g.rng.random() >= 0.3:
        return
    month = g.months[7]
    site_id = g.rng.choice(g.active_sites(month))
    day = g.rng.choice(g.site_days(site_id, month.start, month.end))
    g.store("accident", g.at(day), g.inspector_for(site_id), {"severity": "一般", "deaths": 0, "injuries": 1},
            site_id=site_id, note="工人高处坠落受伤，已送医")


def _voided(g: _Gen) -> None:
    """A few mistaken entries (duplicates, wrong site) that the recorder voided with a reason."""
    for n in range(8):
        month = g.months[g.rng.randrange(12)]
        site_id = g.rng.choice(g.active_sites(month))
        days = g.site_days(site_id, month.start, month.end)
        by = g.inspector_for(site_id)
        event = g.store("safety_patrol", g.at(g.rng.choice(days)), by, {"finding": "无"}, site_id=site_id)
        if event is None:
            continue
        when = datetime.fromisoformat(event["received_at"]) + timedelta(hours=g.rng.randint(1, 30))
        events.void(g.db, event["id"], user={"id": by, "role": "inspector"}, reason=VOID_REASONS[n % len(VOID_REASONS)],
                    now=min(when, g.now))


def generate(db: Database, rng: random.Random, ids: dict, year: int, until: datetime) -> int:
    """Store `year`'s events for the demo registry, none after `until`; returns how many were stored."""
    g = _Gen(db, rng, ids, year, until)
    for step in (_safety_patrols, _enforcement_patrols, _major_inspections, _concrete_sampling, _plants, _leaflets,
                 _filings, _permits, _accident, _reviews, _notice_documents, _voided):
        step(g)
    return g.stored
