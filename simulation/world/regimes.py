"""The market-regime path: a monthly Markov chain that moves churn, acquisition and demand."""

from __future__ import annotations

import numpy as np
import pandas as pd

REGIMES: tuple[str, ...] = ("bull", "bear", "recession", "recovery")

# Rows: from, columns: to. Regimes persist for several months on average.
REGIME_TRANSITIONS = np.array(
    [
        [0.90, 0.07, 0.01, 0.02],
        [0.10, 0.78, 0.10, 0.02],
        [0.00, 0.05, 0.80, 0.15],
        [0.20, 0.03, 0.02, 0.75],
    ]
)
# Additive churn log-odds and multiplicative acquisition/demand effects per regime.
REGIME_CHURN_LOGIT = np.array([-0.10, 0.10, 0.35, 0.0])
REGIME_ACQUISITION = np.array([1.10, 0.95, 0.80, 1.00])


def sample_regime_path(n_months: int, rng: np.random.Generator, start: int = 0) -> np.ndarray:
    """Regime codes for `n_months` months, starting in regime `start`."""
    path = np.empty(n_months, dtype=np.int64)
    state = start
    cumulative = REGIME_TRANSITIONS.cumsum(axis=1)
    draws = rng.random(n_months)
    for month in range(n_months):  # one step per month, not per row
        path[month] = state
        state = int(np.searchsorted(cumulative[state], draws[month], side="right"))
    return path


def regime_truth(month_starts: np.ndarray, path: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month_start": pd.to_datetime(month_starts),
            "regime": pd.Series(np.array(REGIMES)[path], dtype="str"),
            "churn_logit_effect": REGIME_CHURN_LOGIT[path],
            "acquisition_multiplier": REGIME_ACQUISITION[path],
        }
    )
