"""The quarterly price-testing programme: who is tested, how it is recorded, what it does to churn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation.world.config import WorldConfig
from simulation.world.customers import (
    CHURN_PRICE_SENSITIVITY,
    PRICE_TEST_COHORT_SHARE,
    PRICE_TEST_RISE,
)
from simulation.world.generator import World, generate_world


@pytest.fixture(scope="module")
def untested_world() -> World:
    return generate_world(WorldConfig.tiny(price_tests=False))


def active_on(world: World, day: pd.Timestamp) -> int:
    customers = world.tables["customers"]
    events = world.tables["subscription_events"]
    cancelled = events.loc[events["event_type"] == "cancel"].set_index("customer_id")["event_date"]
    cancel_day = customers["customer_id"].map(cancelled)
    return int(((customers["signup_date"] < day) & ~(cancel_day <= day)).sum())


def test_one_wave_a_quarter_tests_five_to_ten_percent_of_active_customers(
    tiny_world: World,
) -> None:
    tests = tiny_world.truth["price_tests"]
    waves = tests.groupby("test_date")["customer_id"].nunique()
    # The tiny world spans January to August: the January, April and July quarters.
    assert list(waves.index.month) == [1, 4, 7]
    for day, tested in waves.items():
        share = tested / active_on(tiny_world, day)
        assert PRICE_TEST_COHORT_SHARE[0] - 0.03 < share < PRICE_TEST_COHORT_SHARE[1] + 0.03


def test_tested_prices_rise_by_three_to_fifteen_percent(tiny_world: World) -> None:
    tests = tiny_world.truth["price_tests"]
    assert tests["price_rise"].between(*PRICE_TEST_RISE).all()
    assert tests["price_rise"].std() > 0.02  # a range of rises, not one level
    ratio = tests["monthly_price_after"] / tests["monthly_price_before"] - 1
    np.testing.assert_allclose(ratio, tests["price_rise"], atol=0.005)


def test_every_tested_customer_has_a_price_change_event_at_the_new_price(
    tiny_world: World,
) -> None:
    events = tiny_world.tables["subscription_events"]
    changes = events[events["event_type"] == "price_change"]
    tests = tiny_world.truth["price_tests"]
    joined = tests.merge(
        changes, left_on=["customer_id", "test_date"], right_on=["customer_id", "event_date"]
    )
    assert len(joined) == len(tests) == len(changes)  # no drift injected: only the tests
    np.testing.assert_allclose(joined["monthly_price"], joined["monthly_price_after"])


def test_the_first_wave_adds_its_shock_to_the_tested_customers_churn_log_odds_only(
    tiny_world: World, untested_world: World
) -> None:
    tests = tiny_world.truth["price_tests"]
    first_day = tests["test_date"].min()
    next_month = (first_day + pd.offsets.MonthBegin(1)).normalize()

    def logits(world: World) -> pd.Series:
        truth = world.truth["customer_churn"]
        month = truth[truth["month_start"] == next_month].set_index("customer_id")
        p = month["churn_probability"]
        return np.log(p / (1 - p))

    shift = (logits(tiny_world) - logits(untested_world)).dropna()
    first = tests[tests["test_date"] == first_day].set_index("customer_id")
    tested = shift.index.isin(first.index)
    np.testing.assert_allclose(
        shift[tested], first.loc[shift.index[tested], "churn_log_odds_shock"], atol=1e-9
    )
    np.testing.assert_allclose(
        first["churn_log_odds_shock"], CHURN_PRICE_SENSITIVITY * first["price_rise"]
    )
    assert (shift[~tested].abs() < 1e-12).all()


def test_without_the_programme_no_price_changes_and_an_empty_truth_table(
    untested_world: World,
) -> None:
    events = untested_world.tables["subscription_events"]
    assert not (events["event_type"] == "price_change").any()
    assert untested_world.truth["price_tests"].empty
