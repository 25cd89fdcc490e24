"""Feature marts: dbt-duckdb against pandas on a world with at least 10M transactions.

Run with ``uv run python -m bench.features``. A world of ``--customers`` customers (60k gives
about 11M usage sessions and subscription events) is loaded into a temporary warehouse (not
timed). Then:

- ``dbt run --full-refresh`` builds every model from nothing; ``features.all_marts_10m.seconds`` is its wall time,
  process start-up included.
- The churn mart's lineage (``int_customer_months``, ``int_customer_month_usage``,
  ``customer_month_churn_features``) takes the sum of dbt's own execution times.
- ``customer_month_features_pandas`` computes the same mart (every one of its 43 feature and
  label columns) from DataFrames already in memory, the idiomatic pandas way: per-day totals,
  running sums read with ``merge_asof``. ``features.customer_month.speedup_vs_pandas`` is its
  seconds over dbt's, after checking that both give the same numbers.
- dbt's seconds include reading the raw tables from the warehouse and writing the mart to it;
  the figure above gives pandas both for free. ``features.customer_month.pandas_io_seconds``
  times them for pandas (reading the five raw tables into DataFrames, storing the mart's
  columns as a warehouse table), and ``speedup_vs_pandas_end_to_end`` compares like with like:
  pandas reading, computing and storing against the dbt lineage.
- dbt and pandas take turns, ``--repeats`` times; each figure is the best of its runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bench.results import machine_description, record
from ingestion.load import load_tables
from ingestion.warehouse import connect
from ml.churn import CATEGORICAL_FEATURES
from simulation.world import WorldConfig, generate_world

TRANSFORMS = Path(__file__).resolve().parents[1] / "transforms"
CHURN_LINEAGE = ("int_customer_months", "int_customer_month_usage", "customer_month_churn_features")
# Both implementations build the whole mart; every column but these keys is compared.
MART_KEYS = ("customer_id", "month_start", "month_end")


def build_warehouse(folder: Path, n_customers: int) -> int:
    """Load a world into ``folder``/warehouse.duckdb; return its transaction count."""
    world = generate_world(WorldConfig(n_customers=n_customers))
    con = connect(folder / "warehouse.duckdb")
    load_tables(con, world.tables, source="generator")
    con.close()
    return len(world.tables["usage_events"]) + len(world.tables["subscription_events"])


def run_dbt(folder: Path, select: str | None = None) -> tuple[float, dict[str, float]]:
    """``dbt run`` of every model (or of ``select``); wall seconds and seconds per model."""
    env = {
        **os.environ,
        "TWINOPS_HOME": str(folder),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_VERSION_CHECK": "False",
        "DBT_LOG_PATH": str(folder / "dbt_logs"),
    }
    dbt = Path(sys.executable).parent / "dbt"
    target = folder / "dbt_target"
    # A full refresh: the incremental models are timed building every row from nothing.
    command = [str(dbt), "run", "--full-refresh", "--profiles-dir", str(TRANSFORMS)]
    command += ["--project-dir", str(TRANSFORMS)]
    command += ["--target-path", str(target), "--quiet"]
    if select is not None:
        command += ["--select", select]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    wall = time.perf_counter() - started
    results = json.loads((target / "run_results.json").read_text())["results"]
    return wall, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


def _asof(left: pd.DataFrame, right: pd.DataFrame, left_on: str, right_on: str) -> pd.DataFrame:
    """Per customer, the last ``right`` row with ``right_on`` <= ``left_on``.

    ``right`` must be sorted on ``right_on``: each table is looked up several times, so it is
    sorted once where it is built (sorting it on every lookup took about a third of the
    pandas time).
    """
    return pd.merge_asof(
        left.sort_values(left_on),
        right,
        left_on=left_on,
        right_on=right_on,
        by="customer_id",
    ).sort_values("row")


def customer_month_features_pandas(raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The churn mart in pandas: same spine, windows and point-in-time rules as the dbt model."""
    customers, events, usage = raw["customers"], raw["subscription_events"], raw["usage_events"]
    tickets, nps = raw["support_tickets"], raw["nps_responses"]

    first_day, last_day = usage["session_date"].min(), usage["session_date"].max()
    month_starts = pd.date_range(first_day.replace(day=1), last_day, freq="MS")
    months = pd.DataFrame({"month_start": month_starts})
    months["month_end"] = months["month_start"] + pd.offsets.MonthEnd(0)
    months = months[months["month_end"] <= last_day]
    cancel = events[events["event_type"] == "cancel"].groupby("customer_id")["event_date"].min()
    spine = customers.merge(months, how="cross")
    spine["cancel_date"] = spine["customer_id"].map(cancel)
    spine = spine[
        (spine["signup_date"] <= spine["month_end"])
        & (spine["cancel_date"].isna() | (spine["cancel_date"] > spine["month_end"]))
    ].reset_index(drop=True)
    spine["row"] = np.arange(len(spine))
    next_end = spine["month_end"] + pd.offsets.MonthEnd(1)
    spine["churned_next_month"] = (spine["cancel_date"] <= next_end).astype("boolean")
    spine.loc[next_end > last_day, "churned_next_month"] = pd.NA

    # Usage: running totals per customer-day, read as of month_end - k days.
    daily = usage.groupby(["customer_id", "session_date"], sort=True).agg(
        sessions=("session_id", "size"), minutes=("minutes", "sum")
    )
    daily = daily.groupby(level="customer_id").cumsum().reset_index().sort_values("session_date")
    out = spine[["row", "customer_id", "month_start", "month_end"]].copy()
    for column in ("segment", "region", "plan", "acquisition_channel"):
        out[column] = spine[column].to_numpy()
    tenure_days = (spine["month_end"] - spine["signup_date"]).dt.days
    out["tenure_months"] = (tenure_days / 30.44).round(2).to_numpy()
    observed = (out["month_end"] - first_day).dt.days + 1
    out["observed_days_90d"] = observed.clip(upper=90)
    for offset in (0, 7, 30, 60, 90):
        left = out[["row", "customer_id"]].assign(
            as_of=out["month_end"] - pd.Timedelta(days=offset)
        )
        found = _asof(left, daily, "as_of", "session_date")
        out[f"s{offset}"] = found["sessions"].fillna(0).to_numpy()
        out[f"m{offset}"] = found["minutes"].fillna(0).to_numpy()
        if offset == 0:
            last_session = found["session_date"].to_numpy()
    out["sessions_7d"] = out["s0"] - out["s7"]
    out["sessions_30d"] = out["s0"] - out["s30"]
    out["sessions_prev_30d"] = out["s30"] - out["s60"]
    out["sessions_90d"] = out["s0"] - out["s90"]
    out["sessions_trend_30d"] = out["sessions_30d"] - out["sessions_prev_30d"]
    out["minutes_7d"] = (out["m0"] - out["m7"]).round(6)
    out["minutes_30d"] = (out["m0"] - out["m30"]).round(6)
    out["minutes_90d"] = (out["m0"] - out["m90"]).round(6)
    days_since = (out["month_end"] - pd.to_datetime(last_session)).dt.days
    out["days_since_last_session"] = days_since.clip(upper=90).fillna(90).astype("int64")

    monthly = (
        usage.assign(
            month=usage["session_date"].dt.to_period("M"), log_minutes=np.log1p(usage["minutes"])
        )
        .groupby(["customer_id", "month"])
        .agg(
            sessions=("session_id", "size"),
            minutes=("minutes", "sum"),
            log_minutes=("log_minutes", "sum"),
        )
    )
    for lag in (0, 1, 2):
        key = pd.MultiIndex.from_arrays(
            [out["customer_id"], (out["month_start"] - pd.DateOffset(months=lag)).dt.to_period("M")]
        )
        found = monthly.reindex(key)
        name = "this_month" if lag == 0 else f"month_lag_{lag}"
        out[f"sessions_{name}"] = found["sessions"].fillna(0).to_numpy()
        out[f"minutes_{name}"] = found["minutes"].fillna(0).to_numpy()
        out[f"mean_log_minutes_{name}"] = (found["log_minutes"] / found["sessions"]).to_numpy()

    # Charges and prices.
    charges = events.groupby(["customer_id", "event_date"], sort=True)["amount"].sum()
    charges = charges.groupby(level="customer_id").cumsum().reset_index().sort_values("event_date")
    prices = events[["customer_id", "event_date", "monthly_price"]].sort_values("event_date")
    for offset in (0, 30, 90):
        left = out[["row", "customer_id"]].assign(
            as_of=out["month_end"] - pd.Timedelta(days=offset)
        )
        out[f"c{offset}"] = (
            _asof(left, charges, "as_of", "event_date")["amount"].fillna(0).to_numpy()
        )
    out["amount_charged_30d"] = (out["c0"] - out["c30"]).round(6)
    out["amount_charged_90d"] = (out["c0"] - out["c90"]).round(6)
    signup_price = spine["monthly_price"].to_numpy()
    left = out[["row", "customer_id"]].assign(as_of=out["month_end"])
    price_now = _asof(left, prices, "as_of", "event_date")["monthly_price"].to_numpy()
    out["monthly_price"] = np.where(np.isnan(price_now), signup_price, price_now)
    out["price_change_pct"] = out["monthly_price"] / signup_price - 1
    left = out[["row", "customer_id"]].assign(as_of=out["month_end"] - pd.Timedelta(days=90))
    price_then = _asof(left, prices, "as_of", "event_date")["monthly_price"].to_numpy()
    out["monthly_price_90d_ago"] = np.where(np.isnan(price_then), signup_price, price_then)
    out["price_change_pct_90d"] = out["monthly_price"] / out["monthly_price_90d_ago"] - 1

    # Price changes on or before month_end: how many, how many in 90 days, the latest.
    changes = events.loc[events["event_type"] == "price_change", ["customer_id", "event_date"]]
    pairs = out[["row", "customer_id", "month_end"]].merge(changes, on="customer_id")
    pairs = pairs[pairs["event_date"] <= pairs["month_end"]]
    recent = pairs["event_date"] > pairs["month_end"] - pd.Timedelta(days=90)
    per_row = (
        pairs.assign(recent=recent)
        .groupby("row")
        .agg(
            price_changes_to_date=("event_date", "size"),
            price_changes_90d=("recent", "sum"),
            latest_change=("event_date", "max"),
        )
    )
    out = out.join(per_row, on="row")
    for column in ("price_changes_to_date", "price_changes_90d"):
        out[column] = out[column].fillna(0).astype("int64")
    out["days_since_price_change"] = (out["month_end"] - out["latest_change"]).dt.days

    # Tickets: opened in (month_end - 90, month_end]; wait known at pickup, CSAT at resolution.
    known_before = out["month_end"] + pd.Timedelta(days=1)
    pairs = out[["row", "customer_id", "month_end"]].assign(known_before=known_before)
    pairs = pairs.merge(tickets, on="customer_id")
    pairs = pairs[
        (pairs["opened_date"] <= pairs["month_end"])
        & (pairs["opened_date"] > pairs["month_end"] - pd.Timedelta(days=90))
    ]
    picked_up = pairs["opened_at"] + pd.to_timedelta(pairs["wait_minutes"], unit="min")
    last_30d = pairs["opened_date"] > pairs["month_end"] - pd.Timedelta(days=30)
    wait_known = pairs["wait_minutes"].where(picked_up < pairs["known_before"])
    pairs = pairs.assign(
        last_30d=last_30d,
        wait_known=wait_known,
        wait_known_30d=wait_known.where(last_30d),
        csat_known=pairs["satisfaction"].where(pairs["resolved_at"] < pairs["known_before"]),
    )
    per_row = pairs.groupby("row").agg(
        tickets_30d=("last_30d", "sum"),
        tickets_90d=("ticket_id", "size"),
        escalated_tickets_90d=("escalated", "sum"),
        mean_ticket_wait_minutes_30d=("wait_known_30d", "mean"),
        mean_ticket_wait_minutes_90d=("wait_known", "mean"),
        mean_ticket_satisfaction_90d=("csat_known", "mean"),
    )
    out = out.join(per_row, on="row")
    for column in ("tickets_30d", "tickets_90d", "escalated_tickets_90d"):
        out[column] = out[column].fillna(0).astype("int64")

    # NPS: the latest and the previous answer on or before month_end.
    answers = out[["row", "customer_id", "month_end"]].merge(nps, on="customer_id")
    answers = answers[answers["response_date"] <= answers["month_end"]]
    answers = answers.sort_values(
        ["row", "response_date", "response_id"], ascending=[True, False, False]
    )
    answers["rank"] = answers.groupby("row").cumcount()
    for rank, name in ((0, "latest_nps_score"), (1, "previous_nps_score")):
        chosen = answers[answers["rank"] == rank].set_index("row")["score"].rename(name)
        out = out.join(chosen, on="row")
    out["nps_trend"] = out["latest_nps_score"] - out["previous_nps_score"]
    latest_date = answers[answers["rank"] == 0].set_index("row")["response_date"]
    out["days_since_latest_nps"] = (out["month_end"] - out["row"].map(latest_date)).dt.days

    out["customer_month_id"] = (
        out["customer_id"] * 1_000_000
        + out["month_start"].dt.year * 100
        + out["month_start"].dt.month
    )
    out["churned_next_month"] = spine["churned_next_month"].to_numpy()
    return out.set_index("customer_month_id").sort_index()


def read_raw(path: Path) -> dict[str, pd.DataFrame]:
    tables = (
        "customers",
        "subscription_events",
        "usage_events",
        "support_tickets",
        "nps_responses",
    )
    with duckdb.connect(str(path), read_only=True) as con:
        return {name: con.execute(f"select * from raw.{name}").df() for name in tables}


def write_mart(path: Path, pandas_mart: pd.DataFrame) -> None:
    """Store the pandas mart, with the dbt mart's columns, as a table in schema ``bench``."""
    with duckdb.connect(str(path)) as con:
        columns = con.table("features.customer_month_churn_features").columns
        con.register("pandas_mart", pandas_mart.reset_index()[columns])
        con.execute("create schema if not exists bench")
        con.execute(
            "create or replace table bench.customer_month_features_pandas as from pandas_mart"
        )


def compare(dbt_mart: pd.DataFrame, pandas_mart: pd.DataFrame) -> None:
    """Both implementations must give the same rows and numbers (relative tolerance 1e-9)."""
    if not dbt_mart.index.equals(pandas_mart.index):
        raise AssertionError("dbt and pandas disagree on the customer-month rows")
    columns = [column for column in dbt_mart.columns if column not in MART_KEYS]
    missing = sorted(set(columns) - set(pandas_mart.columns))
    if missing:
        raise AssertionError(f"the pandas mart lacks columns {missing}")
    for column in columns:
        if column in CATEGORICAL_FEATURES:
            if not (dbt_mart[column].astype(str) == pandas_mart[column].astype(str)).all():
                raise AssertionError(f"{column}: dbt and pandas differ")
            continue
        left = pd.to_numeric(dbt_mart[column].astype("Float64"), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        right = pd.to_numeric(pandas_mart[column].astype("Float64"), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        if not np.allclose(left, right, rtol=1e-9, atol=1e-6, equal_nan=True):
            bad = int((~np.isclose(left, right, rtol=1e-9, atol=1e-6, equal_nan=True)).sum())
            raise AssertionError(f"{column}: dbt and pandas differ on {bad} rows")


def run(n_customers: int, repeats: int, min_transactions: int = 10_000_000) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="twinops-bench-features-") as name:
        folder = Path(name)
        warehouse = folder / "warehouse.duckdb"
        print(f"loading a world of {n_customers:,} customers...")
        transactions = build_warehouse(folder, n_customers)
        print(f"  {transactions:,} transactions (usage sessions + subscription events)")
        if transactions < min_transactions:
            raise SystemExit(f"only {transactions:,} transactions: raise --customers")

        # dbt and pandas take turns, so that a machine that speeds up or slows down during the
        # run (a shared VM drifted by 30 % within minutes) moves both alike.
        dbt_walls, churn_seconds, pandas_seconds, pandas_io_seconds = [], [], [], []
        for _ in range(repeats):
            wall, per_model = run_dbt(folder)
            dbt_walls.append(wall)
            churn_seconds.append(sum(per_model[model] for model in CHURN_LINEAGE))
            models = ", ".join(f"{model} {per_model[model]:.2f}" for model in CHURN_LINEAGE)
            print(
                f"  dbt run {wall:.1f} s; churn mart lineage {churn_seconds[-1]:.2f} s ({models})"
            )

            started = time.perf_counter()
            raw = read_raw(warehouse)
            read_seconds = time.perf_counter() - started
            started = time.perf_counter()
            pandas_mart = customer_month_features_pandas(raw)
            pandas_seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            write_mart(warehouse, pandas_mart)
            pandas_io_seconds.append(read_seconds + time.perf_counter() - started)
            print(
                f"  pandas churn mart {pandas_seconds[-1]:.2f} s, "
                f"+ {pandas_io_seconds[-1]:.2f} s reading the raw tables and storing the mart"
            )

        with duckdb.connect(str(warehouse), read_only=True) as con:
            dbt_mart = con.execute("select * from features.customer_month_churn_features").df()
        compare(dbt_mart.set_index("customer_month_id").sort_index(), pandas_mart)
        print(f"  same numbers on {len(dbt_mart):,} customer-months")

    best_dbt, best_pandas = min(churn_seconds), min(pandas_seconds)
    best_end_to_end = min(c + io for c, io in zip(pandas_seconds, pandas_io_seconds, strict=True))
    return {
        "features.transactions.rows": float(transactions),
        "features.customer_month.dbt_seconds": best_dbt,
        "features.customer_month.pandas_seconds": best_pandas,
        "features.customer_month.pandas_io_seconds": min(pandas_io_seconds),
        "features.customer_month.speedup_vs_pandas": best_pandas / best_dbt,
        "features.customer_month.speedup_vs_pandas_end_to_end": best_end_to_end / best_dbt,
        "features.all_marts_10m.seconds": min(dbt_walls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=60_000, help="World size (default 60k).")
    parser.add_argument("--repeats", type=int, default=3, help="Best of this many runs.")
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="Print the figures only, for development; a smaller world is then allowed. "
        "The recorded figures are defined on a world of at least 10M transactions.",
    )
    args = parser.parse_args()
    figures = run(
        args.customers, args.repeats, min_transactions=0 if args.no_record else 10_000_000
    )
    print(machine_description())
    for name, value in figures.items():
        print(f"  {name}: {value:,.2f}")
    if not args.no_record:
        record(figures)


if __name__ == "__main__":
    main()
