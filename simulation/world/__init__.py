"""The mirror world: a seeded synthetic business whose true parameters are known."""

from simulation.world.config import DriftEvent, WorldConfig
from simulation.world.generator import World, generate_world

__all__ = ["DriftEvent", "World", "WorldConfig", "generate_world"]
