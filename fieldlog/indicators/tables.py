"""Target tables as data: one TOML file per year and station, checked row by row, stored when loaded."""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from fieldlog.db import write
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.events import KINDS
from fieldlog.indicators.rules import RULES, SURVEY_KINDS, check_combination

TABLES_DIR = Path(__file__).resolve().parent.parent / "tables"
COMPARATORS = (">=", "<=", "=", "text")
COMPARATOR_SIGNS = {"≥": ">=", "≧": ">=", ">=": ">=", "≤": "<=", "≦": "<=", "<=": "<=", "=": "=", "＝": "="}
TARGET_RE = re.compile(r"^\s*(≥|≧|>=|≤|≦|<=|=|＝)?\s*(\d+(?:\.\d+)?)\s*([^\d\s]*)\s*$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
REF_SUFFIX = "_of"                  # `annual_of = "safety_patrols"`: the number is that row's target
# The scoring settings a table file gets when its [scoring] section (or a setting of it) is absent.
DEFAULT_SCORING = {
    "weights": {"产出指标": 50, "效益指标": 30, "满意度指标": 10},
    "budget_points": 10,
    "grades": {"达成": 1.0, "部分达成": 0.8, "未达成": 0.6},
    "bands": [{"grade": "优", "min": 90}, {"grade": "良", "min": 80}, {"grade": "中", "min": 60}, {"grade": "差", "min": 0}],
}


@dataclass(frozen=True)
class Target:
    """The parsed 指标值: comparator (>=, <=, = or text), number and unit."""

    comparator: str
    value: float | None = None
    unit: str = ""

    def as_dict(self) -> dict:
        return {"comparator": self.comparator, "value": self.value, "unit": self.unit}


@dataclass
class TableRow:
    """One row of the target table."""

    key: str
    level1: str
    level2: str
    level3: str
    target_text: str
    target: Target
    rule: str
    params: dict = field(default_factory=dict)
    points: float | None = None      # 分值 set in the file (None: shared from the part's weight)
    number: int = 0                  # 1-based position in the table
    refs: dict = field(default_factory=dict)  # parameter -> key of the row whose target it takes

    @property
    def manual(self) -> bool:
        return RULES[self.rule].manual

    @property
    def qualitative(self) -> bool:
        """Graded by the chief (达成/部分达成/未达成) rather than measured."""
        return RULES[self.rule].qualitative

    @property
    def cumulative(self) -> bool:
        """An annual quantity that grows through the year (count, sum, distinct)."""
        return RULES[self.rule].cumulative


@dataclass
class TargetTable:
    """A year's table: station, scoring settings and rows in printed order."""

    station: str
    year: int
    title: str
    scoring: dict
    rows: list[TableRow]
    source: str = ""
    origin: str = "shipped"          # shipped | loaded | inherited
    inherited_from: int | None = None

    def row(self, key: str) -> TableRow:
        for r in self.rows:
            if r.key == key:
                return r
        raise NotFound("找不到该指标")


def known_kinds() -> set[str]:
    """The event kinds a table may name (fieldlog.events.KINDS)."""
    return set(KINDS)


def parse_target(text: str) -> Target | None:
    """`≤371.29万元` -> Target('<=', 371.29, '万元'); a bare `10次` is '>='; None when not a single number."""
    m = TARGET_RE.match(text or "")
    if not m:
        return None
    sign, number, unit = m.groups()
    return Target(COMPARATOR_SIGNS[sign] if sign else ">=", float(number), unit)


def check_param(kind: str, value, kinds: set[str]) -> str | None:
    """A zh-CN complaint when `value` is not of parameter type `kind`, else None."""
    if kind == "kind":
        return None if isinstance(value, str) and value in kinds else f"事件类型「{value}」不存在"
    if kind == "kinds":
        if not isinstance(value, list) or not value:
            return "须为事件类型列表"
        bad = [v for v in value if v not in kinds]
        return f"事件类型「{'、'.join(map(str, bad))}」不存在" if bad else None
    if kind == "str":
        return None if isinstance(value, str) and re.fullmatch(r"[a-z_][a-z0-9_]*", value) else "须为字段名（小写英文）"
    if kind == "strlist":
        return None if isinstance(value, list) and value and all(isinstance(v, str) for v in value) else "须为文字列表"
    if kind == "number":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else "须为正数"
    if kind == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else "须为非负整数"
    if kind == "bool":
        return None if isinstance(value, bool) else "须为 true 或 false"
    choices = kind.split("|")
    return None if value in choices else f"须为 {' / '.join(choices)} 之一"


def _row(raw: dict, number: int, kinds: set[str], targets: dict, errors: dict) -> TableRow | None:
    name = f"第{number}行「{raw.get('level3') or raw.get('key') or '?'}」"

    def bad(field_name: str, message: str) -> None:
        errors[f"rows.{number}.{field_name}"] = f"{name}：{message}"

    for level in ("level1", "level2", "level3", "key", "rule"):
        if not isinstance(raw.get(level), str) or not raw[level].strip():
            bad(level, f"缺少 {level}")
    if not isinstance(raw.get("target_text", ""), str):
        bad("target_text", "target_text 须为文字")
    unknown = set(raw) - {"key", "level1", "level2", "level3", "target_text", "target", "rule", "params", "points"}
    if unknown:
        bad("fields", f"未知的项「{'、'.join(sorted(unknown))}」")
    if errors and any(k.startswith(f"rows.{number}.") for k in errors):
        return None
    if not KEY_RE.match(raw["key"]):
        bad("key", "key 只能用小写英文字母、数字和下划线，以字母开头")
    rule = raw["rule"]
    if rule not in RULES:
        bad("rule", f"未知的计算规则「{rule}」（可用：{'、'.join(RULES)}）")
    target = _target(raw, bad)
    params = raw.get("params", {})
    if not isinstance(params, dict):
        bad("params", "params 须为表")
        params = {}
    params, refs = _params(rule, params, kinds, targets, bad) if rule in RULES else ({}, {})
    if rule in RULES and not any(k.startswith(f"rows.{number}.params") for k in errors):
        if (complaint := check_combination(rule, params)) is not None:
            bad("params", complaint)
    points = raw.get("points")
    if points is not None and (isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0):
        bad("points", "分值须为非负数")
    if any(k.startswith(f"rows.{number}.") for k in errors):
        return None
    return TableRow(raw["key"], raw["level1"].strip(), raw["level2"].strip(), raw["level3"].strip(),
                    raw.get("target_text", ""), target, rule, params,
                    float(points) if points is not None else None, number, refs)


def _params(rule: str, given: dict, kinds: set[str], targets: dict, bad) -> tuple[dict, dict[str, str]]:
    """A row's parameters checked against its rule, with references replaced by the targets they name; and the references."""
    spec = RULES[rule]
    refs = _refs(spec, given, bad)
    params = {p: v for p, v in given.items() if p.removesuffix(REF_SUFFIX) not in refs}
    for p, value in params.items():
        if p not in spec.params:
            bad(f"params.{p}", f"规则 {rule} 没有参数「{p}」")
        elif (complaint := check_param(spec.params[p], value, kinds)) is not None:
            bad(f"params.{p}", f"参数 {p}：{complaint}")
    for p in spec.required:
        if p not in params and p not in refs:
            bad(f"params.{p}", f"规则 {rule} 须给出参数「{p}」")
    for p, key in refs.items():
        if (value := _referred(spec.params[p], p, key, targets, bad)) is not None:
            params[p] = value
    return params, refs


def _refs(spec, given: dict, bad) -> dict[str, str]:
    """{parameter: row key} of the numeric parameters written `NAME_of = "key"` (that row's target)."""
    refs = {}
    for p, key in given.items():
        name = p.removesuffix(REF_SUFFIX)
        if name == p or spec.params.get(name) not in ("int", "number"):
            continue
        if name in given:
            bad(f"params.{p}", f"参数 {name} 与 {p} 只能给出其一")
        refs[name] = key
    return refs


def _referred(kind: str, p: str, key, targets: dict[str, tuple[str, Target | None]], bad):
    """The target value of row `key` for parameter `p` (of type `kind`), or None after a Chinese complaint."""
    where, name = f"params.{p}{REF_SUFFIX}", f"参数 {p}{REF_SUFFIX}"
    if not isinstance(key, str) or key not in targets:
        bad(where, f"{name}：找不到 key 为「{key}」的指标行")
        return None
    level3, target = targets[key]
    if target is None or target.value is None:
        bad(where, f"{name}：指标行「{level3}」的指标值不是数字")
        return None
    value = int(target.value) if float(target.value).is_integer() else target.value
    if (complaint := check_param(kind, value, set())) is not None:
        bad(where, f"{name}：指标行「{level3}」的指标值 {value:g} 不合用（{complaint}）")
        return None
    return value


def _target(raw: dict, bad) -> Target | None:
    given = raw.get("target")
    if given is None:
        parsed = parse_target(raw.get("target_text", ""))
        if parsed is None:
            bad("target", f"无法解析指标值「{raw.get('target_text', '')}」：请写成 ≥/≤/= 加数字和单位，"
                          "或给出 target = {{ comparator = \"text\" }}")
        return parsed
    if not isinstance(given, dict) or given.get("comparator") not in COMPARATORS:
        bad("target", "target.comparator 须为 >=、<=、= 或 text")
        return None
    value = given.get("value")
    if given["comparator"] != "text":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            bad("target", "target.value 须为数字")
            return None
        value = float(value)
    unit = given.get("unit", "")
    return Target(given["comparator"], value if given["comparator"] != "text" else None, str(unit))


def _scoring(raw, errors: dict) -> dict:
    scoring = copy.deepcopy({**DEFAULT_SCORING, **(raw if isinstance(raw, dict) else {})})
    weights = scoring.get("weights")
    if not isinstance(weights, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in weights.values()):
        errors["scoring.weights"] = "scoring.weights 须为 一级指标 = 分值"
    grades = scoring.get("grades")
    if not isinstance(grades, dict) or set(grades) != set(DEFAULT_SCORING["grades"]):
        errors["scoring.grades"] = "scoring.grades 须给出 达成、部分达成、未达成 三档的得分比例"
    bands = scoring.get("bands")
    if not isinstance(bands, list) or not all(isinstance(b, dict) and "grade" in b and "min" in b for b in bands):
        errors["scoring.bands"] = "scoring.bands 须为 { grade, min } 列表"
    else:
        scoring["bands"] = sorted(bands, key=lambda b: -b["min"])
    if not isinstance(scoring.get("budget_points"), (int, float)):
        errors["scoring.budget_points"] = "scoring.budget_points 须为数字"
    return scoring


def _targets(rows_raw: list) -> dict[str, tuple[str, Target | None]]:
    """{row key: (三级指标, parsed target)} of every row, for parameters that refer to another row's target."""
    quiet = lambda *_: None  # noqa: E731 — each row's own check reports a bad target
    return {r["key"]: (str(r.get("level3", "")).strip(), _target(r, quiet)) for r in rows_raw
            if isinstance(r, dict) and isinstance(r.get("key"), str)}


def parse_table(text: str) -> TargetTable:
    """Parse and check a table file; InvalidInput naming every bad row (in Chinese) when it is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput({"file": f"目标表文件格式错误（TOML）：{exc}"}) from None
    errors: dict[str, str] = {}
    if not isinstance(raw.get("station"), str) or not raw["station"].strip():
        errors["station"] = "缺少单位名称 station"
    year = raw.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = "year 须为年份（如 2021）"
    rows_raw = raw.get("rows")
    if not isinstance(rows_raw, list) or not rows_raw:
        errors["rows"] = "目标表没有任何指标行（[[rows]]）"
        rows_raw = []
    scoring = _scoring(raw.get("scoring"), errors)
    kinds = known_kinds() | set(SURVEY_KINDS)
    targets = _targets(rows_raw)
    rows, seen = [], {}
    for number, r in enumerate(rows_raw, start=1):
        if not isinstance(r, dict):
            errors[f"rows.{number}"] = f"第{number}行格式错误"
            continue
        row = _row(r, number, kinds, targets, errors)
        if row is None:
            continue
        if row.key in seen:
            errors[f"rows.{number}.key"] = f"第{number}行「{row.level3}」：key「{row.key}」与第{seen[row.key]}行重复"
        seen[row.key] = number
        rows.append(row)
    weights = scoring.get("weights") if isinstance(scoring.get("weights"), dict) else {}
    for row in rows:
        if weights and row.level1 not in weights:
            errors[f"rows.{row.number}.level1"] = f"第{row.number}行「{row.level3}」：一级指标「{row.level1}」在 scoring.weights 中没有分值"
    if errors:
        raise InvalidInput(errors)
    return TargetTable(raw["station"].strip(), year, str(raw.get("title", f"{year}年部门整体支出绩效目标表")),
                       scoring, rows, source=text)


def shipped_tables() -> dict[int, Path]:
    """{year: file} of the tables that ship with fieldlog."""
    out = {}
    for path in sorted(TABLES_DIR.glob("*.toml")):
        m = re.search(r"(\d{4})\.toml$", path.name)
        if m:
            out[int(m.group(1))] = path
    return out


def load_table(db: Database, text: str, loaded_by: str | None = None) -> TargetTable:
    """Check a table file and store it as its year's table (earlier loads are kept)."""
    table = parse_table(text)
    with write(db):
        db.execute("INSERT INTO target_tables (year, station, source, loaded_at, loaded_by) VALUES (?, ?, ?, ?, ?)",
                   [table.year, table.station, text, datetime.now(timezone.utc).isoformat(timespec="seconds"), loaded_by])
    table.origin = "loaded"
    return table


def table_source(db: Database, year: int) -> tuple[str, str]:
    """(text, origin) of the table for `year`: the newest loaded one, else the shipped one, else the nearest earlier year's.

    A year without a table of its own inherits the most recent earlier table (loaded or shipped;
    failing that, the earliest shipped one) so the station keeps last year's targets until it loads
    new ones; origin is "loaded", "shipped" or "inherited".
    """
    row = db.conn.execute("SELECT source FROM target_tables WHERE year = ? ORDER BY id DESC LIMIT 1", [year]).fetchone()
    if row:
        return row[0], "loaded"
    shipped = shipped_tables()
    if year in shipped:
        return shipped[year].read_text(encoding="utf-8"), "shipped"
    loaded = db.conn.execute("SELECT year, source FROM target_tables WHERE year < ? ORDER BY year DESC, id DESC LIMIT 1",
                             [year]).fetchone()
    earlier = [y for y in shipped if y < year]
    if loaded and (not earlier or loaded[0] >= max(earlier)):
        return loaded[1], "inherited"
    if shipped:
        return shipped[max(earlier) if earlier else min(shipped)].read_text(encoding="utf-8"), "inherited"
    raise NotFound(f"没有 {year} 年的目标表")


def table_for_year(db: Database, year: int) -> TargetTable:
    """The table in force for `year` (see table_source); an inherited one says `inherited_from`."""
    text, origin = table_source(db, year)
    table = parse_table(text)
    table.origin = origin
    if origin == "inherited":
        table.inherited_from, table.year = table.year, year
    return table


def table_loads(db: Database, year: int) -> list[dict]:
    """Load history of a year's table (newest first), without the text."""
    return list(db.query("SELECT id, year, station, loaded_at, loaded_by FROM target_tables WHERE year = ? "
                         "ORDER BY id DESC", [year]))


def recent_loads(db: Database, limit: int = 50) -> list[dict]:
    """The latest loads of every year's table (newest first), without the text."""
    return list(db.query("SELECT id, year, station, loaded_at, loaded_by FROM target_tables ORDER BY id DESC LIMIT ?",
                         [limit]))
