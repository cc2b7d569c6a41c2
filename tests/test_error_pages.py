"""Errors as pages: a browser asking for an unknown page gets a Chinese HTML page; the API keeps JSON."""

from __future__ import annotations

import pytest

from fieldlog.messages import t

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("path", ["/no-such-page", "/surveys/new/extra", "/static/no-such-file.css"])
def test_a_browser_gets_a_chinese_404_page(client_for, path):
    response = client_for(None).get(path, headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="zh-CN">' in page and "<h1>找不到页面</h1>" in page and t("web.page_not_found") in page
    assert "Not Found" not in page and 'href="/"' in page


def test_a_signed_in_user_keeps_the_navigation_on_a_404_page(client_for):
    page = client_for("alice").get("/no-such-page", headers=BROWSER).text
    assert "主导航" in page and "退出（艾丽丝）" in page and t("web.page_not_found") in page


def test_a_wrong_method_on_a_page_is_a_chinese_405_page(client_for):
    response = client_for(None).put("/login", headers=BROWSER)
    assert response.status_code == 405 and response.headers["content-type"].startswith("text/html")
    assert t("web.method_not_allowed") in response.text and "Method Not Allowed" not in response.text
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/nothing"])
def test_the_api_keeps_json_errors(client_for, path):
    for client in (client_for(None), client_for("alice")):
        response = client.get(path, headers=BROWSER)  # even when the client would take HTML
        assert response.status_code == 404 and response.headers["content-type"] == "application/json"
        assert response.json() == {"detail": t("web.page_not_found")}
    wrong = client_for(None).put("/api/v1/events", headers=BROWSER)
    assert wrong.status_code == 405 and wrong.json() == {"detail": t("web.method_not_allowed")}


def test_a_client_that_does_not_ask_for_html_gets_json(client_for):
    response = client_for(None).get("/no-such-page", headers={"Accept": "*/*"})
    assert response.status_code == 404 and response.json() == {"detail": t("web.page_not_found")}


@pytest.mark.browser
def test_chromium_shows_the_chinese_404_page(browser, live_server):
    page = browser.new_page()
    try:
        response = page.goto(f"{live_server}/no-such-page")
        assert response.status == 404
        assert page.text_content("h1") == "找不到页面"
        assert t("web.page_not_found") in page.text_content("main")
    finally:
        page.close()
