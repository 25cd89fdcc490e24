"""Each injected drift shifts what it should from its onset on, and nothing before it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation.world.config import DriftEvent, WorldConfig
from simulation.world.generator import World, generate_world
from tests.unit.world.conftest import DRIFT_ONSET

ONSET = pd.Timestamp(DRIFT_ONSET)


def _stage_minutes(world: World) -> pd.DataFrame:
    runs = world.tables["onboarding_stage_runs"]
    return runs.assign(
        duration=(runs["ended_at"] - runs["started_at"]).dt.total_seconds() / 60,
        after=runs["started_at"] >= ONSET,
    )


def test_process_slowdown_lengthens_only_the_target_stage_after_onset(
    tiny_world: World, drifted_worlds: dict[str, World]
) -> None:
    drifted_world = drifted_worlds["process_slowdown"]
    base = _stage_minutes(tiny_world).groupby(["stage", "after"])["duration"].mean()
    slow = _stage_minutes(drifted_world).groupby(["stage", "after"])["duration"].mean()
    ratio = slow / base
    assert ratio[("identity_verification", True)] == pytest.approx(1.5, rel=0.02)
    assert ratio[("identity_verification", False)] == pytest.approx(1.0)
    for stage in ("application_review", "account_setup"):
        assert ratio[(stage, True)] == pytest.approx(1.0)
    truth = drifted_world.truth["process_stage_truth"].set_index("stage")
    assert truth.loc["identity_verification", "slowdown_start"] == ONSET
    assert truth.loc["identity_verification", "slowdown_factor"] == pytest.approx(1.5)


def test_process_slowdown_leaves_runs_before_onset_untouched(
    tiny_world: World, drifted_worlds: dict[str, World]
) -> None:
    drifted_world = drifted_worlds["process_slowdown"]

    def before(world: World) -> pd.DataFrame:
        runs = world.tables["onboarding_stage_runs"]
        return runs[runs["ended_at"] < ONSET].reset_index(drop=True)

    pd.testing.assert_frame_equal(before(drifted_world), before(tiny_world))


def test_supplier_disruption_raises_the_disrupted_share_after_onset(
    tiny_world: World, drifted_worlds: dict[str, World]
) -> None:
    drifted_world = drifted_worlds["supplier_disruption"]

    def share(world: World) -> pd.Series:
        orders = world.tables["purchase_orders"]
        return orders.groupby(orders["order_date"] >= ONSET)["disrupted"].mean()

    base, hit = share(tiny_world), share(drifted_world)
    assert hit[True] >= 0.45 > base[True]
    assert hit[False] == base[False]
    windows = drifted_world.truth["supplier_disruption_windows"]
    drift_windows = windows[windows["kind"] == "drift"]
    assert len(drift_windows) == len(drifted_world.tables["suppliers"])
    assert (drift_windows["start_date"] == ONSET).all()


def test_supplier_disruption_leaves_orders_before_onset_untouched(
    tiny_world: World, drifted_worlds: dict[str, World]
) -> None:
    drifted_world = drifted_worlds["supplier_disruption"]

    def before(world: World) -> pd.DataFrame:
        orders = world.tables["purchase_orders"]
        return orders[orders["order_date"] < ONSET].reset_index(drop=True)

    pd.testing.assert_frame_equal(before(drifted_world), before(tiny_world))


def test_price_change_raises_churn_probability_after_onset(
    tiny_world: World, drifted_worlds: dict[str, World]
) -> None:
    drifted_world = drifted_worlds["price_change"]

    def mean_churn(world: World) -> pd.Series:
        truth = world.truth["customer_churn"]
        return truth.groupby(truth["month_start"] > ONSET)["churn_probability"].mean()

    base, hit = mean_churn(tiny_world), mean_churn(drifted_world)
    assert hit[False] == pytest.approx(base[False])
    assert hit[True] > 1.2 * base[True]


def test_channel_mix_shifts_spend_to_the_target_channel_after_onset(
    tiny_world: World, drifted_worlds: dict[str, World]
) -> None:
    drifted_world = drifted_worlds["channel_mix"]

    def social_share(world: World) -> pd.Series:
        spend = world.tables["marketing_spend"]
        after = spend["date"] >= ONSET
        social = spend["spend"].where(spend["channel"] == "social", 0.0)
        return social.groupby(after).sum() / spend["spend"].groupby(after).sum()

    base, hit = social_share(tiny_world), social_share(drifted_world)
    assert hit[False] == pytest.approx(base[False])
    assert hit[True] > 1.5 * base[True]


def test_supplier_disruption_of_one_supplier_hits_only_its_orders(tiny_world: World) -> None:
    event = DriftEvent(
        kind="supplier_disruption", start=DRIFT_ONSET, magnitude=0.9, target="SUP-001"
    )
    world = generate_world(WorldConfig.tiny(drift=(event,)))
    orders = world.tables["purchase_orders"]
    after = orders["order_date"] >= ONSET
    assert orders.loc[after & (orders["supplier_id"] == "SUP-001"), "disrupted"].mean() >= 0.8
    truth = world.truth["supplier_truth"].set_index("supplier_id")["drift_disruption_probability"]
    assert truth["SUP-001"] == 0.9 and truth.drop("SUP-001").isna().all()


@pytest.mark.parametrize(
    "event",
    [
        DriftEvent(kind="process_slowdown", start=DRIFT_ONSET, magnitude=0.5, target="billing"),
        DriftEvent(kind="supplier_disruption", start=DRIFT_ONSET, magnitude=0.5, target="ACME"),
    ],
    ids=["unknown stage", "unknown supplier"],
)
def test_drift_with_an_unknown_target_fails_naming_it(event: DriftEvent) -> None:
    with pytest.raises(ValueError, match=str(event.target)):
        generate_world(WorldConfig.tiny(drift=(event,)))


def test_a_mid_month_price_change_bills_the_old_price_before_its_day():
    import datetime as dt

    import pandas as pd

    from simulation.world import DriftEvent, WorldConfig, generate_world

    onset = dt.date(2025, 5, 15)
    drifted = generate_world(
        WorldConfig.tiny(drift=(DriftEvent(kind="price_change", start=onset, magnitude=0.2),))
    )
    plain = generate_world(WorldConfig.tiny())
    charges = [w.tables["subscription_events"] for w in (drifted, plain)]
    before = [
        c[(c["event_type"] == "charge") & (c["event_date"] < pd.Timestamp(onset))] for c in charges
    ]
    pd.testing.assert_frame_equal(
        before[0].reset_index(drop=True), before[1].reset_index(drop=True)
    )
    after = [
        c[(c["event_type"] == "charge") & (c["event_date"] >= pd.Timestamp(onset))]["amount"].mean()
        for c in charges
    ]
    assert after[0] > 1.1 * after[1]


def test_customers_who_sign_up_after_a_price_change_pay_the_new_list_price_from_signup(
    tiny_world: World, drifted_worlds: dict[str, World]
) -> None:
    """Their signup event, `customers.monthly_price` and charges agree (until a price test
    raises their price): a rise they never saw would read as one in the churn features."""
    drifted_world = drifted_worlds["price_change"]
    customers = drifted_world.tables["customers"].set_index("customer_id")
    later = customers.index[customers["signup_date"] > ONSET]
    assert len(later) > 50
    plain = tiny_world.tables["customers"].set_index("customer_id")
    pd.testing.assert_series_equal(
        customers.loc[later, "monthly_price"],
        (plain.loc[later, "monthly_price"] * 1.25).round(2),
    )
    events = drifted_world.tables["subscription_events"]
    events = events[events["customer_id"].isin(later)]
    signups = events[events["event_type"] == "signup"].set_index("customer_id")["monthly_price"]
    np.testing.assert_array_equal(signups.to_numpy(), customers.loc[signups.index, "monthly_price"])
    tested = events.loc[events["event_type"] == "price_change", "customer_id"].unique()
    billed = events[~events["customer_id"].isin(tested)]
    billed = billed.groupby("customer_id")["monthly_price"].agg(["min", "max"])
    assert (billed["min"] == billed["max"]).all()
    np.testing.assert_array_equal(
        billed["min"].to_numpy(), customers.loc[billed.index, "monthly_price"].to_numpy()
    )
