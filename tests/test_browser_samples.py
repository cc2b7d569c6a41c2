"""A phone in a real browser logs a concrete sample offline, with no result: the queue sends it through the same
validation, it waits on the samples list, and a result entered weeks later on the result form closes it."""

from __future__ import annotations

import json
from datetime import date

import pytest

from fieldlog import samples
from fieldlog.db import scalar
from tests.factories import NOW, site, user
from tests.test_browser_log import ready_for_offline, wait_cached, wait_for

pytestmark = pytest.mark.browser


def test_a_sample_logged_offline_waits_for_its_result(phone, live_server, users, db):
    lab = samples.save_lab(db, {"name": "衡阳市建设工程质量检测中心"}, actor=user(db, "dave"), now=NOW)
    s = site(db, name="衡东县城关镇安置小区", reg_no="B-1")
    page = phone.new_page()
    ready_for_offline(page, live_server, "alice")
    wait_cached(page, "/log/concrete_sampling")
    phone.set_offline(True)
    page.goto(f"{live_server}/log/concrete_sampling")
    assert page.locator("input[name=result]").count() == 0 and page.locator("input[name=fee_yuan]").count() == 0
    page.click(f"label.pick:has(input[value='site:{s}'])")
    page.fill("input[name=sample_no]", "HD-2021-0099")
    page.fill("input[name=seal_no]", "FY-7")
    page.fill("input[name=specimens]", "3")
    page.select_option("select[name=strength_grade]", "C30")
    page.click(".seg label:has-text('试块')")
    page.select_option("select[name=lab_id]", str(lab))
    page.click("#save-btn")
    page.wait_for_url("**/log?saved=*")
    page.wait_for_selector("#queue .queue-count:text-is('1')")
    assert scalar(db, "SELECT count(*) FROM events") == 0
    phone.set_offline(False)
    wait_for(lambda: scalar(db, "SELECT count(*) FROM events") == 1, timeout=40)
    data = json.loads(scalar(db, "SELECT data FROM events"))
    assert data == {"sample_no": "HD-2021-0099", "seal_no": "FY-7", "specimens": 3, "strength_grade": "C30",
                    "method": "试块", "lab_id": lab}
    page.goto(f"{live_server}/samples")
    page.wait_for_selector("table.samples-waiting td:text-is('HD-2021-0099')")
    page.click("a:has-text('录入结果')")
    page.fill("input[name=report_no]", "JC-2021-1234")
    page.click(".seg label:has-text('不合格')")
    page.fill("input[name=measured_mpa]", "26.4")
    page.click("button:has-text('保存检测结果')")
    page.wait_for_selector("p.ok:has-text('检测结果已保存')")
    [failed] = samples.failed(db, date.max, since=date.min)
    assert failed["report_no"] == "JC-2021-1234" and failed["measured_mpa"] == 26.4
    assert samples.awaiting(db, date.max) == []
