"""Twin parameters estimated from raw tables, checked against the world's ground truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from simulation.scenarios import BASELINE, Scenario
from simulation.twin_parameters import (
    churn_price_elasticity_from_truth,
    moving_average_forecast_errors,
    onboarding_from_stage_runs,
    product_stocking_from_demand,
    service_centre_from_tickets,
    stage_capacity_from_truth,
    supplier_nodes_from_purchase_orders,
)
from simulation.twin_scenarios import (
    OnboardingTwin,
    ReplicationCache,
    ServiceQueueTwin,
    run_replications,
)
from simulation.world import WorldConfig, generate_world


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig.tiny())


@pytest.fixture(scope="module")
def onboarding(world):
    truth = world.truth["process_stage_truth"]
    return onboarding_from_stage_runs(
        world.tables["onboarding_stage_runs"], stage_capacity_from_truth(truth)
    )


def test_ticket_arrivals_per_hour_add_up_to_the_daily_ticket_rate(world):
    tickets = world.tables["support_tickets"]
    config = service_centre_from_tickets(tickets, first_line_agents=2)
    days = (tickets["opened_date"].max() - tickets["opened_date"].min()).days + 1
    assert sum(config.arrivals_per_hour) == pytest.approx(len(tickets) / days)
    assert config.escalation_probability == pytest.approx(tickets["escalated"].mean())
    # Class 0 is served first: the most urgent priority seen comes first.
    urgent_share = (tickets["priority"] == "urgent").mean()
    assert config.priority_shares[0] == pytest.approx(urgent_share)


def test_queue_without_agents_fails_loudly(world):
    with pytest.raises(ValueError, match="no support agents"):
        service_centre_from_tickets(world.tables["support_tickets"], first_line_agents=0)


def test_onboarding_stages_follow_the_true_order_with_true_rework_rates(world, onboarding):
    truth = world.truth["process_stage_truth"].sort_values("stage_order")
    stages = onboarding.workflow.stages
    assert [s.name for s in stages] == list(truth["stage"])
    assert [s.depends_on for s in stages] == [[], [stages[0].name], [stages[1].name]]
    for stage, true_rework in zip(stages, truth["rework_probability"], strict=True):
        # The engine's "pass" is "not sent to rework": rejections also leave the stage.
        assert stage.pass_probability == pytest.approx(1 - true_rework, abs=0.04)


def test_onboarding_durations_match_the_true_mean_duration(world, onboarding):
    truth = world.truth["process_stage_truth"].set_index("stage")
    for stage in onboarding.workflow.stages:
        true_hours = truth.at[stage.name, "mean_duration_minutes"] / 60
        assert stage.duration.expected_hours == pytest.approx(true_hours, rel=0.1)


def test_onboarding_capacity_becomes_staff_and_a_shift_of_productive_hours(onboarding):
    stage = onboarding.workflow.stages[0]
    assert stage.staff == 2
    assert stage.shift is not None and stage.shift.hours_per_day == pytest.approx(5.0)


def test_supplier_dag_and_tier1_lead_times_come_from_our_orders(world):
    suppliers = world.tables["suppliers"]
    nodes = supplier_nodes_from_purchase_orders(
        suppliers, world.tables["purchase_orders"], world.truth["supplier_truth"]
    )
    by_name = {n.name: n for n in nodes}
    for row in suppliers.dropna(subset=["supplies_to"]).itertuples():
        assert row.supplier_id in by_name[row.supplies_to].suppliers
    truth = world.truth["supplier_truth"].set_index("supplier_id")
    true_mean = math.exp(truth.at["SUP-002", "lead_time_log_mean"])
    assert by_name["SUP-002"].lead_time_mean_days == pytest.approx(true_mean, rel=0.25)
    assert 0 < by_name["SUP-001"].disruption_probability < 0.5


def test_moving_average_forecast_has_no_error_on_steady_demand():
    forecast, errors = moving_average_forecast_errors(pd.Series(np.full(60, 40.0)), window=28)
    assert forecast == 40.0
    assert len(errors) == 32 and not errors.any()


def test_every_stocked_product_gets_its_policy_and_supplier(world):
    stocked = product_stocking_from_demand(
        world.tables["demand_orders"], world.truth["inventory_policy"]
    )
    assert [p.product_id for p in stocked] == sorted(world.truth["inventory_policy"]["product_id"])
    assert all(p.daily_forecast > 0 and len(p.forecast_errors) > 100 for p in stocked)


def test_churn_price_elasticity_fades_with_the_horizon():
    first_month = churn_price_elasticity_from_truth(4.0, 0.05, horizon_months=1)
    assert first_month == pytest.approx(4.0 * 0.95)
    assert churn_price_elasticity_from_truth(4.0, 0.05, horizon_months=12) < first_month / 2


def test_replications_on_one_seed_are_the_same_serially_and_in_a_comparison(world, onboarding):
    engine = OnboardingTwin(onboarding.workflow, onboarding.arrivals_per_day, 40.0, 5.0)
    replications = run_replications(engine, 4, seed=11, use_ray=False)
    cache = ReplicationCache()
    rng = np.random.default_rng(np.random.SeedSequence(11, spawn_key=(2,)))
    np.testing.assert_array_equal(cache.replicate(engine, rng), replications.iloc[2].to_numpy())


def test_more_agents_never_lengthen_waits_on_common_random_numbers(world):
    config = service_centre_from_tickets(world.tables["support_tickets"], first_line_agents=1)
    busy = config.model_copy(
        update={"arrivals_per_hour": [x * 20 for x in config.arrivals_per_hour]}
    )
    base = run_replications(ServiceQueueTwin(busy, 7.0, 1.0), 3, seed=5, use_ray=False)
    more = ServiceQueueTwin(busy.model_copy(update={"first_line_agents": 3}), 7.0, 1.0)
    staffed = run_replications(more, 3, seed=5, use_ray=False)
    # Same contacts in both (common random numbers): every replication waits less or equal.
    assert (staffed["contacts"] == base["contacts"]).all()
    assert (
        staffed["mean_first_line_wait_minutes"] <= base["mean_first_line_wait_minutes"] + 1e-9
    ).all()
    assert (staffed["service_level"] >= base["service_level"]).all()


def test_scenario_changing_an_unknown_stage_fails_loudly(world, onboarding):
    from simulation.scenarios import LearnedEffects
    from simulation.twin_scenarios import apply_to_onboarding

    effects = LearnedEffects(churn_price_elasticity=1.0, acquisition_price_elasticity=0.0)
    typo = Scenario(name="typo", workflow_staff_changes={"kyc": 1})
    with pytest.raises(ValueError, match="unknown onboarding stages"):
        apply_to_onboarding(typo, onboarding, effects)
    workflow, arrivals = apply_to_onboarding(BASELINE, onboarding, effects)
    assert workflow == onboarding.workflow and arrivals == onboarding.arrivals_per_day
