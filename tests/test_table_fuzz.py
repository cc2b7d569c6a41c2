"""Any target-table file the admin uploads is either loaded or refused with Chinese messages, never a crash."""

from __future__ import annotations

import re
import tomllib

from hypothesis import HealthCheck, given, settings, strategies as st

from fieldlog.errors import InvalidInput
from fieldlog.indicators import tables

SHIPPED = tomllib.loads((tables.TABLES_DIR / "hengdong-2021.toml").read_text(encoding="utf-8"))
CJK = re.compile(r"[\u4e00-\u9fff]")

# TOML values of every type a hand-edited file may put where another was expected.
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "kind", "value"]), inner, max_size=3),
    max_leaves=6)


def _toml(value, key: str = "") -> str:
    """A TOML text for a Python value (None becomes an absent key, shown here as an empty table)."""
    if value is None:
        return "{}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and abs(value) != float("inf") else "0"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"


def _dump(doc: dict) -> str:
    """The table document back as TOML (the shapes the shipped file uses: scalars, [scoring], [[rows]])."""
    lines = [f"{k} = {_toml(v)}" for k, v in doc.items() if not isinstance(v, (dict, list)) or k not in ("rows", "scoring")]
    if isinstance(doc.get("scoring"), dict):
        lines += ["[scoring]"] + [f"{k} = {_toml(v)}" for k, v in doc["scoring"].items()]
    rows = doc.get("rows")
    if isinstance(rows, list):
        for row in rows:
            if isinstance(row, dict):
                lines += ["[[rows]]"] + [f"{k} = {_toml(v)}" for k, v in row.items()]
    elif rows is not None:
        lines.append(f"rows = {_toml(rows)}")
    return "\n".join(lines) + "\n"


@st.composite
def mutated(draw) -> str:
    """The shipped table with a few values (top level, a row's field or a rule parameter) replaced."""
    doc = {k: (list(map(dict, v)) if k == "rows" else v) for k, v in SHIPPED.items()}
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["top", "row", "param"]))
        value = draw(VALUES)
        if where == "top":
            doc[draw(st.sampled_from(["year", "station", "rows", "scoring"]))] = value
        elif isinstance(doc.get("rows"), list) and doc["rows"]:
            row = doc["rows"][draw(st.integers(0, len(doc["rows"]) - 1))]
            if not isinstance(row, dict):
                continue
            if where == "row":
                row[draw(st.sampled_from(["key", "level1", "level3", "target_text", "target", "rule", "points"]))] = value
            elif isinstance(row.get("params"), dict) and row["params"]:
                row["params"] = {**row["params"], draw(st.sampled_from(sorted(row["params"]))): value}
    return _dump(doc)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_table_loads_or_is_refused_in_chinese(text):
    try:
        tables.parse_table(text)
    except InvalidInput as exc:
        assert exc.errors and all(CJK.search(m) for m in exc.errors.values()), exc.errors


def test_the_dump_round_trips_the_shipped_table():
    """The fuzzer's writer is faithful: the shipped table, written back, parses to the same rows."""
    again = tables.parse_table(_dump(SHIPPED))
    assert [r.key for r in again.rows] == [r["key"] for r in SHIPPED["rows"]]
