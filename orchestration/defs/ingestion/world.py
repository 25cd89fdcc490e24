"""The built-in synthetic business as a resource: which world, generated once per process."""

import datetime as dt
import functools

import dagster as dg
from pydantic import Field

from simulation.world import World, WorldConfig, generate_world


class SyntheticBusinessResource(dg.ConfigurableResource):
    """Which synthetic business the raw assets load. The defaults are the demo's two-year world."""

    seed: int = Field(
        default=42, description="Root seed of the world; the same seed gives identical tables."
    )
    n_customers: int = Field(
        default=20_000, description="Approximate customers over the whole window."
    )
    start: str = Field(default="2024-01-01", description="First day of data (YYYY-MM-DD).")
    end: str = Field(default="2025-12-31", description="Last day of data (YYYY-MM-DD).")

    def world_config(self) -> WorldConfig:
        return WorldConfig(
            seed=self.seed,
            n_customers=self.n_customers,
            start=dt.date.fromisoformat(self.start),
            end=dt.date.fromisoformat(self.end),
        )

    def world(self) -> World:
        return _cached_world(self.world_config())

    @property
    def source(self) -> str:
        """How loads from this world are named in the load log."""
        return f"generator:seed={self.seed}"


@functools.lru_cache(maxsize=1)
def _cached_world(config: WorldConfig) -> World:
    """The entity and event steps of one in-process run share one generated world."""
    return generate_world(config)
