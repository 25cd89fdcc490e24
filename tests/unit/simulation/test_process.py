"""Workflow Monte Carlo: touch times, queueing at staffed stages, bottleneck and staffing."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.engines.process import (
    StageDuration,
    StageShift,
    Workflow,
    WorkflowStage,
    offered_utilisation,
    plan_staffing,
    simulate_staffed_workflow,
    simulate_touch_times,
)


def triangular(low: float, mode: float, high: float) -> StageDuration:
    return StageDuration(kind="triangular", low=low, mode=mode, high=high)


def customer_onboarding(**staff: int) -> Workflow:
    workflow = Workflow(
        name="customer_onboarding",
        stages=[
            WorkflowStage(name="application_review", duration=triangular(0.5, 1.0, 2.5), staff=2),
            WorkflowStage(
                name="kyc_check",
                duration=StageDuration(kind="lognormal", mean=2.0, cv=0.6),
                pass_probability=0.85,
                rework_fraction=0.5,
                depends_on=["application_review"],
                staff=3,
            ),
            WorkflowStage(
                name="credit_check",
                duration=triangular(0.2, 0.5, 1.5),
                depends_on=["application_review"],
            ),
            WorkflowStage(
                name="account_setup",
                duration=StageDuration(
                    kind="empirical", observed_hours=[0.5, 0.7, 0.8, 1.0, 1.2, 2.0]
                ),
                pass_probability=0.95,
                depends_on=["kyc_check", "credit_check"],
                staff=2,
            ),
        ],
    )
    return workflow.with_staff(staff)


def test_touch_times_are_identical_for_any_thread_count() -> None:
    single = simulate_touch_times(
        customer_onboarding(), 300_000, np.random.default_rng(5), threads=1
    )
    double = simulate_touch_times(
        customer_onboarding(), 300_000, np.random.default_rng(5), threads=2
    )
    assert np.array_equal(single, double)


def test_serial_touch_time_mean_is_the_sum_of_expected_work_including_rework() -> None:
    stages = [
        WorkflowStage(name="draft", duration=triangular(1.0, 2.0, 6.0)),
        WorkflowStage(
            name="review",
            duration=StageDuration(kind="lognormal", mean=1.5, cv=0.8),
            pass_probability=0.6,
            rework_fraction=0.5,
            depends_on=["draft"],
        ),
    ]
    workflow = Workflow(name="contract_drafting", stages=stages)
    touch = simulate_touch_times(workflow, 1_000_000, np.random.default_rng(1))
    # Review: 1.5 h + 0.5 * 1.5 h per rework, (1 - 0.6) / 0.6 expected reworks.
    expected = 3.0 + 1.5 * (1 + 0.5 * 0.4 / 0.6)
    assert sum(stage.expected_work_hours for stage in stages) == pytest.approx(expected)
    assert touch.mean() == pytest.approx(expected, abs=4 * touch.std() / 1_000.0)


def test_parallel_branches_join_on_the_slower_one() -> None:
    workflow = Workflow(
        name="fork_join",
        stages=[
            WorkflowStage(name="fast_branch", duration=triangular(1.0, 1.5, 2.0)),
            WorkflowStage(name="slow_branch", duration=triangular(3.0, 3.5, 4.0)),
            WorkflowStage(
                name="sign_off",
                duration=triangular(0.5, 1.0, 1.5),
                depends_on=["fast_branch", "slow_branch"],
            ),
        ],
    )
    touch = simulate_touch_times(workflow, 200_000, np.random.default_rng(2))
    assert touch.min() >= 3.5 and touch.max() <= 5.5
    assert touch.mean() == pytest.approx(3.5 + 1.0, abs=0.01)


def test_empirical_durations_only_take_observed_values() -> None:
    observed = [0.5, 0.7, 2.0]
    draws = StageDuration(kind="empirical", observed_hours=observed).sample(
        np.random.default_rng(0), 10_000
    )
    assert set(np.unique(draws)) == set(observed)


def test_single_staffed_stage_queue_matches_pollaczek_khinchine() -> None:
    # M/G/1: Wq = lambda E[S^2] / (2 (1 - rho)); lognormal S with mean 1 h, cv 0.5.
    stage = WorkflowStage(
        name="underwriting", duration=StageDuration(kind="lognormal", mean=1.0, cv=0.5)
    )
    workflow = Workflow(name="underwriting_only", stages=[stage])
    arrivals_per_day = 0.7 * 24
    performance = simulate_staffed_workflow(
        workflow, arrivals_per_day, 20_000, np.random.default_rng(4), warm_up_days=100
    )
    arrival_rate_per_hour = 0.7
    expected_wait = arrival_rate_per_hour * 1.0 * (1 + 0.5**2) / (2 * (1 - 0.7))
    assert performance.mean_queue_hours[0] == pytest.approx(expected_wait, rel=0.05)
    assert performance.utilisation[0] == pytest.approx(0.7, rel=0.02)
    assert performance.throughput_per_day == pytest.approx(arrivals_per_day, rel=0.02)


def test_primary_bottleneck_is_the_most_utilised_stage() -> None:
    workflow = customer_onboarding(kyc_check=2)
    performance = simulate_staffed_workflow(
        workflow, 18.0, 200, np.random.default_rng(6), warm_up_days=20
    )
    offered = offered_utilisation(workflow, 18.0)
    assert performance.primary_bottleneck == "kyc_check" == max(offered, key=offered.get)
    assert performance.utilisation[1] == pytest.approx(offered["kyc_check"], rel=0.05)
    assert performance.mean_queue_hours[1] == performance.mean_queue_hours.max()


def test_day_shift_stage_is_utilised_over_its_shift_hours_and_slows_items() -> None:
    day_shift = StageShift(start_hour=9, end_hour=17)
    around_the_clock = customer_onboarding(
        application_review=6, kyc_check=9, credit_check=3, account_setup=6
    )
    office_hours = around_the_clock.model_copy(
        update={
            "stages": [s.model_copy(update={"shift": day_shift}) for s in around_the_clock.stages]
        }
    )
    rng_seed = 8
    always = simulate_staffed_workflow(
        around_the_clock, 20.0, 200, np.random.default_rng(rng_seed), 20
    )
    office = simulate_staffed_workflow(office_hours, 20.0, 200, np.random.default_rng(rng_seed), 20)
    offered = offered_utilisation(office_hours, 20.0)
    np.testing.assert_allclose(office.utilisation, list(offered.values()), rtol=0.05)
    assert office.cycle_time_percentile(50) > always.cycle_time_percentile(50) + 8.0


def test_staffing_plan_meets_the_cycle_time_target_the_current_team_misses() -> None:
    understaffed = customer_onboarding(kyc_check=2)
    current = simulate_staffed_workflow(understaffed, 18.0, 120, np.random.default_rng(0), 20)
    target_p90_hours = 10.0
    assert current.cycle_time_percentile(90) > target_p90_hours
    plan = plan_staffing(understaffed, 18.0, target_p90_hours, horizon_days=120, warm_up_days=20)
    assert plan.meets_target
    assert plan.cycle_time_percentile_hours <= target_p90_hours
    assert plan.staff_by_stage["kyc_check"] > 2


def test_dependency_cycles_are_rejected() -> None:
    with pytest.raises(ValueError, match="cycle"):
        Workflow(
            name="loop",
            stages=[
                WorkflowStage(name="a", duration=triangular(1, 2, 3), depends_on=["b"]),
                WorkflowStage(name="b", duration=triangular(1, 2, 3), depends_on=["a"]),
            ],
        )
