"""API docs: Swagger UI from the pinned copy in static/ (works offline, under the app's CSP), and neither the
docs nor the OpenAPI schema for anonymous visitors."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from fieldlog import accounts
from fieldlog.resources import resource_dir
from fieldlog.routes.api_docs import SWAGGER_UI
from tests.conftest import Client, browser_login
from fieldlog.static_files import static_url

STATIC = resource_dir("static")


def test_anonymous_gets_neither_the_schema_nor_the_docs(client_for):
    anonymous = client_for(None)
    schema = anonymous.get("/openapi.json")
    assert schema.status_code == 401 and schema.headers["www-authenticate"] == "Bearer" and "paths" not in schema.text
    docs = anonymous.get("/docs", follow_redirects=False)
    assert docs.status_code == 303 and docs.headers["location"] == "/login?next=/docs"
    for default in ("/redoc", "/docs/oauth2-redirect"):  # FastAPI's own pages are off
        assert anonymous.get(default, follow_redirects=False).status_code == 404


def test_a_session_or_a_bearer_token_gets_the_schema(client_for, app, db, users):
    schema = client_for("alice").get("/openapi.json")
    assert schema.status_code == 200 and "/api/v1/events" in schema.json()["paths"]
    assert schema.headers["cache-control"] == "no-store"
    token = accounts.create_token(db, "carol", "integration")
    by_token = Client(app).get("/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert by_token.status_code == 200 and by_token.json() == schema.json()
    assert Client(app).get("/openapi.json", headers={"Authorization": "Bearer fl_wrong"}).status_code == 401


def test_the_docs_page_loads_only_pinned_static_files_and_no_inline_script(client_for):
    page = client_for("alice").get("/docs")
    assert page.status_code == 200
    html = page.text
    sources = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert static_url(f"swagger-ui-bundle-{SWAGGER_UI}.js") in sources and static_url(f"swagger-ui-{SWAGGER_UI}.css") in sources
    assert all(s.startswith("/static/") for s in sources), sources
    assert len(re.findall(r"<script\b", html)) == len(re.findall(r"<script\b[^>]*\bsrc=", html))  # none inline
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert page.headers["x-frame-options"] == "DENY"


def test_swagger_ui_is_pinned_from_the_npm_package_with_its_licence():
    bundle = (STATIC / f"swagger-ui-bundle-{SWAGGER_UI}.js").read_text(encoding="utf-8")
    assert bundle.startswith("/*! For license information please see swagger-ui-bundle.js.LICENSE.txt */")
    assert f'PACKAGE_VERSION:"{SWAGGER_UI}"' in bundle  # the file is the version its name says
    assert (STATIC / f"swagger-ui-{SWAGGER_UI}.css").stat().st_size > 100_000
    assert "Apache License" in (STATIC / f"swagger-ui-{SWAGGER_UI}.LICENSE.txt").read_text(encoding="utf-8")
    assert "SmartBear" in (STATIC / f"swagger-ui-{SWAGGER_UI}.NOTICE.txt").read_text(encoding="utf-8")
    assert (STATIC / f"swagger-ui-bundle-{SWAGGER_UI}.js.LICENSE.txt").is_file()
    # One version only: an upgrade replaces the files rather than adding a second copy.
    assert len(list(STATIC.glob("swagger-ui-bundle-*.js"))) == 1


VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.mark.browser
def test_signed_in_browser_sees_the_operations_with_the_network_limited_to_the_app(browser, live_server, users):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.add_init_script(VIOLATIONS)
    app_origin = urlsplit(live_server).netloc
    elsewhere = []

    def only_the_app(route):
        if urlsplit(route.request.url).netloc == app_origin:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_app)
    page = context.new_page()

    page.goto(f"{live_server}/docs")  # anonymous: sent to sign in first
    assert urlsplit(page.url).path == "/login"

    browser_login(page, live_server, "carol")
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock", timeout=20000)
    summaries = page.locator(".opblock .opblock-summary-path").all_inner_texts()
    assert "/api/v1/events" in summaries and "/api/v1/sites" in summaries and len(summaries) >= 10
    assert "/docs" not in summaries and "/openapi.json" not in summaries

    # "Try it out" goes out with the session.
    assert _try_it_out(page, "get", "/api/v1/sites") == "200"

    # A state-changing call carries the page's CSRF token (api-docs.js): the API judges the body, not a 403.
    assert _try_it_out(page, "post", "/api/v1/events") in ("201", "422")

    assert page.evaluate("window.__violations") == []
    assert elsewhere == []
    context.close()


def _try_it_out(page, method: str, path: str) -> str:
    """Open an operation in Swagger UI, press "Try it out" and "Execute"; the status code it shows."""
    block = page.locator(f".opblock-{method}").filter(
        has=page.locator(".opblock-summary-path", has_text=re.compile(f"^{re.escape(path)}$")))
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=20000)
    return status.inner_text().strip()
