"""Calendar periods (months, quarters, years) in the station's time zone, and the active-in-period rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from fieldlog.messages import t


@dataclass(frozen=True, order=True)
class Period:
    """A closed range of local dates [start, end] with a label such as 2021-03 or 2021-Q1."""

    start: date
    end: date
    label: str

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def months(self) -> list[str]:
        """The YYYY-MM labels of the months this period touches."""
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def month(year: int, m: int) -> Period:
    """The calendar month m of year."""
    start = date(year, m, 1)
    nxt = date(year + 1, 1, 1) if m == 12 else date(year, m + 1, 1)
    return Period(start, nxt - timedelta(days=1), f"{year:04d}-{m:02d}")


def parse_month(label: str) -> Period:
    """Period for a 'YYYY-MM' label; ValueError when malformed."""
    y, m = label.split("-")
    if len(y) != 4 or len(m) != 2:
        raise ValueError(label)
    return month(int(y), int(m))


def quarter(year: int, q: int) -> Period:
    """The calendar quarter q (1-4) of year."""
    first = month(year, 3 * q - 2)
    last = month(year, 3 * q)
    return Period(first.start, last.end, f"{year:04d}-Q{q}")


def quarter_of(day: date) -> Period:
    """The quarter containing day."""
    return quarter(day.year, (day.month - 1) // 3 + 1)


def year(y: int) -> Period:
    return Period(date(y, 1, 1), date(y, 12, 31), f"{y:04d}")


def months_of(y: int) -> list[Period]:
    return [month(y, m) for m in range(1, 13)]


def quarters_of(y: int) -> list[Period]:
    return [quarter(y, q) for q in range(1, 5)]


def elapsed(periods: list[Period], as_of: date) -> list[Period]:
    """The periods that have ended by the end of day as_of (a period ending on as_of counts as ended)."""
    return [p for p in periods if p.end <= as_of]


def utc(now: datetime | None = None) -> datetime:
    """`now` in UTC; the real clock only when a caller (the command line, a script) gives none."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc)


def utc_stamp(now: datetime | None = None) -> str:
    """A stored timestamp: utc(now) as ISO 8601 to the second, with its offset."""
    return utc(now).isoformat(timespec="seconds")


def local_now(tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """`now` (or the clock) in the station zone."""
    return utc(now).astimezone(tz)


def to_local(dt: datetime, tz: ZoneInfo) -> datetime:
    """An aware datetime in the station zone; a naive one is taken as station-local time."""
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt.astimezone(tz)


def parse_date(text: str | None) -> date | None:
    """A YYYY-MM-DD string to a date; empty gives None; ValueError when malformed."""
    text = (text or "").strip()
    return date.fromisoformat(text) if text else None


def overlaps(a_start: date | None, a_end: date | None, period: Period) -> bool:
    """Whether [a_start, a_end] (None = open) shares at least one day with period."""
    return (a_start is None or a_start <= period.end) and (a_end is None or a_end >= period.start)


def is_active(
    started_on: date | None,
    ended_on: date | None,
    pauses: list[tuple[date, date | None]],
    period: Period,
) -> bool:
    """SPEC section 2: started by the period's end, not ended before it began, and not paused for all of it.

    A subject with no start date was never started. `ended_on` is the completion (sites) or the
    last active day (plants); a subject completed on the period's first day still counts for it.
    A pause covering every day of the period makes the subject inactive for that period.
    """
    if started_on is None or started_on > period.end:
        return False
    if ended_on is not None and ended_on < period.start:
        return False
    # The days of the period the subject existed in; inactive if pauses cover all of them.
    first = max(started_on, period.start)
    last = min(ended_on, period.end) if ended_on else period.end
    day = first
    for p_start, p_end in sorted(pauses):
        if p_start > day:
            break
        if p_end is None or p_end >= day:
            day = (p_end + timedelta(days=1)) if p_end else date.max
        if day > last:
            return False
    return day <= last


def _as_local(value, tz: ZoneInfo | None) -> date | datetime | None:
    """A date or datetime (ISO text accepted); an aware datetime in the station's zone."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo and tz:
        value = value.astimezone(tz)
    return value if isinstance(value, date) else None


def day_text(value, tz: ZoneInfo | None = None) -> str:
    """A day as a Chinese reader reads it: 2021年3月5日 (ISO text, a date or a datetime in the station's zone).

    Anything that is not a date is given back as it is (a page shows what it was given, never a 500).
    """
    found = _as_local(value, tz)
    if found is None:
        return "" if value is None else str(value)
    return t("dates.day", year=found.year, month=found.month, day=found.day)


def moment_text(value, tz: ZoneInfo | None = None) -> str:
    """A moment as a Chinese reader reads it: 2021年3月5日 09:30, in the station's zone."""
    found = _as_local(value, tz)
    if not isinstance(found, datetime):
        return day_text(value, tz)
    return t("dates.moment", day=day_text(found), time=found.strftime("%H:%M"))


def days_ago_text(days: int | None) -> str:
    """How long ago, as a person says it: 今天, 昨天, 3 天前."""
    if days is None:
        return ""
    return t("dates.today") if days <= 0 else t("dates.yesterday") if days == 1 else t("dates.days_ago", n=days)
