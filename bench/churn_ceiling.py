"""How well can any churn model do from the usage data? A Bayes filter with the world's truth.

Run with ``uv run python -m bench.churn_ceiling [--seed 42]``. A diagnostic, not a model: it
reads the world's true parameters, which no model in ``ml/`` may.

The true churn log-odds of month m+1 are linear in the customer's latent engagement of month m
(``simulation/world/customers.py``); everything else in them (tenure, segment, plan, regime,
price shock) is visible in the data. Engagement is an AR(1) around a segment mean, and it shows
in usage: sessions a month are Poisson in ``exp(2.3 + 0.9 engagement)`` per active day, and each
session's minutes are log-normal around ``2.8 + 0.3 engagement``. The filter carries each
customer's posterior over engagement on a grid, month by month, from those observations (it
ignores tickets and NPS, which the churn model also reads). Its churn probability averages the
true probability over that posterior. Its ROC AUC on the churn model's holdout months is the
best that features of usage can support, up to those tickets and surveys.

Printed: the oracle's ROC AUC, and the filter's with sessions only and with sessions and minutes,
each with its gap to the oracle (``docs/models.md``).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.churn import ChurnTrainingConfig
from simulation.world import WorldConfig
from simulation.world.customers import (
    CHURN_ENGAGEMENT,
    ENGAGEMENT_INNOVATION_SD,
    ENGAGEMENT_MEAN,
    ENGAGEMENT_PERSISTENCE,
    SEGMENTS,
    SESSION_MINUTES_ENGAGEMENT_SLOPE,
    SESSION_MINUTES_LOG_MEAN,
    SESSION_MINUTES_LOG_SD,
    SESSIONS_ENGAGEMENT_SLOPE,
    SESSIONS_LOG_MEAN,
    CustomersOutput,
)
from simulation.world.generator import generate_customer_base

GRID = np.linspace(-5.0, 5.0, 201)
HOLDOUT_MONTHS = ChurnTrainingConfig().holdout_months  # the churn model's holdout


def _observations(customers: CustomersOutput) -> pd.DataFrame:
    """The customer-month panel with its session count and sum of log minutes."""
    usage = customers.usage_events
    month = usage["session_date"].dt.to_period("M").dt.to_timestamp()
    observed = (
        usage.assign(month_start=month, log_minutes=np.log(usage["minutes"].clip(lower=0.05)))
        .groupby(["customer_id", "month_start"])
        .agg(sessions=("log_minutes", "size"), log_minutes=("log_minutes", "sum"))
        .reset_index()
    )
    panel = customers.customer_months.assign(
        month_start=lambda frame: pd.to_datetime(frame["month_start"])
    )
    return panel.merge(observed, on=["customer_id", "month_start"], how="left").fillna(
        {"sessions": 0, "log_minutes": 0.0}
    )


def _transition_kernels() -> list[np.ndarray]:
    """Per segment, P(next engagement grid point | this one)."""
    kernels = []
    for mean in ENGAGEMENT_MEAN:
        expected = mean + ENGAGEMENT_PERSISTENCE * (GRID - mean)
        kernel = np.exp(
            -0.5 * ((GRID[None, :] - expected[:, None]) / ENGAGEMENT_INNOVATION_SD) ** 2
        )
        kernels.append(kernel / kernel.sum(axis=1, keepdims=True))
    return kernels


def filtered_log_posteriors(
    customers: CustomersOutput, use_minutes: bool
) -> dict[pd.Timestamp, tuple[np.ndarray, np.ndarray]]:
    """Per month: the customers active in it and their log posterior over `GRID` at its end."""
    panel = _observations(customers)
    segment_of = pd.Series(
        pd.Categorical(customers.customers["segment"], categories=SEGMENTS).codes,
        index=customers.customers["customer_id"],
    )
    stationary_sd = ENGAGEMENT_INNOVATION_SD / np.sqrt(1 - ENGAGEMENT_PERSISTENCE**2)
    kernels = _transition_kernels()
    latest: dict[int, np.ndarray] = {}
    out = {}
    for month, rows in panel.groupby("month_start", sort=True):  # one step per month
        ids = rows["customer_id"].to_numpy()
        segment = segment_of.loc[ids].to_numpy()
        prior = -0.5 * ((GRID[None, :] - ENGAGEMENT_MEAN[segment][:, None]) / stationary_sd) ** 2
        seen = np.array([customer in latest for customer in ids])
        if seen.any():
            before = np.stack([latest[customer] for customer in ids[seen]])
            weights = np.exp(before - before.max(axis=1, keepdims=True))
            weights /= weights.sum(axis=1, keepdims=True)
            moved = np.empty_like(weights)
            for code, kernel in enumerate(kernels):
                rows_of = segment[seen] == code
                moved[rows_of] = weights[rows_of] @ kernel
            prior[seen] = np.log(np.maximum(moved, 1e-300))
        days = (month + pd.offsets.MonthBegin(1) - month).days
        exposure = rows["active_days"].to_numpy() / days
        sessions = rows["sessions"].to_numpy()
        rate = np.exp(SESSIONS_LOG_MEAN + SESSIONS_ENGAGEMENT_SLOPE * GRID)[None, :]
        log_likelihood = (
            sessions[:, None] * SESSIONS_ENGAGEMENT_SLOPE * GRID - rate * exposure[:, None]
        )
        if use_minutes:
            mean_log = rows["log_minutes"].to_numpy() / np.maximum(sessions, 1)
            centre = SESSION_MINUTES_LOG_MEAN + SESSION_MINUTES_ENGAGEMENT_SLOPE * GRID[None, :]
            log_likelihood -= (
                sessions[:, None]
                / (2 * SESSION_MINUTES_LOG_SD**2)
                * (mean_log[:, None] - centre) ** 2
            )
        posterior = prior + log_likelihood
        latest.update(zip(ids, posterior, strict=True))
        out[pd.Timestamp(month)] = (ids, posterior)
    return out


def ceiling(seed: int) -> dict[str, float]:
    """Oracle and filter ROC AUC on the churn model's holdout months of world `seed`."""
    _, _, customers = generate_customer_base(WorldConfig(seed=seed))
    truth = customers.churn_truth.assign(month_start=lambda f: pd.to_datetime(f["month_start"]))
    engagement = customers.customer_months.assign(
        month_start=lambda f: pd.to_datetime(f["month_start"])
    )[["customer_id", "month_start", "engagement"]]
    churn_months = np.sort(truth["month_start"].unique())[-HOLDOUT_MONTHS:]
    figures = {}
    for use_minutes, name in ((False, "sessions"), (True, "sessions_and_minutes")):
        posteriors = filtered_log_posteriors(customers, use_minutes)
        parts = []
        for churn_month in map(pd.Timestamp, churn_months):
            month = churn_month - pd.DateOffset(months=1)
            rows = truth[truth["month_start"] == churn_month].merge(
                engagement[engagement["month_start"] == month].drop(columns="month_start"),
                on="customer_id",
            )
            ids, log_posterior = posteriors[month]
            at = pd.Series(np.arange(len(ids)), index=ids).loc[rows["customer_id"]].to_numpy()
            weights = np.exp(log_posterior[at] - log_posterior[at].max(axis=1, keepdims=True))
            weights /= weights.sum(axis=1, keepdims=True)
            p = rows["churn_probability"].to_numpy()
            # Everything but engagement, from the truth: logit(p) minus engagement's term.
            rest = np.log(p / (1 - p)) - CHURN_ENGAGEMENT * rows["engagement"].to_numpy()
            logits = rest[:, None] + CHURN_ENGAGEMENT * GRID[None, :]
            rows["filtered"] = (weights / (1 + np.exp(-logits))).sum(axis=1)
            parts.append(rows)
        holdout = pd.concat(parts)
        churned = holdout["churned"].astype(int)
        figures["oracle_roc_auc"] = float(roc_auc_score(churned, holdout["churn_probability"]))
        figures[f"filter_{name}_roc_auc"] = float(roc_auc_score(churned, holdout["filtered"]))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=WorldConfig().seed, help="World seed.")
    args = parser.parse_args()
    figures = ceiling(args.seed)
    oracle = figures["oracle_roc_auc"]
    print(f"world seed {args.seed}: oracle ROC AUC {oracle:.4f}")
    for name in ("sessions", "sessions_and_minutes"):
        auc = figures[f"filter_{name}_roc_auc"]
        print(f"  filter on {name.replace('_', ' ')}: ROC AUC {auc:.4f}, gap {oracle - auc:.4f}")


if __name__ == "__main__":
    main()
