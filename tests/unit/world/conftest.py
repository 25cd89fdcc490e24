"""Tiny worlds shared by the world tests: built once per session (well under a second each)."""

from __future__ import annotations

import datetime as dt

import pytest

from simulation.world.config import DriftEvent, WorldConfig
from simulation.world.generator import World, generate_world

DRIFT_ONSET = dt.date(2025, 5, 1)


@pytest.fixture(scope="session")
def tiny_world() -> World:
    return generate_world(WorldConfig.tiny())


DRIFTS: dict[str, DriftEvent] = {
    "process_slowdown": DriftEvent(
        kind="process_slowdown", start=DRIFT_ONSET, magnitude=0.5, target="identity_verification"
    ),
    "supplier_disruption": DriftEvent(kind="supplier_disruption", start=DRIFT_ONSET, magnitude=0.6),
    "price_change": DriftEvent(kind="price_change", start=DRIFT_ONSET, magnitude=0.25),
    "channel_mix": DriftEvent(
        kind="channel_mix", start=DRIFT_ONSET, magnitude=2.0, target="social"
    ),
}


@pytest.fixture(scope="session")
def drifted_worlds() -> dict[str, World]:
    """The seed of `tiny_world` with one kind of drift injected at `DRIFT_ONSET`, per kind."""
    return {
        kind: generate_world(WorldConfig.tiny(drift=(event,))) for kind, event in DRIFTS.items()
    }
