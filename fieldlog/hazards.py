"""The 重大事故隐患 criteria of 建质规〔2022〕2号 as data: the shipped file, a station's extension, and lookups.

The shipped file is fieldlog/criteria/hazard-criteria-2022.toml; a station adds its own items in a file of the
same layout (setting FIELDLOG_HAZARD_CRITERIA). `load` reads and checks both and raises CriteriaError with a
Chinese message naming the file and the entry; the app loads them at start (web.create_app) and keeps them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from fieldlog.messages import t

SHIPPED = Path(__file__).resolve().parent / "criteria" / "hazard-criteria-2022.toml"
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
MAX_TEXT = 500


class CriteriaError(ValueError):
    """A criteria file that cannot be used; the message (Chinese) names the file and the entry."""


@dataclass(frozen=True)
class Criterion:
    id: str
    ref: str
    text: str
    section: str
    verify: bool = False
    source: str = "shipped"       # shipped | station


@dataclass
class Section:
    id: str
    article: str
    title: str
    items: list[Criterion] = field(default_factory=list)


@dataclass
class Criteria:
    """Every section and item, in file order (the shipped file first), with an index by item id."""

    standard: str
    document: str
    sections: list[Section]
    by_id: dict[str, Criterion]

    def get(self, criterion_id: str) -> Criterion | None:
        return self.by_id.get(str(criterion_id or "").strip())

    def to_json(self) -> list[dict]:
        """The short list the notice form searches: one entry per item."""
        return [{"id": c.id, "ref": c.ref, "text": c.text, "section": s.title, "verify": c.verify}
                for s in self.sections for c in s.items]


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise CriteriaError(t("hazards.file_unreadable", file=path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CriteriaError(t("hazards.file_malformed", file=path, error=exc)) from None


def _text(entry: dict, key: str, where: str, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_TEXT:
        raise CriteriaError(t("hazards.entry_text", where=where, key=key, max=MAX_TEXT))
    return value.strip()


def _merge(criteria: Criteria, doc: dict, path: Path, source: str) -> None:
    sections = doc.get("sections")
    if not isinstance(sections, list) or not sections:
        raise CriteriaError(t("hazards.no_sections", file=path))
    known = {s.id: s for s in criteria.sections}
    for number, entry in enumerate(sections, 1):
        where = t("hazards.where_section", file=path, n=number)
        if not isinstance(entry, dict):
            raise CriteriaError(t("hazards.entry_not_table", where=where))
        sid = entry.get("id")
        if not isinstance(sid, str) or not ID_RE.fullmatch(sid):
            raise CriteriaError(t("hazards.bad_id", where=where, value=sid))
        section = known.get(sid)
        if section is None:
            section = Section(sid, _text(entry, "article", where), _text(entry, "title", where))
            criteria.sections.append(section)
            known[sid] = section
        items = entry.get("items", [])
        if not isinstance(items, list):
            raise CriteriaError(t("hazards.entry_not_table", where=where))
        for k, item in enumerate(items, 1):
            item_where = t("hazards.where_item", where=where, n=k)
            if not isinstance(item, dict):
                raise CriteriaError(t("hazards.entry_not_table", where=item_where))
            cid = item.get("id")
            if not isinstance(cid, (str, int)) or not ID_RE.fullmatch(str(cid)):
                raise CriteriaError(t("hazards.bad_id", where=item_where, value=cid))
            cid = str(cid)
            if cid in criteria.by_id:
                raise CriteriaError(t("hazards.duplicate_id", where=item_where, value=cid))
            verify = item.get("verify", False)
            if not isinstance(verify, bool):
                raise CriteriaError(t("hazards.verify_not_bool", where=item_where))
            criterion = Criterion(cid, _text(item, "ref", item_where), _text(item, "text", item_where), sid,
                                  verify, source)
            section.items.append(criterion)
            criteria.by_id[cid] = criterion


def load(extra: Path | str | None = None, shipped: Path = SHIPPED) -> Criteria:
    """The shipped criteria and, when given, a station's file added to them; CriteriaError on any mistake."""
    doc = _read(shipped)
    criteria = Criteria(str(doc.get("standard", "")), str(doc.get("document", "")), [], {})
    _merge(criteria, doc, shipped, "shipped")
    if extra:
        path = Path(extra)
        _merge(criteria, _read(path), path, "station")
    return criteria


_current: Criteria | None = None


def use(criteria: Criteria) -> None:
    """Make `criteria` the ones notices are checked against (the app does this at start)."""
    global _current
    _current = criteria


def current() -> Criteria:
    """The criteria in use: those the app loaded at start, else the shipped file."""
    global _current
    if _current is None:
        _current = load()
    return _current
