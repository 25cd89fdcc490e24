"""Revenue paths: reproducible, right on average, and the risk figures finance reads."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.engines.finance import (
    CustomerSegment,
    MarketRegimes,
    RevenueModel,
    make_revenue_task,
    probability_of_missing_plan,
    revenue_cvar,
    simulate_revenue_and_regimes,
    simulate_revenue_paths,
    summarise_revenue_risk,
)
from simulation.parallel import run_chunked

CALM_MARKET = MarketRegimes(
    transition_matrix=np.eye(4).tolist(),
    initial_probabilities=[1.0, 0.0, 0.0, 0.0],
    churn_multiplier=[1.0] * 4,
    acquisition_multiplier=[1.0] * 4,
)


def three_segment_business() -> RevenueModel:
    return RevenueModel(
        segments=[
            CustomerSegment(
                name="smb",
                active_customers=20_000,
                monthly_price=49.0,
                monthly_churn_probability=0.03,
                monthly_new_customers=700.0,
            ),
            CustomerSegment(
                name="mid_market",
                active_customers=3_000,
                monthly_price=400.0,
                monthly_churn_probability=0.015,
                monthly_new_customers=60.0,
            ),
            CustomerSegment(
                name="enterprise",
                active_customers=200,
                monthly_price=5_000.0,
                monthly_churn_probability=0.005,
                monthly_new_customers=3.0,
            ),
        ],
        seasonality=[0.8, 0.9, 1.0, 1.1, 1.1, 1.0, 0.9, 0.8, 1.0, 1.1, 1.2, 1.0],
    )


def test_same_seed_gives_bit_identical_revenue_paths() -> None:
    model = three_segment_business()
    first = simulate_revenue_paths(model, 2_000, 24, np.random.default_rng(42))
    again = simulate_revenue_paths(model, 2_000, 24, np.random.default_rng(42))
    assert first.shape == (2_000, 24)
    assert np.array_equal(first, again)
    assert not np.array_equal(
        first, simulate_revenue_paths(model, 2_000, 24, np.random.default_rng(43))
    )


def test_revenue_paths_are_identical_for_any_thread_count() -> None:
    model = three_segment_business()
    one = simulate_revenue_paths(model, 30_000, 24, np.random.default_rng(6), threads=1)
    two = simulate_revenue_paths(model, 30_000, 24, np.random.default_rng(6), threads=2)
    assert np.array_equal(one, two)


def test_mean_revenue_follows_expected_churn_decay_and_acquisition() -> None:
    # Large segment (normal approximation) loses 4 % a month; small segment (exact
    # inversion samplers) gains Poisson(2.5) a month and never churns.
    model = RevenueModel(
        segments=[
            CustomerSegment(
                name="consumer",
                active_customers=10_000,
                monthly_price=10.0,
                monthly_churn_probability=0.04,
                monthly_new_customers=0.0,
            ),
            CustomerSegment(
                name="enterprise",
                active_customers=50,
                monthly_price=1_000.0,
                monthly_churn_probability=0.0,
                monthly_new_customers=2.5,
            ),
        ],
        regimes=CALM_MARKET,
    )
    months = np.arange(1, 13)
    expected = 10_000 * 0.96**months * 10.0 + (50 + 2.5 * months) * 1_000.0
    revenue = simulate_revenue_paths(model, 20_000, 12, np.random.default_rng(1))
    standard_error = revenue.std(axis=0) / np.sqrt(revenue.shape[0])
    assert np.all(np.abs(revenue.mean(axis=0) - expected) < 4 * standard_error)


def test_regime_chain_spends_its_stationary_share_of_months_in_each_regime() -> None:
    model = three_segment_business().model_copy(
        update={"regimes": MarketRegimes(initial_probabilities=[0.25] * 4)}
    )
    _, regimes = simulate_revenue_and_regimes(model, 5_000, 240, np.random.default_rng(3))
    observed_share = np.bincount(regimes[:, 60:].ravel(), minlength=4) / regimes[:, 60:].size
    assert np.allclose(observed_share, model.regimes.stationary_distribution(), atol=0.01)


def test_a_recession_lowers_revenue_and_raises_the_risk_of_missing_plan() -> None:
    calm = three_segment_business().model_copy(update={"regimes": CALM_MARKET})
    recession = calm.model_copy(
        update={
            "regimes": CALM_MARKET.model_copy(
                update={
                    "initial_probabilities": [0.0, 0.0, 1.0, 0.0],
                    "churn_multiplier": [1.0, 1.0, 1.5, 1.0],
                    "acquisition_multiplier": [1.0, 1.0, 0.6, 1.0],
                }
            )
        }
    )
    calm_paths = simulate_revenue_paths(calm, 5_000, 24, np.random.default_rng(5))
    plan = np.median(calm_paths, axis=0)
    recession_paths = simulate_revenue_paths(recession, 5_000, 24, np.random.default_rng(5))
    assert recession_paths.mean() < calm_paths.mean()
    assert probability_of_missing_plan(recession_paths, plan) > 0.95
    assert 0.3 < probability_of_missing_plan(calm_paths, plan) < 0.7


def test_price_change_applies_learned_elasticities() -> None:
    model = three_segment_business()
    raised = model.with_price_change(5.0, churn_elasticity=0.8, acquisition_elasticity=-1.2)
    before, after = model.segments[0], raised.segments[0]
    assert after.monthly_price == pytest.approx(before.monthly_price * 1.05)
    assert after.monthly_churn_probability == pytest.approx(
        before.monthly_churn_probability * 1.05**0.8
    )
    assert after.monthly_new_customers == pytest.approx(before.monthly_new_customers * 1.05**-1.2)


def test_cvar_is_the_mean_of_the_worst_five_percent_of_total_revenue() -> None:
    totals = np.arange(1.0, 101.0)  # one-month paths with revenue 1..100
    assert revenue_cvar(totals[:, None], 0.05) == pytest.approx(np.mean([1, 2, 3, 4, 5]))
    assert probability_of_missing_plan(totals[:, None], np.array([10.5])) == pytest.approx(0.10)


def test_summary_percentiles_are_ordered_and_cvar_is_below_the_median_total() -> None:
    paths = simulate_revenue_paths(three_segment_business(), 4_000, 24, np.random.default_rng(9))
    summary = summarise_revenue_risk(paths, plan=np.full(24, 3.4e6))
    assert np.all(summary.p5 <= summary.p50) and np.all(summary.p50 <= summary.p95)
    assert summary.cvar_5pct_total_revenue < np.median(paths.sum(axis=1))
    assert 0.0 <= summary.probability_of_missing_plan <= 1.0


def test_regime_matrix_rows_must_be_probabilities() -> None:
    with pytest.raises(ValueError, match="summing to 1"):
        MarketRegimes(transition_matrix=[[0.5, 0.5, 0.5, 0.0], *np.eye(4)[1:].tolist()])


def test_revenue_task_on_ray_matches_serial(ray_local) -> None:
    task = make_revenue_task(three_segment_business(), horizon_months=24)
    serial = run_chunked(task, 3_000, 1_000, seed=17, use_ray=False)
    on_ray = run_chunked(task, 3_000, 1_000, seed=17)
    assert np.array_equal(serial, on_ray)
