"""Same seed, bit-identical world; another seed, another world."""

from __future__ import annotations

import pandas as pd

from simulation.world.config import WorldConfig
from simulation.world.generator import World, generate_world

RANDOM_TABLES = (
    "demand_orders",
    "employees",
    "onboarding_stage_runs",
    "support_tickets",
    "suppliers",
    "purchase_orders",
    "inventory_levels",
    "nps_responses",
)


def test_same_seed_gives_identical_tables_and_truth(tiny_world: World) -> None:
    again = generate_world(WorldConfig.tiny())
    assert set(again.tables) == set(tiny_world.tables)
    for name, frame in tiny_world.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], frame, check_exact=True, obj=name)
    for name, frame in tiny_world.truth.items():
        pd.testing.assert_frame_equal(again.truth[name], frame, check_exact=True, obj=name)


def test_another_seed_changes_every_random_table(tiny_world: World) -> None:
    other = generate_world(WorldConfig.tiny(seed=8))
    for name in RANDOM_TABLES:
        assert not other.tables[name].equals(tiny_world.tables[name]), f"{name} ignores the seed"
