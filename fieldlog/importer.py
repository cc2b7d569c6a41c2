"""Bulk import of sites and plants from CSV or XLSX, with a row-by-row report (SPEC section 2)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlite_utils import Database

from fieldlog import accounts, audit, registry
from fieldlog.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
KINDS = ("sites", "plants")

# (field, Chinese header, other accepted headers). The first header is the one the templates use.
SITE_COLUMNS = [
    ("name", "工地名称", ["项目名称", "工程名称"]),
    ("reg_no", "监督注册号", ["注册号", "监督注册编号"]),
    ("address", "地址", ["工程地址", "项目地址"]),
    ("town", "乡镇", ["所在乡镇"]),
    ("lat", "纬度", []),
    ("lon", "经度", []),
    ("builder", "建设单位", []),
    ("contractor", "施工单位", []),
    ("supervisor", "监理单位", []),
    ("uses_ready_mix", "使用商品混凝土", ["是否使用商品混凝土"]),
    ("started_on", "开工日期", ["施工许可日期", "开工/施工许可日期"]),
    ("completed_on", "竣工验收日期", ["竣工日期"]),
    ("inspectors", "负责监督员", ["监督员", "责任监督员"]),
    ("pauses", "停工期间", ["停工"]),
]
PLANT_COLUMNS = [
    ("name", "企业名称", ["公司名称", "搅拌站名称"]),
    ("licence_no", "资质证书编号", ["资质证书号", "证书编号"]),
    ("address", "地址", ["企业地址"]),
    ("town", "乡镇", ["所在乡镇"]),
    ("lat", "纬度", []),
    ("lon", "经度", []),
    ("active_from", "生产起始日期", ["投产日期"]),
    ("active_to", "停产日期", []),
]
COLUMNS = {"sites": SITE_COLUMNS, "plants": PLANT_COLUMNS}
REQUIRED = {"sites": ["name", "reg_no"], "plants": ["name", "licence_no"]}
UNIQUE = {"sites": "reg_no", "plants": "licence_no"}
EXAMPLES = {
    "sites": ["衡东县城关镇安置小区", "HDJ2021-001", "衡东县城关镇建设路18号", "城关镇", "27.0814", "112.9480",
              "衡东县住房和城乡建设局", "湖南衡东建设工程有限公司", "衡阳市建设监理有限公司", "是",
              date(2021, 3, 1), None, "王建国、李明", "2021-07-01~2021-08-15"],
    "plants": ["衡东县恒通商品混凝土有限公司", "湘建混字第0001号", "衡东县工业园", "城关镇", "27.0912", "112.9375",
               date(2018, 5, 1), None],
}
DATE_FIELDS = {"started_on", "completed_on", "active_from", "active_to"}
NAME_SPLIT = re.compile(r"[、,，;；/\s]+")
PAUSE_SPLIT = re.compile(r"[;；\n]+")
RANGE_SPLIT = re.compile(r"\s*(?:~|～|至|—)\s*")
LOOSE_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass
class Row:
    """One data row of the file: its spreadsheet row number, raw values by field, and what came of it."""

    number: int
    values: dict
    errors: dict[str, str] = field(default_factory=dict)
    record: dict | None = None
    inspector_ids: list[int] = field(default_factory=list)
    pauses: list[dict] = field(default_factory=list)

    @property
    def label(self) -> str:
        name = str(self.values.get("name") or "").strip()
        key = str(self.values.get("reg_no") or self.values.get("licence_no") or "").strip()
        return f"{name}（{key}）" if name and key else name or key or "（空）"


@dataclass
class ParsedImport:
    """A read file: the rows found, or the reason the whole file is refused."""

    kind: str
    filename: str
    rows: list[Row] = field(default_factory=list)
    error: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    written: int = 0

    @property
    def accepted(self) -> list[Row]:
        return [r for r in self.rows if not r.errors]

    @property
    def rejected(self) -> list[Row]:
        return [r for r in self.rows if r.errors]


def headers(kind: str) -> list[str]:
    """The Chinese headers of the import template for sites or plants."""
    return [zh for _, zh, _ in COLUMNS[kind]]


def field_label(kind: str, name: str) -> str:
    """The Chinese column name of a field (the field itself when unknown)."""
    for key, zh, _ in COLUMNS[kind]:
        if key == name:
            return zh
    return {"inspector_ids": "负责监督员"}.get(name.split(".")[0], name)


def _header_map(kind: str) -> dict[str, str]:
    out = {}
    for key, zh, aliases in COLUMNS[kind]:
        for h in [key, zh, *aliases]:
            out[_norm_header(h)] = key
    return out


def _norm_header(text) -> str:
    text = str(text or "").replace("\ufeff", "").strip().lower()
    # Headers are often annotated: 纬度（十进制）, 开工日期*, 工地名称(必填).
    text = re.sub(r"[（(].*?[)）]", "", text)
    return re.sub(r"[\s*＊:：]", "", text)


def _decode_csv(content: bytes) -> str:
    if b"\x00" in content:
        raise ValueError("binary")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Chinese Windows saves CSV as GBK/GB18030.
        return content.decode("gb18030")


def _read_csv(content: bytes) -> list[list]:
    text = _decode_csv(content)
    # The header line decides the delimiter: data cells may hold ';' (pause lists) or ',' (inspector lists).
    header = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=header.count)
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _read_xlsx(content: bytes) -> list[list]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        ws = wb.active
        rows = []
        for row in ws.iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        wb.close()


def _read_table(filename: str, content: bytes) -> list[list]:
    """Cells of the first sheet as lists; ValueError with a zh-CN message when the file is not a spreadsheet."""
    lower = (filename or "").lower()
    if lower.endswith(".xls") or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValueError("不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）后再上传")
    if lower.endswith(".xlsx") or content.startswith(b"PK\x03\x04"):
        try:
            return _read_xlsx(content)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
            raise ValueError("文件不是有效的 XLSX 表格，无法读取；请用 Excel 另存为 .xlsx 或 CSV 后再上传") from exc
    if lower.endswith((".csv", ".txt")) or not lower:
        try:
            return _read_csv(content)
        except (ValueError, csv.Error) as exc:
            raise ValueError("文件不是可读的 CSV 表格（应为 UTF-8 或 GB18030 编码的文本）") from exc
    raise ValueError("只能导入 CSV 或 XLSX 文件")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (datetime, date, bool, int, float)):
        return value
    return str(value).strip()


def parse_file(filename: str, content: bytes, kind: str) -> ParsedImport:
    """Read a CSV or XLSX file of sites or plants into rows by field; refuses the file when it cannot be read or lacks required columns."""
    parsed = ParsedImport(kind=kind, filename=filename or "")
    if kind not in KINDS:
        parsed.error = "未知的导入类型"
        return parsed
    if not content:
        parsed.error = "文件是空的"
        return parsed
    if len(content) > MAX_BYTES:
        parsed.error = f"文件过大（上限 {MAX_BYTES // 1024 // 1024} MB），请分批导入"
        return parsed
    try:
        table = _read_table(filename, content)
    except ValueError as exc:
        parsed.error = str(exc)
        return parsed
    table = [[_cell(c) for c in row] for row in table]
    start = next((i for i, row in enumerate(table) if any(c != "" for c in row)), None)
    if start is None:
        parsed.error = "文件中没有任何内容"
        return parsed
    mapping = _header_map(kind)
    columns: dict[int, str] = {}
    for i, head in enumerate(table[start]):
        key = mapping.get(_norm_header(head))
        if key and key not in columns.values():
            columns[i] = key
        elif str(head).strip():
            parsed.ignored_columns.append(str(head).strip())
    missing = [field_label(kind, k) for k in REQUIRED[kind] if k not in columns.values()]
    if missing:
        parsed.error = "缺少必需的列：" + "、".join(missing) + "（第一行须为表头，列名见导入模板）"
        return parsed
    data = table[start + 1:]
    if len(data) > MAX_ROWS:
        parsed.error = f"行数过多（上限 {MAX_ROWS} 行），请分批导入"
        return parsed
    for offset, row in enumerate(data):
        if not any(c != "" for c in row):
            continue
        values = {key: (row[i] if i < len(row) else "") for i, key in columns.items()}
        parsed.rows.append(Row(number=start + offset + 2, values=values))
    if not parsed.rows:
        parsed.error = "文件中只有表头，没有数据行"
    return parsed


def _loose_date(value):
    if isinstance(value, (date, datetime)) or not isinstance(value, str):
        return value
    m = LOOSE_DATE.match(value.strip())
    if not m:
        return value
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return value


def _inspector_index(db: Database) -> tuple[dict[str, int], set[str]]:
    by_key: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    ambiguous: set[str] = set()
    # In id order, as the table reads: of two names that differ only in case, the older user's keeps the lower-cased key.
    for u in sorted(accounts.field_users(db), key=lambda u: u["id"]):
        by_key[u["username"].lower()] = u["id"]
        name = u["display_name"].strip()
        if name in seen_names and seen_names[name] != u["id"]:
            ambiguous.add(name)
        seen_names[name] = u["id"]
    for name, uid in seen_names.items():
        by_key.setdefault(name.lower(), uid)
    return by_key, ambiguous


def _inspectors(text, index: dict[str, int], ambiguous: set[str], errors: dict) -> list[int]:
    ids, unknown, twice = [], [], []
    for token in NAME_SPLIT.split(str(text or "").strip()):
        if not token:
            continue
        if token in ambiguous:
            twice.append(token)
        elif token.lower() in index:
            ids.append(index[token.lower()])
        else:
            unknown.append(token)
    if unknown:
        errors["inspectors"] = "没有这个监督员：" + "、".join(unknown)
    elif twice:
        errors["inspectors"] = "有多名同名监督员，请改填用户名：" + "、".join(twice)
    return ids


def _pauses(value, errors: dict) -> list[dict]:
    if isinstance(value, (date, datetime)):
        value = value.strftime("%Y-%m-%d")
    out = []
    for n, part in enumerate(p.strip() for p in PAUSE_SPLIT.split(str(value or "")) if p.strip()):
        bounds = RANGE_SPLIT.split(part, maxsplit=1)
        if len(bounds) != 2:
            errors["pauses"] = f"停工期间第 {n + 1} 段“{part}”格式不对，应为 开始日期~复工日期（未复工则 ~ 后留空）"
            return []
        out.append({"start_on": _loose_date(bounds[0]), "end_on": _loose_date(bounds[1]), "reason": ""})
    try:
        return registry.clean_pauses(out)
    except InvalidInput as exc:
        first_key, message = next(iter(exc.errors.items()))
        parts = first_key.split(".")
        which = f"第 {int(parts[1]) + 1} 段：" if len(parts) == 3 and parts[1].isdigit() else ""
        errors["pauses"] = f"停工期间{which}{message}"
        return []


def check(db: Database, parsed: ParsedImport) -> ParsedImport:
    """Validate every row (registry rules, duplicates in the file or the database, unknown inspectors); fills row errors."""
    if parsed.error:
        return parsed
    key = UNIQUE[parsed.kind]
    table = parsed.kind
    existing = {r[key] for r in db.query(f"SELECT {key} FROM {table}")}
    index, ambiguous = _inspector_index(db) if parsed.kind == "sites" else ({}, set())
    first_row: dict[str, int] = {}
    for row in parsed.rows:
        row.errors, row.record = {}, None
        raw = {k: (_loose_date(v) if k in DATE_FIELDS else v) for k, v in row.values.items()}
        try:
            row.record = registry.clean_site(raw) if parsed.kind == "sites" else registry.clean_plant(raw)
        except InvalidInput as exc:
            row.errors.update(exc.errors)
        if parsed.kind == "sites":
            row.inspector_ids = _inspectors(raw.get("inspectors"), index, ambiguous, row.errors)
            row.pauses = _pauses(raw.get("pauses"), row.errors)
        value = str(row.values.get(key) or "").strip()
        if value and key not in row.errors:
            label = field_label(parsed.kind, key)
            if value in existing:
                row.errors[key] = f"{label} {value} 已存在于名录中"
            elif value in first_row:
                row.errors[key] = f"{label} {value} 与本文件第 {first_row[value]} 行重复"
            else:
                first_row[value] = row.number
    return parsed


def preview(db: Database, filename: str, content: bytes, kind: str) -> ParsedImport:
    """Read and validate a file without writing anything."""
    return check(db, parse_file(filename, content, kind))


def apply_import(db: Database, parsed: ParsedImport, actor: dict | None = None) -> ParsedImport:
    """Re-check against the current database and write the accepted rows in one transaction; rejected rows are skipped."""
    if parsed.error:
        return parsed
    with db.atomic():
        check(db, parsed)
        for row in parsed.accepted:
            if parsed.kind == "sites":
                registry.save_site(db, row.record, inspector_ids=row.inspector_ids, pauses=row.pauses, actor=actor)
            else:
                registry.save_plant(db, row.record, actor=actor)
        parsed.written = len(parsed.accepted)
        audit.record(db, f"{parsed.kind}_imported", user=actor, target=parsed.filename,
                     detail={"written": parsed.written, "rejected": [r.number for r in parsed.rejected]})
    return parsed


def template_csv(kind: str) -> bytes:
    """An import template as CSV (UTF-8 with BOM so Excel opens it correctly) with one example row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers(kind))
    writer.writerow(["" if v is None else (v.isoformat() if isinstance(v, date) else v) for v in EXAMPLES[kind]])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    """An import template as XLSX, dates as real date cells, with one example row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "工地" if kind == "sites" else "商品混凝土公司"
    ws.append(headers(kind))
    ws.append(EXAMPLES[kind])
    for col, (key, _, _) in enumerate(COLUMNS[kind], start=1):
        ws.cell(row=1, column=col).font = Font(bold=True)
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = 18
        if key in DATE_FIELDS:
            ws.cell(row=2, column=col).number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
