"""Supply chain: risk propagation through tiers, and inventory against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from simulation.engines.supply_chain import (
    InventoryPolicy,
    SupplierNode,
    SupplyNetwork,
    economic_order_cost_per_period,
    economic_order_quantity,
    newsvendor_expected_cost,
    newsvendor_quantity,
    optimise_safety_stock,
    safety_stock_from_forecast_errors,
    simulate_inventory,
    simulate_supply_network,
)


def two_tier_network(**distribution_centre: object) -> SupplyNetwork:
    return SupplyNetwork.from_nodes(
        [
            SupplierNode(
                name="distribution_centre",
                suppliers=["resin_supplier_a", "resin_supplier_b"],
                sourcing_shares=[0.7, 0.3],
                lead_time_mean_days=2.0,
                disruption_probability=0.0,
                **distribution_centre,
            ),
            SupplierNode(
                name="resin_supplier_a", lead_time_mean_days=10.0, disruption_probability=0.10
            ),
            SupplierNode(
                name="resin_supplier_b", lead_time_mean_days=20.0, disruption_probability=0.20
            ),
        ]
    )


def test_disruption_risk_propagates_downstream_by_sourcing_share() -> None:
    network = two_tier_network()
    outcome = simulate_supply_network(network, 200_000, np.random.default_rng(1))
    dc = outcome.node_index("distribution_centre")
    risk = outcome.node_risk()
    # The DC is short whenever either supplier is down: 1 - 0.9 * 0.8.
    assert risk["probability_of_shortfall"][dc] == pytest.approx(0.28, abs=0.005)
    # Expected lost share: 0.7 * 0.10 + 0.3 * 0.20.
    assert risk["expected_shortfall_share"][dc] == pytest.approx(0.13, abs=0.003)
    assert risk["probability_disrupted_itself"][dc] == 0.0
    # Lead time: own 2 d + 0.7 * 10 d + 0.3 * 20 d, plus the expected recovery delay.
    expected_lead = 2 + 0.7 * 10 + 0.3 * 20 + 30 * (0.7 * 0.10 + 0.3 * 0.20)
    assert outcome.lead_time_days[dc].mean() == pytest.approx(expected_lead, rel=0.01)


def test_a_node_short_of_capacity_is_always_short_but_by_no_more_than_its_gap() -> None:
    outcome = simulate_supply_network(
        two_tier_network(capacity_share=0.9), 10_000, np.random.default_rng(2)
    )
    dc = outcome.node_index("distribution_centre")
    assert outcome.supply_fraction[dc].max() == pytest.approx(0.9)
    assert outcome.node_risk()["probability_of_shortfall"][dc] == 1.0


def test_supply_network_is_reproducible_and_rejects_cycles() -> None:
    network = SupplyNetwork.random_multi_tier(500, 4, np.random.default_rng(0))
    first = simulate_supply_network(network, 50, np.random.default_rng(3))
    again = simulate_supply_network(network, 50, np.random.default_rng(3))
    assert np.array_equal(first.supply_fraction, again.supply_fraction)
    assert np.array_equal(first.lead_time_days, again.lead_time_days)
    with pytest.raises(ValueError, match="cycle"):
        SupplyNetwork.from_nodes(
            [
                SupplierNode(name="a", suppliers=["b"], lead_time_mean_days=1),
                SupplierNode(name="b", suppliers=["a"], lead_time_mean_days=1),
            ]
        )


def test_deeper_tiers_carry_more_risk() -> None:
    network = SupplyNetwork.random_multi_tier(3_000, 4, np.random.default_rng(4))
    risk = simulate_supply_network(network, 300, np.random.default_rng(5)).node_risk()
    expected_shortfall_by_tier = [
        risk["expected_shortfall_share"][start:stop].mean() for start, stop in network.tier_bounds
    ]
    assert np.all(np.diff(expected_shortfall_by_tier) > 0)


def test_simulated_best_newsvendor_order_is_the_critical_fractile() -> None:
    # Normal demand (mean 100, sd 20), margin 3 per unit short, 1 per unit left over:
    # Q* = 100 + 20 * z(0.75).
    demand = np.random.default_rng(6).normal(100.0, 20.0, 400_000)
    closed_form = 100.0 + 20.0 * norm.ppf(0.75)
    assert newsvendor_quantity(demand, 3.0, 1.0) == pytest.approx(closed_form, abs=0.3)
    candidates = np.arange(90.0, 130.0, 0.5)
    costs = [newsvendor_expected_cost(q, demand, 3.0, 1.0) for q in candidates]
    assert candidates[int(np.argmin(costs))] == pytest.approx(closed_form, abs=1.0)


def test_inventory_cost_with_steady_demand_follows_the_eoq_curve() -> None:
    # 100 units a day, 200 per order, 0.1 per unit-day held, next-day delivery: reorder
    # at 0 and order Q. End-of-day stock averages (Q - D) / 2, so cost per day is
    # K D / Q + h (Q - D) / 2, minimised at the EOQ (632.5 here; 600 on a 100-unit grid).
    demand, order_cost, holding = 100.0, 200.0, 0.1
    horizon = 4_200
    cost_per_day = {}
    for quantity in range(300, 1_200, 100):
        policy = InventoryPolicy(
            reorder_point=0.0,
            order_up_to=float(quantity),
            holding_cost_per_unit_day=holding,
            fixed_order_cost=order_cost,
        )
        outcome = simulate_inventory(
            policy, np.full(horizon, demand), np.zeros(1), 1.0, 1, np.random.default_rng(0)
        )
        assert outcome.fill_rate[0] == 1.0
        cost_per_day[quantity] = outcome.total_cost[0] / horizon
        curve = order_cost * demand / quantity + holding * (quantity - demand) / 2
        assert cost_per_day[quantity] == pytest.approx(curve, rel=0.01)
    eoq = economic_order_quantity(demand, order_cost, holding)
    best = min(cost_per_day, key=cost_per_day.get)
    assert abs(best - eoq) < 100
    eoq_cost = economic_order_cost_per_period(demand, order_cost, holding)
    assert cost_per_day[best] == pytest.approx(eoq_cost - holding * demand / 2, rel=0.01)


def test_safety_stock_from_normal_errors_is_z_sigma_sqrt_lead_time() -> None:
    errors = np.random.default_rng(7).normal(0.0, 10.0, 50_000)
    safety_stock = safety_stock_from_forecast_errors(
        errors, lead_time_days=4, target_cycle_service_level=0.95
    )
    assert safety_stock == pytest.approx(norm.ppf(0.95) * 10.0 * 2.0, rel=0.03)


def test_optimised_safety_stock_meets_the_fill_rate_and_grows_with_the_target_and_disruption() -> (
    None
):
    forecast = np.full(90, 50.0)
    errors = np.random.default_rng(8).normal(0.0, 15.0, 5_000)
    common = {"order_quantity": 300.0, "n_scenarios": 200}
    plan_95 = optimise_safety_stock(forecast, errors, 5.0, target_fill_rate=0.95, **common)
    plan_99 = optimise_safety_stock(forecast, errors, 5.0, target_fill_rate=0.99, **common)
    assert plan_95.achieved_fill_rate >= 0.95
    assert plan_99.achieved_fill_rate >= 0.99
    assert plan_99.safety_stock > plan_95.safety_stock
    # A supplier that ships only 70 % of the order one time in five needs a bigger buffer.
    partial_deliveries = np.where(np.arange(1_000) % 5 == 0, 0.7, 1.0)
    plan_disrupted = optimise_safety_stock(
        forecast, errors, 5.0, target_fill_rate=0.95, supply_fraction=partial_deliveries, **common
    )
    assert plan_disrupted.safety_stock > plan_95.safety_stock
