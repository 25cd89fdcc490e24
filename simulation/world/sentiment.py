"""Sentiment: NPS survey responses driven by each customer's latent engagement.

Each customer-month an active customer is invited with probability `INVITE_PROBABILITY` (scaled
by the share of the month they were active) and answers with a probability that rises with
engagement, so the surveyed NPS is biased upwards against the whole base. The score is
``round(latent)`` clipped to 0–10 with latent ~ N(intercept + slope * engagement + segment, sd).
The truth records each month's NPS of the whole active base under that model: what the survey
estimates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from simulation.world.context import DepartmentOutput, WorldContext, department_rng
from simulation.world.customers import SEGMENTS

SURVEY_CHANNELS: tuple[str, ...] = ("email", "in_app", "sms")
SURVEY_CHANNEL_SHARE = np.array([0.5, 0.4, 0.1])
INVITE_PROBABILITY = 0.10
RESPONSE_LOGIT_INTERCEPT = -0.4
RESPONSE_LOGIT_ENGAGEMENT = 0.5
SCORE_INTERCEPT = 7.2
SCORE_ENGAGEMENT_SLOPE = 1.6
SCORE_SEGMENT_EFFECT = np.array([-0.3, 0.0, 0.3])  # basic, standard, premium
SCORE_NOISE_SD = 1.6


def _epoch_days(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


def generate(ctx: WorldContext) -> DepartmentOutput:
    """The `nps_responses` table and each month's true NPS of the whole active base."""
    rng = department_rng(ctx.cfg, "sentiment")
    cal = ctx.calendar
    panel = ctx.customer_months
    engagement = panel["engagement"].to_numpy()
    segment = np.zeros(len(panel), dtype=np.int64)
    for code, name in enumerate(SEGMENTS):  # three vectorised comparisons beat a categorical
        segment[(panel["segment"] == name).to_numpy()] = code
    active_days = panel["active_days"].to_numpy().astype(np.int64)
    month_start = _epoch_days(panel["month_start"].to_numpy())
    panel_month = np.searchsorted(_epoch_days(cal.month_starts), month_start)
    days_in_month = np.bincount(cal.month_of_day, minlength=cal.n_months)

    invited = rng.random(len(panel)) < INVITE_PROBABILITY * active_days / days_in_month[panel_month]
    response_logit = RESPONSE_LOGIT_INTERCEPT + RESPONSE_LOGIT_ENGAGEMENT * engagement
    responded = invited & (rng.random(len(panel)) < 1 / (1 + np.exp(-response_logit)))
    row = np.flatnonzero(responded)
    n = len(row)

    customer_ids = ctx.customers["customer_id"].to_numpy()
    signup = _epoch_days(ctx.customers["signup_date"].to_numpy())
    customer = panel["customer_id"].to_numpy()[row]
    first_day = _epoch_days(cal.days[:1])[0]
    span_start = np.maximum(
        np.maximum(signup[np.searchsorted(customer_ids, customer)], month_start[row]), first_day
    )
    response_day = span_start + (rng.random(n) * active_days[row]).astype(np.int64)
    score_mean = (
        SCORE_INTERCEPT + SCORE_ENGAGEMENT_SLOPE * engagement + SCORE_SEGMENT_EFFECT[segment]
    )
    latent = score_mean[row] + SCORE_NOISE_SD * rng.standard_normal(n)
    score = np.clip(np.round(latent), 0, 10).astype(np.int64)
    channel = rng.choice(len(SURVEY_CHANNELS), size=n, p=SURVEY_CHANNEL_SHARE)

    order = np.lexsort((customer, response_day))
    responses = pd.DataFrame(
        {
            "response_id": np.arange(1, n + 1, dtype=np.int64),
            "customer_id": customer[order],
            "response_date": pd.Series(
                response_day[order].astype("datetime64[D]").astype("datetime64[s]")
            ),
            "score": score[order],
            # Labels via an object array: several times faster than numpy unicode into "str".
            "channel": pd.Series(
                np.array(SURVEY_CHANNELS, dtype=object)[channel[order]], dtype="str"
            ),
        }
    )

    # Score >= 9 (promoter) means latent >= 8.5; score <= 6 (detractor) means latent < 6.5.
    p_promoter = 1 - ndtr((8.5 - score_mean) / SCORE_NOISE_SD)
    p_detractor = ndtr((6.5 - score_mean) / SCORE_NOISE_SD)
    customers_per_month = np.bincount(panel_month, minlength=cal.n_months)
    per_month = np.maximum(customers_per_month, 1)
    truth = pd.DataFrame(
        {
            "month_start": pd.Series(cal.month_starts.astype("datetime64[s]")),
            "active_customers": customers_per_month,
            "true_nps": 100
            * (
                np.bincount(panel_month, weights=p_promoter, minlength=cal.n_months)
                - np.bincount(panel_month, weights=p_detractor, minlength=cal.n_months)
            )
            / per_month,
            "true_mean_score": np.bincount(panel_month, weights=score_mean, minlength=cal.n_months)
            / per_month,
            "responses": np.bincount(panel_month[row], minlength=cal.n_months),
        }
    )
    return DepartmentOutput(tables={"nps_responses": responses}, truth={"nps_monthly": truth})
