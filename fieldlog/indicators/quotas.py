"""The per-period quotas a target table states: what the chief's coverage page counts against."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlite_utils import Database

from fieldlog.indicators import tables
from fieldlog.indicators.rules import RULES

SAMPLING_KIND = "concrete_sampling"


@dataclass(frozen=True)
class Quotas:
    """Monthly events due per active site and per active plant by kind, and the quarterly sampling cap."""

    site: dict[str, int]
    plant: dict[str, int]
    sampling_cap: int | None  # distinct ready-mix sites to sample a quarter (None: the table asks for none)


def of_table(table: tables.TargetTable) -> Quotas:
    """The quotas the table's rows state; where several rows state one, the strictest."""
    stated: dict[tuple[str, str, str, str], int] = {}
    for row in table.rows:
        rule = RULES[row.rule]
        quota = rule.quota(row.params, row.target) if rule.quota is not None else None
        if quota is not None:
            key = (quota.subject, quota.period, quota.per, quota.kind)
            stated[key] = max(stated.get(key, 0), quota.count)

    def monthly(subject: str) -> dict[str, int]:
        return {kind: n for (s, period, per, kind), n in stated.items() if (s, period, per) == (subject, "month", "subject")}

    return Quotas(monthly("site"), monthly("plant"), stated.get(("site", "quarter", "period", SAMPLING_KIND)))


def for_year(db: Database, year: int) -> Quotas:
    """The quotas of the table in force for `year` (its own, else the latest earlier one)."""
    return _of_source(tables.table_source(db, year)[0])


@lru_cache(maxsize=8)
def _of_source(text: str) -> Quotas:
    """The quotas of a table file, parsed once per text (the coverage page asks on every request)."""
    return of_table(tables.parse_table(text))


def monthly(quotas: Quotas, kind: str) -> int | None:
    """The monthly events of `kind` due per active site or plant, if the table states a quota for it."""
    return quotas.site.get(kind) or quotas.plant.get(kind)
