"""The GX contract suites pass on the generator's world and name what a corrupted frame breaks."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from ingestion.contracts import ALL_CONTRACTS, CONTRACTS
from ingestion.quarantine import split_rows
from ingestion.validation import SuiteResult, build_suite, validate_table
from tests.unit.ingestion import TINY, customer_keys, tiny_table, world_parent_keys

CUSTOMERS = CONTRACTS["customers"]
MARKETING_SPEND = CONTRACTS["marketing_spend"]


def failed_names(result: SuiteResult) -> set[tuple[str, str | None]]:
    return {(outcome.expectation, outcome.column) for outcome in result.failed}


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=lambda contract: contract.name)
def test_suite_passes_on_the_tiny_world(contract):
    frame = tiny_table(contract.name)
    parent_keys = world_parent_keys(contract) if contract.foreign_keys else None

    as_generated = validate_table(contract, frame, parent_keys=parent_keys, as_of=TINY.end)
    as_loaded = validate_table(
        contract, split_rows(contract, frame, source="generator").good, parent_keys=parent_keys
    )

    assert as_generated.success, as_generated.failed
    assert as_loaded.success, as_loaded.failed
    assert as_generated.evaluated_rows == len(frame)


def test_suite_fails_on_a_corrupted_frame_naming_each_broken_expectation():
    customers = tiny_table("customers").astype({"segment": "object"})
    customers.loc[3, "segment"] = "gold"
    customers.loc[5, "customer_id"] = customers.loc[6, "customer_id"]
    customers.loc[7, "monthly_price"] = -1.0
    customers = customers.astype({"segment": "str"}).drop(columns="plan")

    result = validate_table(CUSTOMERS, customers)

    assert not result.success
    assert {
        ("expect_column_values_to_be_in_set", "segment"),
        ("expect_column_values_to_be_unique", "customer_id"),
        ("expect_column_values_to_be_between", "monthly_price"),
        ("expect_column_to_exist", "plan"),
    } <= failed_names(result)
    unknown_segment = next(o for o in result.failed if o.column == "segment")
    assert unknown_segment.unexpected_count == 1
    assert unknown_segment.observed == "e.g. gold"


def test_wrong_dtype_orphans_and_stale_data_are_named():
    events = tiny_table("subscription_events")
    events["amount"] = events["amount"].astype("str")
    events.loc[0, "customer_id"] = 999_999

    result = validate_table(
        CONTRACTS["subscription_events"],
        events,
        parent_keys=customer_keys(),
        as_of=TINY.end + dt.timedelta(days=10),
    )

    assert {
        ("expect_column_values_to_be_in_type_list", "amount"),
        ("expect_column_values_to_be_null", "customer_id"),
        ("expect_column_max_to_be_between", "event_date"),
    } <= failed_names(result)
    orphans = next(o for o in result.failed if o.check == "referential_integrity")
    assert (orphans.column, orphans.unexpected_count, orphans.observed) == (
        "customer_id",
        1,
        "e.g. 999999",
    )
    assert {o.check for o in result.failed} >= {"type", "referential_integrity", "freshness"}
    assert all(
        outcome.column in {"amount", "customer_id", "event_date"} for outcome in result.failed
    )


def test_compound_key_uniqueness_is_checked():
    spend = tiny_table("marketing_spend")
    spend = pd.concat([spend, spend.head(2)], ignore_index=True)

    result = validate_table(MARKETING_SPEND, spend)

    assert failed_names(result) == {("expect_compound_columns_to_be_unique", "date,channel")}


def test_metadata_is_json_and_lists_failures_first():
    customers = tiny_table("customers").astype({"region": "object"})
    customers.loc[0, "region"] = None
    customers = customers.astype({"region": "str"})

    metadata = validate_table(CUSTOMERS, customers).to_metadata()

    json.dumps(metadata)
    assert metadata["success"] is False
    assert metadata["failed_expectations"] == ["expect_column_values_to_not_be_null(region)"]
    assert metadata["outcomes"][0]["success"] is False
    assert metadata["evaluated_expectations"] == len(build_suite(CUSTOMERS).expectations)
