"""Offline is visible (issue 12 item 4), in a real browser against the real server: a banner while the phone is
offline, or while nothing reaches the server though the phone says it is online, shown without moving anything
on the page; a page the service worker never kept says so, at its own address, instead of showing /log there."""

from __future__ import annotations

import pytest

from tests.test_browser_log import fill_leaflets, ready_for_offline, wait_js

pytestmark = pytest.mark.browser

# Every layout shift the page records from now on (PerformanceObserver, buffered), summed like CLS.
WATCH_SHIFTS = """() => { window.__shift = 0;
  new PerformanceObserver(l => l.getEntries().forEach(e => { window.__shift += e.value; }))
    .observe({type: 'layout-shift', buffered: false}); }"""


def boxes(page) -> list:
    return page.evaluate("""[...document.querySelectorAll('header, main, main > *')].slice(0, 12)
      .map(e => { const r = e.getBoundingClientRect(); return [r.top, r.left, r.height]; })""")


def test_a_banner_shows_while_the_phone_is_offline_and_moves_nothing(phone, live_server, users, db):
    page = phone.new_page()
    ready_for_offline(page, live_server, "alice")
    assert page.is_hidden("#offline-banner")
    page.evaluate(WATCH_SHIFTS)
    before = boxes(page)
    phone.set_offline(True)
    page.wait_for_selector("#offline-banner:visible")
    assert "没有网络" in page.text_content("#offline-banner")
    assert page.get_attribute("#offline-banner", "role") == "status"
    page.wait_for_timeout(300)
    assert boxes(page) == before and page.evaluate("window.__shift") == 0
    # Offline, the logging pages still open from the phone, with the banner.
    fill_leaflets(page, live_server, "城关镇集市", "50")
    page.wait_for_selector("#offline-banner:visible")
    phone.set_offline(False)
    page.wait_for_selector("#offline-banner", state="hidden")
    wait_js(page, "fieldlogQueue.all().then(rs => rs.length === 0)")


def test_the_banner_also_shows_when_nothing_reaches_the_server(phone, cuttable_server, users, db):
    base, _, proxy = cuttable_server
    page = phone.new_page()
    ready_for_offline(page, base, "alice")
    proxy.cut()  # the phone says it is online (a weak signal, a captive network), but no request gets through
    fill_leaflets(page, base, "吴集镇集市", "30")  # the queue's attempt fails: the banner says so
    page.wait_for_selector("#offline-banner:visible")
    assert page.evaluate("navigator.onLine") is True
    proxy.restore()
    page.click("#send-now")  # the next request that gets through hides it
    page.wait_for_selector("#offline-banner", state="hidden")
    wait_js(page, "fieldlogQueue.all().then(rs => rs.length === 0)")


def test_a_page_never_kept_says_so_at_its_own_address(phone, live_server, users, db):
    page = phone.new_page()
    ready_for_offline(page, live_server, "carol")  # the chief: /chief is not one of the pages kept for offline
    page.goto(f"{live_server}/sites")
    phone.set_offline(True)
    page.goto(f"{live_server}/chief")
    assert page.url == f"{live_server}/chief"
    assert page.text_content("h1") == "这个页面没有保存在手机上"
    assert "没有网络" in page.text_content("main") and page.query_selector("#queue") is None  # not /log in disguise
    assert page.is_visible("#offline-banner")
    # A logging page the worker kept opens as itself.
    page.goto(f"{live_server}/log/leaflets")
    assert page.query_selector("#log-form") is not None
    phone.set_offline(False)
    page.goto(f"{live_server}/chief")
    assert page.text_content("h1") != "这个页面没有保存在手机上"
