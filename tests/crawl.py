"""Every page a role can reach: a crawl from the pages without path parameters, following the links on each page.

Pages with parameters (a site's timeline, an event's detail, each drill-down of the indicator table) are reached
the way a person reaches them. A page shape (its path with numbers and ids blanked, and the names of its query
parameters) is read at most `per_shape` times, so a list of 479 events costs a few reads, not 479.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi.routing import APIRoute

from fieldlog import routes

# Not pages: downloads, images, the API, and links whose GET changes nothing but are not read by a person.
SKIP_PREFIXES = ("/api", "/static", "/media", "/docs", "/openapi", "/logout", "/sw.js", "/redoc")
SKIP_SUFFIXES = (".csv", ".xlsx", ".json", ".js", ".webmanifest", ".png", ".ico", ".svg", ".jpg", "/qr.svg")


def start_pages() -> list[str]:
    """Every GET page of the app that takes no path parameter."""
    found = set()
    for name in (m.name for m in pkgutil.iter_modules(routes.__path__)):
        for r in importlib.import_module(f"fieldlog.routes.{name}").router.routes:
            if (isinstance(r, APIRoute) and "GET" in r.methods and "{" not in r.path
                    and not r.path.startswith(SKIP_PREFIXES) and not r.path.endswith(SKIP_SUFFIXES)):
                found.add(r.path)
    assert len(found) > 20  # the walk found the app's pages
    return sorted(found)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.hrefs


def shape(url: str, with_query: bool = True) -> str:
    """The URL's page shape: numbers and ids blanked, and (with_query) the names of its query parameters."""
    parts = urlsplit(url)
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27,}", "/{id}", parts.path)
    path = re.sub(r"/\d+(?=/|$)", "/{n}", path)
    return path + ("?" + ",".join(sorted({k for k, _ in parse_qsl(parts.query)})) if with_query else "")


def local(href: str) -> str | None:
    """The app-relative URL of a link to a page of the app, or None."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith(SKIP_PREFIXES) or parts.path.endswith(SKIP_SUFFIXES):
        return None
    query = urlencode(sorted(parse_qsl(parts.query)))
    return parts.path + (f"?{query}" if query else "")


def crawl(get, per_shape: int = 2, limit: int = 400, with_query: bool = True) -> dict[str, str]:
    """{url: html} of every HTML page reached from start_pages() through links; get(url) -> (status, type, text).

    with_query=False: pages that differ only by their query (a month, a filter) are one shape (for layout checks).
    """
    todo, seen, shapes, pages = list(start_pages()), set(), {}, {}
    while todo and len(pages) < limit:
        url = todo.pop(0)
        key = shape(url, with_query)
        if url in seen or shapes.get(key, 0) >= per_shape:
            continue
        seen.add(url)
        status, content_type, text = get(url)
        if status != 200 or "text/html" not in content_type:
            continue
        shapes[key] = shapes.get(key, 0) + 1
        pages[url] = text
        todo.extend(u for u in (local(h) for h in links(text)) if u and u not in seen)
    return pages
