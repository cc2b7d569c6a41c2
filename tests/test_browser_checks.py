"""The form's own checks in a real browser: a bad entry is refused before it is sent, with the server's Chinese
message beside the field (not the browser's bubble), and nothing is queued or stored; the edit form says the same.

The server refuses the same inputs (tests/test_events.py BAD, tests/test_event_pages.py).
"""

from __future__ import annotations

import pytest

from fieldlog.db import scalar
from tests.conftest import browser_login
from tests.factories import event, site

pytestmark = pytest.mark.browser


def message_at(page, name: str) -> str:
    """The check's message shown beside the field `name` (inside its .fld box), or ''."""
    return page.evaluate("""name => {
      const el = document.querySelector(`[name="${name}"]`);
      const box = el && (el.closest('.fld') || el.closest('fieldset') || el.closest('label'));
      const m = box && box.querySelector('.field-error.check');
      return m ? m.textContent : '';
    }""", name)


def queued(page) -> int:
    return page.evaluate("() => window.fieldlogQueue.mine().then(rows => rows.length)")


def test_a_bad_patrol_is_refused_beside_its_fields_and_not_queued(phone, live_server, users, db):
    sid = site(db)
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    page.goto(f"{live_server}/log/safety_patrol")
    # No site chosen, a negative count: the browser's own checks, said in the catalogue's words.
    page.click(".seg label:has-text('一般')")
    page.fill("input[name=hazards_general]", "-3")
    page.click("#save-btn")
    page.wait_for_selector(".field-error.check")
    assert message_at(page, "subject") == "请选择工地"
    assert message_at(page, "hazards_general") == "一般隐患数不能小于 0"
    # Across fields: 重大 with no major hazard; a notice number without its deadline, a deadline before the patrol.
    page.click(f"label.pick:has(input[value='site:{sid}'])")
    page.fill("input[name=hazards_general]", "0")
    page.click(".seg label:has-text('重大')")
    page.fill("input[name=notice_no]", "衡建安改〔2021〕1号")
    page.click("#save-btn")
    page.wait_for_timeout(300)
    assert message_at(page, "subject") == ""  # corrected: its message went away
    assert message_at(page, "hazards_major") == "最严重隐患为“重大”时，重大隐患数至少为 1"
    assert message_at(page, "notice_deadline") == "填写整改通知书编号时须填写整改期限"
    day = page.input_value("input[name=occurred_at]")[:10]
    page.fill("input[name=hazards_major]", "1")
    page.fill("input[name=notice_deadline]", "2000-01-01")
    page.click("#save-btn")
    page.wait_for_timeout(300)
    assert message_at(page, "hazards_major") == ""
    assert message_at(page, "notice_deadline") == "整改期限不能早于检查日期"
    assert queued(page) == 0 and scalar(db, "SELECT count(*) FROM events") == 0
    # Put right, it goes.
    page.fill("input[name=notice_deadline]", day)
    page.click("#save-btn")
    page.wait_for_url("**/log?saved=*")
    assert scalar(db, "SELECT count(*) FROM events WHERE json_extract(data, '$.finding') = '重大'") == 1


def test_a_stop_work_order_asks_for_its_notice(phone, live_server, users, db):
    site(db)
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    page.goto(f"{live_server}/log/enforcement_patrol")
    page.click("label.pick >> nth=0")
    page.click(".seg label:has-text('停工整改')")
    page.click("#save-btn")
    page.wait_for_selector(".field-error.check")
    assert message_at(page, "notice_no") == "处理措施为“停工整改”时须填写整改通知书编号"
    assert message_at(page, "notice_deadline") == "处理措施为“停工整改”时须填写整改期限"
    assert queued(page) == 0 and scalar(db, "SELECT count(*) FROM events") == 0


def test_the_edit_form_has_the_same_fields_and_checks(phone, live_server, users, db):
    sid = site(db)
    stored = event(db, "safety_patrol", site_id=sid, fields={"finding": "一般", "hazards_general": 2})
    page = phone.new_page()
    browser_login(page, live_server, "alice")
    page.goto(f"{live_server}/events/{stored['id']}/edit")
    # The logging form's renderer: the finding as its segmented buttons, the hint under it, the required mark.
    assert page.locator(".fld .seg input[name=finding][value='一般']").is_checked()
    assert page.locator(".fld small.muted").first.text_content() == "重大事故隐患按国家判定标准认定"
    page.fill("input[name=hazards_general]", "-1")
    page.click(".seg label:has-text('重大')")
    page.fill("input[name=reason]", "记错")
    page.click("button[type=submit].primary")
    page.wait_for_selector(".field-error.check")
    assert message_at(page, "hazards_general") == "一般隐患数不能小于 0"
    assert message_at(page, "hazards_major") == "最严重隐患为“重大”时，重大隐患数至少为 1"
    assert page.url.endswith("/edit")  # not sent
    assert scalar(db, "SELECT count(*) FROM event_revisions") == 0
