"""The recorded ground truth agrees with the data it generated."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from simulation.world import hr
from simulation.world.config import WorldConfig
from simulation.world.context import Calendar, WorldContext
from simulation.world.generator import World


def test_demand_orders_average_to_the_expected_orders(tiny_world: World) -> None:
    orders = tiny_world.tables["demand_orders"]
    truth = tiny_world.truth["demand_components"]
    assert orders["orders"].sum() / truth["expected_orders"].sum() == pytest.approx(1.0, abs=0.01)
    standardised = (orders["orders"] - truth["expected_orders"]) / truth["noise_sd"]
    assert standardised.mean() == pytest.approx(0.0, abs=0.05)
    assert standardised.std() == pytest.approx(1.0, abs=0.05)


def test_demand_components_multiply_to_the_expected_orders(tiny_world: World) -> None:
    truth = tiny_world.truth["demand_components"]
    effects = truth[["trend", "weekly", "yearly", "regime_effect", "promo_effect", "price_effect"]]
    rebuilt = truth["baseline"] * np.exp(effects.sum(axis=1))
    np.testing.assert_allclose(rebuilt, truth["expected_orders"], rtol=1e-9)


def test_promotions_cut_the_price_and_lift_orders(tiny_world: World) -> None:
    orders = tiny_world.tables["demand_orders"]
    truth = tiny_world.truth["demand_components"]
    promo = orders["promo"]
    assert (truth.loc[promo, "promo_effect"] > 0).all() and (
        truth.loc[~promo, "promo_effect"] == 0
    ).all()
    known_lift = np.exp(truth["promo_effect"] + truth["price_effect"])
    lift = orders["orders"] / (truth["expected_orders"] / known_lift)
    # Orders on promotion days beat the no-promotion mean by the known lift (discount + display).
    assert lift[promo].mean() == pytest.approx(known_lift[promo].mean(), rel=0.05)
    assert lift[promo].mean() > 1.3


def test_realised_churn_matches_the_true_churn_probability(tiny_world: World) -> None:
    truth = tiny_world.truth["customer_churn"]
    p = truth["churn_probability"]
    standard_error = np.sqrt((p * (1 - p)).sum()) / len(p)
    assert abs(truth["churned"].mean() - p.mean()) < 4 * standard_error


def test_stage_durations_and_outcomes_follow_the_stage_truth(tiny_world: World) -> None:
    runs = tiny_world.tables["onboarding_stage_runs"]
    truth = tiny_world.truth["process_stage_truth"].set_index("stage")
    minutes = (runs["ended_at"] - runs["started_at"]).dt.total_seconds() / 60
    observed = minutes.groupby(runs["stage"]).mean()
    for stage, expected in truth["mean_duration_minutes"].items():
        assert observed[stage] == pytest.approx(expected, rel=0.1), stage
    first_tries = runs[runs["attempt"] < truth["max_attempts"].iloc[0]]
    shares = (
        first_tries.groupby("stage")["outcome"].value_counts(normalize=True).unstack(fill_value=0)
    )
    for stage in truth.index:
        assert shares.loc[stage, "passed"] == pytest.approx(
            truth.loc[stage, "pass_probability"], abs=0.04
        )
        assert shares.loc[stage, "rework"] == pytest.approx(
            truth.loc[stage, "rework_probability"], abs=0.04
        )


def test_rework_and_next_stages_follow_the_workflow(tiny_world: World) -> None:
    runs = tiny_world.tables["onboarding_stage_runs"]
    assert (runs["queued_at"] <= runs["started_at"]).all() and (
        runs["started_at"] < runs["ended_at"]
    ).all()
    by_case = runs.sort_values(["case_id", "queued_at"]).groupby("case_id")
    previous_outcome = by_case["outcome"].shift()
    # A case only moves on after a pass or a rework, never after a rejection.
    assert not (previous_outcome == "rejected").any()
    later = runs.loc[previous_outcome.dropna().index]
    assert (later["queued_at"] >= by_case["ended_at"].shift().loc[later.index]).all()


def _employed_in(
    world: World, employee_ids: pd.Series, team: pd.Series, day: pd.Series
) -> np.ndarray:
    staff = world.tables["employees"].set_index("employee_id").loc[employee_ids.to_numpy()]
    ended = staff["termination_date"].isna().to_numpy() | (
        staff["termination_date"].to_numpy() > day.to_numpy()
    )
    return (
        (staff["team"].to_numpy() == team.to_numpy())
        & (staff["hire_date"].to_numpy() <= day.to_numpy())
        & ended
    )


def test_tickets_and_stage_runs_are_handled_by_staff_employed_in_the_right_team(
    tiny_world: World,
) -> None:
    tickets = tiny_world.tables["support_tickets"]
    support_team = pd.Series("support", index=tickets.index)
    assert _employed_in(tiny_world, tickets["agent_id"], support_team, tickets["opened_date"]).all()
    runs = tiny_world.tables["onboarding_stage_runs"]
    stage_team = runs["stage"].map(
        {
            "application_review": "onboarding_review",
            "identity_verification": "onboarding_verification",
            "account_setup": "onboarding_setup",
        }
    )
    assert _employed_in(
        tiny_world, runs["handled_by"], stage_team, runs["started_at"].dt.normalize()
    ).all()


def test_ticket_volume_and_handle_time_match_the_support_truth(tiny_world: World) -> None:
    tickets = tiny_world.tables["support_tickets"]
    truth = tiny_world.truth["support_monthly"]
    expected = truth["expected_tickets"].sum()
    assert abs(len(tickets) - expected) < 4 * np.sqrt(expected)
    weights = truth["expected_tickets"] / expected
    assert tickets["handle_minutes"].mean() == pytest.approx(
        (truth["mean_handle_minutes"] * weights).sum(), rel=0.1
    )


def test_tickets_come_from_disengaged_customers(tiny_world: World) -> None:
    panel_truth = tiny_world.truth["customer_churn"]
    tickets = tiny_world.tables["support_tickets"]
    month = tickets["opened_date"].dt.to_period("M").dt.start_time
    ticketed = pd.MultiIndex.from_arrays([tickets["customer_id"], month + pd.offsets.MonthBegin(1)])
    keys = pd.MultiIndex.from_frame(panel_truth[["customer_id", "month_start"]])
    after_ticket = keys.isin(ticketed)
    # Customers who opened a ticket last month are more likely to churn this month.
    p = panel_truth["churn_probability"]
    assert p[after_ticket].mean() > 1.15 * p[~after_ticket].mean()


def test_nps_scores_rise_with_engagement_and_respondents_flatter_the_base(
    tiny_world: World,
) -> None:
    responses = tiny_world.tables["nps_responses"]
    truth = tiny_world.truth["nps_monthly"]
    assert (
        responses["score"].mean()
        > (truth["true_mean_score"] * truth["active_customers"]).sum()
        / truth["active_customers"].sum()
    )
    assert truth["responses"].sum() == len(responses)


def test_purchase_orders_in_transit_add_up_to_the_last_on_order(tiny_world: World) -> None:
    orders = tiny_world.tables["purchase_orders"]
    levels = tiny_world.tables["inventory_levels"]
    in_transit = orders[orders["delivered_date"].isna()].groupby("product_id")["quantity"].sum()
    last = levels[levels["date"] == levels["date"].max()].set_index("product_id")["on_order"]
    pd.testing.assert_series_equal(
        in_transit.reindex(last.index, fill_value=0), last, check_names=False
    )


def test_disrupted_orders_arrive_later_than_promised(tiny_world: World) -> None:
    orders = tiny_world.tables["purchase_orders"].dropna(subset=["delivered_date"])
    lateness = (orders["delivered_date"] - orders["promised_date"]).dt.days
    assert lateness[orders["disrupted"]].mean() > lateness[~orders["disrupted"]].mean() + 7


def test_employees_leave_at_the_true_attrition_hazard() -> None:
    """A large synthetic workforce (no customers simulated), so the rate is measurable."""
    cfg = WorldConfig(start="2024-01-01", end="2025-12-31", n_customers=400_000)
    calendar = Calendar.from_config(cfg)
    months = pd.Series(np.repeat(calendar.month_starts, 180_000).astype("datetime64[s]"))
    signups = pd.Series(np.repeat(calendar.days, 600).astype("datetime64[s]"))
    ctx = WorldContext(
        cfg=cfg,
        calendar=calendar,
        regime_by_month=np.zeros(calendar.n_months, dtype=np.int64),
        customers=pd.DataFrame(
            {"customer_id": np.arange(1, len(signups) + 1), "signup_date": signups}
        ),
        customer_months=pd.DataFrame({"month_start": months}),
    )
    employees = hr.staff_roster(ctx)
    hazard = dict(zip(hr.TEAM_NAMES, hr.MONTHLY_ATTRITION_HAZARD, strict=True))
    expected_leavers = 0.0
    leavers = 0
    starts = [*calendar.month_starts.astype("datetime64[s]"), np.datetime64(cfg.end) + 1]
    for m0, m1 in itertools.pairwise(starts):  # one step per month
        employed = (employees["hire_date"] < m0) & ~(employees["termination_date"] < m0)
        expected_leavers += employees.loc[employed, "team"].map(hazard).sum()
        leaving = employees["termination_date"].between(m0, m1, inclusive="left")
        leavers += int((employed & leaving).sum())
    assert abs(leavers - expected_leavers) < 4 * np.sqrt(expected_leavers)
    assert expected_leavers > 200
