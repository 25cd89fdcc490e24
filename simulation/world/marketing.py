"""Marketing: daily spend and conversions per channel, with adstock carry-over and saturation.

Conversions per channel-day are Poisson with mean
``baseline * season * regime + max_conversions * adstock / (adstock + half_saturation)``,
where ``adstock_t = spend_t + decay * adstock_{t-1}``. The true ROI of a channel is the
revenue of the conversions its spend caused divided by that spend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.world.context import WorldContext
from simulation.world.regimes import REGIME_ACQUISITION

CHANNELS: tuple[str, ...] = ("search", "social", "display", "email", "affiliate")
# Share of paid (spend-caused) conversions per channel, adstock decay, and the typical cost of
# one incremental conversion. ROI = value of a conversion / cost of an incremental conversion.
CHANNEL_SHARE = np.array([0.32, 0.26, 0.12, 0.18, 0.12])
ADSTOCK_DECAY = np.array([0.30, 0.55, 0.65, 0.10, 0.40])
COST_PER_INCREMENTAL_CONVERSION = np.array([110.0, 170.0, 380.0, 60.0, 230.0])
# Expected 12-month revenue of a newly acquired customer, used to value a conversion.
VALUE_PER_CONVERSION = 420.0
PAID_SHARE_OF_ACQUISITION = 0.7


@dataclass
class MarketingOutput:
    spend: pd.DataFrame
    truth: pd.DataFrame
    conversions: np.ndarray  # (n_days, n_channels) paid conversions
    organic_conversions: np.ndarray  # (n_days,)


def adstock(spend: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """Geometric carry-over along axis 0: a_t = s_t + decay * a_{t-1}."""
    carried = np.empty_like(spend, dtype=float)
    level = np.zeros(spend.shape[1:])
    for day in range(spend.shape[0]):  # one step per day, vectorised over channels
        level = spend[day] + decay * level
        carried[day] = level
    return carried


def generate_marketing(
    ctx: WorldContext, rng: np.random.Generator, daily_acquisitions: float
) -> MarketingOutput:
    """Spend and conversions that acquire on average `daily_acquisitions` customers a day."""
    cal = ctx.calendar
    n_days, n_ch = cal.n_days, len(CHANNELS)
    paid_per_day = daily_acquisitions * PAID_SHARE_OF_ACQUISITION * CHANNEL_SHARE
    mean_spend = paid_per_day * COST_PER_INCREMENTAL_CONVERSION

    # Campaign flights: the budget level changes every two weeks, so spend varies enough for
    # a media-mix model to identify each channel's response.
    n_flights = n_days // 14 + 1
    flight_level = rng.lognormal(mean=0.0, sigma=0.45, size=(n_flights, n_ch))
    flight_level /= flight_level.mean(axis=0)
    level = np.repeat(flight_level, 14, axis=0)[:n_days]
    weekday = (cal.days.astype("datetime64[D]").view("int64") + 3) % 7  # 0 = Monday
    weekday_factor = np.where(weekday >= 5, 0.8, 1.08)[:, None]
    spend = mean_spend * level * weekday_factor * rng.lognormal(0.0, 0.15, size=(n_days, n_ch))

    for event in ctx.cfg.drift_events("channel_mix"):
        onset = cal.day_index(event.start)
        target = CHANNELS.index(event.target) if event.target else 0
        total_before = spend[onset:].sum(axis=1, keepdims=True)
        spend[onset:, target] *= event.magnitude
        spend[onset:] *= total_before / spend[onset:].sum(axis=1, keepdims=True)

    carried = adstock(spend, ADSTOCK_DECAY)
    half_saturation = mean_spend / (1 - ADSTOCK_DECAY)  # the typical adstock level
    max_conversions = 2 * paid_per_day  # at the typical level the response is half its maximum
    regime = REGIME_ACQUISITION[ctx.regime_by_month[cal.month_of_day]][:, None]
    day_of_year = np.array(pd.DatetimeIndex(cal.days).dayofyear)
    season = (1 + 0.15 * np.sin(2 * np.pi * (day_of_year - 30) / 365.25))[:, None]
    incremental = max_conversions * carried / (carried + half_saturation) * regime * season
    conversions = rng.poisson(incremental)
    organic_mean = (
        daily_acquisitions * (1 - PAID_SHARE_OF_ACQUISITION) * regime[:, 0] * season[:, 0]
    )
    organic = rng.poisson(organic_mean)

    impressions = rng.poisson(spend * np.array([40.0, 120.0, 300.0, 25.0, 60.0]))
    clicks = rng.binomial(impressions, np.array([0.05, 0.012, 0.004, 0.08, 0.02]))
    spend_table = pd.DataFrame(
        {
            "date": pd.to_datetime(np.repeat(cal.days, n_ch)),
            "channel": pd.Series(np.tile(np.array(CHANNELS), n_days), dtype="str"),
            "spend": np.round(spend.ravel(), 2),
            "impressions": impressions.ravel().astype(np.int64),
            "clicks": clicks.ravel().astype(np.int64),
            "conversions": conversions.ravel().astype(np.int64),
        }
    )
    true_roi = VALUE_PER_CONVERSION * incremental.sum(axis=0) / spend.sum(axis=0)
    truth = pd.DataFrame(
        {
            "channel": pd.Series(CHANNELS, dtype="str"),
            "adstock_decay": ADSTOCK_DECAY,
            "half_saturation_adstock": half_saturation,
            "max_daily_conversions": max_conversions,
            "value_per_conversion": VALUE_PER_CONVERSION,
            "total_spend": spend.sum(axis=0),
            "expected_incremental_conversions": incremental.sum(axis=0),
            "true_roi": true_roi,
        }
    )
    return MarketingOutput(spend_table, truth, conversions, organic)
