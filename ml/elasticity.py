"""Elasticities measured on fitted models: what the twin's price and marketing scenarios apply.

- **Churn and price** (:func:`churn_price_elasticity`): the churn model scores the newest
  month's customers as they are and with finite price rises (+3 to +15 % by default).
  The trees are piecewise constant, so an infinitesimal rise measures zero or a jump, and one
  small rise depends on where the splits happen to fall; the elasticity of a month is the
  least-squares slope of ``log(mean churn with the rise / mean churn without)`` on
  ``log(1 + rise)`` through the origin, over the rises. Each rise is
  written into every price feature the way the feature mart would show it ``k`` month-ends
  after the rise: ``monthly_price`` and ``price_change_pct`` stay raised, the 90-day features
  (``price_change_pct_90d``, ``price_changes_90d``, the charges of the last 90 days) see the
  change for the first three month-ends only, and ``days_since_price_change`` ages a month
  per month-end. The revenue engine applies one factor over
  the whole horizon, so the elasticity is the average of the horizon's months.
- **Acquisition and marketing** (:func:`paid_conversion_spend_elasticity`,
  :func:`paid_share_of_signups`): on the media-mix model's response curves (adstock decay,
  half-saturation, maximum conversions per channel), scaling every channel's spend by
  ``1 + x`` scales its adstock alike, so a channel-day's conversions ``M a / (a + h)`` have the
  elasticity ``h / (a + h)``. Averaged over the recent days and channels, weighted by the
  conversions the curves predict, it is the elasticity of paid conversions; times the share of
  new customers that paid conversions are (measured in the data), that of all new customers.
- **Acquisition and price** (:func:`acquisition_price_elasticity`): only identifiable when the
  price new customers were offered varied. When it never did, nothing can be measured and the
  result says so (elasticity 0, ``identified`` False).
- **Product demand and price** (:func:`product_demand_price_elasticity`): the demand
  forecaster forecasts every product-region series under its planned prices and under prices
  raised by a finite step; the elasticity is that of total orders,
  ``log(sum with the rise / sum without) / log(1 + rise)``. Series whose chosen model does not
  use prices (seasonal naive) cannot respond and are left out of both sums.

Everything here takes frames and plain callables, so it runs without MLflow or Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.forecasting import forecast_under_price_change
from ml.marketing_roi import geometric_adstock

PRICE_FEATURE_WINDOW_MONTHS = 3
"""Month-ends after a price change at which the mart's 90-day price features still see it."""
DAYS_PER_MONTH = 30.44

# Spanning the rises the world's price tests make (3-15 %): the slope over several rises
# averages over the trees' split points instead of depending on where one rise lands.
DEFAULT_PRICE_RISES = (0.03, 0.06, 0.09, 0.12, 0.15)
DEFAULT_SPEND_WINDOW_DAYS = 90
RESPONSE_COLUMNS = ("channel", "adstock_decay", "half_saturation_adstock", "max_daily_conversions")

ChurnScorer = Callable[[pd.DataFrame], np.ndarray]
"""Churn probabilities of feature rows (e.g. ``lambda rows: ml.churn.predict_churn(m, rows)``)."""


# --------------------------------------------------------------------------------------
# Churn and price
# --------------------------------------------------------------------------------------
def features_after_price_rise(
    features: pd.DataFrame, rise: float, months_since_rise: int
) -> pd.DataFrame:
    """Feature rows as the mart would show them ``months_since_rise`` month-ends after a rise.

    The rise takes effect at the rows' month-end (``months_since_rise`` 0 is that month-end).
    Features other than the price ones are kept as they are (ceteris paribus).
    """
    if rise <= -1:
        raise ValueError(f"a price rise must be above -100 %, got {rise:+.0%}")
    if months_since_rise < 0:
        raise ValueError(f"months_since_rise must be >= 0, got {months_since_rise}")
    factor = 1.0 + rise
    out = features.copy()
    if "days_since_price_change" in out.columns:
        # Rises take effect on a day of their month, on average half a month before its end.
        out["days_since_price_change"] = round(
            DAYS_PER_MONTH / 2 + DAYS_PER_MONTH * months_since_rise
        )
    out["monthly_price"] = features["monthly_price"].astype(float) * factor
    out["price_change_pct"] = (1.0 + features["price_change_pct"].astype(float)) * factor - 1.0
    if months_since_rise < PRICE_FEATURE_WINDOW_MONTHS:
        out["price_change_pct_90d"] = (
            1.0 + features["price_change_pct_90d"].astype(float)
        ) * factor - 1.0
        out["price_changes_90d"] = features["price_changes_90d"] + 1
        # Charges of the last 90 days made after the rise are at the new price.
        charged_share = (months_since_rise + 1) / PRICE_FEATURE_WINDOW_MONTHS
        out["amount_charged_90d"] = features["amount_charged_90d"].astype(float) * (
            1.0 + rise * charged_share
        )
    else:
        out["amount_charged_90d"] = features["amount_charged_90d"].astype(float) * factor
    return out


@dataclass(frozen=True)
class ChurnPriceElasticity:
    """d log(churn) / d log(price) measured on a churn model, by month since the rise."""

    elasticity: float  # the average over the horizon
    by_month: tuple[float, ...]  # month k of the horizon (k = 0 right after the rise)
    rises: tuple[float, ...]
    baseline_churn: float  # mean predicted monthly churn without the rise
    n_customers: int


def churn_price_elasticity(
    score: ChurnScorer,
    latest_features: pd.DataFrame,
    horizon_months: int = 12,
    rises: tuple[float, ...] = DEFAULT_PRICE_RISES,
) -> ChurnPriceElasticity:
    """The churn model's price elasticity over the horizon (see the module docstring).

    ``latest_features`` are the newest month's feature rows (one per active customer).
    Months 3 and later all look alike to the model (only the persistent price features are
    raised), so only months 0 to 3 are scored.
    """
    if latest_features.empty:
        raise ValueError("no customers to score: the churn feature mart's newest month is empty")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be >= 1, got {horizon_months}")
    if not rises or any(not 0 < abs(r) < 1 for r in rises):
        raise ValueError(f"use finite rises between -100 % and +100 % (not 0), got {rises}")
    baseline = float(np.mean(score(latest_features)))
    if not baseline > 0:
        raise ValueError(f"the churn model predicts a mean churn of {baseline}: no elasticity")
    log_price = np.log1p(np.asarray(rises, dtype=float))
    by_month: list[float] = []
    for k in range(min(horizon_months, PRICE_FEATURE_WINDOW_MONTHS + 1)):
        log_churn = np.array(
            [
                np.log(np.mean(score(features_after_price_rise(latest_features, r, k))) / baseline)
                for r in rises
            ]
        )
        by_month.append(float(log_price @ log_churn / (log_price @ log_price)))
    by_month += [by_month[-1]] * (horizon_months - len(by_month))
    return ChurnPriceElasticity(
        elasticity=horizon_average(by_month, horizon_months),
        by_month=tuple(by_month),
        rises=tuple(rises),
        baseline_churn=baseline,
        n_customers=len(latest_features),
    )


def horizon_average(scored_months: Sequence[float], horizon_months: int) -> float:
    """The churn elasticity over ``horizon_months``, from the months scored right after a rise.

    Months after the last scored one look alike to the model (only the persistent price
    features stay raised), so they take its value.
    """
    if not scored_months:
        raise ValueError("no scored months to average")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be >= 1, got {horizon_months}")
    months = list(scored_months[:horizon_months])
    months += [months[-1]] * (horizon_months - len(months))
    return float(np.mean(months))


# --------------------------------------------------------------------------------------
# Acquisition and marketing
# --------------------------------------------------------------------------------------
def paid_conversion_spend_elasticity(
    responses: pd.DataFrame,
    marketing_spend: pd.DataFrame,
    window_days: int = DEFAULT_SPEND_WINDOW_DAYS,
) -> float:
    """d log(paid conversions) / d log(spend) at the spend of the last ``window_days`` days.

    ``responses`` has one row per channel with ``adstock_decay``, ``half_saturation_adstock``
    and ``max_daily_conversions`` (a media-mix model's fitted curves, or the world's true
    ones); ``marketing_spend`` has ``date``, ``channel`` and ``spend`` for every day. Adstock
    is built from the whole spend history, then each recent channel-day contributes
    ``h / (a + h)`` weighted by the conversions the curve predicts for it.
    """
    missing = [c for c in RESPONSE_COLUMNS if c not in responses.columns]
    if missing:
        raise ValueError(f"response curves lack columns {missing}")
    curves = responses.assign(channel=responses["channel"].astype(str)).set_index("channel")
    spend = marketing_spend.assign(
        date=pd.to_datetime(marketing_spend["date"]), channel=marketing_spend["channel"].astype(str)
    ).pivot_table(index="date", columns="channel", values="spend", aggfunc="sum")
    unknown = sorted(set(spend.columns) - set(curves.index))
    if unknown:
        raise ValueError(f"no response curve for channels {unknown}: refit the media-mix model")
    weighted, total = 0.0, 0.0
    for channel in spend.columns:
        curve = curves.loc[channel]
        carried = geometric_adstock(
            spend[channel].fillna(0.0).to_numpy(dtype=float), float(curve["adstock_decay"])
        )[-window_days:]
        half = float(curve["half_saturation_adstock"])
        conversions = float(curve["max_daily_conversions"]) * carried / (carried + half)
        weighted += float(np.sum(conversions * half / (carried + half)))
        total += float(conversions.sum())
    if not total > 0:
        raise ValueError("the response curves predict no paid conversions at current spend")
    return weighted / total


def paid_share_of_signups(
    marketing_spend: pd.DataFrame,
    customers: pd.DataFrame,
    window_days: int | None = None,
) -> float:
    """Paid conversions (``marketing_spend.conversions``) over signups (``customers``).

    Both are counted over the same days: the spend table's last ``window_days`` days, or all
    its days. Customers who signed up before the spend table starts are not counted.
    """
    dates = pd.to_datetime(marketing_spend["date"])
    first = dates.max() - pd.Timedelta(days=window_days - 1) if window_days else dates.min()
    paid = float(marketing_spend.loc[dates >= first, "conversions"].sum())
    signup = pd.to_datetime(customers["signup_date"])
    signups = int(((signup >= first) & (signup <= dates.max() + pd.Timedelta(days=1))).sum())
    if signups == 0:
        raise ValueError(f"no signups from {first.date()} on: the paid share is undefined")
    return min(1.0, paid / signups)


# --------------------------------------------------------------------------------------
# Acquisition and price
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AcquisitionPriceElasticity:
    """d log(new customers) / d log(price), or why it could not be measured."""

    elasticity: float
    identified: bool
    explanation: str


PRICE_CELL = ("segment", "region", "plan")


def acquisition_price_elasticity(
    customers: pd.DataFrame, marketing_spend: pd.DataFrame
) -> AcquisitionPriceElasticity:
    """Signups against the price new customers were offered, with paid conversions as control.

    The offered price is the signup price relative to the first signup price of the same
    segment, region and plan. When it never moved there is no variation to learn from and
    the elasticity is reported as 0, not identified. Otherwise monthly
    ``log(signups) = a + b log(offered price) + c log(paid conversions)`` is fitted by least
    squares and ``b`` is the elasticity.
    """
    first_day = pd.to_datetime(marketing_spend["date"]).min()
    new = customers[pd.to_datetime(customers["signup_date"]) >= first_day].copy()
    if new.empty:
        raise ValueError("no signups inside the data window: nothing to measure")
    new["signup_date"] = pd.to_datetime(new["signup_date"])
    new = new.sort_values("signup_date")
    reference = new.groupby(list(PRICE_CELL))["monthly_price"].transform("first")
    new["log_offered_price"] = np.log(new["monthly_price"].astype(float) / reference)
    if float(new["log_offered_price"].abs().max()) < 1e-9:
        return AcquisitionPriceElasticity(
            elasticity=0.0,
            identified=False,
            explanation=(
                "the price offered to new customers never changed in raw.customers (one signup "
                "price per segment, region and plan), so its effect on signups cannot be "
                "measured; 0 is assumed"
            ),
        )
    month = new["signup_date"].dt.to_period("M")
    monthly = new.groupby(month).agg(
        signups=("customer_id", "size"), log_price=("log_offered_price", "mean")
    )
    spend = marketing_spend.assign(month=pd.to_datetime(marketing_spend["date"]).dt.to_period("M"))
    monthly["paid"] = spend.groupby("month")["conversions"].sum()
    monthly = monthly.dropna()
    monthly = monthly[(monthly["signups"] > 0) & (monthly["paid"] > 0)]
    if len(monthly) < 4:
        raise ValueError(f"{len(monthly)} months of signups: too few to fit a price effect")
    design = np.column_stack(
        [np.ones(len(monthly)), monthly["log_price"], np.log(monthly["paid"].astype(float))]
    )
    coefficients, *_ = np.linalg.lstsq(design, np.log(monthly["signups"].astype(float)), rcond=None)
    return AcquisitionPriceElasticity(
        elasticity=float(coefficients[1]),
        identified=True,
        explanation=(
            f"monthly signups against the offered price over {len(monthly)} months, "
            "controlling for paid conversions"
        ),
    )


# --------------------------------------------------------------------------------------
# Product demand and price
# --------------------------------------------------------------------------------------
DEFAULT_PRODUCT_PRICE_RISE = 0.05
DEFAULT_DEMAND_HORIZON_DAYS = 28


@dataclass(frozen=True)
class ProductDemandElasticity:
    """d log(total product orders) / d log(product prices), measured on a demand forecaster."""

    elasticity: float
    rise: float
    price_aware_series: int  # series whose chosen model responds to prices
    series: int


def product_demand_price_elasticity(
    forecasters: Mapping[str, Any],
    horizon: int = DEFAULT_DEMAND_HORIZON_DAYS,
    rise: float = DEFAULT_PRODUCT_PRICE_RISE,
) -> ProductDemandElasticity:
    """Total orders' response to raising every planned product price by ``rise``.

    ``forecasters`` are the fitted forecasters by series id, e.g. the registered demand
    champion's (``ml.forecasting.forecast_under_price_change`` explains both). Raises
    ValueError when no series' model uses prices: then nothing can be measured.
    """
    if rise <= -1 or rise == 0:
        raise ValueError(f"the price step must be non-zero and above -100 %, got {rise:+.0%}")
    with_rise = without_rise = 0.0
    price_aware = 0
    for series_id in sorted(forecasters):
        try:
            path = forecast_under_price_change(forecasters, series_id, 1 + rise, horizon)
        except ValueError:  # the chosen model has no price input (seasonal naive)
            continue
        with_rise += float(path["mean"].sum())
        without_rise += float(path["baseline_mean"].sum())
        price_aware += 1
    if price_aware == 0 or without_rise <= 0:
        raise ValueError(
            f"none of the {len(forecasters)} demand series is forecast with prices: the demand "
            "forecaster cannot measure a price elasticity (train it on the demand_series mart, "
            "which has unit_price and is_promo)"
        )
    return ProductDemandElasticity(
        elasticity=float(np.log(with_rise / without_rise) / np.log1p(rise)),
        rise=rise,
        price_aware_series=price_aware,
        series=len(forecasters),
    )


def product_demand_price_elasticity_from_truth(
    price_elasticity_by_product: Mapping[str, float],
    orders_by_product: Mapping[str, float],
    rise: float = DEFAULT_PRODUCT_PRICE_RISE,
) -> float:
    """The same aggregate elasticity from known per-product elasticities (a world's truth)."""
    weights = {p: orders_by_product[p] for p in price_elasticity_by_product}
    total = sum(weights.values())
    response = sum(w * (1 + rise) ** price_elasticity_by_product[p] for p, w in weights.items())
    return float(np.log(response / total) / np.log1p(rise))
