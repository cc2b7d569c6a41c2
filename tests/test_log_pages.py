"""Phone logging pages: rendering per role, the no-JS form post, bad input, the subject picker, the service worker."""

from __future__ import annotations

import gzip
import io
import json
import re
import uuid
from datetime import date, datetime, timedelta

import pytest
from PIL import Image

from fieldlog import events, registry
from fieldlog.db import scalar
from fieldlog.routes.log import OFFLINE_STATIC, subject_choices
from fieldlog.static_files import served, static_url
from tests.factories import SITE_AT, TZ, event, site

CENTRE = SITE_AT  # Hengdong county town centre; the sites below lie about 300 m and 5 km away


def now_local(clock) -> datetime:
    """The app's present in station time."""
    return clock().astimezone(TZ)


def form_defaults(html: str) -> dict:
    """The id and occurred_at a freshly rendered form carries."""
    return {name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', html).group(1) for name in ("id", "occurred_at")}


def jpeg(size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "JPEG", quality=85)
    return out.getvalue()


# --- pages and roles ----------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["alice", "carol"])
def test_home_and_every_form_render_for_inspector_and_chief(client_for, username):
    client = client_for(username)
    home = client.get("/log")
    assert home.status_code == 200
    for kind, spec in events.KINDS.items():
        assert f'href="/log/{kind}"' in home.text and spec["label"] in home.text
        page = client.get(f"/log/{kind}")
        assert page.status_code == 200, kind
        assert 'id="log-form"' in page.text and f'action="/log/{kind}"' in page.text
        assert 'capture="environment"' in page.text and 'name="csrf_token"' in page.text
        for field in spec["fields"]:
            if field["later"]:  # a lab result arrives weeks later: not on the phone form (issue 15)
                assert f'data-key="fields.{field["name"]}"' not in page.text, (kind, field["name"])
                continue
            assert f'name="{field["name"]}"' in field_html(page.text, field["name"]), (kind, field["name"])
    assert "今日记录" in home.text and "待发送" in home.text


def field_html(html: str, name: str) -> str:
    match = re.search(rf'<div class="fld" data-key="fields\.{name}">.*?</div>', html, re.S)
    return match.group(0) if match else ""


def test_form_shows_only_that_kinds_fields(client_for):
    page = client_for("alice").get("/log/leaflets").text
    assert 'name="copies"' in page and 'name="place"' in page
    assert 'name="finding"' not in page and 'name="campaign_id"' not in page


def test_admin_is_refused_and_anonymous_is_sent_to_login(client_for):
    assert client_for("dave").get("/log").status_code == 403
    assert client_for("dave").get("/log/safety_patrol").status_code == 403
    anon = client_for(None).get("/log/safety_patrol", follow_redirects=False)
    assert anon.status_code == 303 and anon.headers["location"].startswith("/login")


def test_unknown_kind_is_404(client_for):
    assert client_for("alice").get("/log/picnic").status_code == 404


def test_form_defaults_to_now_and_me(client_for, users, clock):
    clock.at = datetime(2021, 6, 15, 1, 41, 27, tzinfo=TZ)   # late at night
    page = client_for("bob").get("/log/safety_patrol").text
    values = form_defaults(page)
    uuid.UUID(values["id"])
    assert values["occurred_at"] == "2021-06-15T01:41"
    assert f'name="inspector_ids" value="{users["bob"]}" checked' in page
    assert f'name="inspector_ids" value="{users["alice"]}" checked' not in page


# --- the no-JS form post -------------------------------------------------------------------------

def test_form_post_creates_the_event_and_shows_it_under_today(client_for, db, users):
    site_id = site(db, name="城关镇安置小区", reg_no="HD-1", location=CENTRE)
    client = client_for("alice")
    values = form_defaults(client.get("/log/safety_patrol").text)
    response = client.post_form("/log/safety_patrol", {
        **values, "subject": f"site:{site_id}", "finding": "一般", "hazards_general": "2", "hazards_major": "0",
        "notice_no": "", "notice_deadline": "", "note": "脚手架缺扣件", "lat": "27.0815", "lon": "112.9481",
        "accuracy_m": "8"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/log?saved={values['id']}"
    stored = events.load(db, values["id"])
    assert (stored["kind"], stored["site_id"], stored["recorded_by"]) == ("safety_patrol", site_id, users["alice"])
    assert stored["fields"] == {"finding": "一般", "hazards_general": 2, "hazards_major": 0}
    assert stored["inspector_ids"] == [users["alice"]] and stored["accuracy_m"] == 8
    assert stored["occurred_at"].endswith("+08:00") and stored["occurred_at"][:16] == values["occurred_at"]
    home = client.get(response.headers["location"]).text
    assert "已保存" in home
    today = home.split("今日记录", 1)[1]
    assert "安全日常巡查" in today and "城关镇安置小区" in today and values["id"] in today


def test_resubmitting_the_same_form_stores_it_once(client_for, db):
    site_id = site(db, name="吴集镇商住楼", reg_no="HD-2")
    client = client_for("alice")
    data = {**form_defaults(client.get("/log/enforcement_patrol").text), "subject": f"site:{site_id}",
            "finding": "无", "order": "无"}
    first = client.post_form("/log/enforcement_patrol", data, follow_redirects=False)
    again = client.post_form("/log/enforcement_patrol", data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert scalar(db, "SELECT count(*) FROM events") == 1


def test_server_warnings_are_shown_after_saving(client_for, db):
    site_id = site(db, name="杨林镇幼儿园", reg_no="HD-3", location=CENTRE)
    client = client_for("alice")
    data = {**form_defaults(client.get("/log/enforcement_patrol").text), "subject": f"site:{site_id}",
            "finding": "无", "order": "无", "lat": "27.1314", "lon": "112.9480", "accuracy_m": "120"}
    home = client.post_form("/log/enforcement_patrol", data).text
    assert "定位精度较差" in home and "公里" in home
    assert scalar(db, "SELECT count(*) FROM events") == 1  # a warning never blocks


@pytest.mark.parametrize("kind,fields,message", [
    ("leaflets", {"copies": "-5", "place": "城关镇集市"}, "发放份数须大于 0"),
    ("leaflets", {"copies": "100"}, "请选择工地或搅拌站，或填写发放地点"),
    ("safety_patrol", {"finding": "一般"}, "请选择工地"),
    ("safety_patrol", {"subject": "site:999", "finding": "一般"}, "工地不存在"),
    ("completion_filing", {"accepted_on": "2021-05-10", "filed_on": "2021-05-01", "result": "合格"}, "备案日期不能早于竣工验收日期"),
])
def test_bad_input_rerenders_with_the_message_and_stores_nothing(client_for, db, kind, fields, message):
    site_id = site(db, name="霞流镇污水处理厂", reg_no="HD-4")
    client = client_for("alice")
    data = form_defaults(client.get(f"/log/{kind}").text)
    if kind == "completion_filing":
        data["subject"] = f"site:{site_id}"
    response = client.post_form(f"/log/{kind}", {**data, **fields}, follow_redirects=False)
    assert response.status_code == 422
    assert message in response.text and 'id="log-form"' in response.text
    assert scalar(db, "SELECT count(*) FROM events") == 0


def test_future_time_is_refused_and_typed_values_are_kept(client_for, db, clock):
    site_id = site(db, name="石湾镇文化中心", reg_no="HD-5")
    client = client_for("alice")
    data = form_defaults(client.get("/log/concrete_sampling").text)
    data["occurred_at"] = (now_local(clock) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post_form("/log/concrete_sampling", {**data, "subject": f"site:{site_id}", "sample_no": "HD-800",
                                                           "strength_grade": "C30", "seal_no": "FY-800"})
    assert response.status_code == 422 and "发生时间不能晚于现在" in response.text
    assert 'value="FY-800"' in response.text and f'value="site:{site_id}" checked' in response.text
    assert scalar(db, "SELECT count(*) FROM events") == 0


def test_major_inspection_creates_its_campaign_by_name_and_dates(client_for, db, clock):
    site_id = site(db, name="荣桓镇敬老院", reg_no="HD-6")
    client = client_for("carol")
    page = client.get("/log/major_inspection").text
    assert 'name="campaign_name"' in page and 'value="new"' in page
    today = now_local(clock).date()
    data = {**form_defaults(page), "subject": f"site:{site_id}", "finding": "无", "score": "92", "grade": "优良",
            "campaign_id": "new", "campaign_name": "第四季度质量安全大检查",
            "campaign_start_on": (today - timedelta(days=3)).isoformat(), "campaign_end_on": (today + timedelta(days=10)).isoformat()}
    assert client.post_form("/log/major_inspection", data, follow_redirects=False).status_code == 303
    stored = events.load(db, data["id"])
    assert stored["campaign"]["name"] == "第四季度质量安全大检查"
    # The next form lists that campaign first and has it selected, since its dates contain today.
    page = client.get("/log/major_inspection").text
    assert re.search(rf'<option value="{stored["campaign_id"]}" selected>第四季度质量安全大检查', page)


def test_campaigns_containing_today_come_first(client_for, db, clock):
    now = now_local(clock)
    today, site_id = now.date(), site(db)
    for name, start, end in [("上季度大检查", -100, -60), ("本季度大检查", -5, 20), ("年初大检查", -300, -280)]:
        # Each campaign starts with an inspection logged on its first day.
        event(db, "major_inspection", now + timedelta(days=start), site_id=site_id,
              campaign=(name, (today + timedelta(days=start)).isoformat(), (today + timedelta(days=end)).isoformat()))
    page = client_for("alice").get("/log/major_inspection").text
    names = re.findall(r'<option value="\d+"[^>]*>([^（]+)（', page)
    assert names == ["本季度大检查", "上季度大检查", "年初大检查"]


def test_form_post_with_photos_stores_them(client_for, db, cfg):
    site_id = site(db, name="大浦镇供水厂扩建", reg_no="HD-7")
    client = client_for("alice")
    data = {**form_defaults(client.get("/log/safety_patrol").text), "subject": f"site:{site_id}", "finding": "无",
            "csrf_token": client.csrf}
    files = [("photos", ("a.jpg", jpeg(), "image/jpeg")), ("photos", ("b.jpg", jpeg((300, 500)), "image/jpeg"))]
    response = client.post("/log/safety_patrol", data=data, files=files, follow_redirects=False)
    assert response.status_code == 303
    assert scalar(db, "SELECT count(*) FROM event_photos WHERE event_id = ?", [data["id"]]) == 2


def test_a_file_that_is_not_an_image_stores_nothing(client_for, db):
    site_id = site(db, name="高湖镇标准厂房", reg_no="HD-8")
    client = client_for("alice")
    data = {**form_defaults(client.get("/log/safety_patrol").text), "subject": f"site:{site_id}", "finding": "无",
            "csrf_token": client.csrf}
    response = client.post("/log/safety_patrol", data=data, files=[("photos", ("x.jpg", b"not a picture", "image/jpeg"))])
    assert response.status_code == 422 and "不是图片" in response.text
    assert scalar(db, "SELECT count(*) FROM events") == 0


def test_form_post_without_csrf_token_is_refused(client_for, db):
    site_id = site(db, name="新塘镇农贸市场", reg_no="HD-9")
    client = client_for("alice")
    data = {**form_defaults(client.get("/log/safety_patrol").text), "subject": f"site:{site_id}", "finding": "无"}
    assert client.post("/log/safety_patrol", data=data).status_code == 403
    assert scalar(db, "SELECT count(*) FROM events") == 0


# --- the subject picker ---------------------------------------------------------------------------

def test_subjects_sorted_by_distance_when_position_known(db, users):
    far = site(db, name="远处工地", reg_no="D-1", location=(27.1314, 112.9480))        # ~5.6 km north
    near = site(db, name="近处工地", reg_no="D-2", location=(27.0841, 112.9480))       # ~300 m north
    unknown = site(db, name="无坐标工地", reg_no="D-3")
    choices = subject_choices(db, "site", users["alice"], today=date(2021, 3, 15), lat=CENTRE[0], lon=CENTRE[1])
    assert [c["id"] for c in choices] == [near, far, unknown]
    assert 250 < choices[0]["distance_m"] < 350 and choices[2]["distance_m"] is None


def test_subjects_recently_used_first_without_position(db, users, clock):
    a = site(db, name="甲工地", reg_no="R-1", location=CENTRE)
    b = site(db, name="乙工地", reg_no="R-2", location=CENTRE)
    c = site(db, name="丙工地", reg_no="R-3", location=CENTRE)
    now = now_local(clock)
    event(db, "safety_patrol", now - timedelta(days=2), by=users["alice"], site_id=c, now=now)
    event(db, "safety_patrol", now - timedelta(hours=1), by=users["alice"], site_id=b, now=now)
    event(db, "safety_patrol", now - timedelta(minutes=5), by=users["bob"], site_id=a, now=now)  # bob's, not alice's
    choices = subject_choices(db, "site", users["alice"], today=now.date())
    assert [x["id"] for x in choices] == [b, c, a]
    assert [x["recent"] for x in choices] == [True, True, False]
    # bob sees his own recent site first.
    assert subject_choices(db, "site", users["bob"], today=now.date())[0]["id"] == a


def test_subject_partial_orders_by_distance_and_searches(client_for, db):
    site(db, name="远处商住楼", reg_no="P-1", location=(27.1314, 112.9480))
    site(db, name="近处商住楼", reg_no="P-2", location=(27.0841, 112.9480))
    site(db, name="城南医院住院楼", reg_no="P-3", location=(27.0700, 112.9480))
    client = client_for("alice")
    html = client.get("/log/safety_patrol/subjects", params={"lat": CENTRE[0], "lon": CENTRE[1]},
                      headers={"HX-Request": "true"}).text
    assert "<html" not in html
    assert re.findall(r'class="pick-name">([^<]+)<', html) == ["近处商住楼", "城南医院住院楼", "远处商住楼"]
    assert "300 米" in html and "5.6 公里" in html
    html = client.get("/log/safety_patrol/subjects", params={"q": "商住楼"}).text
    assert sorted(re.findall(r'class="pick-name">([^<]+)<', html)) == ["近处商住楼", "远处商住楼"]


def test_plant_kinds_list_plants_and_leaflets_list_both(client_for, db):
    site(db, name="城关镇安置小区", reg_no="S-1")
    registry.save_plant(db, {"name": "衡东县恒通商品混凝土有限公司", "licence_no": "L-1"})
    client = client_for("alice")
    plant_page = client.get("/log/plant_patrol").text
    assert "恒通" in plant_page and "城关镇安置小区" not in plant_page and 'value="plant:' in plant_page
    leaflets = client.get("/log/leaflets").text
    assert "恒通" in leaflets and "城关镇安置小区" in leaflets


def test_search_without_js_filters_the_list(client_for, db):
    site(db, name="甘溪镇实验小学综合楼", reg_no="Q-1")
    site(db, name="草市镇职业中专实训楼", reg_no="Q-2")
    page = client_for("alice").get("/log/safety_patrol", params={"q": "甘溪"}).text
    assert "甘溪镇实验小学综合楼" in page and "草市镇职业中专实训楼" not in page


def test_rectification_review_lists_open_notices(client_for, db, users, clock):
    site_id = site(db, name="杨桥镇保障性住房", reg_no="N-1")
    notice = event(db, "safety_patrol", now_local(clock) - timedelta(days=1), site_id=site_id, now=clock(),
                   fields={"finding": "一般", "notice_no": "衡建安改〔2021〕7号", "notice_deadline": "2022-01-31"})["id"]
    page = client_for("alice").get("/log/rectification_review").text
    assert f'<option value="{notice}" data-subject="site:{site_id}">杨桥镇保障性住房 · 衡建安改〔2021〕7号' in page


# --- the offline machinery -------------------------------------------------------------------------

def test_service_worker_served_from_root_with_every_logging_page(client_for):
    response = client_for("alice").get("/sw.js")
    assert response.status_code == 200
    assert response.headers["service-worker-allowed"] == "/"
    assert "no-cache" in response.headers["cache-control"]
    assert response.headers["content-type"].startswith("text/javascript")
    pages = json.loads(re.search(r"var PAGES = (\[.*?\]);", response.text).group(1))
    assert pages == ["/log"] + [f"/log/{k}" for k in events.KINDS] + ["/notices/new"]
    assert "__VERSION__" not in response.text and f'importScripts("{static_url("queue.js")}")' in response.text
    # The files it keeps, under their content-hashed names.
    cached = json.loads(re.search(r"var STATIC = (\[.*?\]);", response.text).group(1))
    assert cached == [static_url(name) for name in OFFLINE_STATIC] and all(re.search(r"\.[0-9a-f]{10}\.", u) for u in cached)


def test_token_endpoint_gives_the_current_csrf_token(client_for):
    client = client_for("alice")
    assert client.get("/log/token").json() == {"csrf_token": client.csrf}
    assert client_for(None).get("/log/token").status_code == 401


def test_queue_script_only_on_pages_of_people_who_log(client_for):
    queue = static_url("queue.js")
    assert f'src="{queue}"' in client_for("alice").get("/").text
    assert 'data-user="alice"' in client_for("alice").get("/").text
    assert f'src="{queue}"' not in client_for("dave").get("/").text
    # The sign-in page loads it only to count the entries waiting on the phone: no user, so it sends nothing.
    login = client_for(None).get("/login").text
    assert f'<script src="{queue}" defer data-user=""></script>' in login and 'data-user="alice"' not in login


def test_no_inline_scripts_on_logging_pages(client_for):
    client = client_for("alice")
    for path in ["/log", "/log/safety_patrol", "/log/major_inspection"]:
        html = client.get(path).text
        # JSON data blocks (the phone scripts' texts) are not scripts: the CSP never runs them.
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>", html), path
        assert re.search(r'<script type="application/json" class="fieldlog-texts">\{"log\.', html), path


def test_logging_page_transfer_fits_40_kb_gzipped(client_for, db):
    """The page, every file it names and the service worker it registers, as served, gzipped: at most 40 KB."""
    # A county's worth of sites: the picker lists them all so that it works offline.
    for n in range(60):
        site(db, name=f"衡东县城关镇第{n}号安置小区二期工程", reg_no=f"W-{n}", location=(27.0 + n / 1000, 112.9 + n / 1000))
    client = client_for("alice")
    worker = len(gzip.compress(client.get("/sw.js").content))
    for path in ["/log", "/log/safety_patrol", "/log/major_inspection", "/log/leaflets"]:
        html = client.get(path).text
        names = [re.sub(r"\.[0-9a-f]{10}\.", ".", f) for f in re.findall(r'(?:src|href)="/static/([^"]+\.(?:js|css))"', html)]
        assert {"app.css", "log.css", "queue.js", "log.js"} <= set(names), path
        total = len(gzip.compress(html.encode())) + sum(len(gzip.compress(served(n))) for n in names) + worker
        assert total <= 40 * 1024, (path, total)


def test_the_home_lists_the_latest_of_todays_entries_and_counts_the_day(client_for, db, clock):
    """A busy day does not make the page every phone opens grow: the latest TODAY_SHOWN entries, the day's
    total and a link to all of them (the inspector's own list of that day)."""
    from fieldlog.routes.log import TODAY_SHOWN
    now, site_id = now_local(clock), site(db)
    day = now.date().isoformat()
    start = now.replace(hour=0, minute=5, second=0, microsecond=0)
    ids = [event(db, "safety_patrol", start + timedelta(minutes=i), site_id=site_id)["id"]
           for i in range(TODAY_SHOWN + 2)]
    event(db, "safety_patrol", start + timedelta(minutes=1), by="bob", site_id=site_id)  # bob's: not counted
    today = client_for("alice").get("/log").text.split('id="today"', 1)[1]
    shown = re.findall(r'<li class="[^"]*" data-id="([^"]+)"', today)
    assert shown == ids[::-1][:TODAY_SHOWN]
    assert f"今天共 {TODAY_SHOWN + 2} 条记录，以上是最新的 {TODAY_SHOWN} 条" in today
    assert f'href="/events/mine?from={day}&amp;to={day}"' in today
    # A day that fits says nothing more.
    assert "今天共" not in client_for("bob").get("/log").text


def test_a_day_past_the_count_cap_says_more_than_it(client_for, db, clock):
    """The day's count stops past events.DAY_COUNT_CAP (the walk of the day reads no further): the page says more
    than that many, and still lists the latest."""
    from fieldlog.events import DAY_COUNT_CAP
    now, site_id = now_local(clock), site(db)
    start = now.replace(hour=0, minute=1, second=0, microsecond=0)
    for i in range(DAY_COUNT_CAP + 3):
        event(db, "safety_patrol", start + timedelta(seconds=20 * i), site_id=site_id)
    today = client_for("alice").get("/log").text.split('id="today"', 1)[1]
    assert f"今天超过 {DAY_COUNT_CAP} 条记录，以上是最新的 20 条" in today
    assert "今天共" not in today
