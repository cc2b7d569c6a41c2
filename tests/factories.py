"""The tests' factories: users, sites, plants, events, survey answers and photos, each made through the app's
public functions (accounts, registry.save_site / save_plant, events.create / events.void, surveys.answer), so a
stored row is exactly what the app itself would store.

- user(db, who): a user row by name or id.
- site(db, **kw) / plant(db, **kw): a registry row (every argument a keyword with a plain default).
- submission(kind, occurred_at, **raw): a valid submission of a kind, as a phone sends it (for the API and for
  tests of validation); event(db, kind, occurred_at, **kw): the same stored through events.create.
"""

from __future__ import annotations

import io
import itertools
import os
import random
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from fieldlog import accounts, events, registry, surveys
from fieldlog.periods import to_local

TZ = ZoneInfo("Asia/Shanghai")
# The tests' present: the app's clock in tests starts here (tests/conftest.py). 2021, the year of the shipped
# indicator table and of most test data, is over.
NOW = datetime(2022, 1, 10, 12, 0, tzinfo=TZ)

SITE_AT = (27.0814, 112.9480)          # Hengdong county town centre
PLANT_AT = (27.10, 112.90)
OCCURRED = "2021-06-15T10:30:00+08:00"  # when an event happened unless a test says otherwise
PLACE = "城关镇农贸市场"                  # where leaflets are handed out when no site or plant is given
CAMPAIGN = ("2021年第二季度质量安全生产大检查", "2021-06-01", "2021-06-30")
VOID_REASON = "录入错误"

# What each kind needs and nothing more; a test adds the fields it is about.
MINIMAL = {
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
    "rectification_review": {},   # needs the notice it reviews: fields={"notice_event_id": ...}
}

# Every field of each kind filled with a valid value (a notice id is the caller's, for rectification_review).
EXAMPLE = {
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

_serial = itertools.count(1)


# --- people and the registry ------------------------------------------------------------------------

def user(db, who: str | int = "alice") -> dict:
    """A user row by user name or id."""
    found = accounts.get_user(db, who) if isinstance(who, int) else accounts.get_user_by_name(db, who)
    assert found, f"no user {who!r}"
    return found


def site(db, *, name: str | None = None, town: str = "城关镇", reg_no: str | None = None,
         location: tuple[float, float] | None = None, started_on: str | None = "2020-01-01",
         completed_on: str | None = None, ready_mix: bool = True, inspectors: list[int] = (),
         pauses: list[tuple[str, str | None]] = ()) -> int:
    """A site under construction since `started_on` (until `completed_on`, except in `pauses` given as
    (start, end or None) pairs); no recorded location unless `location` = (lat, lon). Returns its id."""
    n = next(_serial)
    raw = {"name": name or f"测试工地{n:05d}", "reg_no": reg_no or f"T-{n:05d}", "town": town,
           "started_on": started_on or "", "completed_on": completed_on or "", "uses_ready_mix": "是" if ready_mix else "否"}
    if location:
        raw["lat"], raw["lon"] = location
    return registry.save_site(db, raw, inspector_ids=list(inspectors),
                              pauses=[{"start_on": start, "end_on": end or ""} for start, end in pauses])


def plant(db, *, name: str | None = None, licence_no: str | None = None, location: tuple[float, float] | None = None,
          active_from: str | None = "2019-01-01", active_to: str | None = None) -> int:
    """A ready-mix concrete plant active from `active_from` (until `active_to`). Returns its id."""
    n = next(_serial)
    raw = {"name": name or f"测试搅拌站{n:05d}", "licence_no": licence_no or f"P-{n:05d}",
           "active_from": active_from or "", "active_to": active_to or ""}
    if location:
        raw["lat"], raw["lon"] = location
    return registry.save_plant(db, raw)


# --- events -----------------------------------------------------------------------------------------

def _occurred(value: str | datetime) -> str:
    """'2021-03-05' means 10:00 station time that day; a timestamp (text or datetime) is kept as given."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value if "T" in value else f"{value}T10:00:00+08:00"


def _instant(value: str | datetime | None) -> datetime | None:
    """An aware datetime from an ISO text or a datetime (naive means station time)."""
    if value is None:
        return None
    return to_local(datetime.fromisoformat(value) if isinstance(value, str) else value, TZ)


def submission(kind: str, occurred_at: str | datetime = OCCURRED, *, fields: dict | None = None, **raw) -> dict:
    """A valid submission of `kind`, as the phone sends it to POST /api/v1/events.

    `fields` are added to (or override) the kind's MINIMAL fields. `raw` sets any top-level key of the
    submission (site_id, plant_id, place, campaign, inspector_ids, lat, lon, accuracy_m, note, id ...);
    None leaves a key empty. Unless given: a site or plant kind is located at SITE_AT / PLANT_AT within 8 m,
    leaflets are handed out at PLACE, and a major inspection belongs to CAMPAIGN. A campaign may be given as
    (name, start_on, end_on).
    """
    subject = events.KINDS[kind]["subject"]
    body = {"id": str(uuid.uuid4()), "kind": kind, "occurred_at": _occurred(occurred_at), "note": "",
            "fields": {**MINIMAL[kind], **(fields or {})}}
    if subject in ("site", "site_campaign", "plant"):
        body["lat"], body["lon"] = PLANT_AT if subject == "plant" else SITE_AT
        body["accuracy_m"] = 8
    if subject == "any" and not any(raw.get(k) for k in ("site_id", "plant_id", "place")):
        body["place"] = PLACE
    if subject == "site_campaign" and "campaign" not in raw and "campaign_id" not in raw:
        body["campaign"] = CAMPAIGN
    body.update(raw)
    if isinstance(body.get("campaign"), tuple):
        name, start_on, end_on = body["campaign"]
        body["campaign"] = {"name": name, "start_on": start_on, "end_on": end_on}
    return body


def event(db, kind: str, occurred_at: str | datetime = OCCURRED, *, by: str | int = "alice",
          received_at: str | datetime | None = None, now: datetime | None = None, voided: bool = False,
          fields: dict | None = None, **raw) -> dict:
    """Store a valid event through events.create and return it (as events.load shows it).

    `by` (a user name or id) records it. It reaches the server when it occurred (so it is not late) unless
    `received_at` says when, or `now` (the server's clock at receipt) is given. voided=True then voids it
    through events.void, by the recorder. Other arguments are those of submission().
    """
    body = submission(kind, occurred_at, fields=fields, **raw)
    received = _instant(received_at)
    now = now or received or _instant(body["occurred_at"])
    recorder = user(db, by)
    stored, created, _ = events.create(db, body, user=recorder, now=now, tz=TZ, received_at=received)
    assert created, "an event with this id is stored already"
    if voided:
        stored = events.void(db, stored["id"], user=recorder, reason=VOID_REASON, now=now)
    return stored


# --- surveys ----------------------------------------------------------------------------------------

AWARE = {"complaint_channel": "是", "leaflet_received": "是", "safety_signs": "是", "acceptance_required": "是",
         "respondent_type": "群众"}
UNAWARE = {**AWARE, "complaint_channel": "否", "leaflet_received": "否", "safety_signs": "否"}
ANSWERS = {"awareness_survey": (AWARE, UNAWARE),
           "satisfaction_survey": ({"overall": "满意", "respondent_type": "群众"},
                                   {"overall": "不满意", "respondent_type": "群众"})}


def survey_answers(db, kind: str, day: str, positive: int, negative: int, secret: str = "test-secret") -> None:
    """`positive` + `negative` respondents answer a survey on `day` through the public answer path
    (surveys.answer), each from their own address, on a code a chief handed out that morning."""
    morning = datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=TZ)
    code = surveys.get_code(db, surveys.create_code(db, kind, user=user(db, "carol"), now=morning))
    yes, no = ANSWERS[kind]
    for n, form in enumerate([yes] * positive + [no] * negative):
        surveys.answer(db, code["token"], form, ip=f"10.{n // 250}.{n % 250}.1", secret=secret,
                       now=morning + timedelta(minutes=n), tz=TZ)


# --- a year of indicator events ---------------------------------------------------------------------

def perfect_year(db, sites: int = 50, plants: int = 5) -> dict:
    """A 2021 in which the station meets every row of the shipped table (counts worked out in the docstring).

    50 ready-mix sites and 5 plants active all year. Each month: every site 1 safety patrol (50 ≥ ⌈500/12⌉ = 42)
    and 2 enforcement patrols, every plant 1 patrol. Each quarter: every site sampled once (fee 1000 元,
    合格), every plant inspected once (合格). 10 campaigns, 2 or 3 ending in each quarter, each visiting
    every site. 6000 leaflets (500 a month), 35 completion filings (合格, filed 10 days after acceptance),
    80 permits (符合), no accident, 100 awareness answers (96 aware) and 100 satisfaction answers (92 satisfied).
    """
    site_ids = [site(db, name=f"全年工地{i:02d}") for i in range(sites)]
    plant_ids = [plant(db) for _ in range(plants)]
    with db.atomic():
        for m in range(1, 13):
            for i, s in enumerate(site_ids):
                event(db, "safety_patrol", f"2021-{m:02d}-{1 + i % 20:02d}", site_id=s)
                event(db, "enforcement_patrol", f"2021-{m:02d}-03", site_id=s)
                event(db, "enforcement_patrol", f"2021-{m:02d}-17", site_id=s)
            for p in plant_ids:
                event(db, "plant_patrol", f"2021-{m:02d}-08", plant_id=p)
            event(db, "leaflets", f"2021-{m:02d}-12", fields={"copies": 500})
        for q in range(4):
            for s in site_ids:
                event(db, "concrete_sampling", f"2021-{3 * q + 2:02d}-10", site_id=s, fields={"fee_yuan": 1000})
            for p in plant_ids:
                event(db, "plant_inspection", f"2021-{3 * q + 2:02d}-11", plant_id=p)
        ends = ["02-10", "03-10", "03-25", "05-10", "06-10", "06-25", "08-10", "09-10", "11-10", "12-10"]
        for n, end in enumerate(ends, start=1):
            start = f"2021-{end[:2]}-01"
            for s in site_ids:
                event(db, "major_inspection", start, site_id=s, campaign=(f"第{n}次大检查", start, f"2021-{end}"))
        for n in range(35):
            day = f"2021-{1 + n % 12:02d}-20"
            event(db, "completion_filing", day, site_id=site_ids[n % sites],
                  fields={"accepted_on": f"2021-{1 + n % 12:02d}-10", "filed_on": day})
        for n in range(80):
            event(db, "construction_permit", f"2021-{1 + n % 12:02d}-15", site_id=site_ids[n % sites],
                  fields={"issued_on": f"2021-{1 + n % 12:02d}-15"})
        survey_answers(db, "awareness_survey", "2021-06-01", positive=96, negative=4)
        survey_answers(db, "satisfaction_survey", "2021-09-01", positive=92, negative=8)
    return {"sites": site_ids, "plants": plant_ids}


MANUAL_MET = {
    "staff": {"value": "在职43人，退休14人", "grade": "met"},
    "operations": {"value": "全年运转正常", "grade": "met"},
    "staff_control_rate": {"value": "98"},
    "public_funds_control_rate": {"value": "95"},
    "staff_costs": {"value": "360.5"},
    "public_funds": {"value": "100"},
    "safety_funds": {"value": "28"},
    "duties_on_time": {"value": "全部按时完成", "grade": "met"},
    "market_order": {"value": "建筑市场秩序规范", "grade": "met"},
}


def enter_manual(db, values: dict = MANUAL_MET, year: int = 2021, by: str = "carol") -> None:
    """The chief enters each manual row with a source document."""
    from fieldlog.indicators import entries, tables

    table = tables.table_for_year(db, year)
    for key, raw in values.items():
        entries.save_manual_value(db, year, table.row(key), {**raw, "source_document": "2021年部门决算报表"},
                                  user(db, by), now=NOW)


def met_year(db) -> dict:
    """perfect_year with every manual row entered as met and the full budget executed."""
    from fieldlog.indicators import entries

    made = perfect_year(db)
    enter_manual(db)
    entries.save_budget(db, 2021, {"initial_budget": "560.61", "full_year_budget": "560.61", "executed": "560.61"},
                        user(db, "carol"), now=NOW)
    return made


# --- photos -----------------------------------------------------------------------------------------

def jpeg(size=(400, 300), colour=(0, 0, 255), corner=(255, 0, 0), exif: Image.Exif | None = None,
         quality: int = 90, noise: bool = False) -> bytes:
    """A JPEG with a coloured top-left corner (a quarter of each side) so orientation can be checked."""
    im = Image.new("RGB", size, colour)
    if noise:
        grain = Image.frombytes("L", size, os.urandom(size[0] * size[1]))
        im = Image.merge("RGB", (grain, im.getchannel("G"), im.getchannel("B")))
    im.paste(corner, (0, 0, size[0] // 4, size[1] // 4))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def camera_photo(size=(4000, 3000), seed: int = 7, grain: int = 10, quality: int = 90) -> bytes:
    """A JPEG like a 12 MP phone camera's (about 3 MB at 4000 x 3000): a sky gradient, hundreds of edges and
    colours (buildings, scaffolding), lens blur and sensor grain; a flat colour would shrink to nothing."""
    rnd = random.Random(seed)
    w, h = size
    ramp = Image.linear_gradient("L").resize(size)
    im = Image.merge("RGB", (ramp.point(lambda v: 120 + v // 3), ramp.point(lambda v: 150 + v // 4),
                             ramp.point(lambda v: 230 - v // 5)))
    draw = ImageDraw.Draw(im)
    for _ in range(900):
        x, y = rnd.randrange(w), rnd.randrange(h // 4, h)
        colour = tuple(rnd.randrange(40, 220) for _ in range(3))
        if rnd.random() < 0.5:
            draw.rectangle([x, y, x + rnd.randrange(20, 500), y + rnd.randrange(20, 400)], fill=colour)
        else:
            draw.line([x, y, x + rnd.randrange(-600, 600), y + rnd.randrange(-600, 600)], fill=colour,
                      width=rnd.randrange(2, 14))
    im = im.filter(ImageFilter.GaussianBlur(1.2))
    grain_l = Image.effect_noise((w // 2, h // 2), grain).resize(size)
    im = ImageChops.add(im, Image.merge("RGB", (grain_l, grain_l.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grain_l)),
                        offset=-128)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """EXIF with a GPS block (Hengdong county) and optionally an orientation tag."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (27.0, 4.0, 48.0)
    gps[3] = "E"
    gps[4] = (112.0, 57.0, 0.0)
    return exif

