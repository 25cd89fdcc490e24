"""Turn the champion churn model's view of today's customers into a revenue simulation.

The parameters of :class:`simulation.engines.finance.RevenueModel` come from data and the
learned model, not hand-set numbers: churn per segment is the mean predicted probability of
the champion over the segment's customers, prices are today's prices, and acquisition and its
seasonality are measured from signups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.engines.finance import CustomerSegment, RevenueModel


def monthly_signups_by_segment(
    customers: pd.DataFrame, as_of: pd.Timestamp, months: int = 6
) -> dict[str, float]:
    """Mean signups a month per segment over the `months` months up to `as_of`."""
    signup = pd.to_datetime(customers["signup_date"])
    window = customers[(signup > as_of - pd.DateOffset(months=months)) & (signup <= as_of)]
    return (window.groupby("segment").size() / months).astype(float).to_dict()


def signup_seasonality(customers: pd.DataFrame, first_day: pd.Timestamp) -> list[float]:
    """Signups per calendar month relative to the average month; flat with under a year of data."""
    signup = pd.to_datetime(customers["signup_date"])
    observed = signup[signup >= first_day]
    by_month = observed.groupby([observed.dt.year, observed.dt.month]).size()
    if len(by_month) < 12:
        return [1.0] * 12
    per_calendar_month = by_month.groupby(level=1).mean().reindex(range(1, 13))
    per_calendar_month = per_calendar_month.fillna(per_calendar_month.mean())
    return list((per_calendar_month / per_calendar_month.mean()).astype(float))


def revenue_model_from_scored_customers(
    scored: pd.DataFrame,
    customers: pd.DataFrame,
    as_of: pd.Timestamp,
    first_day: pd.Timestamp,
) -> RevenueModel:
    """Build the revenue model from customers scored by the champion.

    `scored` has one row per active customer with `segment`, `monthly_price` and
    `predicted_churn_probability`.
    """
    required = {"segment", "monthly_price", "predicted_churn_probability"}
    missing = required - set(scored.columns)
    if missing:
        raise KeyError(f"scored customers lack columns {sorted(missing)}")
    if scored.empty:
        raise ValueError(
            "no active customers to simulate: the feature mart's latest month is empty"
        )
    signups = monthly_signups_by_segment(customers, as_of)
    segments = []
    for name, group in scored.groupby("segment", sort=True):
        segments.append(
            CustomerSegment(
                name=str(name),
                active_customers=len(group),
                monthly_price=float(group["monthly_price"].mean()),
                monthly_churn_probability=float(
                    np.clip(group["predicted_churn_probability"].mean(), 0, 1)
                ),
                monthly_new_customers=float(signups.get(str(name), 0.0)),
            )
        )
    next_month = (as_of + pd.DateOffset(days=1)).month
    return RevenueModel(
        segments=segments,
        seasonality=signup_seasonality(customers, first_day),
        start_month=next_month,
    )
