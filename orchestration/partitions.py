"""Partitions shared by the assets: one per day of business data."""

import dagster as dg

# The built-in business starts on 2024-01-01 by default; partitions run up to yesterday.
DAILY_START = "2024-01-01"
daily_partitions = dg.DailyPartitionsDefinition(start_date=DAILY_START)
