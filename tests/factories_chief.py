"""Plain factories for the chief's tests: sites, plants and events stored exactly as docs/contracts.md says."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from fieldlog import registry

TZ = ZoneInfo("Asia/Shanghai")
_counter = iter(range(1, 10**9))


def site(db, *, name: str | None = None, town: str = "城关镇", started_on: str = "2020-01-01",
         completed_on: str = "", ready_mix: bool = True, inspectors: list[int] | None = None,
         pauses: list[tuple[str, str | None]] | None = None) -> int:
    """A site (active from started_on unless completed or paused)."""
    n = next(_counter)
    return registry.save_site(db, {
        "name": name or f"测试工地{n}", "reg_no": f"T-{n:05d}", "town": town, "started_on": started_on,
        "completed_on": completed_on, "uses_ready_mix": "是" if ready_mix else "否",
    }, inspector_ids=inspectors or [], pauses=[{"start_on": s, "end_on": e or ""} for s, e in (pauses or [])])


def plant(db, *, name: str | None = None, active_from: str = "2019-01-01", active_to: str = "") -> int:
    """A ready-mix concrete plant."""
    n = next(_counter)
    return registry.save_plant(db, {"name": name or f"测试搅拌站{n}", "licence_no": f"P-{n:05d}",
                                    "active_from": active_from, "active_to": active_to})


def event(db, kind: str, occurred_at: str, *, by: int, site_id: int | None = None, plant_id: int | None = None,
          data: dict | None = None, inspectors: list[int] | None = None, voided: bool = False,
          received_at: str | None = None, note: str = "") -> str:
    """Insert one event the way docs/contracts.md stores it (station-local day/month, late flag, inspectors)."""
    local = datetime.fromisoformat(occurred_at).astimezone(TZ)
    received = datetime.fromisoformat(received_at) if received_at else local
    event_id = str(uuid.uuid4())
    body = json.dumps(data or {}, ensure_ascii=False, sort_keys=True)
    db.execute(
        "INSERT INTO events (id, kind, occurred_at, day, month, received_at, late, recorded_by, site_id, plant_id, "
        "note, data, content_hash, updated_at, voided, void_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [event_id, kind, local.isoformat(timespec="seconds"), local.date().isoformat(), local.strftime("%Y-%m"),
         received.astimezone(timezone.utc).isoformat(timespec="seconds"), int(received - local > timedelta(days=3)),
         by, site_id, plant_id, note, body, hashlib.sha256(body.encode()).hexdigest(),
         received.astimezone(timezone.utc).isoformat(timespec="seconds"), int(voided), "录错" if voided else None])
    for uid in inspectors or [by]:
        db.execute("INSERT INTO event_inspectors (event_id, user_id) VALUES (?, ?)", [event_id, uid])
    return event_id
