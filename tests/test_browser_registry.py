"""Real browser at a phone viewport: the admin adds a site through the form and finds it in the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fieldlog import registry
from tests.conftest import browser_login


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 360


@pytest.mark.browser
def test_admin_adds_site_on_a_phone(phone, live_server, db, users):
    registry.save_site(db, {"name": "吴集镇农贸市场", "reg_no": "HDJ-100", "town": "吴集镇", "started_on": "2021-01-01"})
    page = phone.new_page()
    browser_login(page, live_server, "dave")

    page.goto(f"{live_server}/sites/new")
    assert no_sideways_scroll(page)
    page.fill("input[name=name]", "衡东县城关镇第一中学教学楼")
    page.fill("input[name=reg_no]", "HDJ2021-077")
    page.fill("input[name=town]", "城关镇")
    page.fill("input[name=lat]", "27.0814")
    page.fill("input[name=lon]", "112.9480")
    page.fill("input[name=started_on]", "2021-03-01")
    page.check(f"input[name=inspector_ids][value='{users['alice']}']")
    page.locator("input[name=pause_start_on]").first.fill("2021-07-01")
    page.locator("input[name=pause_reason]").first.fill("雨季停工")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(lambda url: "/sites/new" not in url)
    assert "HDJ2021-077" in page.content() and "雨季停工" in page.content()
    assert no_sideways_scroll(page)

    page.goto(f"{live_server}/sites")
    assert page.locator("text=衡东县城关镇第一中学教学楼").count() == 1
    assert no_sideways_scroll(page)
    # live search: the list narrows without a page load
    page.fill("input[name=q]", "农贸")
    expect(page.locator("#site-rows")).not_to_contain_text("第一中学")
    assert "吴集镇农贸市场" in page.inner_text("#site-rows")
    assert page.url.endswith("/sites")  # no navigation happened
    assert no_sideways_scroll(page)


@pytest.mark.browser
def test_bad_coordinate_message_on_a_phone(phone, live_server, db, users):
    page = phone.new_page()
    browser_login(page, live_server, "dave")
    page.goto(f"{live_server}/sites/new")
    page.fill("input[name=name]", "坐标有误的工地")
    page.fill("input[name=reg_no]", "HDJ2021-078")
    page.fill("input[name=lat]", "北纬27度")
    page.fill("input[name=lon]", "112.9")
    page.click("form.stack button[type=submit]")
    assert page.locator(".field-error", has_text="纬度须为数字").count() == 1
    assert no_sideways_scroll(page)
    assert registry.search_sites(db, "坐标有误") == []


@pytest.mark.browser
def test_fill_coordinates_from_the_phone_location(phone, live_server, users):
    phone.grant_permissions(["geolocation"], origin=live_server)
    phone.set_geolocation({"latitude": 27.0814, "longitude": 112.948, "accuracy": 8})
    page = phone.new_page()
    browser_login(page, live_server, "dave")
    page.goto(f"{live_server}/plants/new")
    page.click("#use-location")
    expect(page.locator("input[name=lat]")).to_have_value("27.081400")
    expect(page.locator("input[name=lon]")).to_have_value("112.948000")
