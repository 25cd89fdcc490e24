"""Scenarios: YAML files, composition, learned effects and common-random-number comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from simulation.engines.finance import CustomerSegment, RevenueModel
from simulation.engines.queueing import ServiceCentreConfig, delete_warm_up, simulate_mmc_waits
from simulation.engines.supply_chain import SupplierNode
from simulation.scenarios import (
    BASELINE,
    SCENARIO_DIR,
    LearnedEffects,
    Scenario,
    SupplierDisruption,
    apply_to_revenue_model,
    apply_to_service_centre,
    apply_to_supplier_nodes,
    compare_scenarios,
    compose,
    load_scenario,
    load_scenarios,
    replications_for_half_width,
    save_scenario,
)
from simulation.twin_scenarios import product_demand_factor


def test_shipped_examples_load_and_the_compound_one_is_the_sum_of_its_parts() -> None:
    examples = load_scenarios(SCENARIO_DIR)
    assert {
        "price_up_5pct",
        "two_more_agents",
        "supplier_disruption",
        "compound_price_agents_disruption",
    } <= set(examples)
    parts = compose(
        [examples["price_up_5pct"], examples["two_more_agents"], examples["supplier_disruption"]]
    )
    compound = examples["compound_price_agents_disruption"]
    assert parts.model_dump(exclude={"name", "description"}) == compound.model_dump(
        exclude={"name", "description"}
    )


def test_yaml_round_trip_keeps_every_field(tmp_path: Path) -> None:
    scenario = Scenario(
        name="peak_season_plan",
        price_change_pct=-3.0,
        extra_first_line_agents=4,
        workflow_staff_changes={"kyc_check": 1},
        supplier_disruptions=[SupplierDisruption(supplier="SUP-004", probability=0.3)],
    )
    assert load_scenario(save_scenario(scenario, tmp_path)) == scenario


def test_a_misspelt_field_in_a_scenario_file_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("name: typo\nprice_chnage_pct: 5\n")
    with pytest.raises(ValidationError, match="price_chnage_pct"):
        load_scenario(path)


def test_composition_compounds_percentages_adds_headcount_and_keeps_the_worse_disruption() -> None:
    a = Scenario(
        name="a",
        price_change_pct=5,
        extra_first_line_agents=2,
        supplier_disruptions=[
            SupplierDisruption(supplier="SUP-001", probability=0.5, extra_delay_days=10)
        ],
        workflow_staff_changes={"kyc_check": 1},
    )
    b = Scenario(
        name="b",
        price_change_pct=10,
        extra_first_line_agents=1,
        supplier_disruptions=[
            SupplierDisruption(supplier="SUP-001", probability=0.2, extra_delay_days=40)
        ],
        workflow_staff_changes={"kyc_check": 2, "account_setup": 1},
    )
    both = a + b
    assert both.name == "a+b"
    assert both.price_change_pct == pytest.approx(15.5)
    assert both.extra_first_line_agents == 3
    assert both.supplier_disruptions == [
        SupplierDisruption(supplier="SUP-001", probability=0.5, extra_delay_days=40)
    ]
    assert both.workflow_staff_changes == {"kyc_check": 3, "account_setup": 1}
    assert (BASELINE + a).model_dump(exclude={"name", "description"}) == a.model_dump(
        exclude={"name", "description"}
    )


def test_price_scenario_moves_churn_and_acquisition_by_the_learned_elasticities() -> None:
    model = RevenueModel(
        segments=[
            CustomerSegment(
                name="smb",
                active_customers=1_000,
                monthly_price=50,
                monthly_churn_probability=0.02,
                monthly_new_customers=40,
            )
        ]
    )
    effects = LearnedEffects(
        churn_price_elasticity=1.5,
        acquisition_price_elasticity=-0.8,
        acquisition_marketing_elasticity=0.3,
    )
    scenario = Scenario(
        name="price_and_marketing",
        price_change_pct=10,
        marketing_budget_change_pct=20,
        start_in_recession=True,
    )
    changed = apply_to_revenue_model(scenario, model, effects)
    segment = changed.segments[0]
    assert segment.monthly_price == pytest.approx(55)
    assert segment.monthly_churn_probability == pytest.approx(0.02 * 1.1**1.5)
    assert segment.monthly_new_customers == pytest.approx(40 * 1.1**-0.8 * 1.2**0.3)
    assert changed.regimes.initial_probabilities == [0.0, 0.0, 1.0, 0.0]


def test_agent_and_supplier_scenarios_change_the_engine_inputs() -> None:
    centre = ServiceCentreConfig(
        arrivals_per_hour=[60.0], first_line_agents=5, first_line_mean_service_minutes=4.0
    )
    assert (
        apply_to_service_centre(
            Scenario(name="hire", extra_first_line_agents=2), centre
        ).first_line_agents
        == 7
    )
    with pytest.raises(ValueError, match="no agents"):
        apply_to_service_centre(Scenario(name="fire_all", extra_first_line_agents=-5), centre)
    nodes = [
        SupplierNode(name="SUP-001", lead_time_mean_days=10),
        SupplierNode(name="SUP-002", lead_time_mean_days=12),
    ]
    disrupted = apply_to_supplier_nodes(
        Scenario(
            name="d",
            supplier_disruptions=[SupplierDisruption(supplier="SUP-002", extra_delay_days=45)],
        ),
        nodes,
    )
    assert disrupted[1].disruption_probability == 1.0 and disrupted[1].disruption_delay_days == 45
    assert disrupted[0] == nodes[0]
    with pytest.raises(ValueError, match="unknown suppliers"):
        apply_to_supplier_nodes(
            Scenario(name="x", supplier_disruptions=[SupplierDisruption(supplier="SUP-999")]), nodes
        )


def mean_support_wait(scenario: Scenario, rng: np.random.Generator) -> float:
    """KPI: steady-state mean wait (minutes) of a 10-agent team at 8.5 contacts a minute."""
    agents = 10 + scenario.extra_first_line_agents
    return float(delete_warm_up(simulate_mmc_waits(8.5, 1.0, agents, 50_000, rng)).mean())


def test_common_random_numbers_make_an_extra_agent_difference_significant_and_tighter() -> None:
    two_more = Scenario(name="one_more_agent", extra_first_line_agents=1)
    paired = compare_scenarios(mean_support_wait, BASELINE, two_more, seed=1, pilot_replications=30)
    # The same replications, but the candidate on different streams: independent sampling.
    independent = np.array(
        [
            mean_support_wait(
                two_more, np.random.default_rng(np.random.SeedSequence(2, spawn_key=(r,)))
            )
            - mean_support_wait(
                BASELINE, np.random.default_rng(np.random.SeedSequence(1, spawn_key=(r,)))
            )
            for r in range(30)
        ]
    )
    assert paired.is_significant and paired.mean_difference < 0
    # Common random numbers at least halve the variance of the difference.
    assert paired.differences.var(ddof=1) < 0.5 * independent.var(ddof=1)


def test_replication_rule_reaches_the_target_half_width() -> None:
    pilot = np.random.default_rng(0).normal(0.0, 2.0, 10)
    needed = replications_for_half_width(pilot, target_half_width=0.5)
    assert needed == int(np.ceil((2.262 * pilot.std(ddof=1) / 0.5) ** 2))  # t(0.975, 9) = 2.262

    two_more = Scenario(name="two_more_agents", extra_first_line_agents=2)
    comparison = compare_scenarios(
        mean_support_wait,
        BASELINE,
        two_more,
        seed=3,
        target_half_width=0.004,
        pilot_replications=10,
    )
    assert comparison.n_replications > 10
    assert comparison.half_width <= 0.004


def test_replication_r_uses_the_rth_spawned_stream() -> None:
    spawned = np.random.SeedSequence(9).spawn(5)[3]
    direct = np.random.SeedSequence(9, spawn_key=(3,))
    assert np.array_equal(
        np.random.default_rng(spawned).random(4), np.random.default_rng(direct).random(4)
    )


def test_product_prices_move_product_demand_by_the_demand_champions_elasticity() -> None:
    effects = LearnedEffects(
        churn_price_elasticity=1.0,
        acquisition_price_elasticity=0.0,
        product_demand_price_elasticity=-1.4,
    )
    scenario = Scenario(name="dearer", product_price_change_pct=10, demand_change_pct=5)
    assert product_demand_factor(scenario, effects) == pytest.approx(1.05 * 1.1**-1.4)
    assert product_demand_factor(Scenario(name="same"), None) == 1.0


def test_a_product_price_change_without_measured_effects_fails_loudly() -> None:
    with pytest.raises(LookupError, match="demand champion"):
        product_demand_factor(Scenario(name="dearer", product_price_change_pct=10), None)


def test_composition_compounds_product_price_changes() -> None:
    both = Scenario(name="a", product_price_change_pct=10) + Scenario(
        name="b", product_price_change_pct=10
    )
    assert both.product_price_change_pct == pytest.approx(21)
