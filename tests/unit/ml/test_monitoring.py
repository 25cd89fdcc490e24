"""Daily drift rule on synthetic worlds, predictions against outcomes, prediction/target drift."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.churn import LABEL
from ml.monitoring import (
    PROBABILITY,
    DailyDriftRule,
    ModelDriftRule,
    billing_stream,
    first_alarm,
    judge_days,
    prediction_drift,
    prediction_outcomes,
    score_days,
    target_drift,
    write_predictions,
)
from simulation.world import WorldConfig, generate_world
from simulation.world.config import DriftEvent

ONSET = dt.date(2025, 6, 1)  # a month start: the generator bills the onset month at the new price
MONITORED = list(pd.date_range(pd.Timestamp(ONSET) - pd.Timedelta(days=4), periods=11))


def first_alarm_in_world(seed: int, drifted: bool) -> pd.Timestamp | None:
    drift = (DriftEvent(kind="price_change", start=ONSET, magnitude=0.15),) if drifted else ()
    world = generate_world(WorldConfig.tiny(seed=seed, n_customers=3000, drift=drift))
    stream = billing_stream(world.tables["subscription_events"], world.tables["customers"])
    rule = DailyDriftRule()
    return first_alarm(judge_days(score_days(stream, MONITORED, rule), rule))


def test_injected_price_change_alarms_within_seven_days_of_onset():
    alarm = first_alarm_in_world(seed=11, drifted=True)
    assert alarm is not None
    assert 0 <= (alarm - pd.Timestamp(ONSET)).days < 7


def test_world_without_drift_does_not_alarm():
    assert first_alarm_in_world(seed=12, drifted=False) is None


def scores_for(p_values: list[float]) -> pd.DataFrame:
    days = pd.date_range("2025-01-01", periods=len(p_values))
    return pd.DataFrame(
        {"day": days, "column_name": "monthly_price", "score": p_values, "rows": 40}
    )


def test_alarm_needs_the_rules_consecutive_drifted_days():
    rule = DailyDriftRule(numeric_p_value=1e-3, consecutive_days=2)
    one_noisy_day = judge_days(scores_for([0.5, 1e-6, 0.4, 0.3]), rule)
    assert first_alarm(one_noisy_day) is None
    two_in_a_row = judge_days(scores_for([0.5, 1e-6, 1e-5, 0.3]), rule)
    assert first_alarm(two_in_a_row) == pd.Timestamp("2025-01-03")
    # A p-value equal to the threshold is not below it.
    assert first_alarm(judge_days(scores_for([1e-3, 1e-3]), rule)) is None


def predictions_frame(version: str, probability: np.ndarray, months: int = 2) -> pd.DataFrame:
    n = len(probability) // months
    return pd.DataFrame(
        {
            "customer_id": np.tile(np.arange(n), months),
            "month_start": np.repeat(pd.date_range("2025-01-01", periods=months, freq="MS"), n),
            PROBABILITY: probability,
            "model_name": "churn_lgbm",
            "model_version": version,
            "scored_at": pd.Timestamp("2025-03-01"),
            "run_id": "r1",
        }
    )


def test_predictions_are_written_once_per_customer_month_and_version(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    frame = predictions_frame("1", np.linspace(0, 1, 20))
    assert write_predictions(con, frame) == 20
    assert write_predictions(con, frame) == 0  # a re-run adds nothing
    assert write_predictions(con, frame.assign(model_version="2")) == 20
    assert con.execute("select count(*) from results.churn_predictions").fetchone()[0] == 40
    con.close()


def test_outcomes_give_realised_auc_brier_and_calibration_per_version_and_month():
    rng = np.random.default_rng(0)
    truth = rng.random(4000)
    churned = rng.random(4000) < truth
    predictions = pd.concat(
        [
            predictions_frame("1", truth),  # the true probabilities: calibrated and sharp
            predictions_frame("2", rng.random(4000)),  # noise
        ]
    )
    labels = predictions_frame("1", truth)[["customer_id", "month_start"]].assign(
        **{LABEL: churned.astype(float)}
    )
    labels.loc[labels["month_start"] == labels["month_start"].max(), LABEL] = np.nan  # not yet
    outcomes = prediction_outcomes(predictions, labels)
    assert list(outcomes["model_version"]) == ["1", "2"]  # only the labelled month
    good, noise = outcomes.iloc[0], outcomes.iloc[1]
    assert good["realised_roc_auc"] > 0.8 > 0.6 > noise["realised_roc_auc"]
    assert good["brier"] < noise["brier"]
    assert good["calibration_error"] < 0.05
    assert good["rows"] == 2000


def test_shifted_predictions_and_churn_rate_are_flagged_and_stable_ones_are_not():
    rng = np.random.default_rng(1)
    rule = ModelDriftRule()
    reference = rng.beta(2, 20, 3000)
    assert not prediction_drift(reference, rng.beta(2, 20, 800), rule).dataset_drifted
    assert prediction_drift(reference, rng.beta(3, 20, 800), rule).dataset_drifted
    labels = pd.Series(rng.random(3000) < 0.05)
    assert not target_drift(labels, pd.Series(rng.random(800) < 0.05), rule).dataset_drifted
    assert target_drift(labels, pd.Series(rng.random(800) < 0.12), rule).dataset_drifted


@pytest.mark.parametrize("column", ["monthly_price", "segment", "plan"])
def test_billing_stream_has_every_monitored_column(column):
    world = generate_world(WorldConfig.tiny(seed=3, n_customers=300))
    stream = billing_stream(world.tables["subscription_events"], world.tables["customers"])
    assert stream[column].notna().all()
    assert (stream["day"] == stream["day"].dt.normalize()).all()
