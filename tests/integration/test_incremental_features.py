"""Partition-aware dbt: a 30-day backfill builds the same features as a full refresh.

On the tiny world, Dagster materializes raw tables and features for January to May in one run,
then backfills the 30 days of June in a second run: the incremental models get the window as
dbt vars and rebuild from its first day. A `dbt run --full-refresh` on a copy of the warehouse
then rebuilds every model from scratch; both must hold the same rows and numbers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.demo import partition_window_tags
from orchestration.paths import REPO_ROOT
from simulation.world import WorldConfig

pytestmark = pytest.mark.integration

TINY_WORLD = WorldConfig.tiny()
FIRST_RUN = ("2025-01-01", "2025-05-31")
BACKFILL = ("2025-06-01", "2025-06-30")  # 30 daily partitions
INCREMENTAL_MARTS = {
    "staging.int_customer_months": ["customer_id", "month_start"],
    "staging.int_customer_month_usage": ["customer_id", "month_end"],
    "staging.int_daily_kpi_values": ["kpi", "kpi_date"],
    "features.customer_month_churn_features": ["customer_month_id"],
    "features.daily_kpis": ["kpi", "kpi_date"],
    "features.demand_series": ["series_id", "order_date"],
    "features.marketing_channel_daily": ["channel", "spend_date"],
}


def _read(warehouse: Path, table: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(f"select * from {table}").df()
    return frame.sort_values(INCREMENTAL_MARTS[table]).reset_index(drop=True)


@pytest.fixture(scope="module")
def backfilled(dbt_manifest, tmp_path_factory) -> dict[str, object]:
    """Two Dagster runs (January-May, then a 30-day backfill of June) into a fresh warehouse."""
    from dagster_dbt import DbtCliResource

    from orchestration.defs.features.assets import (
        daily_features,
        staging,
        whole_history_features,
    )
    from orchestration.defs.features.project import dbt_executable, transforms_project
    from orchestration.defs.ingestion.assets import business_entities, business_events
    from orchestration.defs.ingestion.world import SyntheticBusinessResource
    from orchestration.resources import WarehouseResource

    home = tmp_path_factory.mktemp("incremental")
    previous_home = os.environ.get("TWINOPS_HOME")
    os.environ["TWINOPS_HOME"] = str(home)  # dbt, a subprocess, finds the warehouse here
    resources = {
        "warehouse": WarehouseResource(path=str(home / "warehouse.duckdb")),
        "business": SyntheticBusinessResource(
            seed=TINY_WORLD.seed,
            n_customers=TINY_WORLD.n_customers,
            start=TINY_WORLD.start.isoformat(),
            end=TINY_WORLD.end.isoformat(),
        ),
        "dbt": DbtCliResource(project_dir=transforms_project(), dbt_executable=dbt_executable()),
    }
    assets = [business_entities, business_events, staging, daily_features, whole_history_features]
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            runs = [
                dg.materialize(
                    assets,
                    resources=resources,
                    instance=instance,
                    tags=partition_window_tags(*window),
                    raise_on_error=False,
                )
                for window in (FIRST_RUN, BACKFILL)
            ]
            materialized = instance.get_materialized_partitions(
                dg.AssetKey(["features", "daily_kpis"])
            )
    finally:
        if previous_home is None:
            os.environ.pop("TWINOPS_HOME", None)
        else:
            os.environ["TWINOPS_HOME"] = previous_home
    incremental = {table: _read(home / "warehouse.duckdb", table) for table in INCREMENTAL_MARTS}

    # The reference: every model rebuilt from scratch on the same raw data.
    reference_home = tmp_path_factory.mktemp("full_refresh")
    shutil.copy(home / "warehouse.duckdb", reference_home / "warehouse.duckdb")
    dbt = Path(sys.executable).parent / "dbt"
    target = ["--target-path", str(reference_home / "target")]
    result = subprocess.run(
        [str(dbt), "run", "--full-refresh", "--profiles-dir", ".", "--quiet", *target],
        cwd=REPO_ROOT / "transforms",
        env={**os.environ, "TWINOPS_HOME": str(reference_home)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"dbt run --full-refresh failed:\n{result.stdout}"
    reference = {
        table: _read(reference_home / "warehouse.duckdb", table) for table in INCREMENTAL_MARTS
    }
    return {"runs": runs, "partitions": materialized, "incremental": incremental, "full": reference}


def test_both_runs_succeed_with_every_dbt_test_passing(backfilled):
    for run in backfilled["runs"]:
        assert run.success
        failed_checks = [
            evaluation.check_name
            for evaluation in run.get_asset_check_evaluations()
            if not evaluation.passed
        ]
        assert failed_checks == []


def test_the_backfill_marks_each_of_its_30_days_materialized(backfilled):
    june = {f"2025-06-{day:02d}" for day in range(1, 31)}
    assert june <= backfilled["partitions"]
    assert "2025-07-01" not in backfilled["partitions"]


def test_the_backfill_adds_the_window_rows(backfilled):
    kpis = backfilled["incremental"]["features.daily_kpis"]
    assert kpis["kpi_date"].max() == pd.Timestamp("2025-06-30")
    churn = backfilled["incremental"]["features.customer_month_churn_features"]
    june = churn[churn["month_start"] == pd.Timestamp("2025-06-01")]
    assert len(june) > 500
    # May's label (cancelled during June) became known with June's data.
    may = churn[churn["month_start"] == pd.Timestamp("2025-05-01")]
    assert may["churned_next_month"].notna().all()
    assert june["churned_next_month"].isna().all()


@pytest.mark.parametrize("table", sorted(INCREMENTAL_MARTS))
def test_incremental_build_equals_a_full_refresh(backfilled, table):
    incremental, full = backfilled["incremental"][table], backfilled["full"][table]
    assert len(full) > 0
    # Sums of doubles may differ in the last bits between parallel aggregations.
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "table",
    [
        "staging.int_customer_months",
        "staging.int_customer_month_usage",
        "features.customer_month_churn_features",
    ],
)
def test_churn_lineage_builds_are_bit_identical(backfilled, table):
    # The churn lineage sums exact decimals (docs/features.md, "Bit-identical builds"), so two
    # builds agree to the last bit, not only to 1e-9.
    incremental, full = backfilled["incremental"][table], backfilled["full"][table]
    pd.testing.assert_frame_equal(incremental, full, check_exact=True)
