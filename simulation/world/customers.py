"""Customers and revenue: signups, billing, usage and churn with a known churn probability.

Each customer has a latent monthly engagement, an AR(1) around a segment mean. Engagement
shows in usage (sessions a month are Poisson in ``exp(engagement)``) and drives churn: the
probability of churning in month m is a logistic function of the engagement of month m-1,
tenure, segment, plan, the market regime and any recent price increase. That probability is
the oracle a churn model is measured against.

Prices rise in two ways. An injected ``price_change`` drift event raises every active
customer's price (and the list price of later signups) from its day on. The **price-testing
programme** runs in every world: once a quarter, on a random day of the quarter's first month,
a random cohort of 5-10 % of the active customers gets a list-price rise of 3-15 % (drawn per
customer). Both are recorded as ``price_change`` events and add the same fading shock to the
churn log-odds, so a churn model sees enough price variation to measure the effect of price
on churn. Each tested customer is one row of the ``price_tests`` truth table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.world.context import Calendar, WorldContext
from simulation.world.marketing import CHANNELS, MarketingOutput
from simulation.world.regimes import REGIME_CHURN_LOGIT

SEGMENTS: tuple[str, ...] = ("basic", "standard", "premium")
REGIONS: tuple[str, ...] = ("north", "south", "east", "west")
PLANS: tuple[str, ...] = ("monthly", "annual")
ACQUISITION_CHANNELS: tuple[str, ...] = (*CHANNELS, "organic")
EVENT_TYPES: tuple[str, ...] = ("signup", "charge", "price_change", "cancel")

LIST_PRICE = np.array([19.0, 49.0, 99.0])  # monthly list price per segment
REGION_PRICE_FACTOR = np.array([1.0, 0.95, 0.9, 1.05])
REGION_WEIGHTS = np.array([0.35, 0.25, 0.2, 0.2])
ANNUAL_DISCOUNT = 0.85
# P(segment | acquisition channel), rows in ACQUISITION_CHANNELS order.
SEGMENT_GIVEN_CHANNEL = np.array(
    [
        [0.35, 0.40, 0.25],  # search
        [0.50, 0.35, 0.15],  # social
        [0.45, 0.40, 0.15],  # display
        [0.30, 0.40, 0.30],  # email
        [0.40, 0.40, 0.20],  # affiliate
        [0.30, 0.45, 0.25],  # organic
    ]
)
ANNUAL_SHARE = np.array([0.15, 0.25, 0.35])

# Engagement dynamics and the true churn model (log-odds).
ENGAGEMENT_MEAN = np.array([-0.3, 0.0, 0.3])
ENGAGEMENT_PERSISTENCE = 0.8
ENGAGEMENT_INNOVATION_SD = 0.5
SESSIONS_LOG_MEAN = 2.3  # exp(2.3) ~ 10 sessions a month at average engagement
SESSIONS_ENGAGEMENT_SLOPE = 0.9
# Session minutes are log-normal: engaged customers also stay longer in a session.
SESSION_MINUTES_LOG_MEAN = 2.8
SESSION_MINUTES_ENGAGEMENT_SLOPE = 0.3
SESSION_MINUTES_LOG_SD = 0.5
CHURN_INTERCEPT = -3.0
CHURN_ENGAGEMENT = -1.3
CHURN_LOG_TENURE = -0.25
CHURN_SEGMENT = np.array([0.25, 0.0, -0.25])
CHURN_ANNUAL_PLAN = -0.9
CHURN_PRICE_SENSITIVITY = 4.0  # log-odds per unit relative price increase, fading over ~3 months
PRICE_SHOCK_MONTHLY_FADE = float(np.exp(-1 / 3))

# Price-testing programme. Small on purpose: a wave moves 5-10 % of a day's charges up by
# 3-15 %, a shift of the billed-price distribution that the daily billing drift monitor does
# not alarm on (bench.drift). Tested customers keep their price, so after two years about
# 30 % of charges are at a tested price.
PRICE_TEST_COHORT_SHARE = (0.05, 0.10)  # share of active customers tested, drawn per quarter
PRICE_TEST_RISE = (0.03, 0.15)  # relative price rise, drawn per customer, rounded to 1 %
PRICE_TEST_DAY_SPREAD = 28  # the test starts on one of the first 28 days of the quarter


@dataclass
class CustomersOutput:
    customers: pd.DataFrame
    subscription_events: pd.DataFrame
    usage_events: pd.DataFrame
    churn_truth: pd.DataFrame
    customer_months: pd.DataFrame
    price_tests: pd.DataFrame


@dataclass(frozen=True)
class PriceTestWave:
    """One quarter's price test: its first day (epoch days) and the share of customers tested."""

    day: int
    cohort_share: float


def price_test_waves(calendar: Calendar, rng: np.random.Generator) -> list[PriceTestWave]:
    """One wave per calendar quarter: a random day of its first month inside the window."""
    first, last = (int(d) for d in _epoch_days(calendar.days[[0, -1]]))
    waves = []
    for month_start in calendar.month_starts:
        if month_start.astype("datetime64[M]").astype(np.int64) % 3:
            continue  # not January, April, July or October
        day = int(_epoch_days(np.array([month_start]))[0]) + int(
            rng.integers(PRICE_TEST_DAY_SPREAD)
        )
        share = float(rng.uniform(*PRICE_TEST_COHORT_SHARE))
        if first <= day <= last:
            waves.append(PriceTestWave(day=day, cohort_share=share))
    return waves


def _epoch_days(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[D]").astype(np.int64)


def _to_timestamps(epoch_days: np.ndarray) -> pd.Series:
    return pd.Series(epoch_days.astype("datetime64[D]").astype("datetime64[s]"))


def _acquisitions(ctx: WorldContext, rng: np.random.Generator, mk: MarketingOutput):
    """Signup day and channel of every customer: an initial base plus marketing conversions."""
    cfg, cal = ctx.cfg, ctx.calendar
    first_day = int(_epoch_days(cal.days[:1])[0])
    n_base = round(cfg.n_customers * cfg.initial_base_share)
    base_days = first_day - rng.integers(1, 730, size=n_base)
    base_channels = rng.choice(
        len(ACQUISITION_CHANNELS), size=n_base, p=[0.22, 0.18, 0.08, 0.12, 0.08, 0.32]
    )
    counts = np.concatenate([mk.conversions, mk.organic_conversions[:, None]], axis=1)
    day_grid = np.repeat(_epoch_days(cal.days), counts.shape[1])
    channel_grid = np.tile(np.arange(counts.shape[1]), cal.n_days)
    acquired_days = np.repeat(day_grid, counts.ravel())
    acquired_channels = np.repeat(channel_grid, counts.ravel())
    signup_day = np.concatenate([np.sort(base_days), acquired_days])
    channel = np.concatenate([base_channels, acquired_channels])
    return signup_day, channel


def generate_customers(
    ctx: WorldContext,
    rng: np.random.Generator,
    mk: MarketingOutput,
    price_test_rng: np.random.Generator | None = None,
) -> CustomersOutput:
    """Customers, their events and churn truth; ``price_test_rng`` draws the price tests."""
    cfg, cal = ctx.cfg, ctx.calendar
    signup_day, channel = _acquisitions(ctx, rng, mk)
    n = len(signup_day)
    customer_id = np.arange(1, n + 1, dtype=np.int64)
    u = rng.random(n)
    segment = (u[:, None] > SEGMENT_GIVEN_CHANNEL[channel].cumsum(axis=1)).sum(axis=1)
    region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)
    plan = (rng.random(n) < ANNUAL_SHARE[segment]).astype(np.int64)
    list_price = LIST_PRICE[segment] * REGION_PRICE_FACTOR[region]
    price = np.round(np.where(plan == 1, list_price * ANNUAL_DISCOUNT, list_price), 2)
    signup_price = price.copy()

    month_start = _epoch_days(cal.month_starts)
    month_end = np.append(month_start[1:], _epoch_days(cal.days[-1:])[0] + 1)  # exclusive
    first_day, last_day = int(_epoch_days(cal.days[:1])[0]), int(_epoch_days(cal.days[-1:])[0])
    signup_month = signup_day.astype("datetime64[D]").astype("datetime64[M]")
    signup_dom = signup_day - signup_month.astype("datetime64[D]").astype(np.int64)
    signup_month_of_year = signup_month.astype(np.int64) % 12

    mu = ENGAGEMENT_MEAN[segment]
    stationary_sd = ENGAGEMENT_INNOVATION_SD / np.sqrt(1 - ENGAGEMENT_PERSISTENCE**2)
    engagement = mu + stationary_sd * rng.standard_normal(n)
    churn_day = np.full(n, np.iinfo(np.int64).max)
    price_shock = np.zeros(n)  # relative price increase not yet absorbed

    price_events = [
        (int(_epoch_days(np.array([e.start]))[0]), e.magnitude)
        for e in cfg.drift_events("price_change")
    ]
    # The programme draws from its own stream, so its cohorts do not shift the other draws.
    test_rng = price_test_rng if price_test_rng is not None else np.random.default_rng(0)
    waves = price_test_waves(cal, test_rng) if cfg.price_tests else []
    test_parts: list[tuple[np.ndarray, ...]] = []
    events: list[tuple[np.ndarray, ...]] = []
    usage_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    truth_parts: list[tuple[np.ndarray, ...]] = []
    panel_parts: list[tuple[np.ndarray, ...]] = []

    for m in range(cal.n_months):  # one vectorised step per month
        m0, m1 = month_start[m], month_end[m]
        # 1. Churn in month m for customers who were already customers before m started.
        at_risk = (signup_day < m0) & (churn_day >= m0)
        tenure_months = (m0 - signup_day[at_risk]) / 30.44
        logit = (
            CHURN_INTERCEPT
            + CHURN_SEGMENT[segment[at_risk]]
            + CHURN_ENGAGEMENT * engagement[at_risk]
            + CHURN_LOG_TENURE * np.log1p(tenure_months)
            + CHURN_ANNUAL_PLAN * plan[at_risk]
            + REGIME_CHURN_LOGIT[ctx.regime_by_month[m]]
            + CHURN_PRICE_SENSITIVITY * price_shock[at_risk]
        )
        p_churn = 1.0 / (1.0 + np.exp(-logit))
        churns = rng.random(p_churn.shape) < p_churn
        idx_at_risk = np.flatnonzero(at_risk)
        churners = idx_at_risk[churns]
        churn_day[churners] = rng.integers(m0, m1, size=len(churners))
        if m0 >= first_day:
            truth_parts.append((customer_id[at_risk], np.full(at_risk.sum(), m0), p_churn, churns))
        price_shock *= PRICE_SHOCK_MONTHLY_FADE

        # 2. Price changes in force from a day of this month: injected drift (everyone, and the
        # list price of later signups) and the quarter's price test (a random cohort). Charges
        # earlier in the month keep the old price, so a change shows in the data from its day on.
        price_before_change: np.ndarray | None = None
        change_day = np.empty(0, dtype=np.int64)
        changes = [(day, magnitude, None) for day, magnitude in price_events if m0 <= day < m1]
        changes += [(w.day, None, w.cohort_share) for w in waves if m0 <= w.day < m1]
        for day, magnitude, cohort_share in sorted(changes, key=lambda change: change[0]):
            if price_before_change is None:
                price_before_change = price.copy()
                change_day = np.full(n, np.iinfo(np.int64).max)
            active = np.flatnonzero((signup_day < day) & (churn_day > day))
            if cohort_share is None:
                hit, rise = active, np.full(len(active), magnitude)
            else:
                hit = active[test_rng.random(len(active)) < cohort_share]
                rise = np.round(test_rng.uniform(*PRICE_TEST_RISE, size=len(hit)), 2)
                test_parts.append(
                    (customer_id[hit], np.full(len(hit), day), rise, price[hit].copy())
                )
            change_day[hit] = day
            price[hit] = np.round(price[hit] * (1 + rise), 2)
            price_shock[hit] += rise
            events.append(
                (
                    customer_id[hit],
                    np.full(len(hit), day),
                    np.full(len(hit), 2),
                    np.zeros(len(hit)),
                    price[hit],
                )
            )
            if cohort_share is None:
                # Later signups pay the new list price from their signup on: their signup
                # event and `customers.monthly_price` carry it, and they had no rise (no shock).
                later = signup_day >= day
                signup_price[later] = np.round(signup_price[later] * (1 + magnitude), 2)
                price[later] = signup_price[later]

        # 3. Engagement and usage of everyone active at some point in the month.
        alive = (signup_day < m1) & (churn_day > m0)
        idx = np.flatnonzero(alive)
        new = signup_day[idx] >= m0
        old = idx[~new]
        engagement[old] = (
            mu[old]
            + ENGAGEMENT_PERSISTENCE * (engagement[old] - mu[old])
            + ENGAGEMENT_INNOVATION_SD * rng.standard_normal(len(old))
        )
        lo = np.maximum(signup_day[idx], max(m0, first_day))
        hi = np.minimum(churn_day[idx], min(m1, last_day + 1))
        span = np.maximum(hi - lo, 0)
        if m1 > first_day:
            rate = (
                np.exp(SESSIONS_LOG_MEAN + SESSIONS_ENGAGEMENT_SLOPE * engagement[idx])
                * span
                / (m1 - m0)
            )
            sessions = rng.poisson(rate)
            # Keep only the day offset per session (int16): who and engagement are rebuilt from
            # the per-customer arrays after the loop, which keeps 1M-customer worlds in memory.
            offset = (rng.random(sessions.sum()) * np.repeat(span, sessions)).astype(np.int64)
            offset += np.repeat(lo - m0, sessions)
            usage_parts.append(
                (idx.astype(np.int32), sessions, engagement[idx], m0, offset.astype(np.int16))
            )
            panel_parts.append(
                (customer_id[idx], np.full(len(idx), m0), engagement[idx], segment[idx], span)
            )

        # 4. Billing: monthly plans on the signup day of month, annual plans once a year.
        billing_dom = np.minimum(signup_dom[idx], m1 - m0 - 1)
        bill_day = m0 + billing_dom
        month_of_year = np.int64(
            np.datetime64(int(m0), "D").astype("datetime64[M]").astype(np.int64) % 12
        )
        due = (plan[idx] == 0) | (signup_month_of_year[idx] == month_of_year)
        billed = (
            due
            & (bill_day > signup_day[idx])
            & (bill_day < churn_day[idx])
            & (bill_day >= first_day)
            & (bill_day <= last_day)
        )
        b = idx[billed]
        billed_price = price[b]
        if price_before_change is not None:
            billed_price = np.where(
                bill_day[billed] < change_day[b], price_before_change[b], price[b]
            )
        amount = np.where(plan[b] == 1, billed_price * 12, billed_price)
        events.append(
            (
                customer_id[b],
                bill_day[billed],
                np.full(len(b), 1),
                np.round(amount, 2),
                billed_price,
            )
        )

    # Signups inside the window (with their first charge) and cancellations.
    inside = signup_day >= first_day
    first_charge = np.where(plan[inside] == 1, signup_price[inside] * 12, signup_price[inside])
    events.append(
        (
            customer_id[inside],
            signup_day[inside],
            np.zeros(inside.sum(), dtype=np.int64),
            np.round(first_charge, 2),
            signup_price[inside],
        )
    )
    cancelled = churn_day <= last_day
    events.append(
        (
            customer_id[cancelled],
            churn_day[cancelled],
            np.full(cancelled.sum(), 3),
            np.zeros(cancelled.sum()),
            price[cancelled],
        )
    )

    ev_customer, ev_day, ev_type, ev_amount, ev_price = (
        np.concatenate(parts) for parts in zip(*events, strict=True)
    )
    order = np.lexsort((ev_type, ev_customer, ev_day))
    subscription_events = pd.DataFrame(
        {
            "event_id": np.arange(1, len(order) + 1, dtype=np.int64),
            "customer_id": ev_customer[order],
            "event_date": _to_timestamps(ev_day[order]),
            "event_type": pd.Series(np.array(EVENT_TYPES)[ev_type[order]], dtype="str"),
            "amount": ev_amount[order].astype(float),
            "monthly_price": ev_price[order].astype(float),
        }
    )

    # Usage, month by month into preallocated columns. Months cover disjoint, increasing days and
    # `who` is ascending within a month, so a stable sort on the day offset inside each month
    # gives the (day, customer) order of the whole table without one huge lexsort. Minutes are
    # drawn month by month in that order: the same draws as one call over the sorted table.
    n_sessions = sum(len(part[4]) for part in usage_parts)
    session_customer = np.empty(n_sessions, dtype=np.int64)
    session_day = np.empty(n_sessions, dtype="datetime64[s]")
    minutes = np.empty(n_sessions)
    at = 0
    for idx_m, sessions_m, engagement_m, m0, offset in usage_parts:  # one step per month
        order = np.argsort(offset, kind="stable")
        end = at + len(offset)
        who = np.repeat(idx_m, sessions_m)[order]
        session_customer[at:end] = customer_id[who]
        session_day[at:end] = (m0 + offset[order].astype(np.int64)).astype("datetime64[D]")
        log_mean = (
            SESSION_MINUTES_LOG_MEAN
            + SESSION_MINUTES_ENGAGEMENT_SLOPE * np.repeat(engagement_m, sessions_m)[order]
        )
        minutes[at:end] = np.round(rng.lognormal(log_mean, SESSION_MINUTES_LOG_SD), 1)
        at = end
    usage_events = pd.DataFrame(
        {
            "session_id": np.arange(1, n_sessions + 1, dtype=np.int64),
            "customer_id": session_customer,
            "session_date": pd.Series(session_day, copy=False),
            "minutes": minutes,
        },
        copy=False,
    )

    customers = pd.DataFrame(
        {
            "customer_id": customer_id,
            "signup_date": _to_timestamps(signup_day),
            "segment": pd.Series(np.array(SEGMENTS)[segment], dtype="str"),
            "region": pd.Series(np.array(REGIONS)[region], dtype="str"),
            "acquisition_channel": pd.Series(np.array(ACQUISITION_CHANNELS)[channel], dtype="str"),
            "plan": pd.Series(np.array(PLANS)[plan], dtype="str"),
            "monthly_price": signup_price,
        }
    )
    t_customer, t_month, t_prob, t_churned = (
        np.concatenate(parts) for parts in zip(*truth_parts, strict=True)
    )
    churn_truth = pd.DataFrame(
        {
            "customer_id": t_customer,
            "month_start": _to_timestamps(t_month),
            "churn_probability": t_prob,
            "churned": t_churned,
        }
    )
    p_customer, p_month, p_engagement, p_segment, p_days = (
        np.concatenate(parts) for parts in zip(*panel_parts, strict=True)
    )
    customer_months = pd.DataFrame(
        {
            "customer_id": p_customer,
            "month_start": _to_timestamps(p_month),
            "engagement": p_engagement,
            "segment": pd.Series(np.array(SEGMENTS)[p_segment], dtype="str"),
            "active_days": p_days,
        }
    )
    price_tests = price_test_truth(test_parts)
    return CustomersOutput(
        customers, subscription_events, usage_events, churn_truth, customer_months, price_tests
    )


def price_test_truth(parts: list[tuple[np.ndarray, ...]]) -> pd.DataFrame:
    """One row per tested customer: the day, the rise and the churn log-odds shock it caused."""
    columns = [
        "customer_id",
        "test_date",
        "price_rise",
        "monthly_price_before",
        "monthly_price_after",
        "churn_log_odds_shock",
    ]
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype="float64") for name in columns}).astype(
            {"customer_id": "int64", "test_date": "datetime64[s]"}
        )
    who, day, rise, before = (np.concatenate(p) for p in zip(*parts, strict=True))
    return pd.DataFrame(
        {
            "customer_id": who.astype(np.int64),
            "test_date": _to_timestamps(day),
            "price_rise": rise,
            "monthly_price_before": before,
            "monthly_price_after": np.round(before * (1 + rise), 2),
            "churn_log_odds_shock": CHURN_PRICE_SENSITIVITY * rise,
        }
    )
