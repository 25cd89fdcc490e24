"""User paths stay inside landing/<table>/, and readable files come back uncoerced."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from ingestion.contracts import CONTRACTS
from ingestion.errors import IngestionError
from ingestion.quarantine import split_rows
from ingestion.readers import list_landing_files, read_landing_file, resolve_landing_path
from tests.unit.ingestion import tiny_table, write_landing_csv

CUSTOMERS = CONTRACTS["customers"]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing" / "customers"
    folder.mkdir(parents=True)
    (folder / "ok.csv").write_text("customer_id\n1\n")
    return tmp_path / "landing"


@pytest.mark.parametrize(
    ("relative", "problem"),
    [
        ("../orders/ok.csv", "'..' is refused"),
        ("nested/../../ok.csv", "'..' is refused"),
        ("/etc/passwd", "absolute paths are refused"),
        ("", "is not a file name"),
        (".", "is not a file name"),
    ],
    ids=["parent", "nested_parent", "absolute", "empty", "folder_itself"],
)
def test_paths_escaping_the_table_folder_are_refused(landing, relative, problem):
    with pytest.raises(IngestionError, match=problem):
        resolve_landing_path(landing, "customers", relative)


def test_a_symlink_leading_out_of_the_landing_folder_is_refused(landing, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("customer_id\n1\n")
    os.symlink(secret, landing / "customers" / "innocent.csv")

    with pytest.raises(IngestionError, match="outside landing/customers/"):
        resolve_landing_path(landing, "customers", "innocent.csv")
    with pytest.raises(IngestionError, match=r"innocent\.csv"):
        list_landing_files(landing, "customers")


def test_a_symlinked_table_folder_leading_out_is_refused(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, landing / "customers")

    with pytest.raises(IngestionError, match="points outside the landing folder"):
        resolve_landing_path(landing, "customers", "ok.csv")


def test_a_table_name_cannot_smuggle_a_path(landing):
    with pytest.raises(IngestionError, match="table name"):
        resolve_landing_path(landing, "../customers", "ok.csv")


def test_paths_inside_the_table_folder_resolve_to_their_real_location(landing):
    os.symlink(landing / "customers" / "ok.csv", landing / "customers" / "alias.csv")

    assert (
        resolve_landing_path(landing, "customers", "ok.csv")
        == (landing / "customers" / "ok.csv").resolve()
    )
    assert resolve_landing_path(landing, "customers", Path("alias.csv")).name == "ok.csv"


def test_listing_skips_hidden_and_in_progress_files_and_keeps_wrong_suffixes(landing):
    folder = landing / "customers"
    for name in (".partial.csv", "_copying.csv", "b.parquet", "notes.txt"):
        (folder / name).write_text("x")
    (folder / "subfolder").mkdir()

    assert [path.name for path in list_landing_files(landing, "customers")] == [
        "b.parquet",
        "notes.txt",
        "ok.csv",
    ]
    assert list_landing_files(landing, "suppliers") == []


def test_csv_cells_are_read_as_text_with_only_empty_cells_missing(landing):
    path = landing / "customers" / "text.csv"
    path.write_text(
        "\ufeffcustomer_id, signup_date,segment,region,acquisition_channel,plan,monthly_price,note\n"
        "007,2025-01-01,basic,north,email,monthly,NA,\n"
        '8,2025-01-02,basic,north,email,monthly,"1,5",null\n',
        encoding="utf-8",
    )

    frame = read_landing_file(path, CUSTOMERS)

    assert frame["customer_id"].tolist() == ["007", "8"]
    assert frame["monthly_price"].tolist() == ["NA", "1,5"]
    assert frame["note"].isna().tolist() == [True, False]
    assert frame["_source_row"].tolist() == [1, 2]


def test_parquet_keeps_stored_types_and_large_ids_exactly(landing):
    customers = tiny_table("customers", 5)
    customers.loc[0, "customer_id"] = 2**62 + 1  # beyond float precision
    path = landing / "customers" / "customers.parquet"
    customers.to_parquet(path, index=False)

    frame = read_landing_file(path, CUSTOMERS)
    split = split_rows(CUSTOMERS, frame, source=path.name)

    assert split.quarantined.empty
    assert split.good["customer_id"].iloc[0] == 2**62 + 1
    pd.testing.assert_series_equal(
        split.good["monthly_price"], customers["monthly_price"], check_names=False
    )


def test_csv_round_trip_of_the_generator_loads_every_row(landing):
    events = tiny_table("subscription_events")
    path = write_landing_csv(landing, "subscription_events", "events.csv", events)

    split = split_rows(
        CONTRACTS["subscription_events"],
        read_landing_file(path, CONTRACTS["subscription_events"]),
        source="events.csv",
    )

    assert split.quarantined.empty
    pd.testing.assert_frame_equal(
        split.good,
        split_rows(CONTRACTS["subscription_events"], events, source="generator").good,
    )
