"""Point-in-time correctness of the feature marts.

Build a tiny world's warehouse, run ``dbt build``, snapshot the marts, then change the future:
delete or rewrite every raw row dated after the end of a cutoff month M (usage, subscription
events, tickets, NPS answers, onboarding runs, orders, stock, spend, customers who sign up
later), add NPS answers dated after M, and rebuild. Every feature of every row dated on or
before M must be unchanged. Labels (churned_next_month of month M) may change: they look ahead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingestion.load import load_tables
from ingestion.warehouse import connect
from simulation.world import WorldConfig, generate_world

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSFORMS = REPO_ROOT / "transforms"
CUTOFF = "2025-05-31"  # end of month M; the tiny world runs January to August 2025

# Raw rows dated after the cutoff are deleted ...
FUTURE_DELETES = {
    "usage_events": "session_date",
    "subscription_events": "event_date",
    "onboarding_stage_runs": "ended_date",
    "demand_orders": "date",
    "inventory_levels": "date",
    "marketing_spend": "date",
}
# ... and these are rewritten or added, so that a feature reading them would move.
FUTURE_REWRITES = (
    # Tickets opened later get extreme waits and CSAT; tickets open at the cutoff get resolved
    # later with CSAT 1 (CSAT is only known at resolution).
    f"update raw.support_tickets set wait_minutes = 999, satisfaction = 5 where opened_date > '{CUTOFF}'",
    f"""update raw.support_tickets set satisfaction = 1, resolved_at = timestamp '2025-07-01 12:00'
        where opened_date <= '{CUTOFF}' and (resolved_at is null or resolved_at >= date '{CUTOFF}' + 1)""",
    f"update raw.nps_responses set score = 0 where response_date > '{CUTOFF}'",
    f"""insert into raw.nps_responses
        select 10000000 + customer_id, customer_id, date '{CUTOFF}' + 1, 10, 'email'
        from raw.customers""",
    f"delete from raw.customers where signup_date > '{CUTOFF}'",
)
# Per mart: the as-of date column and the columns that may look ahead.
POINT_IN_TIME_MARTS = {
    "customer_month_churn_features": ("month_end", {"churned_next_month"}),
    "daily_kpis": ("kpi_date", set()),
    "demand_series": ("order_date", set()),
    "marketing_channel_daily": ("spend_date", set()),
}
SORT_KEYS = {
    "customer_month_churn_features": ["customer_month_id"],
    "daily_kpis": ["kpi", "kpi_date"],
    "demand_series": ["series_id", "order_date"],
    "marketing_channel_daily": ["channel", "spend_date"],
}


def run_dbt(home: Path, verb: str) -> None:
    env = {
        **os.environ,
        "TWINOPS_HOME": str(home),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_VERSION_CHECK": "False",
        "DBT_LOG_PATH": str(home / "dbt_logs"),
    }
    dbt = Path(sys.executable).parent / "dbt"
    command = [
        str(dbt) if dbt.exists() else "dbt",
        verb,
        "--profiles-dir",
        str(TRANSFORMS),
        "--project-dir",
        str(TRANSFORMS),
        "--target-path",
        str(home / "dbt_target"),
        "--threads",
        "4",
        "--quiet",
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"dbt {verb} failed:\n{result.stdout}\n{result.stderr}"


def snapshot(home: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        frames = {}
        for mart, (as_of_column, _) in POINT_IN_TIME_MARTS.items():
            frame = con.execute(
                f"select * from features.{mart} where {as_of_column} <= date '{CUTOFF}'"
            ).df()
            frames[mart] = frame.sort_values(SORT_KEYS[mart]).reset_index(drop=True)
        return frames


@pytest.fixture(scope="module")
def marts_before_and_after(tmp_path_factory) -> tuple[dict, dict]:
    """dbt build on the tiny world, then dbt run after rewriting the future."""
    home = tmp_path_factory.mktemp("point_in_time")
    world = generate_world(WorldConfig.tiny())
    con = connect(home / "warehouse.duckdb")
    load_tables(con, world.tables, source="generator")
    con.close()

    run_dbt(home, "build")
    before = snapshot(home)

    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        for table, date_column in FUTURE_DELETES.items():
            con.execute(f"delete from raw.{table} where {date_column} > date '{CUTOFF}'")
        for statement in FUTURE_REWRITES:
            con.execute(statement)

    # The rebuild only needs the models; the first build already ran every data test.
    run_dbt(home, "run")
    after = snapshot(home)
    return before, after


@pytest.mark.parametrize("mart", sorted(POINT_IN_TIME_MARTS))
def test_features_dated_up_to_the_cutoff_ignore_later_rows(marts_before_and_after, mart):
    before, after = marts_before_and_after
    _, look_ahead_columns = POINT_IN_TIME_MARTS[mart]
    features = [column for column in before[mart].columns if column not in look_ahead_columns]
    assert len(before[mart]) > 0, f"{mart} has no rows up to {CUTOFF}: the test proves nothing"
    pd.testing.assert_frame_equal(
        before[mart][features], after[mart][features], check_exact=False, rtol=1e-9, atol=1e-9
    )


def test_the_future_rewrite_reaches_the_features(marts_before_and_after):
    """Guard against a vacuous pass: the customer-month rows had ticket and NPS features."""
    before, _ = marts_before_and_after
    churn = before["customer_month_churn_features"]
    assert churn["latest_nps_score"].notna().sum() > 50
    assert churn["mean_ticket_wait_minutes_90d"].notna().sum() > 50
    assert churn["mean_ticket_satisfaction_90d"].notna().sum() > 10
    assert churn["churned_next_month"].notna().all()
