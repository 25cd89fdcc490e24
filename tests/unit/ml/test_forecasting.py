"""Forecasting: the chosen model beats seasonal naive, intervals cover, bad input fails loudly."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from ml.forecasting import (
    ForecastConfig,
    demand_series_from_orders,
    forecast_series,
    make_forecaster,
    quiet_sktime,
)
from ml.tracking import CHALLENGER, CHAMPION, MlflowSettings
from ml.tracking_forecast import MODEL_NAMES, log_forecast_training
from tests.unit.ml.forecast_helpers import chosen, poisson_truth

# Short horizons keep the suite fast; the daily defaults (30..365 days) run in bench.models.
FAST = ForecastConfig(horizons=(7, 28), models=("seasonal_naive", "ets", "arima"), cv_folds=3)


def seasonal_daily_demand(n_days: int = 280, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two daily series with a weekly profile, a slow trend and Poisson noise, plus their truth."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    weekly = np.array([0.9, 0.95, 1.0, 1.0, 1.1, 1.3, 0.75])[dates.dayofweek]
    series, truth = [], []
    for series_id, level in (("P01|north", 40.0), ("P02|south", 15.0)):
        expected = level * weekly * (1 + 0.0005 * np.arange(n_days))
        orders = rng.poisson(expected).astype(float)
        series.append(pd.DataFrame({"series_id": series_id, "date": dates, "value": orders}))
        truth.append(poisson_truth(series_id, dates, expected))
    return pd.concat(series, ignore_index=True), pd.concat(truth, ignore_index=True)


@pytest.fixture(scope="module")
def daily_demand() -> tuple[pd.DataFrame, pd.DataFrame]:
    return seasonal_daily_demand()


@pytest.fixture(scope="module")
def fast_result(daily_demand):
    series, truth = daily_demand
    return forecast_series(series, FAST, truth)


def test_chosen_model_beats_seasonal_naive_at_every_horizon(fast_result):
    for horizon in FAST.scored_horizons:
        assert chosen(fast_result, horizon)["mase_vs_snaive"] < 1.0


def test_95_percent_intervals_cover_between_85_and_100_percent(fast_result):
    for horizon in FAST.scored_horizons:
        coverage95 = chosen(fast_result, horizon)["coverage95"]
        coverage80 = chosen(fast_result, horizon)["coverage80"]
        assert 0.85 <= coverage95 <= 1.0
        assert coverage80 <= coverage95


def test_error_is_near_the_noise_floor_when_truth_is_given(fast_result):
    # Pure Poisson noise around a smooth mean: a good model's RMSE is close to the noise sd.
    ratio = chosen(fast_result, 7)["noise_floor_ratio"]
    assert 0.8 < ratio < 1.3


def test_forecast_covers_the_longest_horizon_with_ordered_bounds(fast_result):
    forecasts = fast_result.forecasts
    assert set(forecasts["series_id"]) == {"P01|north", "P02|south"}
    assert (forecasts.groupby("series_id").size() == 28).all()
    assert (forecasts["lower_95"] <= forecasts["lower_80"] + 1e-9).all()
    assert (forecasts["lower_80"] <= forecasts["mean"] + 1e-9).all()
    assert (forecasts["mean"] <= forecasts["upper_80"] + 1e-9).all()
    assert (forecasts["upper_80"] <= forecasts["upper_95"] + 1e-9).all()
    first_future = forecasts["date"].min()
    assert first_future == pd.Timestamp("2024-01-01") + pd.Timedelta(days=280)


def test_flat_metrics_have_stable_names(fast_result):
    metrics = fast_result.flat_metrics()
    assert {"mase_vs_snaive_h7d", "coverage95_h28d", "ets_mase_vs_snaive_h28d"} <= set(metrics)
    assert {"mase_vs_snaive_max", "coverage95_min", "n_series"} <= set(metrics)


def test_same_input_and_seed_give_identical_results_with_lightgbm(daily_demand):
    series, _ = daily_demand
    one = series[series["series_id"] == "P01|north"]
    config = ForecastConfig(horizons=(7, 14), models=("seasonal_naive", "lightgbm"), cv_folds=2)
    first = forecast_series(one, config)
    second = forecast_series(one, config)
    pd.testing.assert_frame_equal(first.metrics, second.metrics)
    pd.testing.assert_frame_equal(first.forecasts, second.forecasts)


def test_lightgbm_intervals_widen_with_the_step_even_beyond_the_conformal_refits(daily_demand):
    from sktime.forecasting.base import ForecastingHorizon

    series, _ = daily_demand
    y = series[series["series_id"] == "P01|north"].set_index("date")["value"].asfreq("D")
    # 280 days: the conformal refits start at day 140, so steps past 140 have no residuals.
    forecaster = make_forecaster("lightgbm", ForecastConfig(), len(y))
    fh = ForecastingHorizon(np.arange(1, 161), is_relative=True)
    with quiet_sktime():
        np.random.seed(0)
        forecaster.fit(y, fh=fh)
        bounds = forecaster.predict_interval(fh, coverage=[0.8, 0.95])
    width95 = (bounds.xs(0.95, axis=1, level=1).diff(axis=1).iloc[:, 1]).to_numpy()
    width80 = (bounds.xs(0.8, axis=1, level=1).diff(axis=1).iloc[:, 1]).to_numpy()
    assert (width95 > 0).all()
    assert (np.diff(width95) >= -1e-9).all()
    assert (width80 < width95).all()


def test_two_processes_give_the_same_result_as_one(daily_demand):
    series, _ = daily_demand
    config = ForecastConfig(horizons=(7,), models=("seasonal_naive", "ets"), cv_folds=2)
    serial = forecast_series(series, config)
    parallel = forecast_series(series, config.model_copy(update={"n_jobs": 2}))
    pd.testing.assert_frame_equal(serial.metrics, parallel.metrics)


def test_monthly_series_forecast_months_ahead():
    rng = np.random.default_rng(2)
    months = pd.date_range("2022-01-01", periods=36, freq="MS")
    value = 1000 + 20 * np.arange(36) + 80 * np.sin(2 * np.pi * months.month / 12)
    series = pd.DataFrame(
        {"series_id": "revenue", "date": months, "value": value + rng.normal(0, 15, 36)}
    )
    config = ForecastConfig(frequency="MS", horizons=(1, 3, 6), models=("seasonal_naive", "ets"))
    result = forecast_series(series, config)
    assert result.forecasts["date"].iloc[0] == pd.Timestamp("2025-01-01")
    assert len(result.forecasts) == 6
    assert result.flat_metrics()["mase_vs_snaive_max"] < 1.0


def test_two_years_of_months_are_scored_12_months_ahead_without_seasons():
    rng = np.random.default_rng(4)
    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    value = 1000 + 25 * np.arange(24) + rng.normal(0, 15, 24)
    series = pd.DataFrame({"series_id": "revenue", "date": months, "value": value})
    config = ForecastConfig(frequency="MS", models=("seasonal_naive", "ets", "arima"))
    result = forecast_series(series, config)
    metrics = result.flat_metrics()
    assert config.scored_horizons == (1, 3, 6, 12)
    assert np.isfinite(metrics["mase_vs_snaive_h12m"])
    # Windows of one or two seasons cannot fit a season: a trend model beats last year's values.
    assert metrics["mase_vs_snaive_h12m"] < 1.0
    assert len(result.forecasts) == 12
    assert result.forecasts["date"].iloc[-1] == pd.Timestamp("2026-12-01")


def test_demand_series_key_is_product_and_region():
    orders = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
            "product_id": ["P01", "P01"],
            "region": ["north", "south"],
            "orders": [3, 4],
        }
    )
    assert demand_series_from_orders(orders)["series_id"].tolist() == ["P01|north", "P01|south"]


def test_too_short_a_series_is_rejected_with_the_length_it_needs(daily_demand):
    series, _ = daily_demand
    short = series[series["date"] < "2024-03-01"]
    with pytest.raises(ValueError, match=r"too short: 60 observations, need at least 421"):
        forecast_series(short, ForecastConfig())


def test_series_with_a_missing_day_is_rejected(daily_demand):
    series, _ = daily_demand
    with pytest.raises(ValueError, match="gap-free"):
        forecast_series(series[series["date"] != "2024-02-10"], FAST)


def test_unsorted_or_repeated_horizons_are_rejected():
    with pytest.raises(ValueError, match="increasing and unique"):
        ForecastConfig(horizons=(30, 7))


def test_run_is_logged_registered_and_loadable(tmp_path, fast_result):
    settings = MlflowSettings.local(tmp_path)
    first = log_forecast_training(settings, fast_result, "demand", {"world_seed": "5"})
    second = log_forecast_training(settings, fast_result, "demand", {"world_seed": "5"})
    assert set(first.aliases) == {CHAMPION, CHALLENGER}
    assert second.aliases == (CHALLENGER,)
    client = mlflow.MlflowClient(settings.tracking_uri)
    run = client.get_run(first.run_id)
    assert {"mase_vs_snaive_h7d", "coverage95_h28d", "noise_floor_ratio_h7d"} <= set(
        run.data.metrics
    )
    artifacts = {a.path for a in client.list_artifacts(first.run_id, "reports")}
    assert {"reports/model_card.md", "reports/fan_chart_P01_north.png"} <= artifacts
    settings.activate()
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAMES['demand']}@{CHAMPION}")
    predicted = model.predict(pd.DataFrame({"series_id": ["P02|south"], "horizon": [5]}))
    assert len(predicted) == 5
    assert (predicted["lower_95"] <= predicted["upper_95"]).all()
