"""An event in full: its inspectors, photos and the history of its corrections."""

from __future__ import annotations

import json

from sqlite_utils import Database

from fieldlog import photos
from fieldlog.events import queries
from fieldlog.events.store import diff, snapshot


def revisions(db: Database, event: dict) -> list[dict]:
    """The history of an event, oldest first; each revision says who changed what, when and why."""
    rows = queries.revision_rows(db, event["id"])
    states = [json.loads(r["before"]) for r in rows] + [snapshot(event)]
    for i, r in enumerate(rows):
        r["before"] = states[i]
        r["changes"] = diff(event["kind"], states[i], states[i + 1])
    return rows


def get_event(db: Database, event_id: str) -> dict:
    """An event with inspectors (ids and names), photos and revision history (each with what changed)."""
    event = queries.load(db, event_id)
    event["inspectors"] = queries.inspectors_of(db, event_id)
    event["photos"] = photos.for_event(db, event_id)
    event["revisions"] = revisions(db, event)
    return event
