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

    # --- coverage, follow-ups, photos ---------------------------------------------------------------
    # (keys "coverage.*", "followups.*", "photos.*")

    # --- indicators (rules, tables, scoring, evaluation, entries, roll-up, evidence, pacing) ----------
    # (keys "indicators.*", "rules.*", "tables.*", "scoring.*", "evaluation.*", "entries.*", "pacing.*")
    "indicators.pending_entry": "待填报",
    "indicators.list_separator": "、",
    "indicators.bad_year": "年份须为四位数字，如 2021",
    "indicators.bad_as_of": "截至日期须为日期，格式 YYYY-MM-DD",
    # rules: what a rule shows when it has no figure yet, how it explains a figure, complaints about parameters
    # ({period} and {subject} take LABELS["rule_period"] and LABELS["rule_subject"])
    "rules.none_elapsed": "—（尚无已结束的{period}）",
    "rules.none_active": "—（已结束的{period}内没有在建的{subject}）",
    "rules.no_campaign_ended": "—（尚无已结束的大检查）",
    "rules.no_ready_mix_site": "—（已结束的季度内没有使用商品混凝土的在建工地）",
    "rules.no_records": "—（尚无记录）",
    "rules.no_survey_answers": "—（尚无问卷答卷）",
    "rules.no_active_sites": "—（没有在建工地）",
    "rules.whole_year": "全年",
    "rules.over_subject_periods": "{n} 个{subject}·{period}",
    "rules.over_periods": "{n} 个{period}",
    "rules.minimum_of": "最少 {low}（共 {over}）",
    "rules.minimum": "最少 {low}",
    "rules.on_time_months": "{met}/{total} 个月按时完成",
    "rules.on_time_quarters": "{met}/{total} 个季度按时完成",
    "rules.survey_detail": "{num}/{den} 份答卷",
    "rules.within_days": "{num}/{den} 在 {days} 日内",
    "rules.reached_on": "{day} 累计达到 {threshold}",
    "rules.not_reached_yet": "未达到（累计 {running}）",
    "rules.threshold_met": "达到",
    "rules.threshold_missed": "未达到",
    "rules.passed_of": "{num}/{den} 合格",
    "rules.per_mille_detail": "{n} 起 / {base} 个在建{subject}",
    "rules.coverage_needs_period": "覆盖率须给出 period（month 或 quarter）",
    "rules.coverage_needs_quota": "按季抽测覆盖率须给出每季抽测工地数 quota",
    "rules.timeliness_needs_annual": "count_and_cover 须给出全年次数 annual",
    "rules.timeliness_needs_quota": "按季抽测按时完成率须给出每季抽测工地数 quota",
    "rules.ratio_needs_survey": "问卷比率须给出 survey（awareness_survey 或 satisfaction_survey）",
    "rules.ratio_needs_kinds_field": "比率须给出 kinds 和 field",
    "rules.ratio_needs_values": "比率须给出 pass_values 或 fail_values 之一",
    "rules.deadline_fields": "限期规则的日期字段须为 accepted_on→filed_on 或 applied_on→issued_on",
    "rules.field_not_tallied": "字段「{field}」不在统计范围内（可用：{fields}）",
    # tables: checking a table file ({row} is tables.row_name)
    "tables.row_not_found": "找不到该指标",
    "tables.no_table": "没有 {year} 年的目标表",
    "tables.default_title": "{year}年部门整体支出绩效目标表",
    "tables.bad_toml": "目标表文件格式错误（TOML）：{error}",
    "tables.missing_station": "缺少单位名称 station",
    "tables.bad_year": "year 须为年份（如 2021）",
    "tables.no_rows": "目标表没有任何指标行（[[rows]]）",
    "tables.bad_row": "第{number}行格式错误",
    "tables.row_name": "第{number}行「{name}」",
    "tables.row_error": "{row}：{message}",
    "tables.missing_field": "缺少 {field}",
    "tables.target_text_not_text": "target_text 须为文字",
    "tables.unknown_fields": "未知的项「{fields}」",
    "tables.bad_key": "key 只能用小写英文字母、数字和下划线，以字母开头",
    "tables.duplicate_key": "key「{row_key}」与第{first}行重复",
    "tables.unknown_rule": "未知的计算规则「{rule}」（可用：{rules}）",
    "tables.params_not_table": "params 须为表",
    "tables.bad_points": "分值须为非负数",
    "tables.no_weight": "一级指标「{level1}」在 scoring.weights 中没有分值",
    "tables.unknown_param": "规则 {rule} 没有参数「{param}」",
    "tables.bad_param": "参数 {param}：{complaint}",
    "tables.missing_param": "规则 {rule} 须给出参数「{param}」",
    "tables.param_twice": "参数 {name} 与 {ref} 只能给出其一",
    "tables.ref_unknown_row": "参数 {param}：找不到 key 为「{row_key}」的指标行",
    "tables.ref_not_number": "参数 {param}：指标行「{level3}」的指标值不是数字",
    "tables.ref_unfit": "参数 {param}：指标行「{level3}」的指标值 {value} 不合用（{complaint}）",
    # The doubled braces are printed as they are (the message has always shown them so).
    "tables.target_unparsed": "无法解析指标值「{text}」：请写成 ≥/≤/= 加数字和单位，或给出 target = {{{{ comparator = \"text\" }}}}",
    "tables.bad_comparator": "target.comparator 须为 >=、<=、= 或 text",
    "tables.value_not_number": "target.value 须为数字",
    "tables.bad_weights": "scoring.weights 须为 一级指标 = 分值",
    "tables.bad_grades": "scoring.grades 须给出 达成、部分达成、未达成 三档的得分比例",
    "tables.bad_bands": "scoring.bands 须为 {shape} 列表",
    "tables.bad_budget_points": "scoring.budget_points 须为数字",
    "tables.unknown_kind": "事件类型「{kind}」不存在",
    "tables.need_kind_list": "须为事件类型列表",
    "tables.need_field_name": "须为字段名（小写英文）",
    "tables.need_text_list": "须为文字列表",
    "tables.need_positive": "须为正数",
    "tables.need_non_negative_int": "须为非负整数",
    "tables.need_bool": "须为 true 或 false",
    "tables.need_choice": "须为 {choices} 之一",
    # scoring: the legend of the score bands ({band} is a LABELS["score_band"] label)
    "scoring.band_range": "{low}–{high} {band}",
    "scoring.band_below": "{above} 以下{band}",
    "scoring.legend_separator": "，",
    # evaluation: the 自评表 and its exports
    "evaluation.title": "{year}年部门整体支出绩效自评表",
    "evaluation.sheet_title": "{year}绩效自评表",
    "evaluation.station": "填报单位：{station}",
    "evaluation.as_of": "截至 {day}",
    "evaluation.actual_with_beside": "{actual}（{beside}）",
    "evaluation.note_too_long": "「{level3}」的偏差原因分析过长（最多 {max} 字）",
    "evaluation.budget_heading": "预算执行率",
    "evaluation.budget_initial": "年初预算数（万元）",
    "evaluation.budget_full_year": "全年预算数（万元）",
    "evaluation.budget_executed": "全年执行数（万元）",
    "evaluation.budget_rate": "执行率",
    "evaluation.total": "总分",
    "evaluation.grade": "等级",
    # entries: the chief's manual values, notes and budget block
    "entries.required": "请填写{label}",
    "entries.not_number": "{label}须为数字",
    "entries.below_minimum": "{label}不能小于 {minimum}",
    "entries.not_enterable": "该指标由记录自动计算，不能手工填报",
    "entries.actual_value": "实际完成值",
    "entries.text_required": "请填写实际完成情况",
    "entries.grade_required": "请选择评定：达成、部分达成或未达成",
    "entries.source_required": "请填写依据文件（如 决算报表、工资台账）",
    "entries.source_too_long": "依据文件名称过长（最多 {max} 字）",
    "entries.note_too_long": "说明过长（最多 {max} 字）",
    "entries.reason_too_long": "偏差原因分析过长（最多 {max} 字）",
    "entries.initial_budget": "年初预算数",
    "entries.full_year_budget": "全年预算数",
    "entries.executed": "全年执行数",
    "entries.full_year_budget_positive": "全年预算数须大于 0",

    # --- registry, import, accounts, surveys, audit -------------------------------------------------
    # (keys "registry.*", "import.*", "accounts.*", "surveys.*")

    # --- web, routes, command line ------------------------------------------------------------------
    # (keys "web.*", "routes.*", "cli.*")

    # --- end ------------------------------------------------------------------------------------------
}

LABELS: dict[str, dict[str, str]] = {
    # group -> {English value: Chinese label}
    # --- events, coverage, follow-ups: kinds, coverage states, notice statuses, orders -----------------

    # --- indicators: grades, completion, score bands ----------------------------------------------------
    # The chief's grade of a qualitative row (manual_values.grade, a table file's [scoring] grades).
    "grade": {"met": "达成", "partial": "部分达成", "missed": "未达成"},
    # 完成情况 of a row: its grade, else met or missed, pending while unknown.
    "completion": {"met": "达成", "partial": "部分达成", "missed": "未达成", "pending": "—"},
    # The default bands of the total score (a table file may name its own bands; they show as written).
    "score_band": {"excellent": "优", "good": "良", "fair": "中", "poor": "差"},
    # The words rules use for subjects and periods in their explanations.
    "rule_subject": {"site": "工地", "plant": "搅拌站", "campaign": "次大检查"},
    "rule_period": {"month": "月", "quarter": "季度"},
    "rule": {"count": "计数", "sum": "求和", "distinct": "不重复对象数", "quota_per_subject_period": "每期平均（最少）",
             "coverage": "覆盖率", "timeliness": "按时完成率", "ratio": "比率", "deadline": "限期完成率",
             "reached_by": "达到日期", "threshold": "是否达标", "per_mille": "千分率",
             "manual_number": "手工填报（数值）", "manual_text": "手工填报（定性）"},
    # The columns of the 自评表 (page, XLSX and CSV).
    "evaluation_column": {"level1": "一级指标", "level2": "二级指标", "level3": "三级指标", "target": "年度指标值",
                          "actual": "实际完成值", "completion": "完成情况", "points": "分值", "score": "得分",
                          "note": "偏差原因分析及改进措施"},

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
