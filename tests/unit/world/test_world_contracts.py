"""Every generated table satisfies its ingestion contract exactly, on a tiny world."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ingestion.contracts import ALL_CONTRACTS, CONTRACTS, TableContract
from simulation.world.generator import World

PANDAS_KIND_OF_TYPE = {
    "BIGINT": "iu",
    "INTEGER": "iu",
    "DOUBLE": "fiu",
    "BOOLEAN": "b",
    "DATE": "M",
    "TIMESTAMP": "M",
}


def test_every_generated_table_has_a_contract_and_every_contract_a_table(tiny_world: World) -> None:
    assert set(tiny_world.tables) == set(CONTRACTS)


def test_contracts_list_parents_before_children() -> None:
    seen: set[str] = set()
    for contract in ALL_CONTRACTS:
        for fk in contract.foreign_keys:
            assert fk.ref_table in seen | {contract.name}, (
                f"{contract.name} loads before {fk.ref_table}"
            )
        seen.add(contract.name)


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=lambda c: c.name)
def test_table_matches_its_contract(tiny_world: World, contract: TableContract) -> None:
    frame = tiny_world.tables[contract.name]
    assert len(frame) > 0, f"{contract.name} is empty"
    assert tuple(frame.columns) == contract.column_names
    for column in contract.columns:
        values = frame[column.name]
        if column.dtype == "VARCHAR":
            assert pd.api.types.is_string_dtype(values), f"{column.name} is {values.dtype}"
        else:
            assert values.dtype.kind in PANDAS_KIND_OF_TYPE[column.dtype], (
                f"{column.name} is {values.dtype}"
            )
        if not column.nullable:
            assert values.notna().all(), f"{contract.name}.{column.name} has nulls"
        present = values.dropna()
        if column.min_value is not None:
            assert (present >= column.min_value).all(), (
                f"{contract.name}.{column.name} below minimum"
            )
        if column.max_value is not None:
            assert (present <= column.max_value).all(), (
                f"{contract.name}.{column.name} above maximum"
            )
        if column.accepted_values is not None:
            unknown = set(present) - set(column.accepted_values)
            assert not unknown, f"{contract.name}.{column.name} has unknown values {unknown}"
        if column.dtype == "DATE":
            assert (present == present.dt.normalize()).all(), f"{column.name} has a time of day"
    assert not frame.duplicated(list(contract.primary_key)).any(), f"{contract.name} key not unique"


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=lambda c: c.name)
def test_foreign_keys_point_at_existing_parent_rows(
    tiny_world: World, contract: TableContract
) -> None:
    frame = tiny_world.tables[contract.name]
    for fk in contract.foreign_keys:
        parent = tiny_world.tables[fk.ref_table][fk.ref_column]
        children = frame[fk.column].dropna()
        orphans = ~np.isin(children.to_numpy(), parent.to_numpy())
        assert not orphans.any(), f"{contract.name}.{fk.column} has {orphans.sum()} orphans"


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=lambda c: c.name)
def test_table_loads_into_duckdb_with_the_contract_types(
    tiny_world: World, contract: TableContract
) -> None:
    frame = tiny_world.tables[contract.name]
    con = duckdb.connect()
    columns = ", ".join(f'"{c.name}" {c.dtype}' for c in contract.columns)
    con.execute(f"create table target ({columns})")
    con.register("frame", frame)
    con.execute("insert into target select * from frame")
    loaded = con.execute("select count(*) from target").fetchone()
    assert loaded == (len(frame),)


def test_time_series_tables_have_a_daily_partition_and_freshness() -> None:
    for name in (
        "demand_orders",
        "onboarding_stage_runs",
        "support_tickets",
        "purchase_orders",
        "inventory_levels",
        "nps_responses",
    ):
        contract = CONTRACTS[name]
        assert contract.partition_column is not None and contract.freshness_days is not None
        assert contract.column(contract.partition_column).dtype == "DATE"
