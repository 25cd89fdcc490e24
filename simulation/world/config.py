"""Configuration of the synthetic business: size, dates, seed and injected drift."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DriftKind = Literal["price_change", "channel_mix", "process_slowdown", "supplier_disruption"]


class DriftEvent(BaseModel):
    """A change in the world's true behaviour from a given date on (an exact drift onset)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DriftKind = Field(description="What changes in the business.")
    start: dt.date = Field(description="First day on which the change is in force.")
    magnitude: float = Field(
        description=(
            "Size of the change. price_change: relative price change (0.15 = +15 %). "
            "channel_mix: factor applied to the spend of `target` (others rebalance). "
            "process_slowdown: relative increase of stage durations. "
            "supplier_disruption: probability that a purchase order is hit."
        )
    )
    target: str | None = Field(
        default=None,
        description="Channel, stage or supplier the change applies to; None means all.",
    )


class WorldConfig(BaseModel):
    """Everything that determines a synthetic world. The same config gives identical tables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=42, ge=0, description="Root seed of every random draw in the world.")
    start: dt.date = Field(default=dt.date(2024, 1, 1), description="First day of data.")
    end: dt.date = Field(default=dt.date(2025, 12, 31), description="Last day of data (inclusive).")
    n_customers: int = Field(
        default=20_000,
        ge=50,
        description="Approximate number of customers over the whole window (initial base plus acquisitions).",
    )
    initial_base_share: float = Field(
        default=0.4, gt=0, lt=1, description="Share of customers already subscribed before `start`."
    )
    drift: tuple[DriftEvent, ...] = Field(
        default=(), description="Changes injected into the world's true behaviour."
    )
    price_tests: bool = Field(
        default=True,
        description=(
            "Run the quarterly price-testing programme (a random 5-10 % of active customers get "
            "a 3-15 % price rise), so that the effect of price on churn can be learned."
        ),
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> WorldConfig:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if (self.end - self.start).days < 27:
            raise ValueError("the world must span at least four weeks")
        return self

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def tiny(cls, seed: int = 7, **overrides: object) -> WorldConfig:
        """A world small enough for unit and end-to-end tests (seconds to build)."""
        params: dict[str, object] = {
            "seed": seed,
            "start": dt.date(2025, 1, 1),
            "end": dt.date(2025, 8, 31),
            "n_customers": 1_500,
        }
        params.update(overrides)
        return cls(**params)

    def drift_events(self, kind: DriftKind) -> list[DriftEvent]:
        return [event for event in self.drift if event.kind == kind]
