"""Sensible defaults on every choice (issue 12): each choice field of events.KINDS has a default or is one of the
few left without one on purpose (the reason beside it in kinds.py), and the kind's cross-field agreements hold
for the defaults, so a form left as it opens is never refused for contradicting itself."""

from __future__ import annotations

import pytest

from fieldlog import events
from fieldlog.events.validation import clean_fields

# Choice fields deliberately without a default (kinds.py says why beside each).
NO_DEFAULT = {("major_inspection", "grade"), ("concrete_sampling", "strength_grade"), ("concrete_sampling", "method"),
              ("concrete_sampling", "result"), ("plant_inspection", "result"), ("completion_filing", "result"),
              ("construction_permit", "conditions_met")}


def test_every_choice_has_a_default_or_a_stated_reason():
    missing = {(k, f["name"]) for k, spec in events.KINDS.items() for f in spec["fields"]
               if f["type"] == "choice" and f["default"] is None}
    assert missing == NO_DEFAULT
    assert events.field_spec("safety_patrol", "finding")["default"] == "无"


def test_a_choice_default_is_only_on_a_required_field():
    # A default fills a blank wherever it is met (validation.clean_fields): on a required field every stored
    # event and every acknowledged submission already carries a value, so no stored entry or content hash moves.
    for kind, spec in events.KINDS.items():
        for f in spec["fields"]:
            if f["type"] == "choice" and f["default"] is not None:
                assert f["required"], (kind, f["name"])
                assert f["default"] in f["choices"], (kind, f["name"])


@pytest.mark.parametrize("kind", [k for k, spec in events.KINDS.items() if spec["agreements"]])
def test_the_agreements_hold_for_the_defaults(kind):
    defaults = {f["name"]: f["default"] for f in events.KINDS[kind]["fields"] if f["default"] is not None}
    fields, errors = clean_fields(kind, {})
    assert fields == defaults
    agreement_keys = {f"fields.{a['field']}" for a in events.KINDS[kind]["agreements"]}
    assert not agreement_keys & set(errors), errors


def test_the_phone_form_opens_on_the_defaults(client_for):
    page = client_for("alice").get("/log/safety_patrol").text
    assert 'name="finding" value="无" data-field checked' in page
    accident = client_for("alice").get("/log/accident").text
    assert 'name="severity" value="一般" data-field checked' in accident
