"""Loads replace their scope, are idempotent, transactional and logged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import ingestion.load
from ingestion.contracts import ALL_CONTRACTS, CONTRACTS
from ingestion.errors import IngestionError
from ingestion.load import content_hash, load_frame, parent_keys_from_warehouse
from ingestion.warehouse import SCHEMAS, connect, table_exists
from tests.unit.ingestion import assert_reconciled, count_rows, customer_keys, tiny_table

CUSTOMERS = CONTRACTS["customers"]
SUBSCRIPTION_EVENTS = CONTRACTS["subscription_events"]
MARKETING_SPEND = CONTRACTS["marketing_spend"]
DAY = "2025-03-01"


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "warehouse" / "twinops.duckdb")
    yield con
    con.close()


def events_of(day: str) -> pd.DataFrame:
    events = tiny_table("subscription_events")
    return events[events["event_date"] == pd.Timestamp(day)].reset_index(drop=True)


def raw_table(con: duckdb.DuckDBPyConnection, name: str, order_by: str) -> pd.DataFrame:
    return con.execute(f"select * from raw.{name} order by {order_by}").df()


def test_connect_creates_every_schema_and_read_only_sees_them(tmp_path):
    path = tmp_path / "nested" / "twinops.duckdb"
    connect(path).close()

    with connect(path, read_only=True) as con:
        schemas = {
            row[0]
            for row in con.execute("select schema_name from information_schema.schemata").fetchall()
        }
    assert set(SCHEMAS) <= schemas


def test_read_only_connect_to_a_missing_warehouse_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist yet"):
        connect(tmp_path / "absent.duckdb", read_only=True)


def test_loading_the_same_table_twice_gives_an_identical_table(warehouse):
    customers = tiny_table("customers")
    first = load_frame(warehouse, CUSTOMERS, customers, source="generator")
    after_first = raw_table(warehouse, "customers", "customer_id")
    second = load_frame(warehouse, CUSTOMERS, customers, source="generator")
    after_second = raw_table(warehouse, "customers", "customer_id")

    pd.testing.assert_frame_equal(after_first, after_second)
    assert len(after_second) == len(customers) == after_second["customer_id"].nunique()
    assert first.content_hash == second.content_hash
    assert second.replaced_rows == len(customers)
    assert count_rows(warehouse, "ops.load_log") == 2
    assert_reconciled(warehouse, CUSTOMERS, second)


def test_reloading_a_partition_replaces_only_that_day(warehouse):
    load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator")
    keys = parent_keys_from_warehouse(warehouse, SUBSCRIPTION_EVENTS)
    next_day = "2025-03-02"
    load_frame(
        warehouse,
        SUBSCRIPTION_EVENTS,
        events_of(next_day),
        source="generator",
        partition=next_day,
        parent_keys=keys,
    )
    load_frame(
        warehouse,
        SUBSCRIPTION_EVENTS,
        events_of(DAY),
        source="generator",
        partition=DAY,
        parent_keys=keys,
    )
    before = raw_table(warehouse, "subscription_events", "event_id")

    again = load_frame(
        warehouse,
        SUBSCRIPTION_EVENTS,
        events_of(DAY),
        source="generator",
        partition=DAY,
        parent_keys=keys,
    )
    pd.testing.assert_frame_equal(before, raw_table(warehouse, "subscription_events", "event_id"))
    assert again.replaced_rows == again.loaded_rows == len(events_of(DAY))

    corrected = events_of(DAY).iloc[:5].assign(amount=1.0)
    load_frame(
        warehouse,
        SUBSCRIPTION_EVENTS,
        corrected,
        source="generator",
        partition=DAY,
        parent_keys=keys,
    )
    per_day = dict(
        warehouse.execute(
            "select cast(event_date as varchar), count(*) from raw.subscription_events group by 1"
        ).fetchall()
    )
    assert per_day == {DAY: 5, next_day: len(events_of(next_day))}


def test_rows_of_another_day_are_quarantined_not_loaded_into_the_partition(warehouse):
    mixed = pd.concat([events_of(DAY), events_of("2025-03-02").head(3)], ignore_index=True)

    result = load_frame(warehouse, SUBSCRIPTION_EVENTS, mixed, source="generator", partition=DAY)

    assert result.reasons == {"outside_partition": 3}
    assert result.loaded_rows == len(events_of(DAY))
    assert_reconciled(warehouse, SUBSCRIPTION_EVENTS, result)


def test_a_key_already_loaded_in_another_partition_is_quarantined(warehouse):
    load_frame(
        warehouse,
        SUBSCRIPTION_EVENTS,
        events_of("2025-03-02"),
        source="generator",
        partition="2025-03-02",
    )
    clash = events_of(DAY)
    clash.loc[0, "event_id"] = int(events_of("2025-03-02")["event_id"].iloc[0])

    result = load_frame(warehouse, SUBSCRIPTION_EVENTS, clash, source="generator", partition=DAY)

    assert result.reasons == {"duplicate_key": 1}
    reason = warehouse.execute("select reason from ops.quarantine").fetchone()
    assert reason is not None and "already loaded in another partition" in reason[0]
    assert raw_table(warehouse, "subscription_events", "event_id")["event_id"].is_unique
    assert result.loaded_rows + result.quarantined_rows == result.input_rows


def test_user_file_upserts_its_keys_and_reloading_it_changes_nothing(warehouse):
    load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator")
    correction = tiny_table("customers", 3).assign(plan="annual")
    correction.loc[2, "customer_id"] = 999_999  # a new customer

    load_frame(warehouse, CUSTOMERS, correction, source="customers/fix.csv", replace="keys")
    once = raw_table(warehouse, "customers", "customer_id")
    load_frame(warehouse, CUSTOMERS, correction, source="customers/fix.csv", replace="keys")

    pd.testing.assert_frame_equal(once, raw_table(warehouse, "customers", "customer_id"))
    assert len(once) == len(tiny_table("customers")) + 1
    assert set(once.loc[once["customer_id"].isin(correction["customer_id"]), "plan"]) == {"annual"}


def test_reloading_replaces_the_quarantine_of_the_same_scope(warehouse):
    customers = tiny_table("customers").astype({"segment": "object"})
    customers.loc[0, "segment"] = "gold"

    load_frame(warehouse, CUSTOMERS, customers, source="generator")
    load_frame(warehouse, CUSTOMERS, customers, source="generator")

    assert count_rows(warehouse, "ops.quarantine") == 1


def test_a_crash_inside_the_load_leaves_the_previous_state_untouched(warehouse, monkeypatch):
    load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator")
    before = raw_table(warehouse, "customers", "customer_id")
    changed = tiny_table("customers").assign(plan="annual").astype({"segment": "object"})
    changed.loc[0, "segment"] = "gold"

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash after the rows were written")

    monkeypatch.setattr(ingestion.load, "_append_load_log", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        load_frame(warehouse, CUSTOMERS, changed, source="generator")

    pd.testing.assert_frame_equal(before, raw_table(warehouse, "customers", "customer_id"))
    assert count_rows(warehouse, "ops.quarantine") == 0
    assert count_rows(warehouse, "ops.load_log") == 1


def test_a_crash_during_the_first_load_leaves_no_table(warehouse, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(ingestion.load, "_replace_quarantine", crash)
    with pytest.raises(RuntimeError):
        load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator")

    assert not table_exists(warehouse, "raw", "customers")
    assert not table_exists(warehouse, "ops", "load_log")
    # The connection is usable again afterwards.
    monkeypatch.undo()
    load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator")
    assert count_rows(warehouse, "raw.customers") == len(tiny_table("customers"))


# A small marketing frame built the same way here and in a fresh interpreter (which
# imports only pandas and the loader, not the world generator, to stay fast).
MARKETING_FRAME_SOURCE = """
import pandas as pd
marketing_frame = pd.DataFrame({
    "date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-02"]),
    "channel": ["search", "social", "search"],
    "spend": [10.5, 20.25, 11.0],
    "impressions": [1000, 2000, 1100],
    "clicks": [10, 20, 11],
    "conversions": [1, 2, 1],
})
"""


def test_content_hash_is_stable_across_processes_and_sensitive_to_values():
    namespace: dict[str, object] = {}
    exec(MARKETING_FRAME_SOURCE, namespace)
    marketing = namespace["marketing_frame"]
    assert isinstance(marketing, pd.DataFrame)
    script = (
        MARKETING_FRAME_SOURCE
        + "from ingestion.contracts.marketing import MARKETING_SPEND\n"
        + "from ingestion.load import content_hash\n"
        + "print(content_hash(MARKETING_SPEND, marketing_frame))\n"
    )
    other_process = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    ).stdout.strip()

    assert content_hash(MARKETING_SPEND, marketing) == other_process
    changed = marketing.copy()
    changed.loc[0, "spend"] += 0.01
    assert content_hash(MARKETING_SPEND, changed) != other_process
    reordered = marketing.iloc[::-1].reset_index(drop=True)
    assert content_hash(MARKETING_SPEND, reordered) != other_process


def test_parent_keys_need_the_parent_loaded_first(warehouse):
    with pytest.raises(IngestionError, match="load customers before subscription_events"):
        parent_keys_from_warehouse(warehouse, SUBSCRIPTION_EVENTS)

    load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator")
    keys = parent_keys_from_warehouse(warehouse, SUBSCRIPTION_EVENTS)
    assert set(keys["customers.customer_id"]) == set(customer_keys()["customers.customer_id"])


def test_a_raw_table_that_no_longer_matches_its_contract_is_reported(warehouse):
    warehouse.execute("create table raw.customers (customer_id bigint)")

    with pytest.raises(IngestionError, match="the contract changed since the table was created"):
        load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator")


def test_partition_arguments_are_checked(warehouse):
    with pytest.raises(ValueError, match="has no partition column"):
        load_frame(warehouse, CUSTOMERS, tiny_table("customers"), source="generator", partition=DAY)
    with pytest.raises(ValueError, match="is not a day"):
        load_frame(
            warehouse,
            MARKETING_SPEND,
            tiny_table("marketing_spend"),
            source="generator",
            partition="March",
        )


def test_the_whole_tiny_world_loads_parents_first_without_quarantine(warehouse):
    for contract in ALL_CONTRACTS:
        frame = tiny_table(contract.name)
        keys = parent_keys_from_warehouse(warehouse, contract)

        result = load_frame(warehouse, contract, frame, source="generator", parent_keys=keys)

        assert (result.loaded_rows, result.reasons) == (len(frame), {}), contract.name
        assert_reconciled(warehouse, contract, result)


def test_a_self_reference_may_point_into_the_same_input_but_not_nowhere(warehouse):
    suppliers = tiny_table("suppliers")
    tier_two = suppliers.index[suppliers["supplies_to"].notna()][0]
    suppliers.loc[tier_two, "supplies_to"] = "SUP-NOWHERE"
    contract = CONTRACTS["suppliers"]

    result = load_frame(
        warehouse,
        contract,
        suppliers,
        source="generator",
        parent_keys=parent_keys_from_warehouse(warehouse, contract),
    )

    assert result.reasons == {"orphan_foreign_key": 1}
    assert result.loaded_rows == len(suppliers) - 1


def test_a_window_of_days_loads_in_one_transaction_and_replaces_only_that_window():
    """A single-run backfill loads many daily partitions at once, idempotently."""
    from ingestion.contracts import CONTRACTS
    from ingestion.load import load_frame, parent_keys_from_warehouse
    from ingestion.warehouse import connect
    from simulation.world import WorldConfig, generate_world

    world = generate_world(WorldConfig.tiny())
    con = connect(":memory:")
    load_frame(con, CONTRACTS["customers"], world.tables["customers"], source="generator")
    contract = CONTRACTS["usage_events"]
    usage = world.tables["usage_events"]
    parents = parent_keys_from_warehouse(con, contract)
    january = ("2025-01-01", "2025-01-31")
    result = load_frame(
        con, contract, usage, source="generator", partition=january, parent_keys=parents
    )
    in_january = usage["session_date"].between("2025-01-01", "2025-01-31")
    assert result.loaded_rows == in_january.sum()
    assert result.quarantined_rows == (~in_january).sum()  # other days: outside_partition
    assert result.partition == "2025-01-01..2025-01-31"
    # Quarantined rows are filed under their own day, outside the window.
    filed = con.execute('select min("partition") from ops.quarantine').fetchone()[0]
    assert filed == "2025-02-01"

    february = usage[usage["session_date"].between("2025-02-01", "2025-02-28")]
    load_frame(
        con,
        contract,
        february,
        source="generator",
        partition=("2025-02-01", "2025-02-28"),
        parent_keys=parents,
    )
    again = load_frame(
        con, contract, usage[in_january], source="generator", partition=january, parent_keys=parents
    )
    assert again.replaced_rows == in_january.sum()
    loaded = con.execute("select count(*) from raw.usage_events").fetchone()[0]
    assert loaded == in_january.sum() + len(february)
    # The February window's reload removed its days from the quarantine; March onward stay.
    assert (
        con.execute(
            "select count(*) from ops.quarantine where \"partition\" like '2025-02%'"
        ).fetchone()[0]
        == 0
    )
