"""One parser for every date a person gives: `--since` and `--until` of any command, a jobs
file's `since`. Dates (2024-03-07), date-times (2024-03-07T12:00, with or without an offset;
UTC when none), archive timestamps (4 to 14 digits: 2024, 20240307, 20240307120000), ages (7d,
24h, 90m, 2w, 1d12h: that long before now), `today`, `yesterday` and `now`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

AGE = re.compile(r"(?:\d+[smhdw])+")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
EXPECTED = "a date (2024-03-07), a date-time (2024-03-07T12:00), an age (7d, 24h) or today/yesterday"


def parse_age(text: str) -> int | None:
    """Seconds of an age like "7d" or "1h30m"; None when `text` is not one."""
    compact = text.replace(" ", "").lower()
    if not AGE.fullmatch(compact):
        return None
    return sum(int(n) * UNITS[unit] for n, unit in re.findall(r"(\d+)([smhdw])", compact))


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """An aware UTC datetime, or ValueError saying what is expected."""
    now = now or datetime.now(UTC)
    value = text.strip()
    word = value.lower()
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if word == "now":
        return now
    if word == "today":
        return midnight
    if word == "yesterday":
        return midnight - timedelta(days=1)
    if (age := parse_age(value)) is not None:
        return now - timedelta(seconds=age)
    if value.isdigit() and 4 <= len(value) <= 14 and len(value) % 2 == 0:
        digits = value.ljust(14, "0")
        digits = digits[:4] + (digits[4:6] if digits[4:6] != "00" else "01") + \
            (digits[6:8] if digits[6:8] != "00" else "01") + digits[8:]
        try:
            return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            pass
    else:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    raise ValueError(f"not a date: {text!r} (expected {EXPECTED})")


def timestamp(when: datetime) -> str:
    """The 14-digit archive timestamp (UTC) of a datetime."""
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")
