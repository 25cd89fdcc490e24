"""How split_rows reads each contract type, and what it says about rows it rejects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingestion.contracts import CONTRACTS
from ingestion.contracts.base import Column, TableContract
from ingestion.errors import IngestionError
from ingestion.quarantine import QUARANTINE_COLUMNS, split_rows
from tests.unit.ingestion import customer_keys, tiny_table

# A contract exercising every column type, including nullable ones.
SENSOR_READINGS = TableContract(
    name="sensor_readings",
    description="Test-only table covering every type.",
    primary_key=("reading_id",),
    columns=(
        Column("reading_id", "BIGINT", "Key."),
        Column("shift", "INTEGER", "Shift number.", nullable=True, min_value=1, max_value=3),
        Column("taken_at", "TIMESTAMP", "When."),
        Column("ok", "BOOLEAN", "Passed?"),
        Column("note", "VARCHAR", "Free text.", nullable=True),
    ),
)


def text_frame(**columns: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype="str")


def test_every_type_is_read_from_text():
    frame = text_frame(
        reading_id=["9007199254740993", "2.0", "+3"],
        shift=["1", None, "3"],
        taken_at=["2025-01-01T08:30:00", "2025-01-01 09:00", "2025-01-01T10:00:00+01:00"],
        ok=["true", "No", "1"],
        note=["a", None, "c"],
    )

    split = split_rows(SENSOR_READINGS, frame, source="readings.csv")

    assert split.quarantined.empty
    good = split.good
    # 2**53 + 1: exact, which a detour through float would have rounded.
    assert good["reading_id"].tolist() == [9_007_199_254_740_993, 2, 3]
    assert good["shift"].dtype == "Int64" and good["shift"].isna().tolist() == [False, True, False]
    assert good["taken_at"].tolist() == [
        pd.Timestamp("2025-01-01 08:30"),
        pd.Timestamp("2025-01-01 09:00"),
        pd.Timestamp("2025-01-01 09:00"),  # converted to UTC
    ]
    assert good["ok"].tolist() == [True, False, True]
    assert list(good.dtypes.astype(str)) == ["int64", "Int64", "datetime64[us]", "bool", "str"]


def test_values_that_do_not_fit_their_type_are_quarantined_with_the_type_named():
    frame = text_frame(
        reading_id=["1", "2", "3", "4", "5"],
        shift=["2", "4", "9999999999", "1", "1"],
        taken_at=["2025-01-01", "2025-01-01", "2025-01-01", "soon", "2025-01-01"],
        ok=["true", "true", "true", "true", "maybe"],
        note=[None, None, None, None, None],
    )

    split = split_rows(SENSOR_READINGS, frame, source="readings.csv")

    reasons = dict(zip(split.quarantined["source_row"], split.quarantined["reason"], strict=True))
    assert reasons == {
        2: "shift: 4 is above the maximum 3",
        3: "shift: '9999999999' is not a whole number (INTEGER)",
        4: "taken_at: 'soon' is not a timestamp (ISO 8601)",
        5: "ok: 'maybe' is not a boolean (true/false)",
    }
    assert split.good_source_rows.tolist() == [1]


def test_a_date_with_a_time_of_day_is_not_a_date():
    events = tiny_table("usage_events", 3)
    events["session_date"] = events["session_date"] + pd.to_timedelta([0, 5, 0], unit="h")

    split = split_rows(CONTRACTS["usage_events"], events, source="generator")

    assert split.quarantined["source_row"].tolist() == [2]
    assert split.quarantined["reason_code"].tolist() == ["wrong_type"]


def test_generator_frames_pass_unchanged_apart_from_dtypes():
    events = tiny_table("subscription_events")

    split = split_rows(
        CONTRACTS["subscription_events"], events, source="generator", parent_keys=customer_keys()
    )

    assert split.quarantined.empty
    pd.testing.assert_frame_equal(
        split.good, events.astype({"event_date": "datetime64[us]"}), check_dtype=True
    )
    np.testing.assert_array_equal(split.good_source_rows, np.arange(1, len(events) + 1))


def test_the_quarantine_frame_has_the_documented_columns_even_when_empty():
    split = split_rows(CONTRACTS["customers"], tiny_table("customers", 3), source="generator")

    assert tuple(split.quarantined.columns) == QUARANTINE_COLUMNS
    assert split.reasons == {}


def test_a_frame_without_a_required_column_is_refused_whole():
    with pytest.raises(IngestionError, match=r"generator, header, column 'plan, monthly_price'"):
        split_rows(
            CONTRACTS["customers"],
            tiny_table("customers", 3).drop(columns=["plan", "monthly_price"]),
            source="generator",
        )


def test_missing_nullable_columns_are_filled_with_nulls():
    frame = text_frame(reading_id=["1"], taken_at=["2025-01-01"], ok=["f"])

    split = split_rows(SENSOR_READINGS, frame, source="readings.csv")

    assert split.quarantined.empty
    assert split.good[["shift", "note"]].isna().all().all()


def test_parent_keys_must_cover_every_foreign_key():
    with pytest.raises(ValueError, match=r"parent_keys has no 'customers\.customer_id'"):
        split_rows(
            CONTRACTS["usage_events"],
            tiny_table("usage_events", 3),
            source="generator",
            parent_keys={},
        )
