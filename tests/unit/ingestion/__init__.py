"""Shared helpers for the ingestion tests: one tiny world per session, landing files, counts."""

from __future__ import annotations

import functools
from pathlib import Path

import duckdb
import pandas as pd

from ingestion.contracts.base import TableContract
from ingestion.load import LoadResult
from simulation.world import WorldConfig, generate_world

TINY = WorldConfig.tiny()


@functools.cache
def _tiny_world_tables() -> dict[str, pd.DataFrame]:
    return generate_world(TINY).tables


def tiny_table(name: str, rows: int | None = None) -> pd.DataFrame:
    """A copy of one table of the tiny world (optionally its first ``rows`` rows)."""
    table = _tiny_world_tables()[name]
    return (table if rows is None else table.head(rows)).copy()


def customer_keys() -> dict[str, pd.Series]:
    """Parent keys for tables referencing customers, from the tiny world."""
    return {"customers.customer_id": tiny_table("customers")["customer_id"]}


def world_parent_keys(contract: TableContract) -> dict[str, pd.Series]:
    """Every key ``contract`` references, from the tiny world's parent tables."""
    return {
        f"{key.ref_table}.{key.ref_column}": tiny_table(key.ref_table)[key.ref_column]
        for key in contract.foreign_keys
    }


def write_landing_csv(landing_root: Path, table: str, name: str, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as a user would drop it: UTF-8 CSV with a header, no index."""
    folder = landing_root / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def count_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"select count(*) from {table}").fetchone()
    assert row is not None
    return int(row[0])


def assert_reconciled(
    con: duckdb.DuckDBPyConnection, contract: TableContract, result: LoadResult
) -> None:
    """good + quarantined == input, in the result and in what the warehouse holds."""
    assert result.loaded_rows + result.quarantined_rows == result.input_rows
    assert count_rows(con, f"raw.{contract.name}") == result.loaded_rows
    quarantined = con.execute(
        "select count(*), count(distinct source_row) from ops.quarantine where load_id = ?",
        [result.load_id],
    ).fetchone()
    assert quarantined == (result.quarantined_rows, result.quarantined_rows)
    logged = con.execute(
        "select input_rows, loaded_rows, quarantined_rows from ops.load_log where load_id = ?",
        [result.load_id],
    ).fetchone()
    assert logged == (result.input_rows, result.loaded_rows, result.quarantined_rows)
