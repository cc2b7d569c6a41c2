"""Response headers a security review expects: HSTS over HTTPS, no-store on pages and API answers (static
files keep their caching), and a Content Security Policy without 'unsafe-inline' that the pages keep to."""

from __future__ import annotations

import re

import pytest

from fieldlog import photos
from fieldlog.resources import resource_dir
from tests.conftest import Client, browser_login, login
from tests.factories import event as store_event, jpeg

HSTS = "max-age=31536000; includeSubDomains"


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


# --- HSTS: by the same rule as the cookies' Secure flag (FIELDLOG_HTTPS auto / on / off) ---------------

def test_hsts_when_the_request_counts_as_https(app, users):
    for mode, base_url, expected in [
        ("auto", "https://testserver", True),
        ("auto", "http://testserver", False),
        ("on", "http://testserver", True),    # TLS ends at a proxy in front: FIELDLOG_HTTPS=on
        ("off", "https://testserver", False),
    ]:
        app.state.config.https = mode
        client = Client(app, base_url=base_url)
        for response in (client.get("/login"), login(client, "alice"), client.get("/api/v1/sites"),
                         client.get("/static/app.css")):
            assert response.headers.get("strict-transport-security") == (HSTS if expected else None), (mode, response.url)
        assert ("Secure" in login(client, "bob").headers["set-cookie"]) == expected  # one decision for both


# --- Cache-Control ------------------------------------------------------------------------------------

def test_signed_in_pages_and_api_answers_are_not_stored(client_for):
    alice = client_for("alice")
    for path in ("/", "/log", "/sites", "/api/v1/sites", "/api/v1/events", "/log/token"):
        response = alice.get(path, follow_redirects=False)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store", path
    anonymous = client_for(None)
    assert anonymous.get("/api/v1/sites").headers["cache-control"] == "no-store"           # the 401 too
    assert anonymous.get("/login").headers["cache-control"] == "no-store"                  # carries a CSRF token
    assert anonymous.get("/", follow_redirects=False).headers["cache-control"] == "no-store"


def test_static_files_and_routes_with_their_own_rule_keep_it(client_for, db, cfg, users):
    alice = client_for("alice")
    css = alice.get("/static/app.css")
    assert css.status_code == 200 and "cache-control" not in css.headers and css.headers["etag"]
    assert alice.get("/static/app.css", headers={"If-None-Match": css.headers["etag"]}).status_code == 304
    assert alice.get("/sw.js").headers["cache-control"] == "no-cache, no-store, must-revalidate"
    event = store_event(db, "leaflets", "2021-03-15T10:00:00+08:00", by=users["alice"], place="镇集市",
                        fields={"copies": 10})["id"]
    photo, _ = photos.ingest(db, cfg.media_dir, event, jpeg(), users["alice"])
    assert alice.get(f"/media/photos/{photo['id']}").headers["cache-control"].startswith("private, max-age=")
    assert alice.get("/").headers["cache-control"] == "no-store"


# --- Content Security Policy ----------------------------------------------------------------------------

def test_csp_directives(client_for):
    for response in (client_for(None).get("/login"), client_for("alice").get("/"), client_for("alice").get("/api/v1/sites")):
        csp = directives(response)
        assert csp["base-uri"] == ["'none'"] and csp["object-src"] == ["'none'"]
        assert csp["form-action"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
        assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"


def test_templates_have_no_inline_style():
    for template in sorted(resource_dir("templates").glob("*.html")):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<style\b|\sstyle\s*=", text, re.I), template.name


VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + location.pathname));
"""


@pytest.mark.browser
def test_pages_keep_to_the_policy_in_a_real_browser(browser, live_server, users):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.add_init_script(VIOLATIONS)
    page = context.new_page()
    response = page.goto(f"{live_server}/login")
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    browser_login(page, live_server, "carol")
    seen = []
    for path, probe, value in [
        ("/", None, None),
        ("/chief/coverage?month=2021-03", None, None),
        ("/chief/report?month=2021-03", ".report h1", "center"),            # static/report.css
        ("/indicators/2021/evaluation", "table.evaluation th", "center"),   # static/evaluation.css
    ]:
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(100)  # htmx adds its indicator style just after load
        if probe:
            assert page.locator(probe).first.evaluate("e => getComputedStyle(e).textAlign") == value, path
        seen += page.evaluate("window.__violations")
    assert seen == []
    assert page.evaluate("window.htmx && htmx.config.includeIndicatorStyles") is False
    context.close()
