"""Words a station uses: no identifier, English word or None reaches a user on any page.

Every page a role reaches on a year of data (tests/crawl.py: the pages without path parameters, then the links
on them) is fetched, and the text a person reads (tags, scripts, styles and <code> left out) is checked for
Python's None, snake_case identifiers and English words, and for dates written the ISO way.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fieldlog.indicators.rules import RULES
from fieldlog.messages import LABELS
from tests.crawl import crawl, shape


# Latin words a Chinese page may carry: units, standards, brand-free abbreviations.
ALLOWED = {"API", "CSV", "XLSX", "JSON", "GPS", "MPa", "km", "KB", "MB", "C15", "C20", "C25", "C30", "C35", "C40",
           "C45", "C50", "C55", "C60", "QR", "CSRF", "ID", "HTTPS", "PNG", "JPEG", "HEIC", "A4", "Excel", "TOML", "toml",
           "JGJ", "GB"}  # JGJ, GB: the codes of Chinese standards (JGJ 59-2011), which an item of a notice may cite
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


def iso_dates(text: str) -> list[str]:
    """Dates a person reads written the machine's way (2021-03-05): a page says 2021年3月5日 (the `day` filter)."""
    return sorted(set(re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text)))


def leaks(text: str) -> list[str]:
    found = []
    text = re.sub(r"https?://\S+", " ", text)  # an address shown to copy (a survey's public link) is data
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_.\-]*", text):
        if word in ALLOWED or word in DATA or re.search(r"[0-9]", word):  # numbers, registration numbers (T-00001): data
            continue
        found.append(word)
    return sorted(set(found))


@pytest.mark.parametrize("who", ["alice", "carol", "dave"])
def test_no_identifier_reaches_a_reader(client_for, full_year, who):
    """Every page the role reaches, those with parameters too (drill-downs, an event, a site's timeline)."""
    client = client_for(who)

    def get(url):
        response = client.get(url, follow_redirects=True)
        return response.status_code, response.headers.get("content-type", ""), response.text

    pages = crawl(get)
    found = {url: words for url, html in pages.items() if (words := leaks(readable(html)) + iso_dates(readable(html)))}
    assert len(pages) >= 8 and any("{" in shape(u) or "/indicators/2021/" in u for u in pages)
    assert found == {}


def test_every_rule_has_a_name_a_reader_reads():
    assert set(RULES) <= set(LABELS["rule"])


# --- one name per thing: a ready-mix plant is 搅拌站 wherever a person reads it ----------------------------------
# The kinds named after the target table's rows (执法检查巡查商品混凝土公司, 检查商品混凝土公司) keep the table's words.
TABLE_WORDS = ("执法检查巡查商品混凝土公司", "执法检查每月巡查商品混凝土公司", "检查商品混凝土公司")


def test_a_plant_has_one_name():
    root = Path(__file__).resolve().parent.parent
    texts = {p.name: p.read_text(encoding="utf-8") for p in (root / "templates").glob("*.html")}
    texts["messages.py"] = (root / "fieldlog" / "messages.py").read_text(encoding="utf-8")
    found = {}
    for name, text in texts.items():
        for word in TABLE_WORDS:
            text = text.replace(word, "")
        if "商品混凝土公司" in text:
            found[name] = text.count("商品混凝土公司")
    assert found == {}
