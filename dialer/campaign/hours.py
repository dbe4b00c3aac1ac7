"""Calling hours: when a customer may be called, in the customer's own time zone.

The zone comes from a customer field when set, else from the phone number (``phonenumbers``
knows the zones of a number's region; a number spanning several zones uses the campaign's
default zone only when that is one of them, else the first), else the campaign's default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CallingHoursError(ValueError):
    """Calling hours that cannot be used (bad time, bad day, unknown zone)."""


def parse_hhmm(text: str, what: str) -> time:
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise CallingHoursError(f"{what} must be HH:MM (24-hour), got {text!r}") from None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CallingHoursError(f"unknown time zone {name!r}: use an IANA name such as Asia/Ho_Chi_Minh") from None


@dataclass(frozen=True)
class CallingHours:
    """Calls may start from ``start`` to ``end`` local time on ``days``; ``end`` before
    ``start`` means the window runs past midnight."""

    start: time
    end: time
    days: frozenset[int] = frozenset(range(7))  # 0 = Monday
    default_zone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def parse(cls, start: str, end: str, days: str = "mon-sun", default_zone: str = "Asia/Ho_Chi_Minh") -> "CallingHours":
        zone(default_zone)
        return cls(parse_hhmm(start, "calling hours start"), parse_hhmm(end, "calling hours end"),
                   parse_days(days), default_zone)

    @classmethod
    def always(cls, default_zone: str = "UTC") -> "CallingHours":
        return cls(time(0, 0), time(0, 0), frozenset(range(7)), default_zone)

    def _open_on(self, local: datetime) -> bool:
        t = local.time()
        if self.start == self.end:
            return local.weekday() in self.days
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= t < self.end
        # Past midnight: the part after midnight belongs to the previous day's window.
        if t >= self.start:
            return local.weekday() in self.days
        return t < self.end and (local.weekday() - 1) % 7 in self.days

    def is_open(self, now: datetime, zone_name: str | None = None) -> bool:
        """Whether a call may start at ``now`` (aware) for a customer in ``zone_name``."""
        return self._open_on(now.astimezone(zone(zone_name or self.default_zone)))

    def next_open(self, now: datetime, zone_name: str | None = None) -> datetime:
        """The first moment at or after ``now`` when a call may start (``now`` if open)."""
        tz = zone(zone_name or self.default_zone)
        local = now.astimezone(tz)
        if self._open_on(local):
            return now
        if not self.days:
            raise CallingHoursError("no calling days are set")
        for offset in range(8):
            day: date = local.date() + timedelta(days=offset)
            candidate = datetime.combine(day, self.start, tzinfo=tz)
            if candidate >= local and self._open_on(candidate):
                return candidate.astimezone(now.tzinfo)
        raise CallingHoursError("the calling hours never open")  # unreachable with days set


def parse_days(text: str) -> frozenset[int]:
    """``mon-fri``, ``mon,wed,fri``, ``sat-sun``, ``mon-sun``."""
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        first, sep, last = part.partition("-")
        if first not in DAYS or (sep and last not in DAYS):
            raise CallingHoursError(f"calling days must look like mon-fri or mon,wed,fri, got {text!r}")
        a = DAYS.index(first)
        b = DAYS.index(last) if sep else a
        out.update((a + i) % 7 for i in range(((b - a) % 7) + 1))
    if not out:
        raise CallingHoursError("no calling days given")
    return frozenset(out)


def customer_zone(phone_e164: str, field_zone: str | None, default_zone: str) -> str:
    """The zone to apply calling hours in for one customer."""
    if field_zone:
        zone(field_zone)
        return field_zone
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return default_zone
    zones = [z for z in pn_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    if not zones:
        return default_zone
    return default_zone if default_zone in zones else zones[0]
