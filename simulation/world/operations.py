"""Operations: the customer-onboarding workflow, one row per stage attempt, with queues and rework.

Every customer who signs up inside the window opens an onboarding case. The case passes the
stages in order; each attempt waits in the stage's queue, takes a lognormal time, and ends
passed, rework (the customer fixes something and the case queues again) or rejected. At the
last allowed attempt a rework counts as a rejection. Each stage is staffed by its HR team; the
wait comes from a per-day capacity model (`support.queue_wait_scale`), so short-staffed days
and slowdowns show as longer queues. Only attempts that ended inside the window are recorded.

Drift: `process_slowdown` multiplies the duration of the `target` stage (or every stage) by
``1 + magnitude`` for attempts started on or after its start date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.world.context import DepartmentOutput, WorldContext, department_rng
from simulation.world.hr import staff_roster, team_roster
from simulation.world.support import queue_wait_scale

STAGES: tuple[str, ...] = ("application_review", "identity_verification", "account_setup")
STAGE_TEAM: tuple[str, ...] = ("onboarding_review", "onboarding_verification", "onboarding_setup")
OUTCOMES: tuple[str, ...] = ("passed", "rework", "rejected")
# True stage durations: lognormal in minutes with these medians and log standard deviations.
DURATION_MEDIAN_MINUTES = np.array([20.0, 35.0, 28.0])
DURATION_LOG_SD = np.array([0.6, 0.8, 0.5])
# P(passed), P(rework), P(rejected) per stage.
OUTCOME_PROBABILITY = np.array(
    [
        [0.80, 0.15, 0.05],
        [0.78, 0.19, 0.03],
        [0.92, 0.08, 0.00],
    ]
)
MAX_ATTEMPTS = 3
REWORK_DELAY_LOG_MEDIAN = np.log(1_440.0)  # the customer needs about a day to fix things
STAFF_MINUTES_PER_DAY = 300.0
QUEUE_BASE_WAIT_MINUTES = 30.0
# Applications arrive in office hours, weighted towards late morning.
HOUR_WEIGHTS = np.array(
    [0, 0, 0, 0, 0, 0, 1, 4, 9, 12, 12, 11, 8, 10, 11, 10, 8, 5, 3, 2, 1, 1, 0, 0.0]
)


def _epoch_days(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


def slowdown_factor_by_day(ctx: WorldContext) -> np.ndarray:
    """Duration multiplier per stage (rows) and day (columns) from `process_slowdown` drift."""
    cal = ctx.calendar
    factor = np.ones((len(STAGES), cal.n_days))
    for event in ctx.cfg.drift_events("process_slowdown"):
        if event.target is not None and event.target not in STAGES:
            raise ValueError(f"process_slowdown target {event.target!r} is not a stage of {STAGES}")
        stages = [STAGES.index(event.target)] if event.target else list(range(len(STAGES)))
        onset = int((np.datetime64(event.start, "D") - cal.days[0]).astype(int))
        if onset < cal.n_days:
            factor[stages, max(onset, 0) :] *= 1 + event.magnitude
    return factor


def generate(ctx: WorldContext) -> DepartmentOutput:
    """The `onboarding_stage_runs` table and each stage's true durations, outcomes and capacity."""
    rng = department_rng(ctx.cfg, "operations")
    cal = ctx.calendar
    first_day, last_day = _epoch_days(cal.days[[0, -1]])
    window_end_seconds = (last_day + 1) * 86_400
    slowdown = slowdown_factor_by_day(ctx)
    employees = staff_roster(ctx)

    signup = _epoch_days(ctx.customers["signup_date"].to_numpy())
    new_customer = np.flatnonzero(signup >= first_day)
    n_cases = len(new_customer)
    hour = rng.choice(24, size=n_cases, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    arrival = signup[new_customer] * 86_400 + hour * 3_600 + rng.integers(0, 3_600, size=n_cases)
    # Case ids count applications in order of arrival.
    by_arrival = np.argsort(arrival, kind="stable")
    arrival = arrival[by_arrival]
    case_customer = ctx.customers["customer_id"].to_numpy()[new_customer[by_arrival]]

    runs: list[tuple[np.ndarray, ...]] = []
    mean_staff = np.zeros(len(STAGES))
    case = np.arange(n_cases)  # cases that reach the next stage, with their queue-entry time
    queued = arrival
    for s in range(len(STAGES)):  # one vectorised pass per stage and attempt
        roster = team_roster(employees, STAGE_TEAM[s], cal.days)
        mean_staff[s] = roster.n_active.mean()
        capacity = roster.n_active * STAFF_MINUTES_PER_DAY
        load = np.zeros(cal.n_days)
        passed_case, passed_at = [], []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            n = len(case)
            queued_day = np.clip(queued // 86_400 - first_day, 0, cal.n_days - 1)
            base_minutes = DURATION_MEDIAN_MINUTES[s] * np.exp(
                DURATION_LOG_SD[s] * rng.standard_normal(n)
            )
            # Rework rounds add to the load of days already seen (an approximation: the
            # waits of earlier rounds are not revised).
            load += np.bincount(
                queued_day, weights=base_minutes * slowdown[s, queued_day], minlength=cal.n_days
            )
            wait_scale = queue_wait_scale(
                load, capacity, QUEUE_BASE_WAIT_MINUTES, STAFF_MINUTES_PER_DAY
            )
            wait_minutes = wait_scale[queued_day] * rng.exponential(1.0, size=n)
            started = queued + np.round(60 * wait_minutes).astype(np.int64)
            started_day = np.clip(started // 86_400 - first_day, 0, cal.n_days - 1)
            duration_minutes = base_minutes * slowdown[s, started_day]
            ended = started + np.maximum(np.round(60 * duration_minutes).astype(np.int64), 1)
            outcome = (rng.random(n)[:, None] > OUTCOME_PROBABILITY[s].cumsum()[:-1]).sum(axis=1)
            if attempt == MAX_ATTEMPTS:
                outcome[outcome == 1] = 2
            handled_by = roster.pick(rng, started_day)
            runs.append(
                (
                    case,
                    np.full(n, s),
                    np.full(n, attempt),
                    queued,
                    started,
                    ended,
                    outcome,
                    handled_by,
                )
            )
            passed_case.append(case[outcome == 0])
            passed_at.append(ended[outcome == 0])
            rework = outcome == 1
            delay = np.round(
                60 * rng.lognormal(REWORK_DELAY_LOG_MEDIAN, 0.7, size=int(rework.sum()))
            )
            case, queued = case[rework], ended[rework] + delay.astype(np.int64)
        case = np.concatenate(passed_case)
        queued = np.concatenate(passed_at)
        order = np.argsort(case, kind="stable")
        case, queued = case[order], queued[order]

    r_case, r_stage, r_attempt, r_queued, r_started, r_ended, r_outcome, r_staff = (
        np.concatenate(parts) for parts in zip(*runs, strict=True)
    )
    completed = r_ended < window_end_seconds
    order = np.lexsort((r_attempt, r_stage, r_case, r_queued))
    order = order[completed[order]]
    stage_runs = pd.DataFrame(
        {
            "run_id": np.arange(1, len(order) + 1, dtype=np.int64),
            "case_id": r_case[order].astype(np.int64) + 1,
            "customer_id": case_customer[r_case[order]],
            # Labels via an object array: several times faster than numpy unicode into "str".
            "stage": pd.Series(np.array(STAGES, dtype=object)[r_stage[order]], dtype="str"),
            "attempt": r_attempt[order].astype(np.int64),
            "queued_at": pd.Series(r_queued[order].astype("datetime64[s]")),
            "started_at": pd.Series(r_started[order].astype("datetime64[s]")),
            "ended_at": pd.Series(r_ended[order].astype("datetime64[s]")),
            # Attempts are recorded when they end, so they land in the partition of that day.
            "ended_date": pd.Series(
                (r_ended[order] // 86_400).astype("datetime64[D]").astype("datetime64[s]")
            ),
            "outcome": pd.Series(np.array(OUTCOMES, dtype=object)[r_outcome[order]], dtype="str"),
            "handled_by": r_staff[order],
        }
    )

    slowed = slowdown != 1.0
    slowdown_start = np.array(
        [cal.days[np.argmax(row)] if row.any() else np.datetime64("NaT") for row in slowed],
        dtype="datetime64[s]",
    )
    truth = pd.DataFrame(
        {
            "stage": pd.Series(STAGES, dtype="str"),
            "stage_order": np.arange(1, len(STAGES) + 1, dtype=np.int64),
            "team": pd.Series(STAGE_TEAM, dtype="str"),
            "duration_family": pd.Series(["lognormal"] * len(STAGES), dtype="str"),
            "duration_log_mean": np.log(DURATION_MEDIAN_MINUTES),
            "duration_log_sd": DURATION_LOG_SD,
            "mean_duration_minutes": DURATION_MEDIAN_MINUTES * np.exp(DURATION_LOG_SD**2 / 2),
            "pass_probability": OUTCOME_PROBABILITY[:, 0],
            "rework_probability": OUTCOME_PROBABILITY[:, 1],
            "reject_probability": OUTCOME_PROBABILITY[:, 2],
            "max_attempts": MAX_ATTEMPTS,
            "mean_staff": mean_staff,
            "staff_minutes_per_day": STAFF_MINUTES_PER_DAY,
            "mean_daily_capacity_minutes": mean_staff * STAFF_MINUTES_PER_DAY,
            "slowdown_start": pd.Series(slowdown_start),
            "slowdown_factor": slowdown[:, -1],
        }
    )
    return DepartmentOutput(
        tables={"onboarding_stage_runs": stage_runs}, truth={"process_stage_truth": truth}
    )
