"""Workforce: completion probability by the deadline and the skill gaps behind it."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.engines.workforce import (
    Project,
    SkillRequirement,
    TeamMember,
    allocate_team_time,
    simulate_project_completion,
)


def steady_member(name: str, **proficiency: float) -> TeamMember:
    return TeamMember(
        name=name,
        proficiency=proficiency,
        hours_per_week=40,
        productivity=1.0,
        weekly_availability_mean=1.0,
    )


def test_deterministic_single_skill_project_finishes_exactly_when_effort_is_covered() -> None:
    team = [steady_member("analyst", sql=1.0)]
    requirement = SkillRequirement(skill="sql", effort_hours=100, effort_cv=0)
    on_time = simulate_project_completion(
        team,
        Project(name="report", requirements=[requirement], deadline_weeks=3),
        100,
        np.random.default_rng(0),
    )
    late = simulate_project_completion(
        team,
        Project(name="report", requirements=[requirement], deadline_weeks=2),
        100,
        np.random.default_rng(0),
    )
    assert on_time.completion_weeks == pytest.approx(np.full(100, 2.5))
    assert on_time.probability_on_time == 1.0
    assert late.probability_on_time == 0.0
    assert late.skill_gap_hours_per_week["sql"] == pytest.approx(
        10.0
    )  # 50 h/week needed, 40 available


def test_generalist_covers_the_skill_the_specialist_cannot() -> None:
    team = [
        steady_member("ml_specialist", modelling=1.0),
        steady_member("generalist", modelling=0.5, data_engineering=1.0),
    ]
    project = Project(
        name="churn_model_v2",
        requirements=[
            SkillRequirement(skill="modelling", effort_hours=120, effort_cv=0),
            SkillRequirement(skill="data_engineering", effort_hours=40, effort_cv=0),
        ],
        deadline_weeks=4,
    )
    share = allocate_team_time(team, project)
    # The specialist can only model, so the generalist splits x / (1 - x) to finish both
    # workstreams together: 120 / (40 + 20 x) = 40 / (40 (1 - x))  ->  x = 4/7, T = 7/3 weeks.
    assert share[0, 1] == 0.0 and share[0, 0] == pytest.approx(1.0)
    assert share[1, 0] == pytest.approx(4 / 7)
    forecast = simulate_project_completion(team, project, 50, np.random.default_rng(1))
    assert forecast.completion_weeks == pytest.approx(np.full(50, 7 / 3))
    assert forecast.probability_on_time == 1.0


def test_missing_skill_is_reported_and_blocks_completion() -> None:
    team = [steady_member("backend", python=1.0)]
    project = Project(
        name="mobile_app",
        requirements=[
            SkillRequirement(skill="python", effort_hours=80),
            SkillRequirement(skill="ios", effort_hours=80, minimum_proficiency=0.5),
        ],
        deadline_weeks=10,
    )
    forecast = simulate_project_completion(team, project, 200, np.random.default_rng(2))
    assert forecast.skills_nobody_has == ["ios"]
    assert forecast.probability_on_time == 0.0
    assert forecast.skill_gap_hours_per_week["ios"] > 8.0


def test_uncertain_effort_gives_intermediate_on_time_probability_that_rises_with_the_team() -> None:
    requirements = [
        SkillRequirement(skill="backend", effort_hours=600, effort_cv=0.4),
        SkillRequirement(skill="frontend", effort_hours=300, effort_cv=0.4),
    ]
    project = Project(name="customer_portal", requirements=requirements, deadline_weeks=16)
    team = [
        TeamMember(name="dev_1", proficiency={"backend": 0.9, "frontend": 0.5}),
        TeamMember(name="dev_2", proficiency={"backend": 0.6, "frontend": 0.9}),
        TeamMember(name="junior", proficiency={"backend": 0.4, "frontend": 0.4}, productivity=0.6),
    ]
    base = simulate_project_completion(team, project, 4_000, np.random.default_rng(3))
    again = simulate_project_completion(team, project, 4_000, np.random.default_rng(3))
    bigger = simulate_project_completion(
        [*team, TeamMember(name="contractor", proficiency={"backend": 0.8})],
        project,
        4_000,
        np.random.default_rng(3),
    )
    assert np.array_equal(base.completion_weeks, again.completion_weeks)
    assert 0.2 < base.probability_on_time < 0.9
    assert bigger.probability_on_time > base.probability_on_time + 0.1
    assert sum(bigger.skill_gap_hours_per_week.values()) < sum(
        base.skill_gap_hours_per_week.values()
    )
