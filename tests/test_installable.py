"""Installable on a phone: Chromium finds nothing missing (manifest, icons, service worker), and no page a
signed-in inspector opens logs a console error or a failed request (the favicon included)."""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin, urlsplit

import pytest
from PIL import Image

from fieldlog.resources import resource_dir
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, browser_login, pixel5
from tests.factories import event, site
from fieldlog.static_files import static_url

STATIC = resource_dir("static")
CJK = re.compile(r"[\u4e00-\u9fff]")


def manifest() -> dict:
    return json.loads((STATIC / "manifest.webmanifest").read_text(encoding="utf-8"))


def test_manifest_names_in_chinese_opens_the_logging_page_standalone():
    m = manifest()
    assert CJK.search(m["name"]) and CJK.search(m["short_name"]) and len(m["short_name"]) <= 12
    assert (m["start_url"], m["scope"], m["display"], m["lang"]) == ("/log", "/", "standalone", "zh-CN")


def test_icons_are_the_sizes_they_claim_and_one_is_maskable():
    icons = manifest()["icons"]
    for icon in icons:
        with Image.open(STATIC / icon["src"].removeprefix("/static/")) as image:
            assert image.format == "PNG" and f"{image.width}x{image.height}" == icon["sizes"], icon
    sizes = {icon["sizes"] for icon in icons if "any" in icon.get("purpose", "any").split()}
    assert {"192x192", "512x512"} <= sizes
    maskable = [icon for icon in icons if "maskable" in icon.get("purpose", "").split()]
    assert maskable
    # A maskable icon fills its square: no transparent corner for the launcher's mask to show.
    with Image.open(STATIC / maskable[0]["src"].removeprefix("/static/")) as image:
        assert image.convert("RGBA").getpixel((0, 0))[3] == 255
    with Image.open(STATIC / "icons" / "apple-touch-icon.png") as image:
        assert image.size == (180, 180) and image.mode == "RGB"


def test_every_page_head_names_the_icons(client_for):
    from tests.test_error_pages import BROWSER

    client = client_for("alice")
    for path in ("/", "/log", "/login", "/no-such-page"):
        head = client.get(path, headers=BROWSER).text.split("</head>")[0]
        assert '<meta name="theme-color" content="#12355b">' in head
        assert f'rel="apple-touch-icon" href="{static_url("icons/apple-touch-icon.png")}"' in head
        assert f'rel="icon" href="{static_url("icons/favicon.ico")}"' in head and 'rel="manifest"' in head
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.headers["content-type"] == "image/x-icon"
    assert favicon.content == (STATIC / "icons" / "favicon.ico").read_bytes()


def wait_for_service_worker(page) -> str:
    """The script URL of the service worker controlling the page once it is active."""
    return page.evaluate("navigator.serviceWorker.ready.then(r => r.active && r.active.scriptURL)")


@pytest.mark.browser
def test_chromium_reports_no_installability_errors(playwright_driver, live_server, users, tmp_path):
    # A profile on disk: Chromium never offers to install from an incognito (Playwright's usual) context.
    context = playwright_driver.chromium.launch_persistent_context(
        tmp_path / "profile", executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
        **pixel5(playwright_driver), locale="zh-CN")
    try:
        page = context.new_page()
        browser_login(page, live_server, "alice")
        page.goto(f"{live_server}/log")
        assert wait_for_service_worker(page) == f"{live_server}/sw.js"
        page.reload()
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == []
        parsed = cdp.send("Page.getAppManifest")
        assert parsed["url"] == live_server + static_url("manifest.webmanifest") and not parsed["errors"]
    finally:
        context.close()


# Links the crawl does not follow: they change state, download a file or leave the HTML pages.
NOT_PAGES = re.compile(r"^/(logout|static/|media/|api/|openapi\.json)|\.(svg|csv|xlsx|json|ico|png)$|/(export|download)")


@pytest.mark.browser
def test_no_page_of_a_signed_in_inspector_logs_a_console_error(browser, live_server, users, db):
    from datetime import datetime

    from tests.factories import TZ, plant

    now = datetime.now(TZ)
    near = site(db, name="衡东县城关镇安置小区", location=(27.0814, 112.948), inspectors=[users["alice"]])
    plant(db, name="衡东县宏达商品混凝土有限公司")
    event(db, "safety_patrol", now, site_id=near, now=now, by="alice")
    event(db, "leaflets", now, now=now, by="alice", fields={"copies": 30})
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.append(f"console {page.url}: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"script error {page.url}: {e}"))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url} (on {page.url})"))
        # A request the crawl's own next navigation cancels (net::ERR_ABORTED: the favicon still loading as the next
        # page is opened) is not a fault of the page; a missing file shows as its 4xx response, checked above.
        page.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "")
                and problems.append(f"failed {r.url}: {r.failure}"))
        browser_login(page, live_server, "alice")
        page.goto(f"{live_server}/surveys/new")
        page.click("label.survey-option:has-text('知晓率')")
        page.click("form[action='/surveys/new'] button[type=submit]")
        page.wait_for_url(re.compile(r"/surveys/\d+$"))
        seen, queue = set(), ["/", "/log", page.url.removeprefix(live_server)]
        while queue and len(seen) < 60:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            response = page.goto(live_server + path)
            assert response is not None and response.ok, f"{path}: {response and response.status}"
            page.wait_for_load_state("networkidle")
            for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
                target = urlsplit(urljoin(live_server + path, href))
                if target.netloc == urlsplit(live_server).netloc and not NOT_PAGES.search(target.path):
                    queue.append(target.path + (f"?{target.query}" if target.query else ""))
    finally:
        context.close()
    assert {"/", "/log", "/log/safety_patrol", "/events/mine", "/surveys", "/sites", "/plants"} <= seen, sorted(seen)
    assert any(p.startswith("/events/") and p != "/events/mine" for p in seen), sorted(seen)  # an entry's page
    assert not problems, "\n".join(problems)
