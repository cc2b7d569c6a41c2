"""The message catalogue: every sentence and label that fieldlog's Python code shows a user, in zh-CN, keyed in English.

Templates hold the text of their own pages. Python code asks here by key: `t("events.site_required")`, with
`{placeholders}` filled from keyword arguments. States, grades and orders are English enum values in code
and in the database; `label(group, value)` gives the Chinese name a page shows. One catalogue keeps the
wording consistent and lets a reviewer read every message in one place.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # --- common -------------------------------------------------------------------------------------
    "common.not_found": "找不到该记录",

    # --- events (kinds, validation, storing, queries, picker) ---------------------------------------
    # (events section: keys "events.*", "kinds.*", "fields.*")

    # --- coverage, follow-ups, photos ---------------------------------------------------------------
    # (keys "coverage.*", "followups.*", "photos.*")

    # --- indicators (rules, tables, scoring, evaluation, entries, roll-up, evidence, pacing) ----------
    # (keys "indicators.*", "rules.*", "tables.*", "scoring.*", "evaluation.*", "entries.*", "pacing.*")

    # --- registry, import, accounts, surveys, audit -------------------------------------------------
    # (keys "registry.*", "import.*", "accounts.*", "surveys.*")

    # --- web, routes, command line ------------------------------------------------------------------
    # (keys "web.*", "routes.*", "cli.*")

    # --- end ------------------------------------------------------------------------------------------
}

LABELS: dict[str, dict[str, str]] = {
    # group -> {English value: Chinese label}
    # --- events, coverage, follow-ups: kinds, coverage states, notice statuses, orders -----------------

    # --- indicators: grades, completion, score bands ----------------------------------------------------

    # --- registry, accounts, surveys, audit: roles, site status, survey answers, audit actions ---------
    "role": {"inspector": "监督员", "chief": "站长", "admin": "管理员"},

    # --- web, routes, command line ------------------------------------------------------------------

    # --- end ------------------------------------------------------------------------------------------
}


def t(key: str, **values) -> str:
    """The message for `key`, its {placeholders} filled from `values`."""
    text = MESSAGES[key]
    return text.format(**values) if values else text


def label(group: str, value) -> str:
    """The Chinese label of an enum value of `group` (the value itself when the group does not know it)."""
    return LABELS[group].get(value, value)
