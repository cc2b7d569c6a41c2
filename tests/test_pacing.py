"""Pacing of the year: expected-by-today amounts over the roll-up's actuals, and the server-rendered chart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from fieldlog import pacing
from tests.factories import TZ, event, site


@pytest.mark.parametrize("as_of, expected", [
    (date(2020, 12, 31), 0.0),
    (date(2021, 1, 1), 1 / 365),
    (date(2021, 7, 2), 183 / 365),
    (date(2021, 12, 31), 1.0),
    (date(2022, 3, 1), 1.0),
])
def test_elapsed_fraction_by_day(as_of, expected):
    assert pacing.elapsed_fraction(2021, as_of) == pytest.approx(expected)


def test_leap_year_has_366_days():
    assert pacing.elapsed_fraction(2024, date(2024, 12, 30)) == pytest.approx(365 / 366)


@pytest.mark.parametrize("target, fraction, decimals, expected", [
    (500, 183 / 365, 0, Decimal("250")),      # 250.68: a whole patrol is expected only once it is due
    (6000, 0.5, 0, Decimal("3000")),
    (50, 0.38356, 2, Decimal("19.17")),
    (10, 0.0, 0, Decimal("0")),
])
def test_expected_amount(target, fraction, decimals, expected):
    assert pacing.expected_amount(target, fraction, decimals) == expected


@pytest.mark.parametrize("comparator, actual, expected, behind", [
    (">=", 190, Decimal("191"), True),
    (">=", 191, Decimal("191"), False),
    ("<=", 20.5, Decimal("19.17"), True),   # spending ahead of the cap's pace
    ("<=", 10, Decimal("19.17"), False),
])
def test_is_behind(comparator, actual, expected, behind):
    assert pacing.is_behind(comparator, actual, expected) is behind


def test_for_year_uses_the_rollup_actuals(db, users):
    a = users["alice"]
    s = site(db)
    for day in range(1, 11):
        event(db, "safety_patrol", f"2021-01-{day:02d}T10:00:00+08:00", by=a, site_id=s, fields={"finding": "无"})
    event(db, "safety_patrol", "2021-01-11T10:00:00+08:00", by=a, site_id=s, fields={"finding": "无"}, voided=True)
    event(db, "leaflets", "2021-01-05T10:00:00+08:00", by=a, fields={"copies": 200})
    result = pacing.for_year(db, 2021, date(2021, 1, 31), TZ)
    rows = {r.key: r for r in result.rows}
    assert {"safety_patrols", "leaflets", "permits", "completion_filings", "campaigns", "plants_inspected"} <= set(rows)
    assert "enforcement_site_monthly" not in rows   # a per-period row is not an annual quantity
    assert rows["safety_patrols"].actual == 10 and rows["safety_patrols"].expected == Decimal("42")  # 500 × 31/365
    assert rows["safety_patrols"].behind
    assert rows["leaflets"].actual == 200 and rows["leaflets"].expected == Decimal("509") and rows["leaflets"].behind
    early = {r.key: r for r in pacing.for_year(db, 2021, date(2021, 1, 5), TZ).rows}
    assert early["safety_patrols"].actual == 5 and early["safety_patrols"].behind   # 5 < 500 × 5/365 = 6.8 → 6
    assert early["leaflets"].expected == Decimal("82") and not early["leaflets"].behind
    assert pacing.for_year(db, 2021, date(2021, 1, 31), TZ).as_of == date(2021, 1, 31)


def test_pacing_page_renders_svg_and_highlights(client_for, db, users):
    s = site(db)
    event(db, "safety_patrol", "2021-03-01T10:00:00+08:00", by=users["alice"], site_id=s, fields={"finding": "无"})
    client = client_for("carol")
    html = client.get("/chief/pacing?year=2021").text
    assert "<svg" in html and "class=\"tick\"" in html and "<script" not in html.split("<main>")[1]
    assert 'class="behind st-overdue"' in html                 # a past year far from its targets
    assert '/chief/events?kind=safety_patrol&amp;year=2021">1</a>' in html
    assert client.get("/chief/pacing?year=21").status_code == 422
