"""双随机一公开: a share of the active sites and a pair of inspectors each, reproducible from the recorded seed by the
documented algorithm, kept and audited, followed against the working-day deadline, published, printed and exported."""

from __future__ import annotations

import io
import math
import random
from datetime import date, datetime

import pytest

from fieldlog import accounts, audit, draws
from fieldlog.errors import InvalidInput
from tests.conftest import PASSWORD
from tests.factories import TZ, event, site, user

DRAWN = datetime(2021, 3, 1, 9, 0, tzinfo=TZ)     # a Monday


def public_rerun(sites: list[int], staff: list[int], responsible: dict, seed: str, share: int, exclude: bool):
    """The algorithm as docs/rules.md states it for the public, written out independently."""
    rng = random.Random(seed)
    chosen = rng.sample(sorted(sites), math.ceil(len(sites) * share / 100))
    return [(s, *rng.sample([p for p in sorted(staff) if not (exclude and p in responsible.get(s, ()))], 2)) for s in chosen]


@pytest.fixture
def staff(db, users):
    more = [accounts.create_user(db, name, name, "inspector", PASSWORD) for name in ("erin", "frank", "grace")]
    return [users["alice"], users["bob"], *more]


def test_the_draw_is_reproducible_from_its_seed_and_honours_the_exclusion():
    sites, staff = list(range(1, 41)), [11, 12, 13, 14, 15]
    responsible = {s: {11 + s % 5} for s in sites}
    first = draws.draw(sites, staff, responsible, "2021-03-衡东", 25, True)
    assert first == draws.draw(list(reversed(sites)), staff, responsible, "2021-03-衡东", 25, True)
    assert first == public_rerun(sites, staff, responsible, "2021-03-衡东", 25, True)
    assert len(first) == 10 and len({s for s, _, _ in first}) == 10
    assert all(a != b and a not in responsible[s] and b not in responsible[s] for s, a, b in first)
    assert first != draws.draw(sites, staff, responsible, "another seed", 25, True)
    with pytest.raises(ValueError):
        draws.draw([1], [11, 12], {1: {11}}, "x", 100, True)


def test_a_draw_is_kept_audited_and_made_once_a_month(db, staff):
    s1, s2 = site(db, inspectors=[staff[0]]), site(db, inspectors=[staff[1]])
    site(db, started_on="2021-04-01")  # not yet active in March
    draw_id = draws.make_draw(db, {"month": "2021-03", "share_percent": "100", "seed": "abc"},
                              user=user(db, "carol"), now=DRAWN)
    d = draws.get(db, draw_id, date(2021, 3, 2), TZ)
    assert (d.seed, d.drawn_by_name, d.exclude_responsible, d.due_working_days) == ("abc", "卡罗尔", True, 20)
    assert sorted(c.site_id for c in d.checks) == sorted([s1, s2])
    expected = draws.draw([s1, s2], staff, {s1: {staff[0]}, s2: {staff[1]}}, "abc", 100, True)
    assert [(c.site_id, c.inspectors[0]["id"], c.inspectors[1]["id"]) for c in d.checks] == expected
    assert audit.recent(db)[0]["action"] == "draw_made"
    with pytest.raises(InvalidInput) as exc:
        draws.make_draw(db, {"month": "2021-03"}, user=user(db, "carol"), now=DRAWN)
    assert "已经抽取过" in exc.value.errors["month"]


@pytest.mark.parametrize("raw, key, message", [
    ({"month": "2021-3x"}, "month", "月份"),
    ({"month": "2021-03", "share_percent": "0"}, "share_percent", "1–100"),
    ({"month": "2021-03", "share_percent": "abc"}, "share_percent", "整数"),
    ({"month": "2021-03", "due_working_days": "-1"}, "due_working_days", "工作日"),
    ({"month": "2021-03", "seed": "x" * 101}, "seed", "100"),
    ({"month": "2019-03"}, "month", "没有在建工地"),
])
def test_bad_draws_are_refused_naming_the_field(db, staff, raw, key, message):
    site(db)
    with pytest.raises(InvalidInput) as exc:
        draws.make_draw(db, raw, user=user(db, "carol"), now=DRAWN)
    assert message in exc.value.errors[key]
    assert draws.all_draws(db) == []


def test_too_few_staff_once_the_responsible_inspector_stands_aside(db, users):
    site(db, name="城关镇安置小区", inspectors=[users["alice"]])
    with pytest.raises(InvalidInput) as exc:
        draws.make_draw(db, {"month": "2021-03", "share_percent": "100"}, user=user(db, "carol"), now=DRAWN)
    assert "城关镇安置小区" in exc.value.errors["exclude_responsible"]
    assert draws.make_draw(db, {"month": "2021-03", "share_percent": "100", "exclude_responsible": "0"},
                           user=user(db, "carol"), now=DRAWN)


def test_working_days_skip_weekends():
    assert draws.add_working_days(date(2021, 3, 5), 1) == date(2021, 3, 8)      # Friday -> Monday
    assert draws.add_working_days(date(2021, 3, 1), 20) == date(2021, 3, 29)


def test_checks_done_on_time_late_pending_overdue_and_publication(db, staff):
    sites = [site(db) for _ in range(4)]
    draw_id = draws.make_draw(db, {"month": "2021-03", "share_percent": "100", "seed": "s", "due_working_days": "5"},
                              user=user(db, "carol"), now=DRAWN)
    d = draws.get(db, draw_id, date(2021, 3, 2), TZ)
    first, second, third = d.checks[0], d.checks[1], d.checks[2]
    by = lambda c: user(db, c.inspectors[0]["id"])["username"]  # noqa: E731
    event(db, "enforcement_patrol", "2021-03-05T10:00:00+08:00", site_id=first.site_id, by=by(first))
    event(db, "enforcement_patrol", "2021-03-12T10:00:00+08:00", site_id=second.site_id, by=by(second))
    # A visit by someone else does not do the check.
    other = next(u for u in staff if u not in (third.inspectors[0]["id"], third.inspectors[1]["id"]))
    event(db, "safety_patrol", "2021-03-04T10:00:00+08:00", site_id=third.site_id, by=user(db, other)["username"])
    states = [c.state for c in draws.get(db, draw_id, date(2021, 3, 8), TZ).checks]
    assert states == [draws.DONE, draws.PENDING, draws.PENDING, draws.PENDING]
    states = [c.state for c in draws.get(db, draw_id, date(2021, 3, 20), TZ).checks]
    assert states == [draws.DONE, draws.LATE, draws.OVERDUE, draws.OVERDUE]
    assert sorted(c.site_id for c in d.checks) == sorted(sites)
    with pytest.raises(InvalidInput) as exc:
        draws.publish(db, draw_id, {"published_on": "2021-02-28"}, user=user(db, "carol"), now=DRAWN,
                      today=date(2021, 3, 20), tz=TZ)
    assert "抽取日" in exc.value.errors["published_on"]
    draws.publish(db, draw_id, {"published_on": "2021-03-19"}, user=user(db, "carol"), now=DRAWN, today=date(2021, 3, 20), tz=TZ)
    assert draws.get(db, draw_id, date(2021, 3, 20), TZ).published_on == "2021-03-19"
    assert audit.recent(db)[0]["action"] == "draw_published"


def test_the_pages_the_public_list_and_the_inspectors_home(client_for, db, staff, clock):
    clock.at = datetime(2021, 3, 2, 9, 0, tzinfo=TZ)
    s = site(db, name="衡东县双随机工地")
    carol = client_for("carol")
    bad = carol.post_form("/chief/draws", {"month": "2021-03", "share_percent": "500"})
    assert bad.status_code == 422 and "抽取比例须为" in bad.text
    made = carol.post_form("/chief/draws", {"month": "2021-03", "share_percent": "100", "seed": "公开种子",
                                            "exclude_responsible": "1"}, follow_redirects=True)
    assert made.status_code == 200 and "公开种子" in made.text and "衡东县双随机工地" in made.text
    draw_id = draws.all_draws(db)[0]["id"]
    printed = carol.get(f"/chief/draws/{draw_id}/print").text
    assert "双随机一公开”抽查名单" in printed and "公开种子" in printed
    csv_text = carol.get(f"/chief/draws/{draw_id}/list.csv").content.decode("utf-8-sig")
    assert "随机种子：公开种子" in csv_text and "衡东县双随机工地" in csv_text
    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(carol.get(f"/chief/draws/{draw_id}/list.xlsx").content)).active
    assert any("衡东县双随机工地" in [str(v) for v in row] for row in sheet.iter_rows(values_only=True))
    check = draws.get(db, draw_id, date(2021, 3, 2), TZ).checks[0]
    drawn_user = user(db, check.inspectors[0]["id"])["username"]
    home = client_for(drawn_user).get("/").text
    assert "抽中的双随机检查" in home and "衡东县双随机工地" in home
    assert carol.post_form(f"/chief/draws/{draw_id}/publish", {"published_on": "2021-03-30"}).status_code == 422
    carol.post_form(f"/chief/draws/{draw_id}/publish", {"published_on": "2021-03-02"})
    assert "已于 2021年3月2日 公开" in carol.get(f"/chief/draws/{draw_id}").text
    assert client_for("alice").get("/chief/draws").status_code == 403
    assert [c.site_id for c in draws.get(db, draw_id, date(2021, 3, 2), TZ).checks] == [s]


def test_the_station_setting_decides_whether_responsible_inspectors_stand_aside(tmp_path):
    from fieldlog import config

    assert config.load(env={}, data_dir=str(tmp_path)).draw_exclude_responsible is True
    off = config.load(env={"FIELDLOG_DRAW_EXCLUDE_RESPONSIBLE": "off"}, data_dir=str(tmp_path))
    assert off.draw_exclude_responsible is False
    assert draws.clean({"month": "2021-03"}, exclude_default=False)["exclude_responsible"] is False
    assert draws.clean({"month": "2021-03", "exclude_responsible": "1"}, exclude_default=False)["exclude_responsible"] is True
