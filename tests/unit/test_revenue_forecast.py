import numpy as np
import pandas as pd
import pytest

from simulation.revenue_forecast import (
    monthly_signups_by_segment,
    revenue_model_from_scored_customers,
    signup_seasonality,
)


def customers_signing_up(per_month: dict[str, int], months: pd.DatetimeIndex) -> pd.DataFrame:
    rows = [
        {"customer_id": i, "segment": segment, "signup_date": month}
        for month in months
        for segment, count in per_month.items()
        for i in range(count)
    ]
    return pd.DataFrame(rows)


def test_churn_per_segment_is_the_champions_mean_prediction():
    scored = pd.DataFrame(
        {
            "segment": ["basic", "basic", "premium"],
            "monthly_price": [20.0, 30.0, 100.0],
            "predicted_churn_probability": [0.1, 0.3, 0.02],
        }
    )
    customers = customers_signing_up(
        {"basic": 3, "premium": 1}, pd.date_range("2025-01-01", periods=6, freq="MS")
    )
    model = revenue_model_from_scored_customers(
        scored, customers, pd.Timestamp("2025-06-30"), pd.Timestamp("2025-01-01")
    )
    by_name = {segment.name: segment for segment in model.segments}
    assert by_name["basic"].monthly_churn_probability == pytest.approx(0.2)
    assert by_name["basic"].active_customers == 2
    assert by_name["basic"].monthly_price == pytest.approx(25.0)
    assert by_name["basic"].monthly_new_customers == pytest.approx(3.0)
    assert by_name["premium"].monthly_new_customers == pytest.approx(1.0)
    assert model.start_month == 7


def test_seasonality_is_flat_with_under_a_year_and_measured_with_more():
    short = customers_signing_up({"basic": 2}, pd.date_range("2025-01-01", periods=6, freq="MS"))
    assert signup_seasonality(short, pd.Timestamp("2025-01-01")) == [1.0] * 12
    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    rows = [
        {"segment": "basic", "signup_date": m}
        for m in months
        for _ in range(20 if m.month == 12 else 10)
    ]
    seasonality = signup_seasonality(pd.DataFrame(rows), pd.Timestamp("2024-01-01"))
    assert np.mean(seasonality) == pytest.approx(1.0)
    assert seasonality[11] == pytest.approx(2 * seasonality[0])


def test_signups_count_only_the_window_before_as_of():
    customers = customers_signing_up(
        {"basic": 6}, pd.date_range("2025-01-01", periods=12, freq="MS")
    )
    rates = monthly_signups_by_segment(customers, pd.Timestamp("2025-06-30"), months=3)
    assert rates == {"basic": pytest.approx(6.0)}


def test_no_active_customers_is_an_error():
    empty = pd.DataFrame(columns=["segment", "monthly_price", "predicted_churn_probability"])
    with pytest.raises(ValueError, match="no active customers"):
        revenue_model_from_scored_customers(
            empty, empty, pd.Timestamp("2025-01-31"), pd.Timestamp("2025-01-01")
        )
