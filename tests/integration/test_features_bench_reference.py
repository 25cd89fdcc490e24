"""The pandas churn mart that `make bench` times against dbt computes the same mart.

`bench.features` only reports a speed-up after checking that both implementations agree on
every column. That check runs on a 60k-customer world inside `make bench`, which CI does not
run; here it runs on a 2,000-customer world (two years, with price tests), so a change to the
dbt mart that the pandas reference does not follow fails the suite instead of the next
benchmark.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bench.features import (
    build_warehouse,
    compare,
    customer_month_features_pandas,
    read_raw,
    run_dbt,
    write_mart,
)

pytestmark = pytest.mark.integration

MART = "features.customer_month_churn_features"
N_CUSTOMERS = 2_000


@pytest.fixture(scope="module")
def marts(tmp_path_factory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """The warehouse, the dbt mart (indexed like the pandas one) and the pandas mart."""
    folder = tmp_path_factory.mktemp("features_bench")
    build_warehouse(folder, N_CUSTOMERS)
    run_dbt(folder, select="+customer_month_churn_features")
    warehouse = folder / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        dbt_mart = con.execute(f"select * from {MART}").df()
    pandas_mart = customer_month_features_pandas(read_raw(warehouse))
    return warehouse, dbt_mart.set_index("customer_month_id").sort_index(), pandas_mart


def test_pandas_reference_mart_equals_the_dbt_mart(marts):
    _, dbt_mart, pandas_mart = marts
    # Guard against a vacuous pass: the rows exercise the usage, price and NPS features.
    assert len(dbt_mart) > 10_000
    assert (dbt_mart["price_changes_to_date"] > 0).sum() > 0
    assert dbt_mart["previous_nps_score"].notna().sum() > 0
    compare(dbt_mart, pandas_mart)


def test_a_changed_feature_is_caught(marts):
    _, dbt_mart, pandas_mart = marts
    changed = dbt_mart.copy()
    changed.loc[changed.index[0], "sessions_30d"] += 1
    with pytest.raises(AssertionError, match="sessions_30d"):
        compare(changed, pandas_mart)


def test_the_stored_pandas_mart_has_the_dbt_marts_columns(marts, tmp_path: Path):
    warehouse, _, pandas_mart = marts
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    write_mart(copy, pandas_mart)
    with duckdb.connect(str(copy), read_only=True) as con:
        columns = list(con.table(MART).columns)
        stored_columns = list(con.table("bench.customer_month_features_pandas").columns)
        (stored_rows,) = con.execute(
            "select count(*) from bench.customer_month_features_pandas"
        ).fetchone()
    assert stored_columns == columns
    assert stored_rows == len(pandas_mart)
