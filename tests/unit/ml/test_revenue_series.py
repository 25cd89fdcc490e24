"""Monthly recurring revenue from customers and their subscription events, and its intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.forecasting import (
    REVENUE_SETTINGS,
    BacktestIntervals,
    ForecastConfig,
    forecast_series,
    make_forecaster,
    quiet_sktime,
    recurring_revenue,
)

# Four customers over January-March 2024 (events from 2024-01-01 to 2024-03-31):
# 1 signed up in 2023 (no signup event), 10.0 a month, cancels on 2024-02-15;
# 2 monthly, signs up 2024-01-11 at 20.0, price change to 30.0 on 2024-03-01;
# 3 annual, signs up 2024-02-01 at 85.0 a month (1,020 paid at signup);
# 4 signed up in 2023 on an annual plan, 17.0 a month, renews in March (204 charged).
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": [1, 2, 3, 4],
        "signup_date": pd.to_datetime(["2023-06-05", "2024-01-11", "2024-02-01", "2023-03-20"]),
        "monthly_price": [10.0, 20.0, 85.0, 17.0],
    }
)
EVENTS = pd.DataFrame(
    {
        "customer_id": [1, 2, 1, 2, 3, 1, 2, 2, 4],
        "event_date": pd.to_datetime(
            [
                "2024-01-01",
                "2024-01-11",
                "2024-02-01",
                "2024-02-11",
                "2024-02-01",
                "2024-02-15",
                "2024-03-01",
                "2024-03-11",
                "2024-03-31",
            ]
        ),
        "event_type": [
            "charge",
            "signup",
            "charge",
            "charge",
            "signup",
            "cancel",
            "price_change",
            "charge",
            "charge",
        ],
        "amount": [10.0, 20.0, 10.0, 20.0, 1020.0, 0.0, 0.0, 30.0, 204.0],
        "monthly_price": [10.0, 20.0, 10.0, 20.0, 85.0, 10.0, 30.0, 30.0, 17.0],
    }
)


def daily_mrr() -> pd.Series:
    frame = recurring_revenue(CUSTOMERS, EVENTS, frequency="D")
    return frame.set_index("date")["value"]


def test_daily_mrr_counts_each_customer_at_its_monthly_price_while_active():
    mrr = daily_mrr()
    assert mrr.index[0] == pd.Timestamp("2024-01-01")
    assert mrr.index[-1] == pd.Timestamp("2024-03-31")
    assert len(mrr) == 91
    # Customers signed up before the window count from its first day.
    assert mrr["2024-01-01"] == 10.0 + 17.0
    # A monthly signup counts from its signup day, not before.
    assert mrr["2024-01-10"] == 27.0
    assert mrr["2024-01-11"] == 47.0
    # An annual plan counts its monthly equivalent, not the 1,020 paid at signup.
    assert mrr["2024-02-01"] == 10.0 + 20.0 + 85.0 + 17.0
    # A cancellation ends the subscription on its day.
    assert mrr["2024-02-14"] == 132.0
    assert mrr["2024-02-15"] == 122.0
    # A price change counts from its day; the annual renewal's 204 changes nothing.
    assert mrr["2024-02-29"] == 122.0
    assert mrr["2024-03-01"] == 30.0 + 85.0 + 17.0
    assert mrr["2024-03-31"] == 132.0


def test_monthly_mrr_is_the_mean_of_the_daily_mrr_over_the_month():
    monthly = recurring_revenue(CUSTOMERS, EVENTS, frequency="MS", series_id="revenue")
    assert monthly["series_id"].unique().tolist() == ["revenue"]
    assert monthly["date"].tolist() == list(pd.date_range("2024-01-01", periods=3, freq="MS"))
    january = (10 * 27.0 + 21 * 47.0) / 31
    february = (14 * 132.0 + 15 * 122.0) / 29
    assert monthly["value"].tolist() == pytest.approx([january, february, 132.0], abs=1e-9)


def test_a_charge_at_a_new_price_updates_the_price_without_a_price_change_event():
    events = EVENTS.copy()
    events.loc[events["event_date"] == "2024-03-31", "monthly_price"] = 18.0
    mrr = recurring_revenue(CUSTOMERS, events, frequency="D").set_index("date")["value"]
    assert mrr["2024-03-30"] == 132.0
    assert mrr["2024-03-31"] == 133.0


@pytest.mark.parametrize(
    ("frame", "column"),
    [
        ("customers", "signup_date"),
        ("customers", "monthly_price"),
        ("subscription_events", "event_type"),
        ("subscription_events", "monthly_price"),
    ],
)
def test_missing_columns_are_named(frame, column):
    customers, events = CUSTOMERS, EVENTS
    if frame == "customers":
        customers = CUSTOMERS.drop(columns=column)
    else:
        events = EVENTS.drop(columns=column)
    with pytest.raises(ValueError, match=rf"{frame} lacks columns \['{column}'\]"):
        recurring_revenue(customers, events)


def test_bad_values_are_reported_with_their_table_and_column():
    events = EVENTS.assign(monthly_price=EVENTS["monthly_price"].where(EVENTS.index != 3))
    with pytest.raises(ValueError, match=r"subscription_events\.monthly_price has 1 missing"):
        recurring_revenue(CUSTOMERS, events)
    events = EVENTS.assign(event_type=EVENTS["event_type"].replace("charge", "refund"))
    with pytest.raises(ValueError, match=r"subscription_events\.event_type has unknown .*refund"):
        recurring_revenue(CUSTOMERS, events)
    with pytest.raises(ValueError, match=r"missing from customers\.customer_id \(e\.g\. 4\)"):
        recurring_revenue(CUSTOMERS[CUSTOMERS["customer_id"] != 4], EVENTS)
    customers = CUSTOMERS.assign(signup_date=CUSTOMERS["signup_date"].where(CUSTOMERS.index != 0))
    with pytest.raises(ValueError, match=r"customers\.signup_date has 1 missing"):
        recurring_revenue(customers, EVENTS)


def growing_revenue(n_months: int = 24, seed: int = 4) -> pd.DataFrame:
    """MRR-like growth whose monthly rate drifts (a random walk): a fitted trend does not hold."""
    rng = np.random.default_rng(seed)
    growth = 0.03 + np.cumsum(rng.normal(0, 0.006, n_months))
    value = 100_000 * np.exp(np.cumsum(growth))
    months = pd.date_range("2024-01-01", periods=n_months, freq="MS")
    return pd.DataFrame({"series_id": "mrr", "date": months, "value": value})


def test_backtest_intervals_are_never_narrower_than_the_models_own():
    from sktime.forecasting.base import ForecastingHorizon

    series = growing_revenue()
    y = pd.Series(
        series["value"].to_numpy(), index=pd.period_range("2024-01", periods=24, freq="M")
    )
    config = ForecastConfig(frequency="MS", **REVENUE_SETTINGS)
    fh = ForecastingHorizon(np.arange(1, 13), is_relative=True)
    plain = make_forecaster(
        "ets", config.model_copy(update={"backtest_intervals": False}), 24, False
    )
    widened = make_forecaster("ets", config, 24, False)
    assert isinstance(widened, BacktestIntervals)
    with quiet_sktime():
        plain.fit(y, fh=fh)
        widened.fit(y, fh=fh)
        own = plain.predict_interval(fh, coverage=[0.95]).to_numpy()
        wide = widened.predict_interval(fh, coverage=[0.95]).to_numpy()
        np.testing.assert_allclose(widened.predict(fh), plain.predict(fh))
    assert (wide[:, 0] <= own[:, 0] + 1e-6).all() and (wide[:, 1] >= own[:, 1] - 1e-6).all()
    # The backtests' errors grow with the step, and so do the widths.
    assert 0 < widened.growth_ <= 1
    assert np.all(np.diff(wide[:, 1] - wide[:, 0]) > 0)


def test_revenue_settings_choose_by_interval_score_and_report_it():
    config = ForecastConfig(frequency="MS", horizons=(1, 3, 6), **REVENUE_SETTINGS)
    result = forecast_series(growing_revenue(), config)
    metrics = result.metrics[result.metrics["model"] != "selected"]
    score = metrics.groupby("model")["msis95"].mean()
    assert result.selection["chosen_model"].iloc[0] == score.idxmin()
    assert result.selection["cv_score"].iloc[0] == pytest.approx(score.min())
    assert result.flat_metrics()["mase_vs_snaive_max"] < 1.0
