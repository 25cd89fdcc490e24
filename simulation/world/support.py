"""Support: tickets with priority, channel, agent, queue wait, handle time, escalation and CSAT.

Tickets arrive per customer-month as Poisson with rate
``BASE_RATE * exp(-ENGAGEMENT_SLOPE * engagement) * segment factor * active share of the month``,
so disengaging customers (who are about to churn) open more tickets. Support agents come from
the HR roster; each day the queue's wait grows with the day's utilisation (handle minutes
arriving over agent minutes available) and with work left over from earlier days. Satisfaction
falls with long waits and escalations and rises with engagement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.world.context import DepartmentOutput, WorldContext, department_rng
from simulation.world.customers import SEGMENTS
from simulation.world.hr import staff_roster, team_roster

PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
SUPPORT_CHANNELS: tuple[str, ...] = ("email", "chat", "phone", "web")

BASE_TICKETS_PER_CUSTOMER_MONTH = 0.12
ENGAGEMENT_SLOPE = 0.6  # log-rate per unit of engagement lost
SEGMENT_TICKET_FACTOR = np.array([0.9, 1.0, 1.25])  # basic, standard, premium
# Priority comes from a latent urgency z ~ N(0.4 * -engagement, 1) cut at these points.
PRIORITY_CUTS = np.array([-0.5, 0.7, 1.6])
# P(channel | segment), rows basic, standard, premium.
CHANNEL_GIVEN_SEGMENT = np.array(
    [
        [0.45, 0.30, 0.05, 0.20],
        [0.35, 0.35, 0.15, 0.15],
        [0.20, 0.30, 0.40, 0.10],
    ]
)
# Share of tickets opened in each hour of the day (business hours dominate).
HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 11, 12, 13, 12, 10, 8, 6, 5, 4, 3, 2, 1.0]
)
HANDLE_MEDIAN_MINUTES = np.array([9.0, 14.0, 22.0, 35.0])  # per priority
CHANNEL_HANDLE_FACTOR = np.array([1.0, 0.8, 1.3, 0.9])
HANDLE_LOG_SD = 0.5
AGENT_SKILL_SPEEDUP = 0.1  # log handle time per skill point above 3
# Productive handling minutes an agent delivers per calendar day (shifts, breaks, weekends).
AGENT_MINUTES_PER_DAY = 300.0
QUEUE_BASE_WAIT_MINUTES = 6.0
PRIORITY_WAIT_FACTOR = np.array([1.6, 1.0, 0.5, 0.2])
ESCALATION_LOGIT = np.array([-3.6, -3.2, -2.4, -1.6])  # per priority
ESCALATION_EXTRA_LOG_MEDIAN = np.log(240.0)  # minutes a second line adds
SURVEY_RESPONSE_PROBABILITY = 0.35


def _epoch_days(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


def _customer_month_spans(ctx: WorldContext) -> tuple[np.ndarray, np.ndarray]:
    """First active day and number of active days of each customer-month in the panel."""
    panel = ctx.customer_months
    customer_ids = ctx.customers["customer_id"].to_numpy()
    signup = _epoch_days(ctx.customers["signup_date"].to_numpy())
    panel_signup = signup[np.searchsorted(customer_ids, panel["customer_id"].to_numpy())]
    first_day = _epoch_days(ctx.calendar.days[:1])[0]
    month_start = _epoch_days(panel["month_start"].to_numpy())
    span_start = np.maximum(np.maximum(panel_signup, month_start), first_day)
    return span_start, panel["active_days"].to_numpy().astype(np.int64)


def queue_wait_scale(
    load_minutes: np.ndarray,
    capacity_minutes: np.ndarray,
    base_wait_minutes: float,
    staff_minutes_per_day: float,
) -> np.ndarray:
    """Mean wait (minutes) of an item queued on each day, in a per-day capacity model.

    Utilisation rho drives a rho/(1-rho) congestion term (capped so an overloaded day stays
    finite); work left over from earlier days adds the calendar time the staff need to clear
    it. Not an exact event simulation, but waits rise with load and fall with headcount.
    """
    n_days = len(load_minutes)
    backlog_before = np.zeros(n_days)
    backlog = 0.0
    for day in range(n_days):  # one step per day: leftover work carries into the next
        backlog_before[day] = backlog
        backlog = max(backlog + load_minutes[day] - capacity_minutes[day], 0.0)
    rho = np.minimum(load_minutes / capacity_minutes, 0.95)
    staff = capacity_minutes / staff_minutes_per_day
    backlog_wait = backlog_before / staff * (1440.0 / staff_minutes_per_day)
    return base_wait_minutes * (0.2 + rho / (1 - rho)) + backlog_wait


def generate(ctx: WorldContext) -> DepartmentOutput:
    """The `support_tickets` table and the true monthly arrival rate, staffing and handle time."""
    rng = department_rng(ctx.cfg, "support")
    cal = ctx.calendar
    first_day, last_day = _epoch_days(cal.days[[0, -1]])
    panel = ctx.customer_months
    engagement = panel["engagement"].to_numpy()
    segment = np.zeros(len(panel), dtype=np.int64)
    for code, name in enumerate(SEGMENTS):  # three vectorised comparisons beat a categorical
        segment[(panel["segment"] == name).to_numpy()] = code
    span_start, active_days = _customer_month_spans(ctx)
    panel_month = np.searchsorted(
        _epoch_days(cal.month_starts), _epoch_days(panel["month_start"].to_numpy())
    )
    days_in_month = np.bincount(cal.month_of_day, minlength=cal.n_months)

    rate = (
        BASE_TICKETS_PER_CUSTOMER_MONTH
        * np.exp(-ENGAGEMENT_SLOPE * engagement)
        * SEGMENT_TICKET_FACTOR[segment]
        * active_days
        / days_in_month[panel_month]
    )
    n_tickets = rng.poisson(rate)
    row = np.repeat(np.arange(len(rate)), n_tickets)
    n = len(row)
    day = span_start[row] + (rng.random(n) * active_days[row]).astype(np.int64)
    day_index = day - first_day
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    opened_seconds = day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, size=n)
    ticket_engagement = engagement[row]
    priority = np.searchsorted(PRIORITY_CUTS, rng.standard_normal(n) - 0.4 * ticket_engagement)
    channel_cdf = CHANNEL_GIVEN_SEGMENT.cumsum(axis=1)[segment[row]]
    channel = (rng.random(n)[:, None] > channel_cdf[:, :-1]).sum(axis=1)

    employees = staff_roster(ctx)
    roster = team_roster(employees, "support", cal.days)
    agent_id = roster.pick(rng, day_index)
    # Employee ids are 1..n in roster order, so an id minus one is the roster row.
    agent_skill = employees["skill_product"].to_numpy()[agent_id - 1]
    handle_log_median = np.log(
        HANDLE_MEDIAN_MINUTES[priority] * CHANNEL_HANDLE_FACTOR[channel]
    ) - AGENT_SKILL_SPEEDUP * (agent_skill - 3.0)
    expected_handle = np.exp(handle_log_median + HANDLE_LOG_SD**2 / 2)
    handle_minutes = np.exp(handle_log_median + HANDLE_LOG_SD * rng.standard_normal(n))

    load = np.bincount(day_index, weights=handle_minutes, minlength=cal.n_days)
    capacity = roster.n_active * AGENT_MINUTES_PER_DAY
    wait_scale = queue_wait_scale(load, capacity, QUEUE_BASE_WAIT_MINUTES, AGENT_MINUTES_PER_DAY)
    wait_minutes = (
        wait_scale[day_index] * PRIORITY_WAIT_FACTOR[priority] * rng.exponential(1.0, size=n)
    )

    escalation_logit = ESCALATION_LOGIT[priority] - 0.4 * ticket_engagement
    escalated = rng.random(n) < 1 / (1 + np.exp(-escalation_logit))
    escalation_minutes = np.where(
        escalated, rng.lognormal(ESCALATION_EXTRA_LOG_MEDIAN, 0.8, size=n), 0.0
    )
    resolved_seconds = opened_seconds + np.round(
        60 * (wait_minutes + handle_minutes + escalation_minutes)
    ).astype(np.int64)
    resolved = resolved_seconds < (last_day + 1) * 86_400

    satisfaction_latent = (
        3.9
        + 0.5 * ticket_engagement
        - 0.35 * np.log1p(wait_minutes / 15.0)
        - 0.6 * escalated
        + 0.8 * rng.standard_normal(n)
    )
    surveyed = resolved & (rng.random(n) < SURVEY_RESPONSE_PROBABILITY)
    satisfaction = np.where(surveyed, np.clip(np.round(satisfaction_latent), 1, 5), np.nan)

    order = np.argsort(opened_seconds, kind="stable")
    resolved_at = resolved_seconds.astype("datetime64[s]")
    resolved_at[~resolved] = np.datetime64("NaT")
    tickets = pd.DataFrame(
        {
            "ticket_id": np.arange(1, n + 1, dtype=np.int64),
            "customer_id": panel["customer_id"].to_numpy()[row][order],
            "opened_date": pd.Series(day[order].astype("datetime64[D]").astype("datetime64[s]")),
            "opened_at": pd.Series(opened_seconds[order].astype("datetime64[s]")),
            # Labels via an object array: several times faster than numpy unicode into "str".
            "priority": pd.Series(np.array(PRIORITIES, dtype=object)[priority[order]], dtype="str"),
            "channel": pd.Series(
                np.array(SUPPORT_CHANNELS, dtype=object)[channel[order]], dtype="str"
            ),
            "agent_id": agent_id[order],
            "wait_minutes": np.round(wait_minutes[order], 2),
            "handle_minutes": np.round(handle_minutes[order], 2),
            "escalated": escalated[order],
            "satisfaction": satisfaction[order],
            "resolved_at": pd.Series(resolved_at[order]),
        }
    )

    ticket_month = cal.month_of_day[day_index]
    tickets_per_month = np.bincount(ticket_month, minlength=cal.n_months)
    truth = pd.DataFrame(
        {
            "month_start": pd.Series(cal.month_starts.astype("datetime64[s]")),
            "expected_tickets": np.bincount(panel_month, weights=rate, minlength=cal.n_months),
            "expected_tickets_per_day": np.bincount(
                panel_month, weights=rate, minlength=cal.n_months
            )
            / days_in_month,
            "mean_agents": np.bincount(
                cal.month_of_day, weights=roster.n_active, minlength=cal.n_months
            )
            / days_in_month,
            "mean_handle_minutes": np.bincount(
                ticket_month, weights=expected_handle, minlength=cal.n_months
            )
            / np.maximum(tickets_per_month, 1),
            "utilisation": np.bincount(cal.month_of_day, weights=load, minlength=cal.n_months)
            / np.bincount(cal.month_of_day, weights=capacity, minlength=cal.n_months),
        }
    )
    return DepartmentOutput(tables={"support_tickets": tickets}, truth={"support_monthly": truth})
