"""Bulk import of sites and plants: parsing CSV/XLSX, row checks, preview writes nothing, confirm writes accepted rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from fieldlog import importer, registry
from fieldlog.db import scalar
from fieldlog.messages import LABELS

SITE_HEADER = ["工地名称", "监督注册号", "地址", "乡镇", "纬度", "经度", "建设单位", "施工单位", "监理单位",
               "使用商品混凝土", "开工日期", "竣工验收日期", "负责监督员", "停工期间"]


def site_row(n: int, **kw) -> list:
    values = {"工地名称": f"导入工地{n}", "监督注册号": f"IMP-{n:03d}", "地址": "城关镇建设路", "乡镇": "城关镇",
              "纬度": "27.08", "经度": "112.95", "建设单位": "住建局", "施工单位": "宏达建工", "监理单位": "长顺监理",
              "使用商品混凝土": "是", "开工日期": "2021-03-01", "竣工验收日期": "", "负责监督员": "艾丽丝",
              "停工期间": ""}
    values.update(kw)
    return [values[h] for h in SITE_HEADER]


def csv_bytes(rows: list[list], header=SITE_HEADER, encoding="utf-8-sig") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header=SITE_HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def mixed_rows() -> list[list]:
    """Two good rows and one of each kind of bad row (row numbers 2..9 in the file)."""
    return [
        site_row(1, 负责监督员="艾丽丝、bob", 停工期间="2021-05-01~2021-05-20；2021-08-01~"),   # 2 ok
        site_row(2, 纬度="北纬27度"),                                                        # 3 bad coordinate
        site_row(3, 开工日期="2021-06-01", 竣工验收日期="2021-05-01"),                       # 4 end before start
        site_row(4, 监督注册号="IMP-001"),                                                  # 5 duplicate in file
        site_row(5, 监督注册号="OLD-001"),                                                  # 6 already in database
        site_row(6, 负责监督员="张三"),                                                     # 7 unknown inspector
        site_row(7, 停工期间="2021-05-20~2021-05-01"),                                      # 8 pause end before start
        site_row(8, 开工日期="2021/4/5", 使用商品混凝土="否"),                               # 9 ok, loose date
    ]


@pytest.fixture
def old_site(db, users):
    return registry.save_site(db, {"name": "已有工地", "reg_no": "OLD-001", "started_on": "2020-01-01"})


def reasons(parsed) -> dict[int, dict]:
    return {r.number: r.errors for r in parsed.rejected}


def test_csv_rows_checked_one_by_one(db, users, old_site):
    parsed = importer.preview(db, "sites.csv", csv_bytes(mixed_rows()), "sites")
    assert parsed.error is None
    assert [r.number for r in parsed.accepted] == [2, 9]
    bad = reasons(parsed)
    assert "纬度须为数字" in bad[3]["lat"]
    assert bad[4]["completed_on"] == "竣工验收日期不能早于开工日期"
    assert "与本文件第 2 行重复" in bad[5]["reg_no"]
    assert "已存在于名录中" in bad[6]["reg_no"]
    assert bad[7]["inspectors"] == "没有这个监督员：张三"
    assert "复工日期不能早于停工开始日期" in bad[8]["pauses"]
    assert scalar(db, "SELECT count(*) FROM sites") == 1  # preview writes nothing


def test_apply_writes_only_accepted_rows(db, users, old_site):
    parsed = importer.apply_import(db, importer.preview(db, "sites.csv", csv_bytes(mixed_rows()), "sites"),
                                   actor={"id": users["dave"], "username": "dave"})
    assert parsed.written == 2
    assert scalar(db, "SELECT count(*) FROM sites") == 3
    first = registry.get_site(db, scalar(db, "SELECT id FROM sites WHERE reg_no = 'IMP-001'"))
    assert {i["id"] for i in first["inspectors"]} == {users["alice"], users["bob"]}
    assert [(p["start_on"], p["end_on"]) for p in first["pauses"]] == [("2021-05-01", "2021-05-20"), ("2021-08-01", None)]
    eighth = registry.get_site(db, scalar(db, "SELECT id FROM sites WHERE reg_no = 'IMP-008'"))
    assert eighth["started_on"] == "2021-04-05" and eighth["uses_ready_mix"] == 0
    assert scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'sites_imported'") == 1


def test_missing_required_column_refuses_the_file(db, users):
    header = [h for h in SITE_HEADER if h != "监督注册号"]
    rows = [[v for h, v in zip(SITE_HEADER, site_row(1)) if h != "监督注册号"]]
    parsed = importer.preview(db, "sites.csv", csv_bytes(rows, header=header), "sites")
    assert parsed.error and "缺少必需的列" in parsed.error and "监督注册号" in parsed.error
    assert parsed.rows == []


def test_english_headers_are_accepted(db, users):
    header = ["name", "reg_no", "started_on", "inspectors"]
    parsed = importer.preview(db, "s.csv", csv_bytes([["英文表头工地", "EN-1", "2021-01-01", "alice"]], header=header), "sites")
    assert parsed.error is None and len(parsed.accepted) == 1


def test_gb18030_csv_from_excel_on_chinese_windows(db, users):
    content = csv_bytes([site_row(1)], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    parsed = importer.preview(db, "工地.csv", content, "sites")
    assert parsed.error is None
    assert parsed.accepted[0].record["name"] == "导入工地1"


def test_xlsx_with_real_date_cells(db, users):
    row = site_row(1, 开工日期=datetime(2021, 3, 15), 竣工验收日期=date(2021, 11, 30), 纬度=27.08, 经度=112.95)
    row[1] = 2021001  # a numeric registration number cell
    parsed = importer.preview(db, "sites.xlsx", xlsx_bytes([row]), "sites")
    assert parsed.error is None, parsed.error
    record = parsed.accepted[0].record
    assert record["started_on"] == "2021-03-15" and record["completed_on"] == "2021-11-30"
    assert record["reg_no"] == "2021001" and record["lat"] == 27.08


def test_xlsx_bad_rows_are_reported(db, users, old_site):
    parsed = importer.preview(db, "sites.xlsx", xlsx_bytes(mixed_rows()), "sites")
    assert [r.number for r in parsed.accepted] == [2, 9]
    assert len(parsed.rejected) == 6


def test_file_that_is_not_a_spreadsheet(db, users):
    parsed = importer.preview(db, "sites.xlsx", bytes(range(256)) * 20, "sites")
    assert parsed.error and "不是有效的 XLSX" in parsed.error
    parsed = importer.preview(db, "sites.csv", b"\x00\x01binary\xff\xfe" * 50, "sites")
    assert parsed.error and "CSV" in parsed.error
    assert importer.preview(db, "sites.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "sites").error.startswith("不支持旧版")


def test_empty_and_header_only_files(db, users):
    assert importer.preview(db, "a.csv", b"", "sites").error == "文件是空的"
    assert "只有表头" in importer.preview(db, "a.csv", csv_bytes([]), "sites").error


def test_plants_import(db, users):
    header = ["企业名称", "资质证书编号", "地址", "乡镇", "纬度", "经度", "生产起始日期", "停产日期"]
    rows = [["恒通商砼", "ZZ-1", "", "城关镇", "", "", "2018-01-01", ""],
            ["鑫达商砼", "ZZ-2", "", "", "", "", "2021-05-01", "2021-01-01"],
            ["", "ZZ-3", "", "", "", "", "", ""]]
    parsed = importer.apply_import(db, importer.preview(db, "plants.csv", csv_bytes(rows, header=header), "plants"))
    assert parsed.written == 1
    bad = reasons(parsed)
    assert bad[3]["active_to"] == "停产日期不能早于生产起始日期"
    assert bad[4]["name"] == "请填写企业名称"
    assert scalar(db, "SELECT name FROM plants") == "恒通商砼"


@pytest.mark.parametrize("kind", ["sites", "plants"])
def test_templates_import_cleanly(db, users, kind):
    if kind == "sites":  # the site example row names two inspectors
        from fieldlog import accounts
        accounts.create_user(db, "wang", "王建国", "inspector", "x" * 12)
        accounts.create_user(db, "li", "李明", "inspector", "x" * 12)
    for name, content in [("t.csv", importer.template_csv(kind)), ("t.xlsx", importer.template_xlsx(kind))]:
        parsed = importer.preview(db, name, content, kind)
        assert parsed.error is None and len(parsed.accepted) == 1, (name, parsed.rejected and parsed.rejected[0].errors)
    headers = next(load_workbook(io.BytesIO(importer.template_xlsx(kind))).active.iter_rows(values_only=True))
    assert list(headers) == importer.headers(kind)


def test_template_headers_are_the_catalogue_names_of_the_fields():
    assert importer.headers("sites") == [
        "工地名称", "监督注册号", "地址", "乡镇", "纬度", "经度", "建设单位", "施工单位", "监理单位", "使用商品混凝土",
        "开工日期", "竣工验收日期", "负责监督员", "停工期间"]
    assert importer.headers("plants") == ["企业名称", "资质证书编号", "地址", "乡镇", "纬度", "经度", "生产起始日期", "停产日期"]
    for kind, group in importer.FIELD_LABELS.items():
        assert [key for key, _ in importer.COLUMNS[kind]] == list(LABELS[group]), kind
    assert importer.field_label("plants", "inspector_ids") == importer.field_label("sites", "inspector_ids.0") == "负责监督员"


# --- pages -------------------------------------------------------------------------------------------

def upload(client, kind: str, name: str, content: bytes):
    return client.post(f"/{kind}/import", data={"csrf_token": client.csrf},
                       files={"file": (name, content, "application/octet-stream")})


def test_preview_page_then_confirm(client_for, db, cfg, users, old_site):
    client = client_for("dave")
    response = upload(client, "sites", "sites.csv", csv_bytes(mixed_rows()))
    assert response.status_code == 200
    html = response.text
    assert "预览（尚未写入）" in html and "第 3 行" in html and "纬度须为数字" in html and "没有这个监督员：张三" in html
    assert scalar(db, "SELECT count(*) FROM sites") == 1
    token = re.search(r'name="upload" value="([^"]+)"', html).group(1)
    assert (cfg.data_dir / "imports" / token).exists()
    response = client.post_form("/sites/import/confirm", {"upload": token, "filename": "sites.csv"})
    assert response.status_code == 200
    assert "已写入 2 行" in response.text and "跳过 6 行" in response.text
    assert scalar(db, "SELECT count(*) FROM sites") == 3
    assert not (cfg.data_dir / "imports" / token).exists()
    again = client.post_form("/sites/import/confirm", {"upload": token, "filename": "sites.csv"})
    assert again.status_code == 422 and "已过期或已导入" in again.text
    assert scalar(db, "SELECT count(*) FROM sites") == 3


def test_confirm_refuses_paths_not_chosen_by_the_server(client_for, db, users):
    client = client_for("dave")
    response = client.post_form("/sites/import/confirm", {"upload": "../fieldlog.db", "filename": "x"})
    assert response.status_code == 422


def test_refused_file_shows_the_reason(client_for, db, users):
    client = client_for("dave")
    response = upload(client, "sites", "sites.xlsx", b"not a spreadsheet at all" * 10)
    assert response.status_code == 422 and "不是有效的 XLSX" in response.text
    response = upload(client, "plants", "plants.csv", "名称,地址\n甲,乙\n".encode())
    assert response.status_code == 422 and "缺少必需的列：企业名称、资质证书编号" in response.text


def test_import_pages_are_admin_only(client_for, db, users):
    client = client_for("carol")
    assert client.get("/sites/import").status_code == 403
    assert upload(client, "sites", "s.csv", csv_bytes([site_row(1)])).status_code == 403
    assert client.get("/plants/import/template.csv").status_code == 403
    assert scalar(db, "SELECT count(*) FROM sites") == 0


def test_template_downloads(client_for, users):
    client = client_for("dave")
    response = client.get("/sites/import/template.csv")
    assert response.status_code == 200 and response.content.startswith("\ufeff工地名称".encode())
    response = client.get("/plants/import/template.xlsx")
    assert response.status_code == 200 and response.content.startswith(b"PK")


# --- command line ------------------------------------------------------------------------------------

def run_cli(cfg, *args):
    from click.testing import CliRunner

    from fieldlog.cli import main

    env = {"FIELDLOG_DATA_DIR": str(cfg.data_dir), "FIELDLOG_DATABASE": str(cfg.database),
           "FIELDLOG_SECRET_KEY": "test-secret-key"}
    return CliRunner().invoke(main, list(args), env=env)


def test_cli_dry_run_then_import(cfg, db, users, old_site, tmp_path):
    path = tmp_path / "工地.xlsx"
    path.write_bytes(xlsx_bytes(mixed_rows()))
    result = run_cli(cfg, "import-sites", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "第 3 行 跳过" in result.output and "纬度" in result.output and "未写入" in result.output
    assert scalar(db, "SELECT count(*) FROM sites") == 1
    result = run_cli(cfg, "import-sites", str(path))
    assert result.exit_code == 0 and "已写入 2 行，跳过 6 行" in result.output
    assert scalar(db, "SELECT count(*) FROM sites") == 3


def test_cli_refused_file_exits_1(cfg, db, users, tmp_path):
    path = tmp_path / "plants.csv"
    path.write_text("名称\n甲\n", encoding="utf-8")
    result = run_cli(cfg, "import-plants", str(path))
    assert result.exit_code == 1 and "缺少必需的列" in result.output
    assert scalar(db, "SELECT count(*) FROM plants") == 0


def test_semicolons_and_tabs(db, users):
    rows = [site_row(1, 停工期间="2021-05-01~2021-05-20;2021-08-01~", 负责监督员="alice,bob")]
    parsed = importer.preview(db, "s.csv", csv_bytes(rows), "sites")
    assert parsed.error is None and len(parsed.accepted[0].pauses) == 2 and len(parsed.accepted[0].inspector_ids) == 2
    tabbed = "\t".join(SITE_HEADER) + "\n" + "\t".join(site_row(2)) + "\n"
    parsed = importer.preview(db, "s.txt", tabbed.encode("utf-8"), "sites")
    assert parsed.error is None and parsed.accepted[0].record["reg_no"] == "IMP-002"
