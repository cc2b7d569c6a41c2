"""The domain owns its SQL and speaks no HTTP; the web layer maps reasons to statuses and builds the links."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from fieldlog import accounts, audit, cli, photos, registry, surveys
from fieldlog.db import scalar
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.indicators import entries, evaluation, rollup, tables
from fieldlog.indicators.rules import Context
from fieldlog.periods import Period
from fieldlog.routes.surveys import UNAVAILABLE_STATUS
from fieldlog.web import InvalidQuery, api_detail, query_params
from tests.conftest import FixedClock
from tests.factories import NOW, TZ, event, jpeg, site, user

FIXED = datetime(2021, 3, 15, 2, 0, tzinfo=timezone.utc)
FIXED_ISO = "2021-03-15T02:00:00+00:00"
SHIPPED = tables.shipped_tables()[2021]


def day(text: str) -> Period:
    d = date.fromisoformat(text)
    return Period(d, d, text)


# --- errors: reasons and fields, never statuses or locations ---------------------------------------

def test_every_unavailable_reason_has_a_status_in_the_web_layer():
    assert set(UNAVAILABLE_STATUS) == set(surveys.Unavailable.REASONS)
    exc = surveys.Unavailable("flood")
    assert (exc.reason, str(exc)) == ("flood", "同一网络提交的答卷过多，请稍后再试") and not hasattr(exc, "status")


def test_invalid_input_knows_no_location_and_query_params_places_it():
    plain = InvalidInput({"year": "年份须为四位数字，如 2021"})
    assert not hasattr(plain, "location")
    assert api_detail(plain) == [{"loc": ["body", "year"], "msg": "年份须为四位数字，如 2021", "type": "value_error"}]
    with pytest.raises(InvalidQuery) as caught:
        with query_params():
            raise plain
    assert api_detail(caught.value) == [{"loc": ["query", "year"], "msg": "年份须为四位数字，如 2021",
                                         "type": "value_error"}]
    assert api_detail(InvalidInput({"pauses.0.end_on": "x"}))[0]["loc"] == ["body", "pauses", "0", "end_on"]


# --- links are built by the web layer --------------------------------------------------------------

def test_photo_rows_carry_no_links_but_the_api_and_page_do(db, cfg, users, client_for):
    # Leaflets handed out at a town fair, received an hour later.
    event_id = event(db, "leaflets", "2021-03-15T10:00:00+08:00", by=users["alice"], place="镇集市",
                     fields={"copies": 10}, now=datetime(2021, 3, 15, 3, 0, tzinfo=timezone.utc))["id"]
    photo, _ = photos.ingest(db, cfg.media_dir, event_id, jpeg(), users["alice"])
    assert "url" not in photo and "thumb_url" not in photos.get(db, photo["id"])
    assert all("url" not in p for p in photos.for_event(db, event_id))
    alice = client_for("alice")
    listed = alice.get(f"/api/v1/events/{event_id}").json()["photos"]
    assert [(p["url"], p["thumb_url"]) for p in listed] == [(f"/media/photos/{photo['id']}",
                                                             f"/media/photos/{photo['id']}/thumb")]
    page = alice.get(f"/events/{event_id}").text
    assert f'href="/media/photos/{photo["id"]}"' in page and f'src="/media/photos/{photo["id"]}/thumb"' in page


def test_indicator_rows_carry_no_link_but_the_api_and_the_json_export_do(db, users, cfg, client_for, monkeypatch,
                                                                         tmp_path):
    ev_ = evaluation.build(db, 2021, date(2021, 12, 31), TZ)
    assert "evidence_url" not in ev_.results[0].as_dict()
    rows = client_for("carol").get("/api/v1/indicators?year=2021&as_of=2021-12-31").json()["rows"]
    assert all(r["evidence_url"] == f"/indicators/2021/{r['key']}" for r in rows)
    assert list(rows[0])[-2:] == ["evidence_url", "note"]  # where the key has always stood
    monkeypatch.setenv("FIELDLOG_DATABASE", str(cfg.database))
    monkeypatch.setenv("FIELDLOG_DATA_DIR", str(cfg.data_dir))
    out = tmp_path / "rollup.json"
    result = CliRunner().invoke(cli.main, ["rollup", "--year", "2021", "--as-of", "2021-12-31", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["rows"] == rows


# --- registry ----------------------------------------------------------------------------------------

@pytest.fixture
def two_sites(db, users):
    paused = registry.save_site(db, {"name": "甲", "reg_no": "A-1", "town": "城关镇", "started_on": "2021-01-01"},
                                inspector_ids=[users["bob"], users["alice"]],
                                pauses=[{"start_on": "2021-03-01", "end_on": "2021-03-31", "reason": "整改"}])
    building = registry.save_site(db, {"name": "乙", "reg_no": "B-1", "town": "石湾镇", "started_on": "2021-02-01",
                                       "uses_ready_mix": False})
    return paused, building


def test_list_sites_shapes_each_site_and_keeps_those_active(db, users, two_sites):
    paused, building = two_sites
    every = registry.list_sites(db, "", "", None, date(2021, 3, 15))
    first = next(s for s in every if s["id"] == paused)
    assert first["inspector_ids"] == sorted([users["alice"], users["bob"]]) and "inspector_names" not in first
    assert first["pauses"] == [{"start_on": "2021-03-01", "end_on": "2021-03-31", "reason": "整改"}]
    assert (first["status"], first["uses_ready_mix"]) == ("paused", True)
    other = next(s for s in every if s["id"] == building)
    assert (other["pauses"], other["inspector_ids"], other["uses_ready_mix"]) == ([], [], False)
    assert [s["id"] for s in registry.list_sites(db, "", "", day("2021-03-15"), date(2021, 3, 15))] == [building]
    assert [s["id"] for s in registry.list_sites(db, "", "城关镇", None, date(2021, 3, 15))] == [paused]


def test_site_record_and_site_with_status(db, users, two_sites):
    paused, _ = two_sites
    record = registry.site_record(db, paused, date(2021, 4, 1))
    assert record["inspector_ids"] == sorted([users["alice"], users["bob"]]) and record["uses_ready_mix"] is True
    assert record["status"] == "building"
    assert registry.site_with_status(db, paused, date(2021, 3, 2))["status"] == "paused"
    with pytest.raises(NotFound):
        registry.site_record(db, 9999, date(2021, 4, 1))


def test_site_errors_names_fields_and_pauses_at_once():
    errors = registry.site_errors({"name": "", "reg_no": "X"}, [{"start_on": "2021-05-01", "end_on": "2021-04-01"}])
    assert errors == {"name": "请填写工地名称", "pauses.0.end_on": "复工日期不能早于停工开始日期"}
    assert registry.site_errors({"name": "甲", "reg_no": "X"}, []) == {}


def test_plants_listed_by_town_and_activity_with_status(db, users):
    early = registry.save_plant(db, {"name": "恒通", "licence_no": "P-1", "town": "城关镇", "active_from": "2018-01-01",
                                     "active_to": "2021-02-28"})
    late = registry.save_plant(db, {"name": "鑫达", "licence_no": "P-2", "town": "石湾镇", "active_from": "2021-01-01"})
    today = date(2021, 3, 15)
    assert [(p["id"], p["status"]) for p in registry.list_plants(db, "", "", None, today)] == [
        (early, "stopped"), (late, "producing")]
    assert [p["id"] for p in registry.list_plants(db, "", "石湾镇", None, today)] == [late]
    assert [p["id"] for p in registry.list_plants(db, "", "", day("2021-03-01"), today)] == [late]
    assert registry.plant_with_status(db, early, date(2020, 1, 1))["status"] == "producing"
    assert [p["status"] for p in registry.plants_with_status([registry.get_plant(db, late)], date(2020, 6, 1))] == [
        "not_started"]


# --- accounts and audit ------------------------------------------------------------------------------

def test_set_active_is_audited_and_refuses_oneself(db, users):
    admin = accounts.get_user(db, users["dave"])
    accounts.set_active(db, users["bob"], False, admin, now=FIXED)
    assert accounts.get_user(db, users["bob"])["active"] == 0
    line = audit.recent(db, 1)[0]
    assert (line["action"], line["target"], line["username"], line["at"]) == (
        "user_deactivated", "user:bob", "dave", FIXED_ISO)
    accounts.set_active(db, users["bob"], True, admin, now=FIXED)
    assert accounts.get_user(db, users["bob"])["active"] == 1
    with pytest.raises(InvalidInput) as refused:
        accounts.set_active(db, users["dave"], False, admin, now=FIXED)
    assert refused.value.errors == {"active": "不能停用自己的账号"}
    with pytest.raises(NotFound):
        accounts.set_active(db, 9999, False, admin, now=FIXED)


def test_recent_lines_are_local_with_decoded_details(db, users):
    audit.record(db, "user_created", username="dave", target="user:erin", detail={"role": "chief"}, now=FIXED)
    line = audit.recent_lines(db, 10, ZoneInfo("Asia/Shanghai"))[0]
    assert (line["local_at"], line["details"]) == ("2021-03-15 10:00:00", {"role": "chief"})


# --- indicators --------------------------------------------------------------------------------------

def test_recent_loads_newest_first_without_the_text(db, users):
    text = SHIPPED.read_text(encoding="utf-8")
    tables.load_table(db, text, loaded_by="dave")
    tables.load_table(db, text.replace("year = 2021", "year = 2022"), loaded_by="erin")
    loads = tables.recent_loads(db)
    assert [(r["year"], r["loaded_by"]) for r in loads] == [(2022, "erin"), (2021, "dave")] and "source" not in loads[0]
    assert len(tables.recent_loads(db, 1)) == 1


def test_check_enterable_refuses_computed_rows(db):
    table = tables.table_for_year(db, 2021)
    assert entries.check_enterable(table.row("staff_costs")).key == "staff_costs"
    assert entries.check_enterable(table.row("testing_fees")).key == "testing_fees"  # may be overridden
    with pytest.raises(NotFound):
        entries.check_enterable(table.row("safety_patrols"))


def test_explain_row_shows_the_events_behind_an_override(db, users):
    s = site(db)
    event(db, "concrete_sampling", "2021-03-10", site_id=s, fields={"fee_yuan": 3000}, now=NOW)  # logged late
    row = tables.table_for_year(db, 2021).row("testing_fees")
    ctx = Context(db, 2021, date(2021, 12, 31), TZ)
    computed = rollup.compute_row(ctx, row, None)
    ctx.close()
    entries.save_manual_value(db, 2021, row, {"value": "52.3", "source_document": "决算报表"}, user(db, "carol"))
    explained = rollup.explain_row(db, row, 2021, date(2021, 12, 31), TZ)
    assert (explained.result.source, explained.result.actual) == ("manual", 52.3)
    assert explained.outcome.actual == computed.actual and explained.outcome.actual_text == computed.actual_text
    plain = rollup.explain_row(db, tables.table_for_year(db, 2021).row("safety_patrols"), 2021, date(2021, 12, 31), TZ)
    assert plain.outcome is plain.result.outcome


def test_save_edit_stores_nothing_when_bad_and_only_what_changed(db, users):
    chief = user(db, "carol")
    ev_ = evaluation.build(db, 2021, date(2021, 12, 31), TZ)
    assert set(evaluation.edit_values(ev_).values()) == {""}
    with pytest.raises(InvalidInput) as bad:
        evaluation.save_edit(db, ev_, {"note_accident_rate": "长" * 2001, "full_year_budget": "0", "executed": "1"},
                             chief, now=FIXED)
    assert set(bad.value.errors) == {"note_accident_rate", "full_year_budget"}
    assert scalar(db, "SELECT count(*) FROM evaluation_notes") == 0
    values = {"note_accident_rate": " 全年无事故 ", "full_year_budget": "560.61", "executed": "540"}
    evaluation.save_edit(db, ev_, values, chief, now=FIXED)
    again = evaluation.build(db, 2021, date(2021, 12, 31), TZ)
    assert evaluation.edit_values(again)["note_accident_rate"] == "全年无事故"
    assert evaluation.edit_values(again)["executed"] == "540"
    evaluation.save_edit(db, again, evaluation.edit_values(again), chief, now=FIXED)
    assert scalar(db, "SELECT count(*) FROM evaluation_notes") == 1
    assert scalar(db, "SELECT count(*) FROM budget_execution") == 1
    assert scalar(db, "SELECT written_at FROM evaluation_notes") == FIXED_ISO


# --- the routes pass the app's clock to the domain ---------------------------------------------------

@pytest.fixture
def fixed(cfg):
    cfg.clock = FixedClock(FIXED)
    return cfg.clock


def test_sign_in_and_out_follow_the_app_clock(fixed, db, client_for):
    alice = client_for("alice")
    assert scalar(db, "SELECT at FROM audit_log WHERE action = 'login'") == FIXED_ISO
    assert scalar(db, "SELECT created_at FROM sessions") == FIXED_ISO
    assert alice.get("/", follow_redirects=False).status_code == 200  # the session is fresh by the same clock
    fixed.advance(days=20)
    assert alice.get("/", follow_redirects=False).status_code == 303  # idle longer than SESSION_IDLE


def test_admin_and_indicator_routes_follow_the_app_clock(fixed, db, users, client_for):
    admin = client_for("dave")
    admin.post_form(f"/admin/users/{users['bob']}/active", {"active": "0"})
    assert scalar(db, "SELECT at FROM audit_log WHERE action = 'user_deactivated'") == FIXED_ISO
    admin.post_form("/admin/users", {"username": "erin", "display_name": "艾琳", "role": "inspector",
                                     "password": "a-long-enough-password"})
    assert scalar(db, "SELECT created_at FROM users WHERE username = 'erin'") == FIXED_ISO[:19] + "+00:00"
    chief = client_for("carol")
    chief.post_form("/indicators/2021/evaluation/edit", {"note_accident_rate": "全年无事故"})
    chief.post_form("/indicators/2021/staff_costs/manual", {"value": "360.5", "source_document": "决算报表"})
    assert scalar(db, "SELECT written_at FROM evaluation_notes") == FIXED_ISO
    assert scalar(db, "SELECT entered_at FROM manual_values") == FIXED_ISO
