"""Service queues: the fast path and the SimPy engine agree with queueing theory."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.engines.queueing import (
    ServiceCentreConfig,
    delete_warm_up,
    erlang_c_mean_wait,
    erlang_c_probability_of_wait,
    jackson_network,
    simulate_fifo_station,
    simulate_mmc_waits,
    simulate_mmc_waits_simpy,
    simulate_open_network_mean_waits,
    simulate_service_centre,
)


def test_erlang_c_matches_textbook_values() -> None:
    assert erlang_c_mean_wait(0.5, 1.0, 1) == pytest.approx(1.0)  # M/M/1: rho / (mu - lambda)
    assert erlang_c_probability_of_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)
    assert erlang_c_mean_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="unstable"):
        erlang_c_mean_wait(2.0, 1.0, 2)


def test_mmc_fast_path_mean_wait_is_within_one_percent_of_erlang_c() -> None:
    # Two agents at 70 % utilisation, four independent replications of 5M customers each
    # with warm-up deleted: the relative standard error of the pooled mean wait is about
    # 0.3 %, so the 1 % tolerance is three standard errors.
    arrival_rate, service_rate, agents = 1.4, 1.0, 2
    replications = [
        delete_warm_up(
            simulate_mmc_waits(
                arrival_rate, service_rate, agents, 5_000_000, np.random.default_rng(seed)
            ),
            0.05,
        )
        for seed in np.random.SeedSequence(2026).spawn(4)
    ]
    steady_state = np.concatenate(replications)
    expected = erlang_c_mean_wait(arrival_rate, service_rate, agents)
    assert steady_state.mean() == pytest.approx(expected, rel=0.01)
    assert np.mean(steady_state > 0) == pytest.approx(
        erlang_c_probability_of_wait(arrival_rate, service_rate, agents), rel=0.01
    )


def test_fast_path_and_simpy_give_the_same_waits_for_the_same_draws() -> None:
    fast = simulate_mmc_waits(8.0, 1.0, 10, 20_000, np.random.default_rng(4))
    simpy_waits = simulate_mmc_waits_simpy(8.0, 1.0, 10, 20_000, np.random.default_rng(4))
    np.testing.assert_allclose(fast, simpy_waits, rtol=0, atol=1e-9)


def test_deterministic_station_waits_grow_by_the_overload_per_customer() -> None:
    # One agent, a contact every 2 minutes, each taking 3: the n-th waits n minutes.
    waits = simulate_fifo_station(np.full(5, 2.0), np.full(5, 3.0), n_servers=1)
    np.testing.assert_allclose(waits, [0, 1, 2, 3, 4])
    assert not simulate_fifo_station(np.full(5, 2.0), np.full(5, 3.0), n_servers=2).any()


def test_open_network_mean_waits_match_jackson() -> None:
    # Triage -> specialist -> billing, with 20 % of billing contacts sent back to triage.
    external = np.array([1.0, 0.5, 0.0])
    routing = np.array([[0.0, 0.5, 0.3], [0.0, 0.0, 0.6], [0.2, 0.0, 0.0]])
    service_rates = np.array([1.0, 0.8, 1.5])
    agents = np.array([2, 2, 1])
    theory = jackson_network(external, routing, service_rates, agents)
    waits, visits = simulate_open_network_mean_waits(
        external, routing, service_rates, agents, 2_000_000.0, np.random.default_rng(7), 10_000.0
    )
    np.testing.assert_allclose(waits, theory.mean_waits, rtol=0.03)
    np.testing.assert_allclose(visits / 1_990_000.0, theory.arrival_rates, rtol=0.01)


def support_centre(**overrides: object) -> ServiceCentreConfig:
    settings: dict[str, object] = {
        "arrivals_per_hour": [20.0] * 8 + [120.0] * 10 + [40.0] * 6,
        "priority_shares": [0.2, 0.8],
        "first_line_agents": 6,
        "first_line_mean_service_minutes": 4.0,
        "service_time_cv": 0.7,
        "escalation_probability": 0.15,
        "second_line_agents": 3,
        "second_line_mean_service_minutes": 12.0,
        "mean_patience_minutes": 6.0,
    }
    return ServiceCentreConfig(**(settings | overrides))


def test_service_centre_is_reproducible_for_a_seed() -> None:
    first = simulate_service_centre(support_centre(), 3 * 1_440.0, np.random.default_rng(1))
    again = simulate_service_centre(support_centre(), 3 * 1_440.0, np.random.default_rng(1))
    assert np.array_equal(first.first_line_wait_minutes, again.first_line_wait_minutes)
    assert np.array_equal(first.abandoned, again.abandoned)


def test_service_centre_with_one_class_and_patient_customers_matches_erlang_c() -> None:
    # Two agents at 60 % utilisation for 60 days (about 100k contacts): the relative
    # standard error of the mean wait is about 1.5 %, so 6 % is four standard errors.
    mmc = ServiceCentreConfig(
        arrivals_per_hour=[72.0], first_line_agents=2, first_line_mean_service_minutes=1.0
    )
    outcome = simulate_service_centre(mmc, 60 * 1_440.0, np.random.default_rng(3))
    waits = delete_warm_up(outcome.first_line_wait_minutes)
    assert waits.mean() == pytest.approx(erlang_c_mean_wait(1.2, 1.0, 2), rel=0.06)
    assert not outcome.abandoned.any()


def test_priority_contacts_wait_less_and_abandon_less() -> None:
    outcome = simulate_service_centre(support_centre(), 7 * 1_440.0, np.random.default_rng(5))
    urgent, normal = outcome.priority == 0, outcome.priority == 1
    assert (
        outcome.first_line_wait_minutes[urgent].mean()
        < 0.5 * outcome.first_line_wait_minutes[normal].mean()
    )
    assert outcome.abandoned[urgent].mean() < outcome.abandoned[normal].mean()


def test_two_more_agents_raise_service_level_and_satisfaction_with_common_random_numbers() -> None:
    baseline = simulate_service_centre(support_centre(), 7 * 1_440.0, np.random.default_rng(8))
    staffed = simulate_service_centre(
        support_centre(first_line_agents=8), 7 * 1_440.0, np.random.default_rng(8)
    )
    assert np.array_equal(baseline.arrival_minute, staffed.arrival_minute)  # same contacts
    assert staffed.service_level(2.0) > baseline.service_level(2.0) + 0.1
    assert staffed.abandoned.mean() < baseline.abandoned.mean()
    assert staffed.satisfaction.mean() > baseline.satisfaction.mean()


def test_escalations_reach_the_second_team_at_the_configured_rate() -> None:
    outcome = simulate_service_centre(
        support_centre(mean_patience_minutes=None), 7 * 1_440.0, np.random.default_rng(9)
    )
    assert outcome.escalated.mean() == pytest.approx(0.15, abs=0.01)
    assert (outcome.second_line_wait_minutes[~outcome.escalated] == 0).all()
