"""When scheduled polls run, in words and as times, for the connections page.

DBOS reads the schedule as a six-field cron expression with the seconds first; the same
reading (``second_at_beginning``) is used here so the page says what DBOS does.
"""

from __future__ import annotations

import re
from datetime import datetime

from croniter import croniter

EVERY_N_MINUTES = re.compile(r"^0 \*/(\d+) \* \* \* \*$")
EVERY_N_SECONDS = re.compile(r"^\*/(\d+) \* \* \* \* \*$")


def describe(cron: str) -> str:
    """``"0 */5 * * * *"`` → ``"every 5 minutes"``; other expressions are shown as they are."""
    if match := EVERY_N_MINUTES.match(cron.strip()):
        n = int(match.group(1))
        return "every minute" if n == 1 else f"every {n} minutes"
    if match := EVERY_N_SECONDS.match(cron.strip()):
        return f"every {int(match.group(1))} seconds"
    return f"on the schedule {cron!r} (seconds, minutes, hours, day, month, weekday)"


def next_run(cron: str, after: datetime) -> datetime:
    """The first scheduled time after ``after`` (in ``after``'s time zone)."""
    found: datetime = croniter(cron, after, second_at_beginning=True).get_next(datetime)
    return found
