"""Workforce: will this team finish the project by the deadline, and which skills are short?

A team is a skill matrix (each member's proficiency per skill, 0-1, where 1 means a
full hour of that skill's work per hour spent), weekly hours and a productivity factor per
member (ramp-up, meetings, context switching). A project needs an uncertain effort per
skill (lognormal, in hours of a fully proficient person).

1. :func:`allocate_team_time` splits each member's time over skills with one small linear
   programme that finishes all skill workstreams together as fast as possible on the
   expected efforts (what a good lead would do).
2. :func:`simulate_project_completion` keeps that allocation and draws efforts and each
   member's weekly availability (absence, firefighting); the project is done when every
   skill's cumulative output covers its effort.
3. Skill gaps: per skill, the extra hours per week of a fully proficient person needed to
   finish that skill by the deadline with the target confidence, and skills that nobody
   on the team has at the required proficiency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import linprog


class TeamMember(BaseModel):
    """One person's capacity and skills."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Member name or role.")
    proficiency: dict[str, float] = Field(
        description="Skill -> proficiency in [0, 1]; missing skills are 0."
    )
    hours_per_week: float = Field(default=40.0, gt=0, description="Contracted hours per week.")
    productivity: float = Field(
        default=0.8, gt=0, le=1.5, description="Share of hours that is productive project work."
    )
    weekly_availability_mean: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Mean share of a week available (absence, support duty).",
    )


class SkillRequirement(BaseModel):
    """Effort a project needs in one skill."""

    model_config = ConfigDict(frozen=True)

    skill: str = Field(description="Skill name, e.g. 'data_engineering'.")
    effort_hours: float = Field(gt=0, description="Expected hours of a fully proficient person.")
    effort_cv: float = Field(
        default=0.3, ge=0, description="Effort uncertainty (coefficient of variation)."
    )
    minimum_proficiency: float = Field(
        default=0.0, ge=0, le=1, description="Below this proficiency a member cannot do this work."
    )


class Project(BaseModel):
    """A project with a deadline."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Project name.")
    requirements: list[SkillRequirement] = Field(min_length=1)
    deadline_weeks: float = Field(gt=0, description="Weeks from now to the deadline.")

    @model_validator(mode="after")
    def _unique_skills(self) -> Project:
        skills = [r.skill for r in self.requirements]
        if len(set(skills)) != len(skills):
            raise ValueError("each skill may appear once in requirements")
        return self


def effective_rate_matrix(team: list[TeamMember], project: Project) -> np.ndarray:
    """Hours of skill output per week if a member spent all week on a skill, (members, skills)."""
    rates = np.zeros((len(team), len(project.requirements)))
    for m, member in enumerate(team):
        for k, requirement in enumerate(project.requirements):
            proficiency = member.proficiency.get(requirement.skill, 0.0)
            if proficiency >= max(requirement.minimum_proficiency, 1e-9):
                rates[m, k] = (
                    member.hours_per_week
                    * member.productivity
                    * member.weekly_availability_mean
                    * proficiency
                )
    return rates


def allocate_team_time(team: list[TeamMember], project: Project) -> np.ndarray:
    """Share of each member's time per skill, (members, skills), minimising expected makespan.

    Maximises ``t`` subject to ``sum_m share[m, k] * rate[m, k] >= t * effort[k]`` and
    ``sum_k share[m, k] <= 1``; ``1 / t`` is then the expected makespan in weeks.
    Skills nobody can do get no time (they show up as skill gaps).
    """
    rates = effective_rate_matrix(team, project)
    efforts = np.array([r.effort_hours for r in project.requirements])
    n_members, n_skills = rates.shape
    coverable = rates.sum(axis=0) > 0
    n_shares = n_members * n_skills
    objective = np.zeros(n_shares + 1)
    objective[-1] = -1.0  # maximise t
    rows, bounds_upper = [], []
    for k in np.flatnonzero(coverable):  # t * effort_k - sum_m share * rate <= 0
        row = np.zeros(n_shares + 1)
        row[k:n_shares:n_skills] = -rates[:, k]
        row[-1] = efforts[k]
        rows.append(row)
        bounds_upper.append(0.0)
    for m in range(n_members):  # each member's shares sum to at most 1
        row = np.zeros(n_shares + 1)
        row[m * n_skills : (m + 1) * n_skills] = 1.0
        rows.append(row)
        bounds_upper.append(1.0)
    variable_bounds = [(0.0, 1.0 if rates.flat[i] > 0 else 0.0) for i in range(n_shares)]
    result = linprog(
        objective, A_ub=np.array(rows), b_ub=bounds_upper, bounds=[*variable_bounds, (0, None)]
    )
    if not result.success:
        raise RuntimeError(f"team allocation LP failed: {result.message}")
    return result.x[:n_shares].reshape(n_members, n_skills)


@dataclass(frozen=True)
class ProjectForecast:
    """What a delivery lead reads off the simulation."""

    skills: list[str]
    completion_weeks: np.ndarray  # per scenario; inf if not done within the simulated window
    probability_on_time: float
    skill_gap_hours_per_week: dict[str, float]  # extra fully-proficient hours/week needed
    skills_nobody_has: list[str]

    def completion_percentile(self, q: float) -> float:
        return float(np.percentile(self.completion_weeks, q))


def simulate_project_completion(
    team: list[TeamMember],
    project: Project,
    n_scenarios: int,
    rng: np.random.Generator,
    *,
    target_probability: float = 0.8,
    allocation: np.ndarray | None = None,
    availability_concentration: float = 20.0,
    horizon_factor: float = 3.0,
) -> ProjectForecast:
    """Probability the team finishes by the deadline, completion-time spread and skill gaps.

    Efforts are lognormal per skill and scenario; each member's availability in each week
    is Beta-distributed around their mean (``availability_concentration`` = a + b: higher
    is steadier). Weeks are simulated up to ``horizon_factor`` x the deadline.
    """
    share = allocate_team_time(team, project) if allocation is None else allocation
    rates = effective_rate_matrix(team, project)
    mean_availability = np.array([m.weekly_availability_mean for m in team])
    # Rates above include mean availability; scale by the weekly draw relative to it.
    full_week_output = share * rates / mean_availability[:, None]  # (members, skills)
    skills = [r.skill for r in project.requirements]
    effort_mean = np.array([r.effort_hours for r in project.requirements])
    effort_cv = np.array([r.effort_cv for r in project.requirements])
    sigma2 = np.log1p(effort_cv**2)
    efforts = rng.lognormal(
        np.log(effort_mean) - sigma2 / 2, np.sqrt(sigma2), (n_scenarios, len(skills))
    )
    n_weeks = int(np.ceil(project.deadline_weeks * horizon_factor))
    a = mean_availability * availability_concentration
    b = (1 - mean_availability) * availability_concentration
    availability = (
        rng.beta(np.maximum(a, 1e-9), np.maximum(b, 1e-9), (n_scenarios, n_weeks, len(team)))
        if (b > 0).any()
        else np.ones((n_scenarios, n_weeks, len(team)))
    )
    cumulative_output = np.cumsum(availability @ full_week_output, axis=1)  # (scen, weeks, skills)
    done = cumulative_output >= efforts[:, None, :]
    finished = done.any(axis=1)
    # First week in which the skill's output covers its effort, with a linear
    # interpolation inside that week so completion times are not rounded up to weeks.
    week_index = np.where(finished, done.argmax(axis=1), 0)
    scen = np.arange(n_scenarios)[:, None]
    skill = np.arange(len(skills))[None, :]
    before = np.where(week_index > 0, cumulative_output[scen, week_index - 1, skill], 0.0)
    during = cumulative_output[scen, week_index, skill] - before
    fraction = np.clip((efforts - before) / np.maximum(during, 1e-12), 0.0, 1.0)
    skill_weeks = np.where(finished, week_index + fraction, np.inf)
    completion = skill_weeks.max(axis=1)

    expected_output_per_week = (share * rates).sum(axis=0)
    needed_per_week = np.quantile(efforts, target_probability, axis=0) / project.deadline_weeks
    gaps = np.maximum(needed_per_week - expected_output_per_week, 0.0)
    return ProjectForecast(
        skills=skills,
        completion_weeks=completion,
        probability_on_time=float(np.mean(completion <= project.deadline_weeks)),
        skill_gap_hours_per_week={s: float(g) for s, g in zip(skills, gaps, strict=True)},
        skills_nobody_has=[
            s for s, covered in zip(skills, rates.sum(axis=0) > 0, strict=True) if not covered
        ],
    )
