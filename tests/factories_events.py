"""Plain factories for the events tests: a small registry and valid submissions of every kind."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from fieldlog import accounts, events, registry

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2021, 6, 15, 4, 0, tzinfo=timezone.utc)  # 12:00 in the station
SITE_AT = (27.0814, 112.9480)
PLANT_AT = (27.10, 112.90)

# Valid kind-specific fields per kind (a notice id is filled in for rectification_review).
GOOD_FIELDS = {
    "safety_patrol": {"finding": "一般", "hazards_general": 2, "notice_no": "衡建安改〔2021〕12号", "notice_deadline": "2021-06-25"},
    "enforcement_patrol": {"finding": "无", "order": "无", "violations": 0, "findings_text": "现场文明施工良好"},
    "major_inspection": {"finding": "一般", "score": 86.5, "grade": "优良"},
    "concrete_sampling": {"strength_grade": "C30", "specimens": 3, "method": "试块", "measured_mpa": 34.2,
                          "result": "合格", "fee_yuan": 1200},
    "plant_patrol": {"findings_text": "原材料堆放规范"},
    "plant_inspection": {"items_checked": "配合比、原材料、试验室", "result": "合格"},
    "leaflets": {"copies": 120, "topic": "安全生产月"},
    "completion_filing": {"accepted_on": "2021-06-01", "filed_on": "2021-06-10", "result": "合格"},
    "construction_permit": {"applied_on": "2021-06-01", "issued_on": "2021-06-08", "permit_no": "431824202106080101",
                            "conditions_met": "符合"},
    "accident": {"severity": "一般", "deaths": 0, "injuries": 1},
    "rectification_review": {"closed": True},
}


def user(db, username: str) -> dict:
    """A user row by name."""
    return accounts.get_user_by_name(db, username)


def site(db, name: str = "城关镇安置小区", at: tuple[float, float] = SITE_AT, inspectors: list[int] | None = None) -> int:
    """A site under construction with a recorded location."""
    n = uuid.uuid4().hex[:8]
    return registry.save_site(db, {"name": name, "reg_no": f"EV-{n}", "lat": at[0], "lon": at[1], "town": "城关镇",
                                   "started_on": "2020-03-01"}, inspector_ids=inspectors or [])


def plant(db, name: str = "恒通商品混凝土有限公司", at: tuple[float, float] = PLANT_AT) -> int:
    """A ready-mix plant with a recorded location."""
    n = uuid.uuid4().hex[:8]
    return registry.save_plant(db, {"name": name, "licence_no": f"PL-{n}", "lat": at[0], "lon": at[1],
                                    "active_from": "2019-01-01"})


def body(kind: str, *, site: int | None = None, plant: int | None = None, **extra) -> dict:
    """A valid submission of `kind` about `site` or `plant` as the kind needs; `extra` overrides any key."""
    raw = {"id": str(uuid.uuid4()), "kind": kind, "occurred_at": "2021-06-15T10:30:00+08:00",
           "lat": SITE_AT[0], "lon": SITE_AT[1], "accuracy_m": 8, "note": "", "fields": dict(GOOD_FIELDS[kind])}
    subject = events.KINDS[kind]["subject"]
    if subject in ("site", "site_campaign"):
        raw["site_id"] = site
    if subject == "plant":
        raw["plant_id"] = plant
        raw["lat"], raw["lon"] = PLANT_AT
    if subject == "any":
        raw["place"] = "城关镇农贸市场"
        raw.pop("lat"), raw.pop("lon")
    if subject == "site_campaign":
        raw["campaign"] = {"name": "2021年第二季度质量安全生产大检查", "start_on": "2021-06-01", "end_on": "2021-06-30"}
    fields = extra.pop("fields", None)
    if fields is not None:
        raw["fields"].update(fields)
    raw.update(extra)
    return raw


def create(db, kind: str, by: str = "alice", now: datetime = NOW, **kw) -> dict:
    """Store one valid event through the domain; returns the event."""
    event, created, _ = events.create(db, body(kind, **kw), user=user(db, by), now=now, tz=TZ)
    assert created
    return event


def notice(db, site_id: int, by: str = "alice") -> str:
    """A safety patrol that issued a rectification notice; returns its id."""
    return create(db, "safety_patrol", by=by, site_id=site_id)["id"]
