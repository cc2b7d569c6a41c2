"""The chief on a phone: every page of every role fits 320 px without sideways scrolling (a crawl of the app), the
chief's tables are cards below 600 px with each row's figures inside its card, and a long evidence list loads
more in place."""

from __future__ import annotations

import pytest

from tests.conftest import browser_login
from tests.test_browser_log import wait_js
from tests.crawl import crawl
from tests.factories import event, site

pytestmark = pytest.mark.browser

OVERFLOW = """() => {
  const w = window.innerWidth, wide = [];
  if (document.documentElement.scrollWidth <= w) return [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.right > w + 1 && !e.closest('.table-wrap, .subjects, pre')) wide.push(e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' ' + Math.round(r.right));
  }
  return [document.documentElement.scrollWidth, ...wide.slice(0, 5)];
}"""


@pytest.mark.parametrize("who", ["alice", "carol", "dave"])
def test_no_page_scrolls_sideways_at_320_px(phone, live_server, client_for, full_year, who):
    client = client_for(who)

    def get(url):
        response = client.get(url, follow_redirects=True)
        return response.status_code, response.headers.get("content-type", ""), response.text

    urls = list(crawl(get, per_shape=1, with_query=False))
    assert len(urls) >= 15
    page = phone.new_page()
    page.set_viewport_size({"width": 320, "height": 640})
    browser_login(page, live_server, who)
    found = {}
    for url in urls:
        page.goto(f"{live_server}{url}", wait_until="domcontentloaded")
        if wide := page.evaluate(OVERFLOW):
            found[url] = wide
    assert found == {}


CARD_FIGURES = """(selector) => [...document.querySelectorAll(selector)].flatMap(tr => {
  const box = tr.getBoundingClientRect(), out = [];
  if (box.right > window.innerWidth) out.push('card wider than the screen: ' + tr.textContent.trim().slice(0, 20));
  for (const td of tr.querySelectorAll('td.fig')) {
    const r = td.getBoundingClientRect();
    if (r.width && (r.left < box.left || r.right > box.right + 0.5 || r.top < box.top || r.bottom > box.bottom + 0.5))
      out.push('figure outside its card: ' + td.textContent.trim().slice(0, 20));
  }
  return out;
})"""


@pytest.mark.parametrize("path,rows", [("/indicators?year=2021", "table.indicators > tbody > tr"),
                                       ("/indicators/2021/evaluation", "table.evaluation > tbody > tr"),
                                       ("/chief/report?month=2021-06", "table.cards > tbody > tr")])
def test_the_chiefs_tables_are_cards_on_a_phone(phone, live_server, full_year, path, rows):
    page = phone.new_page()
    browser_login(page, live_server, "carol")
    page.goto(f"{live_server}{path}")
    assert page.locator(rows).count() > 5
    assert page.evaluate(CARD_FIGURES, rows) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not page.locator("table.cards > thead").first.is_visible()  # each value says its column instead
    label = page.evaluate("(s) => getComputedStyle(document.querySelector(s + ' td.fig'), '::before').content", rows)
    assert label.strip('"').endswith("：")
    # A wide screen keeps the table.
    page.set_viewport_size({"width": 1024, "height": 800})
    assert page.locator("table.cards > thead").first.is_visible()


def test_an_evidence_page_of_66_loads_more_in_place(phone, live_server, users, db):
    sid = site(db)
    for day in range(1, 23):
        for hour in (9, 11, 15):
            event(db, "safety_patrol", f"2021-03-{day:02d}T{hour:02d}:00:00+08:00", site_id=sid,
                  fields={"finding": "无"})
    page = phone.new_page()
    browser_login(page, live_server, "carol")
    page.goto(f"{live_server}/chief/sites/{sid}")
    assert page.locator("#timeline > li[id^=ev-]").count() == 50
    assert "已显示 50 条，共 66 条" in page.text_content("#timeline-more")
    page.click("#timeline-more a")
    wait_js(page, "document.querySelectorAll('#timeline > li[id^=ev-]').length === 66")
    assert page.locator("#timeline-more").count() == 0
    assert page.locator("#timeline > li.more").text_content().strip() == "已显示全部 66 条。"
