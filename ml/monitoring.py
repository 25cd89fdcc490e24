"""Monitoring of the churn model: predictions against outcomes, and drift on every daily partition.

* Predictions: every scoring run's probabilities, with the model version and a timestamp
  (`results.churn_predictions`). When labels arrive, `prediction_outcomes` joins them: per model
  version and month, the realised ROC AUC, Brier score and calibration
  (`results.prediction_outcomes`).
* Daily drift: each new day of billing (the charges of that day, with the customer's segment and
  plan) is compared with a reference window by Evidently, one `ValueDrift` per column with the
  method we name. Our rule (`DailyDriftRule`) decides: a column drifts when its p-value is below
  its threshold, a day drifts when at least `min_drifted_columns` columns drift, and the alarm
  fires when `consecutive_days` days in a row drift. Prices are a model feature and the leading
  cause of churn after a price change, and they show on the first billing day, a month before
  any churn label can.
* Prediction drift, target drift and realised performance use the same machinery.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ingestion.warehouse import replace_table
from ml.churn import LABEL, predict_churn
from ml.compare import roc_auc
from ml.drift import DriftResult, DriftRule, detect_drift

PREDICTIONS_TABLE = "results.churn_predictions"
OUTCOMES_TABLE = "results.prediction_outcomes"
PROBABILITY = "predicted_churn_probability"
BILLING_NUMERIC: tuple[str, ...] = ("monthly_price",)
BILLING_CATEGORICAL: tuple[str, ...] = ("segment", "plan")


# --- predictions and outcomes --------------------------------------------------------------


def score_customers(
    model: object,
    features: pd.DataFrame,
    model_name: str,
    model_version: str,
    scored_at: pd.Timestamp,
    run_id: str,
) -> pd.DataFrame:
    """One prediction per customer-month row of `features`, tagged with who scored it."""
    if features.empty:
        raise ValueError("nothing to score: the feature frame is empty")
    return pd.DataFrame(
        {
            "customer_id": features["customer_id"].to_numpy(),
            "month_start": pd.to_datetime(features["month_start"]).to_numpy(),
            PROBABILITY: predict_churn(model, features),
            "model_name": model_name,
            "model_version": str(model_version),
            "scored_at": scored_at,
            "run_id": run_id,
        }
    )


def write_predictions(con: duckdb.DuckDBPyConnection, predictions: pd.DataFrame) -> int:
    """Append predictions not already stored for the same customer, month and model version.

    One transaction; returns the number of rows added (re-running a scoring run adds none).
    """
    con.execute("create schema if not exists results")
    con.begin()
    try:
        con.register("new_predictions", predictions)
        con.execute(
            f"create table if not exists {PREDICTIONS_TABLE} as "
            "select * from new_predictions limit 0"
        )
        before = con.execute(f"select count(*) from {PREDICTIONS_TABLE}").fetchall()[0][0]
        con.execute(
            f"""
            insert into {PREDICTIONS_TABLE} by name
            select n.* from new_predictions n
            anti join {PREDICTIONS_TABLE} p
              on p.customer_id = n.customer_id and p.month_start = n.month_start
             and p.model_name = n.model_name and p.model_version = n.model_version
            """
        )
        after = con.execute(f"select count(*) from {PREDICTIONS_TABLE}").fetchall()[0][0]
        con.unregister("new_predictions")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return int(after - before)


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, n_bins: int = 10) -> float:
    """Row-weighted mean |observed rate - mean probability| over equal-width probability bins."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(probability, dtype=float)
    if len(y) == 0:
        return float("nan")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    error = 0.0
    for b in np.unique(bins):
        rows = bins == b
        error += rows.sum() * abs(y[rows].mean() - p[rows].mean())
    return float(error / len(y))


def prediction_outcomes(predictions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Realised quality per model version and month, on the rows whose label has arrived.

    `labels` has customer_id, month_start and the label column (NaN while unknown).
    """
    known = labels.loc[labels[LABEL].notna(), ["customer_id", "month_start", LABEL]]
    joined = predictions.merge(known, on=["customer_id", "month_start"], how="inner")
    rows = []
    for (name, version, month), group in joined.groupby(
        ["model_name", "model_version", "month_start"], sort=True
    ):
        y = group[LABEL].to_numpy(dtype=float)
        p = group[PROBABILITY].to_numpy(dtype=float)
        rows.append(
            {
                "model_name": name,
                "model_version": version,
                "month_start": month,
                "rows": len(group),
                "churned": int(y.sum()),
                "realised_roc_auc": roc_auc(y.astype(bool), p),
                "brier": float(np.mean((p - y) ** 2)),
                "mean_predicted": float(p.mean()),
                "observed_rate": float(y.mean()),
                "calibration_error": expected_calibration_error(y, p),
            }
        )
    columns = [
        "model_name",
        "model_version",
        "month_start",
        "rows",
        "churned",
        "realised_roc_auc",
        "brier",
        "mean_predicted",
        "observed_rate",
        "calibration_error",
    ]
    return pd.DataFrame(rows, columns=columns)


def refresh_prediction_outcomes(
    con: duckdb.DuckDBPyConnection, labels: pd.DataFrame, evaluated_at: pd.Timestamp
) -> pd.DataFrame:
    """Rebuild `results.prediction_outcomes` from every stored prediction and known label."""
    predictions = con.execute(f"select * from {PREDICTIONS_TABLE}").df()
    outcomes = prediction_outcomes(predictions, labels).assign(evaluated_at=evaluated_at)
    schema, table = OUTCOMES_TABLE.split(".")
    replace_table(con, schema, table, outcomes)
    return outcomes


def latest_realised_performance(outcomes: pd.DataFrame, model_version: str) -> pd.Series | None:
    """The newest labelled month's figures for `model_version`, or None if none is labelled."""
    mine = outcomes[outcomes["model_version"] == str(model_version)]
    return None if mine.empty else mine.sort_values("month_start").iloc[-1]


# --- the daily drift rule ------------------------------------------------------------------


class DailyDriftRule(BaseModel):
    """When the daily billing stream has drifted. Explicit and calibrated (docs/monitoring.md)."""

    model_config = ConfigDict(frozen=True)

    numeric_method: str = Field(default="ks", description="Evidently method for numeric columns.")
    numeric_p_value: float = Field(
        default=1e-3,
        gt=0,
        lt=1,
        description="A numeric column drifts when its p-value is below this.",
    )
    categorical_method: str = Field(
        default="chisquare", description="Evidently method for categorical columns."
    )
    categorical_p_value: float = Field(
        default=1e-3, gt=0, lt=1, description="A categorical column drifts below this p-value."
    )
    min_drifted_columns: int = Field(
        default=1, ge=1, description="Drifted columns at which a day counts as drifted."
    )
    consecutive_days: int = Field(
        default=3, ge=1, description="Drifted days in a row at which the alarm fires."
    )
    reference_days: int = Field(
        default=56, ge=7, description="Days before the monitored period that form the reference."
    )

    def column_rule(self) -> DriftRule:
        """The per-column part, in ml.drift's terms (sampling off: a day is small)."""
        return DriftRule(
            numeric_method=self.numeric_method,
            numeric_threshold=self.numeric_p_value,
            categorical_method=self.categorical_method,
            categorical_threshold=self.categorical_p_value,
            share_threshold=1.0,
            max_rows=1_000_000,
        )


def billing_stream(subscription_events: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Every charge with its day, the monthly price charged and the customer's segment and plan."""
    charges = subscription_events[subscription_events["event_type"] == "charge"]
    frame = charges[["customer_id", "event_date", "monthly_price"]].merge(
        customers[["customer_id", "segment", "plan"]], on="customer_id", how="left"
    )
    frame["day"] = pd.to_datetime(frame["event_date"]).dt.normalize()
    return frame.drop(columns="event_date").sort_values(["day", "customer_id"], ignore_index=True)


def reference_window(stream: pd.DataFrame, first_monitored_day: dt.date, days: int) -> pd.DataFrame:
    """The `days` days of the stream just before `first_monitored_day`."""
    end = pd.Timestamp(first_monitored_day)
    start = end - pd.Timedelta(days=days)
    return stream[(stream["day"] >= start) & (stream["day"] < end)]


def score_day(reference: pd.DataFrame, current: pd.DataFrame, rule: DailyDriftRule) -> DriftResult:
    """Evidently's per-column scores for one day against the reference, judged by `rule`."""
    return detect_drift(
        reference, current, list(BILLING_NUMERIC), list(BILLING_CATEGORICAL), rule.column_rule()
    )


def score_days(
    stream: pd.DataFrame, days: list[pd.Timestamp], rule: DailyDriftRule
) -> pd.DataFrame:
    """One row per monitored day and column: the p-value and whether the column drifted.

    The reference is the `reference_days` before the first monitored day, fixed for the period.
    """
    if not days:
        return pd.DataFrame(
            columns=["day", "column_name", "method", "threshold", "score", "drifted", "rows"]
        )
    reference = reference_window(stream, min(days).date(), rule.reference_days)
    parts = []
    for day in sorted(days):
        current = stream[stream["day"] == day]
        if current.empty:
            continue  # no charges that day (e.g. before the business started): nothing to judge
        result = score_day(reference, current, rule)
        parts.append(result.columns.assign(day=day, rows=len(current)))
    return pd.concat(parts, ignore_index=True) if parts else score_days(stream, [], rule)


def judge_days(scores: pd.DataFrame, rule: DailyDriftRule) -> pd.DataFrame:
    """Per day: columns drifted, whether the day drifted, the run length and the alarm.

    Thresholds are applied here, from the stored p-values, so the same scores can be judged
    by several candidate rules (which is how the thresholds were calibrated).
    """
    thresholds = np.where(
        scores["column_name"].isin(BILLING_NUMERIC), rule.numeric_p_value, rule.categorical_p_value
    )
    drifted = scores["score"].to_numpy(dtype=float) < thresholds
    per_day = (
        scores.assign(drifted=drifted)
        .groupby("day", sort=True)
        .agg(
            drifted_columns=("drifted", "sum"), min_p_value=("score", "min"), rows=("rows", "first")
        )
        .reset_index()
    )
    per_day["day_drifted"] = per_day["drifted_columns"] >= rule.min_drifted_columns
    run = 0
    runs = []
    for flag in per_day["day_drifted"]:
        run = run + 1 if flag else 0
        runs.append(run)
    per_day["drift_run_days"] = runs
    per_day["alarm"] = per_day["drift_run_days"] >= rule.consecutive_days
    return per_day


def first_alarm(per_day: pd.DataFrame) -> pd.Timestamp | None:
    """The first day on which the alarm fired, or None."""
    alarms = per_day.loc[per_day["alarm"], "day"]
    return None if alarms.empty else pd.Timestamp(alarms.iloc[0])


# --- prediction drift, target drift --------------------------------------------------------


@dataclass(frozen=True)
class ModelDriftRule:
    """Thresholds for drift of the model's output and of the label (explicit methods).

    Predictions use a distance, not a p-value: with tens of thousands of customers a K-S test
    flags the slow ageing of the customer base (p ~ 1e-21 on a world without drift), while a
    normed Wasserstein distance of 0.1 means the same as for features.
    """

    prediction_method: str = "wasserstein"
    prediction_threshold: float = 0.1
    target_method: str = "chisquare"
    target_p_value: float = 1e-3


def prediction_drift(
    reference_probability: np.ndarray, current_probability: np.ndarray, rule: ModelDriftRule
) -> DriftResult:
    """Has the distribution of predicted churn probabilities moved?"""
    return detect_drift(
        pd.DataFrame({PROBABILITY: reference_probability}),
        pd.DataFrame({PROBABILITY: current_probability}),
        [PROBABILITY],
        [],
        DriftRule(
            numeric_method=rule.prediction_method,
            numeric_threshold=rule.prediction_threshold,
            share_threshold=1.0,
            max_rows=1_000_000,
        ),
    )


def target_drift(
    reference_labels: pd.Series, current_labels: pd.Series, rule: ModelDriftRule
) -> DriftResult:
    """Has the churn rate moved? (labels known only a month later)."""
    return detect_drift(
        pd.DataFrame({LABEL: reference_labels.astype(bool).to_numpy()}),
        pd.DataFrame({LABEL: current_labels.astype(bool).to_numpy()}),
        [],
        [LABEL],
        DriftRule(
            categorical_method=rule.target_method,
            categorical_threshold=rule.target_p_value,
            share_threshold=1.0,
            max_rows=1_000_000,
        ),
    )
