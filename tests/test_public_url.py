"""FIELDLOG_PUBLIC_URL: every absolute link (survey QR codes, their pages and printed sheets) starts with it,
whatever Host the request came with; staff are warned in Chinese while the public could not open such a link."""

from __future__ import annotations

import io

import pytest
import segno

from fieldlog import config
from fieldlog.db import one
from fieldlog.web import create_app
from tests.conftest import Client, login

PUBLIC = "https://jdz.example.gov.cn"
HOSTS = ["testserver", "127.0.0.1:8000", "evil.example:8443", "192.168.1.20"]
WARNING = 'id="public-url-warning"'


def segno_svg(url: str) -> bytes:
    """The QR code of url as the survey pages make it (level M, 4-module border), made here independently."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="svg", border=4, omitsize=True, light="#fff",
                                                 xmldecl=False, title="问卷二维码")
    return out.getvalue()


def staff_client(cfg, public_url: str) -> Client:
    cfg.public_url = config.parse_public_url(public_url)
    client = Client(create_app(cfg))
    assert login(client, "alice").status_code == 303
    return client


def new_code(client: Client, db) -> dict:
    response = client.post_form("/surveys/new", {"kind": "awareness_survey"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return one(db, "SELECT * FROM survey_codes WHERE id = ?", [int(response.headers["location"].rsplit("/", 1)[1])])


@pytest.mark.parametrize("host", HOSTS)
def test_qr_code_and_printed_sheet_carry_the_public_url_whatever_the_host(cfg, db, users, host):
    client = staff_client(cfg, PUBLIC + "/")
    code = new_code(client, db)
    link = f"{PUBLIC}/s/{code['token']}"
    headers = {"Host": host}
    qr = client.get(f"/surveys/{code['id']}/qr.svg", headers=headers)
    assert qr.status_code == 200
    assert qr.content == segno_svg(link)
    assert qr.content != segno_svg(f"http://{host}/s/{code['token']}")  # the check can tell the two apart
    for page in (f"/surveys/{code['id']}", f"/surveys/{code['id']}/print"):
        html = client.get(page, headers=headers).text
        assert link in html and f"//{host}/s/" not in html
        assert WARNING not in html


def test_unset_public_url_links_to_the_listen_address_and_warns(cfg, db, users):
    client = staff_client(cfg, "")
    assert WARNING in client.get("/surveys/new").text and "FIELDLOG_PUBLIC_URL" in client.get("/surveys/new").text
    code = new_code(client, db)
    link = f"http://127.0.0.1:8000/s/{code['token']}"  # FIELDLOG_HOST:FIELDLOG_PORT, not the Host sent
    qr = client.get(f"/surveys/{code['id']}/qr.svg", headers={"Host": "station.example.cn"})
    assert qr.content == segno_svg(link)
    for page in (f"/surveys/{code['id']}", f"/surveys/{code['id']}/print"):
        html = client.get(page, headers={"Host": "station.example.cn"}).text
        assert WARNING in html and "群众扫码打不开这个二维码" in html and "尚未设置对外访问地址" in html
        assert link in html and "station.example.cn" not in html


@pytest.mark.parametrize("public_url, words", [
    ("http://127.0.0.1:8000", "是本机地址"),
    ("http://localhost:8000", "是本机地址"),
    ("https://[::1]:8443", "是本机地址"),
    ("http://192.168.1.10:8000", "只在本单位局域网内可用"),
    ("https://fieldlog.local", "只在本单位局域网内可用"),
])
def test_loopback_or_lan_public_url_warns_the_staff(cfg, db, users, public_url, words):
    client = staff_client(cfg, public_url)
    page = client.get("/surveys/new").text
    assert WARNING in page and words in page
    code = new_code(client, db)
    detail = client.get(f"/surveys/{code['id']}").text
    assert WARNING in detail and words in detail and f"{config.parse_public_url(public_url)}/s/{code['token']}" in detail


def test_public_url_is_read_from_the_environment_and_normalized(tmp_path):
    env = {"FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_PUBLIC_URL": " HTTPS://JDZ.Example.gov.cn:8443/ "}
    cfg = config.load(env=env)
    assert cfg.public_url == "https://jdz.example.gov.cn:8443" == cfg.link_base
    assert config.public_url_problem(cfg.public_url) is None
    unset = config.load(env={"FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_HOST": "0.0.0.0", "FIELDLOG_PORT": "9000"})
    assert unset.public_url == "" and unset.link_base == "http://127.0.0.1:9000"
    assert config.public_url_problem(unset.public_url) == "unset"


@pytest.mark.parametrize("value", ["jdz.example.gov.cn", "ftp://jdz.example.gov.cn", "https://jdz.example.gov.cn/fieldlog",
                                   "https://jdz.example.gov.cn?x=1", "https://user:pw@jdz.example.gov.cn",
                                   "https://jdz.example.gov.cn:port", "https://"])
def test_a_mistyped_public_url_stops_the_start_with_a_chinese_message(tmp_path, value):
    with pytest.raises(ValueError, match="FIELDLOG_PUBLIC_URL 的") as caught:
        config.load(env={"FIELDLOG_DATA_DIR": str(tmp_path), "FIELDLOG_PUBLIC_URL": value})
    assert value.strip() in str(caught.value) and "不带路径" in str(caught.value)


def test_serve_refuses_a_mistyped_public_url(tmp_path):
    from click.testing import CliRunner

    from fieldlog.cli import main

    result = CliRunner().invoke(main, ["serve"], env={"FIELDLOG_DATA_DIR": str(tmp_path),
                                                      "FIELDLOG_PUBLIC_URL": "jdz.example.gov.cn"})
    assert result.exit_code == 1 and "FIELDLOG_PUBLIC_URL" in result.output
