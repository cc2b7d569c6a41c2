"""Registry writes are stamped by the app's clock (the same clock every request reads)."""

from __future__ import annotations

from datetime import datetime, timezone

from fieldlog import registry


def test_site_and_plant_saved_through_the_api_carry_the_clock_time(client_for, clock, db):
    clock.at = datetime(2021, 5, 4, 1, 2, 3, tzinfo=timezone.utc)
    admin = client_for("dave")
    headers = {"X-CSRF-Token": admin.csrf}
    site = admin.post("/api/v1/sites", json={"name": "时钟工地", "reg_no": "CLK-1", "started_on": "2021-01-01"},
                      headers=headers)
    plant = admin.post("/api/v1/plants", json={"name": "时钟搅拌站", "licence_no": "CLK-P1"}, headers=headers)
    assert site.status_code == 201 and plant.status_code == 201, (site.text, plant.text)
    stored_site = registry.get_site(db, site.json()["id"])
    stored_plant = registry.get_plant(db, plant.json()["id"])
    assert stored_site["created_at"] == stored_plant["updated_at"] == "2021-05-04T01:02:03+00:00"
