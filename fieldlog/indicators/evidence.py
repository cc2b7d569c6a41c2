"""Evidence behind a computed actual: the events it counted, and the subject-periods or periods it judged."""

from __future__ import annotations

import json
from datetime import date

from sqlite_utils import Database

from fieldlog import integers, periods as P, registry, survey_batches, surveys
from fieldlog.errors import InvalidInput
from fieldlog.events import queries
from fieldlog.indicators.rules import Context, Outcome
from fieldlog.messages import t

PAGE = 200


def parse_year_as_of(year: str | int | None, as_of: str | None, today: date) -> tuple[int, date]:
    """(year, as_of) from request text; InvalidInput naming the field with a zh-CN message.

    No year: the current one. No as_of: today, or 31 December for a past year (its final figures).
    """
    errors: dict[str, str] = {}
    y = today.year
    text = "" if year is None else str(year).strip()
    if text:
        given = integers.parse(text, 2000, 2100) if len(text) == 4 else None
        if given is None:
            errors["year"] = t("indicators.bad_year")
        else:
            y = given
    day = None
    if as_of and str(as_of).strip():
        try:
            day = date.fromisoformat(str(as_of).strip())
        except ValueError:
            errors["as_of"] = t("indicators.bad_as_of")
    if errors:
        raise InvalidInput(errors)
    if day is None:
        day = today if y >= today.year else date(y, 12, 31)
    return y, day


def event_rows(db: Database, ctx: Context, outcome: Outcome, field: str | None, offset: int = 0,
               limit: int = PAGE) -> tuple[list[dict], int]:
    """The counted events behind an outcome (newest first, one page) and how many there are."""
    spec = outcome.events
    if not spec:
        return [], 0
    filters = {"kinds": spec["kinds"], "include_voided": False, "windows": ctx.windows,
               "extra": (spec["where"], spec["params"])}
    total = _total(db, ctx, spec, filters)
    # The days and months the windows lie in, said once more so that an index bounds the read: the day index
    # walking from the newest day, or the (kind, month) indexes (the OR of the windows hides the months).
    months = [p.label for p in P.months_of(ctx.year) if p.start <= ctx.last_day]
    bounded = {**filters, "date_from": ctx.first_day.isoformat(), "date_to": ctx.last_day.isoformat(), "months": months}
    rows = queries.evidence_rows(db, offset=offset, limit=limit, by_day=total > DENSE * (offset + limit), **bounded)
    for r in rows:
        data = json.loads(r.pop("data") or "{}")
        r["value"] = data.get(field) if field else None
    return rows, total


# Walk the days, newest first, when the events counted are at least this many times the rows to show.
DENSE = 20


def _total(db: Database, ctx: Context, spec: dict, filters: dict) -> int:
    """How many events the evidence lists: the events themselves when a condition narrows them, else the count
    the rules read (whole months from the monthly tallies, the month under way from the daily ones)."""
    if spec["where"]:
        return queries.count_events(db, **filters)
    return ctx.count(spec["kinds"])


def _names(read, db: Database, ids: set) -> dict:
    """{id: name} of the rows read(db) lists whose id is among ids (nothing is read for no ids)."""
    return {r["id"]: r["name"] for r in read(db) if r["id"] in ids} if ids else {}


def period_rows(db: Database, outcome: Outcome, subject: str = "site", only_missed: bool = False) -> list[dict]:
    """The subject-periods or periods an outcome judged, with names (only the missed ones when asked).

    `subject` (site or plant) names the ids listed as missing in per-period rows.
    """
    rows = [dict(r) for r in outcome.periods if not only_missed or not r["ok"]]
    ids = {"site": set(), "plant": set(), "campaign": set()}
    for r in rows:
        if r.get("subject") in ids:
            ids[r["subject"]].add(r["id"])
        ids["plant" if subject == "plant" else "site"].update(r.get("missing", []))
    names = {"site": _names(registry.site_names, db, ids["site"]), "plant": _names(registry.plant_names, db, ids["plant"]),
             "campaign": _names(queries.campaigns, db, ids["campaign"])}
    missing_names = names["plant" if subject == "plant" else "site"]
    for r in rows:
        r["name"] = names.get(r.get("subject"), {}).get(r["id"], "") if r.get("id") is not None else ""
        r["missing_names"] = [missing_names.get(i, f"#{i}") for i in r.get("missing", [])]
    return rows


def survey_sources(db: Database, row, ctx: Context) -> dict | None:
    """For a survey row: the phone answers and the paper batches behind it, listed apart (None for other rows)."""
    if row.rule != "ratio" or row.params.get("source") != "survey" or ctx.as_of < ctx.first_day:
        return None
    kind = row.params["survey"]
    answers, positive = surveys.totals(db, kind, ctx.first_day, ctx.last_day)
    return {"kind": kind, "phone": {"answers": answers, "positive": positive},
            "paper": survey_batches.list_between(db, ctx.first_day, ctx.last_day, kind)}
