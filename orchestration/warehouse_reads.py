"""Reads of warehouse tables that several assets share."""

from __future__ import annotations

import hashlib

import dagster as dg
import duckdb
import pandas as pd

from ingestion.warehouse import append_to_table, replace_table, table_exists

CHURN_FEATURES_TABLE = "features.customer_month_churn_features"
# The churn mart is daily-partitioned (incremental); its readers read every day of it, and
# scenario-partitioned readers need that said explicitly.
CHURN_FEATURES_DEP = dg.AssetDep(
    dg.AssetKey(["features", "customer_month_churn_features"]),
    partition_mapping=dg.AllPartitionMapping(),
)


def churn_features(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        f"select * from {CHURN_FEATURES_TABLE} order by month_start, customer_id"
    ).df()


def true_churn(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """The world's true churn probabilities, or None when the data did not come from the generator."""
    if not table_exists(con, "truth", "customer_churn"):
        return None
    return con.execute("select * from truth.customer_churn").df()


def replace_results_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Replace results.<table> with `frame` in one transaction."""
    replace_table(con, "results", table, frame)


def append_results_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Append `frame` to results.<table> (created on first use) in one transaction."""
    append_to_table(con, "results", table, frame)


def data_lineage(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """A short version of the raw data (hash of the latest load of every table and partition)
    and the world's seed when the data came from the generator."""
    rows = con.execute(
        """
        select "table", coalesce("partition", ''), content_hash, source
        from ops.load_log
        qualify row_number() over (partition by "table", "partition" order by loaded_at desc) = 1
        order by 1, 2
        """
    ).fetchall()
    digest = hashlib.sha256("|".join(f"{t}/{p}:{h}" for t, p, h, _ in rows).encode()).hexdigest()[
        :16
    ]
    seeds = {
        source.removeprefix("generator:seed=")
        for *_, source in rows
        if source.startswith("generator:seed=")
    }
    return {"data_version": digest, "world_seed": seeds.pop() if len(seeds) == 1 else "n/a"}
