"""Forecasting with known-in-advance promotions and prices: effects, plans, price what-ifs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.forecasting import (
    ForecastConfig,
    demand_price_elasticities,
    demand_series_from_orders,
    estimate_promo_price_effects,
    forecast_series,
    forecast_under_price_change,
    pooled_price_elasticities,
)
from tests.unit.ml.forecast_helpers import (
    ELASTICITY,
    LIFT,
    chosen,
    promoted_daily_demand,
)

FAST = ForecastConfig(horizons=(7, 28), models=("seasonal_naive", "ets"), cv_folds=3)


@pytest.fixture(scope="module")
def promoted() -> tuple[pd.DataFrame, pd.DataFrame]:
    return promoted_daily_demand()


@pytest.fixture(scope="module")
def with_covariates(promoted):
    series, truth = promoted
    return forecast_series(series, FAST, truth)


def test_poisson_regression_recovers_the_promo_lift_and_price_elasticity(promoted):
    series, _ = promoted
    one = series[series["series_id"] == "P01|north"]
    effects = estimate_promo_price_effects(
        one["value"].to_numpy(), one["promo"].to_numpy(), one["unit_price"].to_numpy(), period=7
    )
    assert effects.promo_lift == pytest.approx(LIFT, abs=0.1)
    assert effects.price_elasticity == pytest.approx(
        ELASTICITY, abs=3 * effects.price_elasticity_se
    )
    assert effects.price_elasticity_se < 0.5
    assert effects.promo_price_ratio == pytest.approx(0.8, abs=1e-6)


def test_known_promotions_bring_the_error_close_to_the_noise_floor(promoted, with_covariates):
    series, truth = promoted
    univariate = forecast_series(
        series.drop(columns=["promo", "unit_price"]), FAST.model_copy(), truth
    )
    adjusted = chosen(with_covariates, 7)["noise_floor_ratio"]
    assert adjusted < 1.2
    assert adjusted < 0.85 * chosen(univariate, 7)["noise_floor_ratio"]


def test_intervals_still_cover_with_covariates(with_covariates):
    for horizon in FAST.scored_horizons:
        assert 0.85 <= chosen(with_covariates, horizon)["coverage95"] <= 1.0


def test_a_price_rise_scales_the_forecast_by_the_price_factor_to_the_elasticity(with_covariates):
    elasticities = demand_price_elasticities(with_covariates).set_index("series_id")
    series_id = with_covariates.selection.query("chosen_model != 'seasonal_naive'")[
        "series_id"
    ].iloc[0]
    what_if = forecast_under_price_change(with_covariates, series_id, 1.1, horizon=14)
    assert len(what_if) == 14
    expected_ratio = 1.1 ** elasticities.loc[series_id, "price_elasticity"]
    np.testing.assert_allclose(what_if["mean"] / what_if["baseline_mean"], expected_ratio)
    assert (what_if["lower_95"] <= what_if["mean"]).all()
    assert (what_if["mean"] <= what_if["upper_95"]).all()


def test_a_price_path_changes_only_the_days_it_raises(with_covariates):
    series_id = with_covariates.selection["series_id"].iloc[0]
    factor = np.r_[np.ones(7), np.full(7, 1.2)]
    what_if = forecast_under_price_change(with_covariates, series_id, factor, horizon=14)
    np.testing.assert_allclose(what_if["mean"][:7], what_if["baseline_mean"][:7])
    assert (what_if["mean"][7:] < what_if["baseline_mean"][7:]).all()
    # The same what-if from the fitted forecasters alone (e.g. a registered champion's).
    by_date = pd.Series(factor, index=what_if["date"])
    from_models = forecast_under_price_change(
        with_covariates.fitted_models, series_id, by_date, horizon=14
    )
    pd.testing.assert_frame_equal(from_models, what_if)


def test_a_planned_promotion_lifts_the_final_forecast_on_its_days(promoted):
    series, _ = promoted
    one = series[series["series_id"] == "P01|north"]
    config = FAST.model_copy(update={"models": ("seasonal_naive", "ets"), "cv_folds": 1})
    future_dates = pd.date_range(one["date"].max(), periods=29, freq="D")[1:]
    last_price = float(one.loc[one["promo"] == 0, "unit_price"].iloc[-1])
    promo = (np.arange(28) < 7).astype(float)
    plan = pd.DataFrame(
        {
            "series_id": "P01|north",
            "date": future_dates,
            "promo": promo,
            "unit_price": last_price * np.where(promo > 0, 0.8, 1.0),
        }
    )
    planned = forecast_series(one, config, future_covariates=plan).forecasts
    assert planned["model"].iloc[0] == "ets"
    promo_week, next_week = planned["mean"].iloc[:7].sum(), planned["mean"].iloc[7:14].sum()
    assert promo_week > 1.3 * next_week


def test_a_plan_that_stops_short_of_the_horizon_is_rejected(promoted):
    series, _ = promoted
    one = series[series["series_id"] == "P01|north"]
    plan = pd.DataFrame(
        {"series_id": "P01|north", "date": [one["date"].max() + pd.Timedelta(days=1)]}
    ).assign(promo=0.0, unit_price=20.0)
    with pytest.raises(ValueError, match="do not cover the 28 steps"):
        forecast_series(one, FAST.model_copy(update={"cv_folds": 1}), future_covariates=plan)


def test_a_plan_for_series_without_covariates_is_rejected(promoted):
    series, _ = promoted
    one = series[series["series_id"] == "P01|north"]
    plan = one[["series_id", "date", "promo", "unit_price"]]
    with pytest.raises(ValueError, match="the plan would be ignored"):
        forecast_series(one.drop(columns=["promo", "unit_price"]), FAST, future_covariates=plan)


def test_price_what_if_on_a_univariate_series_says_why_it_cannot(promoted):
    series, _ = promoted
    one = series[series["series_id"] == "P01|north"].drop(columns=["promo", "unit_price"])
    result = forecast_series(one, FAST.model_copy(update={"cv_folds": 1}))
    with pytest.raises(ValueError, match="without prices"):
        forecast_under_price_change(result, "P01|north", 1.1)


def test_pooling_pulls_imprecise_elasticities_towards_the_mean():
    estimates = np.array([-3.0, -1.0, 0.5, -1.2])
    standard_errors = np.array([2.0, 0.1, 2.0, 0.1])
    shrunk, mean, _ = pooled_price_elasticities(estimates, standard_errors)
    assert mean == pytest.approx(-1.1, abs=0.05)
    assert abs(shrunk[0] - mean) < abs(estimates[0] - mean)
    assert abs(shrunk[2] - mean) < abs(estimates[2] - mean)
    assert shrunk[1] == pytest.approx(-1.0, abs=0.15)


def test_raw_and_mart_promo_columns_become_covariates():
    orders = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "product_id": ["P01", "P01"],
            "region": ["north", "north"],
            "orders": [3, 4],
            "unit_price": [10.0, 8.0],
            "is_promo": [False, True],
        }
    )
    frame = demand_series_from_orders(orders)
    assert frame["promo"].tolist() == [0.0, 1.0]
    assert frame["unit_price"].tolist() == [10.0, 8.0]
    raw = demand_series_from_orders(orders.rename(columns={"is_promo": "promo"}))
    assert raw["promo"].tolist() == [0.0, 1.0]


def test_the_registered_champion_forecasts_under_its_plan_and_a_price_change(
    tmp_path, with_covariates
):
    import mlflow

    from ml.tracking import CHAMPION, MlflowSettings
    from ml.tracking_forecast import MODEL_NAMES, log_forecast_training

    settings = MlflowSettings.local(tmp_path)
    log_forecast_training(settings, with_covariates, "demand", {"world_seed": "3"})
    settings.activate()
    champion = mlflow.pyfunc.load_model(f"models:/{MODEL_NAMES['demand']}@{CHAMPION}")
    predicted = champion.predict(pd.DataFrame({"series_id": ["P01|north"], "horizon": [7]}))
    expected = with_covariates.forecasts.query("series_id == 'P01|north'").head(7)
    np.testing.assert_allclose(predicted["mean"], expected["mean"])
    forecasters = champion.unwrap_python_model().forecasters
    what_if = forecast_under_price_change(forecasters, "P01|north", 1.1, horizon=7)
    np.testing.assert_allclose(what_if["baseline_mean"], expected["mean"])
