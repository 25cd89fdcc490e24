"""The twin's price and marketing effects come from the champion models passed in."""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.forecasting import ForecastConfig, forecast_series
from simulation.twin_parameters import (
    EFFECTS_TABLE,
    EffectChampions,
    ModelVersion,
    RecordedEffects,
    learned_effects,
    read_recorded_effects,
)
from simulation.world import WorldConfig, generate_world
from simulation.world.marketing import PAID_SHARE_OF_ACQUISITION
from tests.unit.ml.forecast_helpers import ELASTICITY, promoted_daily_demand


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig.tiny())


@pytest.fixture(scope="module")
def demand_forecasters():
    """Forecasters fitted on demand whose true price elasticity is ELASTICITY (-1.5)."""
    series, _ = promoted_daily_demand()
    config = ForecastConfig(horizons=(7, 28), models=("seasonal_naive", "ets"), cv_folds=2)
    return forecast_series(series, config).fitted_models


def churn_feature_rows(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    months = [pd.Timestamp("2025-06-01"), pd.Timestamp("2025-07-01")]
    return pd.DataFrame(
        {
            "customer_id": np.tile(np.arange(n), 2),
            "month_start": np.repeat(months, n),
            "monthly_price": 49.0,
            "price_change_pct": 0.0,
            "price_change_pct_90d": 0.0,
            "price_changes_90d": 0,
            "amount_charged_90d": 147.0,
            "base_churn": np.tile(rng.uniform(0.01, 0.06, n), 2),
        }
    )


def warehouse(world, *, features: pd.DataFrame | None, truth: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema in ("raw", "features", "truth"):
        con.execute(f"create schema {schema}")
    for name in ("customers", "marketing_spend", "demand_orders"):
        frame = world.tables[name]
        con.execute(f"create table raw.{name} as select * from frame")
    if features is not None:
        con.execute("create table features.customer_month_churn_features as select * from features")
    if truth:
        for name in ("customer_churn", "marketing_channels"):
            frame = world.truth[name]  # noqa: F841
            con.execute(f"create table truth.{name} as select * from frame")
    return con


@pytest.fixture
def champions(world, demand_forecasters):
    """Champions with known effects: see make_champions."""

    def make(persistent_elasticity: float = 1.0) -> EffectChampions:
        return make_champions(world, demand_forecasters, persistent_elasticity)

    return make


def make_champions(
    world, demand_forecasters, persistent_elasticity: float = 1.0
) -> EffectChampions:
    """A churn 'model' with a known elasticity, the world's true response curves and demand
    forecasters fitted on demand with a known price elasticity."""

    def score(rows: pd.DataFrame) -> np.ndarray:
        return rows["base_churn"].to_numpy() * (1 + rows["price_change_pct"]) ** (
            persistent_elasticity
        )

    return EffectChampions(
        churn_scorer=score,
        churn=ModelVersion("churn_lgbm", "7"),
        marketing_responses=world.truth["marketing_channels"],
        marketing=ModelVersion("marketing_mmm", "3"),
        demand_forecasters=demand_forecasters,
        demand=ModelVersion("demand_forecaster", "5"),
    )


def test_the_churn_elasticity_is_the_champions_not_the_worlds(world, champions) -> None:
    con = warehouse(world, features=churn_feature_rows(), truth=True)
    measured = learned_effects(con, champions(persistent_elasticity=0.4))
    assert measured.effects.churn_price_elasticity == pytest.approx(0.4, rel=1e-6)
    assert measured.truth is not None
    assert measured.truth.churn_price_elasticity > 1.0  # the world's law: 4 (1 - p) x fade


def test_the_marketing_elasticity_uses_the_paid_share_measured_in_the_data(
    world, champions
) -> None:
    con = warehouse(world, features=churn_feature_rows(), truth=True)
    measured = learned_effects(con, champions())
    # Champion curves = the true ones, so only the paid share can differ from the truth.
    assert 0.55 < measured.paid_share_of_signups < 0.85
    assert measured.effects.acquisition_marketing_elasticity == pytest.approx(
        measured.truth.acquisition_marketing_elasticity
        * measured.paid_share_of_signups
        / PAID_SHARE_OF_ACQUISITION
    )
    assert 0.1 < measured.effects.acquisition_marketing_elasticity < 0.7


def test_the_offered_price_never_varied_so_acquisition_price_is_zero_and_flagged(
    world, champions
) -> None:
    measured = learned_effects(
        warehouse(world, features=churn_feature_rows(), truth=True), champions()
    )
    assert measured.effects.acquisition_price_elasticity == 0.0
    assert not measured.acquisition_price.identified
    assert "not identified" in measured.record().source


def test_versions_and_truth_are_reported_beside_the_measured_values(world, champions) -> None:
    summary = (
        learned_effects(warehouse(world, features=churn_feature_rows(), truth=True), champions())
        .record()
        .summary()
    )
    assert summary["churn_model"] == "churn_lgbm"
    assert summary["churn_model_version"] == "7"
    assert summary["marketing_model_version"] == "3"
    assert summary["churn_price_elasticity_truth"] is not None


def test_without_ground_truth_the_effects_are_still_measured(world, champions) -> None:
    measured = learned_effects(
        warehouse(world, features=churn_feature_rows(), truth=False), champions(0.5)
    )
    assert measured.truth is None
    assert measured.effects.churn_price_elasticity == pytest.approx(0.5, rel=1e-6)


def test_without_the_feature_mart_it_fails_saying_what_to_materialize(world, champions) -> None:
    with pytest.raises(LookupError, match="materialize"):
        learned_effects(warehouse(world, features=None, truth=True), champions())


def test_a_champion_that_predicts_no_churn_fails_loudly(world, champions) -> None:
    broken = EffectChampions(
        churn_scorer=lambda rows: np.zeros(len(rows)),
        churn=ModelVersion("churn_lgbm", "1"),
        marketing_responses=world.truth["marketing_channels"],
        marketing=ModelVersion("marketing_mmm", "1"),
        demand_forecasters=champions().demand_forecasters,
        demand=ModelVersion("demand_forecaster", "1"),
    )
    with pytest.raises(ValueError, match="mean churn"):
        learned_effects(warehouse(world, features=churn_feature_rows(), truth=True), broken)


def test_the_product_demand_elasticity_is_the_demand_champions(world, champions) -> None:
    measured = learned_effects(
        warehouse(world, features=churn_feature_rows(), truth=True), champions()
    )
    # The forecasters' demand has elasticity -1.5 (pooled over two series, finite data).
    assert measured.effects.product_demand_price_elasticity == pytest.approx(ELASTICITY, abs=0.5)
    assert measured.product_demand.price_aware_series >= 1
    # The world's products have elasticities -0.6 to -2.0: their demand-weighted response.
    assert -2.0 < measured.truth.product_demand_price_elasticity < -0.6
    summary = measured.record().summary()
    assert summary["demand_model_version"] == "5"
    assert summary["product_demand_price_elasticity_truth"] is not None


def test_a_demand_champion_without_prices_cannot_measure_and_says_so(world, champions) -> None:
    seasonal_naive_only = forecast_series(
        promoted_daily_demand()[0].drop(columns=["promo", "unit_price"]),
        ForecastConfig(horizons=(7, 28), models=("seasonal_naive",), cv_folds=1),
    ).fitted_models
    blind = dataclasses.replace(champions(), demand_forecasters=seasonal_naive_only)
    with pytest.raises(ValueError, match="forecast with prices"):
        learned_effects(warehouse(world, features=churn_feature_rows(), truth=True), blind)


def test_the_recorded_effects_round_trip_through_the_warehouse(world, champions) -> None:
    con = warehouse(world, features=churn_feature_rows(), truth=True)
    measured = learned_effects(con, champions(persistent_elasticity=0.4), horizon_months=12)
    con.execute("create schema results")
    recorded_rows = measured.record().table  # noqa: F841
    con.execute(f"create table results.{EFFECTS_TABLE} as select * from recorded_rows")
    recorded = read_recorded_effects(con)
    assert recorded.for_horizon(12) == measured.effects
    assert recorded.model_versions == {
        "churn_lgbm": "7",
        "marketing_mmm": "3",
        "demand_forecaster": "5",
    }
    assert recorded.summary()["churn_price_elasticity_truth"] == pytest.approx(
        measured.truth.churn_price_elasticity
    )


def test_another_horizon_reaverages_the_churn_effect_from_its_months(world, champions) -> None:
    """A churn effect that fades: months 0-3 differ, later months equal month 3."""

    def fading(rows: pd.DataFrame) -> np.ndarray:
        recent = rows["price_change_pct_90d"].to_numpy(dtype=float)
        return rows["base_churn"].to_numpy() * (1 + recent) ** 2.0

    con = warehouse(world, features=churn_feature_rows(), truth=False)
    faded = dataclasses.replace(champions(), churn_scorer=fading)
    recorded = learned_effects(con, faded, horizon_months=12).record()
    for horizon in (1, 3, 6, 24):
        again = learned_effects(con, faded, horizon_months=horizon)
        assert recorded.for_horizon(horizon).churn_price_elasticity == pytest.approx(
            again.effects.churn_price_elasticity, rel=1e-12
        )
    # Months 0-2 see the rise in the 90-day features (elasticity 2); later ones do not.
    assert recorded.for_horizon(3).churn_price_elasticity == pytest.approx(2.0, rel=1e-6)
    assert recorded.for_horizon(12).churn_price_elasticity == pytest.approx(0.5, rel=1e-6)


def test_a_table_without_the_effects_fails_naming_what_is_missing() -> None:
    incomplete = pd.DataFrame(
        {c: [] for c in ("figure", "measured", "truth", "model", "model_version", "note")}
    )
    with pytest.raises(ValueError, match="horizon_months"):
        RecordedEffects(incomplete)
    with pytest.raises(ValueError, match="churn_price_elasticity"):
        RecordedEffects(incomplete.assign(horizon_months=[]))
