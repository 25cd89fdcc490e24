"""Partitions shared by the assets: one per day of business data."""

from datetime import datetime

import dagster as dg

# The built-in business starts on 2024-01-01 by default; partitions run up to yesterday.
DAILY_START = "2024-01-01"
daily_partitions = dg.DailyPartitionsDefinition(start_date=DAILY_START)


def dbt_vars_for_window(start: datetime, end: datetime) -> dict[str, str]:
    """The dbt vars of a partition window: its first day and the day after its last.

    Daily windows start and end at midnight; anything else is not a window of days.
    """
    if end <= start:
        raise ValueError(f"empty partition window: {start:%Y-%m-%d} to {end:%Y-%m-%d}")
    for bound in (start, end):
        if (bound.hour, bound.minute, bound.second, bound.microsecond) != (0, 0, 0, 0):
            raise ValueError(f"partition window bound {bound.isoformat()} is not a midnight")
    return {"min_date": start.strftime("%Y-%m-%d"), "max_date": end.strftime("%Y-%m-%d")}
