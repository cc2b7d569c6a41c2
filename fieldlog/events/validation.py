"""Checking a submission: typed fields, the subject its kind needs, references to the registry, soft warnings."""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import date, datetime, timedelta, timezone

from sqlite_utils import Database

from fieldlog import accounts, registry
from fieldlog.integers import finite, fits
from fieldlog.errors import InvalidInput
from fieldlog.events import queries
from fieldlog.events.kinds import (ALL_KINDS as KINDS, DOCUMENT_KINDS, NOTICE_KINDS, OCCURRED_ON, choice_label,
                                  choice_value, pickable, subject_fields)
from fieldlog.messages import t
from fieldlog.periods import to_local

FUTURE_ALLOWANCE = timedelta(minutes=10)   # phone clocks drift; beyond this an event "in the future" is a typo
POOR_ACCURACY_M = 50
FAR_FROM_SUBJECT_M = 1000
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_TEXT = 2000

# --- parsing single values ----------------------------------------------------------------------

def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class OutOfRange(ValueError):
    """An integer beyond what SQLite stores (64 bits): refused like any bad value, with its own message."""


def _int(value) -> int:
    """An integer from JSON or form text; ValueError when not one, OutOfRange beyond SQLite's 64 bits."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        number = int(str(value).strip())
    if not fits(number):
        raise OutOfRange
    return number


def _number(value) -> float:
    number = finite(value)
    if number is None:
        raise ValueError
    return number


# What a yes/no field accepts (API clients and forms send 是/否 too).
TRUE = {"1", "true", "yes", "on", "是", "y"}  # zh: data
FALSE = {"0", "false", "no", "off", "否", "n", ""}  # zh: data


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError


def _parse_value(spec: dict, value):
    """The typed value of one field (a choice given by its value or its label); ValueError with a zh message."""
    kind, label = spec["type"], spec["label"]
    if kind == "items":
        from fieldlog import notices  # notices read events; imported here so events load without them

        return notices.parse_items(value)  # ValueError with its own message, naming the item
    try:
        if kind == "int":
            parsed = _int(value)
        elif kind == "number":
            parsed = _number(value)
        elif kind == "date":
            parsed = date.fromisoformat(str(value).strip()).isoformat()
        elif kind == "bool":
            parsed = _bool(value)
        else:
            parsed = str(value).strip()
    except OutOfRange:
        raise ValueError(t("events.int_out_of_range", label=label)) from None
    except (ValueError, TypeError):
        raise ValueError(_not_of_type(kind, label)) from None
    if kind == "choice":
        found = choice_value(spec, parsed)
        if found is None:
            choices = t("events.list_separator").join(o["label"] for o in spec["options"])
            raise ValueError(t("events.not_a_choice", label=label, choices=choices))
        parsed = found
    if kind == "text" and len(parsed) > MAX_TEXT:
        raise ValueError(t("events.text_too_long", label=label, max=MAX_TEXT))
    if spec["min"] is not None and parsed < spec["min"]:
        raise ValueError(_min_message(spec))
    if spec["max"] is not None and parsed > spec["max"]:
        raise ValueError(t("events.above_max", label=label, max=_fmt(spec["max"])))
    return parsed


def _not_of_type(kind: str, label: str) -> str:
    """The message for a value that is not of its field's type."""
    return {"int": t("events.not_int", label=label), "number": t("events.not_number", label=label),
            "date": t("events.not_date", label=label), "bool": t("events.not_bool", label=label)}[kind]


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def clean_fields(kind: str, raw: dict | None, occurred_on: date | None = None) -> tuple[dict, dict]:
    """(typed kind-specific fields, errors keyed 'fields.<name>'); blanks are dropped, defaults filled.

    `occurred_on` (the event's local date) is what a field that may not come before the event is held against.
    """
    raw = raw if isinstance(raw, dict) else {}
    specs = {f["name"]: f for f in KINDS[kind]["fields"]}
    out, errors = {}, {}
    for name in raw:
        if name not in specs:
            errors[f"fields.{name}"] = t("events.unknown_field")
    for name, spec in specs.items():
        value = raw.get(name)
        if _blank(value) and not (spec["type"] == "bool" and value == ""):
            if spec["default"] is not None:
                out[name] = spec["default"]
            continue
        try:
            out[name] = _parse_value(spec, value)
        except ValueError as exc:
            errors[f"fields.{name}"] = str(exc.args[0])
    for name, spec in specs.items():
        key = f"fields.{name}"
        if key in errors or name in out:
            continue
        unless, without, with_ = spec["required_unless"], spec["required_without"], spec["required_with"]
        if spec["required"] or (without and without not in out and f"fields.{without}" not in errors):
            errors[key] = t("events.field_required", label=spec["label"])
        elif with_ and with_ in out:
            errors[key] = _required_with_message(spec, specs)
        elif unless and out.get(unless[0], unless[1]) != unless[1]:
            errors[key] = _required_unless_message(spec, specs, out[unless[0]])
    for name, spec in specs.items():
        other = spec["not_before"]
        if other == OCCURRED_ON:
            if name in out and occurred_on and out[name] < occurred_on.isoformat():
                errors[f"fields.{name}"] = _not_before_message(spec, specs)
        elif other and name in out and other in out and out[name] < out[other]:
            errors[f"fields.{name}"] = _not_before_message(spec, specs)
    for rule in KINDS[kind]["agreements"]:
        (when, value), name = rule["when"], rule["field"]
        key = f"fields.{name}"
        if out.get(when) != value or key in errors or name not in out:
            continue
        if (rule["min"] is not None and out[name] < rule["min"]) or (rule["max"] is not None and out[name] > rule["max"]):
            errors[key] = _agreement_message(rule, specs)
    return out, errors


# --- the messages of the checks, shared by the server and the form's own checks (client_checks) -----

def _required_with_message(spec: dict, specs: dict) -> str:
    return t("events.required_with", label=spec["label"], other=specs[spec["required_with"]]["label"])


def _required_unless_message(spec: dict, specs: dict, value) -> str:
    when = specs[spec["required_unless"][0]]
    return t("events.required_unless", label=spec["label"], when=when["label"], value=choice_label(when, value))


def _not_before_message(spec: dict, specs: dict) -> str:
    other = spec["not_before"]
    if other == OCCURRED_ON:
        return t("events.before_the_event", label=spec["label"])
    return t("events.not_before", label=spec["label"], other=specs[other]["label"])


def _agreement_message(rule: dict, specs: dict) -> str:
    (when, value), label = rule["when"], specs[rule["field"]]["label"]
    if rule["min"] is not None:
        return t("events.agree_min", label=label, when=specs[when]["label"], value=value, min=rule["min"])
    return t("events.agree_max", label=label, when=specs[when]["label"], value=value, max=rule["max"])


def _min_message(spec: dict) -> str:
    if spec["min"] == 1 and spec["type"] == "int":
        return t("events.not_positive", label=spec["label"])
    return t("events.below_min", label=spec["label"], min=_fmt(spec["min"]))


def client_checks(kind: str) -> dict:
    """The checks of a kind's form as data for the page's script, with the server's own messages.

    {"fields": {name: {required, min, max, type, with: [other, msg], without: [other, msg],
    unless: [field, value, {value: msg}], before: [other or OCCURRED_ON, msg]}}, "agree": [{when, is, field,
    min, max, default, msg}]}: the browser says the same sentence the server would, before the form is sent.
    """
    specs = {f["name"]: f for f in KINDS[kind]["fields"]}
    subject = PICK_ONE[f"{pickable(KINDS[kind]['subject'])[0]}_id"]
    # The fields every kind shares, by the names the two forms give them (the phone's subject list: "subject").
    out = {"occurred_at": {"required": t("events.occurred_required")}, "subject": {"required": subject},
           "site_id": {"required": PICK_ONE["site_id"]}, "plant_id": {"required": PICK_ONE["plant_id"]},
           "campaign_id": {"required": t("events.campaign_required")}}
    for spec in specs.values():
        checks = {"required": t("events.field_required", label=spec["label"])}
        if spec["type"] in ("int", "number", "date"):
            checks["type"] = _not_of_type(spec["type"], spec["label"])
        if spec["min"] is not None:
            checks["min"] = _min_message(spec)
        if spec["max"] is not None:
            checks["max"] = t("events.above_max", label=spec["label"], max=_fmt(spec["max"]))
        if spec["required_with"] in specs:
            checks["with"] = [spec["required_with"], _required_with_message(spec, specs)]
        if spec["required_without"] in specs:
            checks["without"] = [spec["required_without"], checks["required"]]
        if spec["required_unless"]:
            field, value = spec["required_unless"]
            checks["unless"] = [field, value, {o["value"]: _required_unless_message(spec, specs, o["value"])
                                               for o in specs[field]["options"] if o["value"] != value}]
        if spec["not_before"]:
            checks["before"] = [spec["not_before"], _not_before_message(spec, specs)]
        out[spec["name"]] = checks
    agree = [{"when": r["when"][0], "is": r["when"][1], "field": r["field"], "min": r["min"], "max": r["max"],
              "default": specs[r["field"]]["default"], "msg": _agreement_message(r, specs)}
             for r in KINDS[kind]["agreements"]]
    return {"fields": out, "agree": agree}


# --- the whole submission -----------------------------------------------------------------------

def parse_occurred(value, *, now: datetime, tz) -> tuple[datetime | None, str | None]:
    """(station-local datetime, None) or (None, zh message); naive input is station-local time."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = "" if value is None else str(value).strip()
        if not text:
            return None, t("events.occurred_required")
        try:
            dt = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            return None, t("events.occurred_malformed")
        if "T" not in text.replace(" ", "T", 1):
            return None, t("events.occurred_needs_time")
    local = to_local(dt, tz)
    if local > now + FUTURE_ALLOWANCE:
        return None, t("events.occurred_in_future")
    if local < EARLIEST:
        return None, t("events.occurred_too_early")
    return local, None


def _optional_int(raw: dict, key: str, label: str, errors: dict) -> int | None:
    if _blank(raw.get(key)):
        return None
    try:
        return _int(raw[key])
    except OutOfRange:
        errors[key] = t("events.ref_out_of_range", label=label)
    except (ValueError, TypeError):
        errors[key] = t("events.ref_not_int", label=label)
    return None


def _optional_number(raw: dict, key: str, low: float, high: float, message: str, errors: dict) -> float | None:
    if _blank(raw.get(key)):
        return None
    try:
        value = _number(raw[key])
    except (ValueError, TypeError):
        errors[key] = message
        return None
    if not low <= value <= high:
        errors[key] = message
        return None
    return value


def _clean_id(value, errors: dict) -> str | None:
    try:
        return str(uuid.UUID(str(value).strip()))
    except (ValueError, TypeError, AttributeError):
        errors["id"] = t("events.id_not_uuid") if not _blank(value) else t("events.id_missing")
        return None


def _clean_campaign(raw: dict, errors: dict) -> dict | None:
    """{'id': n} or {'name', 'start_on', 'end_on'} from campaign_id or a campaign object."""
    cid = _optional_int(raw, "campaign_id", t("events.word_campaign"), errors)
    if cid is not None:
        return {"id": cid}
    obj = raw.get("campaign")
    if not obj:
        return None
    if not isinstance(obj, dict):
        errors["campaign"] = t("events.campaign_malformed")
        return None
    name = str(obj.get("name") or "").strip()
    if not name:
        errors["campaign.name"] = t("events.campaign_name_required")
    dates = {}
    for key, label in (("start_on", t("events.campaign_start_on")), ("end_on", t("events.campaign_end_on"))):
        try:
            dates[key] = date.fromisoformat(str(obj.get(key) or "").strip()).isoformat()
        except ValueError:
            errors[f"campaign.{key}"] = t("events.campaign_date_required", label=label)
    if len(dates) == 2 and dates["end_on"] < dates["start_on"]:
        errors["campaign.end_on"] = t("events.campaign_ends_before_start")
    return {"name": name, **dates}


def _clean_inspectors(value, errors: dict) -> list[int] | None:
    if _blank(value) or value == []:
        return None
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    try:
        return sorted({_int(i) for i in items if not _blank(i)}) or None
    except OutOfRange:
        errors["inspector_ids"] = t("events.inspector_not_found")  # no user has such an id
    except (ValueError, TypeError):
        errors["inspector_ids"] = t("events.inspector_ids_not_int")
    return None


# What a kind refuses, by subject field, when the submission carries it anyway.
NOT_FOR_KIND = {"site_id": t("events.site_id_not_for_kind"), "plant_id": t("events.plant_id_not_for_kind"),
                "place": t("events.place_not_for_kind"), "campaign_id": t("events.campaign_id_not_for_kind")}
PICK_ONE = {"site_id": t("events.site_required"), "plant_id": t("events.plant_required")}


def _clean_subject(kind: str, sub: dict, errors: dict) -> None:
    """Which of site, plant, campaign and place a kind needs or refuses (kinds.subject_fields)."""
    fields, picked = subject_fields(kind), [f"{p}_id" for p in pickable(KINDS[kind]["subject"])]
    if len(picked) == 1 and sub[picked[0]] is None and picked[0] not in errors:
        errors[picked[0]] = PICK_ONE[picked[0]]
    for key in ("site_id", "plant_id"):
        if key not in fields and sub[key] is not None:
            errors[key] = NOT_FOR_KIND[key]
    if len(picked) > 1 and all(sub[k] is None for k in picked) and not sub["place"]:
        errors["place"] = t("events.subject_or_place_required")
    if len(picked) > 1 and all(sub[k] is not None for k in picked):
        errors["plant_id"] = t("events.site_and_plant")
    if "place" not in fields and sub["place"]:
        errors["place"] = NOT_FOR_KIND["place"]
    # A campaign is what a campaign kind is about: required there, refused elsewhere.
    if "campaign_id" in fields and sub["campaign"] is None and not any(k.startswith("campaign") for k in errors):
        errors["campaign_id"] = t("events.campaign_required")
    if "campaign_id" not in fields and sub["campaign"] is not None:
        errors["campaign_id"] = NOT_FOR_KIND["campaign_id"]


def clean(raw: dict, *, now: datetime, tz) -> dict:
    """Check the form of a submission without the database; the normalized submission, or InvalidInput."""
    sub, errors = _clean(raw, now=now, tz=tz)
    if errors:
        raise InvalidInput(errors)
    return sub


def _clean(raw: dict, *, now: datetime, tz) -> tuple[dict, dict]:
    """(normalized submission, errors): what clean checks, without raising, so database checks can add theirs."""
    if not isinstance(raw, dict):
        raise InvalidInput({"body": t("events.body_not_object")})
    errors: dict[str, str] = {}
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        errors["kind"] = t("events.kind_unknown") if kind else t("events.kind_required")
        kind = kind if isinstance(kind, str) else None  # a list or object is no kind (and cannot be looked up)
    sub = {"id": _clean_id(raw.get("id"), errors), "kind": kind}
    occurred, message = parse_occurred(raw.get("occurred_at"), now=now, tz=tz)
    if message:
        errors["occurred_at"] = message
    sub["occurred_at"] = occurred.isoformat(timespec="seconds") if occurred else None
    sub["site_id"] = _optional_int(raw, "site_id", t("events.word_site"), errors)
    sub["plant_id"] = _optional_int(raw, "plant_id", t("events.word_plant"), errors)
    sub["campaign"] = _clean_campaign(raw, errors)
    sub["place"] = str(raw.get("place") or "").strip()[:200] or None
    sub["inspector_ids"] = _clean_inspectors(raw.get("inspector_ids"), errors)
    sub["lat"] = _optional_number(raw, "lat", -90, 90, t("events.lat_range"), errors)
    sub["lon"] = _optional_number(raw, "lon", -180, 180, t("events.lon_range"), errors)
    sub["accuracy_m"] = _optional_number(raw, "accuracy_m", 0, 1e7, t("events.accuracy_range"), errors)
    if (sub["lat"] is None) != (sub["lon"] is None) and not {"lat", "lon"} & errors.keys():
        errors["lon" if sub["lon"] is None else "lat"] = t("events.lat_lon_together")
    note = "" if raw.get("note") is None else str(raw.get("note")).strip()
    if len(note) > MAX_TEXT:
        errors["note"] = t("events.note_too_long", max=MAX_TEXT)
    sub["note"] = note
    if kind in KINDS:
        sub["fields"], field_errors = clean_fields(kind, raw.get("fields"), to_local(occurred, tz).date() if occurred else None)
        errors.update(field_errors)
        _clean_subject(kind, sub, errors)
    return sub, errors


def own_entry_error(inspector_ids: list[int], actor: dict, before: list[int] | None = None) -> str | None:
    """The inspectors rule (docs/contracts.md): an inspector's entry names the inspector; the chief logs for anyone.

    On create (before None) an inspector must be among inspector_ids. On an edit (before: the stored ids) the
    same holds once the edit changes who took part: an inspector cannot remove themselves nor hand an entry
    to others; an edit that leaves the inspectors as they were passes. None when the rule holds, else the message.
    """
    if actor.get("role") != "inspector" or actor["id"] in inspector_ids:
        return None
    if before is not None and sorted(before) == sorted(inspector_ids):
        return None
    return t("events.inspectors_without_self")


def _check_references(db: Database, sub: dict, user: dict, kept: frozenset[int] = frozenset(),
                      errors: dict | None = None, actor: dict | None = None, before: list[int] | None = None) -> dict:
    """Subject, campaign, inspectors and notice exist; fills inspector_ids and campaign_id. InvalidInput if not.

    `user` stands for the recorder (whom inspector_ids defaults to); `actor`, who submits (the user unless
    given), must satisfy own_entry_error, with `before` the stored inspectors on an edit.
    `kept` are inspector ids already on the event being edited: they stay valid after a user is deactivated.
    `errors` from clean are reported together with these, so a form shows every problem at once.
    """
    errors = dict(errors or {})
    # What was looked up is kept on the submission (`found`): store.create builds its answer from it.
    found = sub["found"] = {}
    for subject in ("site", "plant"):
        key = f"{subject}_id"
        if sub[key] is not None and key not in errors:
            found[subject] = registry.named_location(db, subject, sub[key])
            if found[subject] is None:
                errors[key] = t(f"events.{subject}_not_found")
    campaign = sub["campaign"] if not any(k.startswith("campaign") for k in errors) else None
    sub["campaign_id"] = None
    if campaign and "id" in campaign:
        row = queries.campaign(db, campaign["id"])
        if not row:
            errors["campaign_id"] = t("events.campaign_not_found")
        sub["campaign_id"] = campaign["id"]
        sub["campaign_row"] = row
    elif campaign:
        row = queries.campaign_by_key(db, campaign["name"], campaign["start_on"], campaign["end_on"])
        sub["campaign_id"] = row["id"] if row else None
        sub["campaign_row"] = row or {"id": None, **campaign}
    ids = sub["inspector_ids"] or [user["id"]]
    found["inspectors"] = {u["id"]: u for u in accounts.field_users(db, ids)}
    if set(ids) - found["inspectors"].keys() - kept and "inspector_ids" not in errors:
        errors["inspector_ids"] = t("events.inspector_not_found")
    sub["inspector_ids"] = sorted(ids)
    own = own_entry_error(sub["inspector_ids"], actor or user, before)
    if own and "inspector_ids" not in errors:
        errors["inspector_ids"] = own
    if sub["kind"] == "rectification_review" and "fields.notice_event_id" not in errors:
        _check_notice(db, sub, errors)
    if KINDS.get(sub["kind"], {}).get("results"):
        _check_sample(db, sub, errors)
    if sub["kind"] in DOCUMENT_KINDS and not errors:
        from fieldlog import notices  # notices read events; imported here so events load without them

        notices.check(db, sub, errors)
    if errors:
        raise InvalidInput(errors)
    return sub


def _check_notice(db: Database, sub: dict, errors: dict) -> None:
    row = queries.notice_target(db, sub.get("fields", {}).get("notice_event_id", ""))
    if not row or row["kind"] not in NOTICE_KINDS or not json.loads(row["data"]).get("notice_no"):
        errors["fields.notice_event_id"] = t("events.notice_not_found")
    elif sub["site_id"] is not None and row["site_id"] != sub["site_id"]:
        errors["fields.notice_event_id"] = t("events.notice_other_site")


def _check_sample(db: Database, sub: dict, errors: dict) -> None:
    """A sample names a lab of the list (an active one, or the one it already named) and a number no other sample has."""
    from fieldlog import samples  # samples reads events; imported here so events load without it

    fields = sub.get("fields", {})
    if fields.get("lab_id") is not None and "fields.lab_id" not in errors \
            and not samples.lab_usable(db, fields["lab_id"], kept=samples.stored_lab(db, sub["id"])):
        errors["fields.lab_id"] = t("lab.lab_not_usable")
    if fields.get("sample_no") and "fields.sample_no" not in errors and samples.sample_no_taken(db, fields["sample_no"], sub["id"]):
        errors["fields.sample_no"] = t("lab.sample_no_taken", value=fields["sample_no"])


def validate(db: Database, raw: dict, *, user: dict, now: datetime, tz, kept: frozenset[int] = frozenset(),
             actor: dict | None = None, before: list[int] | None = None) -> dict:
    """The normalized submission after form checks (clean) and reference checks against the database.

    `user` is the recorder, `actor` who submits (the user unless given), `before` the stored inspectors on an edit.
    """
    sub, errors = _clean(raw, now=now, tz=tz)
    return _check_references(db, sub, user, kept, errors, actor=actor, before=before)


# --- warnings ------------------------------------------------------------------------------------

def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(a))


def _subject_location(event: dict, locate) -> dict | None:
    """{lat, lon, what} of the site (or else the plant) an event is about, or None; locate(subject, id) reads it."""
    for subject, what in (("site", t("events.word_site")), ("plant", t("events.word_plant"))):
        if event.get(f"{subject}_id"):
            found = locate(subject, event[f"{subject}_id"])
            return {"lat": found["lat"], "lon": found["lon"], "what": what} if found else None
    return None


def warnings_for(db: Database, event: dict) -> list[str]:
    """Soft checks (never a block): poor GPS accuracy, far from the subject's recorded location, outside the campaign."""
    return warnings_at(event, _subject_location(event, lambda subject, row_id: registry.named_location(db, subject,
                                                                                                        row_id)))


def warnings_of_submission(event: dict, sub: dict) -> list[str]:
    """warnings_for a just-stored submission, from the site or plant its reference checks read (sub["found"])."""
    return warnings_at(event, _subject_location(event, lambda subject, row_id: sub["found"].get(subject)))


def warnings_at(event: dict, subject: dict | None) -> list[str]:
    """The warnings of warnings_for, given where the event's subject is ({lat, lon, what}, or None)."""
    out = []
    if event.get("accuracy_m") is not None and event["accuracy_m"] > POOR_ACCURACY_M:
        out.append(t("events.poor_accuracy", metres=event["accuracy_m"]))
    if subject and subject["lat"] is not None and event.get("lat") is not None:
        distance = haversine_m(event["lat"], event["lon"], subject["lat"], subject["lon"])
        if distance > FAR_FROM_SUBJECT_M:
            out.append(t("events.far_from_subject", what=subject["what"], km=distance / 1000))
    campaign = event.get("campaign")
    if campaign and campaign.get("start_on") and not campaign["start_on"] <= event["day"] <= campaign["end_on"]:
        out.append(t("events.outside_campaign", name=campaign["name"], start_on=campaign["start_on"],
                     end_on=campaign["end_on"]))
    return out


_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_event_id(text: str) -> bool:
    """Whether text looks like a canonical event UUID."""
    return bool(_ID_RE.match(text or ""))
