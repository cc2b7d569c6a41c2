"""Registry of construction sites and ready-mix concrete plants (SPEC section 2)."""

from __future__ import annotations

from datetime import date, datetime

from sqlite_utils import Database

from fieldlog import accounts, audit
from fieldlog.db import one, write
from fieldlog.errors import InvalidInput, NotFound
from fieldlog.messages import label, t
from fieldlog.periods import Period, is_active, parse_date, utc_stamp

SITE_TEXT = ["name", "reg_no", "address", "town", "builder", "contractor", "supervisor"]
PLANT_TEXT = ["name", "licence_no", "address", "town"]
# What forms, API clients and import files write for yes and no.
TRUE_WORDS = {"1", "true", "yes", "y", "on", "是", "使用", "√", "✓"}  # zh: data
FALSE_WORDS = {"0", "false", "no", "n", "off", "否", "不使用", "", "×"}  # zh: data


def _text(raw: dict, key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def _coordinate(raw: dict, key: str, low: float, high: float, name: str, errors: dict) -> float | None:
    text = _text(raw, key)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors[key] = t("registry.not_a_coordinate", field=name)
        return None
    if not low <= value <= high:
        errors[key] = t("registry.coordinate_range", field=name, low=low, high=high)
        return None
    return value


def _location(raw: dict, errors: dict, fields: str) -> tuple[float | None, float | None]:
    """Latitude and longitude, both or neither; `fields` is the label group naming them."""
    lat = _coordinate(raw, "lat", -90, 90, label(fields, "lat"), errors)
    lon = _coordinate(raw, "lon", -180, 180, label(fields, "lon"), errors)
    if (lat is None) != (lon is None) and "lat" not in errors and "lon" not in errors:
        errors["lon" if lon is None else "lat"] = t("registry.lat_lon_together")
    return lat, lon


def _date(raw: dict, key: str, name: str, errors: dict) -> str | None:
    value = raw.get(key)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        parsed = parse_date(_text(raw, key).replace("/", "-").replace(".", "-"))
    except ValueError:
        errors[key] = t("registry.not_a_date", field=name)
        return None
    return parsed.isoformat() if parsed else None


def _bool(raw: dict, key: str, name: str, errors: dict, default: bool) -> bool:
    value = raw.get(key)
    if isinstance(value, bool):
        return value
    text = _text(raw, key).lower()
    if text == "" and value is None:
        return default
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    errors[key] = t("registry.not_yes_no", field=name)
    return default


def clean_site(raw: dict) -> dict:
    """Validate a site from a form, the API or an import row; InvalidInput with zh-CN messages per field."""
    errors: dict[str, str] = {}
    site = {key: _text(raw, key) for key in SITE_TEXT}
    if not site["name"]:
        errors["name"] = t("registry.site_name_required")
    if not site["reg_no"]:
        errors["reg_no"] = t("registry.reg_no_required")
    site["lat"], site["lon"] = _location(raw, errors, "site_field")
    site["uses_ready_mix"] = int(_bool(raw, "uses_ready_mix", t("registry.uses_ready_mix"), errors, True))
    site["started_on"] = _date(raw, "started_on", label("site_field", "started_on"), errors)
    site["completed_on"] = _date(raw, "completed_on", label("site_field", "completed_on"), errors)
    if site["completed_on"] and not site["started_on"] and "started_on" not in errors:
        errors["started_on"] = t("registry.started_on_required")
    if site["started_on"] and site["completed_on"] and site["completed_on"] < site["started_on"]:
        errors["completed_on"] = t("registry.completed_before_started")
    if errors:
        raise InvalidInput(errors)
    return site


def clean_plant(raw: dict) -> dict:
    """Validate a plant; InvalidInput with zh-CN messages per field."""
    errors: dict[str, str] = {}
    plant = {key: _text(raw, key) for key in PLANT_TEXT}
    if not plant["name"]:
        errors["name"] = t("registry.plant_name_required")
    if not plant["licence_no"]:
        errors["licence_no"] = t("registry.licence_no_required")
    plant["lat"], plant["lon"] = _location(raw, errors, "plant_field")
    plant["active_from"] = _date(raw, "active_from", label("plant_field", "active_from"), errors)
    plant["active_to"] = _date(raw, "active_to", label("plant_field", "active_to"), errors)
    if plant["active_from"] and plant["active_to"] and plant["active_to"] < plant["active_from"]:
        errors["active_to"] = t("registry.stopped_before_started")
    if errors:
        raise InvalidInput(errors)
    return plant


def clean_pauses(rows: list[dict]) -> list[dict]:
    """Validate pause intervals (start required, end optional and not before start)."""
    errors, out = {}, []
    for i, row in enumerate(rows):
        start = _date(row, "start_on", label("pause_field", "start_on"), errors)
        end = _date(row, "end_on", label("pause_field", "end_on"), errors)
        if not start and not end:
            continue
        if not start:
            errors[f"pauses.{i}.start_on"] = t("registry.pause_start_required")
        elif end and end < start:
            errors[f"pauses.{i}.end_on"] = t("registry.pause_end_before_start")
        out.append({"start_on": start, "end_on": end, "reason": _text(row, "reason")})
    if errors:
        raise InvalidInput({(k if "." in k else f"pauses.{k}"): v for k, v in errors.items()})
    return out


def _stamp(now: datetime | None) -> str:
    """A stored timestamp: `now` (the caller's clock) in UTC, or the real time when none is given."""
    return utc_stamp(now)


def _check_unique(db: Database, table: str, column: str, value: str, own_id: int | None, message: str) -> None:
    row = one(db, f"SELECT id FROM {table} WHERE {column} = ?", [value])
    if row and row["id"] != own_id:
        raise InvalidInput({column: message})


def _check_inspectors(db: Database, inspector_ids: list[int], site_id: int | None) -> list[int]:
    """The responsible inspectors' ids, sorted; InvalidInput unless each is an active field user or kept.

    Inspectors already responsible for the site are kept after they are deactivated, so the site can still be saved.
    """
    ids = sorted({int(i) for i in inspector_ids})
    if ids:
        found = {u["id"] for u in accounts.field_users(db, ids)}
        kept = {r["user_id"] for r in db.query("SELECT user_id FROM site_inspectors WHERE site_id = ?", [site_id])}
        if set(ids) - found - kept:
            raise InvalidInput({"inspector_ids": t("registry.inspector_unknown")})
    return ids


def save_site(db: Database, raw: dict, *, site_id: int | None = None, inspector_ids: list[int] | None = None,
              pauses: list[dict] | None = None, actor: dict | None = None, now: datetime | None = None) -> int:
    """Create (site_id None) or update a site with its inspectors and pauses; returns its id."""
    site = clean_site(raw)
    pauses = clean_pauses(pauses or [])
    with write(db):
        _check_unique(db, "sites", "reg_no", site["reg_no"], site_id, t("registry.reg_no_taken"))
        ids = _check_inspectors(db, inspector_ids or [], site_id)
        stamp = _stamp(now)
        created = site_id is None
        if created:
            cols = list(site)
            site_id = db.execute(
                f"INSERT INTO sites ({', '.join(cols)}, created_at, updated_at) VALUES ({', '.join('?' * len(cols))}, ?, ?)",
                [*site.values(), stamp, stamp]).lastrowid
        else:
            get_site(db, site_id)
            db.execute(f"UPDATE sites SET {', '.join(f'{c} = ?' for c in site)}, updated_at = ? WHERE id = ?",
                       [*site.values(), stamp, site_id])
        db.execute("DELETE FROM site_inspectors WHERE site_id = ?", [site_id])
        for uid in ids:
            db.execute("INSERT INTO site_inspectors (site_id, user_id) VALUES (?, ?)", [site_id, uid])
        db.execute("DELETE FROM site_pauses WHERE site_id = ?", [site_id])
        for p in pauses:
            db.execute("INSERT INTO site_pauses (site_id, start_on, end_on, reason) VALUES (?, ?, ?, ?)",
                       [site_id, p["start_on"], p["end_on"], p["reason"]])
        audit.record(db, "site_created" if created else "site_updated", user=actor, target=f"site:{site_id}",
                     detail={"reg_no": site["reg_no"], "name": site["name"]}, now=now)
    return site_id


def save_plant(db: Database, raw: dict, *, plant_id: int | None = None, actor: dict | None = None,
               now: datetime | None = None) -> int:
    """Create or update a plant; returns its id."""
    plant = clean_plant(raw)
    with write(db):
        _check_unique(db, "plants", "licence_no", plant["licence_no"], plant_id, t("registry.licence_no_taken"))
        stamp = _stamp(now)
        created = plant_id is None
        if created:
            cols = list(plant)
            plant_id = db.execute(
                f"INSERT INTO plants ({', '.join(cols)}, created_at, updated_at) VALUES ({', '.join('?' * len(cols))}, ?, ?)",
                [*plant.values(), stamp, stamp]).lastrowid
        else:
            get_plant(db, plant_id)
            db.execute(f"UPDATE plants SET {', '.join(f'{c} = ?' for c in plant)}, updated_at = ? WHERE id = ?",
                       [*plant.values(), stamp, plant_id])
        audit.record(db, "plant_created" if created else "plant_updated", user=actor, target=f"plant:{plant_id}",
                     detail={"licence_no": plant["licence_no"], "name": plant["name"]}, now=now)
    return plant_id


def get_site(db: Database, site_id: int) -> dict:
    """A site with its inspector ids/names and pauses; NotFound when missing."""
    site = one(db, "SELECT * FROM sites WHERE id = ?", [site_id])
    if not site:
        raise NotFound(t("registry.site_not_found"))
    site["inspectors"] = list(db.query(
        "SELECT u.id, u.display_name FROM site_inspectors si JOIN users u ON u.id = si.user_id "
        "WHERE si.site_id = ? ORDER BY u.display_name", [site_id]))
    site["pauses"] = list(db.query("SELECT start_on, end_on, reason FROM site_pauses WHERE site_id = ? ORDER BY start_on", [site_id]))
    return site


def get_plant(db: Database, plant_id: int) -> dict:
    plant = one(db, "SELECT * FROM plants WHERE id = ?", [plant_id])
    if not plant:
        raise NotFound(t("registry.plant_not_found"))
    return plant


def search_sites(db: Database, q: str = "", town: str = "", limit: int = 500) -> list[dict]:
    """Sites whose name, registration number, address or builder contains q; optional town filter."""
    like = f"%{q.strip()}%"
    return list(db.query(
        "SELECT s.*, (SELECT group_concat(u.display_name, :sep) FROM site_inspectors si JOIN users u ON u.id = si.user_id "
        "WHERE si.site_id = s.id) AS inspector_names FROM sites s "
        "WHERE (s.name LIKE :q OR s.reg_no LIKE :q OR s.address LIKE :q OR s.builder LIKE :q OR s.contractor LIKE :q) "
        "AND (:town = '' OR s.town = :town) ORDER BY s.completed_on IS NOT NULL, s.town, s.name LIMIT :limit",
        {"q": like, "town": town, "limit": limit, "sep": t("web.list_separator")}))


def search_plants(db: Database, q: str = "", limit: int = 500) -> list[dict]:
    like = f"%{q.strip()}%"
    return list(db.query(
        "SELECT * FROM plants WHERE name LIKE :q OR licence_no LIKE :q OR address LIKE :q ORDER BY name LIMIT :limit",
        {"q": like, "limit": limit}))


TABLES = {"site": "sites", "plant": "plants"}


def exists(db: Database, subject: str, row_id: int) -> bool:
    """Whether a site or plant ('site' or 'plant') with this id is registered."""
    return one(db, f"SELECT 1 AS x FROM {TABLES[subject]} WHERE id = ?", [row_id]) is not None


def named_location(db: Database, subject: str, row_id: int) -> dict | None:
    """{name, lat, lon} (lat and lon may be None) of a site or plant, or None when there is no such row (a
    submission's one look at it: that it exists, the name its answer carries, where it is for the warnings)."""
    return one(db, f"SELECT name, lat, lon FROM {TABLES[subject]} WHERE id = ?", [row_id])


def site_names(db: Database) -> list[dict]:
    """Every site as {id, name}, by name (for choice lists and id-to-name lookups)."""
    return list(db.query("SELECT id, name FROM sites ORDER BY name"))


def plant_names(db: Database) -> list[dict]:
    """Every plant as {id, name}, by name."""
    return list(db.query("SELECT id, name FROM plants ORDER BY name"))


def pickable_subjects(db: Database, subjects: tuple[str, ...], user_id: int, since: date, q: str = "") -> list[dict]:
    """Sites and/or plants a phone may pick: not ended before `since`, matching q; sites say if they are the user's."""
    like, since_text, out = f"%{q.strip()}%", since.isoformat(), []
    if "site" in subjects:
        out += db.query(
            "SELECT 'site:' || s.id AS value, 'site' AS type, s.id, s.name, s.town, s.address, s.lat, s.lon, "
            "EXISTS (SELECT 1 FROM site_inspectors si WHERE si.site_id = s.id AND si.user_id = :u) AS mine "
            "FROM sites s WHERE (s.completed_on IS NULL OR s.completed_on >= :since) "
            "AND (s.name LIKE :q OR s.reg_no LIKE :q OR s.address LIKE :q OR s.town LIKE :q)",
            {"u": user_id, "since": since_text, "q": like})
    if "plant" in subjects:
        out += db.query(
            "SELECT 'plant:' || id AS value, 'plant' AS type, id, name, town, address, lat, lon, 0 AS mine "
            "FROM plants WHERE (active_to IS NULL OR active_to >= :since) "
            "AND (name LIKE :q OR licence_no LIKE :q OR address LIKE :q OR town LIKE :q)",
            {"since": since_text, "q": like})
    return out


def responsible_inspectors(db: Database) -> dict[int, list[dict]]:
    """{site id: [{id, display_name}]} of every site's responsible inspectors, by name."""
    out: dict[int, list[dict]] = {}
    for sid, uid, name in db.conn.execute(
            "SELECT si.site_id, u.id, u.display_name FROM site_inspectors si JOIN users u ON u.id = si.user_id "
            "ORDER BY u.display_name"):
        out.setdefault(sid, []).append({"id": uid, "display_name": name})
    return out


def towns(db: Database) -> list[str]:
    return [r["town"] for r in db.query("SELECT DISTINCT town FROM sites WHERE town != '' ORDER BY town")]


# --- sites and plants with their status, as the pages and the API show them ---------------------------

def site_errors(raw: dict, pauses: list[dict]) -> dict[str, str]:
    """Every message about a site's fields and its pauses at once (empty when both are fine)."""
    errors: dict[str, str] = {}
    for check, arg in ((clean_site, raw), (clean_pauses, pauses)):
        try:
            check(arg)
        except InvalidInput as exc:
            errors.update(exc.errors)
    return errors


def _pause_rows(db: Database) -> dict[int, list[dict]]:
    """{site id: its pauses (start_on, end_on, reason), earliest first}."""
    out: dict[int, list[dict]] = {}
    for r in db.query("SELECT site_id, start_on, end_on, reason FROM site_pauses ORDER BY start_on"):
        out.setdefault(r.pop("site_id"), []).append(r)
    return out


def _inspector_ids(db: Database) -> dict[int, list[int]]:
    """{site id: the user ids of its inspectors, ascending}."""
    out: dict[int, list[int]] = {}
    for r in db.query("SELECT site_id, user_id FROM site_inspectors ORDER BY user_id"):
        out.setdefault(r["site_id"], []).append(r["user_id"])
    return out


def list_sites(db: Database, q: str, town: str, active_on: Period | None, today: date) -> list[dict]:
    """Sites matching q and town (only those active in active_on, when given) with pauses, inspector ids and status."""
    pauses, inspectors = _pause_rows(db), _inspector_ids(db)
    out = []
    for s in search_sites(db, q, town, limit=100000):
        tuples = pause_tuples(pauses.get(s["id"], []))
        if active_on and not site_active(s, tuples, active_on):
            continue
        s.update(uses_ready_mix=bool(s["uses_ready_mix"]), pauses=pauses.get(s["id"], []),
                 inspector_ids=inspectors.get(s["id"], []), status=site_status(s, tuples, today))
        s.pop("inspector_names", None)
        out.append(s)
    return out


def site_record(db: Database, site_id: int, today: date) -> dict:
    """One site as the API gives it: inspectors (and their ids), pauses, ready-mix as a boolean, status."""
    site = get_site(db, site_id)
    site["inspector_ids"] = [i["id"] for i in site["inspectors"]]
    site["uses_ready_mix"] = bool(site["uses_ready_mix"])
    site["status"] = site_status(site, pause_tuples(site["pauses"]), today)
    return site


def site_with_status(db: Database, site_id: int, today: date) -> dict:
    """One site with its inspectors, pauses and status as of today."""
    site = get_site(db, site_id)
    site["status"] = site_status(site, pause_tuples(site["pauses"]), today)
    return site


def plants_with_status(plants: list[dict], today: date) -> list[dict]:
    """The given plant rows, each with a 'status' key as of today."""
    for p in plants:
        p["status"] = plant_status(p, today)
    return plants


def plant_with_status(db: Database, plant_id: int, today: date) -> dict:
    """One plant with its status as of today."""
    return plants_with_status([get_plant(db, plant_id)], today)[0]


def list_plants(db: Database, q: str, town: str, active_on: Period | None, today: date) -> list[dict]:
    """Plants matching q and town (only those active in active_on, when given), each with its status."""
    return plants_with_status([p for p in search_plants(db, q, limit=100000)
                               if (not town or p["town"] == town) and (not active_on or plant_active(p, active_on))],
                              today)


def _pauses_by_site(db: Database) -> dict[int, list[tuple[date, date | None]]]:
    out: dict[int, list] = {}
    for r in db.query("SELECT site_id, start_on, end_on FROM site_pauses"):
        out.setdefault(r["site_id"], []).append((date.fromisoformat(r["start_on"]), parse_date(r["end_on"])))
    return out


def site_active(site: dict, pauses: list[tuple[date, date | None]], period: Period) -> bool:
    """Whether a site row is active in period (SPEC section 2)."""
    return is_active(parse_date(site["started_on"]), parse_date(site["completed_on"]), pauses, period)


def plant_active(plant: dict, period: Period) -> bool:
    """Whether a plant is active in period; a plant with no start date counts as active from the beginning."""
    start = parse_date(plant["active_from"]) or date.min
    return is_active(start, parse_date(plant["active_to"]), [], period)


def active_sites(db: Database, period: Period, ready_mix_only: bool = False) -> list[dict]:
    """All sites active in period (optionally only those using ready-mix concrete): ACTIVE_SITE_COLUMNS."""
    return [s for s in active_sites_in(db, [period])[period.label] if not ready_mix_only or s["uses_ready_mix"]]


# What the lists of active sites show and filter by (coverage, sampling, draws): not the whole registry row.
ACTIVE_SITE_COLUMNS = "id, name, reg_no, town, uses_ready_mix, started_on, completed_on"


def active_sites_in(db: Database, periods: list[Period]) -> dict[str, list[dict]]:
    """{period label: the sites active in it}, the registry read once for all the periods (a month and its quarter)."""
    pauses = _pauses_by_site(db)
    first, last = min(p.start for p in periods), max(p.end for p in periods)
    rows = list(db.query(f"SELECT {ACTIVE_SITE_COLUMNS} FROM sites WHERE started_on IS NOT NULL AND started_on <= ? "
                         "AND (completed_on IS NULL OR completed_on >= ?)", [last.isoformat(), first.isoformat()]))
    spans = [(s, parse_date(s["started_on"]), parse_date(s["completed_on"]), pauses.get(s["id"], [])) for s in rows]
    return {p.label: [s for s, start, end, paused in spans if is_active(start, end, paused, p)] for p in periods}


def active_plants(db: Database, period: Period) -> list[dict]:
    """All plants active in period."""
    return [p for p in db.query("SELECT * FROM plants ORDER BY name") if plant_active(p, period)]


# A subject's span as the active-in-period rule reads it: (id, first day, last day, pauses), dates parsed.
Span = tuple[int, date | None, date | None, list[tuple[date, date | None]]]


def site_spans(db: Database) -> list[tuple[Span, bool]]:
    """Every site's span and whether it uses ready-mix concrete, reading the sites and their pauses once."""
    pauses = _pauses_by_site(db)
    return [((s[0], parse_date(s[1]), parse_date(s[2]), pauses.get(s[0], [])), bool(s[3]))
            for s in db.conn.execute("SELECT id, started_on, completed_on, uses_ready_mix FROM sites")]


def plant_spans(db: Database) -> list[Span]:
    """Every plant's span: a plant with no start date counts as active from the beginning (plant_active)."""
    return [(r[0], parse_date(r[1]) or date.min, parse_date(r[2]), [])
            for r in db.conn.execute("SELECT id, active_from, active_to FROM plants")]


def active_ids(spans: list[Span], period: Period) -> set[int]:
    """The ids of the spans active in period: periods.is_active, with its pause walk only for paused subjects
    (for the others it comes down to the comparisons below: started by the period's end, not ended before it
    began, and a first day not after the last)."""
    first, last = period.start, period.end
    return {sid for sid, start, end, paused in spans
            if start is not None and start <= last and (end is None or (end >= first and end >= start))
            and (not paused or is_active(start, end, paused, period))}


def active_site_map(db: Database, periods: list[Period], ready_mix_only: bool = False,
                    spans: list[tuple[Span, bool]] | None = None) -> dict[str, set[int]]:
    """{period label: ids of sites active in it}, reading the registry once (or not at all, given its spans)."""
    chosen = [span for span, ready_mix in (site_spans(db) if spans is None else spans) if ready_mix or not ready_mix_only]
    return {p.label: active_ids(chosen, p) for p in periods}


def active_plant_map(db: Database, periods: list[Period], spans: list[Span] | None = None) -> dict[str, set[int]]:
    """{period label: ids of plants active in it}."""
    chosen = plant_spans(db) if spans is None else spans
    return {p.label: active_ids(chosen, p) for p in periods}


def pause_tuples(pauses: list[dict]) -> list[tuple[date, date | None]]:
    """Pause rows ({start_on, end_on}) as date pairs."""
    return [(date.fromisoformat(p["start_on"]), parse_date(p["end_on"])) for p in pauses]


def site_status(site: dict, pauses: list[tuple[date, date | None]], today: date) -> str:
    """'not_started', 'building', 'paused' or 'completed' as of today (derived, never stored)."""
    started, completed = parse_date(site["started_on"]), parse_date(site["completed_on"])
    if completed and completed <= today:
        return "completed"
    if not started or started > today:
        return "not_started"
    if any(start <= today and (end is None or end >= today) for start, end in pauses):
        return "paused"
    return "building"


def sites_with_status(db: Database, sites: list[dict], today: date) -> list[dict]:
    """The given site rows, each with a 'status' key as of today."""
    pauses = _pauses_by_site(db)
    for s in sites:
        s["status"] = site_status(s, pauses.get(s["id"], []), today)
    return sites


def plant_status(plant: dict, today: date) -> str:
    """'not_started', 'producing' or 'stopped' as of today."""
    start, end = parse_date(plant["active_from"]), parse_date(plant["active_to"])
    if end and end < today:
        return "stopped"
    if start and start > today:
        return "not_started"
    return "producing"
