"""Property: whatever mix of good and bad rows arrives, each row is loaded xor quarantined."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.contracts import CONTRACTS
from ingestion.load import load_frame
from ingestion.quarantine import REASON_CODES, SOURCE_ROW, split_rows
from ingestion.warehouse import SCHEMAS

CUSTOMERS = CONTRACTS["customers"]

# Cells that break the contract, per column, as they would appear in a CSV.
FAULTS: dict[str, list[str | None]] = {
    "customer_id": ["x", None, "0", "-3", "1.5", "1e400"],
    "signup_date": ["2025-02-30", "yesterday", None, "2025-01-01 12:30"],
    "segment": ["gold", None, " premium", "PREMIUM"],
    "region": ["mars", None],
    "acquisition_channel": ["tv", None],
    "plan": ["weekly", None],
    "monthly_price": ["-1", "abc", None, "20000", "inf", "nan"],
}
# Valid spellings; ids come from a small pool so that duplicate keys are frequent, and
# "7", "7.0" and " 7" are the same key.
VALID: dict[str, st.SearchStrategy[str]] = {
    "customer_id": st.integers(1, 12).flatmap(
        lambda key: st.sampled_from([str(key), f"{key}.0", f" {key}", f"+{key}"])
    ),
    "signup_date": st.dates().map(lambda day: day.isoformat()),
    "segment": st.sampled_from(["basic", "standard", "premium"]),
    "region": st.sampled_from(["north", "south", "east", "west"]),
    "acquisition_channel": st.sampled_from(["search", "social", "email", "organic"]),
    "plan": st.sampled_from(["monthly", "annual"]),
    "monthly_price": st.floats(0, 10_000, allow_nan=False).map(repr),
}


@st.composite
def customer_rows(draw: st.DrawFn) -> tuple[pd.DataFrame, list[bool]]:
    """Rows as text cells, and for each row whether any of its cells is a fault."""
    rows: list[dict[str, str | None]] = []
    faulty: list[bool] = []
    for _ in range(draw(st.integers(0, 40))):
        row: dict[str, str | None] = {}
        broken = False
        for column in CUSTOMERS.column_names:
            if draw(st.integers(0, 9)) == 0:
                row[column] = draw(st.sampled_from(FAULTS[column]))
                broken = True
            else:
                row[column] = draw(VALID[column])
        rows.append(row)
        faulty.append(broken)
    frame = pd.DataFrame(rows, columns=list(CUSTOMERS.column_names), dtype="str")
    frame[SOURCE_ROW] = range(1, len(frame) + 1)
    return frame, faulty


def expected_quarantined_rows(frame: pd.DataFrame, faulty: list[bool]) -> set[int]:
    """Oracle: faulty rows, plus repeats of a key already taken by an earlier clean row."""
    expected: set[int] = set()
    seen: set[int] = set()
    for position, broken in enumerate(faulty):
        if broken:
            expected.add(position + 1)
            continue
        key = int(float(frame["customer_id"].iloc[position]))
        if key in seen:
            expected.add(position + 1)
        seen.add(key)
    return expected


@pytest.fixture(scope="module")
def in_memory_warehouse() -> duckdb.DuckDBPyConnection:
    """One warehouse for every example: each load replaces the whole table and its quarantine."""
    con = duckdb.connect()
    for schema in SCHEMAS:
        con.execute(f"create schema {schema}")
    yield con
    con.close()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=customer_rows())
def test_every_row_is_loaded_or_quarantined_never_both(in_memory_warehouse, case):
    frame, faulty = case
    con = in_memory_warehouse

    split = split_rows(CUSTOMERS, frame, source="mixed.csv")

    quarantined = set(split.quarantined["source_row"])
    loaded = set(split.good_source_rows.tolist())
    assert len(split.good) + len(split.quarantined) == split.input_rows == len(frame)
    assert not loaded & quarantined
    assert loaded | quarantined == set(range(1, len(frame) + 1))
    assert len(quarantined) == len(split.quarantined)  # one quarantine row per bad row
    assert quarantined == expected_quarantined_rows(frame, faulty)
    assert split.quarantined["reason"].str.len().gt(0).all()
    assert split.quarantined["reason_code"].isin(REASON_CODES).all()
    assert split.quarantined["column_name"].isin(CUSTOMERS.column_names).all()
    assert split.good["customer_id"].is_unique

    result = load_frame(con, CUSTOMERS, frame, source="mixed.csv")
    assert con.execute("select count(*) from raw.customers").fetchone() == (result.loaded_rows,)
    assert con.execute("select count(*) from ops.quarantine").fetchone() == (
        result.quarantined_rows,
    )
    assert (result.loaded_rows, result.quarantined_rows) == (len(loaded), len(quarantined))
