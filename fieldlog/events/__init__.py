"""Field events (SPEC section 3): the kinds as data, validation, idempotent create, edit, void, listing.

kinds: the catalogue; validation: checking a submission; store: writing; queries: every read (all the
events SQL); notices: the open-notice rule; detail: an event in full; picker: the phone's subject list.
This module re-exports the names callers use, so `events.create(...)` keeps working.
"""

from fieldlog.events.kinds import (ALL_KINDS, DOCUMENT_KINDS, FINDINGS, KINDS, LABELS, NOTICE_KINDS, ORDER_NONE, ORDER_RECTIFY, ORDER_STOP_WORK,
                                   PASS_FAIL, STRENGTH_GRADES, SUBJECT_TYPES, SUBJECTS, TOP_LEVEL, TYPES, as_labels,
                                   choice_label, choice_value, field_label, field_spec, hint, kind_list, kinds_about,
                                   normalized, pickable, shown, subject_fields)
from fieldlog.events.queries import (DAY_COUNT_CAP, EVENT_SELECT, campaign_choices, campaigns, can_see, count_events, count_of_day,
                                     events_of_day,
                                     exists, is_visible, list_events, load, recent_leaflets, reviews_of, took_part,
                                     viewer_id, visible_to, where)
from fieldlog.events.validation import (EARLIEST, FAR_FROM_SUBJECT_M, FUTURE_ALLOWANCE, MAX_TEXT, POOR_ACCURACY_M,
                                        clean, clean_fields, client_checks, haversine_m, is_event_id, parse_occurred,
                                        validate, warnings_for)
from fieldlog.events.store import (LATE_AFTER, as_raw, can_change, content_hash, create, diff, edit, merge, snapshot,
                                   void)
from fieldlog.events.detail import get_event, revisions
from fieldlog.events.notices import count_open, open_notices, order_of

__all__ = [
    "ALL_KINDS", "DOCUMENT_KINDS", "FINDINGS", "KINDS", "LABELS", "NOTICE_KINDS", "ORDER_NONE", "ORDER_RECTIFY", "ORDER_STOP_WORK", "PASS_FAIL",
    "STRENGTH_GRADES", "SUBJECT_TYPES", "SUBJECTS", "TOP_LEVEL", "TYPES", "as_labels", "choice_label", "choice_value",
    "field_label", "field_spec", "hint", "kind_list", "kinds_about", "normalized", "pickable", "shown", "subject_fields",
    "DAY_COUNT_CAP", "EVENT_SELECT", "campaign_choices", "campaigns", "can_see", "count_events", "count_of_day", "exists", "is_visible", "list_events",
    "load", "events_of_day", "recent_leaflets", "reviews_of", "took_part", "viewer_id", "visible_to", "where",
    "EARLIEST", "FAR_FROM_SUBJECT_M", "FUTURE_ALLOWANCE", "MAX_TEXT", "POOR_ACCURACY_M", "clean", "clean_fields",
    "client_checks", "haversine_m", "is_event_id", "parse_occurred", "validate", "warnings_for",
    "LATE_AFTER", "as_raw", "can_change", "content_hash", "create", "diff", "edit", "merge", "snapshot", "void",
    "get_event", "revisions", "open_notices", "count_open", "order_of",
]
