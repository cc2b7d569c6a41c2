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

    # --- registry, import, accounts, surveys, audit -------------------------------------------------
    # (keys "registry.*", "import.*", "accounts.*", "surveys.*")
    # registry: validation of sites, plants and pauses ({field} is a label of "site_field", "plant_field" or "pause_field")
    "registry.not_a_coordinate": "{field}须为数字（十进制度，如 27.08）",
    "registry.coordinate_range": "{field}须在 {low} 到 {high} 之间",
    "registry.lat_lon_together": "经度和纬度须同时填写",
    "registry.not_a_date": "{field}须为日期，格式 YYYY-MM-DD",
    "registry.not_yes_no": "{field}须为 是 或 否",
    "registry.uses_ready_mix": "是否使用商品混凝土",
    "registry.site_name_required": "请填写工地名称",
    "registry.reg_no_required": "请填写监督注册号",
    "registry.started_on_required": "已填竣工验收日期时须填写开工日期",
    "registry.completed_before_started": "竣工验收日期不能早于开工日期",
    "registry.plant_name_required": "请填写企业名称",
    "registry.licence_no_required": "请填写资质证书编号",
    "registry.stopped_before_started": "停产日期不能早于生产起始日期",
    "registry.pause_start_required": "请填写停工开始日期",
    "registry.pause_end_before_start": "复工日期不能早于停工开始日期",
    "registry.reg_no_taken": "监督注册号已被其他工地使用",
    "registry.licence_no_taken": "资质证书编号已被其他企业使用",
    "registry.inspector_unknown": "负责监督员不存在",
    "registry.site_not_found": "找不到该工地",
    "registry.plant_not_found": "找不到该商品混凝土公司",
    # import of sites and plants from CSV / XLSX
    "import.row_label": "{name}（{number}）",
    "import.xls_unsupported": "不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）后再上传",
    "import.xlsx_unreadable": "文件不是有效的 XLSX 表格，无法读取；请用 Excel 另存为 .xlsx 或 CSV 后再上传",
    "import.csv_unreadable": "文件不是可读的 CSV 表格（应为 UTF-8 或 GB18030 编码的文本）",
    "import.csv_or_xlsx_only": "只能导入 CSV 或 XLSX 文件",
    "import.unknown_kind": "未知的导入类型",
    "import.file_empty": "文件是空的",
    "import.file_too_large": "文件过大（上限 {mb} MB），请分批导入",
    "import.no_content": "文件中没有任何内容",
    "import.missing_columns": "缺少必需的列：{columns}（第一行须为表头，列名见导入模板）",
    "import.too_many_rows": "行数过多（上限 {n} 行），请分批导入",
    "import.header_only": "文件中只有表头，没有数据行",
    "import.unknown_inspectors": "没有这个监督员：{names}",
    "import.ambiguous_inspectors": "有多名同名监督员，请改填用户名：{names}",
    "import.pause_format": "停工期间第 {n} 段“{part}”格式不对，应为 开始日期~复工日期（未复工则 ~ 后留空）",
    "import.pause_invalid": "停工期间{message}",
    "import.pause_part_invalid": "停工期间第 {n} 段：{message}",
    "import.already_registered": "{field} {value} 已存在于名录中",
    "import.duplicate_in_file": "{field} {value} 与本文件第 {row} 行重复",
    "import.sheet_sites": "工地",
    "import.sheet_plants": "商品混凝土公司",
    # accounts: users, sign-in, tokens
    "accounts.username_invalid": "用户名须为 2–32 位字母、数字、点、下划线或连字符",
    "accounts.display_name_required": "请填写姓名",
    "accounts.role_invalid": "角色须为 监督员、站长 或 管理员",
    "accounts.password_too_short": "密码至少 {n} 位",
    "accounts.username_taken": "用户名已存在",
    "accounts.no_such_user": "没有这个用户",
    "accounts.user_not_found": "找不到该用户",
    "accounts.cannot_deactivate_self": "不能停用自己的账号",
    "accounts.locked_out": "登录失败次数过多，请 {minutes} 分钟后再试",
    "accounts.bad_credentials": "用户名或密码错误",
    "accounts.token_not_live": "没有这个有效令牌",
    # surveys: the two questionnaires (answer options are stored values: see surveys.py) and their messages
    "surveys.awareness_label": "质量安全宣传知晓率",
    "surveys.awareness_short": "知晓率",
    "surveys.awareness_positive": "知晓",
    "surveys.awareness_title": "建设工程质量安全宣传知晓情况调查",
    "surveys.awareness_intro": "为了解质量安全宣传效果，请您花 1 分钟回答以下问题。问卷匿名，不收集姓名和电话。",
    "surveys.q_complaint_channel": "您是否知道发现工程质量安全问题时，可以向县建设工程质量安全监督站或拨打 12345 热线投诉举报？",
    "surveys.q_leaflet_received": "您是否收到或看到过工程质量安全宣传资料（传单、展板、标语等）？",
    "surveys.q_safety_signs": "您是否了解施工现场安全警示标志（禁止、警告、指令、提示标志）的含义？",
    "surveys.q_acceptance_required": "您是否知道房屋建筑工程须经竣工验收合格后方可交付使用？",
    "surveys.satisfaction_label": "服务对象满意度",
    "surveys.satisfaction_short": "满意度",
    "surveys.satisfaction_positive": "满意",
    "surveys.satisfaction_title": "建设工程质量安全监督服务满意度调查",
    "surveys.satisfaction_intro": "请您对我站的监督服务进行评价，您的意见将帮助我们改进工作。问卷匿名，不收集姓名和电话。",
    "surveys.q_overall": "您对我站工程质量安全监督服务（检查、宣传、办事）的总体评价是？",
    "surveys.unknown": "问卷不存在，请核对链接或二维码",
    "surveys.closed": "本问卷已结束，感谢您的关注",
    "surveys.full": "本问卷已达到答卷上限",
    "surveys.flood": "同一网络提交的答卷过多，请稍后再试",
    "surveys.answer_missing": "请回答第 {n} 题",
    "surveys.bad_option": "请从给出的选项中选择",
    "surveys.respondent_type_required": "请选择您的身份",
    "surveys.comment_too_long": "意见建议请不超过 {n} 字",
    "surveys.kind_required": "请选择问卷类型",
    "surveys.site_unknown": "没有这个工地",
    "surveys.event_unknown": "没有这条记录（或已作废）",
    "surveys.cap_invalid": "答卷上限须为 1–{max} 之间的整数，不限请留空",
    "surveys.note_too_long": "备注请不超过 {n} 字",
    "surveys.code_not_found": "找不到该问卷",
    "surveys.close_forbidden": "只有创建人或站长可以结束问卷",

    # --- web, routes, command line ------------------------------------------------------------------
    # (keys "web.*", "routes.*", "cli.*")
    # shared pieces: joining names into a list, clauses into one line; an empty value
    "web.list_separator": "、",
    "web.clause_separator": "；",
    "web.field_separator": "，",
    "web.blank": "（空）",
    # web layer: refusals and validation
    "web.login_required": "需要登录或有效的访问令牌",
    "web.csrf_refused": "请求已过期或来源无效（CSRF 校验失败），请刷新页面后重试",
    "web.forbidden": "您的角色无权进行此操作",
    "web.invalid_submission": "提交的内容不完整或格式不对：{fields}",
    "web.required": "必填",
    "web.not_a_number": "须为数字",
    "web.not_json": "不是有效的 JSON",
    "web.bad_format": "格式不正确",
    # JSON API: OpenAPI summaries and descriptions, and its own checks
    "api.description": "建设工程质量安全监督站现场检查记录 API。认证：浏览器会话（需 X-CSRF-Token 头）或 Bearer 令牌（`fieldlog token create`）。",
    "api.sites_list": "工地列表",
    "api.site_detail": "工地详情",
    "api.site_create": "新增工地（管理员）",
    "api.site_update": "修改工地（管理员）",
    "api.plants_list": "商品混凝土公司列表",
    "api.plant_detail": "商品混凝土公司详情",
    "api.plant_create": "新增商品混凝土公司（管理员）",
    "api.plant_update": "修改商品混凝土公司（管理员）",
    "api.pause_start_on": "停工开始日期 YYYY-MM-DD",
    "api.pause_end_on": "复工日期，仍在停工则为 null",
    "api.site_name": "工地名称（必填）",
    "api.site_reg_no": "监督注册号（必填，唯一）",
    "api.lat": "纬度，十进制度",
    "api.lon": "经度，十进制度",
    "api.uses_ready_mix": "使用商品混凝土，默认是",
    "api.started_on": "开工/施工许可日期",
    "api.completed_on": "竣工验收日期，未竣工为 null",
    "api.inspector_ids": "负责监督员的用户编号",
    "api.plant_name": "企业名称（必填）",
    "api.plant_licence_no": "资质证书编号（必填，唯一）",
    "api.not_a_date": "须为日期，格式 YYYY-MM-DD",
    "api.inspector_ids_list": "须为用户编号（整数）的列表",
    "api.pauses_list": "须为停工期间的列表，每项含 start_on、end_on、reason",
    "api.indicators": "年度绩效指标（实际完成值、完成情况、得分）",
    "api.indicators_year": "年度 YYYY；默认为今年（站点时区）",
    "api.indicators_as_of": "截至日期 YYYY-MM-DD；默认今天，往年默认为 12 月 31 日",
    "api.coverage": "本月（或指定月份）巡查覆盖",
    "api.coverage_month": "YYYY-MM；默认为本月（站点时区）",
    # pages: registry, import, admin, target tables, surveys
    "routes.inspector_choice_invalid": "负责监督员选择有误",
    "routes.import_file_required": "请选择要导入的 CSV 或 XLSX 文件",
    "routes.import_upload_expired": "上传的文件已过期或已导入，请重新上传",
    "routes.user_created": "已创建用户",
    "routes.password_reset": "已重设密码，该用户需重新登录",
    "routes.user_activated": "已启用该用户",
    "routes.user_deactivated": "已停用该用户",
    "routes.token_revoked": "已吊销令牌",
    "routes.table_file_required": "请选择目标表文件（.toml）",
    "routes.table_file_too_large": "文件过大（最大 {kb} KB）",
    "routes.table_file_not_utf8": "文件须为 UTF-8 编码的文本",
    "routes.survey_qr_title": "问卷二维码",
    # command line
    "cli.help": "fieldlog：建设工程质量安全监督站现场检查记录 (field inspection logger).",
    "cli.help_display_name": "Display name (姓名).",
    "cli.error": "错误：{message}",
    "cli.field_error": "错误：{field}：{message}",
    "cli.building_demo": "正在生成演示数据库…",
    "cli.demo_dates": "演示数据为 {year} 年，看板按 {today} 显示；新记录按实际时间保存。",
    "cli.started": "fieldlog 已启动：http://{host}:{port}/  数据库：{database}",
    "cli.trusted_proxy_invalid": "FIELDLOG_TRUSTED_PROXIES 中的“{item}”不是 IP 地址或网段（如 127.0.0.1、10.0.0.0/8）",
    "cli.demo_logins": "演示账号（密码均为 {password}）：",
    "cli.demo_built": "演示数据库已生成：{path}",
    "cli.migrations_applied": "已应用：{names}",
    "cli.up_to_date": "数据库已是最新",
    "cli.user_created": "已创建用户 {username}（{role}）",
    "cli.password_set": "已更新 {username} 的密码",
    "cli.user_inactive": "（已停用）",
    "cli.token_revoked": "已吊销令牌 {id}",
    "cli.token_revoked_at": "已吊销 {at}",
    "cli.token_live": "有效",
    "cli.path_exists": "{path} 已存在",
    "cli.backup_done": "已备份数据库到 {path}",
    "cli.backup_media_done": "已备份照片到 {path}",
    "cli.import_refused": "文件未导入：{error}",
    "cli.ignored_columns": "已忽略无法识别的列：{columns}",
    "cli.row_problem": "{field}：{message}",
    "cli.row_skipped": "第 {n} 行 跳过 {row}：{problems}",
    "cli.row_importable": "第 {n} 行 可导入 {row}",
    "cli.row_imported": "第 {n} 行 已导入 {row}",
    "cli.dry_run_done": "预检完成（未写入）：{accepted} 行可导入，{rejected} 行有问题",
    "cli.import_done": "导入完成：已写入 {written} 行，跳过 {rejected} 行",
    "cli.table_loaded": "已导入 {year} 年目标表（{station}，{rows} 项指标）",
    "cli.table_origin_loaded": "已导入",
    "cli.table_origin_shipped": "随程序提供",
    "cli.table_origin_inherited": "沿用 {year} 年目标表",
    "cli.table_heading": "{title}（{station}，{origin}）",
    "cli.target_is_text": "文字",
    "cli.points": "分值 {points}",
    "cli.as_of_invalid": "--as-of 须为日期，格式 YYYY-MM-DD",
    "cli.out_suffix_invalid": "--out 的文件须以 .xlsx、.csv 或 .json 结尾",
    "cli.rollup_done": "已写出 {path}（{year} 年，截至 {day}，总分 {total}，{grade}）",

    # --- end ------------------------------------------------------------------------------------------
}

LABELS: dict[str, dict[str, str]] = {
    # group -> {English value: Chinese label}
    # --- events, coverage, follow-ups: kinds, coverage states, notice statuses, orders -----------------

    # --- indicators: grades, completion, score bands ----------------------------------------------------

    # --- registry, accounts, surveys, audit: roles, site status, survey answers, audit actions ---------
    "role": {"inspector": "监督员", "chief": "站长", "admin": "管理员"},
    # The Chinese names of a site's, a plant's and a pause's fields: the import template's headers, and the
    # field named in messages. (Other headers an import accepts are in importer.py.)
    "site_field": {
        "name": "工地名称", "reg_no": "监督注册号", "address": "地址", "town": "乡镇", "lat": "纬度", "lon": "经度",
        "builder": "建设单位", "contractor": "施工单位", "supervisor": "监理单位", "uses_ready_mix": "使用商品混凝土",
        "started_on": "开工日期", "completed_on": "竣工验收日期", "inspectors": "负责监督员", "pauses": "停工期间",
    },
    "plant_field": {
        "name": "企业名称", "licence_no": "资质证书编号", "address": "地址", "town": "乡镇", "lat": "纬度", "lon": "经度",
        "active_from": "生产起始日期", "active_to": "停产日期",
    },
    "pause_field": {"start_on": "停工开始日期", "end_on": "复工日期", "reason": "停工原因"},
    # Every action audit.record is called with (tests/test_admin.py checks that none is missing).
    "audit_action": {
        "login": "登录", "logout": "退出", "login_failed": "登录失败", "login_locked": "登录被锁定",
        "forbidden": "越权访问被拒绝", "csrf_refused": "CSRF 校验失败",
        "site_created": "新增工地", "site_updated": "修改工地", "plant_created": "新增搅拌站", "plant_updated": "修改搅拌站",
        "sites_imported": "导入工地", "plants_imported": "导入搅拌站",
        "user_created": "新增用户", "password_reset": "重设密码", "user_deactivated": "停用用户", "user_activated": "启用用户",
        "token_revoked": "吊销令牌",
        "survey_code_create": "新建问卷二维码", "survey_code_close": "结束问卷",
        "manual_value_saved": "填报指标值", "budget_saved": "填报预算执行",
    },

    # --- web, routes, command line ------------------------------------------------------------------

    # --- end ------------------------------------------------------------------------------------------
}


def t(key: str, /, **values) -> str:
    """The message for `key`, its {placeholders} filled from `values`."""
    text = MESSAGES[key]
    return text.format(**values) if values else text


def label(group: str, value) -> str:
    """The Chinese label of an enum value of `group` (the value itself when the group does not know it)."""
    return LABELS[group].get(value, value)
