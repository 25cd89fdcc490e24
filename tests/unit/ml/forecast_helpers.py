"""Shared by the forecasting tests: synthetic demand with known effects, truth frames, rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.forecasting import SELECTED

LIFT, ELASTICITY = 0.4, -1.5
"""The promotion lift (log) and price elasticity of :func:`promoted_daily_demand`."""


def poisson_truth(series_id: str, dates: pd.DatetimeIndex, expected: np.ndarray) -> pd.DataFrame:
    """The world-truth frame of Poisson orders around ``expected`` (noise sd = sqrt(mean))."""
    return pd.DataFrame(
        {"series_id": series_id, "date": dates, "expected": expected, "noise_sd": np.sqrt(expected)}
    )


def chosen(result, horizon: int) -> pd.Series:
    """The selected model's summary row at ``horizon``."""
    summary = result.summary()
    return summary[(summary["model"] == SELECTED) & (summary["horizon"] == horizon)].iloc[0]


def promoted_daily_demand(
    n_days: int = 280, seed: int = 3, series_ids: tuple[str, ...] = ("P01|north", "P02|south")
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily orders with promo weeks (20 % off plus a lift) and price steps every 8 weeks."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    weekly = np.log(np.array([0.9, 0.95, 1.0, 1.0, 1.1, 1.3, 0.75]))[dates.dayofweek]
    series, truth = [], []
    for index, series_id in enumerate(series_ids):
        promo = np.repeat(rng.random(n_days // 7 + 1) < 0.2, 7)[:n_days].astype(float)
        list_price = 20.0 * np.exp(np.repeat(rng.normal(0, 0.12, n_days // 56 + 1), 56)[:n_days])
        price = list_price * np.where(promo > 0, 0.8, 1.0)
        log_mean = (
            np.log(40.0 + 10 * index) + weekly + LIFT * promo + ELASTICITY * np.log(price / 20)
        )
        expected = np.exp(log_mean)
        orders = rng.poisson(expected).astype(float)
        series.append(
            pd.DataFrame(
                {
                    "series_id": series_id,
                    "date": dates,
                    "value": orders,
                    "promo": promo,
                    "unit_price": price,
                }
            )
        )
        truth.append(poisson_truth(series_id, dates, expected))
    return pd.concat(series, ignore_index=True), pd.concat(truth, ignore_index=True)
