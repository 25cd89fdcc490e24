"""HR: teams, employees, skills, salaries, hiring and attrition with a known hazard per team.

Headcount follows a workforce plan: support is staffed by planning ratio to the active customer
base, each onboarding team to the daily signups it has to process, the other teams by size of
business. Each month every employee leaves with the team's true attrition hazard; leavers are
replaced the following month (a one-month hiring lag), so a team runs short after a wave of
departures and the support queue and onboarding waits show it.

Support and operations take their agents from `staff_roster` (same seed, same roster), so every
`agent_id` and `handled_by` is an employee who was employed on that day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.world.context import DepartmentOutput, WorldContext, department_rng

# team -> (department, office region)
TEAMS: dict[str, tuple[str, str]] = {
    "support": ("customer_operations", "north"),
    "onboarding_review": ("customer_operations", "north"),
    "onboarding_verification": ("customer_operations", "east"),
    "onboarding_setup": ("customer_operations", "east"),
    "supply_chain": ("supply_chain", "south"),
    "engineering": ("technology", "west"),
    "sales": ("commercial", "west"),
}
TEAM_NAMES: tuple[str, ...] = tuple(TEAMS)
ROLES: tuple[str, ...] = ("associate", "senior", "lead")
ROLE_SHARE = np.array([0.65, 0.25, 0.10])
ROLE_SALARY_FACTOR = np.array([1.0, 1.3, 1.6])
SKILLS: tuple[str, ...] = ("skill_product", "skill_technical", "skill_communication")

# True monthly probability that an employee leaves, per team (the attrition oracle).
MONTHLY_ATTRITION_HAZARD = np.array([0.035, 0.025, 0.025, 0.025, 0.012, 0.015, 0.03])
BASE_SALARY = np.array([42_000, 46_000, 48_000, 46_000, 60_000, 95_000, 65_000])
# Mean skill level (1–5) per team and skill, rows in TEAM_NAMES order.
SKILL_MEAN = np.array(
    [
        [3.2, 2.6, 3.6],
        [3.0, 2.8, 3.0],
        [2.9, 3.2, 2.8],
        [3.1, 3.4, 2.8],
        [3.0, 3.0, 3.0],
        [3.3, 4.0, 2.7],
        [3.6, 2.5, 3.8],
    ]
)

# Workforce planning ratios (what HR plans with, not the true workload).
ACTIVE_CUSTOMERS_PER_SUPPORT_AGENT = 3_400.0
# Onboarding cases a staff member is planned to finish per calendar day, per onboarding team.
PLANNED_CASES_PER_STAFF_DAY = {
    "onboarding_review": 9.0,
    "onboarding_verification": 4.3,
    "onboarding_setup": 7.4,
}
MIN_TEAM_SIZE = 2


@dataclass
class TeamRoster:
    """Who of a team is employed on each day: ids padded per day, and how many there are."""

    employee_ids: np.ndarray  # (n_days, max_staff) employee ids; the first n_active[d] are valid
    n_active: np.ndarray  # (n_days,) staff employed on each day (always >= 1)

    def pick(self, rng: np.random.Generator, day_index: np.ndarray) -> np.ndarray:
        """One employed staff member per work item, uniformly among those employed that day."""
        slot = (rng.random(len(day_index)) * self.n_active[day_index]).astype(np.int64)
        return self.employee_ids[day_index, slot]


def _epoch_days(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


def planned_headcount(ctx: WorldContext) -> np.ndarray:
    """Planned headcount per team (rows in TEAM_NAMES order) and calendar month (columns)."""
    cal = ctx.calendar
    n_months = cal.n_months
    month_start = _epoch_days(cal.month_starts)
    plan = np.zeros((len(TEAM_NAMES), n_months))

    panel_month = _epoch_days(ctx.customer_months["month_start"].to_numpy())
    active_per_month = np.bincount(np.searchsorted(month_start, panel_month), minlength=n_months)
    plan[TEAM_NAMES.index("support")] = active_per_month / ACTIVE_CUSTOMERS_PER_SUPPORT_AGENT

    signup = _epoch_days(ctx.customers["signup_date"].to_numpy())
    first_day, last_day = _epoch_days(cal.days[[0, -1]])
    in_window = signup[(signup >= first_day) & (signup <= last_day)]
    signups_per_month = np.bincount(cal.month_of_day[in_window - first_day], minlength=n_months)
    days_per_month = np.bincount(cal.month_of_day, minlength=n_months)
    signups_per_day = signups_per_month / days_per_month
    for team, cases_per_day in PLANNED_CASES_PER_STAFF_DAY.items():
        plan[TEAM_NAMES.index(team)] = signups_per_day / cases_per_day

    n = ctx.cfg.n_customers
    plan[TEAM_NAMES.index("supply_chain")] = 6
    plan[TEAM_NAMES.index("engineering")] = 20 + n / 20_000
    plan[TEAM_NAMES.index("sales")] = 10 + n / 50_000
    return np.maximum(np.ceil(plan), MIN_TEAM_SIZE).astype(np.int64)


def staff_roster(ctx: WorldContext) -> pd.DataFrame:
    """Every employee employed at some point in the window (the `employees` table).

    Deterministic in the config: support and operations call it again to staff their queues.
    """
    rng = department_rng(ctx.cfg, "hr")
    cal = ctx.calendar
    month_start = _epoch_days(cal.month_starts)
    first_day, last_day = (int(day) for day in _epoch_days(cal.days[[0, -1]]))
    month_start[0] = first_day  # the window may start mid-month
    month_end = np.append(month_start[1:], last_day + 1)
    plan = planned_headcount(ctx)

    team_parts, hire_parts, leave_parts = [], [], []
    for t in range(len(TEAM_NAMES)):
        # Staff employed on the first day were hired up to six years before it.
        hire = first_day - rng.integers(1, 6 * 365, size=plan[t, 0])
        leave = np.full(plan[t, 0], np.iinfo(np.int64).max)
        for m in range(cal.n_months):  # one vectorised step per team-month
            m0, m1 = month_start[m], month_end[m]
            employed = np.flatnonzero((hire < m0) & (leave >= m0))
            leaving = rng.random(len(employed)) < MONTHLY_ATTRITION_HAZARD[t]
            if len(employed) and leaving.all():
                leaving[0] = False  # a team is never left empty: someone covers the queue
            leave[employed[leaving]] = rng.integers(m0, m1, size=int(leaving.sum()))
            # Leavers are replaced next month: hires fill the plan from the start-of-month count.
            n_hires = max(int(plan[t, m]) - len(employed), 0)
            hire = np.concatenate([hire, rng.integers(m0, m1, size=n_hires)])
            leave = np.concatenate([leave, np.full(n_hires, np.iinfo(np.int64).max)])
        team_parts.append(np.full(len(hire), t))
        hire_parts.append(hire)
        leave_parts.append(leave)

    team = np.concatenate(team_parts)
    hire = np.concatenate(hire_parts)
    leave = np.concatenate(leave_parts)
    order = np.lexsort((hire, team))
    team, hire, leave = team[order], hire[order], leave[order]
    n = len(team)
    role = rng.choice(len(ROLES), size=n, p=ROLE_SHARE)
    skills = np.clip(SKILL_MEAN[team] + 0.6 * rng.standard_normal((n, len(SKILLS))), 1.0, 5.0)
    salary = BASE_SALARY[team] * ROLE_SALARY_FACTOR[role] * rng.lognormal(0.0, 0.08, size=n)
    left = leave <= last_day
    termination = np.where(left, leave, 0).astype("datetime64[D]").astype("datetime64[s]")
    termination[~left] = np.datetime64("NaT")
    employees = pd.DataFrame(
        {
            "employee_id": np.arange(1, n + 1, dtype=np.int64),
            "team": pd.Series(np.array(TEAM_NAMES)[team], dtype="str"),
            "role": pd.Series(np.array(ROLES)[role], dtype="str"),
            "hire_date": pd.Series(hire.astype("datetime64[D]").astype("datetime64[s]")),
            "termination_date": pd.Series(termination),
        }
    )
    for k, skill in enumerate(SKILLS):
        employees[skill] = np.round(skills[:, k], 1)
    employees["salary"] = np.round(salary, -2)
    return employees


def team_roster(employees: pd.DataFrame, team: str, days: np.ndarray) -> TeamRoster:
    """Which members of `team` are employed on each of `days` (hired on or before, not yet left)."""
    members = employees[employees["team"] == team]
    ids = members["employee_id"].to_numpy()
    hire = _epoch_days(members["hire_date"].to_numpy())
    leave = members["termination_date"].to_numpy()
    leave = np.where(np.isnat(leave), np.iinfo(np.int64).max, _epoch_days(leave))
    day = _epoch_days(days)[:, None]
    employed = (hire[None, :] <= day) & (leave[None, :] > day)
    # Stable sort puts the employed first on each day, keeping id order among them.
    order = np.argsort(~employed, axis=1, kind="stable")
    n_active = employed.sum(axis=1)
    if (n_active == 0).any():
        raise ValueError(f"team {team!r} has nobody employed on some day of the window")
    return TeamRoster(employee_ids=ids[order], n_active=n_active)


def generate(ctx: WorldContext) -> DepartmentOutput:
    """The `employees` and `teams` tables, and the true attrition hazard per team."""
    employees = staff_roster(ctx)
    plan = planned_headcount(ctx)
    teams = pd.DataFrame(
        {
            "team": pd.Series(TEAM_NAMES, dtype="str"),
            "department": pd.Series([TEAMS[t][0] for t in TEAM_NAMES], dtype="str"),
            "office_region": pd.Series([TEAMS[t][1] for t in TEAM_NAMES], dtype="str"),
            "planned_headcount": plan[:, 0].astype(np.int64),
        }
    )
    truth = pd.DataFrame(
        {
            "team": pd.Series(TEAM_NAMES, dtype="str"),
            "monthly_attrition_hazard": MONTHLY_ATTRITION_HAZARD,
            "replacement_lag_months": 1,
            "mean_planned_headcount": plan.mean(axis=1),
        }
    )
    return DepartmentOutput(
        tables={"teams": teams, "employees": employees}, truth={"employee_attrition": truth}
    )
