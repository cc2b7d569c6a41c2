"""The message catalogue: every sentence and label that fieldlog's Python code shows a user, in zh-CN, keyed in English.

Templates hold the text of their own pages. Python code asks here by key: `t("events.site_required")`, with
`{placeholders}` filled from keyword arguments. States, grades and orders are English enum values in code
and in the database; `label(group, value)` gives the Chinese name a page shows. One catalogue keeps the
wording consistent and lets a reviewer read every message in one place.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # --- common -------------------------------------------------------------------------------------
    "common.not_found": "找不到该记录",

    # --- events (kinds, validation, storing, queries, picker) ---------------------------------------
    # (events section: keys "events.*", "kinds.*", "fields.*")
    # kinds: "kinds.<kind>.label" and ".hint"; the subject types "kinds.subject.<type>"
    "kinds.safety_patrol.label": "安全日常巡查",
    "kinds.safety_patrol.hint": "记录本次巡查发现的隐患；下发整改通知书时填写编号和期限",
    "kinds.enforcement_patrol.label": "执法检查巡查工地",
    "kinds.enforcement_patrol.hint": "每个在建工地每月至少巡查 2 次",
    "kinds.major_inspection.label": "质量安全生产大检查及季度考评",
    "kinds.major_inspection.hint": "选择所属的大检查（按结束日期计入季度）",
    "kinds.concrete_sampling.label": "商品混凝土监督抽测",
    "kinds.concrete_sampling.hint": "记录抽测结果；可选择供应混凝土的搅拌站",
    "kinds.plant_patrol.label": "执法检查巡查商品混凝土公司",
    "kinds.plant_patrol.hint": "每家搅拌站每月至少巡查 1 次",
    "kinds.plant_inspection.label": "检查商品混凝土公司",
    "kinds.plant_inspection.hint": "记录检查项目和结论",
    "kinds.leaflets.label": "发放质量安全宣传资料",
    "kinds.leaflets.hint": "在工地、搅拌站或集市等地点发放，填写份数",
    "kinds.completion_filing.label": "竣工验收备案",
    "kinds.completion_filing.hint": "应在竣工验收合格后 15 日内备案",
    "kinds.construction_permit.label": "办理施工许可证",
    "kinds.construction_permit.hint": "记录申请、发证日期和是否符合办证条件",
    "kinds.accident.label": "安全事故",
    "kinds.accident.hint": "事故发生时间填在“发生时间”",
    "kinds.rectification_review.label": "整改复查",
    "kinds.rectification_review.hint": "选择要复查的整改通知书；整改到位则销号",
    "kinds.subject.site": "工地",
    "kinds.subject.plant": "商品混凝土公司",
    "kinds.subject.any": "工地、搅拌站或地点",
    "kinds.subject.site_campaign": "工地（属于一次大检查）",
    # fields: "fields.<name>.label" (top-level and kind-specific), "fields.<name>.<kind>_label" where a kind
    # words it otherwise, "fields.<name>.hint"; the field types "fields.type.<type>"
    "fields.occurred_at.label": "发生时间",
    "fields.site_id.label": "工地",
    "fields.plant_id.label": "商品混凝土公司",
    "fields.campaign_id.label": "大检查",
    "fields.place.label": "地点",
    "fields.inspector_ids.label": "监督员",
    "fields.lat.label": "纬度",
    "fields.lon.label": "经度",
    "fields.accuracy_m.label": "定位精度（米）",
    "fields.note.label": "备注",
    "fields.finding.label": "最严重隐患",
    "fields.finding.hint": "重大事故隐患按国家判定标准认定",
    "fields.hazards_general.label": "一般隐患数",
    "fields.hazards_major.label": "重大隐患数",
    "fields.notice_no.label": "整改通知书编号",
    "fields.notice_deadline.label": "整改期限",
    "fields.findings_text.label": "检查发现",
    "fields.violations.label": "违法违规行为数",
    "fields.order.label": "处理措施",
    "fields.score.label": "考评得分",
    "fields.grade.label": "考评等级",
    "fields.strength_grade.label": "强度等级",
    "fields.specimens.label": "试件组数",
    "fields.method.label": "检测方法",
    "fields.measured_mpa.label": "实测强度（MPa）",
    "fields.result.label": "检测结果",
    "fields.result.plant_inspection_label": "检查结论",
    "fields.result.completion_filing_label": "验收结论",
    "fields.fee_yuan.label": "检测费用（元）",
    "fields.items_checked.label": "检查项目",
    "fields.copies.label": "发放份数",
    "fields.topic.label": "宣传主题",
    "fields.accepted_on.label": "竣工验收日期",
    "fields.filed_on.label": "备案日期",
    "fields.applied_on.label": "申请日期",
    "fields.issued_on.label": "发证日期",
    "fields.permit_no.label": "施工许可证编号",
    "fields.conditions_met.label": "办证条件",
    "fields.severity.label": "事故等级",
    "fields.deaths.label": "死亡人数",
    "fields.injuries.label": "受伤人数",
    "fields.notice_event_id.label": "复查的整改通知书",
    "fields.closed.label": "已整改到位（销号）",
    "fields.type.int": "整数",
    "fields.type.number": "数字",
    "fields.type.text": "文字",
    "fields.type.date": "日期",
    "fields.type.choice": "选项",
    "fields.type.bool": "是/否",
    # validation of a field
    "events.not_int": "{label}须为整数",
    "events.not_number": "{label}须为数字",
    "events.not_date": "{label}须为日期，格式 YYYY-MM-DD",
    "events.not_bool": "{label}须为 是 或 否",
    "events.not_a_choice": "{label}须为 {choices} 之一",
    "events.text_too_long": "{label}不能超过 {max} 字",
    "events.below_min": "{label}不能小于 {min}",
    "events.not_positive": "{label}须大于 0",
    "events.above_max": "{label}不能大于 {max}",
    "events.unknown_field": "不是该类型记录的字段",
    "events.field_required": "请填写{label}",
    "events.not_before": "{label}不能早于{other}",
    # validation of a submission
    "events.body_not_object": "提交内容须为 JSON 对象",
    "events.body_not_json": "提交内容不是有效的 JSON",
    "events.kind_unknown": "未知的记录类型",
    "events.kind_required": "请选择记录类型",
    "events.id_not_uuid": "记录编号（id）须为 UUID",
    "events.id_missing": "缺少记录编号（id）",
    "events.occurred_required": "请填写发生时间",
    "events.occurred_malformed": "发生时间格式不对，应为 2021-03-31T09:30（可带时区）",
    "events.occurred_needs_time": "发生时间须包含时刻，如 2021-03-31T09:30",
    "events.occurred_in_future": "发生时间不能晚于现在（允许 10 分钟误差），请检查手机时间",
    "events.occurred_too_early": "发生时间过早，请检查日期",
    "events.word_site": "工地",
    "events.word_plant": "搅拌站",
    "events.word_campaign": "大检查",
    "events.ref_not_int": "{label}编号须为整数",
    "events.campaign_malformed": "大检查须包含名称、开始和结束日期",
    "events.campaign_name_required": "请填写大检查名称",
    "events.campaign_start_on": "开始日期",
    "events.campaign_end_on": "结束日期",
    "events.campaign_date_required": "请填写大检查{label}，格式 YYYY-MM-DD",
    "events.campaign_ends_before_start": "大检查结束日期不能早于开始日期",
    "events.inspector_ids_not_int": "监督员编号须为整数",
    "events.site_id_not_for_kind": "该类型记录针对商品混凝土公司，不关联工地",
    "events.plant_id_not_for_kind": "该类型记录针对工地，不关联商品混凝土公司",
    "events.place_not_for_kind": "只有宣传资料发放可以填写地点",
    "events.campaign_id_not_for_kind": "只有大检查记录属于大检查",
    "events.site_required": "请选择工地",
    "events.plant_required": "请选择商品混凝土公司",
    "events.subject_or_place_required": "请选择工地或搅拌站，或填写发放地点",
    "events.site_and_plant": "工地和搅拌站只能选一个",
    "events.campaign_required": "请选择所属的大检查",
    "events.lat_range": "纬度须为 -90 到 90 之间的数字",
    "events.lon_range": "经度须为 -180 到 180 之间的数字",
    "events.accuracy_range": "定位精度须为不小于 0 的数字（米）",
    "events.lat_lon_together": "经度和纬度须同时提供",
    "events.note_too_long": "备注不能超过 {max} 字",
    "events.site_not_found": "工地不存在",
    "events.plant_not_found": "商品混凝土公司不存在",
    "events.campaign_not_found": "大检查不存在",
    "events.inspector_not_found": "监督员不存在或已停用",
    "events.notice_not_found": "找不到该整改通知书",
    "events.notice_other_site": "该整改通知书不属于所选工地",
    # soft warnings
    "events.poor_accuracy": "定位精度较差（约 {metres:.0f} 米），位置仅供参考",
    "events.far_from_subject": "记录位置距{what}登记位置约 {km:.1f} 公里，请确认是否选对了{what}",
    "events.outside_campaign": "检查日期不在大检查“{name}”期间（{start_on} 至 {end_on}）内",
    # storing, editing, voiding
    "events.id_conflict": "该记录编号已用于内容不同的另一条记录",
    "events.voided_no_change": "该记录已作废，不能再修改",
    "events.already_voided": "该记录已作废",
    "events.kind_unchangeable": "记录类型不能修改；如类型选错，请作废后重新记录",
    "events.edited_meanwhile": "该记录刚被其他人修改，请刷新后重试",
    "events.void_reason_required": "请填写作废原因",
    "events.void_reason_too_long": "作废原因不能超过 {max} 字",
    "events.saved_with_other_content": "这条记录已经保存过，内容与现在不同。如需更正请到“我的记录”中修改；要另记一条，请再次点击保存。",
    # showing values, lists and pages
    "events.yes": "是",
    "events.no": "否",
    "events.empty_value": "（空）",
    "events.list_separator": "、",
    "events.message_separator": "；",
    "events.distance_m": "{m:.0f} 米",
    "events.distance_km": "{km:.1f} 公里",
    "events.kind_not_found": "没有这种记录类型",
    "events.login_required": "需要登录",
    "events.all_events": "全部记录",
    "events.date_malformed": "日期格式应为 YYYY-MM-DD",
    "events.month_malformed": "月份格式应为 YYYY-MM",
    "events.quarter_malformed": "季度格式应为 YYYY-Qn，例如 2021-Q1",
    "events.limit_range": "limit 须在 1 到 {max} 之间，offset 不能为负",
    "events.api_conflict": "同一 id 已存储了不同内容（返回已存储的记录）",
    "events.api_invalid": "输入有误：detail 中的 loc 指出字段，msg 为中文说明",
    "events.api_resent": "同一 id、同一内容已存储：返回已存储的记录",

    # --- coverage, follow-ups, photos ---------------------------------------------------------------
    # (keys "coverage.*", "followups.*", "photos.*")
    "coverage.month_malformed": "月份格式应为 YYYY-MM，例如 2021-03",
    "coverage.month_out_of_range": "月份超出范围",
    "coverage.state_unknown": "状态筛选条件无效",
    "coverage.inspector_filter_invalid": "监督员筛选条件无效",
    "coverage.year_malformed": "年份格式应为 YYYY，例如 2021",
    "photos.not_image": "文件不是图片（支持 JPEG、PNG、HEIC、WebP、AVIF）",
    "photos.empty": "照片文件为空",
    "photos.broken": "照片文件不完整或已损坏",
    "photos.pixels_counted": "（{n} 万像素）",
    "photos.too_many_pixels": "照片像素过多{counted}，上限 {limit} 万像素",
    "photos.too_large": "照片文件过大（{size} MB），上限 {limit} MB",
    "photos.required": "请选择照片",
    "photos.not_found": "找不到该照片",
    "photos.api_resent": "同一照片已存储（只存一次）",

    # --- indicators (rules, tables, scoring, evaluation, entries, roll-up, evidence, pacing) ----------
    # (keys "indicators.*", "rules.*", "tables.*", "scoring.*", "evaluation.*", "entries.*", "pacing.*")

    # --- registry, import, accounts, surveys, audit -------------------------------------------------
    # (keys "registry.*", "import.*", "accounts.*", "surveys.*")

    # --- web, routes, command line ------------------------------------------------------------------
    # (keys "web.*", "routes.*", "cli.*")

    # --- end ------------------------------------------------------------------------------------------
}

LABELS: dict[str, dict[str, str]] = {
    # group -> {English value: Chinese label}
    # --- events, coverage, follow-ups: kinds, coverage states, notice statuses, orders -----------------
    # The order of an enforcement patrol (data.order); before migration 009 the label itself was stored.
    "order": {"none": "无", "rectify": "整改", "stop_work": "停工整改"},
    "coverage_state": {"overdue": "逾期", "due_soon": "临期", "open": "待巡查", "done": "已完成"},
    "followup_status": {"overdue": "逾期", "due_soon": "临期", "pending": "未到期", "closed": "已销号"},
    # What a patrol issued (followups.Notice.order).
    "notice_order": {"notice": "整改通知书", "stop_work": "停工整改"},

    # --- indicators: grades, completion, score bands ----------------------------------------------------

    # --- registry, accounts, surveys, audit: roles, site status, survey answers, audit actions ---------
    "role": {"inspector": "监督员", "chief": "站长", "admin": "管理员"},

    # --- web, routes, command line ------------------------------------------------------------------

    # --- end ------------------------------------------------------------------------------------------
}


def t(key: str, **values) -> str:
    """The message for `key`, its {placeholders} filled from `values`."""
    text = MESSAGES[key]
    return text.format(**values) if values else text


def label(group: str, value) -> str:
    """The Chinese label of an enum value of `group` (the value itself when the group does not know it)."""
    return LABELS[group].get(value, value)
