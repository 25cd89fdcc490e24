"""Churn model: quality against the world's truth, and training time on 1M customer-months.

Run with ``uv run python -m bench.churn``. Two worlds are loaded and featurised with dbt (not
timed):

- the default world (``WorldConfig()``): the model is trained with its default config and
  ``churn.oracle_auc_gap`` is the ROC AUC of the true churn probabilities minus the model's,
  on the same holdout (target: at most 0.02);
- a world large enough for at least 1M labelled customer-months: training on 1M rows is timed
  with one LightGBM thread and with two, in the same run. ``churn.train_1m.seconds`` is the
  two-thread time and ``churn.train_1m.speedup_vs_1core`` the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from bench.features import build_warehouse, run_dbt
from bench.results import record
from ml.churn import LABEL, ChurnTrainingConfig, lightgbm_pipeline, train_churn_model
from orchestration.warehouse_reads import churn_features
from simulation.world import WorldConfig, generate_world

TRAIN_ROWS = 1_000_000


def featurised(folder: Path, n_customers: int) -> duckdb.DuckDBPyConnection:
    build_warehouse(folder, n_customers)
    run_dbt(folder)
    return duckdb.connect(str(folder / "warehouse.duckdb"))


def oracle_gap() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-churn-") as tmp:
        con = featurised(Path(tmp), WorldConfig().n_customers)
        features = churn_features(con)  # as the churn_model asset reads them
        con.close()
    truth = generate_world(WorldConfig()).truth["customer_churn"]
    result = train_churn_model(features, ChurnTrainingConfig(), truth)
    metrics = result.metrics()
    print(
        f"  default world: ROC AUC {metrics['roc_auc']:.4f}, oracle {metrics['oracle_roc_auc']:.4f}, "
        f"gap {metrics['oracle_auc_gap']:.4f}, baseline {metrics['baseline_roc_auc']:.4f}"
    )
    return {
        "churn.oracle_auc_gap": metrics["oracle_auc_gap"],
        "churn.roc_auc": metrics["roc_auc"],
        "churn.baseline_roc_auc": metrics["baseline_roc_auc"],
    }


def training_time(n_customers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-churn-1m-") as tmp:
        con = featurised(Path(tmp), n_customers)
        rows = con.execute(
            f"select * from features.customer_month_churn_features where {LABEL} is not null "
            f"order by month_start, customer_id limit {TRAIN_ROWS}"
        ).df()
        con.close()
    if len(rows) < TRAIN_ROWS:
        raise SystemExit(f"only {len(rows):,} labelled customer-months; raise --customers")
    label = rows[LABEL].astype(int)
    seconds = {}
    for threads in (1, 2):
        model = lightgbm_pipeline(ChurnTrainingConfig(n_jobs=threads))
        started = time.perf_counter()
        model.fit(rows, label)
        seconds[threads] = time.perf_counter() - started
        print(f"  {len(rows):,} customer-months, {threads} thread(s): {seconds[threads]:.1f} s")
    return {
        "churn.train_1m.seconds": seconds[2],
        "churn.train_1m.one_core_seconds": seconds[1],
        "churn.train_1m.speedup_vs_1core": seconds[1] / seconds[2],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--customers", type=int, default=90_000, help="customers of the 1M-row world"
    )
    args = parser.parse_args()
    figures = oracle_gap() | training_time(args.customers)
    record(figures)
    for name, value in figures.items():
        print(f"{name:40s} {value:10.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
