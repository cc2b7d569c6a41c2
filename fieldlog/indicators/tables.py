"""Target tables as data: one TOML file per year and station, checked row by row, stored when loaded."""

from __future__ import annotations

import copy
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from fieldlog.db import write
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.events import ALL_KINDS
from fieldlog.indicators import figures
from fieldlog.indicators.rules import RULES, SURVEY_KINDS, check_combination
from fieldlog.messages import LABELS, t
from fieldlog.periods import utc_stamp

TABLES_DIR = Path(__file__).resolve().parent.parent / "tables"
COMPARATORS = (">=", "<=", "=", "text")
# The comparator signs of printed target texts (the full-width ＝ among them) are parsing tokens.
COMPARATOR_SIGNS = {"≥": ">=", "≧": ">=", ">=": ">=", "≤": "<=", "≦": "<=", "<=": "<=", "=": "=", "＝": "="}  # zh: data
TARGET_RE = re.compile(r"^\s*(≥|≧|>=|≤|≦|<=|=|＝)?\s*(\d+(?:\.\d+)?)\s*([^\d\s]*)\s*$")  # zh: data
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
REF_SUFFIX = "_of"                  # `annual_of = "safety_patrols"`: the number is that row's target
# The scoring settings a table file gets when its [scoring] section (or a setting of it) is absent.
# Weights are keyed by the 一级指标 texts of the table's rows (data the rows are matched on); grades and
# bands by English values (LABELS["grade"], LABELS["score_band"]), which a file may also name by label.
DEFAULT_SCORING = {
    "weights": {"产出指标": 50, "效益指标": 30, "满意度指标": 10},  # zh: data
    "budget_points": 10,
    "grades": {"met": 1.0, "partial": 0.8, "missed": 0.6},
    "bands": [{"grade": "excellent", "min": 90}, {"grade": "good", "min": 80}, {"grade": "fair", "min": 60},
              {"grade": "poor", "min": 0}],
}
BANDS_SHAPE = "{ grade, min }"


def enum_value(group: str, given) -> str | None:
    """The English value of LABELS[group] that `given` is, or whose Chinese label it is; None when neither."""
    labels = LABELS[group]
    if given in labels:
        return given
    return next((value for value, text in labels.items() if text == given), None)


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
        """Graded by the chief (met/partial/missed) rather than measured."""
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
        raise NotFound(t("tables.row_not_found"))


def known_kinds() -> set[str]:
    """The event kinds a table may name (fieldlog.events.KINDS, and the documents: a row may count notices)."""
    return set(ALL_KINDS)


def parse_target(text: str) -> Target | None:
    """`≤371.29万元` -> Target('<=', 371.29, '万元'); a bare `10次` is '>='; None when not a single number."""
    if not isinstance(text, str):
        return None  # a number or table where text belongs: the row's own check names it
    m = TARGET_RE.match(text)
    if not m:
        return None
    sign, number, unit = m.groups()
    return Target(COMPARATOR_SIGNS[sign] if sign else ">=", float(number), unit)


def check_param(kind: str, value, kinds: set[str]) -> str | None:
    """A zh-CN complaint when `value` is not of parameter type `kind`, else None."""
    if kind == "kind":
        return None if isinstance(value, str) and value in kinds else t("tables.unknown_kind", kind=value)
    if kind == "kinds":
        if not isinstance(value, list) or not value:
            return t("tables.need_kind_list")
        bad = [v for v in value if not isinstance(v, str) or v not in kinds]
        return t("tables.unknown_kind", kind=_listed(map(str, bad))) if bad else None
    if kind == "str":
        return None if isinstance(value, str) and re.fullmatch(r"[a-z_][a-z0-9_]*", value) else t("tables.need_field_name")
    if kind == "strlist":
        ok = isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        return None if ok else t("tables.need_text_list")
    if kind == "number":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else t("tables.need_positive")
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else t("tables.need_non_negative_int")
    if kind == "bool":
        return None if isinstance(value, bool) else t("tables.need_bool")
    choices = kind.split("|")
    return None if isinstance(value, str) and value in choices else t("tables.need_choice", choices=" / ".join(choices))


def _listed(items) -> str:
    """Items joined as a Chinese list (a、b、c)."""
    return t("indicators.list_separator").join(items)


def _row(raw: dict, number: int, kinds: set[str], targets: dict, errors: dict) -> TableRow | None:
    name = t("tables.row_name", number=number, name=raw.get("level3") or raw.get("key") or "?")

    def bad(field_name: str, message: str) -> None:
        errors[f"rows.{number}.{field_name}"] = t("tables.row_error", row=name, message=message)

    for level in ("level1", "level2", "level3", "key", "rule"):
        if not isinstance(raw.get(level), str) or not raw[level].strip():
            bad(level, t("tables.missing_field", field=level))
    if not isinstance(raw.get("target_text", ""), str):
        bad("target_text", t("tables.target_text_not_text"))
    unknown = set(raw) - {"key", "level1", "level2", "level3", "target_text", "target", "rule", "params", "points"}
    if unknown:
        bad("fields", t("tables.unknown_fields", fields=_listed(sorted(unknown))))
    if errors and any(k.startswith(f"rows.{number}.") for k in errors):
        return None
    if not KEY_RE.match(raw["key"]):
        bad("key", t("tables.bad_key"))
    rule = raw["rule"]
    if rule not in RULES:
        bad("rule", t("tables.unknown_rule", rule=rule, rules=_listed(RULES)))
    target = _target(raw, bad)
    params = raw.get("params", {})
    if not isinstance(params, dict):
        bad("params", t("tables.params_not_table"))
        params = {}
    params, refs = _params(rule, params, kinds, targets, bad) if rule in RULES else ({}, {})
    if rule in RULES and not any(k.startswith(f"rows.{number}.params") for k in errors):
        if (complaint := check_combination(rule, params)) is not None:
            bad("params", complaint)
    points = raw.get("points")
    if points is not None and not _in_cents(points):
        bad("points", t("tables.bad_points"))
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
            bad(f"params.{p}", t("tables.unknown_param", rule=rule, param=p))
        elif (complaint := check_param(spec.params[p], value, kinds)) is not None:
            bad(f"params.{p}", t("tables.bad_param", param=p, complaint=complaint))
    for p in spec.required:
        if p not in params and p not in refs:
            bad(f"params.{p}", t("tables.missing_param", rule=rule, param=p))
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
            bad(f"params.{p}", t("tables.param_twice", name=name, ref=p))
        refs[name] = key
    return refs


def _referred(kind: str, p: str, key, targets: dict[str, tuple[str, Target | None]], bad):
    """The target value of row `key` for parameter `p` (of type `kind`), or None after a Chinese complaint."""
    where, name = f"params.{p}{REF_SUFFIX}", f"{p}{REF_SUFFIX}"
    if not isinstance(key, str) or key not in targets:
        bad(where, t("tables.ref_unknown_row", param=name, row_key=key))
        return None
    level3, target = targets[key]
    if target is None or target.value is None:
        bad(where, t("tables.ref_not_number", param=name, level3=level3))
        return None
    value = int(target.value) if float(target.value).is_integer() else target.value
    if (complaint := check_param(kind, value, set())) is not None:
        bad(where, t("tables.ref_unfit", param=name, level3=level3, value=f"{value:g}", complaint=complaint))
        return None
    return value


def _target(raw: dict, bad) -> Target | None:
    given = raw.get("target")
    if given is None:
        parsed = parse_target(raw.get("target_text", ""))
        if parsed is None:
            bad("target", t("tables.target_unparsed", text=raw.get("target_text", "")))
        return parsed
    if not isinstance(given, dict) or given.get("comparator") not in COMPARATORS:
        bad("target", t("tables.bad_comparator"))
        return None
    value = given.get("value")
    if given["comparator"] != "text":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            bad("target", t("tables.value_not_number"))
            return None
        value = float(value)
    unit = given.get("unit", "")
    return Target(given["comparator"], value if given["comparator"] != "text" else None, str(unit))


def _scoring(raw, errors: dict) -> dict:
    scoring = copy.deepcopy({**DEFAULT_SCORING, **(raw if isinstance(raw, dict) else {})})
    weights = scoring.get("weights")
    if not isinstance(weights, dict) or not all(_in_cents(v) for v in weights.values()):
        errors["scoring.weights"] = t("tables.bad_weights")
    grades = _grades(scoring.get("grades"))
    if grades is None:
        errors["scoring.grades"] = t("tables.bad_grades")
    else:
        scoring["grades"] = grades
    bands = scoring.get("bands")
    if not isinstance(bands, list) or not all(isinstance(b, dict) and "grade" in b and "min" in b for b in bands):
        errors["scoring.bands"] = t("tables.bad_bands", shape=BANDS_SHAPE)
    else:
        # A default band may be named by its label (优); a station's own band names stay as written.
        bands = [{**b, "grade": enum_value("score_band", b["grade"]) or b["grade"]} for b in bands]
        scoring["bands"] = sorted(bands, key=lambda b: -b["min"])
    if not isinstance(scoring.get("budget_points"), (int, float)):
        errors["scoring.budget_points"] = t("tables.bad_budget_points")
    return scoring


def _in_cents(value) -> bool:
    """A 分值 or weight: a non-negative number with at most two decimals (points are shared in 0.01 units)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or not math.isfinite(value):
        return False
    return (figures.exact(value) * 100).denominator == 1


def _part_errors(rows: list[TableRow], weights: dict) -> dict[str, str]:
    """A part whose rows' own 分值 exceed its weight (or, when every row has its own, miss it) cannot sum to it."""
    errors = {}
    for part, weight in weights.items():
        mine = [r for r in rows if r.level1 == part]
        taken = sum(figures.exact(r.points) for r in mine if r.points is not None)
        free = any(r.points is None for r in mine)
        if mine and (taken > figures.exact(weight) or (not free and taken != figures.exact(weight))):
            errors[f"scoring.weights.{part}"] = t("tables.points_not_weight", part=part, taken=f"{float(taken):g}",
                                                  weight=f"{weight:g}")
    return errors


def _grades(given) -> dict[str, float] | None:
    """{grade value: share} from a file's grades, keyed by English value or Chinese label; None unless each grade once."""
    if not isinstance(given, dict):
        return None
    out = {}
    for name, share in given.items():
        value = enum_value("grade", name)
        if value is None or value in out:
            return None
        out[value] = share
    return out if set(out) == set(DEFAULT_SCORING["grades"]) else None


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
        raise InvalidInput({"file": t("tables.bad_toml", error=exc)}) from None
    errors: dict[str, str] = {}
    if not isinstance(raw.get("station"), str) or not raw["station"].strip():
        errors["station"] = t("tables.missing_station")
    year = raw.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = t("tables.bad_year")
    rows_raw = raw.get("rows")
    if not isinstance(rows_raw, list) or not rows_raw:
        errors["rows"] = t("tables.no_rows")
        rows_raw = []
    scoring = _scoring(raw.get("scoring"), errors)
    kinds = known_kinds() | set(SURVEY_KINDS)
    targets = _targets(rows_raw)
    rows, seen = [], {}
    for number, r in enumerate(rows_raw, start=1):
        if not isinstance(r, dict):
            errors[f"rows.{number}"] = t("tables.bad_row", number=number)
            continue
        row = _row(r, number, kinds, targets, errors)
        if row is None:
            continue
        if row.key in seen:
            errors[f"rows.{number}.key"] = t("tables.row_error", row=t("tables.row_name", number=number, name=row.level3),
                                             message=t("tables.duplicate_key", row_key=row.key, first=seen[row.key]))
        seen[row.key] = number
        rows.append(row)
    weights = scoring.get("weights") if isinstance(scoring.get("weights"), dict) else {}
    for row in rows:
        if weights and row.level1 not in weights:
            errors[f"rows.{row.number}.level1"] = t("tables.row_error",
                                                    row=t("tables.row_name", number=row.number, name=row.level3),
                                                    message=t("tables.no_weight", level1=row.level1))
    if weights and "scoring.weights" not in errors:
        errors.update(_part_errors(rows, weights))
    if errors:
        raise InvalidInput(errors)
    return TargetTable(raw["station"].strip(), year, str(raw.get("title", t("tables.default_title", year=year))),
                       scoring, rows, source=text)


@lru_cache(maxsize=16)
def _parsed(text: str) -> TargetTable:
    """A table file parsed and checked once per text (every indicator page asks for its year's table); callers
    copy it. A bad text raises each time (nothing is kept of it)."""
    return parse_table(text)


def shipped_tables() -> dict[int, Path]:
    """{year: file} of the tables that ship with fieldlog."""
    out = {}
    for path in sorted(TABLES_DIR.glob("*.toml")):
        m = re.search(r"(\d{4})\.toml$", path.name)
        if m:
            out[int(m.group(1))] = path
    return out


def load_table(db: Database, text: str, loaded_by: str | None = None, now: datetime | None = None) -> TargetTable:
    """Check a table file and store it as its year's table (earlier loads are kept); `now` stamps the load."""
    table = parse_table(text)
    at = utc_stamp(now)
    with write(db):
        db.execute("INSERT INTO target_tables (year, station, source, loaded_at, loaded_by) VALUES (?, ?, ?, ?, ?)",
                   [table.year, table.station, text, at, loaded_by])
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
    raise NotFound(t("tables.no_table", year=year))


def table_for_year(db: Database, year: int) -> TargetTable:
    """The table in force for `year` (see table_source); an inherited one says `inherited_from`.

    The text is read on every call (a loaded table or an edited file counts at once); its parse is kept per text
    (_parsed), and each caller gets its own copy of it.
    """
    text, origin = table_source(db, year)
    table = copy.deepcopy(_parsed(text))
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
