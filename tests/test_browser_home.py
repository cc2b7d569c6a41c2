"""The inspector's home and phone layout in a real browser (issue 12 item 1): the day's work on /log (returns,
notices due with 去复查 opening the review form with the notice and site chosen, online and from the offline copy),
the queue only with entries, a header of at most 56 px with the main links as a bottom bar, the save button in
reach on the longest form, and no page of an inspector wider than a 320 px screen."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from fieldlog import events, returns
from tests.conftest import browser_login
from tests.test_accessibility import SMALL_TARGETS, axe_source, violations  # noqa: F401 (axe_source: the fixture)
from tests.factories import TZ, event, site, user
from tests.test_browser_log import ready_for_offline, wait_cached, wait_js

pytestmark = pytest.mark.browser


@pytest.fixture
def day(db, users):
    """Alice's work as of the real today (the live server runs on the real clock): an overdue notice at a site,
    an entry of hers returned by the chief, another of bob's returned (not hers to see)."""
    now = datetime.now(TZ)
    s = site(db, name="衡东县城关镇复查工地", location=(27.08, 112.95), inspectors=[users["alice"]])
    notice = event(db, "safety_patrol", now - timedelta(days=10), site_id=s, now=now,
                   fields={"finding": "一般", "hazards_general": 1, "notice_no": "衡建安改〔2026〕7号",
                           "notice_deadline": (now - timedelta(days=3)).date().isoformat()})
    mine = event(db, "leaflets", now - timedelta(days=1), place="城关镇集市", now=now, fields={"copies": 80})
    bobs = event(db, "leaflets", now - timedelta(days=1), by="bob", place="霞流镇集市", now=now, fields={"copies": 5})
    chief = user(db, "carol")
    returns.give_back(db, mine["id"], user=chief, reason="请补拍现场照片", now=now)
    returns.give_back(db, bobs["id"], user=chief, reason="鲍勃的退回", now=now)
    return {"site": s, "notice": notice, "mine": mine, "bobs": bobs}


def test_the_home_lists_the_days_work_and_goes_to_the_review(phone, live_server, day):
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    assert page.url == f"{live_server}/log"  # signing in lands on the day's work
    assert "请补拍现场照片" in page.text_content("#my-returns") and "鲍勃的退回" not in page.content()
    card = page.locator("#my-notices li", has_text="衡建安改〔2026〕7号")
    assert "逾期 3 天" in card.text_content()
    assert page.is_hidden("#queue")  # nothing waits on the phone: no queue
    card.locator("a:has-text('去复查')").click()
    page.wait_for_url("**/log/rectification_review?notice=*")
    assert page.eval_on_selector("select[name=notice_event_id]", "s => s.value") == day["notice"]["id"]
    assert page.is_checked(f"input[name=subject][value='site:{day['site']}']")
    # A notice that is not an open one is not chosen, and the form says so.
    page.goto(f"{live_server}/log/rectification_review?notice=no-such-notice")
    assert page.eval_on_selector("select[name=notice_event_id]", "s => s.value") == ""
    assert "所选整改通知书不存在或已销号" in page.content()


def test_go_to_review_works_from_the_offline_copy(phone, live_server, day):
    page = phone.new_page()
    ready_for_offline(page, live_server, "alice")
    wait_cached(page, "/log/rectification_review")
    phone.set_offline(True)
    page.goto(f"{live_server}/log/rectification_review?notice={day['notice']['id']}")
    wait_js(page, f"document.querySelector('select[name=notice_event_id]').value === '{day['notice']['id']}'")
    assert page.is_checked(f"input[name=subject][value='site:{day['site']}']")


HEADER = "() => document.querySelector('header.top').getBoundingClientRect().height"
NAV = "() => { const r = document.querySelector('nav.nav').getBoundingClientRect(); return [r.top, r.bottom, r.height]; }"


@pytest.mark.parametrize("who,path", [("alice", "/log"), ("alice", "/events/mine"), ("carol", "/chief")])
def test_header_is_one_row_and_the_main_links_a_bottom_bar(phone, live_server, users, who, path):
    page = phone.new_page()
    browser_login(page, live_server, who)
    page.goto(f"{live_server}{path}")
    assert page.evaluate(HEADER) <= 56
    _, bottom, height = page.evaluate(NAV)
    assert bottom == 740 and height <= 56  # fixed to the bottom of the 740 px screen
    page.click(".more > summary")  # the other links, and signing out, under 更多
    assert page.is_visible("#logout-form button")


def _longest_form(page, base: str) -> str:
    heights = {}
    for kind in events.KINDS:
        page.goto(f"{base}/log/{kind}")
        heights[kind] = page.evaluate("document.documentElement.scrollHeight")
    return max(heights, key=heights.get)


def test_the_save_button_is_in_reach_on_the_longest_form(phone, live_server, day):
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    kind = _longest_form(page, live_server)
    page.goto(f"{live_server}/log/{kind}")
    assert page.evaluate("document.documentElement.scrollHeight") > 2 * 740  # a long form indeed
    assert page.evaluate("scrollY") == 0
    box = page.locator("#save-btn").bounding_box()
    nav_top = page.evaluate(NAV)[0]
    assert box["y"] >= 0 and box["y"] + box["height"] <= nav_top, (kind, box)
    # Nothing covers it: a tap at its centre reaches it.
    assert page.evaluate(f"document.elementFromPoint({box['x'] + box['width'] / 2}, {box['y'] + box['height'] / 2}).id") == "save-btn"


def test_no_inspector_page_is_wider_than_320_px(browser, live_server, day):
    context = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page = context.new_page()
        browser_login(page, live_server, "alice")
        mine, notice = day["mine"]["id"], day["notice"]["id"]
        paths = ["/log", *(f"/log/{k}" for k in events.KINDS), "/", "/events/mine", f"/events/{mine}",
                 f"/events/{mine}/edit", f"/events/{mine}/void", f"/events/{notice}", "/followups/mine", "/sites",
                 f"/sites/{day['site']}", "/plants", "/surveys", "/samples", "/paper-surveys",
                 f"/log/rectification_review?notice={notice}"]
        wide = {}
        for path in paths:
            response = page.goto(f"{live_server}{path}")
            assert response.status == 200, path
            width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
            if width > 320:
                wide[path] = width
        assert wide == {}
    finally:
        context.close()


def test_the_pages_of_returns_pass_axe_and_tap_targets(phone, live_server, day, axe_source):  # noqa: F811 (the fixture)
    found = {}
    for who, paths in (("alice", ["/log", "/", f"/events/{day['mine']['id']}"]),
                       ("carol", ["/chief/returns", f"/events/{day['mine']['id']}", "/log"])):
        phone.clear_cookies()
        page = phone.new_page()
        browser_login(page, live_server, who)
        for path in paths:
            assert page.goto(f"{live_server}{path}").status == 200, path
            problems = violations(page, axe_source) + page.evaluate(SMALL_TARGETS)
            if problems:
                found[f"{who} {path}"] = problems
        page.close()
    assert found == {}


CLS = """() => new Promise(ok => { let total = 0;
  new PerformanceObserver(list => { for (const e of list.getEntries()) if (!e.hadRecentInput) total += e.value; })
    .observe({type: 'layout-shift', buffered: true});
  setTimeout(() => ok(total), 1500); })"""


def test_the_queue_appears_without_shifting_the_page(phone, live_server, day):
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    # An entry the server refused stays on the phone (not sent again until the inspector acts).
    page.evaluate("""fieldlogQueue.put({id: fieldlogQueue.uuid(), user: 'alice', kind: 'leaflets', label: '发放宣传资料',
        createdAt: new Date().toISOString(), body: {}, photos: [], photosDone: [], state: 'needs_action',
        error: '已拒收', eventAck: false})""")
    page.reload()
    page.wait_for_selector("#queue .queue-count:text-is('1')")
    assert page.evaluate(CLS) < 0.05
    # Nothing the server rendered moves when the queue shows: it sits below all of it.
    moved = page.evaluate("""() => { const q = document.getElementById('queue'), y = () => [...document.querySelectorAll(
        'main h1, main h2, #today')].filter(e => !q.contains(e)).map(e => e.getBoundingClientRect().top + scrollY);
      const shown = y(); q.hidden = true; const hidden = y(); q.hidden = false;
      return shown.filter((v, i) => v !== hidden[i]).length; }""")
    assert moved == 0
    assert page.text_content("nav.nav .queue-count") == "1"  # the count beside 记录 in the bottom bar
