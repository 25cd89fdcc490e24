"""Elasticities measured on freshly trained champions are close to the world's own laws.

The default-size world (20,000 customers, two years, eight price-test waves) is built and
featurised with dbt, the churn and media-mix models are trained with their default configs,
and the measured elasticities are compared with those the world's laws imply. On it (seed 42)
the churn price elasticity came out 1.20 against 1.12 and the acquisition-marketing
elasticity 0.357 against 0.319. The tolerances leave room for other seeds: the churn model
sees the price effect only through 90-day features and eight waves of tests.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from bench.features import build_warehouse, run_dbt
from ml.churn import ChurnTrainingConfig, predict_churn, train_churn_model
from ml.forecasting import ForecastConfig, demand_series_from_orders, forecast_series
from ml.marketing_roi import MediaMixConfig, fit_media_mix
from simulation.twin_parameters import EffectChampions, ModelVersion, learned_effects
from simulation.world import WorldConfig, generate_world

CHURN_RELATIVE_TOLERANCE = 0.35
MARKETING_RELATIVE_TOLERANCE = 0.25
DEMAND_RELATIVE_TOLERANCE = 0.35


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("elasticity-world")
    build_warehouse(folder, WorldConfig().n_customers)
    run_dbt(folder)
    world = generate_world(WorldConfig())
    con = duckdb.connect(str(folder / "warehouse.duckdb"))
    for name in ("customer_churn", "marketing_channels"):
        frame = world.truth[name]  # noqa: F841 (scanned by DuckDB)
        con.execute("create schema if not exists truth")
        con.execute(f"create or replace table truth.{name} as select * from frame")
    features = con.execute("select * from features.customer_month_churn_features").df()
    churn = train_churn_model(features, ChurnTrainingConfig()).model
    spend = con.execute("select date, channel, spend, conversions from raw.marketing_spend").df()
    curves = fit_media_mix(spend, MediaMixConfig()).channels
    orders = demand_series_from_orders(world.tables["demand_orders"])
    demand = forecast_series(orders, ForecastConfig(models=("seasonal_naive", "ets"), n_jobs=2))
    champions = EffectChampions(
        churn_scorer=lambda rows: predict_churn(churn, rows),
        churn=ModelVersion("churn_lgbm", "test"),
        marketing_responses=curves,
        marketing=ModelVersion("marketing_mmm", "test"),
        demand_forecasters=demand.fitted_models,
        demand=ModelVersion("demand_forecaster", "test"),
    )
    result = learned_effects(con, champions, horizon_months=12)
    con.close()
    return result


@pytest.mark.slow
def test_the_churn_champions_price_elasticity_is_near_the_worlds(measured) -> None:
    truth = measured.truth.churn_price_elasticity
    assert measured.effects.churn_price_elasticity == pytest.approx(
        truth, rel=CHURN_RELATIVE_TOLERANCE
    )
    # The first months after a rise weigh most, as in the world's fading shock.
    assert measured.churn.by_month[0] > measured.churn.by_month[-1] > 0


@pytest.mark.slow
def test_the_marketing_champions_elasticity_is_near_the_worlds(measured) -> None:
    truth = measured.truth.acquisition_marketing_elasticity
    assert measured.effects.acquisition_marketing_elasticity == pytest.approx(
        truth, rel=MARKETING_RELATIVE_TOLERANCE
    )
    assert measured.paid_share_of_signups == pytest.approx(0.7, abs=0.05)


@pytest.mark.slow
def test_the_demand_champions_price_elasticity_is_near_the_worlds(measured) -> None:
    truth = measured.truth.product_demand_price_elasticity
    assert measured.effects.product_demand_price_elasticity == pytest.approx(
        truth, rel=DEMAND_RELATIVE_TOLERANCE
    )
    assert measured.product_demand.price_aware_series >= 0.9 * measured.product_demand.series
