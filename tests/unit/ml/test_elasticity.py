"""Elasticities measured on models: known scorers and curves give known elasticities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.elasticity import (
    PRICE_FEATURE_WINDOW_MONTHS,
    acquisition_price_elasticity,
    churn_price_elasticity,
    features_after_price_rise,
    paid_conversion_spend_elasticity,
    paid_share_of_signups,
)


def latest_month(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "monthly_price": rng.choice([19.0, 49.0, 99.0], n),
            "price_change_pct": np.where(rng.random(n) < 0.1, 0.08, 0.0),
            "price_change_pct_90d": 0.0,
            "price_changes_90d": 0,
            "amount_charged_90d": 150.0,
            "days_since_price_change": np.where(rng.random(n) < 0.1, 200.0, np.nan),
            "base_churn": rng.uniform(0.01, 0.08, n),
        }
    )


def constant_elasticity_scorer(persistent: float, recent: float):
    """Churn ∝ (price / signup price)^persistent x (price / price 90 days ago)^recent."""

    def score(rows: pd.DataFrame) -> np.ndarray:
        return (
            rows["base_churn"].to_numpy()
            * (1 + rows["price_change_pct"].to_numpy()) ** persistent
            * (1 + rows["price_change_pct_90d"].to_numpy()) ** recent
        )

    return score


def test_a_rise_moves_every_price_feature_consistently() -> None:
    rows = latest_month()
    after = features_after_price_rise(rows, 0.10, months_since_rise=0)
    np.testing.assert_allclose(after["monthly_price"], rows["monthly_price"] * 1.1)
    np.testing.assert_allclose(after["price_change_pct"], (1 + rows["price_change_pct"]) * 1.1 - 1)
    np.testing.assert_allclose(after["price_change_pct_90d"], 0.1)
    assert (after["price_changes_90d"] == 1).all()
    assert (rows["price_changes_90d"] == 0).all()  # the input is not modified


def test_the_90_day_features_forget_the_rise_after_three_month_ends() -> None:
    rows = latest_month()
    last_seen = features_after_price_rise(rows, 0.10, PRICE_FEATURE_WINDOW_MONTHS - 1)
    forgotten = features_after_price_rise(rows, 0.10, PRICE_FEATURE_WINDOW_MONTHS)
    assert (last_seen["price_changes_90d"] == 1).all()
    assert (forgotten["price_changes_90d"] == 0).all()
    np.testing.assert_allclose(forgotten["price_change_pct_90d"], 0.0)
    np.testing.assert_allclose(forgotten["monthly_price"], rows["monthly_price"] * 1.1)


def test_the_latest_price_change_ages_a_month_per_month_end() -> None:
    rows = latest_month()
    days = [
        features_after_price_rise(rows, 0.10, k)["days_since_price_change"].unique().tolist()
        for k in (0, 1, 4)
    ]
    assert days == [[15], [46], [137]]


def test_a_constant_elasticity_scorer_is_measured_exactly_month_by_month() -> None:
    measured = churn_price_elasticity(
        constant_elasticity_scorer(persistent=2.0, recent=1.5), latest_month(), horizon_months=12
    )
    np.testing.assert_allclose(measured.by_month[:3], 3.5)
    np.testing.assert_allclose(measured.by_month[3:], 2.0)
    assert measured.elasticity == pytest.approx((3 * 3.5 + 9 * 2.0) / 12)
    assert len(measured.by_month) == 12


def test_a_short_horizon_averages_only_its_months() -> None:
    measured = churn_price_elasticity(
        constant_elasticity_scorer(persistent=2.0, recent=1.5), latest_month(), horizon_months=2
    )
    assert measured.elasticity == pytest.approx(3.5)


def test_a_model_that_ignores_price_has_zero_elasticity() -> None:
    measured = churn_price_elasticity(
        lambda rows: rows["base_churn"].to_numpy(), latest_month(), horizon_months=12
    )
    assert measured.elasticity == 0.0


def test_no_customers_to_score_fails_naming_the_mart() -> None:
    with pytest.raises(ValueError, match="feature mart"):
        churn_price_elasticity(lambda rows: np.zeros(len(rows)), latest_month().iloc[:0])


def constant_spend(days: int = 200, level: float = 100.0) -> pd.DataFrame:
    dates = pd.date_range("2025-01-01", periods=days, freq="D")
    return pd.DataFrame(
        {
            "date": np.tile(dates, 2),
            "channel": np.repeat(["search", "email"], days),
            "spend": level,
            "conversions": 3,
        }
    )


def test_at_steady_spend_the_marketing_elasticity_is_h_over_adstock_plus_h() -> None:
    # Constant spend s gives the steady adstock s / (1 - decay).
    curves = pd.DataFrame(
        {
            "channel": ["search", "email"],
            "adstock_decay": [0.5, 0.0],
            "half_saturation_adstock": [200.0, 300.0],
            "max_daily_conversions": [10.0, 10.0],
        }
    )
    measured = paid_conversion_spend_elasticity(curves, constant_spend(), window_days=30)
    search_conversions, email_conversions = 10 * 200 / 400, 10 * 100 / 400
    expected = (search_conversions * 0.5 + email_conversions * 0.75) / (
        search_conversions + email_conversions
    )
    assert measured == pytest.approx(expected, rel=1e-9)


def test_a_channel_without_a_fitted_curve_fails_naming_it() -> None:
    curves = pd.DataFrame(
        {
            "channel": ["search"],
            "adstock_decay": [0.5],
            "half_saturation_adstock": [200.0],
            "max_daily_conversions": [10.0],
        }
    )
    with pytest.raises(ValueError, match="email"):
        paid_conversion_spend_elasticity(curves, constant_spend())


def test_the_paid_share_counts_conversions_and_signups_over_the_same_days() -> None:
    spend = constant_spend(days=100)  # 2 channels x 3 conversions a day
    signup_days = pd.date_range("2025-01-01", periods=100, freq="D").repeat(10)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(len(signup_days) + 50),
            # 50 customers from before the window must not count.
            "signup_date": list(signup_days) + [pd.Timestamp("2024-06-01")] * 50,
        }
    )
    assert paid_share_of_signups(spend, customers) == pytest.approx(0.6)
    assert paid_share_of_signups(spend, customers, window_days=30) == pytest.approx(0.6)


def signups(prices: np.ndarray, per_day: np.ndarray) -> pd.DataFrame:
    days = pd.date_range("2025-01-01", periods=len(prices), freq="D")
    rows = np.repeat(np.arange(len(days)), per_day)
    return pd.DataFrame(
        {
            "customer_id": np.arange(len(rows)),
            "signup_date": days[rows],
            "segment": "basic",
            "region": "north",
            "plan": "monthly",
            "monthly_price": prices[rows],
        }
    )


def daily_spend(n_days: int, conversions: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.date_range("2025-01-01", periods=n_days, freq="D"),
            "channel": "search",
            "spend": 100.0,
            "conversions": conversions,
        }
    )


def test_without_any_change_of_the_offered_price_the_effect_is_not_identified() -> None:
    n_days = 240
    result = acquisition_price_elasticity(
        signups(np.full(n_days, 19.0), np.full(n_days, 5)), daily_spend(n_days, np.full(n_days, 3))
    )
    assert (result.elasticity, result.identified) == (0.0, False)
    assert "never changed" in result.explanation


def test_a_price_that_cuts_signups_is_measured_when_the_offered_price_varied() -> None:
    n_days = 360
    rng = np.random.default_rng(4)
    month = np.arange(n_days) // 30
    prices = 19.0 * (1 + 0.1 * (month % 3))  # 19, 20.9, 22.8, ...
    paid = rng.poisson(30 * np.exp(0.3 * np.sin(month)))
    expected_signups = 1.5 * paid * (prices / 19.0) ** -1.5
    result = acquisition_price_elasticity(
        signups(prices, rng.poisson(expected_signups)), daily_spend(n_days, paid)
    )
    assert result.identified
    assert result.elasticity == pytest.approx(-1.5, abs=0.4)
