"""A table file is parsed once per text: an edited file or a newly loaded table counts at the next request, and
a caller's changes to its copy never reach another caller."""

from __future__ import annotations

from fieldlog.indicators import tables

from tests.test_table_source import MINIMAL

SHIPPED = tables.TABLES_DIR / "hengdong-2021.toml"


def test_an_edited_shipped_file_counts_at_the_next_call(db, tmp_path, monkeypatch):
    folder = tmp_path / "tables"
    folder.mkdir()
    path = folder / "hengdong-2021.toml"
    path.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(tables, "TABLES_DIR", folder)
    assert tables.table_for_year(db, 2021).row("safety_patrols").target.value == 500
    path.write_text(path.read_text(encoding="utf-8").replace('target_text = "500次"', 'target_text = "650次"'),
                    encoding="utf-8")
    assert tables.table_for_year(db, 2021).row("safety_patrols").target.value == 650


def test_a_loaded_table_replaces_the_kept_parse_of_the_shipped_one(db, users):
    assert len(tables.table_for_year(db, 2021).rows) > 2
    tables.load_table(db, MINIMAL, loaded_by="admin")
    table = tables.table_for_year(db, 2021)
    assert (table.origin, [r.key for r in table.rows]) == ("loaded", ["safety_patrols", "satisfaction_rate"])


def test_each_caller_gets_its_own_copy(db):
    first = tables.table_for_year(db, 2021)
    first.rows[0].params["kind"] = "changed"
    first.rows.pop()
    first.scoring["weights"].clear()
    again = tables.table_for_year(db, 2021)
    assert again.rows[0].params.get("kind") != "changed"
    assert len(again.rows) == len(tables.parse_table(SHIPPED.read_text(encoding="utf-8")).rows)
    assert again.scoring["weights"]


def test_an_inherited_table_is_named_for_its_year_without_changing_the_kept_parse(db):
    later = tables.table_for_year(db, 2023)
    assert (later.year, later.inherited_from, later.origin) == (2023, 2021, "inherited")
    assert tables.table_for_year(db, 2021).year == 2021
