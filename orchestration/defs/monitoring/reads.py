"""Warehouse reads and writes of the monitoring assets (no Dagster here)."""

from __future__ import annotations

import duckdb
import pandas as pd

from ingestion.warehouse import table_exists
from ml.monitoring import billing_stream

DAILY_DRIFT_TABLE = "daily_drift"


def billing_stream_from_warehouse(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every charge of raw.subscription_events with the customer's segment and plan, by day."""
    events = con.execute(
        "select customer_id, event_date, event_type, monthly_price from raw.subscription_events"
    ).df()
    customers = con.execute("select customer_id, segment, plan from raw.customers").df()
    return billing_stream(events, customers)


def scored_days(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The per-day, per-column scores stored so far (empty before the first check)."""
    if not table_exists(con, "results", DAILY_DRIFT_TABLE):
        return pd.DataFrame(columns=["day", "column_name", "score", "rows"])
    return con.execute(
        f"select day, column_name, score, rows from results.{DAILY_DRIFT_TABLE} order by day"
    ).df()


def new_days(stream: pd.DataFrame, already_scored: pd.DataFrame, lookback_days: int) -> list:
    """Days among the newest `lookback_days` of the stream that have no stored score yet."""
    days = sorted(stream["day"].unique())[-lookback_days:]
    done = set(pd.to_datetime(already_scored["day"]))
    return [pd.Timestamp(day) for day in days if pd.Timestamp(day) not in done]
