"""The event kinds as data (SPEC section 3): each kind's fields, its subject and the labels a person reads."""

from __future__ import annotations

from fieldlog.messages import LABELS as CATALOGUE_LABELS, label, t
from fieldlog.periods import day_text

# Choice values that are stored and sent by API clients as they are: their label is the value itself.
FINDINGS = ["无", "一般", "重大"]  # zh: data
PASS_FAIL = ["合格", "不合格"]  # zh: data
GRADES = ["优良", "合格", "不合格"]  # zh: data
METHODS = ["试块", "回弹", "钻芯"]  # zh: data
CONDITIONS = ["符合", "不符合"]  # zh: data
SEVERITIES = ["一般", "较大", "重大", "特别重大"]  # zh: data
STRENGTH_GRADES = [f"C{n}" for n in range(10, 101, 5)]
# How long a concrete sample's result may take: 28 days of curing, then a week for the lab's report.
# After due_days the sample is overdue on the list of samples awaiting results (samples.awaiting).
LAB_RESULTS = {"curing_days": 28, "report_days": 7, "due_days": 28 + 7}
# The order of an enforcement patrol: English stored values, Chinese labels (LABELS["order"]).
ORDER_NONE, ORDER_RECTIFY, ORDER_STOP_WORK = "none", "rectify", "stop_work"

# Subject types: what an event of a kind is about.
SUBJECTS = {s: t(f"kinds.subject.{s}") for s in ("site", "plant", "any", "site_campaign")}
TYPES = {ty: t(f"fields.type.{ty}") for ty in ("int", "number", "text", "date", "choice", "bool", "items")}


def _options(choices: list | None) -> list[dict] | None:
    """[{value, label}] of a choice field: a plain item is a value that is its own label, a pair is (value, label)."""
    if choices is None:
        return None
    return [{"value": c[0], "label": c[1]} if isinstance(c, tuple) else {"value": c, "label": c} for c in choices]


def _labelled(group: str) -> list[tuple[str, str]]:
    """(value, label) pairs of a LABELS group, in the group's order."""
    return [(value, label(group, value)) for value in CATALOGUE_LABELS[group]]


def _f(name: str, type: str, *, label_key: str | None = None, choices: list | None = None,
       min: float | None = None, max: float | None = None, required: bool = False, default=None,
       hint_key: str | None = None, required_with: str | None = None,
       required_unless: tuple[str, str] | None = None, not_before: str | None = None,
       required_without: str | None = None, later: bool = False) -> dict:
    """One kind-specific field, described as data (the phone form is rendered from it).

    Its label is the catalogue's `fields.<name>.label` unless `label_key` names another; `choices` are
    values (each its own label) or (value, label) pairs: `choices` keeps the values, `options` both.
    `required_without` names a field whose absence makes this one required; `later` marks a field that
    usually arrives after the entry (a lab result): the phone form leaves it out, the API and edits take it.
    """
    options = _options(choices)
    return {"name": name, "label": t(label_key or f"fields.{name}.label"), "type": type,
            "choices": [o["value"] for o in options] if options else None, "options": options,
            "min": min, "max": max, "required": required, "default": default,
            "hint": t(hint_key) if hint_key else "", "required_with": required_with,
            "required_unless": list(required_unless) if required_unless else None, "not_before": not_before,
            "required_without": required_without, "later": later}


# `not_before` may name this instead of a field: the local date of the event itself.
OCCURRED_ON = "occurred_on"


def _agrees(when: tuple[str, str], field: str, *, min: int | None = None, max: int | None = None) -> dict:
    """A check across fields: when `when` = (field, value) holds, the number `field` must lie in [min, max]."""
    return {"when": list(when), "field": field, "min": min, "max": max}


def _finding(required: bool = True, default: str | None = None) -> dict:
    return _f("finding", "choice", choices=FINDINGS, required=required, default=default,
              hint_key="fields.finding.hint")


def _notice(required_unless: tuple[str, str] | None = None) -> list[dict]:
    return [
        _f("notice_no", "text", required_unless=required_unless),
        _f("notice_deadline", "date", required_with="notice_no", required_unless=required_unless,
           not_before=OCCURRED_ON),
    ]


def _kind(kind: str, subject: str, fields: list[dict], **extra) -> dict:
    """A kind of the catalogue: its label and hint from `kinds.<kind>.*`, its subject type and fields.

    A hint that names a monthly quota ({quota}) is left empty here: the quota is the target table's, so the
    form asks `hint(kind, quota)` with the quota of the year in force.
    """
    text = t(f"kinds.{kind}.hint")
    return {"label": t(f"kinds.{kind}.label"), "subject": subject, "agreements": [], **extra,
            "hint": "" if "{quota}" in text else text, "fields": fields}


def hint(kind: str, quota: int | None = None) -> str:
    """The form hint of a kind, its {quota} filled with the monthly quota the target table states (none: no hint)."""
    text = t(f"kinds.{kind}.hint")
    if "{quota}" not in text:
        return text
    return t(f"kinds.{kind}.hint", quota=quota) if quota else ""


# Every choice field has a default, or a comment saying why it has none: a default must be the common case and
# harmless when left unchanged, and the kind's agreements hold for its defaults (tests/test_kind_defaults.py).
KINDS: dict[str, dict] = {
    "safety_patrol": _kind("safety_patrol", "site", [
        _finding(default=FINDINGS[0]),  # 无, agreeing with no hazards counted (the defaults 0 and 0)
        _f("hazards_general", "int", min=0, default=0),
        _f("hazards_major", "int", min=0, default=0),
        *_notice(),
    ], agreements=[  # the most serious finding agrees with the hazard counts
        _agrees(("finding", "重大"), "hazards_major", min=1),  # zh: data
        _agrees(("finding", "一般"), "hazards_major", max=0),  # zh: data
        _agrees(("finding", "无"), "hazards_major", max=0),  # zh: data
        _agrees(("finding", "无"), "hazards_general", max=0),  # zh: data
    ]),
    "enforcement_patrol": _kind("enforcement_patrol", "site", [
        _finding(default=FINDINGS[0]),
        _f("findings_text", "text"),
        _f("violations", "int", min=0, default=0),
        _f("order", "choice", choices=_labelled("order"), default=ORDER_NONE, required=True),
        *_notice(required_unless=("order", ORDER_NONE)),
    ]),
    "major_inspection": _kind("major_inspection", "site_campaign", [
        _finding(default=FINDINGS[0]),
        _f("score", "number", min=0, max=100),
        # No default: a grade is the campaign's verdict on the site; a preset 合格 would record one nobody gave.
        _f("grade", "choice", choices=GRADES),
        _f("findings_text", "text"),
    ]),
    # A sample is logged on site and waits for its lab result (fieldlog.samples); an entry that already
    # carries its result (made before the lab loop, or sent so by an API client) has it in on its day.
    "concrete_sampling": _kind("concrete_sampling", "site", [
        _f("sample_no", "text", required_without="result"),
        _f("seal_no", "text"),
        _f("specimens", "int", min=1),
        # No default: the grade is read off the delivery ticket; a preset one would test against the wrong strength.
        _f("strength_grade", "choice", choices=STRENGTH_GRADES),
        # No default: a default is filled in wherever the field is blank (validation.clean_fields), so on an
        # optional field it would change samples stored without one on their next edit, and the content hash of
        # submissions already acknowledged (their resend would be a 409). Defaults go on required fields only.
        _f("method", "choice", choices=METHODS),
        _f("lab_id", "int", min=1),
        _f("measured_mpa", "number", min=0, later=True),
        # No default: the lab's verdict; a preset 合格 would count as a pass before the lab's report came.
        _f("result", "choice", choices=PASS_FAIL, later=True),
        _f("fee_yuan", "number", min=0, later=True),
    ], plant_optional=True, results=LAB_RESULTS),
    "plant_patrol": _kind("plant_patrol", "plant", [_f("findings_text", "text")]),
    "plant_inspection": _kind("plant_inspection", "plant", [
        _f("items_checked", "text"),
        # No default (required): the inspector's verdict; a preset 合格 would pass a plant by omission (合格率).
        _f("result", "choice", label_key="fields.result.plant_inspection_label", choices=PASS_FAIL, required=True),
    ]),
    "leaflets": _kind("leaflets", "any", [
        _f("copies", "int", min=1, required=True),
        _f("topic", "text"),
    ]),
    "completion_filing": _kind("completion_filing", "site", [
        _f("accepted_on", "date", required=True),
        _f("filed_on", "date", required=True, not_before="accepted_on"),
        # No default (required): the acceptance's verdict feeds 竣工验收合格率; it must be chosen, not left as preset.
        _f("result", "choice", label_key="fields.result.completion_filing_label", choices=PASS_FAIL, required=True),
    ]),
    "construction_permit": _kind("construction_permit", "site", [
        _f("applied_on", "date"),
        _f("issued_on", "date", required=True, not_before="applied_on"),
        _f("permit_no", "text"),
        # No default (required): whether the conditions were met feeds 办证符合率; it must be chosen.
        _f("conditions_met", "choice", choices=CONDITIONS, required=True),
    ]),
    "accident": _kind("accident", "site", [
        _f("severity", "choice", choices=SEVERITIES, required=True, default=SEVERITIES[0]),  # 一般: the lowest class
        _f("deaths", "int", min=0, default=0),
        _f("injuries", "int", min=0, default=0),
    ]),
    "rectification_review": _kind("rectification_review", "site", [
        _f("notice_event_id", "text", required=True),
        _f("closed", "bool", default=False),
    ]),
}

# Documents (issue 14): a notice (整改通知书, 停工整改通知书, 复工通知) and each step of its follow-through are events
# too, so the offline queue, photos, history and voids are theirs; they are not logged from the /log kind list
# but from the notice pages (fieldlog.notices holds their rules: numbering, the two-inspector rule, the states).
DOCUMENT_KINDS: dict[str, dict] = {
    "notice": _kind("notice", "site", [
        _f("notice_type", "choice", choices=_labelled("notice_type"), required=True),
        _f("deadline", "date", required_unless=("notice_type", "resume"), not_before=OCCURRED_ON),
        _f("legal_basis", "text", required=True),
        _f("items", "items", required_unless=("notice_type", "resume")),
        _f("follows_notice_id", "text"),
        _f("follows_as", "choice", choices=_labelled("notice_follows"), required_with="follows_notice_id"),
    ], document=True),
    "notice_step": _kind("notice_step", "site", [
        _f("notice_event_id", "text", label_key="fields.notice_event_id.notice_step_label", required=True),
        _f("step", "choice", choices=_labelled("notice_step"), required=True),
        _f("receiver_name", "text"),
        _f("receiver_unit", "text"),
        _f("received_on", "date", not_before=OCCURRED_ON),
        _f("witness", "text"),
        _f("reply_text", "text"),
    ], document=True),
}
# Every kind an event may have: the logged kinds and the documents.
ALL_KINDS: dict[str, dict] = {**KINDS, **DOCUMENT_KINDS}

# Kinds whose events can issue a rectification notice that a review later closes.
NOTICE_KINDS = ("safety_patrol", "enforcement_patrol")
TOP_LEVEL = ["id", "kind", "occurred_at", "site_id", "plant_id", "campaign_id", "campaign", "place",
             "inspector_ids", "lat", "lon", "accuracy_m", "note", "fields"]
LABELS = {name: t(f"fields.{name}.label") for name in (
    "occurred_at", "site_id", "plant_id", "campaign_id", "place", "inspector_ids", "lat", "lon", "accuracy_m", "note")}


# Per subject type: the subjects its events are about (picked from the phone's subject list), and the
# other subject fields it takes. A kind with plant_optional also takes a plant beside its site.
SUBJECT_TYPES = {
    "site": {"picked": ("site",), "extra": ()},
    "plant": {"picked": ("plant",), "extra": ()},
    "any": {"picked": ("site", "plant"), "extra": ("place",)},
    "site_campaign": {"picked": ("site",), "extra": ("campaign_id",)},
}


def pickable(subject: str) -> tuple[str, ...]:
    """The subjects ('site', 'plant') the phone's subject list offers for a subject type."""
    return SUBJECT_TYPES[subject]["picked"]


def subject_fields(kind: str) -> tuple[str, ...]:
    """The subject fields (site_id, plant_id, campaign_id, place) an event of this kind may carry."""
    spec = ALL_KINDS[kind]
    picked = tuple(f"{p}_id" for p in pickable(spec["subject"]))
    optional = ("plant_id",) if spec.get("plant_optional") else ()
    return picked + optional + SUBJECT_TYPES[spec["subject"]]["extra"]


def kinds_about(subject: str) -> tuple[str, ...]:
    """The kinds whose events can be about a subject ('site' or 'plant'), in catalogue order."""
    return tuple(k for k in KINDS if f"{subject}_id" in subject_fields(k))


def kind_list() -> list[dict]:
    """KINDS as a list of self-describing dicts (for JSON and templates)."""
    return [{"kind": k, **v, "subject_label": SUBJECTS[v["subject"]]} for k, v in KINDS.items()]


def field_label(kind: str, name: str) -> str:
    """The zh label of a top-level or kind-specific field."""
    for f in ALL_KINDS.get(kind, {}).get("fields", []):
        if f["name"] == name:
            return f["label"]
    return LABELS.get(name, name)


def field_spec(kind: str, name: str) -> dict | None:
    """The description of a kind-specific field, or None when the kind has no such field."""
    return next((f for f in ALL_KINDS.get(kind, {}).get("fields", []) if f["name"] == name), None)


def choice_value(spec: dict, given) -> str | None:
    """The stored value a choice field's input stands for: a value, or its label (old phones, API clients), else None."""
    text = str(given).strip()
    for option in spec["options"] or ():
        if text == option["value"]:
            return option["value"]
    return next((o["value"] for o in spec["options"] or () if text == o["label"]), None)


def normalized(kind: str, name: str, value):
    """A stored field value as its current value: an old Chinese choice label becomes its English value."""
    spec = field_spec(kind, name)
    if spec is None or spec["type"] != "choice" or value is None:
        return value
    found = choice_value(spec, value)
    return value if found is None else found


def choice_label(spec: dict, value) -> str:
    """The label of a choice field's value (old Chinese labels as stored before 009 included)."""
    found = choice_value(spec, value)
    return next((o["label"] for o in spec["options"] if o["value"] == found), str(value))


def shown(kind: str, name: str, value) -> str:
    """A field's stored value as a person reads it: the label of a choice, 是/否 for a yes/no field, 2021年3月5日."""
    if isinstance(value, bool):
        return t("events.yes") if value else t("events.no")
    spec = field_spec(kind, name)
    if spec is not None and spec["type"] == "choice" and value is not None:
        return choice_label(spec, value)
    if spec is not None and spec["type"] == "date" and value is not None:
        return day_text(value)
    return str(value)


def as_labels(kind: str, fields: dict) -> dict:
    """Kind-specific fields with every choice given by its label (what content_hash hashes)."""
    out = dict(fields)
    for name, value in fields.items():
        spec = field_spec(kind, name)
        if spec is not None and spec["type"] == "choice" and value is not None:
            out[name] = choice_label(spec, value)
    return out
