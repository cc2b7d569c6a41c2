"""Indicators follow the notices (issue 14 item 6): the rule `notices` (count, 重大 items, closed by the deadline),
`count` of kind `notice`, and a table row naming them, on figures worked out by hand."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from fieldlog import events
from fieldlog.errors import InvalidInput
from fieldlog.indicators import rules, tables
from fieldlog.indicators.rules import Context
from fieldlog.indicators.tables import Target
from tests import factories
from tests.factories import TZ
from tests.test_notices import add_step, issue

SHIPPED = Path(tables.__file__).resolve().parent.parent / "tables" / "hengdong-2021.toml"


def run(db, rule: str, as_of: str, **params) -> rules.Outcome:
    ctx = Context(db, 2021, date.fromisoformat(as_of), TZ)
    return rules.RULES[rule].fn(ctx, Target(">=", 1, ""), **params)


@pytest.fixture
def year(db, users):
    """Four notices in 2021 and one voided (hand count):
    A rectify, due 06-20, closed 06-18 (on time); B rectify, due 06-25, closed 07-02 (late);
    C stop_work with 2 重大 items, due 07-10, open; D rectify, due 12-30, open; E voided (counts nowhere)."""
    site = factories.site(db)
    late_now = datetime(2021, 12, 31, 12, tzinfo=TZ)
    a = issue(db, users, site, deadline="2021-06-20")
    b = issue(db, users, site, deadline="2021-06-25")
    for n, days in ((a, ("06-16", "06-17", "06-18")), (b, ("06-28", "07-01", "07-02"))):
        for step, day in zip(("replied", "review_passed", "closed"), days):
            add_step(db, users, n, step, occurred_at=f"2021-{day}T09:00:00+08:00", now=late_now,
                     **({"reply_text": "已整改"} if step == "replied" else {}))
    issue(db, users, site, notice_type="stop_work", deadline="2021-07-10",
          items=[{"description": "塔吊未验收", "major": True, "criterion_id": "8.1"},
                 {"description": "未设连墙件", "major": True, "criterion_id": "7.2"}])
    issue(db, users, site, deadline="2021-12-30")
    e = issue(db, users, site)
    events.void(db, e["id"], user=factories.user(db, "alice"), reason="录入错误", now=late_now)
    return db


@pytest.mark.parametrize("measure, as_of, actual", [
    ("count", "2021-12-31", 4),
    ("count", "2021-06-14", 0),          # issued on 06-15
    ("major", "2021-12-31", 5),          # A, B and D list one 重大 each (the default items), C two; E voided
    ("on_time", "2021-06-30", 50),       # due by then: A (on time), B (not closed by 06-30) → 1/2
    ("on_time", "2021-12-31", 25),       # due: A, B, C, D → only A closed by its deadline
])
def test_notices_rule(year, measure, as_of, actual):
    outcome = run(year, "notices", as_of, measure=measure)
    assert float(outcome.actual) == actual


def test_notices_rule_by_type(year):
    assert run(year, "notices", "2021-12-31", measure="count", types=["stop_work"]).actual == 1


def test_count_of_kind_notice(year):
    assert run(year, "count", "2021-12-31", kind="notice").actual == 4
    assert run(year, "count", "2021-12-31", kind="notice_step").actual == 6


def _table(extra: str) -> str:
    return SHIPPED.read_text(encoding="utf-8") + extra


ROW = '''
[[rows]]
key = "notices_on_time"
level1 = "产出指标"
level2 = "时效指标"
level3 = "整改通知书按期销号"
target_text = "≥90%"
rule = "notices"
params = {{ measure = "on_time"{extra} }}
points = 0
'''


def test_a_table_row_may_read_the_notices():
    table = tables.parse_table(_table(ROW.format(extra=', types = ["rectify", "stop_work"]')))
    assert table.row("notices_on_time").params["types"] == ["rectify", "stop_work"]


def test_a_table_row_naming_an_unknown_notice_type_is_refused():
    with pytest.raises(InvalidInput) as err:
        tables.parse_table(_table(ROW.format(extra=', types = ["warning"]')))
    assert any("没有这种通知书类别：warning" in m for m in err.value.errors.values())
