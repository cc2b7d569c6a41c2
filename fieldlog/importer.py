"""Bulk import of sites and plants from CSV or XLSX, with a row-by-row report (SPEC section 2)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

from sqlite_utils import Database

from fieldlog import accounts, audit, exports, registry
from fieldlog.db import write
from fieldlog.errors import InvalidInput
from fieldlog.messages import label, t

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
KINDS = ("sites", "plants")

# (field, other accepted headers), in template order. The template's header of a field is its label in
# LABELS["site_field"] / LABELS["plant_field"]; the other headers are what older sheets say, matched as data.
SITE_COLUMNS = [
    ("name", ["项目名称", "工程名称"]),  # zh: data
    ("reg_no", ["注册号", "监督注册编号"]),  # zh: data
    ("address", ["工程地址", "项目地址"]),  # zh: data
    ("town", ["所在乡镇"]),  # zh: data
    ("lat", []),
    ("lon", []),
    ("builder", []),
    ("contractor", []),
    ("supervisor", []),
    ("uses_ready_mix", ["是否使用商品混凝土"]),  # zh: data
    ("started_on", ["施工许可日期", "开工/施工许可日期"]),  # zh: data
    ("completed_on", ["竣工日期"]),  # zh: data
    ("inspectors", ["监督员", "责任监督员"]),  # zh: data
    ("pauses", ["停工"]),  # zh: data
]
PLANT_COLUMNS = [
    ("name", ["公司名称", "搅拌站名称"]),  # zh: data
    ("licence_no", ["资质证书号", "证书编号"]),  # zh: data
    ("address", ["企业地址"]),  # zh: data
    ("town", ["所在乡镇"]),  # zh: data
    ("lat", []),
    ("lon", []),
    ("active_from", ["投产日期"]),  # zh: data
    ("active_to", []),
]
COLUMNS = {"sites": SITE_COLUMNS, "plants": PLANT_COLUMNS}
FIELD_LABELS = {"sites": "site_field", "plants": "plant_field"}
REQUIRED = {"sites": ["name", "reg_no"], "plants": ["name", "licence_no"]}
UNIQUE = {"sites": "reg_no", "plants": "licence_no"}
# The templates' example rows: sample content in the format a file must have.
EXAMPLES = {
    "sites": ["衡东县城关镇安置小区", "HDJ2021-001", "衡东县城关镇建设路18号", "城关镇", "27.0814", "112.9480",  # zh: data
              "衡东县住房和城乡建设局", "湖南衡东建设工程有限公司", "衡阳市建设监理有限公司", "是",  # zh: data
              date(2021, 3, 1), None, "王建国、李明", "2021-07-01~2021-08-15"],  # zh: data
    "plants": ["衡东县恒通商品混凝土有限公司", "湘建混字第0001号", "衡东县工业园", "城关镇", "27.0912", "112.9375",  # zh: data
               date(2018, 5, 1), None],
}
DATE_FIELDS = {"started_on", "completed_on", "active_from", "active_to"}
# Separators and date words a cell may use.
NAME_SPLIT = re.compile(r"[、,，;；/\s]+")  # zh: data
PAUSE_SPLIT = re.compile(r"[;；\n]+")  # zh: data
RANGE_SPLIT = re.compile(r"\s*(?:~|～|至|—)\s*")  # zh: data
LOOSE_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")  # zh: data


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
        return t("import.row_label", name=name, number=key) if name and key else name or key or t("web.blank")


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
    return [label(FIELD_LABELS[kind], key) for key, _ in COLUMNS[kind]]


def field_label(kind: str, name: str) -> str:
    """The Chinese column name of a field (the field itself when unknown)."""
    if name.split(".")[0] == "inspector_ids":
        return label("site_field", "inspectors")
    return label(FIELD_LABELS[kind], name)


def _norm_header(text) -> str:
    text = str(text or "").replace("\ufeff", "").strip().lower()
    # Headers are often annotated: 纬度（十进制）, 开工日期*, 工地名称(必填).
    text = re.sub(r"[（(].*?[)）]", "", text)  # zh: data
    return re.sub(r"[\s*＊:：]", "", text)  # zh: data


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
        raise ValueError(t("import.xls_unsupported"))
    if lower.endswith(".xlsx") or content.startswith(b"PK\x03\x04"):
        try:
            return _read_xlsx(content)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
            raise ValueError(t("import.xlsx_unreadable")) from exc
    if lower.endswith((".csv", ".txt")) or not lower:
        try:
            return _read_csv(content)
        except (ValueError, csv.Error) as exc:
            raise ValueError(t("import.csv_unreadable")) from exc
    raise ValueError(t("import.csv_or_xlsx_only"))


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (datetime, date, bool, int, float)):
        return value
    return str(value).strip()


@dataclass
class Sheet:
    """A spreadsheet read by its headers: data rows as (row number, {field: cell}), or why it was refused."""

    rows: list[tuple[int, dict]] = field(default_factory=list)
    error: str | None = None
    ignored_columns: list[str] = field(default_factory=list)


def read_sheet(filename: str, content: bytes, aliases: dict[str, list[str]], required: list[str],
               label_of: Callable[[str], str]) -> Sheet:
    """Read a CSV or XLSX file whose header row names fields (any of `aliases[field]`); refuse it as a whole
    when it cannot be read, is too large, or lacks a `required` column (named by `label_of`)."""
    sheet = Sheet()
    if not content:
        sheet.error = t("import.file_empty")
        return sheet
    if len(content) > MAX_BYTES:
        sheet.error = t("import.file_too_large", mb=MAX_BYTES // 1024 // 1024)
        return sheet
    try:
        table = _read_table(filename, content)
    except ValueError as exc:
        sheet.error = str(exc)
        return sheet
    table = [[_cell(c) for c in row] for row in table]
    start = next((i for i, row in enumerate(table) if any(c != "" for c in row)), None)
    if start is None:
        sheet.error = t("import.no_content")
        return sheet
    mapping = {_norm_header(h): key for key, names in aliases.items() for h in [key, *names]}
    columns: dict[int, str] = {}
    for i, head in enumerate(table[start]):
        key = mapping.get(_norm_header(head))
        if key and key not in columns.values():
            columns[i] = key
        elif str(head).strip():
            sheet.ignored_columns.append(str(head).strip())
    missing = [label_of(k) for k in required if k not in columns.values()]
    if missing:
        sheet.error = t("import.missing_columns", columns=t("web.list_separator").join(missing))
        return sheet
    data = table[start + 1:]
    if len(data) > MAX_ROWS:
        sheet.error = t("import.too_many_rows", n=MAX_ROWS)
        return sheet
    for offset, row in enumerate(data):
        if any(c != "" for c in row):
            sheet.rows.append((start + offset + 2, {key: (row[i] if i < len(row) else "") for i, key in columns.items()}))
    if not sheet.rows:
        sheet.error = t("import.header_only")
    return sheet


def parse_file(filename: str, content: bytes, kind: str) -> ParsedImport:
    """Read a CSV or XLSX file of sites or plants into rows by field; refuses the file when it cannot be read or lacks required columns."""
    parsed = ParsedImport(kind=kind, filename=filename or "")
    if kind not in KINDS:
        parsed.error = t("import.unknown_kind")
        return parsed
    aliases = {key: [label(FIELD_LABELS[kind], key), *more] for key, more in COLUMNS[kind]}
    sheet = read_sheet(filename, content, aliases, REQUIRED[kind], lambda k: field_label(kind, k))
    parsed.error, parsed.ignored_columns = sheet.error, sheet.ignored_columns
    parsed.rows = [Row(number=number, values=values) for number, values in sheet.rows]
    return parsed


def csv_bytes(rows: list[list]) -> bytes:
    """Rows as CSV in UTF-8 with a BOM (so Excel opens it correctly), dates as YYYY-MM-DD."""
    buf = io.StringIO()
    writer = exports.csv_writer(buf)
    for row in rows:
        writer.writerow(["" if v is None else (v.isoformat() if isinstance(v, date) else v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def loose_date(value):
    """A loose date cell (2021/3/1, 2021年3月1日) as YYYY-MM-DD; anything else as it was."""
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
        errors["inspectors"] = t("import.unknown_inspectors", names=t("web.list_separator").join(unknown))
    elif twice:
        errors["inspectors"] = t("import.ambiguous_inspectors", names=t("web.list_separator").join(twice))
    return ids


def _pauses(value, errors: dict) -> list[dict]:
    if isinstance(value, (date, datetime)):
        value = value.strftime("%Y-%m-%d")
    out = []
    for n, part in enumerate(p.strip() for p in PAUSE_SPLIT.split(str(value or "")) if p.strip()):
        bounds = RANGE_SPLIT.split(part, maxsplit=1)
        if len(bounds) != 2:
            errors["pauses"] = t("import.pause_format", n=n + 1, part=part)
            return []
        out.append({"start_on": loose_date(bounds[0]), "end_on": loose_date(bounds[1]), "reason": ""})
    try:
        return registry.clean_pauses(out)
    except InvalidInput as exc:
        first_key, message = next(iter(exc.errors.items()))
        parts = first_key.split(".")
        if len(parts) == 3 and parts[1].isdigit():
            errors["pauses"] = t("import.pause_part_invalid", n=int(parts[1]) + 1, message=message)
        else:
            errors["pauses"] = t("import.pause_invalid", message=message)
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
        raw = {k: (loose_date(v) if k in DATE_FIELDS else v) for k, v in row.values.items()}
        try:
            row.record = registry.clean_site(raw) if parsed.kind == "sites" else registry.clean_plant(raw)
        except InvalidInput as exc:
            row.errors.update(exc.errors)
        if parsed.kind == "sites":
            row.inspector_ids = _inspectors(raw.get("inspectors"), index, ambiguous, row.errors)
            row.pauses = _pauses(raw.get("pauses"), row.errors)
        value = str(row.values.get(key) or "").strip()
        if value and key not in row.errors:
            column = field_label(parsed.kind, key)
            if value in existing:
                row.errors[key] = t("import.already_registered", field=column, value=value)
            elif value in first_row:
                row.errors[key] = t("import.duplicate_in_file", field=column, value=value, row=first_row[value])
            else:
                first_row[value] = row.number
    return parsed


def preview(db: Database, filename: str, content: bytes, kind: str) -> ParsedImport:
    """Read and validate a file without writing anything."""
    return check(db, parse_file(filename, content, kind))


def apply_import(db: Database, parsed: ParsedImport, actor: dict | None = None,
                 now: datetime | None = None) -> ParsedImport:
    """Re-check against the current database and write the accepted rows in one transaction; rejected rows are skipped."""
    if parsed.error:
        return parsed
    with write(db):
        check(db, parsed)
        for row in parsed.accepted:
            if parsed.kind == "sites":
                registry.save_site(db, row.record, inspector_ids=row.inspector_ids, pauses=row.pauses, actor=actor,
                                   now=now)
            else:
                registry.save_plant(db, row.record, actor=actor, now=now)
        parsed.written = len(parsed.accepted)
        audit.record(db, "sites_imported" if parsed.kind == "sites" else "plants_imported", user=actor,
                     target=parsed.filename,
                     detail={"written": parsed.written, "rejected": [r.number for r in parsed.rejected]}, now=now)
    return parsed


def template_csv(kind: str) -> bytes:
    """An import template as CSV (UTF-8 with BOM so Excel opens it correctly) with one example row."""
    return csv_bytes([headers(kind), EXAMPLES[kind]])


def template_xlsx(kind: str) -> bytes:
    """An import template as XLSX, dates as real date cells, with one example row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = t("import.sheet_sites") if kind == "sites" else t("import.sheet_plants")
    exports.append(ws, headers(kind))
    exports.append(ws, EXAMPLES[kind])
    for col, (key, _) in enumerate(COLUMNS[kind], start=1):
        ws.cell(row=1, column=col).font = Font(bold=True)
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = 18
        if key in DATE_FIELDS:
            ws.cell(row=2, column=col).number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
