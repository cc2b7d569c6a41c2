"""An indicator row's drill-down lists its newest events through its kind's own index (migration 024): a day full
of events (today, under a submission load) costs the page shown, not the day."""

from __future__ import annotations

from datetime import date

import pytest

from fieldlog import db as db_mod
from fieldlog.indicators import evidence, rollup, tables
from tests.conftest import make_users
from tests.factories import TZ, event, site
from tests.test_perf_bounds import _plans, _steps

TODAY = date(2021, 6, 15)
PAGE = 5   # a page this small makes the walk by day the read for a few hundred events (evidence.DENSE)


def _month_and_today(db, today_patrols: int) -> None:
    """120 safety patrols in May and June; today, `today_patrols` more and as many enforcement patrols."""
    sites = [site(db) for _ in range(4)]
    for i in range(120):
        day = date(2021, 5, 1 + i % 31) if i % 2 else date(2021, 6, 1 + i % 14)
        event(db, "safety_patrol", f"{day}T{8 + i % 10:02d}:00:00+08:00", site_id=sites[i % 4],
              fields={"finding": "无"})
    for i in range(today_patrols):
        when = f"{TODAY}T{8 + i // 60:02d}:{i % 60:02d}:00+08:00"
        event(db, "safety_patrol", when, site_id=sites[i % 4], fields={"finding": "无"})
        event(db, "enforcement_patrol", when, site_id=sites[i % 4])


def _page(db):
    row = tables.table_for_year(db, 2021).row("safety_patrols")
    explained = rollup.explain_row(db, row, 2021, TODAY, TZ)
    return evidence.event_rows(db, explained.ctx, explained.outcome, None, 0, PAGE)


@pytest.fixture
def quiet_and_busy_day(db, users, tmp_path):
    _month_and_today(db, 10)
    other = db_mod.open_db(tmp_path / "busy.db")
    make_users(other)
    _month_and_today(other, 100)
    yield db, other
    other.close()


def test_a_busy_day_costs_the_page_not_the_day(quiet_and_busy_day):
    quiet, busy = quiet_and_busy_day
    quiet_steps, (quiet_rows, quiet_total) = _steps(quiet, _page)
    busy_steps, (busy_rows, busy_total) = _steps(busy, _page)
    assert (quiet_total, busy_total) == (130, 220)
    for rows, last in ((quiet_rows, "08:09"), (busy_rows, "09:39")):
        assert [r["kind"] for r in rows] == ["safety_patrol"] * PAGE
        assert rows[0]["occurred_at"][11:16] == last      # newest first
        assert [r["occurred_at"] for r in rows] == sorted((r["occurred_at"] for r in rows), reverse=True)
    assert busy_steps < 2 * quiet_steps, (quiet_steps, busy_steps)


def test_one_kind_walks_its_own_index_and_several_kinds_the_day_index(db, users):
    _month_and_today(db, 100)
    row = tables.table_for_year(db, 2021).row("safety_patrols")
    plans = [plan for sql, plan in _plans(db, _page) if "LIMIT" in sql]
    assert plans and all("events_kind_day" in plan for plan in plans), plans
    quality = tables.table_for_year(db, 2021).row("construction_quality_rate")
    assert row.params["kind"] in quality.params["kinds"] and len(quality.params["kinds"]) > 1

    def several(db):
        explained = rollup.explain_row(db, quality, 2021, TODAY, TZ)
        return evidence.event_rows(db, explained.ctx, explained.outcome, None, 0, PAGE)

    plans = [plan for sql, plan in _plans(db, several) if "LIMIT" in sql]
    assert plans and all("events_day_time" in plan and "events_kind_day" not in plan for plan in plans), plans
