"""Prints that can be signed: the 自评表, the monthly report and the survey sheet rendered to PDF by Chromium, page
by page (pypdf reads each page's text): labels on every page, 第 N 页 共 M 页, the closing block on the last."""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter

import pytest

from fieldlog.indicators import entries, tables

from tests.conftest import browser_login
from tests.factories import NOW, budget_year, user

import pypdf  # noqa: E402  (the test extra; missing, this module fails: never a skip)

SIGNATURE = {"head_name": "王建国", "filler_name": "李晓红", "phone": "0734-5221234", "filled_on": "2022-01-08"}
COMPLETION = re.compile(r"未达成|部分达成|达成")


@pytest.fixture
def year(db, prebuilt):
    prebuilt(budget_year)
    return db


# The CJK font maps some glyphs to radicals: Kangxi radicals (⼀) NFKC turns back into 一; the simplified radicals of
# the supplement block (⻚) have no decomposition, so they are mapped here.
RADICALS = str.maketrans("⻚⻔⻓⻬⻅⻢⻋⻉⻄⻘⻩⻜⻛⻥⻦⻰⻳⻈⻙⻝⻠", "页门长齐见马车贝西青黄飞风鱼鸟龙龟讠韦饣齿")


def pages_of(pdf: bytes) -> list[str]:
    """The text of each page, blanks removed (Chromium may space CJK glyphs), radicals read as characters."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [unicodedata.normalize("NFKC", re.sub(r"\s+", "", p.extract_text() or "")).translate(RADICALS)
            for p in reader.pages]


def printed(browser, live_server, path: str, landscape: bool) -> list[str]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page = context.new_page()
        browser_login(page, live_server, "carol")
        page.goto(f"{live_server}{path}")
        page.emulate_media(media="print")
        # The page's own @page rule (size, margins, the page-number box) decides, as the browser's print does.
        return pages_of(page.pdf(prefer_css_page_size=True, print_background=False))
    finally:
        context.close()


def test_signature_form(year, client_for):
    carol = client_for("carol")
    bad = carol.post_form("/indicators/2021/evaluation/signature", {**SIGNATURE, "phone": "abc", "filled_on": "8 Jan"})
    assert bad.status_code == 422 and "联系电话只能包含数字" in bad.text and "填报日期须为" in bad.text
    assert entries.latest_signature(year, 2021) is None
    ok = carol.post_form("/indicators/2021/evaluation/signature", SIGNATURE, follow_redirects=False)
    assert ok.status_code == 303
    assert {k: entries.latest_signature(year, 2021)[k] for k in SIGNATURE} == SIGNATURE
    assert client_for("alice").get("/indicators/2021/evaluation/signature").status_code == 403


@pytest.mark.browser
def test_evaluation_prints_labels_page_numbers_and_the_signature_block(year, live_server, browser):
    entries.save_signature(year, 2021, SIGNATURE, user(year, "carol"), now=NOW)
    pages = printed(browser, live_server, "/indicators/2021/evaluation?as_of=2021-12-31", landscape=True)
    total = len(pages)
    assert total >= 2
    table = tables.table_for_year(year, 2021)
    groups = Counter(r.level2 for r in table.rows)        # 二级 label -> rows under it (each label one group here)
    level1_of = {r.level2: r.level1 for r in table.rows}
    rows_seen = 0
    for n, text in enumerate(pages, start=1):
        assert f"第{n}页共{total}页" in text, (n, text[-80:])
        rows_here = len(COMPLETION.findall(text))
        labelled = [l2 for l2 in groups if l2 in text]
        # Every row on the page sits under a 二级 label printed on that page, with its 一级 label beside it.
        assert rows_here == sum(groups[l2] for l2 in labelled), (n, rows_here, labelled)
        assert all(level1_of[l2] in text for l2 in labelled), n
        if rows_here:
            assert "一级指标" in text and "二级指标" in text      # the header repeats on each page
        rows_seen += rows_here
    assert rows_seen == len(table.rows)
    last = pages[-1]
    for label, value in (("单位负责人", "王建国"), ("填表人", "李晓红"), ("联系电话", "0734-5221234"),
                         ("填报日期", "2022年1月8日")):
        assert unicodedata.normalize("NFKC", f"{label}：{value}") in last
    assert "97.04%" in "".join(pages) and "总分" in last


@pytest.mark.browser
def test_monthly_report_prints_page_numbers_without_the_back_link(year, live_server, browser):
    pages = printed(browser, live_server, "/chief/report?month=2021-06", landscape=False)
    for n, text in enumerate(pages, start=1):
        assert f"第{n}页共{len(pages)}页" in text
        assert "返回" not in text


@pytest.mark.browser
def test_survey_sheet_prints_without_the_page_chrome(year, live_server, browser, client_for):
    from fieldlog import surveys

    code = surveys.create_code(year, "awareness_survey", user=user(year, "carol"), now=NOW)
    pages = printed(browser, live_server, f"/surveys/{code}/print", landscape=False)
    # One sheet to pin up: the QR code and its address, without the app's header, footer or back link.
    assert len(pages) == 1 and "返回" not in pages[0] and "退出" not in pages[0] and "/s/" in pages[0]
