"""Shared by the forecasting tests: the truth frame of a Poisson series, the chosen model's row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.forecasting import SELECTED


def poisson_truth(series_id: str, dates: pd.DatetimeIndex, expected: np.ndarray) -> pd.DataFrame:
    """The world-truth frame of Poisson orders around ``expected`` (noise sd = sqrt(mean))."""
    return pd.DataFrame(
        {"series_id": series_id, "date": dates, "expected": expected, "noise_sd": np.sqrt(expected)}
    )


def chosen(result, horizon: int) -> pd.Series:
    """The selected model's summary row at ``horizon``."""
    summary = result.summary()
    return summary[(summary["model"] == SELECTED) & (summary["horizon"] == horizon)].iloc[0]
