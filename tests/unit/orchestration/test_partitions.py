"""Partition windows become dbt vars that the incremental models read."""

from datetime import datetime

import pytest

from orchestration.partitions import daily_partitions, dbt_vars_for_window


def test_one_day_partition_gives_that_day_and_the_next():
    window = daily_partitions.time_window_for_partition_key("2025-06-01")
    assert dbt_vars_for_window(window.start, window.end) == {
        "min_date": "2025-06-01",
        "max_date": "2025-06-02",
    }


def test_a_30_day_range_gives_its_first_day_and_the_day_after_its_last():
    first = daily_partitions.time_window_for_partition_key("2025-06-01")
    last = daily_partitions.time_window_for_partition_key("2025-06-30")
    assert dbt_vars_for_window(first.start, last.end) == {
        "min_date": "2025-06-01",
        "max_date": "2025-07-01",
    }


def test_an_empty_window_is_refused():
    with pytest.raises(ValueError, match="empty partition window"):
        dbt_vars_for_window(datetime(2025, 6, 2), datetime(2025, 6, 1))


def test_a_window_that_does_not_start_at_midnight_is_refused():
    with pytest.raises(ValueError, match="not a midnight"):
        dbt_vars_for_window(datetime(2025, 6, 1, 6), datetime(2025, 6, 2))
