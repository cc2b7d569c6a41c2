"""Survey pages: staff create codes and see the QR; the public answers anonymously through /s/{token}."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
import segno

from fieldlog import surveys
from fieldlog.db import one, scalar
from tests.conftest import csrf_of

SVG = "{http://www.w3.org/2000/svg}"
AWARE = {"complaint_channel": "是", "leaflet_received": "是", "safety_signs": "否", "acceptance_required": "是",
         "respondent_type": "施工企业"}


def make_code(client_for, db, kind="awareness_survey", **fields) -> dict:
    staff = client_for("alice")
    response = staff.post_form("/surveys/new", {"kind": kind, **fields}, follow_redirects=False)
    assert response.status_code == 303, response.text
    code_id = int(response.headers["location"].rsplit("/", 1)[1])
    return one(db, "SELECT * FROM survey_codes WHERE id = ?", [code_id])


def answers(db) -> int:
    return scalar(db, "SELECT count(*) FROM survey_answers")


def answer_as(visitor, token: str, form: dict):
    page = visitor.get(f"/s/{token}")
    assert page.status_code == 200
    return visitor.post(f"/s/{token}", data={**form, "csrf_token": csrf_of(page.text)}, follow_redirects=False)


def test_anonymous_visitor_answers_through_the_public_page(client_for, db):
    code = make_code(client_for, db)
    visitor = client_for(None)
    page = visitor.get(f"/s/{code['token']}")
    assert "建设工程质量安全宣传知晓情况调查" in page.text and "投诉举报" in page.text
    response = answer_as(visitor, code["token"], AWARE)
    assert response.status_code == 303 and response.headers["location"] == f"/s/{code['token']}/thanks"
    assert "感谢您的参与" in visitor.get(response.headers["location"]).text
    row = one(db, "SELECT kind, positive, respondent_type FROM survey_answers")
    assert row == {"kind": "awareness_survey", "positive": 1, "respondent_type": "施工企业"}


def test_public_page_shows_no_staff_navigation_and_no_other_answers(client_for, db):
    code = make_code(client_for, db, "satisfaction_survey")
    answer_as(client_for(None), code["token"], {"overall": "不满意", "respondent_type": "群众", "comment": "秘密意见"})
    page = client_for(None).get(f"/s/{code['token']}").text
    assert "主导航" not in page and "/surveys" not in page and "退出" not in page
    assert "秘密意见" not in page and "答卷" not in page


def test_missing_csrf_is_refused_and_nothing_stored(client_for, db):
    code = make_code(client_for, db)
    visitor = client_for(None)
    visitor.get(f"/s/{code['token']}")
    response = visitor.post(f"/s/{code['token']}", data=AWARE, follow_redirects=False)
    assert response.status_code == 403
    assert answers(db) == 0


def test_bad_answer_rerenders_the_form_with_messages(client_for, db):
    code = make_code(client_for, db)
    response = answer_as(client_for(None), code["token"], {**AWARE, "safety_signs": "", "comment": "字" * 600})
    assert response.status_code == 422
    assert "请回答第 3 题" in response.text and "意见建议请不超过 500 字" in response.text
    assert 'value="施工企业" checked' in response.text  # what was chosen stays chosen
    assert answers(db) == 0


def test_flood_from_one_address_gets_429(client_for, db):
    code = make_code(client_for, db)
    visitor = client_for(None)
    for n in range(surveys.PER_CODE_PER_ADDRESS_PER_DAY):
        assert answer_as(visitor, code["token"], {**AWARE, "comment": f"第{n}份"}).status_code == 303
    response = answer_as(visitor, code["token"], {**AWARE, "comment": "再来一份"})
    assert response.status_code == 429 and "提交的答卷过多" in response.text
    assert answers(db) == surveys.PER_CODE_PER_ADDRESS_PER_DAY


def test_double_tap_stores_one_answer(client_for, db):
    code = make_code(client_for, db)
    visitor = client_for(None)
    assert answer_as(visitor, code["token"], AWARE).status_code == 303
    assert answer_as(visitor, code["token"], AWARE).status_code == 303
    assert answers(db) == 1


def test_unknown_closed_and_full_codes_say_so(client_for, db):
    assert client_for(None).get("/s/nothing-here").status_code == 404
    full = make_code(client_for, db, max_answers="1")
    assert answer_as(client_for(None), full["token"], AWARE).status_code == 303
    page = client_for(None).get(f"/s/{full['token']}")
    assert page.status_code == 410 and "本问卷已达到答卷上限" in page.text
    closed = make_code(client_for, db)
    chief = client_for("carol")
    assert chief.post_form(f"/surveys/{closed['id']}/close", follow_redirects=False).status_code == 303
    page = client_for(None).get(f"/s/{closed['token']}")
    assert page.status_code == 410 and "已结束" in page.text


def test_qr_svg_is_valid_and_encodes_the_public_link(client_for, db):
    code = make_code(client_for, db)
    response = client_for("bob").get(f"/surveys/{code['id']}/qr.svg")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg" and root.find(f"{SVG}path") is not None
    expected = io.BytesIO()
    # FIELDLOG_PUBLIC_URL unset: the address `fieldlog serve` listens on, never the request's Host (testserver).
    segno.make(f"http://127.0.0.1:8000/s/{code['token']}", error="m", micro=False).save(
        expected, kind="svg", border=4, omitsize=True, light="#fff", xmldecl=False, title="问卷二维码")
    assert response.content == expected.getvalue()


def test_detail_list_and_print_pages_show_counts_and_link(client_for, db):
    code = make_code(client_for, db, "satisfaction_survey", note="城关镇宣传日")
    for level in ["满意", "很不满意"]:
        answer_as(client_for(None), code["token"], {"overall": level, "respondent_type": "群众"})
    staff = client_for("alice")
    detail = staff.get(f"/surveys/{code['id']}").text
    assert f"/s/{code['token']}" in detail and "50.0%" in detail and f"/surveys/{code['id']}/qr.svg" in detail
    listing = staff.get("/surveys").text
    assert "城关镇宣传日" in listing and "满意度 50.0%" in listing
    printed = staff.get(f"/surveys/{code['id']}/print").text
    assert "衡东县建设工程质量安全监督站" in printed and "建设工程质量安全监督服务满意度调查" in printed


def test_bad_code_form_shows_message_and_stores_nothing(client_for, db):
    staff = client_for("alice")
    response = staff.post_form("/surveys/new", {"kind": "awareness_survey", "max_answers": "-3"})
    assert response.status_code == 422 and "答卷上限须为" in response.text
    assert scalar(db, "SELECT count(*) FROM survey_codes") == 0


@pytest.mark.parametrize("path", ["/surveys", "/surveys/new", "/surveys/1", "/surveys/1/qr.svg", "/surveys/1/print"])
def test_staff_pages_need_login(client_for, path):
    response = client_for(None).get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_admin_is_not_survey_staff_and_inspector_cannot_close_others_code(client_for, db):
    code = make_code(client_for, db)
    assert client_for("dave").get("/surveys").status_code == 403
    assert client_for("bob").post_form(f"/surveys/{code['id']}/close").status_code == 403
    assert one(db, "SELECT closed_at FROM survey_codes")["closed_at"] is None


@pytest.mark.browser
def test_phone_answers_the_survey_without_sideways_scrolling(client_for, db, phone, live_server):
    code = make_code(client_for, db, "satisfaction_survey")
    page = phone.new_page()
    page.goto(f"{live_server}/s/{code['token']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    option = page.get_by_label("基本满意")
    assert option.locator("xpath=..").bounding_box()["height"] >= 44
    option.check()
    page.get_by_label("建设单位").check()
    page.fill("textarea[name=comment]", "服务很好")
    page.click("button[type=submit]")
    page.wait_for_url("**/thanks")
    assert "感谢您的参与" in page.content()
    assert one(db, "SELECT positive, comment FROM survey_answers") == {"positive": 1, "comment": "服务很好"}
