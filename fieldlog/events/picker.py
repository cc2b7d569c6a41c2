"""The phone's subject picker: pickable sites and plants, nearest first or recently used first."""

from __future__ import annotations

from datetime import date, timedelta

from sqlite_utils import Database

from fieldlog import registry
from fieldlog.events import queries
from fieldlog.events.kinds import pickable
from fieldlog.events.validation import haversine_m

RECENT_DAYS = 90
SHOWN_AFTER_END_DAYS = 365  # completed sites stay pickable for a year (completion filings come late)
MAX_SUBJECTS = 300


def subject_choices(db: Database, subject: str, user_id: int, *, today: date, lat: float | None = None,
                    lon: float | None = None, q: str = "", limit: int = MAX_SUBJECTS) -> list[dict]:
    """Pickable sites/plants: nearest first when the phone's position is known, else recently used first."""
    rows = registry.pickable_subjects(db, pickable(subject), user_id, today - timedelta(days=SHOWN_AFTER_END_DAYS), q)
    recent = queries.recent_subjects(db, user_id, today - timedelta(days=RECENT_DAYS),
                                     [r["id"] for r in rows if r["type"] == "site"],
                                     [r["id"] for r in rows if r["type"] == "plant"])
    for r in rows:
        r["recent"] = r["value"] in recent
        r["distance_m"] = (haversine_m(lat, lon, r["lat"], r["lon"])
                           if lat is not None and lon is not None and r["lat"] is not None else None)
    rows.sort(key=lambda r: (r["town"], r["name"]))
    if lat is not None and lon is not None:
        rows.sort(key=lambda r: (r["distance_m"] is None, r["distance_m"] or 0, not r["recent"]))
    else:
        rows.sort(key=lambda r: not r["mine"])
        rows.sort(key=lambda r: recent.get(r["value"], ""), reverse=True)
    return rows[:limit]
