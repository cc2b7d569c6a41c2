"""The chief on a phone: coverage cards at 360 px, risk first, a tap on a count opens the evidence."""

from __future__ import annotations

import pytest

from tests.conftest import browser_login
from tests.factories import event, plant, site

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded(db, users):
    a, b = users["alice"], users["bob"]
    done = site(db, name="衡东县城关镇滨江花园安置小区二期工程", town="城关镇", inspectors=[a])
    late = site(db, name="衡东县吴集镇人民医院住院楼", town="吴集镇", inspectors=[b])
    plant(db, name="衡东县恒通商品混凝土有限公司")
    for day in ("02", "09"):
        event(db, "enforcement_patrol", f"2021-03-{day}T10:00:00+08:00", by=a, site_id=done, fields={"order": "无"})
    event(db, "safety_patrol", "2021-03-03T10:00:00+08:00", by=a, site_id=done, fields={"finding": "无"})
    event(db, "enforcement_patrol", "2021-03-04T10:00:00+08:00", by=b, site_id=late, fields={"order": "无"})
    return {"done": done, "late": late}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_phone_coverage_risk_first_and_tap_to_evidence(phone, live_server, seeded):
    page = phone.new_page()
    browser_login(page, live_server, "carol")
    page.goto(f"{live_server}/chief/coverage?month=2021-03")
    first = page.locator("#site-coverage tbody tr").first
    assert first.locator(".state").inner_text() == "逾期"
    assert "人民医院住院楼" in first.inner_text()
    assert first.evaluate("el => getComputedStyle(el).display") != "table-row"   # a card
    assert no_sideways_scroll(page)
    count = first.locator("a.count").first
    box = count.bounding_box()
    assert box["height"] >= 44
    count.tap()
    page.wait_for_url(f"**/chief/sites/{seeded['late']}?month=2021-03&kind=enforcement_patrol")
    assert "计入 1 条" in page.inner_text(".evidence-count")
    assert page.locator(".timeline > li").count() == 1
    assert no_sideways_scroll(page)


def test_phone_town_filter_swaps_the_list(phone, live_server, seeded):
    page = phone.new_page()
    browser_login(page, live_server, "carol")
    page.goto(f"{live_server}/chief/coverage?month=2021-03")
    page.select_option("select[name=town]", "城关镇")
    page.wait_for_url("**town=%E5%9F%8E%E5%85%B3%E9%95%87**")
    rows = page.locator("#site-coverage tbody tr")
    assert rows.count() == 1 and "滨江花园" in rows.first.inner_text()
    assert no_sideways_scroll(page)


@pytest.mark.parametrize("path", ["/chief/followups", "/chief/pacing?year=2021", "/chief/inspectors?month=2021-03",
                                  "/chief/report?month=2021-03"])
def test_other_chief_pages_fit_a_phone(phone, live_server, seeded, path):
    page = phone.new_page()
    browser_login(page, live_server, "carol")
    page.goto(f"{live_server}{path}")
    assert no_sideways_scroll(page), path
