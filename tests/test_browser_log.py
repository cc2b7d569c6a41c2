"""A phone in a real browser: log with a photo, log offline and send later (each entry stored once), and
what the inspector sees when the server refuses an entry, the session expires or they log out with entries unsent."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from fieldlog import events
from fieldlog.db import scalar
from tests.conftest import browser_login
from tests.factories import SITE_AT, event, site

pytestmark = pytest.mark.browser

SITE = SITE_AT


def phone_with_gps(browser, lat: float, lon: float):
    """A context like the `phone` fixture, with geolocation granted at (lat, lon)."""
    return browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                               locale="zh-CN", timezone_id="Asia/Shanghai", permissions=["geolocation"],
                               geolocation={"latitude": lat, "longitude": lon, "accuracy": 12})


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1800), (40, 140, 90)).save(out, "JPEG", quality=90)
    return out.getvalue()


def wait_for(check, timeout: float = 20.0, page=None):
    """Poll check() until it returns something truthy; fail after timeout seconds.

    With a page, waiting goes through Playwright so that its events (dialogs) are handled meanwhile."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        page.wait_for_timeout(200) if page else time.sleep(0.2)
    raise AssertionError("condition not met in time")


def wait_js(page, expression: str, timeout: float = 20.0):
    """Poll a JavaScript expression (page.wait_for_function would need eval, which the CSP forbids)."""
    return wait_for(lambda: page.evaluate(expression), timeout)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_log_a_safety_patrol_with_a_photo(browser, live_server, users, db):
    # By name the far site comes first (一 sorts before 城): only the distance puts the near one on top.
    far = site(db, name="衡东县一中远处工地", reg_no="B-2", location=(SITE[0] + 0.05, SITE[1]))
    near = site(db, name="衡东县城关镇安置小区", reg_no="B-1", location=SITE)
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
        try:
            page.wait_for_selector("#queue", state="hidden")  # shown only with entries
        except Exception:
            left = page.evaluate("fieldlogQueue.all().then(rs => rs.map(r => [r.state, r.eventAck, r.photosDone, r.started, r.status, r.error]))")
            raise AssertionError(f"queue still shown: {page.text_content('#queue')!r}; entries {left}; "
                                 f"controlled: {page.evaluate('!!navigator.serviceWorker.controller')}")
        assert scalar(db, "SELECT count(*) FROM events WHERE site_id = ?", [far]) == 0
    finally:
        context.close()


def fill_leaflets(page, base: str, place: str, copies: str) -> None:
    page.goto(f"{base}/log/leaflets")
    page.fill("input[name=place]", place)
    page.fill("input[name=copies]", copies)
    page.click("#save-btn")
    page.wait_for_url("**/log?saved=*")


def ready_for_offline(page, base: str, username: str) -> None:
    """Sign in and wait until the service worker controls the page and holds the logging pages."""
    browser_login(page, base, username)
    page.goto(f"{base}/log")
    wait_js(page, "navigator.serviceWorker.controller !== null")
    wait_cached(page, "/log/leaflets")


def wait_cached(page, path: str) -> None:
    """Wait until the service worker's caches hold the page at `path`."""
    wait_js(page, f"caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.match('{path}')))))"
                  ".then(hits => hits.some(Boolean))")


def queued(page) -> list[dict]:
    return page.evaluate("fieldlogQueue.all().then(rs => rs.map(r => ({id: r.id, state: r.state, error: r.error})))")


def test_entries_made_offline_are_queued_then_sent_once(phone, live_server, users, db):
    page = phone.new_page()
    ready_for_offline(page, live_server, "bob")
    phone.set_offline(True)
    fill_leaflets(page, live_server, "城关镇集市", "120")
    fill_leaflets(page, live_server, "吴集镇集市", "80")
    page.wait_for_selector("#queue .queue-count:text-is('2')")
    assert page.locator("#queue-list li").count() == 2
    assert "已保存在手机上" in page.text_content("#saved-local") and page.is_visible("#saved-local")
    page.click("#send-now")
    page.wait_for_selector("#queue-status:has-text('没有网络')")
    assert scalar(db, "SELECT count(*) FROM events") == 0
    phone.set_offline(False)
    wait_for(lambda: scalar(db, "SELECT count(*) FROM events") == 2, timeout=40)
    page.wait_for_selector("#queue", state="hidden", timeout=20000)
    time.sleep(1)  # any stray resend would land now
    rows = db.execute("SELECT place, json_extract(data, '$.copies') FROM events ORDER BY place").fetchall()
    assert sorted(rows) == [("吴集镇集市", 80), ("城关镇集市", 120)]


def test_a_refused_new_entry_shows_the_message_on_the_form_and_is_not_queued(phone, live_server, users, db):
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    page.goto(f"{live_server}/log/leaflets")
    page.fill("input[name=copies]", "50")  # neither a site, a plant nor a place
    page.click("#save-btn")
    page.wait_for_selector("#form-errors:has-text('请选择工地或搅拌站，或填写发放地点')")
    assert page.url.endswith("/log/leaflets")
    assert page.locator("[data-key~='place'] .field-error").count() == 1
    assert queued(page) == [] and scalar(db, "SELECT count(*) FROM events") == 0
    page.fill("input[name=place]", "城关镇集市")
    page.click("#save-btn")
    page.wait_for_url("**/log?saved=*")
    wait_for(lambda: scalar(db, "SELECT count(*) FROM events") == 1)


def test_a_conflict_on_resend_is_shown_and_only_discarded_explicitly(phone, live_server, users, db, clock):
    page = phone.new_page()
    ready_for_offline(page, live_server, "alice")
    phone.set_offline(True)
    fill_leaflets(page, live_server, "城关镇集市", "120")
    [entry] = queued(page)
    # Meanwhile the same id was stored with other content (e.g. through the API from another device).
    event(db, "leaflets", "2021-03-01T09:00:00+08:00", id=entry["id"], place="别处", fields={"copies": 5},
          now=clock())
    phone.set_offline(False)
    page.wait_for_selector("#queue-list li.q-needs_action:has-text('需处理')", timeout=20000)
    assert "该记录编号已用于内容不同的另一条记录" in page.text_content("#queue-list")
    assert page.text_content("#queue .queue-count") == "1"
    page.reload()  # still there after a reload and a resend attempt: never dropped silently
    page.wait_for_selector("#queue-list li.q-needs_action")
    page.once("dialog", lambda d: d.accept())
    page.click("#queue-list button:has-text('放弃这条记录')")
    page.wait_for_selector("#queue", state="hidden")  # shown only with entries
    assert scalar(db, "SELECT place FROM events") == "别处"


def test_an_expired_session_keeps_the_entry_until_signed_in_again(phone, live_server, users, db, clock):
    page = phone.new_page()
    ready_for_offline(page, live_server, "bob")
    phone.set_offline(True)
    fill_leaflets(page, live_server, "杨林镇集市", "30")
    db.execute("UPDATE sessions SET ended_at = ? WHERE ended_at IS NULL", [clock().isoformat(timespec="seconds")])
    phone.set_offline(False)
    page.wait_for_selector("#queue-list li.q-auth:has-text('重新登录')", timeout=20000)
    assert scalar(db, "SELECT count(*) FROM events") == 0
    browser_login(page, live_server, "bob")
    wait_for(lambda: scalar(db, "SELECT count(*) FROM events") == 1)


def test_logging_out_with_unsent_entries_asks_first(phone, live_server, users, db):
    page = phone.new_page()
    ready_for_offline(page, live_server, "alice")
    phone.set_offline(True)
    fill_leaflets(page, live_server, "霞流镇集市", "40")
    messages = []
    page.once("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    page.click(".more > summary")  # the sign-out is under 更多
    page.click("#logout-form button")
    wait_for(lambda: messages, page=page)
    assert "1 条记录没有发送" in messages[0]
    assert page.url.startswith(f"{live_server}/log") and len(queued(page)) == 1


def test_offline_the_cached_list_is_sorted_by_distance_on_the_phone(browser, live_server, users, db):
    # By name 乙 (U+4E59) comes before 甲 (U+7532): only the distance puts 甲 first.
    site(db, name="衡东县乙工地", reg_no="C-1", location=(SITE[0] + 0.05, SITE[1]))
    site(db, name="衡东县甲工地", reg_no="C-2", location=SITE)
    context = phone_with_gps(browser, SITE[0] + 0.001, SITE[1])
    try:
        page = context.new_page()
        ready_for_offline(page, live_server, "alice")
        context.set_offline(True)
        page.goto(f"{live_server}/log/safety_patrol")
        page.wait_for_selector("#geo-status:has-text('已定位')")
        wait_js(page, "document.querySelector('#subjects .pick-name').textContent.includes('甲工地')")
        assert page.text_content("#subjects .dist") == "111 米"
        page.fill("#q", "乙")
        page.press("#q", "Enter")
        assert page.locator("#subjects li:visible").count() == 1 and page.url.endswith("/log/safety_patrol")
    finally:
        context.close()


def test_choosing_a_notice_to_review_picks_its_site(phone, live_server, users, db, clock):
    site(db, name="衡东县一号工地", reg_no="E-1", location=SITE)
    second = site(db, name="衡东县二号工地", reg_no="E-2", location=SITE)
    now = clock()
    notice = event(db, "safety_patrol", now, site_id=second, now=now,
                   fields={"finding": "一般", "notice_no": "衡建安改〔2021〕9号", "notice_deadline": "2030-01-31"})
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    page.goto(f"{live_server}/log/rectification_review")
    page.select_option("select[name=notice_event_id]", notice["id"])
    assert page.is_checked(f"input[name=subject][value='site:{second}']")
    page.check("input[name=closed]")
    page.click("#save-btn")
    page.wait_for_url("**/log?saved=*")
    review = page.url.split("saved=")[1]
    wait_for(lambda: scalar(db, "SELECT count(*) FROM events WHERE id = ?", [review]) == 1)
    assert events.load(db, review)["fields"] == {"notice_event_id": notice["id"], "closed": True}


def test_a_refused_photo_keeps_the_entry_with_the_reason(phone, live_server, users, db):
    site_id = site(db, name="衡东县草市镇文化中心", reg_no="F-1", location=SITE)
    page = phone.new_page()
    browser_login(page, live_server, "carol")
    page.goto(f"{live_server}/log/enforcement_patrol")
    page.click(f"label.pick:has(input[value='site:{site_id}'])")
    page.set_input_files("#photos", files=[{"name": "x.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture"}])
    page.wait_for_selector("#thumbs li")
    page.click("#save-btn")
    page.wait_for_url("**/log?saved=*")
    event_id = page.url.split("saved=")[1]
    page.wait_for_selector("#queue-list li.q-needs_action:has-text('不是图片')", timeout=20000)
    assert "记录已保存" in page.text_content("#queue-list")
    assert scalar(db, "SELECT count(*) FROM events WHERE id = ?", [event_id]) == 1
    assert scalar(db, "SELECT count(*) FROM event_photos") == 0
    page.once("dialog", lambda d: d.accept())
    page.click("#queue-list button:has-text('放弃')")
    page.wait_for_selector("#queue", state="hidden")  # shown only with entries
