"""A phone in a real browser: log with a photo, and log offline then send when the connection returns."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from fieldlog import registry
from fieldlog.db import scalar
from tests.conftest import browser_login

pytestmark = pytest.mark.browser

SITE = (27.0814, 112.9480)


def phone_with_gps(browser, lat: float, lon: float):
    """A context like the `phone` fixture, with geolocation granted at (lat, lon)."""
    return browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                               locale="zh-CN", timezone_id="Asia/Shanghai", permissions=["geolocation"],
                               geolocation={"latitude": lat, "longitude": lon, "accuracy": 12})


def make_site(db, name: str, reg_no: str, lat: float, lon: float) -> int:
    return registry.save_site(db, {"name": name, "reg_no": reg_no, "town": "城关镇", "started_on": "2020-01-01",
                                   "lat": str(lat), "lon": str(lon)})


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1800), (40, 140, 90)).save(out, "JPEG", quality=90)
    return out.getvalue()


def wait_for(check, timeout: float = 20.0):
    """Poll check() until it returns something truthy; fail after timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def wait_js(page, expression: str, timeout: float = 20.0):
    """Poll a JavaScript expression (page.wait_for_function would need eval, which the CSP forbids)."""
    return wait_for(lambda: page.evaluate(expression), timeout)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_log_a_safety_patrol_with_a_photo(browser, live_server, users, db):
    far = make_site(db, "衡东县杨林镇远处工地", "B-2", SITE[0] + 0.05, SITE[1])
    near = make_site(db, "衡东县城关镇安置小区", "B-1", *SITE)
    context = phone_with_gps(browser, SITE[0] + 0.0005, SITE[1])
    try:
        page = context.new_page()
        browser_login(page, live_server, "alice")
        page.goto(f"{live_server}/log")
        assert no_sideways_scroll(page)
        page.click("a[href='/log/safety_patrol']")
        page.wait_for_url("**/log/safety_patrol")
        # The position arrives, the list is reordered by distance: the nearby site comes first.
        page.wait_for_selector("#geo-status:has-text('已定位')")
        wait_js(page, "document.querySelector('#subjects .pick-name').textContent.includes('安置小区')")
        assert "米" in page.text_content("#subjects .dist")
        assert no_sideways_scroll(page)
        page.click(f"label.pick:has(input[value='site:{near}'])")
        page.click(".seg label:has-text('一般')")
        page.fill("input[name=hazards_general]", "2")
        page.set_input_files("#photos", files=[{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes()}])
        page.wait_for_selector("#thumbs img")
        page.click("#save-btn")
        page.wait_for_url("**/log?saved=*")
        event_id = page.url.split("saved=")[1]
        wait_for(lambda: scalar(db, "SELECT count(*) FROM event_photos WHERE event_id = ?", [event_id]) == 1)
        row = db.execute("SELECT kind, site_id, lat, accuracy_m, json_extract(data, '$.finding') FROM events WHERE id = ?",
                         [event_id]).fetchone()
        assert row == ("safety_patrol", near, pytest.approx(SITE[0] + 0.0005), 12, "一般")
        # Shrunk on the phone: long side 1600 px.
        assert db.execute("SELECT max(width, height) FROM event_photos WHERE event_id = ?", [event_id]).fetchone()[0] == 1600
        page.wait_for_selector(f"#today li[data-id='{event_id}']")
        page.wait_for_selector("#queue .queue-count:text-is('0')")
        assert far != near
    finally:
        context.close()


def fill_leaflets(page, base: str, place: str, copies: str) -> None:
    page.goto(f"{base}/log/leaflets")
    page.fill("input[name=place]", place)
    page.fill("input[name=copies]", copies)
    page.click("#save-btn")
    page.wait_for_url("**/log?saved=*")


def test_entries_made_offline_are_queued_then_sent_once(phone, live_server, users, db):
    page = phone.new_page()
    browser_login(page, live_server, "bob")
    page.goto(f"{live_server}/log")
    # Wait until the service worker controls the page and holds the logging pages.
    wait_js(page, "navigator.serviceWorker.controller !== null")
    wait_js(page, "caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.match('/log/leaflets')))))"
                  ".then(hits => hits.some(Boolean))")
    phone.set_offline(True)
    fill_leaflets(page, live_server, "城关镇集市", "120")
    fill_leaflets(page, live_server, "吴集镇集市", "80")
    page.wait_for_selector("#queue .queue-count:text-is('2')")
    assert page.locator("#queue-list li").count() == 2
    assert scalar(db, "SELECT count(*) FROM events") == 0
    phone.set_offline(False)
    wait_for(lambda: scalar(db, "SELECT count(*) FROM events") == 2, timeout=40)
    page.wait_for_selector("#queue .queue-count:text-is('0')", timeout=20000)
    time.sleep(1)  # any stray resend would land now
    rows = db.execute("SELECT place, json_extract(data, '$.copies') FROM events ORDER BY place").fetchall()
    assert sorted(rows) == [("吴集镇集市", 80), ("城关镇集市", 120)]
