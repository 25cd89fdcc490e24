"""A customer-month frame with a known churn signal, so ML tests run without dbt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.churn import CATEGORICAL_FEATURES, LABEL, NUMERIC_FEATURES


def synthetic_customer_months(
    n_customers: int = 1500, n_months: int = 8, seed: int = 3
) -> pd.DataFrame:
    """Churn is driven by sessions_30d (low usage churns), as in the world generator."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2025-01-01", periods=n_months, freq="MS")
    frame = pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(1, n_customers + 1), n_months),
            "month_start": np.tile(months, n_customers).astype("datetime64[s]"),
        }
    )
    n = len(frame)
    engagement = rng.normal(size=n)
    for name in NUMERIC_FEATURES:
        frame[name] = rng.gamma(2.0, 2.0, size=n)
    frame["sessions_30d"] = rng.poisson(np.exp(2.0 + 0.8 * engagement)).astype(float)
    frame["segment"] = pd.Series(rng.choice(["basic", "standard", "premium"], n), dtype="str")
    frame["region"] = pd.Series(rng.choice(["north", "south", "east", "west"], n), dtype="str")
    frame["plan"] = pd.Series(rng.choice(["monthly", "annual"], n), dtype="str")
    frame["acquisition_channel"] = pd.Series(
        rng.choice(["search", "social", "organic"], n), dtype="str"
    )
    true_probability = 1 / (1 + np.exp(-(-3.0 - 1.2 * engagement)))
    frame[LABEL] = rng.random(n) < true_probability
    frame["true_probability"] = true_probability
    assert set(CATEGORICAL_FEATURES) <= set(frame.columns)
    return frame


@pytest.fixture(scope="session")
def customer_months() -> pd.DataFrame:
    return synthetic_customer_months()


@pytest.fixture(scope="session")
def true_churn(customer_months: pd.DataFrame) -> pd.DataFrame:
    """Truth keyed like the generator's: the month in which churn may happen (features' month + 1)."""
    truth = customer_months[["customer_id", "month_start", "true_probability"]].rename(
        columns={"true_probability": "churn_probability"}
    )
    truth["month_start"] = (truth["month_start"] + pd.DateOffset(months=1)).astype("datetime64[s]")
    return truth
