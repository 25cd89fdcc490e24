"""One test per kind of bad user file: it is refused whole, or its bad rows are quarantined.

Every test drops a file into a landing folder, reads it and loads it the way the landing
sensor's asset does (``replace="keys"``), then checks the error or the quarantine row
(file, row, column, reason) and that loaded + quarantined rows equal the input rows.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ingestion.contracts import CONTRACTS
from ingestion.contracts.base import TableContract
from ingestion.errors import IngestionError
from ingestion.load import LoadResult, load_frame, parent_keys_from_warehouse
from ingestion.readers import read_landing_file
from ingestion.warehouse import connect, table_exists
from tests.unit.ingestion import (
    assert_reconciled,
    count_rows,
    tiny_table,
    write_landing_csv,
)

CUSTOMERS = CONTRACTS["customers"]
SUBSCRIPTION_EVENTS = CONTRACTS["subscription_events"]
ROWS = 40


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "warehouse" / "twinops.duckdb")
    yield con
    con.close()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


def load_landing_file(
    con: duckdb.DuckDBPyConnection, landing: Path, contract: TableContract, path: Path
) -> LoadResult:
    """What the landing asset does with one user file."""
    frame = read_landing_file(path, contract)
    parent_keys = parent_keys_from_warehouse(con, contract) if contract.foreign_keys else None
    return load_frame(
        con,
        contract,
        frame,
        source=str(path.relative_to(landing)),
        parent_keys=parent_keys,
        replace="keys",
    )


def customers_file(landing: Path, name: str, **cells: tuple[int, object]) -> Path:
    """The tiny world's first customers as a CSV, with ``column=(data_row, value)`` edits."""
    frame = tiny_table("customers", ROWS).astype({"customer_id": "object"})
    for column, (row, value) in cells.items():
        frame[column] = frame[column].astype("object")
        frame.loc[row - 1, column] = value
    return write_landing_csv(landing, "customers", name, frame)


def only_quarantine_row(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    rows = con.execute(
        "select source, source_row, column_name, reason_code, reason, raw_record "
        "from ops.quarantine"
    ).df()
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()


def test_missing_column_fails_naming_file_and_column_and_loads_nothing(warehouse, landing):
    frame = tiny_table("customers", ROWS).drop(columns="segment")
    path = write_landing_csv(landing, "customers", "no_segment.csv", frame)

    with pytest.raises(IngestionError, match=r"no_segment\.csv, header, column 'segment'"):
        load_landing_file(warehouse, landing, CUSTOMERS, path)
    assert not table_exists(warehouse, "raw", "customers")


def test_wrong_type_is_quarantined_with_row_and_column_and_the_rest_loads(warehouse, landing):
    path = customers_file(landing, "wrong_type.csv", customer_id=(7, "seven"))

    result = load_landing_file(warehouse, landing, CUSTOMERS, path)

    assert (result.input_rows, result.loaded_rows, result.quarantined_rows) == (ROWS, ROWS - 1, 1)
    assert result.reasons == {"wrong_type": 1}
    row = only_quarantine_row(warehouse)
    assert (row["source"], row["source_row"], row["column_name"]) == (
        "customers/wrong_type.csv",
        7,
        "customer_id",
    )
    assert "'seven' is not a whole number" in row["reason"]
    assert '"customer_id":"seven"' in row["raw_record"]
    assert_reconciled(warehouse, CUSTOMERS, result)


def test_null_key_is_quarantined(warehouse, landing):
    path = customers_file(landing, "null_key.csv", customer_id=(3, None))

    result = load_landing_file(warehouse, landing, CUSTOMERS, path)

    assert result.reasons == {"missing_value": 1}
    row = only_quarantine_row(warehouse)
    assert (row["source_row"], row["column_name"]) == (3, "customer_id")
    assert "missing value in a required column" in row["reason"]
    assert_reconciled(warehouse, CUSTOMERS, result)


def test_duplicate_key_keeps_the_first_row_and_quarantines_the_repeat(warehouse, landing):
    first_id = int(tiny_table("customers", 2)["customer_id"].iloc[1])
    path = customers_file(landing, "duplicate.csv", customer_id=(10, first_id))

    result = load_landing_file(warehouse, landing, CUSTOMERS, path)

    assert result.reasons == {"duplicate_key": 1}
    row = only_quarantine_row(warehouse)
    assert (row["source_row"], row["column_name"]) == (10, "customer_id")
    assert f"duplicate key (customer_id)=({first_id}), first seen at row 2" in row["reason"]
    loaded = warehouse.execute(
        "select count(*) from raw.customers where customer_id = ?", [first_id]
    ).fetchone()
    assert loaded == (1,)
    assert_reconciled(warehouse, CUSTOMERS, result)


def test_out_of_range_value_is_quarantined(warehouse, landing):
    path = customers_file(landing, "negative_price.csv", monthly_price=(5, -12.5))

    result = load_landing_file(warehouse, landing, CUSTOMERS, path)

    assert result.reasons == {"out_of_range": 1}
    row = only_quarantine_row(warehouse)
    assert (row["source_row"], row["column_name"]) == (5, "monthly_price")
    assert "-12.5 is below the minimum 0" in row["reason"]
    assert_reconciled(warehouse, CUSTOMERS, result)


def test_unknown_category_is_quarantined_and_never_becomes_sql(warehouse, landing):
    hostile = "premium'); drop table raw.customers; --"
    path = customers_file(landing, "unknown_segment.csv", segment=(8, hostile))

    result = load_landing_file(warehouse, landing, CUSTOMERS, path)

    assert result.reasons == {"unknown_category": 1}
    row = only_quarantine_row(warehouse)
    assert (row["source_row"], row["column_name"]) == (8, "segment")
    assert "is not one of basic, standard, premium" in row["reason"]
    assert hostile in row["raw_record"]
    assert_reconciled(warehouse, CUSTOMERS, result)


def test_orphan_foreign_key_is_quarantined(warehouse, landing):
    load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator")
    events = tiny_table("subscription_events", ROWS)
    events["customer_id"] = events["customer_id"].astype("object")
    events.loc[3, "customer_id"] = 999_999
    path = write_landing_csv(landing, "subscription_events", "orphan.csv", events)

    result = load_landing_file(warehouse, landing, SUBSCRIPTION_EVENTS, path)

    assert result.reasons == {"orphan_foreign_key": 1}
    row = warehouse.execute(
        "select source_row, column_name, reason from ops.quarantine "
        "where \"table\" = 'subscription_events'"
    ).fetchall()
    assert row == [(4, "customer_id", "customer_id: 999999 has no match in customers.customer_id")]
    assert_reconciled(warehouse, SUBSCRIPTION_EVENTS, result)


def test_bad_encoding_fails_naming_row_and_column_and_loads_nothing(warehouse, landing):
    path = customers_file(landing, "latin1.csv")
    lines = path.read_bytes().split(b"\n")
    lines[6] = (
        lines[6].replace(b",north,", b",nor\xe9th,", 1).replace(b",south,", b",sou\xe9th,", 1)
    )
    lines[6] = lines[6].replace(b",east,", b",e\xe9ast,", 1).replace(b",west,", b",w\xe9est,", 1)
    path.write_bytes(b"\n".join(lines))

    with pytest.raises(IngestionError, match=r"latin1\.csv, row 6, column 'region': .*UTF-8"):
        load_landing_file(warehouse, landing, CUSTOMERS, path)
    assert not table_exists(warehouse, "raw", "customers")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b"  \n\n", "only whitespace"),
        (
            b"customer_id,signup_date,segment,region,acquisition_channel,plan,monthly_price\n",
            "no data rows",
        ),
    ],
    ids=["zero_bytes", "whitespace", "header_only"],
)
def test_empty_file_fails_and_loads_nothing(warehouse, landing, content, problem):
    path = landing / "customers" / "empty.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)

    with pytest.raises(IngestionError, match=rf"empty\.csv.*{problem}"):
        load_landing_file(warehouse, landing, CUSTOMERS, path)
    assert not table_exists(warehouse, "raw", "customers")


def test_file_ten_times_the_usual_size_loads_completely(warehouse, landing):
    load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator")
    usual = tiny_table("subscription_events")
    large = pd.concat([usual] * 10, ignore_index=True)
    large["event_id"] = np.arange(1, len(large) + 1)
    bad_rows = [1_000, 25_000, len(large)]  # 1-based data rows: start, middle, last
    large["amount"] = large["amount"].astype("object")
    for data_row in bad_rows:
        large.loc[data_row - 1, "amount"] = "n/a"
    path = write_landing_csv(landing, "subscription_events", "ten_times.csv", large)

    started = time.perf_counter()
    result = load_landing_file(warehouse, landing, SUBSCRIPTION_EVENTS, path)
    elapsed = time.perf_counter() - started

    assert result.input_rows == 10 * len(usual)
    assert (result.loaded_rows, result.quarantined_rows) == (len(large) - 3, 3)
    quarantined_rows = warehouse.execute(
        "select source_row from ops.quarantine order by source_row"
    ).fetchall()
    assert [row[0] for row in quarantined_rows] == bad_rows
    assert_reconciled(warehouse, SUBSCRIPTION_EVENTS, result)
    assert elapsed < 30, f"a {len(large):,}-row file took {elapsed:.1f} s to load"


def test_file_above_the_size_limit_is_refused(landing):
    path = customers_file(landing, "huge.csv")

    with pytest.raises(IngestionError, match=r"huge\.csv: is [\d,]+ bytes, above the 1,000-byte"):
        read_landing_file(path, CUSTOMERS, max_bytes=1_000)


def test_row_with_extra_fields_fails_naming_the_row(warehouse, landing):
    path = customers_file(landing, "ragged.csv")
    lines = path.read_text().split("\n")
    lines[12] += ",unexpected"
    path.write_text("\n".join(lines))

    with pytest.raises(
        IngestionError, match=r"ragged\.csv, row 12: has 8 fields where the header has 7"
    ):
        load_landing_file(warehouse, landing, CUSTOMERS, path)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("customers.xlsx", b"PK\x03\x04 not really", "is not a CSV or Parquet file"),
        ("customers.parquet", b"id,name\n1,a\n", "is not a readable Parquet file"),
        ("customers.csv", "a\x00b".encode("utf-16"), "is not valid UTF-8"),
    ],
    ids=["spreadsheet", "csv_named_parquet", "utf16"],
)
def test_file_that_is_not_csv_or_parquet_fails(landing, name, content, problem):
    path = landing / "customers" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(content)

    with pytest.raises(IngestionError, match=rf"{name}.*{problem}"):
        read_landing_file(path, CUSTOMERS)


def test_several_problems_in_one_row_are_all_reported(warehouse, landing):
    path = customers_file(
        landing, "many.csv", customer_id=(4, "x"), segment=(4, "gold"), monthly_price=(4, "-1")
    )

    result = load_landing_file(warehouse, landing, CUSTOMERS, path)

    row = only_quarantine_row(warehouse)
    assert (row["source_row"], row["column_name"], row["reason_code"]) == (
        4,
        "customer_id",
        "wrong_type",
    )
    assert row["reason"] == (
        "customer_id: 'x' is not a whole number (BIGINT); "
        "segment: 'gold' is not one of basic, standard, premium; "
        "monthly_price: -1.0 is below the minimum 0"
    )
    assert count_rows(warehouse, "raw.customers") == ROWS - 1
    assert_reconciled(warehouse, CUSTOMERS, result)
