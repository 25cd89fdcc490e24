"""The twin's price and marketing effects come from the champion models passed in."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from simulation.twin_parameters import EffectChampions, learned_effects
from simulation.world import WorldConfig, generate_world
from simulation.world.marketing import PAID_SHARE_OF_ACQUISITION


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig.tiny())


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
    for name in ("customers", "marketing_spend"):
        frame = world.tables[name]
        con.execute(f"create table raw.{name} as select * from frame")
    if features is not None:
        con.execute("create table features.customer_month_churn_features as select * from features")
    if truth:
        for name in ("customer_churn", "marketing_channels"):
            frame = world.truth[name]  # noqa: F841
            con.execute(f"create table truth.{name} as select * from frame")
    return con


def champions(world, persistent_elasticity: float = 1.0) -> EffectChampions:
    """A churn 'model' with a known elasticity and the world's true response curves."""

    def score(rows: pd.DataFrame) -> np.ndarray:
        return rows["base_churn"].to_numpy() * (1 + rows["price_change_pct"]) ** (
            persistent_elasticity
        )

    return EffectChampions(
        churn_scorer=score,
        churn_version="7",
        marketing_responses=world.truth["marketing_channels"],
        marketing_version="3",
    )


def test_the_churn_elasticity_is_the_champions_not_the_worlds(world) -> None:
    con = warehouse(world, features=churn_feature_rows(), truth=True)
    measured = learned_effects(con, champions(world, persistent_elasticity=0.4))
    assert measured.effects.churn_price_elasticity == pytest.approx(0.4, rel=1e-6)
    assert measured.truth is not None
    assert measured.truth.churn_price_elasticity > 1.0  # the world's law: 4 (1 - p) x fade


def test_the_marketing_elasticity_uses_the_paid_share_measured_in_the_data(world) -> None:
    con = warehouse(world, features=churn_feature_rows(), truth=True)
    measured = learned_effects(con, champions(world))
    # Champion curves = the true ones, so only the paid share can differ from the truth.
    assert 0.55 < measured.paid_share_of_signups < 0.85
    assert measured.effects.acquisition_marketing_elasticity == pytest.approx(
        measured.truth.acquisition_marketing_elasticity
        * measured.paid_share_of_signups
        / PAID_SHARE_OF_ACQUISITION
    )
    assert 0.1 < measured.effects.acquisition_marketing_elasticity < 0.7


def test_the_offered_price_never_varied_so_acquisition_price_is_zero_and_flagged(world) -> None:
    measured = learned_effects(
        warehouse(world, features=churn_feature_rows(), truth=True), champions(world)
    )
    assert measured.effects.acquisition_price_elasticity == 0.0
    assert not measured.acquisition_price.identified
    assert "not identified" in measured.source


def test_versions_and_truth_are_reported_beside_the_measured_values(world) -> None:
    summary = learned_effects(
        warehouse(world, features=churn_feature_rows(), truth=True), champions(world)
    ).summary()
    assert summary["churn_model_version"] == "7"
    assert summary["marketing_model_version"] == "3"
    assert summary["churn_price_elasticity_truth"] is not None


def test_without_ground_truth_the_effects_are_still_measured(world) -> None:
    measured = learned_effects(
        warehouse(world, features=churn_feature_rows(), truth=False), champions(world, 0.5)
    )
    assert measured.truth is None
    assert measured.effects.churn_price_elasticity == pytest.approx(0.5, rel=1e-6)


def test_without_the_feature_mart_it_fails_saying_what_to_materialize(world) -> None:
    with pytest.raises(LookupError, match="materialize"):
        learned_effects(warehouse(world, features=None, truth=True), champions(world))


def test_a_champion_that_predicts_no_churn_fails_loudly(world) -> None:
    broken = EffectChampions(
        churn_scorer=lambda rows: np.zeros(len(rows)),
        churn_version="1",
        marketing_responses=world.truth["marketing_channels"],
        marketing_version="1",
    )
    with pytest.raises(ValueError, match="mean churn"):
        learned_effects(warehouse(world, features=churn_feature_rows(), truth=True), broken)
