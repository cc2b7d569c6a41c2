"""axe-core on the pages a phone user reads most, at 360 px: no violations.

axe-core comes from npm (package.json at the repository root, installed by `.ci/run` with `npm ci`); it is
not vendored. Without it the test skips on a developer machine and fails under CI=true.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import browser_login

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"axe-core not installed at {AXE}: run `npm ci` at the repository root")
        pytest.skip("axe-core not installed (npm ci)")
    return AXE.read_text(encoding="utf-8")


def violations(page, axe_source: str) -> list[str]:
    """axe-core's violations on the page as loaded, one line each (rule, impact, where)."""
    page.evaluate(f"() => {{ {axe_source}\n; window.axe = axe; }}")  # CDP evaluation: the page's CSP stays as it is
    found = page.evaluate("async () => (await axe.run(document)).violations.map(v => ["
                          "v.id, v.impact, v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary).join(' | ')])")
    return [f"{rule} ({impact}): {where}" for rule, impact, where in found]


INSPECTOR_PAGES = ["/log", "/log/safety_patrol", "/log/concrete_sampling", "/"]
CHIEF_PAGES = ["/chief", "/indicators?year=2021", "/indicators/2021/evaluation", "/chief/followups"]


def test_sign_in_page_has_no_violations(phone, live_server, axe_source):
    page = phone.new_page()
    page.goto(f"{live_server}/login")
    assert violations(page, axe_source) == []


@pytest.mark.parametrize("who,paths", [("alice", INSPECTOR_PAGES), ("carol", CHIEF_PAGES)])
def test_pages_have_no_violations_at_360_px(phone, live_server, full_year, axe_source, who, paths):
    page = phone.new_page()
    browser_login(page, live_server, who)
    found = {}
    for path in paths:
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        if problems := violations(page, axe_source):
            found[path] = problems
    assert found == {}


SMALL_TARGETS = """() => [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')]
  .filter(e => e.offsetParent !== null && !e.closest('p, li.inline, td, dd, .prose'))
  .map(e => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.width > 0 && (r.height < 44 || r.width < 44) && !(e.type === 'checkbox' || e.type === 'radio'))
  .map(([e, r]) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className} "${(e.textContent || e.name || '').trim().slice(0, 12)}" ${Math.round(r.width)}x${Math.round(r.height)}`)"""


@pytest.mark.parametrize("who,paths", [("alice", INSPECTOR_PAGES), ("carol", CHIEF_PAGES)])
def test_tap_targets_are_44_px(phone, live_server, full_year, who, paths):
    page = phone.new_page()
    browser_login(page, live_server, who)
    found = {}
    for path in paths:
        page.goto(f"{live_server}{path}")
        if small := page.evaluate(SMALL_TARGETS):
            found[path] = small
    assert found == {}
