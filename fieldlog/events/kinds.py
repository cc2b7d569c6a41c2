"""The event kinds as data (SPEC section 3): each kind's fields, its subject and the labels a person reads."""

from __future__ import annotations

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


# Per subject type: the subjects its events are about (picked from the phone's subject list), and the
# other subject fields it takes. A kind with plant_optional also takes a plant beside its site.
SUBJECT_TYPES = {
    "site": {"picked": ("site",), "extra": ()},
    "plant": {"picked": ("plant",), "extra": ()},
    "any": {"picked": ("site", "plant"), "extra": ("place",)},
    "site_campaign": {"picked": ("site",), "extra": ("campaign_id",)},
}


def pickable(subject: str) -> tuple[str, ...]:
    """The subjects ('site', 'plant') the phone's subject list offers for a subject type."""
    return SUBJECT_TYPES[subject]["picked"]


def subject_fields(kind: str) -> tuple[str, ...]:
    """The subject fields (site_id, plant_id, campaign_id, place) an event of this kind may carry."""
    spec = KINDS[kind]
    picked = tuple(f"{p}_id" for p in pickable(spec["subject"]))
    optional = ("plant_id",) if spec.get("plant_optional") else ()
    return picked + optional + SUBJECT_TYPES[spec["subject"]]["extra"]


def kinds_about(subject: str) -> tuple[str, ...]:
    """The kinds whose events can be about a subject ('site' or 'plant'), in catalogue order."""
    return tuple(k for k in KINDS if f"{subject}_id" in subject_fields(k))


def kind_list() -> list[dict]:
    """KINDS as a list of self-describing dicts (for JSON and templates)."""
    return [{"kind": k, **v, "subject_label": SUBJECTS[v["subject"]]} for k, v in KINDS.items()]


def field_label(kind: str, name: str) -> str:
    """The zh label of a top-level or kind-specific field."""
    for f in KINDS.get(kind, {}).get("fields", []):
        if f["name"] == name:
            return f["label"]
    return LABELS.get(name, name)

