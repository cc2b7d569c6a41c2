"""Words a station uses: no identifier, English word or None reaches a user on any page.

Every page without a path parameter is fetched as each role on a year of data, and the text a person reads
(tags, scripts, styles and <code> left out) is checked for Python's None, snake_case identifiers and English words.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from html.parser import HTMLParser

import pytest
from fastapi.routing import APIRoute

from fieldlog import routes


# Latin words a Chinese page may carry: units, standards, brand-free abbreviations.
ALLOWED = {"API", "CSV", "XLSX", "JSON", "GPS", "MPa", "km", "KB", "MB", "C15", "C20", "C25", "C30", "C35", "C40",
           "C45", "C50", "C55", "C60", "QR", "CSRF", "ID", "HTTPS", "PNG", "JPEG", "HEIC", "A4", "Excel", "TOML", "toml"}
# Data of the test year that is Latin by nature: user names, the test client's address, the time zone setting.
DATA = {"alice", "bob", "carol", "dave", "testclient", "Asia", "Shanghai"}


class ReadableText(HTMLParser):
    """The text of a page as a person reads it: no script, style, code or template-only parts."""

    SKIP = {"script", "style", "code", "pre", "template", "noscript", "title"}

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1
        for name, value in attrs:  # what a person reads of attributes
            if name in ("placeholder", "title", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def readable(html: str) -> str:
    parser = ReadableText()
    parser.feed(html)
    return " ".join(parser.parts)


def leaks(text: str) -> list[str]:
    found = []
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_.\-]*", text):
        if word in ALLOWED or word in DATA or re.search(r"[0-9]", word):  # numbers, registration numbers (T-00001): data
            continue
        found.append(word)
    return sorted(set(found))


def pages() -> list[str]:
    """Every GET page of the app that takes no path parameter."""
    found = set()
    for name in (m.name for m in pkgutil.iter_modules(routes.__path__)):
        for r in importlib.import_module(f"fieldlog.routes.{name}").router.routes:
            if (isinstance(r, APIRoute) and "GET" in r.methods and "{" not in r.path
                    and not r.path.startswith(("/api", "/static", "/media"))
                    and not r.path.endswith((".csv", ".xlsx", ".json", ".js", ".webmanifest", ".png", ".ico", ".svg"))):
                found.add(r.path)
    assert len(found) > 20  # the walk found the app's pages
    return sorted(found)


@pytest.mark.parametrize("who", ["alice", "carol", "dave"])
def test_no_identifier_reaches_a_reader(client_for, full_year, who):
    client = client_for(who)
    found, read = {}, 0
    for path in pages():
        response = client.get(path, follow_redirects=True)
        if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        read += 1
        if words := leaks(readable(response.text)):
            found[path] = words
    assert read >= 8
    assert found == {}
