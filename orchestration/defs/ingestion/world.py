"""Launchpad config of the built-in synthetic business."""

import datetime as dt

import dagster as dg
from pydantic import Field

from simulation.world import WorldConfig


class SyntheticBusinessConfig(dg.Config):
    """Which synthetic business to generate. The defaults are the demo's two-year world."""

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
