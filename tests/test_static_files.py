"""Static files under content-hashed names: /static/app.<hash>.css kept by a phone for a year (immutable), the plain
name still served for pages cached before; every template names them through `static_url`; a repeat visit on a weak
signal fetches no static file at all (a real browser, counting what reaches the real server)."""

from __future__ import annotations

import hashlib
import re

import pytest

from fieldlog.resources import resource_dir
from fieldlog.static_files import IMMUTABLE, compact, hashed_name, hashes, static_url
from tests.conftest import browser_login
from tests.test_browser_log import ready_for_offline

STATIC, TEMPLATES = resource_dir("static"), resource_dir("templates")


def test_a_hashed_name_carries_the_first_digits_of_the_files_sha256():
    digest = hashlib.sha256((STATIC / "app.css").read_bytes()).hexdigest()[:10]
    assert static_url("app.css") == f"/static/app.{digest}.css"
    assert hashed_name("htmx-2.0.11.min.js") == f"htmx-2.0.11.min.{hashes()['htmx-2.0.11.min.js']}.js"
    assert static_url("icons/favicon.ico").startswith("/static/icons/favicon.") and static_url("icons/favicon.ico").endswith(".ico")
    with pytest.raises(KeyError):
        static_url("no-such-file.css")


def test_the_current_hashed_name_is_kept_for_a_year_the_plain_one_revalidated(client_for):
    client = client_for(None)
    hashed = client.get(static_url("app.css"))
    assert hashed.status_code == 200 and hashed.content == (STATIC / "app.css").read_bytes()
    assert hashed.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    plain = client.get("/static/app.css")  # what a page cached before hashing asks for
    assert plain.status_code == 200 and plain.content == hashed.content
    assert "immutable" not in plain.headers.get("cache-control", "") and plain.headers["etag"]
    # A page cached before a deploy names the old hash: the current file, not kept for long (its name is stale).
    stale = client.get("/static/app.0123456789.css")
    assert stale.status_code == 200 and stale.content == hashed.content and "immutable" not in stale.headers.get("cache-control", "")
    assert client.get("/static/no-such.0123456789.css").status_code == 404
    again = client.get(static_url("app.css"), headers={"If-None-Match": hashed.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == IMMUTABLE


def test_every_template_names_static_files_through_static_url():
    plain = [(p.name, m) for p in sorted(TEMPLATES.glob("*.html"))
             for m in re.findall(r"""(?:src|href)=["']/static/[^"']*""", p.read_text(encoding="utf-8"))]
    assert plain == []


def test_pages_link_the_hashed_names(client_for):
    html = client_for("alice").get("/log/safety_patrol").text
    for name in ("app.css", "log.css", "app.js", "queue.js", "log.js", "checks.js", "icons/favicon.ico"):
        assert static_url(name) in html, name
    assert static_url("htmx-2.0.11.min.js") in client_for("carol").get("/chief").text


def static_hits(seen, since: int) -> list[str]:
    return [r["path"] for r in seen[since:] if r["path"].startswith("/static/")]


@pytest.mark.browser
@pytest.mark.parametrize("who, pages", [
    ("alice", ["/log", "/log/safety_patrol", "/events/mine"]),  # the worker keeps the logging pages' files
    ("carol", ["/chief", "/indicators"]),
    ("dave", ["/admin/users"]),                               # no worker: the browser's cache alone
])
def test_a_repeat_visit_fetches_no_static_file(phone, recorded_server, users, who, pages):
    base, seen = recorded_server
    page = phone.new_page()
    if who == "alice":
        ready_for_offline(page, base, who)
    else:
        browser_login(page, base, who)
    for path in pages:
        page.goto(base + path)
        page.wait_for_load_state("load")
    assert any(p.startswith("/static/") for p in static_hits(seen, 0))  # the first visit did fetch them
    mark = len(seen)
    for path in pages:
        page.goto(base + path)
        page.wait_for_load_state("load")
    assert static_hits(seen, mark) == [], static_hits(seen, mark)
    assert {r["path"] for r in seen[mark:]} >= set(pages)  # the pages themselves came from the server


def test_the_projects_own_scripts_are_served_without_their_comments(client_for):
    import os
    import shutil
    import subprocess

    client = client_for(None)
    for name in ("queue.js", "log.js", "sw.js", "app.js"):
        source = (STATIC / name).read_bytes()
        body = client.get(static_url(name)).content
        assert body == compact(source) and len(body) < len(source), name
        assert not re.search(rb"(?m)^\s*//", body) and not re.search(rb"(?m)^[ \t]+\S", body), name
        node = shutil.which("node")
        if node is None:
            if os.environ.get("CI") == "true":
                pytest.fail("node not found: the compacted scripts' syntax cannot be checked")
            continue
        check = subprocess.run([node, "--check", "-"], check=False, input=body.replace(b"__", b"x_"), capture_output=True)
        assert check.returncode == 0, (name, check.stderr.decode())
    # Vendored, already minified files go as they are.
    assert client.get(static_url("htmx-2.0.11.min.js")).content == (STATIC / "htmx-2.0.11.min.js").read_bytes()
    # The service worker the browser runs is the compacted one too.
    assert not re.search(r"(?m)^\s*//", client_for("alice").get("/sw.js").text)
