"""Field events (SPEC section 3): the kinds as data, validation, idempotent create, edit, void, listing."""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

from sqlite_utils import Database

from fieldlog import photos
from fieldlog.db import WRITE_LOCK, one
from fieldlog.errors import Conflict, Forbidden, InvalidInput, NotFound
from fieldlog.periods import to_local

FUTURE_ALLOWANCE = timedelta(minutes=10)   # phone clocks drift; beyond this an event "in the future" is a typo
LATE_AFTER = timedelta(days=3)             # received later than this after it occurred: 补录
POOR_ACCURACY_M = 50
FAR_FROM_SUBJECT_M = 1000
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_TEXT = 2000

FINDINGS = ["无", "一般", "重大"]
PASS_FAIL = ["合格", "不合格"]
STRENGTH_GRADES = [f"C{n}" for n in range(10, 101, 5)]

# Subject types: what an event of a kind is about.
SUBJECTS = {
    "site": "工地",
    "plant": "商品混凝土公司",
    "any": "工地、搅拌站或地点",
    "site_campaign": "工地（属于一次大检查）",
}
TYPES = {"int": "整数", "number": "数字", "text": "文字", "date": "日期", "choice": "选项", "bool": "是/否"}


def _f(name: str, label: str, type: str, *, choices: list[str] | None = None, min: float | None = None,
       max: float | None = None, required: bool = False, default=None, hint: str = "",
       required_with: str | None = None, required_unless: tuple[str, str] | None = None,
       not_before: str | None = None) -> dict:
    """One kind-specific field, described as data (the phone form is rendered from it)."""
    return {"name": name, "label": label, "type": type, "choices": choices, "min": min, "max": max,
            "required": required, "default": default, "hint": hint, "required_with": required_with,
            "required_unless": list(required_unless) if required_unless else None, "not_before": not_before}


def _finding(required: bool = True, default: str | None = None) -> dict:
    return _f("finding", "最严重隐患", "choice", choices=FINDINGS, required=required, default=default,
              hint="重大事故隐患按国家判定标准认定")


def _notice(required_unless: tuple[str, str] | None = None) -> list[dict]:
    return [
        _f("notice_no", "整改通知书编号", "text", required_unless=required_unless),
        _f("notice_deadline", "整改期限", "date", required_with="notice_no", required_unless=required_unless),
    ]


KINDS: dict[str, dict] = {
    "safety_patrol": {
        "label": "安全日常巡查", "subject": "site", "hint": "记录本次巡查发现的隐患；下发整改通知书时填写编号和期限",
        "fields": [
            _finding(),
            _f("hazards_general", "一般隐患数", "int", min=0, default=0),
            _f("hazards_major", "重大隐患数", "int", min=0, default=0),
            *_notice(),
        ],
    },
    "enforcement_patrol": {
        "label": "执法检查巡查工地", "subject": "site", "hint": "每个在建工地每月至少巡查 2 次",
        "fields": [
            _finding(default="无"),
            _f("findings_text", "检查发现", "text"),
            _f("violations", "违法违规行为数", "int", min=0, default=0),
            _f("order", "处理措施", "choice", choices=["无", "整改", "停工整改"], default="无", required=True),
            *_notice(required_unless=("order", "无")),
        ],
    },
    "major_inspection": {
        "label": "质量安全生产大检查及季度考评", "subject": "site_campaign", "hint": "选择所属的大检查（按结束日期计入季度）",
        "fields": [
            _finding(default="无"),
            _f("score", "考评得分", "number", min=0, max=100),
            _f("grade", "考评等级", "choice", choices=["优良", "合格", "不合格"]),
            _f("findings_text", "检查发现", "text"),
        ],
    },
    "concrete_sampling": {
        "label": "商品混凝土监督抽测", "subject": "site", "plant_optional": True,
        "hint": "记录抽测结果；可选择供应混凝土的搅拌站",
        "fields": [
            _f("strength_grade", "强度等级", "choice", choices=STRENGTH_GRADES),
            _f("specimens", "试件组数", "int", min=1),
            _f("method", "检测方法", "choice", choices=["试块", "回弹", "钻芯"]),
            _f("measured_mpa", "实测强度（MPa）", "number", min=0),
            _f("result", "检测结果", "choice", choices=PASS_FAIL, required=True),
            _f("fee_yuan", "检测费用（元）", "number", min=0),
        ],
    },
    "plant_patrol": {
        "label": "执法检查巡查商品混凝土公司", "subject": "plant", "hint": "每家搅拌站每月至少巡查 1 次",
        "fields": [_f("findings_text", "检查发现", "text")],
    },
    "plant_inspection": {
        "label": "检查商品混凝土公司", "subject": "plant", "hint": "记录检查项目和结论",
        "fields": [
            _f("items_checked", "检查项目", "text"),
            _f("result", "检查结论", "choice", choices=PASS_FAIL, required=True),
        ],
    },
    "leaflets": {
        "label": "发放质量安全宣传资料", "subject": "any", "hint": "在工地、搅拌站或集市等地点发放，填写份数",
        "fields": [
            _f("copies", "发放份数", "int", min=1, required=True),
            _f("topic", "宣传主题", "text"),
        ],
    },
    "completion_filing": {
        "label": "竣工验收备案", "subject": "site", "hint": "应在竣工验收合格后 15 日内备案",
        "fields": [
            _f("accepted_on", "竣工验收日期", "date", required=True),
            _f("filed_on", "备案日期", "date", required=True, not_before="accepted_on"),
            _f("result", "验收结论", "choice", choices=PASS_FAIL, required=True),
        ],
    },
    "construction_permit": {
        "label": "办理施工许可证", "subject": "site", "hint": "记录申请、发证日期和是否符合办证条件",
        "fields": [
            _f("applied_on", "申请日期", "date"),
            _f("issued_on", "发证日期", "date", required=True, not_before="applied_on"),
            _f("permit_no", "施工许可证编号", "text"),
            _f("conditions_met", "办证条件", "choice", choices=["符合", "不符合"], required=True),
        ],
    },
    "accident": {
        "label": "安全事故", "subject": "site", "hint": "事故发生时间填在“发生时间”",
        "fields": [
            _f("severity", "事故等级", "choice", choices=["一般", "较大", "重大", "特别重大"], required=True),
            _f("deaths", "死亡人数", "int", min=0, default=0),
            _f("injuries", "受伤人数", "int", min=0, default=0),
        ],
    },
    "rectification_review": {
        "label": "整改复查", "subject": "site", "hint": "选择要复查的整改通知书；整改到位则销号",
        "fields": [
            _f("notice_event_id", "复查的整改通知书", "text", required=True),
            _f("closed", "已整改到位（销号）", "bool", default=False),
        ],
    },
}

# Kinds whose events can issue a rectification notice that a review later closes.
NOTICE_KINDS = ("safety_patrol", "enforcement_patrol")
TOP_LEVEL = ["id", "kind", "occurred_at", "site_id", "plant_id", "campaign_id", "campaign", "place",
             "inspector_ids", "lat", "lon", "accuracy_m", "note", "fields"]
LABELS = {"occurred_at": "发生时间", "site_id": "工地", "plant_id": "商品混凝土公司", "campaign_id": "大检查",
          "place": "地点", "inspector_ids": "监督员", "lat": "纬度", "lon": "经度", "accuracy_m": "定位精度（米）",
          "note": "备注"}


def kind_list() -> list[dict]:
    """KINDS as a list of self-describing dicts (for JSON and templates)."""
    return [{"kind": k, **v, "subject_label": SUBJECTS[v["subject"]]} for k, v in KINDS.items()]


def field_label(kind: str, name: str) -> str:
    """The zh label of a top-level or kind-specific field."""
    for f in KINDS.get(kind, {}).get("fields", []):
        if f["name"] == name:
            return f["label"]
    return LABELS.get(name, name)


# --- parsing single values ----------------------------------------------------------------------

def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _int(value) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    return int(str(value).strip())


def _number(value) -> float:
    if isinstance(value, bool):
        raise ValueError
    number = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
    if not math.isfinite(number):
        raise ValueError
    return number


TRUE = {"1", "true", "yes", "on", "是", "y"}
FALSE = {"0", "false", "no", "off", "否", "n", ""}


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError


def _parse_value(spec: dict, value):
    """The typed value of one field; ValueError with a zh message when it does not fit."""
    kind, label = spec["type"], spec["label"]
    try:
        if kind == "int":
            parsed = _int(value)
        elif kind == "number":
            parsed = _number(value)
        elif kind == "date":
            parsed = date.fromisoformat(str(value).strip()).isoformat()
        elif kind == "bool":
            parsed = _bool(value)
        else:
            parsed = str(value).strip()
    except (ValueError, TypeError):
        raise ValueError({"int": f"{label}须为整数", "number": f"{label}须为数字", "date": f"{label}须为日期，格式 YYYY-MM-DD",
                          "bool": f"{label}须为 是 或 否"}[kind]) from None
    if kind == "choice" and parsed not in spec["choices"]:
        raise ValueError(f"{label}须为 {'、'.join(spec['choices'])} 之一")
    if kind == "text" and len(parsed) > MAX_TEXT:
        raise ValueError(f"{label}不能超过 {MAX_TEXT} 字")
    if spec["min"] is not None and parsed < spec["min"]:
        raise ValueError(f"{label}不能小于 {_fmt(spec['min'])}" if spec["min"] != 1 or kind != "int" else f"{label}须大于 0")
    if spec["max"] is not None and parsed > spec["max"]:
        raise ValueError(f"{label}不能大于 {_fmt(spec['max'])}")
    return parsed


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def clean_fields(kind: str, raw: dict | None) -> tuple[dict, dict]:
    """(typed kind-specific fields, errors keyed 'fields.<name>'); blanks are dropped, defaults filled."""
    raw = raw if isinstance(raw, dict) else {}
    specs = {f["name"]: f for f in KINDS[kind]["fields"]}
    out, errors = {}, {}
    for name in raw:
        if name not in specs:
            errors[f"fields.{name}"] = "不是该类型记录的字段"
    for name, spec in specs.items():
        value = raw.get(name)
        if _blank(value) and not (spec["type"] == "bool" and value == ""):
            if spec["default"] is not None:
                out[name] = spec["default"]
            continue
        try:
            out[name] = _parse_value(spec, value)
        except ValueError as exc:
            errors[f"fields.{name}"] = str(exc.args[0])
    for name, spec in specs.items():
        key = f"fields.{name}"
        if key in errors or name in out:
            continue
        unless = spec["required_unless"]
        if spec["required"] or (spec["required_with"] and spec["required_with"] in out) \
                or (unless and out.get(unless[0], unless[1]) != unless[1]):
            errors[key] = f"请填写{spec['label']}"
    for name, spec in specs.items():
        other = spec["not_before"]
        if other and name in out and other in out and out[name] < out[other]:
            errors[f"fields.{name}"] = f"{spec['label']}不能早于{specs[other]['label']}"
    return out, errors


# --- the whole submission -----------------------------------------------------------------------

def parse_occurred(value, *, now: datetime, tz) -> tuple[datetime | None, str | None]:
    """(station-local datetime, None) or (None, zh message); naive input is station-local time."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = "" if value is None else str(value).strip()
        if not text:
            return None, "请填写发生时间"
        try:
            dt = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            return None, "发生时间格式不对，应为 2021-03-31T09:30（可带时区）"
        if "T" not in text.replace(" ", "T", 1):
            return None, "发生时间须包含时刻，如 2021-03-31T09:30"
    local = to_local(dt, tz)
    if local > now + FUTURE_ALLOWANCE:
        return None, "发生时间不能晚于现在（允许 10 分钟误差），请检查手机时间"
    if local < EARLIEST:
        return None, "发生时间过早，请检查日期"
    return local, None


def _optional_int(raw: dict, key: str, label: str, errors: dict) -> int | None:
    if _blank(raw.get(key)):
        return None
    try:
        return _int(raw[key])
    except (ValueError, TypeError):
        errors[key] = f"{label}编号须为整数"
        return None


def _optional_number(raw: dict, key: str, low: float, high: float, message: str, errors: dict) -> float | None:
    if _blank(raw.get(key)):
        return None
    try:
        value = _number(raw[key])
    except (ValueError, TypeError):
        errors[key] = message
        return None
    if not low <= value <= high:
        errors[key] = message
        return None
    return value


def _clean_id(value, errors: dict) -> str | None:
    try:
        return str(uuid.UUID(str(value).strip()))
    except (ValueError, TypeError, AttributeError):
        errors["id"] = "记录编号（id）须为 UUID" if not _blank(value) else "缺少记录编号（id）"
        return None


def _clean_campaign(raw: dict, errors: dict) -> dict | None:
    """{'id': n} or {'name', 'start_on', 'end_on'} from campaign_id or a campaign object."""
    cid = _optional_int(raw, "campaign_id", "大检查", errors)
    if cid is not None:
        return {"id": cid}
    obj = raw.get("campaign")
    if not obj:
        return None
    if not isinstance(obj, dict):
        errors["campaign"] = "大检查须包含名称、开始和结束日期"
        return None
    name = str(obj.get("name") or "").strip()
    if not name:
        errors["campaign.name"] = "请填写大检查名称"
    dates = {}
    for key, label in (("start_on", "开始日期"), ("end_on", "结束日期")):
        try:
            dates[key] = date.fromisoformat(str(obj.get(key) or "").strip()).isoformat()
        except ValueError:
            errors[f"campaign.{key}"] = f"请填写大检查{label}，格式 YYYY-MM-DD"
    if len(dates) == 2 and dates["end_on"] < dates["start_on"]:
        errors["campaign.end_on"] = "大检查结束日期不能早于开始日期"
    return {"name": name, **dates}


def _clean_inspectors(value, errors: dict) -> list[int] | None:
    if _blank(value) or value == []:
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    try:
        return sorted({_int(i) for i in items if not _blank(i)}) or None
    except (ValueError, TypeError):
        errors["inspector_ids"] = "监督员编号须为整数"
        return None


def _clean_subject(kind: str, sub: dict, errors: dict) -> None:
    """Which of site, plant, campaign and place a kind needs or refuses."""
    subject = KINDS[kind]["subject"]
    if subject in ("site", "site_campaign") and sub["site_id"] is None and "site_id" not in errors:
        errors["site_id"] = "请选择工地"
    if subject == "plant" and sub["plant_id"] is None and "plant_id" not in errors:
        errors["plant_id"] = "请选择商品混凝土公司"
    if subject == "plant" and sub["site_id"] is not None:
        errors["site_id"] = "该类型记录针对商品混凝土公司，不关联工地"
    if subject in ("site", "site_campaign") and sub["plant_id"] is not None and not KINDS[kind].get("plant_optional"):
        errors["plant_id"] = "该类型记录针对工地，不关联商品混凝土公司"
    if subject == "any" and sub["site_id"] is None and sub["plant_id"] is None and not sub["place"]:
        errors["place"] = "请选择工地或搅拌站，或填写发放地点"
    if subject == "any" and sub["site_id"] is not None and sub["plant_id"] is not None:
        errors["plant_id"] = "工地和搅拌站只能选一个"
    if subject != "any" and sub["place"]:
        errors["place"] = "只有宣传资料发放可以填写地点"
    if subject == "site_campaign" and sub["campaign"] is None and not any(k.startswith("campaign") for k in errors):
        errors["campaign_id"] = "请选择所属的大检查"
    if subject != "site_campaign" and sub["campaign"] is not None:
        errors["campaign_id"] = "只有大检查记录属于大检查"


def clean(raw: dict, *, now: datetime, tz) -> dict:
    """Check the form of a submission without the database; the normalized submission, or InvalidInput."""
    sub, errors = _clean(raw, now=now, tz=tz)
    if errors:
        raise InvalidInput(errors)
    return sub


def _clean(raw: dict, *, now: datetime, tz) -> tuple[dict, dict]:
    """(normalized submission, errors): what clean checks, without raising, so database checks can add theirs."""
    if not isinstance(raw, dict):
        raise InvalidInput({"body": "提交内容须为 JSON 对象"})
    errors: dict[str, str] = {}
    kind = raw.get("kind")
    if kind not in KINDS:
        errors["kind"] = "未知的记录类型" if kind else "请选择记录类型"
    sub = {"id": _clean_id(raw.get("id"), errors), "kind": kind}
    occurred, message = parse_occurred(raw.get("occurred_at"), now=now, tz=tz)
    if message:
        errors["occurred_at"] = message
    sub["occurred_at"] = occurred.isoformat(timespec="seconds") if occurred else None
    sub["site_id"] = _optional_int(raw, "site_id", "工地", errors)
    sub["plant_id"] = _optional_int(raw, "plant_id", "搅拌站", errors)
    sub["campaign"] = _clean_campaign(raw, errors)
    sub["place"] = str(raw.get("place") or "").strip()[:200] or None
    sub["inspector_ids"] = _clean_inspectors(raw.get("inspector_ids"), errors)
    sub["lat"] = _optional_number(raw, "lat", -90, 90, "纬度须为 -90 到 90 之间的数字", errors)
    sub["lon"] = _optional_number(raw, "lon", -180, 180, "经度须为 -180 到 180 之间的数字", errors)
    sub["accuracy_m"] = _optional_number(raw, "accuracy_m", 0, 1e7, "定位精度须为不小于 0 的数字（米）", errors)
    if (sub["lat"] is None) != (sub["lon"] is None) and not {"lat", "lon"} & errors.keys():
        errors["lon" if sub["lon"] is None else "lat"] = "经度和纬度须同时提供"
    note = "" if raw.get("note") is None else str(raw.get("note")).strip()
    if len(note) > MAX_TEXT:
        errors["note"] = f"备注不能超过 {MAX_TEXT} 字"
    sub["note"] = note
    if kind in KINDS:
        sub["fields"], field_errors = clean_fields(kind, raw.get("fields"))
        errors.update(field_errors)
        _clean_subject(kind, sub, errors)
    return sub, errors


def content_hash(sub: dict, default_inspectors: list[int]) -> str:
    """SHA-256 of the normalized submission: the same content resent hashes the same."""
    content = {k: sub[k] for k in ("kind", "occurred_at", "site_id", "plant_id", "campaign", "place", "lat", "lon",
                                   "accuracy_m", "note", "fields")}
    content["inspector_ids"] = sub["inspector_ids"] or sorted(default_inspectors)
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _exists(db: Database, table: str, row_id: int) -> bool:
    return one(db, f"SELECT 1 AS x FROM {table} WHERE id = ?", [row_id]) is not None


def _check_references(db: Database, sub: dict, user: dict, kept: frozenset[int] = frozenset(),
                      errors: dict | None = None) -> dict:
    """Subject, campaign, inspectors and notice exist; fills inspector_ids and campaign_id. InvalidInput if not.

    `kept` are inspector ids already on the event being edited: they stay valid after a user is deactivated.
    `errors` from clean are reported together with these, so a form shows every problem at once.
    """
    errors = dict(errors or {})
    if sub["site_id"] is not None and "site_id" not in errors and not _exists(db, "sites", sub["site_id"]):
        errors["site_id"] = "工地不存在"
    if sub["plant_id"] is not None and "plant_id" not in errors and not _exists(db, "plants", sub["plant_id"]):
        errors["plant_id"] = "商品混凝土公司不存在"
    campaign = sub["campaign"] if not any(k.startswith("campaign") for k in errors) else None
    sub["campaign_id"] = None
    if campaign and "id" in campaign:
        row = one(db, "SELECT id, name, start_on, end_on FROM campaigns WHERE id = ?", [campaign["id"]])
        if not row:
            errors["campaign_id"] = "大检查不存在"
        sub["campaign_id"] = campaign["id"]
        sub["campaign_row"] = row
    elif campaign:
        row = one(db, "SELECT id, name, start_on, end_on FROM campaigns WHERE name = ? AND start_on = ? AND end_on = ?",
                  [campaign["name"], campaign["start_on"], campaign["end_on"]])
        sub["campaign_id"] = row["id"] if row else None
        sub["campaign_row"] = row or {"id": None, **campaign}
    ids = sub["inspector_ids"] or [user["id"]]
    found = {r["id"] for r in db.query(
        f"SELECT id FROM users WHERE active = 1 AND role IN ('inspector', 'chief') AND id IN ({','.join('?' * len(ids))})", ids)}
    if set(ids) - found - kept and "inspector_ids" not in errors:
        errors["inspector_ids"] = "监督员不存在或已停用"
    sub["inspector_ids"] = sorted(ids)
    if sub["kind"] == "rectification_review" and "fields.notice_event_id" not in errors:
        _check_notice(db, sub, errors)
    if errors:
        raise InvalidInput(errors)
    return sub


def _check_notice(db: Database, sub: dict, errors: dict) -> None:
    notice_id = sub.get("fields", {}).get("notice_event_id", "")
    row = one(db, "SELECT id, kind, site_id, data FROM events WHERE id = ?", [notice_id])
    if not row or row["kind"] not in NOTICE_KINDS or not json.loads(row["data"]).get("notice_no"):
        errors["fields.notice_event_id"] = "找不到该整改通知书"
    elif sub["site_id"] is not None and row["site_id"] != sub["site_id"]:
        errors["fields.notice_event_id"] = "该整改通知书不属于所选工地"


def validate(db: Database, raw: dict, *, user: dict, now: datetime, tz, kept: frozenset[int] = frozenset()) -> dict:
    """The normalized submission after form checks (clean) and reference checks against the database."""
    sub, errors = _clean(raw, now=now, tz=tz)
    return _check_references(db, sub, user, kept, errors)


# --- warnings ------------------------------------------------------------------------------------

def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(a))


def warnings_for(db: Database, event: dict) -> list[str]:
    """Soft checks (never a block): poor GPS accuracy, far from the subject's recorded location, outside the campaign."""
    out = []
    if event.get("accuracy_m") is not None and event["accuracy_m"] > POOR_ACCURACY_M:
        out.append(f"定位精度较差（约 {event['accuracy_m']:.0f} 米），位置仅供参考")
    subject = None
    if event.get("site_id"):
        subject = one(db, "SELECT lat, lon, '工地' AS what FROM sites WHERE id = ?", [event["site_id"]])
    elif event.get("plant_id"):
        subject = one(db, "SELECT lat, lon, '搅拌站' AS what FROM plants WHERE id = ?", [event["plant_id"]])
    if subject and subject["lat"] is not None and event.get("lat") is not None:
        distance = haversine_m(event["lat"], event["lon"], subject["lat"], subject["lon"])
        if distance > FAR_FROM_SUBJECT_M:
            out.append(f"记录位置距{subject['what']}登记位置约 {distance / 1000:.1f} 公里，请确认是否选对了{subject['what']}")
    campaign = event.get("campaign")
    if campaign and campaign.get("start_on") and not campaign["start_on"] <= event["day"] <= campaign["end_on"]:
        out.append(f"检查日期不在大检查“{campaign['name']}”期间（{campaign['start_on']} 至 {campaign['end_on']}）内")
    return out


# --- storing -------------------------------------------------------------------------------------

@contextmanager
def _write(db: Database):
    """A transaction that takes the write lock at once (BEGIN IMMEDIATE), or a savepoint inside an open one."""
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    with WRITE_LOCK:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.conn.rollback()
            raise
        db.conn.execute("COMMIT")


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


def _period_columns(occurred_at: str, received_at: datetime) -> dict:
    local = datetime.fromisoformat(occurred_at)
    return {"day": local.date().isoformat(), "month": local.strftime("%Y-%m"),
            "late": int(received_at - local > LATE_AFTER)}


def _campaign_id(db: Database, row: dict, now: datetime) -> int:
    """Find or create a campaign by name and dates."""
    if row.get("id"):
        return row["id"]
    db.execute("INSERT OR IGNORE INTO campaigns (name, start_on, end_on, created_at) VALUES (?, ?, ?, ?)",
               [row["name"], row["start_on"], row["end_on"], _iso(now)])
    return one(db, "SELECT id FROM campaigns WHERE name = ? AND start_on = ? AND end_on = ?",
               [row["name"], row["start_on"], row["end_on"]])["id"]


def _insert(db: Database, sub: dict, digest: str, user: dict, now: datetime, received_at: datetime | None) -> None:
    received = received_at or now
    if sub.get("campaign_row"):
        sub["campaign_id"] = _campaign_id(db, sub["campaign_row"], now)
    row = {k: sub[k] for k in ("id", "kind", "occurred_at", "site_id", "plant_id", "campaign_id", "place", "lat",
                               "lon", "accuracy_m", "note")}
    row.update(_period_columns(sub["occurred_at"], received), received_at=_iso(received), recorded_by=user["id"],
               data=json.dumps(sub["fields"], ensure_ascii=False, sort_keys=True), content_hash=digest,
               updated_at=_iso(received))
    db.execute(f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    for uid in sub["inspector_ids"]:
        db.execute("INSERT INTO event_inspectors (event_id, user_id) VALUES (?, ?)", [sub["id"], uid])


def _resend(db: Database, event_id: str, digest: str) -> tuple[dict, bool, list[str]] | None:
    """The answer to a resend of a stored id: (stored, False, warnings), Conflict when content differs, None if new."""
    stored = one(db, "SELECT content_hash FROM events WHERE id = ?", [event_id])
    if stored is None:
        return None
    event = load(db, event_id)
    if stored["content_hash"] != digest:
        raise Conflict("该记录编号已用于内容不同的另一条记录", stored=event)
    return event, False, warnings_for(db, event)


def create(db: Database, raw: dict, *, user: dict, now: datetime, tz,
           received_at: datetime | None = None) -> tuple[dict, bool, list[str]]:
    """Store a new event, idempotent on its client id: (event, created, warnings); Conflict on other content."""
    sub, errors = _clean(raw, now=now, tz=tz)
    if errors:
        _check_references(db, sub, user, errors=errors)  # raises, with every message at once
    digest = content_hash(sub, [user["id"]])
    # A resend is answered before reference checks, so an acknowledged event stays acknowledged
    # even if, say, one of its inspectors has since been deactivated.
    answer = _resend(db, sub["id"], digest)
    if answer:
        return answer
    _check_references(db, sub, user)
    try:
        with _write(db):
            answer = _resend(db, sub["id"], digest)  # another request may have stored it while we checked
            if answer:
                return answer
            _insert(db, sub, digest, user, now, received_at)
    except sqlite3.IntegrityError:
        # Two identical requests racing on the primary key: the loser re-reads and compares.
        answer = _resend(db, sub["id"], digest)
        if not answer:
            raise
        return answer
    event = load(db, sub["id"])
    return event, True, warnings_for(db, event)


# --- reading -------------------------------------------------------------------------------------

EVENT_SELECT = (
    "SELECT e.*, s.name AS site_name, p.name AS plant_name, c.name AS campaign_name, c.start_on AS campaign_start_on, "
    "c.end_on AS campaign_end_on, u.display_name AS recorded_by_name, "
    "(SELECT group_concat(iu.display_name, '、') FROM event_inspectors ei JOIN users iu ON iu.id = ei.user_id "
    " WHERE ei.event_id = e.id) AS inspector_names "
    "FROM events e LEFT JOIN sites s ON s.id = e.site_id LEFT JOIN plants p ON p.id = e.plant_id "
    "LEFT JOIN campaigns c ON c.id = e.campaign_id LEFT JOIN users u ON u.id = e.recorded_by ")


def _shape(row: dict) -> dict:
    """A stored row as the API's event JSON."""
    event = {k: v for k, v in row.items() if not k.startswith("campaign_") and k not in ("data", "content_hash")}
    event["campaign_id"] = row["campaign_id"]
    event["campaign"] = ({"id": row["campaign_id"], "name": row["campaign_name"], "start_on": row["campaign_start_on"],
                          "end_on": row["campaign_end_on"]} if row["campaign_id"] else None)
    event["fields"] = json.loads(row["data"])
    event["kind_label"] = KINDS.get(row["kind"], {}).get("label", row["kind"])
    event["late"], event["voided"] = bool(row["late"]), bool(row["voided"])
    return event


def load(db: Database, event_id: str) -> dict:
    """An event as the API returns it (with inspector ids); NotFound when missing."""
    row = one(db, EVENT_SELECT + "WHERE e.id = ?", [event_id])
    if not row:
        raise NotFound("找不到该记录")
    event = _shape(row)
    event["inspector_ids"] = [r["user_id"] for r in db.query(
        "SELECT user_id FROM event_inspectors WHERE event_id = ? ORDER BY user_id", [event_id])]
    return event




def get_event(db: Database, event_id: str) -> dict:
    """An event with inspectors (ids and names), photos and revision history (each with what changed)."""
    event = load(db, event_id)
    event["inspectors"] = list(db.query(
        "SELECT u.id, u.display_name FROM event_inspectors ei JOIN users u ON u.id = ei.user_id "
        "WHERE ei.event_id = ? ORDER BY u.display_name", [event_id]))
    event["photos"] = photos.for_event(db, event_id)
    event["revisions"] = revisions(db, event)
    return event


def snapshot(event: dict) -> dict:
    """The editable state of an event, as kept in event_revisions.before."""
    keys = ("kind", "occurred_at", "site_id", "plant_id", "campaign_id", "place", "inspector_ids", "lat", "lon",
            "accuracy_m", "note", "fields", "voided", "void_reason", "version")
    return {k: event.get(k) for k in keys}


def diff(kind: str, before: dict, after: dict) -> list[dict]:
    """What changed between two snapshots: [{field, label, before, after}]."""
    out = []
    for key in ("occurred_at", "site_id", "plant_id", "campaign_id", "place", "inspector_ids", "lat", "lon",
                "accuracy_m", "note"):
        if before.get(key) != after.get(key):
            out.append({"field": key, "label": field_label(kind, key), "before": before.get(key), "after": after.get(key)})
    old, new = before.get("fields") or {}, after.get("fields") or {}
    for spec in KINDS.get(kind, {}).get("fields", []):
        name = spec["name"]
        if old.get(name) != new.get(name):
            out.append({"field": f"fields.{name}", "label": spec["label"], "before": old.get(name), "after": new.get(name)})
    return out


def revisions(db: Database, event: dict) -> list[dict]:
    """The history of an event, oldest first; each revision says who changed what, when and why."""
    rows = list(db.query(
        "SELECT r.*, u.display_name AS changed_by_name FROM event_revisions r LEFT JOIN users u ON u.id = r.changed_by "
        "WHERE r.event_id = ? ORDER BY r.version", [event["id"]]))
    states = [json.loads(r["before"]) for r in rows] + [snapshot(event)]
    for i, r in enumerate(rows):
        r["before"] = states[i]
        r["changes"] = diff(event["kind"], states[i], states[i + 1])
    return rows


def _filters(kind=None, site_id=None, plant_id=None, date_from=None, date_to=None, user_id=None,
             include_voided=True, month=None) -> tuple[str, list]:
    where, params = [], []
    for column, value in (("e.kind", kind), ("e.site_id", site_id), ("e.plant_id", plant_id), ("e.month", month)):
        if value not in (None, ""):
            where.append(f"{column} = ?")
            params.append(value)
    if date_from:
        where.append("e.day >= ?")
        params.append(str(date_from))
    if date_to:
        where.append("e.day <= ?")
        params.append(str(date_to))
    if user_id is not None:
        where.append("(e.recorded_by = ? OR e.id IN (SELECT event_id FROM event_inspectors WHERE user_id = ?))")
        params += [user_id, user_id]
    if not include_voided:
        where.append("e.voided = 0")
    return ("WHERE " + " AND ".join(where) + " ") if where else "", params


def list_events(db: Database, *, limit: int = 50, offset: int = 0, **filters) -> list[dict]:
    """Events matching the filters (kind, site_id, plant_id, date_from, date_to, user_id, include_voided, month), newest first."""
    where, params = _filters(**filters)
    rows = db.query(EVENT_SELECT + where + "ORDER BY e.occurred_at DESC, e.received_at DESC LIMIT ? OFFSET ?",
                    [*params, limit, offset])
    return [_shape(r) for r in rows]


def count_events(db: Database, **filters) -> int:
    """How many events match the same filters as list_events."""
    where, params = _filters(**filters)
    return one(db, "SELECT count(*) AS n FROM events e " + where, params)["n"]


def open_notices(db: Database, site_id: int | None = None) -> list[dict]:
    """Not-voided notices (整改通知书) without a closing review yet, oldest deadline first."""
    rows = db.query(
        EVENT_SELECT + "WHERE e.kind IN ('safety_patrol', 'enforcement_patrol') AND e.voided = 0 "
        "AND json_extract(e.data, '$.notice_no') IS NOT NULL AND (? IS NULL OR e.site_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM events r WHERE r.kind = 'rectification_review' AND r.voided = 0 "
        " AND json_extract(r.data, '$.notice_event_id') = e.id AND json_extract(r.data, '$.closed') = 1) "
        "ORDER BY json_extract(e.data, '$.notice_deadline')", [site_id, site_id])
    return [_shape(r) for r in rows]


def reviews_of(db: Database, notice_id: str) -> list[dict]:
    """The rectification reviews (voided included) that refer to a notice, oldest first."""
    rows = db.query(EVENT_SELECT + "WHERE e.kind = 'rectification_review' AND json_extract(e.data, '$.notice_event_id') = ? "
                    "ORDER BY e.occurred_at", [notice_id])
    return [_shape(r) for r in rows]


# --- edit and void -------------------------------------------------------------------------------

def can_change(event: dict, user: dict) -> bool:
    """The chief, the recorder or one of the event's inspectors may edit or void it."""
    if user["role"] == "chief" or event["recorded_by"] == user["id"]:
        return True
    return user["role"] == "inspector" and user["id"] in event["inspector_ids"]


def _changeable(db: Database, event_id: str, user: dict) -> dict:
    event = load(db, event_id)
    if not can_change(event, user):
        raise Forbidden()
    if event["voided"]:
        raise InvalidInput({"voided": "该记录已作废，不能再修改"})
    return event


def _revise(db: Database, event: dict, action: str, user: dict, reason: str, now: datetime) -> None:
    db.execute("INSERT INTO event_revisions (event_id, version, changed_at, changed_by, action, reason, before) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)",
               [event["id"], event["version"], _iso(now), user["id"], action, reason,
                json.dumps(snapshot(event), ensure_ascii=False, sort_keys=True)])


def as_raw(event: dict) -> dict:
    """An event in submission form (for re-validation and for prefilled edit forms)."""
    raw = {k: event.get(k) for k in TOP_LEVEL if k not in ("campaign", "fields")}
    raw["fields"] = dict(event["fields"])
    return raw


def merge(event: dict, changes: dict) -> dict:
    """The submission an edit produces: changes override the event; `fields` are merged (blank removes one)."""
    raw = as_raw(event)
    for key, value in changes.items():
        if key == "fields" and isinstance(value, dict):
            raw["fields"].update(value)
        elif key in TOP_LEVEL and key not in ("id", "kind"):
            raw[key] = value
    if changes.get("campaign") and "campaign_id" not in changes:
        raw["campaign_id"] = None
    return raw


def edit(db: Database, event_id: str, changes: dict, *, user: dict, now: datetime, tz, reason: str = "") -> dict:
    """Apply a correction; the previous state goes to event_revisions and the version goes up."""
    event = _changeable(db, event_id, user)
    if changes.get("kind") not in (None, event["kind"]):
        raise InvalidInput({"kind": "记录类型不能修改；如类型选错，请作废后重新记录"})
    sub = validate(db, merge(event, changes), user={"id": event["recorded_by"]}, now=now, tz=tz,
                   kept=frozenset(event["inspector_ids"]))
    with _write(db):
        current = load(db, event_id)
        if current["version"] != event["version"]:
            raise Conflict("该记录刚被其他人修改，请刷新后重试", stored=current)
        if sub.get("campaign_row"):
            sub["campaign_id"] = _campaign_id(db, sub["campaign_row"], now)
        after = {**snapshot(event), **{k: sub[k] for k in ("occurred_at", "site_id", "plant_id", "campaign_id", "place",
                                                            "inspector_ids", "lat", "lon", "accuracy_m", "note", "fields")}}
        if not diff(event["kind"], snapshot(event), after):
            return event
        _revise(db, event, "edit", user, str(reason or "").strip(), now)
        # content_hash is deliberately left as first submitted: a phone that resends its original
        # submission after a correction must get 200 (already stored), not 409. The hash identifies
        # the submission, not the current state; the current state lives in the row and its history.
        periods = _period_columns(sub["occurred_at"], datetime.fromisoformat(event["received_at"]))
        db.execute(
            "UPDATE events SET occurred_at = ?, day = ?, month = ?, late = ?, site_id = ?, plant_id = ?, campaign_id = ?, "
            "place = ?, lat = ?, lon = ?, accuracy_m = ?, note = ?, data = ?, version = version + 1, updated_at = ? "
            "WHERE id = ?",
            [sub["occurred_at"], periods["day"], periods["month"], periods["late"], sub["site_id"], sub["plant_id"],
             sub["campaign_id"], sub["place"], sub["lat"], sub["lon"], sub["accuracy_m"], sub["note"],
             json.dumps(sub["fields"], ensure_ascii=False, sort_keys=True), _iso(now), event_id])
        db.execute("DELETE FROM event_inspectors WHERE event_id = ?", [event_id])
        for uid in sub["inspector_ids"]:
            db.execute("INSERT INTO event_inspectors (event_id, user_id) VALUES (?, ?)", [event_id, uid])
    return load(db, event_id)


def void(db: Database, event_id: str, *, user: dict, reason: str, now: datetime) -> dict:
    """Void an event with a reason; it stays visible, kept in the history, and counts nowhere."""
    reason = str(reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": "请填写作废原因"})
    if len(reason) > MAX_TEXT:
        raise InvalidInput({"reason": f"作废原因不能超过 {MAX_TEXT} 字"})
    event = _changeable(db, event_id, user)
    with _write(db):
        _revise(db, event, "void", user, reason, now)
        db.execute("UPDATE events SET voided = 1, void_reason = ?, voided_at = ?, voided_by = ?, version = version + 1, "
                   "updated_at = ? WHERE id = ? AND voided = 0", [reason, _iso(now), user["id"], _iso(now), event_id])
    return load(db, event_id)


_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_event_id(text: str) -> bool:
    """Whether text looks like a canonical event UUID."""
    return bool(_ID_RE.match(text or ""))
